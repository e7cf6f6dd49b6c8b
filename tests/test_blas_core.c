/* train/blas_core.h: which OpenBLAS cores tts-train replaces, and with what. */
#include <stdio.h>
#include <string.h>

#include "train/blas_core.h"

#include "check.h"

int main(void)
{
    /* fallbacks without AVX2 kernels on an AVX2 + FMA CPU: the AVX2 kernels */
    const char *slow[] = {"Prescott", "Core2", "Nehalem", "Sandybridge", "Barcelona", "prescott"};
    for (int i = 0; i < 6; i++) {
        const char *w = tr_blas_better_core(slow[i], 1);
        CHECK(w && !strcmp(w, "Haswell"), "%s on an AVX2 CPU -> %s", slow[i], w ? w : "(kept)");
        CHECK(tr_blas_better_core(slow[i], 0) == NULL, "%s kept on a CPU without AVX2", slow[i]);
    }
    /* cores with AVX2 (or better) kernels, and names it does not know, are kept */
    const char *fine[] = {"Haswell", "SkylakeX", "Cooperlake", "Zen", "Excavator", "Neoverse", ""};
    for (int i = 0; i < 7; i++)
        CHECK(tr_blas_better_core(fine[i], 1) == NULL, "%s kept", fine[i]);
    CHECK(tr_blas_better_core(NULL, 1) == NULL, "no name: kept");
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures != 0;
}
