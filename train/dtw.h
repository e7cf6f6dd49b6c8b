/* Dynamic time warping of two frame sequences: the monotonic alignment of least total
 * cost (steps (1,1), (1,0), (0,1), every frame of both used), for the evaluation's
 * distances between free-running and recorded frames and for lining free-running frames
 * up with a recording (tts-train tfmels --free-running). */
#ifndef TTS_TRAIN_DTW_H
#define TTS_TRAIN_DTW_H

typedef double (*tts_frame_cost)(const float *a, const float *b, int dim);

/* mean |a - b| over the dim values */
double tts_cost_l1(const float *a, const float *b, int dim);

/* Aligns a[na, dim] with b[nb, dim]: returns the mean frame cost along the path of least
 * total cost (ties: the diagonal step first, then the step in a, then the step in b), or
 * NaN when out of memory or na or nb < 1. With a_lo and a_hi ([nb] each) not NULL, frame j
 * of b is aligned with the frames a_lo[j] .. a_hi[j] of a (non-empty, in order, together
 * covering a). */
double tts_dtw(const float *a, int na, const float *b, int nb, int dim, tts_frame_cost cost,
               int *a_lo, int *a_hi);

#endif
