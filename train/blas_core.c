/* OpenBLAS's kernels on the CPU at hand: see blas_core.h. */
#include "train/blas_core.h"
#include "nn/gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>

/* OpenBLAS's x86-64 cores whose kernels stop short of AVX2 */
static const char *const pre_avx2[] = {
    "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Core2", "Penryn",
    "Dunnington", "Nehalem", "Sandybridge", "Atom", "Athlon", "Opteron", "Opteron_SSE3",
    "Barcelona", "Nano", "Bobcat", "Bulldozer", "Piledriver", "Steamroller", "Generic",
};

const char *tr_blas_better_core(const char *corename, int cpu_avx2_fma)
{
    if (!corename || !cpu_avx2_fma)
        return NULL;
    for (size_t i = 0; i < sizeof pre_avx2 / sizeof pre_avx2[0]; i++)
        if (!strcasecmp(corename, pre_avx2[i]))
            return "Haswell";
    return NULL;
}

void tr_blas_check_core(char **argv)
{
#if defined(__x86_64__) || defined(__i386__)
    if (getenv("OPENBLAS_CORETYPE"))
        return; /* the user's choice */
    __builtin_cpu_init();
    int avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const char *core = openblas_get_corename();
    const char *want = tr_blas_better_core(core, avx2_fma);
    if (!want)
        return;
    fprintf(stderr, "tts-train: OpenBLAS chose its %s kernels on a CPU with AVX2 and FMA; "
                    "running again with OPENBLAS_CORETYPE=%s\n", core, want);
    fflush(stderr);
    if (setenv("OPENBLAS_CORETYPE", want, 1) == 0)
        execv("/proc/self/exe", argv);
    fprintf(stderr, "tts-train: could not run again; going on with %s\n", core);
#else
    (void)argv;
#endif
}

static void blas_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void tr_blas_route_gemm(void)
{
    nn_sgemm_use(blas_sgemm);
}
