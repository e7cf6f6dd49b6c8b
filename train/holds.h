/*
 * How long the recordings hold each phoneme symbol, as the acoustic model itself sees
 * them: the teacher-forced attention over every utterance of a cache's training split,
 * its argmax made monotonic (a running maximum), and the steps each token keeps it. A
 * symbol's hold is a high percentile of those, in frames. At inference the forced advance
 * then comes after a multiple of the symbol's own hold (t2m_infer_opts.hold) instead of
 * after 0.8 s for every sound: a flap held 0.8 s is heard as a drawled vowel, a pause of
 * 0.5 s after a comma is normal.
 */
#ifndef TTS_TRAIN_HOLDS_H
#define TTS_TRAIN_HOLDS_H

#include "acoustic/text2mel.h"
#include "train/dataset.h"

/* symbols held fewer times than this get no hold of their own */
#define HOLDS_MIN_COUNT 50

/* the longest hold counted, in steps (longer ones count as this) */
#define HOLDS_MAX_STEPS 512

typedef struct {
    int n_symbols;
    int *count; /* [n_symbols] holds seen */
    int *hist;  /* [n_symbols][HOLDS_MAX_STEPS + 1]: holds of each length in steps */
} holds_table;

/* Measures the holds of m over ds's training split with threads worker threads. The
 * symbols of ds must be m's. 0 or a tts_status with err set. */
int holds_measure(holds_table *t, const t2m_model *m, const tts_dataset *ds, int threads,
                  tts_err *err);
void holds_free(holds_table *t);

/* The pct-th percentile (0..100] of symbol id's holds, in frames (steps times r); 0 when
 * it was held fewer than min_count times. */
float holds_percentile(const holds_table *t, int id, float pct, int min_count, int r);

#endif
