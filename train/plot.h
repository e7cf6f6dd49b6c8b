/* PNG pictures for a person checking training: matrices as heat maps (libpng). */
#ifndef TTS_TRAIN_PLOT_H
#define TTS_TRAIN_PLOT_H

#include "core/err.h"

/*
 * Draws panels stacked vertically, each panel a matrix m[rows, cols] shown with time
 * (rows) along x and the feature/token axis (cols) upwards, scaled to [lo, hi] (both 0:
 * the panel's own min and max), each pixel enlarged scale_x by scale_y.
 */
typedef struct {
    const float *m;
    int rows, cols;
    float lo, hi;
} plot_panel;

int plot_png(const char *path, const plot_panel *panels, int n_panels, int scale_x, int scale_y,
             tts_err *err);

/* A thumbnail of panel p in cell[h * w] (row 0 at the top, as drawn), values scaled to
 * [0, 1] by the panel's lo and hi (both 0: its own min and max): each pixel the largest
 * value of the block of the matrix it covers, so a one-token-wide attention line stays
 * visible when shrunk. */
void plot_thumb(const plot_panel *p, float *cell, int w, int h);

/* n thumbnails cells[n][h * w] on a grid of per_row columns with grey borders: many
 * alignments at a glance. */
int plot_grid_png(const char *path, const float *cells, int n, int w, int h, int per_row,
                  tts_err *err);

#endif
