/* Tests for dsp/: STFT, iSTFT, mel filterbank, log-mel, Griffin-Lim, loudness, trimming,
 * and the file vocoder. Uses the real clips in $TTS_TEST_DATA/corpus/wav. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio/wav.h"
#include "dsp/dsp.h"
#include "dsp/vocode.h"

static int failures;

#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            failures++;                                                                  \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
        }                                                                                \
    } while (0)

static const char *clips[] = {
    "arctic_a0001_1592748574.wav", "arctic_a0190_1592712976.wav",
    "arctic_a0380_1592708268.wav", "arctic_a0583_1592701620.wav",
    "arctic_b0223_1592536308.wav",
};
#define N_CLIPS (int)(sizeof clips / sizeof clips[0])

static char data_dir[4096];

static float *load_clip(int i, size_t *n)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/corpus/wav/%s", data_dir, clips[i]);
    float *pcm = NULL;
    tts_err err = {0};
    int rc = tts_wav_read(path, 16000, &pcm, n, NULL, &err);
    if (rc) {
        fprintf(stderr, "cannot load %s: %s\n", path, err.msg);
        exit(1);
    }
    return pcm;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static unsigned rng_state = 12345u;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) * (1.0 / 8388608.0)) - 1.0f;
}

/* ------------------------------------------------------------------------------- */

static void test_cfg(void)
{
    tts_audio_cfg c = tts_audio_cfg_default();
    CHECK(c.sample_rate == 16000 && c.n_fft == 1024 && c.win_length == 800 &&
              c.hop_length == 200 && c.n_mels == 80 && c.fmin == 0.0f && c.fmax == 8000.0f &&
              c.log_floor == 1e-5f,
          "default settings changed");
    tts_err err = {0};
    CHECK(tts_audio_cfg_check(&c, &err) == TTS_OK, "%s", err.msg);
    tts_audio_cfg bad = c;
    bad.n_fft = 1023;
    CHECK(tts_audio_cfg_check(&bad, &err) == TTS_E_INVALID, "odd n_fft accepted");
    bad = c;
    bad.fmax = 9000.0f;
    CHECK(tts_audio_cfg_check(&bad, &err) == TTS_E_INVALID, "fmax above Nyquist accepted");
    bad = c;
    bad.log_floor = 0.0f;
    CHECK(tts_audio_cfg_check(&bad, &err) == TTS_E_INVALID, "zero log floor accepted");
    bad = c;
    bad.n_mels = 400; /* more bands than bins can separate at low frequencies */
    tts_mel *m = NULL;
    CHECK(tts_mel_create(&m, &bad, &err) == TTS_E_INVALID && m == NULL,
          "400 mels on a 1024 FFT must leave empty bands");
}

static void test_sine_peak(void)
{
    tts_stft *s;
    tts_err err = {0};
    CHECK(tts_stft_create(&s, 1024, 800, 200, &err) == TTS_OK, "%s", err.msg);
    int nb = tts_stft_n_bins(s);
    CHECK(nb == 513, "n_bins %d", nb);
    const float freqs[] = {1000.0f, 440.0f, 3000.0f};
    for (int q = 0; q < 3; q++) {
        size_t n = 16000;
        float *x = malloc(n * sizeof *x);
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f * sinf(2.0f * (float)M_PI * freqs[q] * i / 16000.0f);
        size_t nf = tts_stft_n_frames(s, n);
        CHECK(nf == n / 200 + 1, "frames %zu", nf);
        float *mag = malloc(nf * nb * sizeof *mag);
        CHECK(tts_stft_magnitude(s, x, n, mag, &err) == TTS_OK, "%s", err.msg);
        const float *m = mag + (nf / 2) * nb;
        int best = 0;
        for (int k = 1; k < nb; k++)
            if (m[k] > m[best])
                best = k;
        int expect = (int)lrintf(freqs[q] * 1024 / 16000.0f);
        CHECK(best == expect, "sine %g Hz: peak bin %d, expected %d", freqs[q], best, expect);
        if (q == 0) /* on a bin centre: amplitude * sum(window) / 2 = 0.5 * 400 / 2 */
            CHECK(fabsf(m[best] - 100.0f) < 0.1f, "peak magnitude %g, expected 100", m[best]);
        free(x);
        free(mag);
    }
    tts_stft_free(s);
}

static void test_parseval(void)
{
    tts_stft *s;
    tts_err err = {0};
    tts_stft_create(&s, 1024, 800, 200, &err);
    int nb = tts_stft_n_bins(s);
    const float *w = tts_stft_window(s);
    size_t n = 8000;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = frand();
    size_t nf = tts_stft_n_frames(s, n);
    float *spec = malloc(nf * nb * 2 * sizeof *spec);
    CHECK(tts_stft_forward(s, x, n, spec, &err) == TTS_OK, "%s", err.msg);
    double worst = 0.0;
    for (size_t t = 3; t < nf - 3; t++) { /* interior frames: no padding involved */
        double et = 0.0;
        for (int i = 0; i < 800; i++) {
            double v = (double)x[t * 200 - 400 + i] * w[i];
            et += v * v;
        }
        const float *f = spec + t * nb * 2;
        double ef = 0.0;
        for (int k = 0; k < nb; k++) {
            double p = (double)f[2 * k] * f[2 * k] + (double)f[2 * k + 1] * f[2 * k + 1];
            ef += (k == 0 || k == nb - 1) ? p : 2.0 * p;
        }
        ef /= 1024.0;
        double rel = fabs(ef - et) / et;
        if (rel > worst)
            worst = rel;
    }
    CHECK(worst < 1e-5, "Parseval relative error %g", worst);
    /* Frame 0 is centred on sample 0 of the reflect-padded signal (x[-i] = x[i]): check
     * a few bins against a direct DFT. */
    {
        double worst0 = 0.0;
        for (int k = 0; k < 20; k++) {
            double re = 0.0, im = 0.0;
            for (int i = 0; i < 800; i++) {
                int j = i - 400; /* signal index */
                double v = (double)x[j < 0 ? -j : j] * w[i];
                double ph = -2.0 * M_PI * k * (i + 112) / 1024.0;
                re += v * cos(ph);
                im += v * sin(ph);
            }
            worst0 = fmax(worst0, fabs(re - spec[2 * k]) + fabs(im - spec[2 * k + 1]));
        }
        CHECK(worst0 < 1e-3, "frame 0 differs from a reflect-padded DFT by %g", worst0);
    }
    /* The window is the periodic Hann window. */
    CHECK(w[0] == 0.0f && fabsf(w[400] - 1.0f) < 1e-7f && fabsf(w[200] - 0.5f) < 1e-6f,
          "window is not periodic Hann: %g %g %g", w[0], w[400], w[200]);
    free(x);
    free(spec);
    tts_stft_free(s);
}

static void test_reconstruction(void)
{
    tts_stft *s;
    tts_err err = {0};
    tts_stft_create(&s, 1024, 800, 200, &err);
    int nb = tts_stft_n_bins(s);
    float worst = 0.0f;
    for (int c = 0; c < N_CLIPS; c++) {
        size_t n;
        float *x = load_clip(c, &n);
        size_t nf = tts_stft_n_frames(s, n);
        float *spec = malloc(nf * nb * 2 * sizeof *spec);
        float *y = malloc(n * sizeof *y);
        CHECK(tts_stft_forward(s, x, n, spec, &err) == TTS_OK, "%s", err.msg);
        CHECK(tts_stft_inverse(s, spec, nf, y, n, &err) == TTS_OK, "%s", err.msg);
        float e = 0.0f;
        for (size_t i = 0; i < n; i++)
            e = fmaxf(e, fabsf(x[i] - y[i]));
        worst = fmaxf(worst, e);
        free(x);
        free(spec);
        free(y);
    }
    printf("STFT -> iSTFT max abs error over %d real clips: %.3g\n", N_CLIPS, worst);
    CHECK(worst < 1e-4f, "reconstruction error %g", worst);

    /* Short signals (shorter than the reflect padding) and odd lengths. */
    const size_t lens[] = {1, 2, 7, 199, 200, 201, 511, 513, 1500};
    for (int q = 0; q < 9; q++) {
        size_t n = lens[q], nf = tts_stft_n_frames(s, n);
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        float *spec = malloc(nf * nb * 2 * sizeof *spec);
        for (size_t i = 0; i < n; i++)
            x[i] = frand();
        tts_stft_forward(s, x, n, spec, &err);
        tts_stft_inverse(s, spec, nf, y, n, &err);
        float e = 0.0f;
        for (size_t i = 0; i < n; i++)
            e = fmaxf(e, fabsf(x[i] - y[i]));
        CHECK(e < 1e-4f, "length %zu: reconstruction error %g", n, e);
        free(x);
        free(y);
        free(spec);
    }
    tts_stft_free(s);
}

static void test_filterbank(void)
{
    tts_audio_cfg cfg = tts_audio_cfg_default();
    tts_mel *m;
    tts_err err = {0};
    CHECK(tts_mel_create(&m, &cfg, &err) == TTS_OK, "%s", err.msg);
    const float *fb = tts_mel_filterbank(m);
    int nb = 513, prev_peak = -1;
    float worst_area = 0.0f;
    for (int j = 0; j < cfg.n_mels; j++) {
        const float *w = fb + (size_t)j * nb;
        int nonzero = 0, peak = 0, neg = 0;
        double area = 0.0;
        for (int k = 0; k < nb; k++) {
            if (w[k] < 0.0f)
                neg++;
            if (w[k] > 0.0f)
                nonzero++;
            if (w[k] > w[peak])
                peak = k;
            area += w[k] * (16000.0 / 1024.0);
        }
        CHECK(neg == 0, "band %d has %d negative weights", j, neg);
        CHECK(nonzero > 0, "band %d is empty", j);
        CHECK(peak >= prev_peak, "band %d peaks at bin %d below band %d's %d", j, peak,
              j - 1, prev_peak);
        prev_peak = peak;
        /* Slaney normalization: each triangle has unit area in Hz (exactly for the
         * continuous triangle; the sampled sum is close once a band spans a few bins). */
        if (nonzero >= 8)
            worst_area = fmaxf(worst_area, fabsf((float)area - 1.0f));
    }
    CHECK(worst_area < 0.02f, "band area off by %g", worst_area);
    /* Triangle edges: band 0 starts at 0 Hz and the last band ends at 8000 Hz; with
     * Slaney's scale the first bands are linear-spaced (66.7 Hz per mel). */
    CHECK(fb[0] == 0.0f && fb[1] > 0.0f, "band 0 should start at bin 0");
    CHECK(fb[(size_t)79 * nb + 512] == 0.0f && fb[(size_t)79 * nb + 511] > 0.0f,
          "band 79 should end at 8000 Hz");
    /* Spot values from Slaney's formulas (librosa htk=False, norm='slaney'): 82 points
     * evenly spaced on the mel scale (linear 200/3 Hz per mel below 1 kHz, log step
     * ln(6.4)/27 above); band j spans points j..j+2, height 2 / width in Hz. */
    double logstep = log(6.4) / 27.0, dmel = (15.0 + log(8.0) / logstep) / 81.0;
    for (int q = 0; q < 3; q++) {
        int j = q == 0 ? 0 : q == 1 ? 20 : 79;
        double pt[3];
        for (int i = 0; i < 3; i++) {
            double mm = (j + i) * dmel;
            pt[i] = mm < 15.0 ? mm * 200.0 / 3.0 : 1000.0 * exp(logstep * (mm - 15.0));
        }
        double worst = 0.0;
        for (int k = 0; k < nb; k++) {
            double f = k * 16000.0 / 1024.0;
            double w = fmin((f - pt[0]) / (pt[1] - pt[0]), (pt[2] - f) / (pt[2] - pt[1]));
            w = w > 0.0 ? w * 2.0 / (pt[2] - pt[0]) : 0.0;
            worst = fmax(worst, fabs(w - fb[(size_t)j * nb + k]));
        }
        CHECK(worst < 1e-6, "band %d differs from Slaney's formula by %g", j, worst);
    }
    tts_mel_free(m);
}

static void test_logmel(void)
{
    tts_audio_cfg cfg = tts_audio_cfg_default();
    tts_mel *m;
    tts_err err = {0};
    tts_mel_create(&m, &cfg, &err);
    size_t n;
    float *x = load_clip(0, &n);
    float *a, *b;
    size_t na, nb2;
    CHECK(tts_mel_analyze(m, x, n, &a, &na, &err) == TTS_OK, "%s", err.msg);
    CHECK(na == n / 200 + 1, "frames %zu for %zu samples", na, n);
    CHECK(tts_mel_analyze(m, x, n, &b, &nb2, &err) == TTS_OK, "%s", err.msg);
    CHECK(memcmp(a, b, na * 80 * sizeof *a) == 0, "analysis is not deterministic");
    float lo = 1e9f, hi = -1e9f;
    for (size_t i = 0; i < na * 80; i++) {
        lo = fminf(lo, a[i]);
        hi = fmaxf(hi, a[i]);
    }
    printf("log-mel of %s: %zu frames, range [%.2f, %.2f]\n", clips[0], na, lo, hi);
    CHECK(lo >= logf(1e-5f) - 1e-4f && hi < 10.0f && hi > -5.0f, "range [%g, %g]", lo, hi);

    /* Silence sits at the floor. */
    float zeros[1000] = {0};
    float *z;
    size_t nz;
    tts_mel_analyze(m, zeros, 1000, &z, &nz, &err);
    CHECK(nz == 6, "frames %zu", nz);
    for (size_t i = 0; i < nz * 80; i++)
        CHECK(z[i] == logf(1e-5f), "silence gives %g", z[i]);

    /* The pseudo-inverse: projecting mel_to_linear's output back through the filterbank
     * gives the mel energies back where the non-negative clamp is inactive; measure
     * overall relative error in the mel domain. */
    float *lin = malloc(na * 513 * sizeof *lin);
    CHECK(tts_mel_to_linear(m, a, na, lin, &err) == TTS_OK, "%s", err.msg);
    const float *fb = tts_mel_filterbank(m);
    double num = 0.0, den = 0.0;
    int negatives = 0;
    for (size_t t = 0; t < na; t++)
        for (int j = 0; j < 80; j++) {
            double acc = 0.0;
            for (int k = 0; k < 513; k++)
                acc += fb[(size_t)j * 513 + k] * lin[t * 513 + k];
            double e = exp(a[t * 80 + j]);
            num += (acc - e) * (acc - e);
            den += e * e;
        }
    for (size_t i = 0; i < na * 513; i++)
        negatives += lin[i] < 0.0f;
    double rel = sqrt(num / den);
    /* The NNLS refinement lowers that error and stays non-negative. */
    float *lin2 = malloc(na * 513 * sizeof *lin2);
    CHECK(tts_mel_to_linear_nnls(m, a, na, lin2, 50, &err) == TTS_OK, "%s", err.msg);
    double num2 = 0.0;
    for (size_t t = 0; t < na; t++)
        for (int j = 0; j < 80; j++) {
            double acc = 0.0;
            for (int k = 0; k < 513; k++)
                acc += fb[(size_t)j * 513 + k] * lin2[t * 513 + k];
            double e = exp(a[t * 80 + j]);
            num2 += (acc - e) * (acc - e);
        }
    for (size_t i = 0; i < na * 513; i++)
        negatives += !(lin2[i] >= 0.0f);
    double rel2 = sqrt(num2 / den);
    /* And both approximate the magnitude the features came from (NNLS better). */
    float *truemag = malloc(na * 513 * sizeof *truemag);
    tts_stft_magnitude(tts_mel_stft(m), x, n, truemag, &err);
    float sc1 = tts_spectral_convergence(truemag, lin, na * 513);
    float sc2 = tts_spectral_convergence(truemag, lin2, na * 513);
    printf("mel -> linear: mel-domain relative error pinv %.4f, NNLS(50) %.4f; spectral "
           "convergence to the true magnitude pinv %.4f, NNLS(50) %.4f\n",
           rel, rel2, sc1, sc2);
    CHECK(negatives == 0, "%d negative magnitudes", negatives);
    CHECK(rel < 0.1, "mel pseudo-inverse round trip relative error %g", rel);
    CHECK(rel2 < rel, "NNLS refinement did not reduce the mel error: %g vs %g", rel2, rel);
    CHECK(sc1 < 0.3 && sc2 < 0.9 * sc1, "mel inversion: SC pinv %g, NNLS %g", sc1, sc2);
    free(lin2);
    free(truemag);
    free(lin);
    free(a);
    free(b);
    free(z);
    free(x);
    tts_mel_free(m);
}

/* Griffin-Lim from the true magnitude and from the log-mel features; reports spectral
 * convergence and speed. */
static void test_griffin_lim(void)
{
    tts_audio_cfg cfg = tts_audio_cfg_default();
    tts_mel *m;
    tts_err err = {0};
    tts_mel_create(&m, &cfg, &err);
    tts_stft *s = tts_mel_stft(m);
    double t_audio = 0.0, t_gl32 = 0.0;
    double sc_lin[4] = {0}, sc_mel = 0.0, sc_mel_orig = 0.0, mel_db = 0.0;
    double sc_nnls = 0.0, sc_nnls_orig = 0.0;
    const int iters[4] = {0, 32, 60, 100};
    for (int c = 0; c < N_CLIPS; c++) {
        size_t n;
        float *x = load_clip(c, &n);
        t_audio += n / 16000.0;
        size_t nf = tts_stft_n_frames(s, n);
        float *mag = malloc(nf * 513 * sizeof *mag), *y = malloc(n * sizeof *y);
        tts_stft_magnitude(s, x, n, mag, &err);
        for (int q = 0; q < 4; q++) {
            tts_gl_params p = tts_gl_default_params();
            p.n_iter = iters[q] ? iters[q] : 1;
            float sc = -1.0f;
            double t0 = now();
            CHECK(tts_griffin_lim(s, mag, nf, &p, y, n, &sc, &err) == TTS_OK, "%s", err.msg);
            if (iters[q] == 32)
                t_gl32 += now() - t0;
            sc_lin[q] += sc / N_CLIPS;
        }
        /* From log-mel: convergence to the magnitude GL is given (the mel inversion),
         * and to the original magnitude (includes what the mel features lose); plain
         * pseudo-inverse, then with the NNLS refinement (what tts_mel_synthesize does). */
        float *lm, *lin = malloc(nf * 513 * sizeof *lin), *mag2 = malloc(nf * 513 * sizeof *mag2);
        size_t nm;
        tts_mel_analyze(m, x, n, &lm, &nm, &err);
        tts_mel_to_linear(m, lm, nm, lin, &err);
        float sc = -1.0f;
        CHECK(tts_griffin_lim(s, lin, nm, NULL, y, n, &sc, &err) == TTS_OK, "%s", err.msg);
        sc_mel += sc / N_CLIPS;
        tts_stft_magnitude(s, y, n, mag2, &err);
        sc_mel_orig += tts_spectral_convergence(mag, mag2, nf * 513) / N_CLIPS;
        tts_mel_to_linear_nnls(m, lm, nm, lin, 50, &err);
        CHECK(tts_griffin_lim(s, lin, nm, NULL, y, n, &sc, &err) == TTS_OK, "%s", err.msg);
        sc_nnls += sc / N_CLIPS;
        tts_stft_magnitude(s, y, n, mag2, &err);
        sc_nnls_orig += tts_spectral_convergence(mag, mag2, nf * 513) / N_CLIPS;
        /* Log-mel distance (dB, mean absolute) between the original and the result. */
        float *lm2;
        size_t nm2;
        tts_mel_analyze(m, y, n, &lm2, &nm2, &err);
        double d = 0.0;
        for (size_t i = 0; i < nm * 80; i++)
            d += fabs(lm[i] - lm2[i]);
        mel_db += d / (nm * 80) * (20.0 / log(10.0)) / N_CLIPS;
        free(lm);
        free(lm2);
        free(lin);
        free(mag2);
        free(x);
        free(mag);
        free(y);
    }
    printf("Griffin-Lim (fast, momentum 0.99) spectral convergence, mean of %d clips:\n",
           N_CLIPS);
    printf("  true magnitude:  1 iter %.4f | 32 iters %.4f | 60 iters %.4f | 100 iters %.4f\n",
           sc_lin[0], sc_lin[1], sc_lin[2], sc_lin[3]);
    printf("  from log-mel, 32 iters, pinv inversion: vs its input %.4f, vs original "
           "magnitude %.4f\n", sc_mel, sc_mel_orig);
    printf("  from log-mel, 32 iters, NNLS(50) inversion: vs its input %.4f, vs original "
           "magnitude %.4f, log-mel distance to the original %.2f dB\n",
           sc_nnls, sc_nnls_orig, mel_db);
    printf("  speed: 32 iterations take %.1f ms per second of audio\n",
           1000.0 * t_gl32 / t_audio);
    /* Thresholds: measured values (see the report) plus a margin. */
    CHECK(sc_lin[1] < 0.08, "GL 32 iterations: SC %g", sc_lin[1]);
    CHECK(sc_lin[3] < sc_lin[1] && sc_lin[1] < sc_lin[0], "GL does not converge: %g %g %g",
          sc_lin[0], sc_lin[1], sc_lin[3]);
    CHECK(sc_mel < 0.2 && sc_nnls < 0.2, "GL from log-mel: SC %g / %g", sc_mel, sc_nnls);
    CHECK(sc_nnls_orig < 0.25 && sc_nnls_orig < sc_mel_orig,
          "GL from log-mel vs the original: SC %g (NNLS), %g (pinv)", sc_nnls_orig, sc_mel_orig);
    CHECK(mel_db < 1.5, "GL from log-mel: log-mel distance %g dB", mel_db);

    /* Plain Griffin-Lim (no momentum) converges more slowly. */
    size_t n;
    float *x = load_clip(1, &n);
    size_t nf = tts_stft_n_frames(s, n);
    float *mag = malloc(nf * 513 * sizeof *mag), *y = malloc(n * sizeof *y);
    tts_stft_magnitude(s, x, n, mag, &err);
    tts_gl_params p = tts_gl_default_params();
    float sc_fast, sc_plain;
    tts_griffin_lim(s, mag, nf, &p, y, n, &sc_fast, &err);
    p.momentum = 0.0f;
    tts_griffin_lim(s, mag, nf, &p, y, n, &sc_plain, &err);
    printf("  one clip, 32 iters: fast %.4f, plain %.4f\n", sc_fast, sc_plain);
    CHECK(sc_fast < sc_plain, "momentum did not help: %g vs %g", sc_fast, sc_plain);
    p.momentum = 1.5f;
    CHECK(tts_griffin_lim(s, mag, nf, &p, y, n, NULL, &err) == TTS_E_INVALID,
          "momentum 1.5 accepted");

    /* tts_mel_synthesize: length (n_frames - 1) * hop. */
    float *lm, *pcm;
    size_t nm, np;
    tts_mel_analyze(m, x, n, &lm, &nm, &err);
    CHECK(tts_mel_synthesize(m, lm, nm, NULL, &pcm, &np, &err) == TTS_OK, "%s", err.msg);
    CHECK(np == (nm - 1) * 200, "synthesized %zu samples from %zu frames", np, nm);
    /* NaN frames (a broken model) do not poison the output. */
    lm[5 * 80 + 3] = NAN;
    float *pcm2;
    size_t np2;
    CHECK(tts_mel_synthesize(m, lm, nm, NULL, &pcm2, &np2, &err) == TTS_OK, "%s", err.msg);
    int bad = 0;
    for (size_t i = 0; i < np2; i++)
        bad += !isfinite(pcm2[i]);
    CHECK(bad == 0, "%d non-finite samples after a NaN feature", bad);
    free(lm);
    free(pcm);
    free(pcm2);
    free(x);
    free(mag);
    free(y);
    tts_mel_free(m);
}

static void test_level(void)
{
    float x[1000];
    for (int i = 0; i < 1000; i++)
        x[i] = 0.1f * sinf(i * 0.05f);
    float g = tts_normalize_peak(x, 1000, 0.9f);
    CHECK(fabsf(tts_peak(x, 1000) - 0.9f) < 1e-5f, "peak %g", tts_peak(x, 1000));
    CHECK(g > 8.9f && g < 9.1f, "gain %g", g);
    g = tts_normalize_rms(x, 1000, -20.0f, 0.99f);
    CHECK(fabsf(tts_rms(x, 1000) - 0.1f) < 1e-4f, "rms %g", tts_rms(x, 1000));
    /* -3 dBFS RMS on a sine would need a peak of 1.0: capped at 0.8. */
    tts_normalize_rms(x, 1000, -3.0f, 0.8f);
    CHECK(fabsf(tts_peak(x, 1000) - 0.8f) < 1e-5f, "peak cap: %g", tts_peak(x, 1000));
    float z[10] = {0};
    CHECK(tts_normalize_peak(z, 10, 0.9f) == 1.0f && tts_normalize_rms(z, 10, -20, 1) == 1.0f,
          "silence was scaled");
    CHECK(tts_peak(NULL, 0) == 0.0f && tts_rms(NULL, 0) == 0.0f, "empty");
}

static void test_trim(void)
{
    tts_err err = {0};
    /* 0.5 s silence (very faint noise), 1 s tone, 0.5 s silence. */
    size_t n = 32000;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = 1e-4f * frand();
    for (size_t i = 8000; i < 24000; i++)
        x[i] += 0.5f * sinf(i * 0.1f);
    size_t a, b;
    tts_trim_params p = tts_trim_default_params();
    CHECK(tts_trim_silence(x, n, &p, &a, &b, &err) == TTS_OK, "%s", err.msg);
    /* Frame centres within 400 samples of the tone are voiced: start = 7600 - 1600. */
    CHECK(a >= 5600 && a <= 6400, "start %zu", a);
    CHECK(b >= 25600 && b <= 26400, "end %zu", b);
    p.margin = 0;
    tts_trim_silence(x, n, &p, &a, &b, &err);
    CHECK(a >= 7200 && a <= 8000 && b >= 24000 && b <= 24800, "no margin: [%zu, %zu)", a, b);
    /* Louder "silence" (-30 dB) is kept at -40 dB, trimmed at -20 dB. */
    for (size_t i = 0; i < n; i++)
        x[i] = (i >= 8000 && i < 24000) ? 0.5f * sinf(i * 0.1f) : 0.5f * 0.0316f * sinf(i * 0.1f);
    p = tts_trim_default_params();
    tts_trim_silence(x, n, &p, &a, &b, &err);
    CHECK(a == 0 && b == n, "-30 dB background trimmed at -40 dB: [%zu, %zu)", a, b);
    p.threshold_db = -20.0f;
    tts_trim_silence(x, n, &p, &a, &b, &err);
    CHECK(a > 4000 && b < 28000, "-30 dB background kept at -20 dB: [%zu, %zu)", a, b);
    /* All zeros: empty range. Bad params: error. */
    memset(x, 0, n * sizeof *x);
    tts_trim_silence(x, n, NULL, &a, &b, &err);
    CHECK(a == 0 && b == 0, "silence gives [%zu, %zu)", a, b);
    p.hop_length = 0;
    CHECK(tts_trim_silence(x, n, &p, &a, &b, &err) == TTS_E_INVALID, "hop 0 accepted");
    free(x);

    /* Real clips (already trimmed in the corpus) padded with 0.5 s of -70 dBFS noise on
     * each side: trimming recovers the clip, plus the margin, and keeps its energy. */
    for (int c = 0; c < N_CLIPS; c++) {
        size_t m;
        float *y0 = load_clip(c, &m);
        size_t pad = 8000, mp = m + 2 * pad;
        float *y = malloc(mp * sizeof *y);
        for (size_t i = 0; i < mp; i++)
            y[i] = 3e-4f * frand();
        for (size_t i = 0; i < m; i++)
            y[pad + i] += y0[i];
        tts_trim_silence(y, mp, NULL, &a, &b, &err);
        double e_all = 0.0, e_in = 0.0;
        for (size_t i = 0; i < m; i++) {
            e_all += (double)y0[i] * y0[i];
            if (pad + i >= a && pad + i < b)
                e_in += (double)y0[i] * y0[i];
        }
        printf("trim %s padded by 0.5 s: keeps [%.3f, %.3f) s, clip is [0.500, %.3f), "
               "%.4f%% of its energy\n",
               clips[c], a / 16000.0, b / 16000.0, (pad + m) / 16000.0, 100.0 * e_in / e_all);
        CHECK(a + 800 >= pad - 1600 && a <= pad, "clip %d: start %zu", c, a);
        CHECK(b <= pad + m + 1600 + 800 && b >= pad + m, "clip %d: end %zu", c, b);
        CHECK(e_in / e_all > 0.999, "clip %d: trimming lost %g of the energy", c,
              1.0 - e_in / e_all);
        free(y);
        free(y0);
    }
}

static void test_vocode_file(void)
{
    tts_err err = {0};
    char in[4600], out[64];
    snprintf(in, sizeof in, "%s/corpus/wav/%s", data_dir, clips[2]);
    snprintf(out, sizeof out, "/tmp/tts_test_vocode_%ld.wav", (long)getpid());
    double t0 = now();
    int rc = tts_vocode_file(in, out, 0, &err);
    double dt = now() - t0;
    CHECK(rc == TTS_OK, "%s", err.msg);
    float *x, *y;
    size_t nx, ny;
    tts_wav_read(in, 16000, &x, &nx, NULL, &err);
    rc = tts_wav_read(out, 0, &y, &ny, NULL, &err);
    CHECK(rc == TTS_OK && ny == nx, "vocoded length %zu vs %zu", ny, nx);
    printf("tts_vocode_file: %.2f s of audio in %.3f s (%.1f ms per second)\n", nx / 16000.0,
           dt, 1000.0 * dt / (nx / 16000.0));
    if (rc == TTS_OK)
        free(y);
    free(x);
    unlink(out);
    CHECK(tts_vocode_file("/nonexistent/in.wav", out, 0, &err) == TTS_E_IO,
          "missing input: %d", err.code);
    CHECK(strstr(err.msg, "/nonexistent/in.wav") != NULL, "message: %s", err.msg);
    CHECK(access(out, F_OK) != 0, "output created for a missing input");
}

/* FFTW's planner is not thread-safe: objects created and destroyed from several threads
 * at once must work (the global planner lock), and give the same features. */
struct thread_arg {
    const float *x;
    size_t n;
    const float *ref;
    int mismatches, errors;
};

static void *mel_thread(void *p)
{
    struct thread_arg *a = p;
    tts_audio_cfg cfg = tts_audio_cfg_default();
    for (int r = 0; r < 10; r++) {
        tts_mel *m;
        tts_err err = {0};
        if (tts_mel_create(&m, &cfg, &err)) {
            a->errors++;
            continue;
        }
        float *f;
        size_t nf;
        if (tts_mel_analyze(m, a->x, a->n, &f, &nf, &err) == TTS_OK) {
            a->mismatches += memcmp(f, a->ref, nf * 80 * sizeof *f) != 0;
            free(f);
        } else {
            a->errors++;
        }
        tts_mel_free(m);
    }
    return NULL;
}

static void test_threads(void)
{
    size_t n;
    float *x = load_clip(4, &n);
    n = 16000; /* 1 s is plenty */
    tts_audio_cfg cfg = tts_audio_cfg_default();
    tts_mel *m;
    tts_err err = {0};
    tts_mel_create(&m, &cfg, &err);
    float *ref;
    size_t nf;
    tts_mel_analyze(m, x, n, &ref, &nf, &err);
    tts_mel_free(m);
    pthread_t th[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){x, n, ref, 0, 0};
        pthread_create(&th[i], NULL, mel_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].mismatches == 0 && args[i].errors == 0,
              "thread %d: %d mismatches, %d errors", i, args[i].mismatches, args[i].errors);
    }
    free(ref);
    free(x);
}

/* tts_mel_match_envelope: a clip matched to its own features comes back as it was; the
 * clip with a wrong envelope (pre-emphasis, -10 dB) matched to the original features gets
 * the original's mel envelope back, far closer than before. */
static double mel_err(tts_mel *m, const float *y, size_t n, const float *ref, size_t nf)
{
    float *lm;
    size_t nm;
    tts_err err = {0};
    if (tts_mel_analyze(m, y, n, &lm, &nm, &err))
        return INFINITY;
    double e = 0;
    size_t cnt = 0;
    for (size_t k = 0; k < nf * 80 && k < nm * 80; k++)
        if (ref[k] > -9) { /* above the floor's neighbourhood */
            e += fabs(lm[k] - ref[k]);
            cnt++;
        }
    free(lm);
    return cnt ? e / cnt : INFINITY;
}

static void test_match_envelope(void)
{
    tts_audio_cfg cfg = tts_audio_cfg_default();
    tts_mel *m;
    tts_err err = {0};
    CHECK(tts_mel_create(&m, &cfg, &err) == TTS_OK, "%s", err.msg);
    size_t n, nf;
    float *x = load_clip(1, &n), *lm;
    CHECK(tts_mel_analyze(m, x, n, &lm, &nf, &err) == TTS_OK, "%s", err.msg);
    float *y = malloc(n * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    CHECK(tts_mel_match_envelope(m, y, n, lm, nf, 2, 100, &err) == TTS_OK, "%s", err.msg);
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (y[i] - x[i]) * (y[i] - x[i]);
        den += x[i] * x[i];
    }
    double snr = 10 * log10(den / fmax(num, 1e-30));
    for (size_t i = n; i-- > 0;)
        y[i] = 0.32f * (x[i] - (i ? 0.95f * x[i - 1] : 0));
    double before = mel_err(m, y, n, lm, nf);
    CHECK(tts_mel_match_envelope(m, y, n, lm, nf, 2, 100, &err) == TTS_OK, "%s", err.msg);
    double after = mel_err(m, y, n, lm, nf);
    printf("envelope match: own features SNR %.1f dB; wrong envelope: mean |log-mel error| "
           "%.3f -> %.3f\n", snr, before, after);
    CHECK(snr > 30, "a clip matched to its own features changed: SNR %.1f dB", snr);
    CHECK(after < before / 4, "envelope not matched: %.3f -> %.3f", before, after);
    CHECK(tts_mel_match_envelope(m, y, n, lm, nf, 1, 0.5f, &err) == TTS_E_INVALID, "bad gain");
    free(x);
    free(y);
    free(lm);
    tts_mel_free(m);
}

/* The streaming envelope match equals the batched one: pieces of random sizes, 1 and 2
 * passes, a long clip and signals shorter than a window. */
static void test_envmatch_stream(void)
{
    tts_audio_cfg cfg = tts_audio_cfg_default();
    tts_mel *m;
    tts_err err = {0};
    CHECK(tts_mel_create(&m, &cfg, &err) == TTS_OK, "%s", err.msg);
    size_t nx;
    float *x = load_clip(2, &nx);
    const size_t lens[] = {nx, 4321, 777, 150, 1};
    double worst = 0;
    for (int p = 1; p <= 2; p++)
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            size_t n = lens[li], nf;
            float *lm;
            /* frames of the clip itself, a signal with another envelope */
            CHECK(tts_mel_analyze(m, x, n, &lm, &nf, &err) == TTS_OK, "%s", err.msg);
            size_t F = nf > 1 ? nf - 1 : 1; /* as a vocoder's F frames give F hops */
            float *ref = malloc(n * sizeof *ref), *got = malloc((n + 8000) * sizeof *got);
            for (size_t i = 0; i < n; i++)
                ref[i] = 0.3f * (x[i] - (i ? 0.9f * x[i - 1] : 0)) + 0.01f * frand();
            float *in = malloc(n * sizeof *in);
            memcpy(in, ref, n * sizeof *in);
            CHECK(tts_mel_match_envelope(m, ref, n, lm, F, p, 100, &err) == TTS_OK, "%s",
                  err.msg);
            tts_envmatch *e;
            CHECK(tts_envmatch_create(&e, &cfg, p, 100, &err) == TTS_OK, "%s", err.msg);
            for (int rep = 0; rep < 2; rep++) { /* the second time after a reset */
                size_t pos = 0, n_got = 0, fpushed = 0, k;
                while (pos < n) {
                    size_t piece = 1 + (size_t)((frand() + 1) * 300);
                    piece = piece > n - pos ? n - pos : piece;
                    /* frames first: those whose hop block the samples reach */
                    while (fpushed < F && fpushed * 200 < pos + piece)
                        CHECK(tts_envmatch_push_frame(e, lm + fpushed++ * 80, &err) == TTS_OK,
                              "%s", err.msg);
                    CHECK(tts_envmatch_push(e, in + pos, piece, got + n_got,
                                            piece + tts_envmatch_delay(e), &k, &err) == TTS_OK,
                          "%s", err.msg);
                    CHECK(n_got + k <= pos + piece, "output ahead of input");
                    CHECK(n_got + k + tts_envmatch_delay(e) >= pos + piece,
                          "output %zu more than the delay behind", pos + piece - n_got - k);
                    n_got += k;
                    pos += piece;
                }
                while (fpushed < F)
                    tts_envmatch_push_frame(e, lm + fpushed++ * 80, &err);
                CHECK(tts_envmatch_finish(e, got + n_got, tts_envmatch_delay(e) + 1, &k,
                                          &err) == TTS_OK, "%s", err.msg);
                n_got += k;
                CHECK(n_got == n, "streamed %zu samples of %zu", n_got, n);
                for (size_t i = 0; i < n && i < n_got; i++)
                    worst = fmax(worst, fabs(got[i] - ref[i]));
                tts_envmatch_reset(e);
            }
            tts_envmatch_free(e);
            free(lm);
            free(ref);
            free(got);
            free(in);
        }
    printf("envelope match streamed vs batched: worst difference %.2g\n", worst);
    CHECK(worst <= 1e-6, "streamed envelope match differs by %g", worst);
    free(x);
    tts_mel_free(m);
}

/* the sharpening's reference: the formula of dsp.h in double precision, straight */
static double sharpen_ref(const float *x, size_t n, int nm, size_t t, int b, double a, int w)
{
    int h = w / 2;
    double mu = 0;
    for (int k = -h; k <= h; k++) {
        long i = (long)t + k;
        i = i < 0 ? 0 : i > (long)n - 1 ? (long)n - 1 : i;
        mu += x[(size_t)i * nm + b];
    }
    return x[t * nm + b] + a * (x[t * nm + b] - mu / w);
}

static void test_sharpen(void)
{
    tts_err err = {0};
    const int nm = 7;
    const size_t lens[] = {1, 2, 3, 4, 9, 40};
    const int widths[] = {3, 5, 9};
    const float amounts[] = {0.0f, 0.6f, 1.5f};
    float *x = malloc(sizeof(float) * 40 * nm), *y = malloc(sizeof(float) * 40 * nm),
          *z = malloc(sizeof(float) * 40 * nm);
    double worst_ref = 0, worst_stream = 0;
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
        for (int wi = 0; wi < 3; wi++)
            for (int ai = 0; ai < 3; ai++) {
                size_t n = lens[li];
                int w = widths[wi];
                float a = amounts[ai];
                for (size_t i = 0; i < n * nm; i++)
                    x[i] = 3 * frand() - 4;
                memcpy(y, x, sizeof(float) * n * nm);
                CHECK(tts_sharpen_frames(y, n, nm, a, w, &err) == TTS_OK, "%s", err.msg);
                for (size_t t = 0; t < n; t++)
                    for (int b = 0; b < nm; b++) {
                        double d = fabs(y[t * nm + b] - sharpen_ref(x, n, nm, t, b, a, w));
                        worst_ref = d > worst_ref ? d : worst_ref;
                        if (a == 0)
                            CHECK(y[t * nm + b] == x[t * nm + b], "amount 0 changed a frame");
                    }
                /* streamed, twice through one object (reset between): the same bits,
                 * each frame h pushes behind */
                tts_sharpen *s;
                CHECK(tts_sharpen_create(&s, nm, a, w, &err) == TTS_OK, "%s", err.msg);
                CHECK(tts_sharpen_delay(s) == w / 2, "delay %d", tts_sharpen_delay(s));
                for (int rep = 0; rep < 2; rep++) {
                    size_t k = 0;
                    for (size_t t = 0; t < n; t++) {
                        int got = tts_sharpen_push(s, x + t * nm, z + k * nm);
                        CHECK(got == (t >= (size_t)(w / 2)), "push %zu gave %d frames", t, got);
                        k += (size_t)got;
                    }
                    while (k < n + 1 && tts_sharpen_flush(s, z + k * nm))
                        k++;
                    CHECK(k == n, "streamed %zu frames of %zu", k, n);
                    for (size_t i = 0; i < n * nm; i++) {
                        double d = fabs(z[i] - y[i]);
                        worst_stream = d > worst_stream ? d : worst_stream;
                    }
                    tts_sharpen_reset(s);
                }
                tts_sharpen_free(s);
            }
    printf("sharpening: worst difference from the formula %.2g, streamed vs whole %.2g\n",
           worst_ref, worst_stream);
    CHECK(worst_ref < 1e-5, "sharpening departs from its formula by %g", worst_ref);
    CHECK(worst_stream == 0, "streamed sharpening differs by %g", worst_stream);

    /* its gain: a 20 Hz band trajectory at 80 frames/s (4 frames a cycle) comes out, away
     * from the ends, 1 + a (1 - D(20 Hz)) times larger; D of a width-5 mean at a quarter
     * of the frame rate is (1 + 2 cos(pi / 2) + 2 cos(pi)) / 5 = -1 / 5; and a constant
     * band, the level, does not move */
    const size_t n = 40;
    for (size_t t = 0; t < n; t++)
        for (int b = 0; b < nm; b++)
            x[t * nm + b] = b == 0 ? -2.0f : (float)sin(2 * M_PI * 20.0 * t / 80.0 + 0.3);
    CHECK(tts_sharpen_frames(x, n, nm, 0.5f, 5, &err) == TTS_OK, "%s", err.msg);
    double worst_gain = 0;
    for (size_t t = 2; t + 2 < n; t++) {
        double want = 1.6 * sin(2 * M_PI * 20.0 * t / 80.0 + 0.3);
        worst_gain = fmax(worst_gain, fabs(x[t * nm + 3] - want));
        CHECK(x[t * nm] == -2.0f, "a constant band moved to %g", x[t * nm]);
    }
    CHECK(worst_gain < 1e-5, "20 Hz gain off by %g", worst_gain);

    /* what it refuses, with a reason */
    tts_sharpen *bad = (tts_sharpen *)1;
    CHECK(tts_sharpen_create(&bad, nm, 0.5f, 4, &err) == TTS_E_INVALID && !bad && err.msg[0],
          "an even width was taken");
    CHECK(tts_sharpen_create(&bad, nm, -0.1f, 5, &err) == TTS_E_INVALID, "a negative amount");
    CHECK(tts_sharpen_create(&bad, nm, NAN, 5, &err) == TTS_E_INVALID, "a NaN amount");
    CHECK(tts_sharpen_create(&bad, 0, 0.5f, 5, &err) == TTS_E_INVALID, "no bands");
    CHECK(tts_sharpen_create(&bad, nm, 0.5f, 1, &err) == TTS_E_INVALID, "width 1");
    free(x);
    free(y);
    free(z);
}

int main(void)
{
    const char *d = getenv("TTS_TEST_DATA");
    snprintf(data_dir, sizeof data_dir, "%s", d ? d : "tests/data");
    test_cfg();
    test_sine_peak();
    test_parseval();
    test_reconstruction();
    test_filterbank();
    test_logmel();
    test_griffin_lim();
    test_match_envelope();
    test_envmatch_stream();
    test_sharpen();
    test_level();
    test_trim();
    test_vocode_file();
    test_threads();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all dsp tests passed\n");
    return 0;
}
