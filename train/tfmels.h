/* Teacher-forced mels of a dataset cache (written by `tts-train tfmels`): the acoustic
 * model's predictions frame for frame where the cache holds the recorded mel. */
#ifndef TTS_TRAIN_TFMELS_H
#define TTS_TRAIN_TFMELS_H

#include "train/dataset.h"

typedef struct {
    tts_mf *mf;
    const float *mel; /* [total_frames, n_mels], log-mel, the cache's mel_off layout */
} tts_tfmels;

/* Opens path and checks that it fits ds (same utterances, frames and bands). */
int tts_tfmels_open(tts_tfmels *t, const char *path, const tts_dataset *ds, tts_err *err);
void tts_tfmels_close(tts_tfmels *t);

#endif
