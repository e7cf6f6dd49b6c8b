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

/* Quantized storage: a tensor of at least NN_Q8_MIN elements is stored as i8 codes, in
 * blocks of NN_Q8_BLOCK consecutive elements (the last may be shorter), each block with
 * its own f32 scale (its largest magnitude / 127) in the companion tensor "NAME@q8" of
 * ceil(size / NN_Q8_BLOCK) elements: value = code * scale, the error at most scale / 2.
 * Smaller tensors (biases, gains) stay half floats. A quarter of the f32 size plus 1/16
 * for the scales. */
#define NN_Q8_BLOCK 64
#define NN_Q8_MIN 1024
void nn_params_to_mf_q8(tts_mf_writer *w, const nn_params *p);

/* Checks that mf holds every tensor p registers, with its name and shape, as f32, f16 or
 * i8 with its scales, reading nothing: call it on a layout before allocating what the
 * metadata asks for. */
int nn_params_check_mf(const nn_params *p, const tts_mf *mf, tts_err *err);
/* Reads every tensor of p (allocated) from mf, f16 and i8 converted to float. */
int nn_params_from_mf(nn_params *p, const tts_mf *mf, tts_err *err);
/* The same, leaving tensor i alone (unwritten) where skip[i] (skip NULL: none). */
int nn_params_from_mf_except(nn_params *p, const tts_mf *mf, const unsigned char *skip,
                             tts_err *err);
/* n int8 codes with their block scales (as stored: s[j / NN_Q8_BLOCK] for code j) widened
 * to float into y: the values the loader gives a stored i8 tensor. */
void nn_q8_widen(float *y, const int8_t *q, const float *s, size_t n);

/* Tensor i of p as mf stores it when that is i8: 1 with its codes and block scales (inside
 * mf: valid while it is open), else 0. Call after nn_params_check_mf. */
int nn_params_q8(const nn_params *p, int i, const tts_mf *mf, const int8_t **codes,
                 const float **scales);
/* When mf holds Adam moments and p has room for them (for training): reads them and the
 * step into adam; otherwise does nothing. */
int nn_adam_from_mf(nn_params *p, nn_adam *adam, const tts_mf *mf, tts_err *err);

#endif
