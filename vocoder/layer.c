/* The vocoder's gated layer in float (vocoder/layer_impl.h): the stream's and the batched
 * pass's. */
#include <string.h>

#include "nn/gemm.h"
#include "nn/kernels.h"
#include "vocoder/vocoder.h"

#define REAL float
#define NN(name) name##_f
#define LGEMM nn_sgemm
#define VTANH nn_vtanh
#define VSIGMOID nn_vsigmoid
#include "vocoder/layer_impl.h"
