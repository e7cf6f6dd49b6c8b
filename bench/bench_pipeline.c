/*
 * bench_pipeline: tts_options.threads 1 against 2 with the neural vocoder (issue 5: the
 * acoustic model in a worker thread, ahead of the vocoder). A program, not a test.
 *
 * No trained neural vocoder ships yet, so this one makes a vocoder of the default size
 * (voc_config_default(80, 200)) with random weights, in a temporary folder beside a copy
 * of the voice (the engine looks for VOICE.vocoder.ltm beside VOICE.ltm): its speed is a
 * trained one's, its sound is noise. For each text, runs alternate between an engine with
 * threads = 1 and one with threads = 2 (both warm: opened and warmed up before timing);
 * RTF = wall time of tts_synthesize / seconds of audio; median of RUNS runs. CPU time
 * (getrusage, both threads) / wall time says how many cores a run actually got. The two
 * engines' outputs are compared (they must be the same to the bit).
 *
 * The acoustic stage alone (phonemize + t2m_synthesize, through the internal headers, as
 * lib/engine.c chains them) is timed too: with the pipeline, the wall time cannot drop
 * below the slower stage, so the best threads = 2 can do is RTF(1) - RTF(acoustic).
 *
 * Usage: bench_pipeline [--model PATH] [--runs N]
 *   --model PATH  voice (default: the source tree's models/kathleen.ltm; read only)
 *   --runs N      runs per engine and text (default 5, at most 15)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "acoustic/text2mel.h"
#include "frontend/frontend.h"
#include "nn/modelfile.h"
#include "acoustic/voice_io.h"
#include "vocoder/vocoder_io.h"
#include "tts.h"

#define MAX_RUNS 15

static const char TEXT_SHORT[] = "Please turn left at the next corner and continue straight ahead.";

static const char TEXT_MEDIUM[] =
    "The weather service expects light rain this morning, clearing by early afternoon. "
    "Temperatures will climb to around eighteen degrees, with a gentle breeze from the "
    "west. Tonight the sky should stay mostly clear, so expect a cool night in the "
    "valleys. If you are driving to the coast tomorrow, leave a little earlier than "
    "usual, because roadworks will slow traffic near the bridge.";

static const char TEXT_LONG[] =
    "Every morning the old lighthouse keeper climbed the narrow stairs to the lamp room, "
    "counted the steps out loud, and wrote the weather in a small leather notebook. He "
    "had done this for thirty years, long after ships stopped needing a man to watch the "
    "light. The machines turned the lamp on at dusk and off at dawn, and a radio signal "
    "told the harbour office when something went wrong. Still, he liked to see the sea "
    "with his own eyes before the rest of the village woke up. On calm days the water was "
    "flat and grey, and the fishing boats left the harbour in a long line, one after "
    "another, like ducks following their mother. On stormy days the waves broke against "
    "the rocks below the tower and threw white spray high into the air.";

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec +
           1e-6 * ru.ru_stime.tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double t[MAX_RUNS];
    memcpy(t, v, n * sizeof *t);
    qsort(t, n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

typedef struct {
    size_t n;
    uint64_t hash; /* FNV-1a of the samples' bits */
    double first;  /* seconds from the call to the first callback with samples */
    double t0;
} sink;

static int on_audio(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    sink *s = user;
    (void)ev;
    (void)n_ev;
    if (n && s->n == 0)
        s->first = now_s() - s->t0;
    const unsigned char *b = (const unsigned char *)pcm;
    for (size_t i = 0; i < n * sizeof(float); i++)
        s->hash = (s->hash ^ b[i]) * 1099511628211ull;
    s->n += n;
    return 0;
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
    char buf[1 << 16];
    size_t k;
    int ok = a && b;
    while (ok && (k = fread(buf, 1, sizeof buf, a)) > 0)
        ok = fwrite(buf, 1, k, b) == k;
    ok = ok && !ferror(a);
    if (a)
        fclose(a);
    if (b && fclose(b))
        ok = 0;
    return ok ? 0 : -1;
}

static int make_vocoder(const char *path)
{
    voc_config c = voc_config_default(80, 200);
    voc_model m;
    tts_err e = {0};
    if (voc_init(&m, &c, 0, 7, &e)) {
        fprintf(stderr, "vocoder: %s\n", e.msg);
        return -1;
    }
    tts_mf_writer *w = tts_mf_writer_new();
    voc_to_mf(w, &m, NULL);
    int rc = tts_mf_write(w, path, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    tts_mf_writer_free(w);
    voc_free(&m);
    return rc;
}

/* the acoustic stage alone, as the engine runs it: seconds for the whole text */
static double acoustic_only(const char *model, const char *text)
{
    tts_err err = {0};
    tts_mf *mf;
    t2m_model am;
    tts_frontend *fe;
    const char *symbols;
    if (tts_mf_open(&mf, model, &err) || t2m_from_mf(&am, mf, 0, NULL, &err) ||
        tts_mf_get_str(mf, "symbols", &symbols, &err) || tts_frontend_open(&fe, NULL, &err) ||
        tts_frontend_set_symbols(fe, symbols, strlen(symbols), &err)) {
        fprintf(stderr, "acoustic stage: %s\n", err.msg);
        return -1;
    }
    double t0 = now_s();
    tts_sentence_iter it;
    size_t off, len;
    tts_sentences_begin(&it, text, strlen(text), &err);
    while (tts_sentences_next(&it, &off, &len) > 0) {
        tts_phonemes ph;
        if (tts_frontend_phonemize(fe, text + off, len, &ph, &err))
            break;
        int *ids = malloc(sizeof(int) * (ph.n_ids ? ph.n_ids : 1));
        for (size_t i = 0; i < ph.n_ids; i++)
            ids[i] = ph.ids[i];
        t2m_infer_opts io = t2m_infer_opts_default(&am);
        int stop;
        if (ph.n_words)
            t2m_synthesize(&am, ids, (int)ph.n_ids, &io, NULL, NULL, NULL, &stop, &err);
        free(ids);
        tts_phonemes_free(&ph);
    }
    double t = now_s() - t0;
    tts_frontend_close(fe);
    t2m_free(&am);
    tts_mf_close(mf);
    return t;
}

int main(int argc, char **argv)
{
    const char *model = TTS_MODELS_SOURCE_DIR "/kathleen.ltm";
    int runs = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
            if (runs < 1 || runs > MAX_RUNS)
                runs = 5;
        } else {
            fprintf(stderr, "usage: bench_pipeline [--model PATH] [--runs N]\n");
            return 2;
        }
    }
    char dir[] = "/tmp/bench_pipeline_XXXXXX", voice[300], voc[300];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(voice, sizeof voice, "%s/voice.ltm", dir);
    snprintf(voc, sizeof voc, "%s/voice.vocoder.ltm", dir);
    if (copy_file(model, voice) || make_vocoder(voc)) {
        fprintf(stderr, "cannot set up %s from %s\n", dir, model);
        unlink(voice);
        unlink(voc);
        rmdir(dir);
        return 1;
    }
    double load[3] = {0};
    if (getloadavg(load, 3) < 0)
        load[0] = load[1] = load[2] = -1;

    tts_engine *eng[2];
    int threads[2] = {1, 2};
    for (int k = 0; k < 2; k++) {
        tts_options o = tts_default_options();
        o.model_path = voice;
        o.vocoder = "wavenet";
        o.threads = threads[k];
        if (tts_engine_open(&eng[k], &o)) {
            fprintf(stderr, "open: %s\n", tts_engine_error(eng[k]));
            return 1;
        }
        sink s = {0};
        tts_synthesize(eng[k], "Hello.", on_audio, &s); /* warm-up */
    }
    /* both set OpenBLAS's process-wide count to 1: threads = 1 as such, threads = 2 because
     * it pipelines */

    const char *names[3] = {"short", "medium", "long"};
    const char *texts[3] = {TEXT_SHORT, TEXT_MEDIUM, TEXT_LONG};
    printf("## threads 1 vs 2, neural vocoder (random weights, default size), %s\n\n", model);
    printf("load average at start: %.2f %.2f %.2f (on %ld cores; a training job shares them)\n\n",
           load[0], load[1], load[2], sysconf(_SC_NPROCESSORS_ONLN));
    printf("| text | audio s | RTF threads 1 | RTF threads 2 | speed-up | cores used 1 "
           "| cores used 2 | first chunk s 1 | first chunk s 2 | RTF acoustic alone "
           "| same output |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
    int all_same = 1;
    for (int t = 0; t < 3; t++) {
        double rtf[2][MAX_RUNS], cores[2][MAX_RUNS], first[2][MAX_RUNS], audio = 0;
        uint64_t hash[2] = {0};
        for (int r = 0; r < runs; r++)
            for (int k = 0; k < 2; k++) {
                int kk = r % 2 ? 1 - k : k; /* alternate which goes first */
                sink s = {.hash = 1469598103934665603ull};
                double c0 = cpu_s();
                s.t0 = now_s();
                if (tts_synthesize(eng[kk], texts[t], on_audio, &s)) {
                    fprintf(stderr, "synthesize: %s\n", tts_engine_error(eng[kk]));
                    return 1;
                }
                double wall = now_s() - s.t0, cpu = cpu_s() - c0;
                audio = s.n / 16000.0;
                rtf[kk][r] = wall / audio;
                cores[kk][r] = cpu / wall;
                first[kk][r] = s.first;
                hash[kk] = s.hash;
            }
        double ac = acoustic_only(voice, texts[t]);
        int same = hash[0] == hash[1];
        all_same &= same;
        double m1 = median(rtf[0], runs), m2 = median(rtf[1], runs);
        printf("| %s | %.1f | %.4f | %.4f | %.2fx | %.2f | %.2f | %.3f | %.3f | %.4f | %s |\n",
               names[t], audio, m1, m2, m1 / m2, median(cores[0], runs), median(cores[1], runs),
               median(first[0], runs), median(first[1], runs), ac / audio, same ? "yes" : "NO");
        fflush(stdout);
    }
    if (getloadavg(load, 3) < 0)
        load[0] = load[1] = load[2] = -1;
    printf("\nload average at end: %.2f %.2f %.2f; median of %d runs, alternating engines\n",
           load[0], load[1], load[2], runs);
    for (int k = 0; k < 2; k++)
        tts_engine_close(eng[k]);
    unlink(voice);
    unlink(voc);
    rmdir(dir);
    return all_same ? 0 : 1;
}
