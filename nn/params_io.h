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

#endif
