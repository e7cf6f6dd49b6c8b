/* The double-precision twins of the layers (nn/layers.h's _d functions): the reference
 * the gradient checks compare with finite differences. Training-only: the library runs
 * the float ones. */
#include "nn/layers.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/dgemm.h"

#define REAL double
#define NN(name) name##_d
#define GEMM TR_DGEMM
#define EXP exp
#define TANH tanh
#define SQRT sqrt
#include "nn/layers_common_impl.h"
#include "nn/layers_impl.h"
#include "nn/layers_grad_impl.h"
