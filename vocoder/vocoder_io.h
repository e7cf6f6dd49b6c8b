/*
 * Reading and writing the vocoder inside a model file (nn/modelfile.h), as
 * acoustic/voice_io.h does for the acoustic model. The same layout serves the shipped
 * vocoder and training checkpoints (which add the optimizer state and step).
 *
 * Metadata keys: "kind" = "vocoder", "vocoder.{n_mels,hop,fold,res_ch,skip_ch,n_layers,
 * dil_cycle,kernel,cond_ch,cond_layers,cond_kernel,lookahead}", and the later ones a file
 * may lack (their defaults in voc_config): "vocoder.{sample_rate,src,env_passes,
 * frame_sharpen,frame_sharpen_w}"; "train.step" in checkpoints (the caller adds "audio.*",
 * see tts_audio_cfg_to_mf). A file with vocoder.src 3 or 4 is refused (TTS_E_FORMAT: those
 * sources were removed).
 * Tensors: every parameter by name ("vocoder.layer.3.conv.w", ...; the mel statistics are
 * "vocoder.mel_mean" / "vocoder.mel_std"), f32, f16 or 8-bit codes (voc_to_mf_q8);
 * checkpoints add "adam.m", "adam.v".
 */
#ifndef TTS_VOCODER_VOCODER_IO_H
#define TTS_VOCODER_VOCODER_IO_H

#include "nn/modelfile.h"
#include "vocoder/vocoder.h"

/* Adds the model (config + tensors, referenced not copied) to w; with adam != NULL also
 * the optimizer moments and step. */
void voc_to_mf(tts_mf_writer *w, const voc_model *m, const nn_adam *adam);

/* The same with the parameters as IEEE half floats (copied): for shipping. */
void voc_to_mf_f16(tts_mf_writer *w, const voc_model *m);
/* The same with the larger tensors as 8-bit codes with block scales (nn_params_to_mf_q8). */
void voc_to_mf_q8(tts_mf_writer *w, const voc_model *m);

/* Builds *m from mf (f32, f16 or i8 tensors; "kind" must be "vocoder"). for_training allocates
 * gradients and moments and, when the file has them, restores the moments and adam->step
 * (adam may be NULL). */
int voc_from_mf(voc_model *m, const tts_mf *mf, int for_training, nn_adam *adam, tts_err *err);

#endif
