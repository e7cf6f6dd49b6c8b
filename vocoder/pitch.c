#include "vocoder/pitch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define YIN_THRESHOLD 0.2f  /* a dip of the normalized difference below this is a period */
#define YIN_FLOOR_DB 50.0f  /* frames this far below the loudest are unvoiced */

static float median3(float a, float b, float c)
{
    if (a > b) {
        float t = a;
        a = b;
        b = t;
    }
    return c < a ? a : c > b ? b : c;
}

void voc_pitch_track(const float *pcm, size_t n, int sr, int hop, int n_frames, float *f0)
{
    int W = (int)lroundf(0.032f * sr);
    int tmin = (int)floorf(sr / VOC_F0_MAX), tmax = (int)ceilf(sr / VOC_F0_MIN);
    int span = W + tmax + 1;
    float *x = malloc(sizeof(float) * span);
    float *d = malloc(sizeof(float) * (tmax + 2));
    float *rms = malloc(sizeof(float) * (n_frames > 0 ? n_frames : 1));
    if (!x || !d || !rms) {
        for (int t = 0; t < n_frames; t++)
            f0[t] = 0;
        free(x);
        free(d);
        free(rms);
        return;
    }
    float top = 0;
    for (int t = 0; t < n_frames; t++) {
        long c = (long)t * hop - W / 2;
        double e = 0;
        for (int j = 0; j < W; j++) {
            long i = c + j;
            float v = i >= 0 && (size_t)i < n ? pcm[i] : 0;
            e += (double)v * v;
        }
        rms[t] = (float)sqrt(e / W);
        top = rms[t] > top ? rms[t] : top;
    }
    float gate = top * powf(10.0f, -YIN_FLOOR_DB / 20);
    for (int t = 0; t < n_frames; t++) {
        f0[t] = 0;
        if (rms[t] <= gate || rms[t] == 0)
            continue;
        long c = (long)t * hop - W / 2;
        for (int j = 0; j < span; j++) {
            long i = c + j;
            x[j] = i >= 0 && (size_t)i < n ? pcm[i] : 0;
        }
        /* difference function and its cumulative-mean normalization */
        double cum = 0;
        d[0] = 1;
        for (int tau = 1; tau <= tmax; tau++) {
            float s = 0;
            for (int j = 0; j < W; j++) {
                float e = x[j] - x[j + tau];
                s += e * e;
            }
            cum += s;
            d[tau] = cum > 0 ? (float)(s * tau / cum) : 1;
        }
        int best = -1;
        for (int tau = tmin; tau <= tmax; tau++)
            if (d[tau] < YIN_THRESHOLD) {
                while (tau + 1 <= tmax && d[tau + 1] < d[tau])
                    tau++;
                best = tau;
                break;
            }
        if (best < 0)
            continue;
        double shift = 0;
        if (best > tmin && best < tmax) {
            double a = d[best - 1], b = d[best], cc = d[best + 1], den = a - 2 * b + cc;
            if (den > 1e-12)
                shift = 0.5 * (a - cc) / den;
            if (shift > 0.5 || shift < -0.5)
                shift = 0;
        }
        f0[t] = (float)(sr / (best + shift));
    }
    /* a 3-frame median inside voiced runs; single voiced frames are dropped */
    memcpy(rms, f0, sizeof(float) * n_frames);
    for (int t = 0; t < n_frames; t++) {
        int prev = t > 0 && rms[t - 1] > 0, next = t + 1 < n_frames && rms[t + 1] > 0;
        if (rms[t] > 0 && !prev && !next)
            f0[t] = 0;
        else if (rms[t] > 0 && prev && next)
            f0[t] = median3(rms[t - 1], rms[t], rms[t + 1]);
    }
    free(x);
    free(d);
    free(rms);
}

void voc_pitch_fill(float *f0, int n)
{
    int first = -1;
    for (int t = 0; t < n; t++)
        if (f0[t] > 0) {
            first = t;
            break;
        }
    if (first < 0) {
        for (int t = 0; t < n; t++)
            f0[t] = 200;
        return;
    }
    for (int t = 0; t < first; t++)
        f0[t] = f0[first];
    /* each unvoiced run takes the nearer voiced neighbour */
    int t = first;
    while (t < n) {
        if (f0[t] > 0) {
            t++;
            continue;
        }
        int s = t;
        while (t < n && f0[t] <= 0)
            t++;
        float left = f0[s - 1], right = t < n ? f0[t] : left;
        for (int k = s; k < t; k++)
            f0[k] = (k - s < t - k) ? left : right;
    }
}

void voc_osc_run(voc_osc *o, const float *f0, const float *v, int nb, int hop, int sr,
                 float *exc)
{
    const double two_pi = 6.283185307179586;
    double ph = o->phase;
    for (int t = 0; t < nb; t++) {
        for (int j = 0; j < hop; j++) {
            double a = (double)(j + 1) / hop;
            double f = (1 - a) * f0[t] + a * f0[t + 1];
            double amp = (1 - a) * v[t] + a * v[t + 1];
            if (f < VOC_F0_MIN * 0.5)
                f = VOC_F0_MIN * 0.5;
            ph += two_pi * f / sr;
            if (ph >= two_pi)
                ph -= two_pi * floor(ph / two_pi);
            float out = 0;
            if (amp > 1e-4) {
                int K = (int)(VOC_EXC_TOP / f);
                K = K < 1 ? 1 : K > VOC_MAX_HARM ? VOC_MAX_HARM : K;
                /* sin(k ph) by the Chebyshev recurrence s_{k+1} = 2 cos(ph) s_k - s_{k-1} */
                double c2 = 2 * cos(ph), s0 = 0, s1 = sin(ph), sum = 0;
                for (int k = 1; k <= K; k++) {
                    sum += s1;
                    double s2 = c2 * s1 - s0;
                    s0 = s1;
                    s1 = s2;
                }
                out = (float)(amp * sum / sqrt(K * 0.5));
            }
            exc[(size_t)t * hop + j] = out;
        }
    }
    o->phase = ph;
}

void voc_source_interleave(const float *const *ch, int n_ch, size_t n, int fold, float *src)
{
    for (size_t s = 0; s < n / fold; s++)
        for (int c = 0; c < n_ch; c++)
            memcpy(src + (s * n_ch + c) * fold, ch[c] + s * fold, sizeof(float) * fold);
}
