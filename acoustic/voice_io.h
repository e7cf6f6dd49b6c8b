/*
 * Reading and writing the acoustic model inside a model file (nn/modelfile.h), with the
 * audio feature settings and the phoneme symbol table it was trained with. The same
 * layout serves the shipped voice and training checkpoints (which add the optimizer
 * state and step so training resumes exactly).
 *
 * Metadata keys: "kind" = "acoustic", "acoustic.{n_symbols,n_mels,r,embed_dim,text_ch,d}",
 * "audio.{sample_rate,n_fft,win_length,hop_length,n_mels,fmin,fmax,log_floor}",
 * "symbols" (the table, one symbol per line), "train.step" in checkpoints.
 * Tensors: every parameter by name; checkpoints add "adam.m" and "adam.v"; a voice may
 * have "acoustic.hold" f32[n_symbols] (t2m_model.hold) and "acoustic.gv" f32[2, T2M_GV_DIM]
 * (the post-filter's mean cepstrum and gains, t2m_set_gv). A model with pitch has the keys
 * "acoustic.{pitch_ch,lf0_mean,lf0_std}".
 */
#ifndef TTS_ACOUSTIC_VOICE_IO_H
#define TTS_ACOUSTIC_VOICE_IO_H

#include "acoustic/text2mel.h"
#include "dsp/dsp.h"
#include "nn/modelfile.h"

#define T2M_HOLD_TENSOR "acoustic.hold"
#define T2M_GV_TENSOR "acoustic.gv"
#define T2M_PCLASS_TENSOR "acoustic.prosody_class"

void tts_audio_cfg_to_mf(tts_mf_writer *w, const tts_audio_cfg *a);
int tts_audio_cfg_from_mf(const tts_mf *mf, tts_audio_cfg *a, tts_err *err);

/* Adds the model (config + tensors, referenced not copied) to w; with adam != NULL also
 * the optimizer moments and step. */
void t2m_to_mf(tts_mf_writer *w, const t2m_model *m, const nn_adam *adam);

/* Adds the model's parameters as IEEE half floats (for shipping: half the size; the
 * loader widens them back to float). The tensors are copied. */
void t2m_to_mf_f16(tts_mf_writer *w, const t2m_model *m);
/* The same with the larger tensors as 8-bit codes with block scales (nn_params_to_mf_q8):
 * about half the size of half floats. */
void t2m_to_mf_q8(tts_mf_writer *w, const t2m_model *m);

/* Builds *m from mf (tensors in f32, f16 or i8 with scales). for_training allocates gradients and moments and, when the file has
 * them, restores the moments and adam->step (adam may be NULL). */
int t2m_from_mf(t2m_model *m, const tts_mf *mf, int for_training, nn_adam *adam, tts_err *err);

/* t2m_from_mf for synthesis, the weights used as stored: every conv weight the file holds
 * as int8 (export --int8) is read in place from mf (t2m_conv.q), not widened to float, so
 * the model takes about a quarter of the memory; mf must stay open while m is in use.
 * The speech is the same, bit for bit, as from t2m_from_mf (nn_vecmat_q8). */
int t2m_from_mf_mapped(t2m_model *m, const tts_mf *mf, tts_err *err);

#endif
