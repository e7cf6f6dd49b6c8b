/*
 * The trainers spend most of their time in OpenBLAS's GEMMs, whose kernels OpenBLAS picks
 * by the CPU it recognizes. A CPU it does not know (a new Xeon, a VM that hides the model)
 * gets a fallback such as "Prescott" (SSE3): on a 2-core AVX-512 Xeon a synthesis run took
 * 1.8 x as long as with the right kernels. tts-train checks the core once at start; when
 * the user has not chosen one (OPENBLAS_CORETYPE unset), the chosen core has no AVX2
 * kernels and the CPU has AVX2 and FMA, it runs itself again with OPENBLAS_CORETYPE=Haswell
 * (the AVX2 kernels; not the AVX-512 ones, which some older OpenBLAS builds get wrong on
 * some CPUs).
 */
#ifndef TTS_TRAIN_BLAS_CORE_H
#define TTS_TRAIN_BLAS_CORE_H

/* The core to ask for instead of corename (OpenBLAS's name of the kernels it chose), given
 * whether the CPU has AVX2 and FMA: "Haswell", or NULL to keep it (it has AVX2 kernels,
 * the CPU has no AVX2, or the name is unknown). */
const char *tr_blas_better_core(const char *corename, int cpu_avx2_fma);

/* Called first thing in main: re-executes the program (execv of /proc/self/exe with argv)
 * with OPENBLAS_CORETYPE set when tr_blas_better_core says so and OPENBLAS_CORETYPE is
 * unset; returns when nothing is to be done or the re-execution failed. A note goes to
 * stderr either way it acts. */
void tr_blas_check_core(char **argv);

/* Routes the layers' float GEMMs (nn_sgemm) to OpenBLAS's cblas_sgemm: training's large
 * matrices run on its cache-blocked, threaded kernels. Call once, before training. */
void tr_blas_route_gemm(void);

#endif
