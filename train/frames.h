/* The frames of one free-running synthesis, gathered as t2m_synthesize hands them out
 * (its frame callback), with the attention position of every step. Used by the training
 * tools that synthesize from text: synth, eval, tfmels --free-running. */
#ifndef TTS_TRAIN_FRAMES_H
#define TTS_TRAIN_FRAMES_H

#include <stddef.h>

typedef struct {
    float *frames; /* [n, n_mels] log-mel */
    size_t n, cap;
    int n_mels;    /* set before the first call */
    int *pos;      /* [steps]: the attended token of each decoder step */
    size_t steps, pcap;
} frame_run;

/* a t2m_frame_cb: appends r frames and the step's position to the frame_run at user;
 * returns 1 (stop) when out of memory */
int frame_run_collect(const float *frames, int r, int pos, void *user);
/* frees the buffers and empties the run (n_mels kept) */
void frame_run_free(frame_run *c);

#endif
