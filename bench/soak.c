/*
 * soak: synthesizes N sentences (default 1,000) in one engine and reports the resident
 * memory at the start, after the first 10 sentences, and at the end, so a leak or a
 * growing cache shows as a slope. A program, not a test: it takes minutes.
 *   build/bench/soak [--model PATH] [-n N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tts.h"

static const char *SENTENCES[] = {
    "The train to the coast leaves at half past seven.",
    "Could you turn the lights off in the kitchen, please?",
    "It rained all night, and the river rose by two feet.",
    "Dr. Patel moved the meeting to Tuesday, March 3rd.",
    "That costs $4.99, or about five euros.",
    "Yes.",
    "We walked along the old stone wall until the path gave out, and then we climbed.",
    "Remind me to call my sister at 6:30 pm.",
};

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int discard(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    (void)pcm;
    (void)ev;
    (void)n_ev;
    *(size_t *)user += n;
    return 0;
}

int main(int argc, char **argv)
{
    tts_options o = tts_default_options();
    long n = 1000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            o.model_path = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: soak [--model PATH] [-n N]\n");
            return 2;
        }
    }
    tts_engine *e;
    if (tts_engine_open(&e, &o) != TTS_OK) {
        fprintf(stderr, "soak: %s\n", tts_engine_error(e));
        tts_engine_close(e);
        return 1;
    }
    long start = rss_kb(), after10 = 0;
    size_t samples = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t ns = sizeof SENTENCES / sizeof *SENTENCES;
    for (long i = 0; i < n; i++) {
        if (tts_synthesize(e, SENTENCES[i % ns], discard, &samples) != TTS_OK) {
            fprintf(stderr, "soak: sentence %ld: %s\n", i, tts_engine_error(e));
            tts_engine_close(e);
            return 1;
        }
        if (i == 9)
            after10 = rss_kb();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long end = rss_kb();
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("| sentences | audio s | wall s | RSS start KB | RSS after 10 KB | RSS end KB |\n");
    printf("|--:|--:|--:|--:|--:|--:|\n");
    printf("| %ld | %.1f | %.1f | %ld | %ld | %ld |\n", n,
           samples / (double)tts_engine_sample_rate(e), secs, start, after10, end);
    tts_engine_close(e);
    return 0;
}
