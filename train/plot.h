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

#endif
