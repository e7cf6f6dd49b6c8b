/* nn_sgemm's arguments (row-major, ta / tb 1 to transpose) for double precision, through
 * BLAS: the GEMM of the double twins the gradient checks use (training only). */
#ifndef TTS_TRAIN_DGEMM_H
#define TTS_TRAIN_DGEMM_H

#include <cblas.h>

#define TR_DGEMM(ta, tb, ...)                                                                 \
    cblas_dgemm(CblasRowMajor, (ta) ? CblasTrans : CblasNoTrans,                              \
                (tb) ? CblasTrans : CblasNoTrans, __VA_ARGS__)

#endif
