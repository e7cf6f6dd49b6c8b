/* tts — command-line front end of libtts (being written). */
#include <stdio.h>
#include "tts.h"

int main(void)
{
    printf("tts %s\n", tts_version());
    return 0;
}
