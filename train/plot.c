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
        float lo = pp->lo, hi = pp->hi;
        if (lo == 0 && hi == 0) {
            lo = hi = pp->m[0];
            for (size_t i = 0; i < (size_t)pp->rows * pp->cols; i++) {
                lo = pp->m[i] < lo ? pp->m[i] : lo;
                hi = pp->m[i] > hi ? pp->m[i] : hi;
            }
        }
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
