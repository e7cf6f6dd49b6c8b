/* Parameters (nn_params) into a model file: the tensors every model kind writes alike. */
#ifndef TTS_NN_PARAMS_IO_H
#define TTS_NN_PARAMS_IO_H

#include "nn/layers.h"
#include "nn/modelfile.h"

/* Every tensor as f32 (referenced, not copied); with adam != NULL also the Adam moments
 * ("adam.m", "adam.v") and "train.step", so training resumes exactly. */
void nn_params_to_mf(tts_mf_writer *w, const nn_params *p, const nn_adam *adam);

/* Every tensor as IEEE half floats (copied): the shipped form. */
void nn_params_to_mf_f16(tts_mf_writer *w, const nn_params *p);

/* Checks that mf holds every tensor p registers, with its name and shape, as f32 or f16,
 * reading nothing: call it on a layout before allocating what the metadata asks for. */
int nn_params_check_mf(const nn_params *p, const tts_mf *mf, tts_err *err);
/* Reads every tensor of p (allocated) from mf, f16 converted to float. */
int nn_params_from_mf(nn_params *p, const tts_mf *mf, tts_err *err);
/* When mf holds Adam moments and p has room for them (for training): reads them and the
 * step into adam; otherwise does nothing. */
int nn_adam_from_mf(nn_params *p, nn_adam *adam, const tts_mf *mf, tts_err *err);

#endif
