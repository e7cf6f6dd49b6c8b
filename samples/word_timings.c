/* word_timings: prints when each word of a text is spoken, from libtts's events.
 *   cc word_timings.c $(pkg-config --cflags --libs libtts) -o word_timings */
#include <stdio.h>
#include <tts.h>

typedef struct {
    const char *text;
    int rate;
    size_t samples;
} state;

static int on_audio(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    state *s = user;
    (void)pcm;
    for (size_t i = 0; i < n_ev; i++)
        if (ev[i].type == TTS_EVENT_WORD)
            printf("%8.3f s  %.*s\n", (double)ev[i].sample / s->rate, (int)ev[i].text_length,
                   s->text + ev[i].text_offset);
    s->samples += n;
    return 0; /* non-zero would stop the synthesis */
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEXT\n", argv[0]);
        return 2;
    }
    tts_engine *engine;
    tts_options opts = tts_default_options();
    if (tts_engine_open(&engine, &opts) != TTS_OK) {
        fprintf(stderr, "word_timings: %s\n", tts_engine_error(engine));
        tts_engine_close(engine);
        return 1;
    }
    state s = {argv[1], tts_engine_sample_rate(engine), 0};
    int rc = tts_synthesize(engine, argv[1], on_audio, &s);
    if (rc != TTS_OK)
        fprintf(stderr, "word_timings: %s\n", tts_engine_error(engine));
    else
        printf("%8.3f s  (end)\n", (double)s.samples / s.rate);
    tts_engine_close(engine);
    return rc == TTS_OK ? 0 : 1;
}
