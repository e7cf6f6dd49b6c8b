/* speak: the smallest program that embeds libtts.
 *   cc speak.c $(pkg-config --cflags --libs libtts) -o speak && ./speak "Hello." out.wav */
#include <stdio.h>
#include <tts.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s TEXT OUT.wav\n", argv[0]);
        return 2;
    }
    tts_options opts = tts_default_options(); /* the shipped voice */
    tts_engine *engine;
    if (tts_engine_open(&engine, &opts) != TTS_OK) {
        fprintf(stderr, "speak: %s\n", tts_engine_error(engine));
        tts_engine_close(engine);
        return 1;
    }
    int rc = tts_synthesize_to_file(engine, argv[1], argv[2]);
    if (rc != TTS_OK)
        fprintf(stderr, "speak: %s\n", tts_engine_error(engine));
    tts_engine_close(engine);
    return rc == TTS_OK ? 0 : 1;
}
