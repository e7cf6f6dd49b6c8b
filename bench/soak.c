/*
 * soak: synthesizes N sentences (default 1,000) in one engine and reports the resident
 * memory at the start, after the first 10 sentences, and at the end, so a leak or a
 * growing cache shows as a slope. A program, not a test: it takes minutes.
 *   build/bench/soak [--model PATH] [-n N] [--one-text]
 *
 * --one-text: the N sentences joined into ONE text, spoken by one tts_synthesize() call;
 * the resident memory is sampled in the callback each time another tenth of the text's
 * sentences has been delivered, so memory that grows with the length of one text (not
 * only with the longest sentence) shows as a slope.
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

/* --one-text: RSS after every tenth of the sentences */
typedef struct {
    size_t samples;
    long sentences, total, next_report;
    long rss[11];
    int n_rss;
} one_text;

static int sample_rss(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    one_text *o = user;
    (void)pcm;
    o->samples += n;
    for (size_t i = 0; i < n_ev; i++)
        if (ev[i].type == TTS_EVENT_SENTENCE_END && ++o->sentences >= o->next_report &&
            o->n_rss < 11) {
            o->rss[o->n_rss++] = rss_kb();
            o->next_report += o->total / 10 > 0 ? o->total / 10 : 1;
        }
    return 0;
}

static int run_one_text(tts_engine *e, long n)
{
    size_t ns = sizeof SENTENCES / sizeof *SENTENCES, len = 1;
    for (long i = 0; i < n; i++)
        len += strlen(SENTENCES[i % ns]) + 1;
    char *text = malloc(len);
    if (!text)
        return 1;
    text[0] = '\0';
    char *p = text;
    for (long i = 0; i < n; i++)
        p += sprintf(p, "%s ", SENTENCES[i % ns]);
    one_text o = {.total = n, .next_report = n / 10 > 0 ? n / 10 : 1};
    o.rss[o.n_rss++] = rss_kb();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = tts_synthesize(e, text, sample_rss, &o);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(text);
    if (rc != TTS_OK) {
        fprintf(stderr, "soak: %s\n", tts_engine_error(e));
        return 1;
    }
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("one text of %ld sentences (%zu bytes): %.1f s of audio in %.1f s, %ld sentence "
           "ends seen\n", n, len - 1, o.samples / (double)tts_engine_sample_rate(e), secs,
           o.sentences);
    printf("| share of the text | 0%% |");
    for (int i = 1; i < o.n_rss; i++)
        printf(" %d%% |", i * 10);
    printf("\n|--:|--:|");
    for (int i = 1; i < o.n_rss; i++)
        printf("--:|");
    printf("\n| RSS KB |");
    for (int i = 0; i < o.n_rss; i++)
        printf(" %ld |", o.rss[i]);
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    tts_options o = tts_default_options();
    long n = 1000;
    int one = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            o.model_path = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = atol(argv[++i]);
        else if (!strcmp(argv[i], "--one-text"))
            one = 1;
        else {
            fprintf(stderr, "usage: soak [--model PATH] [-n N] [--one-text]\n");
            return 2;
        }
    }
    tts_engine *e;
    if (tts_engine_open(&e, &o) != TTS_OK) {
        fprintf(stderr, "soak: %s\n", tts_engine_error(e));
        tts_engine_close(e);
        return 1;
    }
    if (one) {
        int rc = run_one_text(e, n);
        tts_engine_close(e);
        return rc;
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
