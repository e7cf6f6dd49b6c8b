/* The float layers' backward passes and the training losses (nn/layers_grad_impl.h): the
 * trainer's, not the runtime library's. The forward passes are nn/layers.c's. */
#include "nn/layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gemm.h"

#define REAL float
#define NN(name) name##_f
#define GEMM nn_sgemm
#define EXP expf
#define TANH tanhf
#define SQRT sqrtf
#include "nn/layers_common_impl.h"
#include "nn/layers_grad_impl.h"
