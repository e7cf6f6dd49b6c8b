/*
 * make_tiny_voice VOICE.ltm: writes a tiny random-weight voice with a pitch predictor and
 * its neural vocoder beside it (VOICE.vocoder.ltm), for tests in other languages (the
 * Python binding's) that need a whole voice without the shipped one.
 */
#include <stdio.h>
#include <string.h>

#include "tiny_models.h"

int main(int argc, char **argv)
{
    if (argc != 2 || strlen(argv[1]) < 5 || strcmp(argv[1] + strlen(argv[1]) - 4, ".ltm")) {
        fprintf(stderr, "usage: make_tiny_voice VOICE.ltm\n");
        return 2;
    }
    char voc[4096];
    snprintf(voc, sizeof voc, "%.*s.vocoder.ltm", (int)(strlen(argv[1]) - 4), argv[1]);
    if (tiny_voice_write(argv[1], 1) || tiny_vocoder_write(voc, 1, 0.2f, 5)) {
        fprintf(stderr, "make_tiny_voice: cannot write %s or %s\n", argv[1], voc);
        return 1;
    }
    return 0;
}
