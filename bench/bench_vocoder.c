/*
 * bench_vocoder: real-time factor of the neural vocoder's streaming inference on ONE core
 * (the process is pinned to one CPU, OpenBLAS single-threaded), with random weights of the
 * chosen size, and the latency to the first samples after the first mel frame.
 *
 *   RTF = wall time of the engine's render (vocoder/render.h: the frames' sharpening, the
 *   streamed network and the envelope match, as the model sets them) for every frame and
 *   its finish / audio duration,
 *   for an utterance of --frames frames (default 400 = 5 s), median (and best)
 *   of --runs runs (default 5).
 *   First samples: wall time from a fresh stream to the first samples returned: the
 *   pushes of frames 0 .. la (la = look-ahead), median of 101 tries. The look-ahead frames
 *   are also a wait for the acoustic model, which emits r frames per decoder step (the
 *   shipped voice: r = 2), so they cost ceil(la / r) more decoder steps, not compute here.
 *
 * --sweep also times other sizes (fold x residual channels), and --ar the autoregressive
 * alternative the design was chosen against (WaveNet with a 256-way mu-law softmax, one
 * sample at a time through nn_vecmat / nn_vgated, Fast-WaveNet queues), so the comparison
 * in docs/history/vocoder.md can be repeated. The machine's load average is printed: other
 * processes on the core slow every figure down.
 *
 * Usage: bench_vocoder [--frames N] [--runs N] [--fold F] [--res-ch C] [--skip-ch S]
 *                      [--layers L] [--src 1|2] [--model VOC.ltm] [--float] [--sweep] [--ar]
 * --model times a trained vocoder file instead (its own size and source; the mel frames are
 * still random, around the model's mel statistics). The gated layers run in 8-bit integers
 * as the engine runs them (voc_use_int8); --float times them in float.
 */
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/dsp.h"
#include "nn/kernels.h"
#include "vocoder/render.h"
#include "vocoder/vocoder.h"
#include "vocoder/vocoder_io.h"

static const char *model_file; /* --model: a trained vocoder instead of random weights */
static int use_float;          /* --float: the gated layers' products in float, not in 8-bit
                                * integers as the engine runs them (voc_use_int8) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void pin_one_core(void)
{
    cpu_set_t set;
    int cpu = sched_getcpu();
    CPU_ZERO(&set);
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        fprintf(stderr, "bench_vocoder: could not pin to one CPU\n");
}

static void loadavg(char *buf, size_t n)
{
    FILE *f = fopen("/proc/loadavg", "r");
    snprintf(buf, n, "unknown");
    if (f) {
        if (fgets(buf, (int)n, f))
            buf[strcspn(buf, "\n")] = 0;
        fclose(f);
    }
}

#define SAMPLE_RATE ((double)tts_audio_cfg_default().sample_rate)

typedef struct {
    double rtf_median, rtf_best, first_ms, first_ms_best;
    int env_passes; /* of the envelope match timed with it */
} result;

static int bench_config(const voc_config *c, int frames, int runs, result *res)
{
    voc_model m;
    tts_err err;
    tts_mf *mf = NULL;
    if (model_file ? tts_mf_open(&mf, model_file, &err) || voc_from_mf(&m, mf, 0, NULL, &err)
                   : voc_init(&m, c, 0, 7, &err)) {
        fprintf(stderr, "bench_vocoder: %s\n", err.msg);
        return -1;
    }
    tts_mf_close(mf);
    if (!use_float && voc_use_int8(&m, &err)) { /* as the engine runs it */
        fprintf(stderr, "bench_vocoder: %s\n", err.msg);
        return -1;
    }
    c = &m.cfg;
    uint64_t rng = 5;
    if (!model_file)
        for (int i = 0; i < c->n_mels; i++) {
            m.mel_mean[i] = -5;
            m.mel_std[i] = 2;
        }
    float *mel = malloc(sizeof(float) * frames * c->n_mels);
    float *pcm = malloc(sizeof(float) * ((size_t)frames + c->lookahead + 1) * c->hop);
    for (size_t i = 0; i < (size_t)frames * c->n_mels; i++)
        mel[i] = (float)(m.mel_mean[i % c->n_mels] + m.mel_std[i % c->n_mels] * nn_rand_normal(&rng));
    voc_render *rd = NULL;
    if (!mel || !pcm || voc_render_open(&rd, &m, &err)) {
        fprintf(stderr, "bench_vocoder: %s\n", err.msg[0] ? err.msg : "out of memory");
        return -1;
    }
    float *out = malloc(sizeof(float) * voc_render_max_tail(rd));
    if (!out) {
        fprintf(stderr, "bench_vocoder: out of memory\n");
        return -1;
    }
    double t[64], lat[101];
    runs = runs > 64 ? 64 : runs;
    for (int r = -1; r < runs; r++) { /* run -1 warms up */
        voc_render_reset(rd, 1, 1);
        double t0 = now_s();
        size_t n = 0, k = 0;
        for (int f = 0; f < frames; f++, n += k)
            voc_render_push(rd, mel + (size_t)f * c->n_mels, out, &k, &err);
        voc_render_finish(rd, out, &k, &err);
        n += k;
        double dt = now_s() - t0;
        if (r >= 0)
            t[r] = dt / ((double)n / SAMPLE_RATE);
    }
    qsort(t, runs, sizeof(double), cmp_double);
    for (int i = 0; i < 101; i++) {
        voc_render_reset(rd, 1, 1);
        double t0 = now_s();
        size_t got = 0;
        for (int f = 0; f < frames && !got; f++)
            voc_render_push(rd, mel + (size_t)f * c->n_mels, out, &got, &err);
        lat[i] = (now_s() - t0) * 1e3;
    }
    qsort(lat, 101, sizeof(double), cmp_double);
    res->env_passes = c->env_passes;
    res->rtf_median = t[runs / 2];
    res->rtf_best = t[0];
    res->first_ms = lat[50];
    res->first_ms_best = lat[0];
    voc_render_close(rd);
    free(out);
    free(mel);
    free(pcm);
    voc_free(&m);
    return 0;
}

/* ---- the autoregressive alternative -------------------------------------------------- */
static float *rand_buf(size_t n, uint64_t *s, float sc)
{
    float *p = aligned_alloc(64, ((n * sizeof(float)) + 63) & ~(size_t)63);
    for (size_t i = 0; p && i < n; i++)
        p[i] = sc * (float)nn_rand_normal(s);
    return p;
}

static void bench_ar(int C, int S, int L, int nsamp, int runs)
{
    uint64_t s = 1;
    float *Wc[64], *Wo[64], *q[64];
    int qlen[64], qpos[64];
    for (int l = 0; l < L; l++) {
        Wc[l] = rand_buf((size_t)2 * C * 2 * C, &s, 0.1f);
        Wo[l] = rand_buf((size_t)C * (C + S), &s, 0.1f);
        qlen[l] = 1 << (l % 10);
        qpos[l] = 0;
        q[l] = calloc((size_t)qlen[l] * C, sizeof(float));
    }
    float *P0 = rand_buf((size_t)S * S, &s, 0.1f), *P1 = rand_buf((size_t)S * 256, &s, 0.1f);
    float *Win = rand_buf((size_t)256 * C, &s, 0.1f);
    float x[1024], h[2048], z[1024], o[2048], sk[1024], a[1024], lg[256];
    int prev = 128;
    uint64_t rs = 5;
    double t[64];
    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        for (int n = 0; n < nsamp; n++) {
            memcpy(x, Win + (size_t)prev * C, sizeof(float) * C); /* embedding of the last sample */
            memset(sk, 0, sizeof(float) * S);
            for (int l = 0; l < L; l++) {
                memset(h, 0, sizeof(float) * 2 * C);
                nn_vecmat(h, q[l] + (size_t)qpos[l] * C, Wc[l], C, 2 * C); /* queue: x(t - d) */
                nn_vecmat(h, x, Wc[l] + (size_t)C * 2 * C, C, 2 * C);
                memcpy(q[l] + (size_t)qpos[l] * C, x, sizeof(float) * C);
                qpos[l] = (qpos[l] + 1) % qlen[l];
                nn_vgated(z, h, h + C, C);
                memset(o, 0, sizeof(float) * (C + S));
                nn_vecmat(o, z, Wo[l], C, C + S);
                for (int k = 0; k < C; k++)
                    x[k] = (x[k] + o[k]) * 0.70710678f;
                for (int k = 0; k < S; k++)
                    sk[k] += o[C + k];
            }
            for (int k = 0; k < S; k++)
                sk[k] = sk[k] > 0 ? sk[k] : 0;
            memset(a, 0, sizeof(float) * S);
            nn_vecmat(a, sk, P0, S, S);
            for (int k = 0; k < S; k++)
                a[k] = a[k] > 0 ? a[k] : 0;
            memset(lg, 0, sizeof lg);
            nn_vecmat(lg, a, P1, S, 256);
            float mx = lg[0], sum = 0;
            for (int i = 1; i < 256; i++)
                mx = lg[i] > mx ? lg[i] : mx;
            for (int i = 0; i < 256; i++)
                sum += lg[i] = expf(lg[i] - mx);
            float u = (float)nn_rand_uniform(&rs) * sum;
            int k = 0;
            for (; k < 255 && u > lg[k]; k++)
                u -= lg[k];
            prev = k;
        }
        t[r] = (now_s() - t0) / nsamp;
    }
    qsort(t, runs, sizeof(double), cmp_double);
    double fl = 2.0 * (L * (2.0 * C * 2 * C + (double)C * (C + S)) + (double)S * S + S * 256.0);
    printf("| autoregressive C=%d S=%d L=%d | %.0f | %.3f | %.3f | %.1f |\n", C, S, L, fl / 1e3,
           t[runs / 2] * 16000, t[0] * 16000, fl / t[runs / 2] / 1e9);
    for (int l = 0; l < L; l++) {
        free(Wc[l]);
        free(Wo[l]);
        free(q[l]);
    }
    free(P0);
    free(P1);
    free(Win);
}

int main(int argc, char **argv)
{
    int frames = 400, runs = 5, sweep = 0, ar = 0;
    voc_config c = voc_config_default(80, 200);
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(argv[i], name) == 0 && v && ++i)
        if (OPT("--frames")) frames = atoi(v);
        else if (OPT("--runs")) runs = atoi(v);
        else if (OPT("--fold")) c.fold = atoi(v);
        else if (OPT("--res-ch")) c.res_ch = atoi(v);
        else if (OPT("--skip-ch")) c.skip_ch = atoi(v);
        else if (OPT("--layers")) c.n_layers = atoi(v);
        else if (OPT("--src")) c.src = atoi(v);
        else if (OPT("--model")) model_file = v;
        else if (!strcmp(argv[i], "--float")) use_float = 1;
        else if (!strcmp(argv[i], "--sweep")) sweep = 1;
        else if (!strcmp(argv[i], "--ar")) ar = 1;
        else {
            fprintf(stderr, "usage: bench_vocoder [--frames N] [--runs N] [--fold F] [--res-ch C] "
                            "[--skip-ch S] [--layers L] [--src 1|2] [--model VOC.ltm] [--float] "
                            "[--sweep] [--ar]\n");
            return 2;
        }
#undef OPT
    }
    if (frames < 2 || runs < 1 || c.src < 1 || c.src > 2) {
        fprintf(stderr, "bench_vocoder: --frames >= 2, --runs >= 1, --src 1 or 2 (the sources 3 "
                        "and 4 were removed)\n");
        return 2;
    }
    if (model_file) { /* the table shows the file's own configuration */
        tts_mf *mf;
        voc_model m;
        tts_err err;
        if (tts_mf_open(&mf, model_file, &err) || voc_from_mf(&m, mf, 0, NULL, &err)) {
            fprintf(stderr, "bench_vocoder: %s\n", err.msg);
            return 1;
        }
        c = m.cfg;
        voc_free(&m);
        tts_mf_close(mf);
    }
    pin_one_core();
    char la[128];
    loadavg(la, sizeof la);
    printf("bench_vocoder: one core (CPU %d), OpenBLAS 1 thread, kernels %s; load average %s\n",
           sched_getcpu(), nn_simd_name(nn_simd_get()), la);
    printf("utterance %d frames (%.2f s), median of %d runs; RTF = compute time / audio time\n\n",
           frames, frames * c.hop / SAMPLE_RATE, runs);
    printf("| vocoder (streaming, %s) | kFLOP/sample | RTF median | RTF best | "
           "first samples ms (median / best) |\n|---|---|---|---|---|\n",
           model_file ? model_file : "random weights");
    result r;
    if (bench_config(&c, frames, runs, &r))
        return 1;
    printf("| fold %d C=%d S=%d L=%d la=%d src=%d envelope passes %d (chosen) | %.0f | %.4f | "
           "%.4f | %.2f / %.2f |\n",
           c.fold, c.res_ch, c.skip_ch, c.n_layers, c.lookahead, c.src, r.env_passes,
           voc_flops_per_sample(&c) / 1e3, r.rtf_median, r.rtf_best, r.first_ms, r.first_ms_best);
    if (sweep) {
        static const int folds[] = {1, 2, 4, 8}, chs[] = {32, 48, 64};
        for (int fi = 0; fi < 4; fi++)
            for (int ci = 0; ci < 3; ci++) {
                voc_config d = c;
                d.fold = folds[fi];
                d.res_ch = chs[ci];
                if (d.fold == c.fold && d.res_ch == c.res_ch)
                    continue;
                if (bench_config(&d, frames / (d.fold == 1 ? 4 : 1), runs, &r))
                    return 1;
                printf("| fold %d C=%d S=%d L=%d la=%d | %.0f | %.4f | %.4f | %.2f / %.2f |\n",
                       d.fold, d.res_ch, d.skip_ch, d.n_layers, d.lookahead,
                       voc_flops_per_sample(&d) / 1e3, r.rtf_median, r.rtf_best, r.first_ms,
                       r.first_ms_best);
            }
    }
    printf("\nfirst samples: the look-ahead (%d frames) is also waited for: with an acoustic "
           "model of r frames per decoder step, ceil(%d / r) more steps before them\n",
           c.lookahead, c.lookahead);
    if (c.frame_sharpen > 0)
        printf("the frames are sharpened first (amount %g, %d frames wide): %d more frames of "
               "look-ahead, pushed before the first samples\n", c.frame_sharpen,
               c.frame_sharpen_w, c.frame_sharpen_w / 2);
    if (ar) {
        printf("\n| alternative (one sample at a time) | kFLOP/sample | RTF median | RTF best | "
               "GFLOP/s |\n|---|---|---|---|---|\n");
        bench_ar(64, 128, 20, 4000, runs);
        bench_ar(32, 64, 10, 8000, runs);
        bench_ar(24, 64, 10, 8000, runs);
    }
    return 0;
}
