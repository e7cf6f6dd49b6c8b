#include "train/plot.h"

#include "dsp/dsp.h"
#include "vocoder/pitch.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a perceptual-ish dark-blue -> yellow ramp */
static void colour(float v, unsigned char *rgb)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    float r = v < 0.5f ? 0.1f + 0.4f * v : 0.3f + 1.4f * (v - 0.5f);
    float g = 0.05f + 0.9f * v;
    float b = v < 0.5f ? 0.35f + 0.6f * v : 0.65f - 1.2f * (v - 0.5f);
    rgb[0] = (unsigned char)(255 * (r > 1 ? 1 : r));
    rgb[1] = (unsigned char)(255 * (g > 1 ? 1 : g));
    rgb[2] = (unsigned char)(255 * (b < 0 ? 0 : b));
}

/* returns non-zero on failure */
static int write_rgb(FILE *f, const unsigned char *img, int width, int height)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return 1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++)
        png_write_row(png, (png_const_bytep)(img + (size_t)y * width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

/* writes img (then freed) to path as a PNG */
static int save_rgb(const char *path, unsigned char *img, int width, int height, tts_err *err)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(img);
        return tts_seterr(err, TTS_E_IO, "cannot write %s: %s", path, strerror(errno));
    }
    int bad = write_rgb(f, img, width, height);
    bad |= fclose(f) != 0;
    free(img);
    return bad ? tts_seterr(err, TTS_E_IO, "cannot write %s", path) : TTS_OK;
}

/* the panel's value range: its lo and hi, or (both 0) its own min and max */
static void panel_range(const plot_panel *p, float *lo, float *hi)
{
    *lo = p->lo;
    *hi = p->hi;
    size_t n = (size_t)p->rows * p->cols;
    if (*lo == 0 && *hi == 0 && n > 0) {
        *lo = *hi = p->m[0];
        for (size_t i = 0; i < n; i++) {
            *lo = p->m[i] < *lo ? p->m[i] : *lo;
            *hi = p->m[i] > *hi ? p->m[i] : *hi;
        }
    }
}

int plot_png(const char *path, const plot_panel *panels, int n_panels, int scale_x, int scale_y,
             tts_err *err)
{
    int width = 0, height = 0, gap = 4;
    for (int p = 0; p < n_panels; p++) {
        int w = panels[p].rows * scale_x;
        width = w > width ? w : width;
        height += panels[p].cols * scale_y + (p ? gap : 0);
    }
    if (width <= 0 || height <= 0 || width > 20000 || height > 20000)
        return tts_seterr(err, TTS_E_INVALID, "plot: bad size %dx%d", width, height);
    unsigned char *img = calloc((size_t)width * height * 3, 1);
    if (!img)
        return tts_seterr(err, TTS_E_NOMEM, "plot: out of memory");
    int y0 = 0;
    for (int p = 0; p < n_panels; p++) {
        const plot_panel *pp = &panels[p];
        float lo, hi;
        panel_range(pp, &lo, &hi);
        float span = hi > lo ? hi - lo : 1;
        int ph = pp->cols * scale_y;
        for (int y = 0; y < ph; y++) {
            int c = pp->cols - 1 - y / scale_y; /* feature 0 at the bottom */
            for (int x = 0; x < pp->rows * scale_x; x++) {
                float v = (pp->m[(size_t)(x / scale_x) * pp->cols + c] - lo) / span;
                colour(v, img + ((size_t)(y0 + y) * width + x) * 3);
            }
        }
        y0 += ph + gap;
    }
    return save_rgb(path, img, width, height, err);
}

void plot_thumb(const plot_panel *p, float *cell, int w, int h)
{
    float lo, hi;
    panel_range(p, &lo, &hi);
    float span = hi > lo ? hi - lo : 1;
    for (int y = 0; y < h; y++) {
        /* feature (column) block of this pixel row, the top row the highest features */
        int c1 = p->cols - (int)((long)y * p->cols / h), c0 = p->cols - (int)((long)(y + 1) * p->cols / h);
        c1 = c1 > c0 ? c1 : c0 + 1;
        for (int x = 0; x < w; x++) {
            int r0 = (int)((long)x * p->rows / w), r1 = (int)((long)(x + 1) * p->rows / w);
            r1 = r1 > r0 ? r1 : r0 + 1;
            float v = 0;
            int any = 0;
            for (int r = r0; r < r1 && r < p->rows; r++)
                for (int c = c0; c < c1 && c < p->cols; c++) {
                    float t = (p->m[(size_t)r * p->cols + c] - lo) / span;
                    v = !any || t > v ? t : v;
                    any = 1;
                }
            cell[(size_t)y * w + x] = any ? v : 0;
        }
    }
}

int plot_grid_png(const char *path, const float *cells, int n, int w, int h, int per_row,
                  tts_err *err)
{
    int border = 2;
    if (n <= 0 || w <= 0 || h <= 0 || per_row <= 0)
        return tts_seterr(err, TTS_E_INVALID, "plot: empty grid");
    int cols = n < per_row ? n : per_row, rows = (n + per_row - 1) / per_row;
    int width = cols * (w + border) + border, height = rows * (h + border) + border;
    if (width > 20000 || height > 20000)
        return tts_seterr(err, TTS_E_INVALID, "plot: bad size %dx%d", width, height);
    unsigned char *img = malloc((size_t)width * height * 3);
    if (!img)
        return tts_seterr(err, TTS_E_NOMEM, "plot: out of memory");
    memset(img, 128, (size_t)width * height * 3); /* the grey of the borders and empty cells */
    for (int k = 0; k < n; k++) {
        int x0 = border + (k % per_row) * (w + border), y0 = border + (k / per_row) * (h + border);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                colour(cells[(size_t)k * w * h + (size_t)y * w + x],
                       img + ((size_t)(y0 + y) * width + x0 + x) * 3);
    }
    return save_rgb(path, img, width, height, err);
}

#define SPEECH_MAX 5
#define SPEECH_DB 70.0f
#define SPEECH_F0_LO 70.0
#define SPEECH_F0_HI 400.0
#define SPEECH_F0_H 160 /* pixels of the F0 panel */

int plot_speech_png(const char *path, const float *const *pcm, const size_t *len, int n, int sr,
                    tts_err *err)
{
    static const unsigned char line_rgb[SPEECH_MAX][3] = {
        {255, 255, 255}, {255, 150, 30}, {40, 220, 255}, {60, 230, 60}, {240, 60, 240}};
    if (n < 1 || n > SPEECH_MAX)
        return tts_seterr(err, TTS_E_INVALID, "plot: 1 to %d waveforms, not %d", SPEECH_MAX, n);
    const int n_fft = 1024, win = 800, hop = 200, sx = 2, gap = 4;
    tts_stft *st = NULL;
    int rc = tts_stft_create(&st, n_fft, win, hop, err);
    if (rc)
        return rc;
    int nb = tts_stft_n_bins(st);
    float *mag[SPEECH_MAX] = {0}, *f0[SPEECH_MAX] = {0};
    int nf[SPEECH_MAX] = {0}, width = 0;
    float top = -INFINITY;
    for (int i = 0; i < n && rc == 0; i++) {
        nf[i] = (int)tts_stft_n_frames(st, len[i]);
        mag[i] = malloc(sizeof(float) * (size_t)nf[i] * nb);
        f0[i] = malloc(sizeof(float) * (size_t)nf[i]);
        if (!mag[i] || !f0[i]) {
            rc = tts_seterr(err, TTS_E_NOMEM, "plot: out of memory");
            break;
        }
        if ((rc = tts_stft_magnitude(st, pcm[i], len[i], mag[i], err)))
            break;
        voc_pitch_track(pcm[i], len[i], sr, hop, nf[i], f0[i]);
        for (size_t k = 0; k < (size_t)nf[i] * nb; k++) {
            mag[i][k] = 20 * log10f(mag[i][k] + 1e-9f);
            top = fmaxf(top, mag[i][k]);
        }
        width = nf[i] * sx > width ? nf[i] * sx : width;
    }
    int rows = nb / 2; /* two bins a pixel: 15.6 Hz */
    int height = n * (rows + gap) + SPEECH_F0_H;
    unsigned char *img = rc ? NULL : calloc((size_t)width * height * 3, 1);
    if (!rc && !img)
        rc = tts_seterr(err, TTS_E_NOMEM, "plot: out of memory");
    if (!rc && (width > 20000 || height > 20000))
        rc = tts_seterr(err, TTS_E_INVALID, "plot: %d x %d pixels is too large", width, height);
    for (int i = 0; i < n && rc == 0; i++) {
        int y0 = i * (rows + gap);
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < nf[i] * sx; x++) {
                const float *m = mag[i] + (size_t)(x / sx) * nb + 2 * (rows - 1 - y);
                float v = (fmaxf(m[0], m[1]) - (top - SPEECH_DB)) / SPEECH_DB;
                colour(v, img + ((size_t)(y0 + y) * width + x) * 3);
            }
    }
    if (rc == 0) {
        int y0 = n * (rows + gap);
        double span = log(SPEECH_F0_HI / SPEECH_F0_LO);
        for (int g = 100; g <= 300; g += 100) { /* grey lines at 100, 200, 300 Hz */
            int y = y0 + SPEECH_F0_H - 1 - (int)((SPEECH_F0_H - 1) * log(g / SPEECH_F0_LO) / span);
            for (int x = 0; x < width; x++)
                memset(img + ((size_t)y * width + x) * 3, 70, 3);
        }
        for (int i = 0; i < n; i++)
            for (int t = 0; t < nf[i]; t++) {
                if (!(f0[i][t] >= SPEECH_F0_LO && f0[i][t] <= SPEECH_F0_HI))
                    continue;
                int y = y0 + SPEECH_F0_H - 1 -
                        (int)((SPEECH_F0_H - 1) * log(f0[i][t] / SPEECH_F0_LO) / span);
                for (int dy = -1; dy <= 1; dy++)
                    for (int x = t * sx; x < (t + 1) * sx; x++)
                        if (y + dy >= y0 && y + dy < height)
                            memcpy(img + ((size_t)(y + dy) * width + x) * 3, line_rgb[i], 3);
            }
        rc = save_rgb(path, img, width, height, err);
        img = NULL;
    }
    free(img);
    for (int i = 0; i < n; i++) {
        free(mag[i]);
        free(f0[i]);
    }
    tts_stft_free(st);
    return rc;
}
