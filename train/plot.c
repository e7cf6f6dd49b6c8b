#include "train/plot.h"

#include <errno.h>
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
