/*
 * The voice's spectral post-filter, measured (tts-train export --gv CACHE.ltd): the model
 * speaks training takes from their phonemes, free-running as at inference, and the
 * mel-cepstrum's variance within each utterance (speech frames, pooled) is compared with
 * the recordings'. Gain g_d = (GV_recorded_d / GV_synthetic_d)^(amount / 2), so amount 1
 * restores the recordings' variance, 0 leaves the frames alone; the mean cepstrum is the
 * synthetic speech's (the average spectrum stays). See t2m_set_gv.
 */
#ifndef TTS_TRAIN_GV_H
#define TTS_TRAIN_GV_H

#include "acoustic/text2mel.h"
#include "train/dataset.h"

#define GV_GAIN_MAX 3.0f

/* A model with pitch: its default pitch range (t2m_config.pitch_range) = the spread of the
 * pitch it is fed in training over the spread of the pitch it predicts (per-utterance
 * deviations from the mean over the tokens, pooled) on up to max_utts takes of ds's
 * training split: the predictor's regression to the mean undone. 0 or a tts_status. */
int gv_measure_pitch(t2m_model *m, const tts_dataset *ds, int max_utts, tts_err *err);

/* Sets m's post-filter from up to max_utts takes of ds's training split (spread evenly
 * over it). passable: the symbols' marks (tts_symtab_passable) or NULL. Prints the gains
 * to stderr. 0 or a tts_status with err set. */
int gv_measure(t2m_model *m, const tts_dataset *ds, const unsigned char *passable, int max_utts,
               float amount, tts_err *err);

#endif
