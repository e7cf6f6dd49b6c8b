/*
 * bench_kernels: GFLOP/s of the two paths the network's FLOPs go through, against the
 * machine's peak, printed as markdown tables.
 *
 *   (a) training: cblas_sgemm at the shapes a teacher-forced conv layer produces (one GEMM
 *       per tap: forward y += x W[k], weight gradient dW[k] += x^T dy, input gradient
 *       dx += dy W[k]^T), with 1 and 2 OpenBLAS threads;
 *   (b) streaming inference: one frame through one tap, y[Cout] += x[Cin]^T W -- nn_vecmat
 *       scalar vs AVX2 (conv1d_step_f calls nn_vecmat), its int8-weight twin nn_vecmat_q8
 *       (the shipped voice's decoder), and cblas_sgemv -- and the element-wise gates.
 *
 * Each figure is the median of RUNS timed runs, each long enough (>= MIN_RUN_S) to make
 * timer resolution irrelevant. Peak = cores x frequency x 2 FMA units x 8 floats (AVX2)
 * x 2 flops; the frequency comes from cpufreq's cpuinfo_max_freq if the kernel exposes it,
 * else from "cpu MHz" in /proc/cpuinfo (the source is printed).
 *
 * Usage: bench_kernels [--quick]
 */
#include "nn/gemm.h"
#include "nn/kernels.h"
#include "nn/layers.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int RUNS = 9;
static double MIN_RUN_S = 0.05;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median seconds per call of fn(ctx) over RUNS runs of >= MIN_RUN_S; *best (if not NULL)
 * gets the fastest run, short bursts included (what the machine does when nothing else
 * competes for the core) */
typedef void (*bench_fn)(void *ctx);
static double time_median(bench_fn fn, void *ctx, double *best)
{
    fn(ctx); /* warm up: caches, OpenBLAS thread start */
    long reps = 1;
    for (;;) {
        double t0 = now_s();
        for (long r = 0; r < reps; r++)
            fn(ctx);
        double dt = now_s() - t0;
        if (dt >= MIN_RUN_S)
            break;
        reps = dt > 0 ? (long)(reps * (1.2 * MIN_RUN_S / dt)) + 1 : reps * 10;
    }
    double t[64];
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_s();
        for (long r = 0; r < reps; r++)
            fn(ctx);
        t[i] = (now_s() - t0) / reps;
    }
    qsort(t, RUNS, sizeof(double), cmp_double);
    if (best) {
        /* fastest of 100 bursts of ~1 ms: shorter than a scheduler time slice, so some
         * run undisturbed even when other processes share the core */
        long breps = (long)(reps * (1e-3 / MIN_RUN_S)) + 1;
        *best = t[0];
        for (int i = 0; i < 100; i++) {
            double t0 = now_s();
            for (long r = 0; r < breps; r++)
                fn(ctx);
            double b = (now_s() - t0) / breps;
            if (b < *best)
                *best = b;
        }
    }
    return t[RUNS / 2];
}

static float *rand_buf(size_t n, uint64_t *rng)
{
    float *p = aligned_alloc(64, ((n * sizeof(float)) + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "bench_kernels: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(2 * nn_rand_uniform(rng) - 1);
    return p;
}

/* ---- machine peak ---- */
static double cpu_ghz(char *src, size_t srclen)
{
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "r");
    if (f) {
        long khz = 0;
        int ok = fscanf(f, "%ld", &khz) == 1;
        fclose(f);
        if (ok && khz > 0) {
            snprintf(src, srclen, "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
            return khz / 1e6;
        }
    }
    f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        double mhz = 0;
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "cpu MHz", 7) == 0) {
                const char *c = strchr(line, ':');
                if (c && sscanf(c + 1, "%lf", &mhz) == 1)
                    break;
            }
        fclose(f);
        if (mhz > 0) {
            snprintf(src, srclen, "/proc/cpuinfo \"cpu MHz\" (no cpufreq; may be below boost)");
            return mhz / 1e3;
        }
    }
    snprintf(src, srclen, "unknown (assumed 2.0 GHz)");
    return 2.0;
}

/* The clock the core actually runs at (turbo included): a chain of dependent integer
 * adds retires one add per cycle on every x86-64 core of the last decade. Samples of 2M
 * cycles (under a millisecond, shorter than a scheduler time slice), best of 300, so other
 * processes on the core rarely spoil all of them. */
static double measured_ghz(void)
{
#if defined(__x86_64__)
    const long iters = 200000;
    double best = 0;
    for (int rep = 0; rep < 300; rep++) {
        long n = iters;
        unsigned long acc = 0;
        double t0 = now_s();
        __asm__ volatile("1:\n\t"
                         "add $1, %[a]\n\tadd $1, %[a]\n\tadd $1, %[a]\n\tadd $1, %[a]\n\t"
                         "add $1, %[a]\n\tadd $1, %[a]\n\tadd $1, %[a]\n\tadd $1, %[a]\n\t"
                         "add $1, %[a]\n\tadd $1, %[a]\n\t"
                         "dec %[n]\n\t"
                         "jnz 1b\n\t"
                         : [a] "+r"(acc), [n] "+r"(n));
        double ghz = 10.0 * iters / (now_s() - t0) / 1e9;
        if (ghz > best)
            best = ghz;
    }
    return best;
#else
    return 0;
#endif
}

static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            const char *c = strchr(line, ':');
            if (c) {
                snprintf(buf, len, "%s", c + 2);
                buf[strcspn(buf, "\n")] = 0;
            }
            break;
        }
    fclose(f);
}

/* ---- (a) GEMM ---- */
typedef struct {
    int M, N, K;
    CBLAS_TRANSPOSE ta, tb;
    const float *A, *B;
    float *C;
} gemm_ctx;

static void run_gemm(void *v)
{
    gemm_ctx *g = v;
    int lda = g->ta == CblasNoTrans ? g->K : g->M;
    int ldb = g->tb == CblasNoTrans ? g->N : g->K;
    cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->M, g->N, g->K, 1, g->A, lda, g->B, ldb, 1, g->C,
                g->N);
}

/* ---- (a2) synthesis GEMMs: nn_sgemm's versions against cblas_sgemm, one thread ---- */
typedef struct {
    int M, N, K;
    nn_sgemm_fn f; /* NULL: cblas_sgemm */
    const float *A, *B;
    float *C;
} sgemm_ctx;

static void run_sgemm(void *v)
{
    sgemm_ctx *g = v;
    if (g->f)
        g->f(0, 0, g->M, g->N, g->K, 1, g->A, g->K, g->B, g->N, 1, g->C, g->N);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->M, g->N, g->K, 1, g->A, g->K,
                    g->B, g->N, 1, g->C, g->N);
}

/* ---- (b) streaming ---- */
/* nn_qgemm8 (the vocoder's products in 8-bit integers), the rows quantized each call as
 * the layer does (nn_q8_rows), or the product alone */
typedef void (*qgemm8_fn)(int, int, int, const int8_t *, int, const float *, const int8_t *,
                          const float *, const int32_t *, float *, int);
typedef struct {
    int M, N, K, with_rows;
    qgemm8_fn f;
    const float *x;
    int8_t *A, *Bp;
    float *sa, *sb, *C;
    int32_t *bsum;
} qgemm8_ctx;

static void run_qgemm8(void *v)
{
    qgemm8_ctx *g = v;
    if (g->with_rows)
        nn_q8_rows(g->x, g->M, g->K, g->K, g->A, g->K, g->sa);
    g->f(g->M, g->N, g->K, g->A, g->K, g->sa, g->Bp, g->sb, g->bsum, g->C, g->N);
}

typedef struct {
    int Cin, Cout, nmat, cur;
    const float *x;
    const float *W; /* nmat matrices of Cin*Cout, used round-robin */
    float *y;
    int which; /* 0 scalar, 1 avx2, 2 cblas_sgemv (same work), 3 matvec scalar,
                  4 matvec avx2, 5 vecmat_q8 scalar, 6 vecmat_q8 avx2 */
    const int8_t *Q; /* the same as int8 codes, and their block scales */
    const float *S;
} vm_ctx;

static void run_vm(void *v)
{
    vm_ctx *c = v;
    size_t at = (size_t)c->cur * c->Cin * c->Cout;
    const float *W = c->W + at;
    const int8_t *Q = c->Q + at;
    const float *S = c->S + at / NN_VECMAT_Q8_BLOCK;
    if (++c->cur == c->nmat)
        c->cur = 0;
    switch (c->which) {
    case 0:
        nn_vecmat_scalar(c->y, c->x, W, c->Cin, c->Cout);
        break;
#ifdef NN_HAVE_AVX2_KERNELS
    case 1:
        nn_vecmat_avx2(c->y, c->x, W, c->Cin, c->Cout);
        break;
    case 4:
        nn_matvec_avx2(c->y, W, c->x, c->Cout, c->Cin);
        break;
    case 6:
        nn_vecmat_q8_avx2(c->y, c->x, Q, S, c->Cin, c->Cout);
        break;
#endif
    case 5:
        nn_vecmat_q8_scalar(c->y, c->x, Q, S, c->Cin, c->Cout);
        break;
    case 2:
        cblas_sgemv(CblasRowMajor, CblasTrans, c->Cin, c->Cout, 1, W, c->Cout, c->x, 1, 1, c->y, 1);
        break;
    case 3:
        nn_matvec_scalar(c->y, W, c->x, c->Cout, c->Cin);
        break;
    }
}

typedef struct {
    int n, which; /* 0 tanh, 1 sigmoid, 2 gated */
    int simd;
    const float *a, *b;
    float *y;
} ew_ctx;

static void run_ew(void *v)
{
    ew_ctx *c = v;
    nn_simd_set(c->simd ? NN_SIMD_AVX2 : NN_SIMD_SCALAR);
    if (c->which == 0)
        nn_vtanh(c->y, c->a, c->n);
    else if (c->which == 1)
        nn_vsigmoid(c->y, c->a, c->n);
    else
        nn_vgated(c->y, c->a, c->b, c->n);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
        RUNS = 3;
        MIN_RUN_S = 0.01;
    }
    uint64_t rng = 7;
    char fsrc[160], model[256];
    double ghz = cpu_ghz(fsrc, sizeof fsrc);
    int ncores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    cpu_model(model, sizeof model);
    double peak_core = ghz * 2 * 8 * 2; /* GFLOP/s: 2 FMA units x 8 floats x 2 flops */
    double mghz = measured_ghz(), mpeak_core = mghz * 2 * 8 * 2;
    if (mpeak_core <= 0)
        mpeak_core = peak_core;
    int have_avx2 = nn_simd_detect() >= NN_SIMD_AVX2;

    printf("## bench_kernels\n\n");
    printf("CPU: %s, %d cores online. Kernel level: %s.\n\n", model, ncores,
           nn_simd_name(nn_simd_detect()));
    printf("- Nominal clock %.3f GHz, from %s.\n", ghz, fsrc);
    printf("- Measured clock %.2f GHz (chain of dependent integer adds, 1 per cycle, best of "
           "300 sub-millisecond samples: the clock the core runs at, boost included).\n",
           mghz);
    printf("- Peak (fp32, AVX2 FMA) = cores x clock x 2 FMA units x 8 floats x 2 flops: "
           "nominal **%.1f GFLOP/s** (%d x %.1f per core); at the measured clock **%.1f** "
           "(%d x %.1f). %%-of-peak columns use the measured clock (nominal in brackets).\n",
           peak_core * ncores, ncores, peak_core, mpeak_core * ncores, ncores, mpeak_core);
    printf("- Each figure: median of %d runs of >= %.0f ms; in brackets after GFLOP/s, the "
           "fastest of those and of 100 bursts of ~1 ms (uncontended speed).\n",
           RUNS, MIN_RUN_S * 1e3);
    double load1 = -1;
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf", &load1) != 1)
            load1 = -1;
        fclose(lf);
    }
    printf("- Load average (1 min) at start: %.2f on %d cores%s\n\n", load1, ncores,
           load1 > 0.5 ? " -- other processes share the cores, so medians (2 threads most of "
                         "all) are pessimistic; the fastest run is the better guide" : "");
    printf("OpenBLAS: %s\n\n", openblas_get_config());

    /* (a) training GEMMs */
    printf("### (a) training path: cblas_sgemm, conv layer over T=200 frames, one tap\n\n");
    printf("| GEMM (row-major) | M x N x K | threads | ms | GFLOP/s (best) | %% of peak, "
           "those cores (nominal) |\n");
    printf("|---|---|---:|---:|---:|---:|\n");
    struct {
        const char *what;
        int M, N, K;
        CBLAS_TRANSPOSE ta, tb;
    } gs[] = {
        {"fwd  y[200x512] += x[200x256] W[256x512]", 200, 512, 256, CblasNoTrans, CblasNoTrans},
        {"dW   W[256x512] += x^T[256x200] dy[200x512]", 256, 512, 200, CblasTrans, CblasNoTrans},
        {"dx   x[200x256] += dy[200x512] W^T[512x256]", 200, 256, 512, CblasNoTrans, CblasTrans},
        {"fwd  y[200x256] += x[200x128] W[128x256]", 200, 256, 128, CblasNoTrans, CblasNoTrans},
        {"fwd  y[200x512] += x[200x512] W[512x512]", 200, 512, 512, CblasNoTrans, CblasNoTrans},
        {"fwd  y[200x160] += x[200x80] W[80x160] (mel in)", 200, 160, 80, CblasNoTrans,
         CblasNoTrans},
    };
    for (size_t i = 0; i < sizeof gs / sizeof gs[0]; i++) {
        gemm_ctx g = {gs[i].M, gs[i].N, gs[i].K, gs[i].ta, gs[i].tb, NULL, NULL, NULL};
        float *A = rand_buf((size_t)g.M * g.K, &rng), *B = rand_buf((size_t)g.K * g.N, &rng);
        float *C = rand_buf((size_t)g.M * g.N, &rng);
        g.A = A;
        g.B = B;
        g.C = C;
        for (int th = 1; th <= (ncores < 2 ? 1 : 2); th++) {
            openblas_set_num_threads(th);
            double sb, s = time_median(run_gemm, &g, &sb);
            double gf = 2.0 * g.M * g.N * g.K / s / 1e9, gfb = 2.0 * g.M * g.N * g.K / sb / 1e9;
            printf("| %s | %d x %d x %d | %d | %.3f | %.1f (%.1f) | %.0f%% (%.0f%%) |\n",
                   gs[i].what, g.M, g.N, g.K, th, s * 1e3, gf, gfb, 100 * gf / (mpeak_core * th),
                   100 * gf / (peak_core * th));
        }
        free(A);
        free(B);
        free(C);
    }
    openblas_set_num_threads(1);

    /* (b) streaming */
    /* (a2) the GEMMs of synthesis: libtts's own kernels, each level, and OpenBLAS's */
    printf("\n### (a2) synthesis path: nn_sgemm (libtts's kernels) against cblas_sgemm, one "
           "thread\n\n");
    printf("| GEMM (row-major, plain) | M x N x K | kernel | us | GFLOP/s (best) | %% of one "
           "core's peak |\n|---|---|---|---:|---:|---:|\n");
    struct {
        const char *what;
        int M, N, K;
    } ss[] = {
        {"vocoder layer tap: one block (50 steps) x 2C, C = 48", 50, 96, 48},
        {"vocoder output: one block x (C + skip)", 50, 112, 48},
        {"text encoder tap: 60 tokens, 128 -> 256", 60, 256, 128},
        {"decoder step, post-net tap: 8 frames, 80 -> 256", 8, 256, 80},
    };
    openblas_set_num_threads(1);
    for (size_t i = 0; i < sizeof ss / sizeof ss[0]; i++) {
        float *A = rand_buf((size_t)ss[i].M * ss[i].K, &rng);
        float *B = rand_buf((size_t)ss[i].K * ss[i].N, &rng);
        float *C = rand_buf((size_t)ss[i].M * ss[i].N, &rng);
        struct { const char *name; nn_sgemm_fn f; int level; } ks[] = {
            {"nn_sgemm scalar", nn_sgemm_scalar, NN_SIMD_SCALAR},
#ifdef NN_HAVE_AVX2_KERNELS
            {"nn_sgemm avx2", nn_sgemm_avx2, NN_SIMD_AVX2},
            {"nn_sgemm avx512", nn_sgemm_avx512, NN_SIMD_AVX512},
#endif
#ifdef NN_HAVE_NEON_KERNELS
            {"nn_sgemm neon", nn_sgemm_neon, NN_SIMD_NEON},
#endif
            {"cblas_sgemm", NULL, 0},
        };
        for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
            if (ks[k].f && ks[k].level > (int)nn_simd_detect())
                continue;
            sgemm_ctx g = {ss[i].M, ss[i].N, ss[i].K, ks[k].f, A, B, C};
            double sb, t = time_median(run_sgemm, &g, &sb);
            double fl = 2.0 * g.M * g.N * g.K;
            printf("| %s | %d x %d x %d | %s | %.2f | %.1f (%.1f) | %.0f%% |\n", ss[i].what, g.M,
                   g.N, g.K, ks[k].name, t * 1e6, fl / t / 1e9, fl / sb / 1e9,
                   100 * fl / t / 1e9 / mpeak_core);
        }
        free(A);
        free(B);
        free(C);
    }

    /* (a3) the vocoder's products in 8-bit integers */
    printf("\n### (a3) the vocoder's products in 8-bit integers (nn_qgemm8), one thread\n\n"
           "GFLOP/s counts 2 M N K as for float; *+ rows*: with the rows quantized (nn_q8_rows) "
           "as the layer does each call.\n\n");
    printf("| M x N x K | kernel | us | GFLOP/s (best) | %% of one core's float peak | us + rows "
           "|\n|---|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < 2; i++) {
        int M = ss[i].M, N = ss[i].N, K = ss[i].K;
        float *x = rand_buf((size_t)M * K, &rng), *W = rand_buf((size_t)K * N, &rng);
        float *C = rand_buf((size_t)M * N, &rng), sa[64], sb[128];
        int32_t bsum[128];
        int8_t *A = malloc((size_t)M * K), *Bp = malloc(nn_qgemm8_packed_size(K, N));
        nn_q8_rows(x, M, K, K, A, K, sa);
        nn_qgemm8_pack(W, K, N, N, Bp, sb, bsum);
        struct { const char *name; qgemm8_fn f; int ok; } ks[] = {
            {"nn_qgemm8 scalar", nn_qgemm8_scalar, 1},
#if defined(__x86_64__)
            {"nn_qgemm8 avx2", nn_qgemm8_avx2, nn_simd_detect() >= NN_SIMD_AVX2},
            {"nn_qgemm8 vnni", nn_qgemm8_vnni, nn_simd_detect() >= NN_SIMD_AVX2 && nn_have_vnni()},
#endif
#if defined(__aarch64__)
            {"nn_qgemm8 neon", nn_qgemm8_neon, 1},
#endif
        };
        for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
            if (!ks[k].ok)
                continue;
            nn_simd_set(strstr(ks[k].name, "scalar") ? NN_SIMD_SCALAR : nn_simd_detect());
            qgemm8_ctx g = {M, N, K, 0, ks[k].f, x, A, Bp, sa, sb, C, bsum};
            double best, t = time_median(run_qgemm8, &g, &best);
            g.with_rows = 1;
            double b2, t2 = time_median(run_qgemm8, &g, &b2);
            double fl = 2.0 * M * N * K;
            printf("| %d x %d x %d | %s | %.2f | %.1f (%.1f) | %.0f%% | %.2f |\n", M, N, K,
                   ks[k].name, t * 1e6, fl / t / 1e9, fl / best / 1e9,
                   100 * fl / t / 1e9 / mpeak_core, t2 * 1e6);
        }
        nn_simd_set(nn_simd_detect() > NN_SIMD_AVX2 ? NN_SIMD_AVX2 : nn_simd_detect());
        free(x), free(W), free(C), free(A), free(Bp);
    }

    printf("\n### (b) streaming path: one frame, one tap, y[Cout] += x[Cin]^T W[Cin][Cout], "
           "1 thread\n\n");
    printf("GFLOP/s = 2 Cin Cout / time per call. *hot*: the same W every call (L1/L2). "
           "*L3*: calls rotate over 8 MiB of distinct W (a small network's weights: beyond L2, "
           "within L3). *DRAM*: over 64 MiB. nn_matvec does the same work from W^T. *scalar* is "
           "the portable C, which the compiler vectorizes for the base target (SSE2 on "
           "x86-64, no FMA).\n\n");
    printf("| kernel | Cin x Cout | ns/call hot | GFLOP/s hot (best) | %% of 1-core peak "
           "(nominal) | GFLOP/s L3 | GFLOP/s DRAM |\n");
    printf("|---|---|---:|---:|---:|---:|---:|\n");
    const int shapes[][2] = {{64, 128}, {128, 256}, {192, 384}, {256, 512}};
    const char *names[] = {"nn_vecmat scalar", "nn_vecmat avx2", "cblas_sgemv (OpenBLAS, same work)",
                           "nn_matvec scalar", "nn_matvec avx2", "nn_vecmat_q8 scalar (int8 W)",
                           "nn_vecmat_q8 avx2 (int8 W)"};
    const size_t pool_bytes[3] = {0, 8u << 20, 64u << 20};
    for (int s = 0; s < 4; s++) {
        int Cin = shapes[s][0], Cout = shapes[s][1];
        size_t per = (size_t)Cin * Cout, nw = (pool_bytes[2] / sizeof(float) / per) * per;
        float *W = rand_buf(nw, &rng);
        float *x = rand_buf(Cin, &rng), *y = rand_buf(Cout > Cin ? Cout : Cin, &rng);
        int8_t *Q = malloc(nw);
        float *S = rand_buf(nw / NN_VECMAT_Q8_BLOCK + 1, &rng);
        if (!Q) {
            fprintf(stderr, "bench_kernels: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < nw; i++)
            Q[i] = (int8_t)((int)(nn_rand_u64(&rng) % 255) - 127);
        for (int which = 0; which < 7; which++) {
            if ((which == 1 || which == 4 || which == 6) && !have_avx2)
                continue;
            double gf[3], gfb = 0, ns_hot = 0;
            for (int pool = 0; pool < 3; pool++) {
                /* the int8 kernels rotate over as many matrices: a quarter of the bytes */
                int nmat = pool ? (int)(pool_bytes[pool] / sizeof(float) / per) : 1;
                vm_ctx c = {Cin, Cout, nmat, 0, x, W, y, which, Q, S};
                double sb, sec = time_median(run_vm, &c, &sb);
                gf[pool] = 2.0 * Cin * Cout / sec / 1e9;
                if (!pool) {
                    ns_hot = sec * 1e9;
                    gfb = 2.0 * Cin * Cout / sb / 1e9;
                }
            }
            printf("| %s | %d x %d | %.0f | %.1f (%.1f) | %.0f%% (%.0f%%) | %.1f | %.1f |\n",
                   names[which], Cin, Cout, ns_hot, gf[0], gfb, 100 * gf[0] / mpeak_core,
                   100 * gf[0] / peak_core, gf[1], gf[2]);
        }
        free(W);
        free(x);
        free(y);
        free(Q);
        free(S);
    }

    /* element-wise */
    printf("\n### element-wise gates (n = 256, 1 thread)\n\n");
    printf("| kernel | scalar ns/call | avx2 ns/call | speed-up |\n");
    printf("|---|---:|---:|---:|\n");
    const char *ewn[] = {"nn_vtanh", "nn_vsigmoid", "nn_vgated"};
    float *a = rand_buf(256, &rng), *b = rand_buf(256, &rng), *y = rand_buf(256, &rng);
    for (int i = 0; i < 256; i++)
        a[i] *= 6, b[i] *= 6;
    for (int which = 0; which < 3; which++) {
        ew_ctx c = {256, which, 0, a, b, y};
        double ts = time_median(run_ew, &c, NULL), tv = 0;
        if (have_avx2) {
            c.simd = 1;
            tv = time_median(run_ew, &c, NULL);
        }
        printf("| %s | %.0f | %.0f | %.1fx |\n", ewn[which], ts * 1e9, tv * 1e9,
               tv > 0 ? ts / tv : 0);
    }
    nn_simd_set(nn_simd_detect());
    free(a);
    free(b);
    free(y);
    return 0;
}
