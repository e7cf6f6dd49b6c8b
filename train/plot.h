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

/*
 * Speech side by side: for each of n waveforms pcm[i][len[i]] (sample rate sr), a
 * spectrogram (STFT magnitude in dB, 1024-point FFT, window 800, hop 200, 0 .. sr/2 upwards
 * at two bins a pixel,
 * the top 70 dB of the loudest of them all on one colour scale, 2 pixels a frame), one above
 * the other, then one panel with their F0 contours (vocoder/pitch.h's tracker; 70 .. 400 Hz on
 * a log scale, lines at 100, 200 and 300 Hz) drawn over each other, waveform i in colour i:
 * white, orange, cyan, green, magenta. Time runs from each waveform's start.
 */
int plot_speech_png(const char *path, const float *const *pcm, const size_t *len, int n, int sr,
                    tts_err *err);

#endif
