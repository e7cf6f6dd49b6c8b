/*
 * nn/kernels.h: every SIMD kernel against its scalar twin and against a double-precision
 * reference, on odd sizes and unaligned pointers, with guard zones around every output;
 * the fast tanh/sigmoid against libm (double) over a dense sweep and special values; the
 * TTS_SIMD dispatch; and a streaming causal-conv step built from nn_vecmat against
 * conv1d_step_f. Prints each check's name and max error; exits 1 on any failure.
 */
#include "nn/gemm.h"
#include "nn/kernels.h"
#include "nn/layers.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_fail, g_checks;

static void report(const char *name, double err, double tol)
{
    int ok = err <= tol; /* NaN fails */
    g_checks++;
    if (!ok)
        g_fail++;
    printf("%-4s %-58s max err %.3e  (tol %.1e)\n", ok ? "ok" : "FAIL", name, err, tol);
}

static void report_bool(const char *name, int ok)
{
    g_checks++;
    if (!ok)
        g_fail++;
    printf("%-4s %s\n", ok ? "ok" : "FAIL", name);
}

static const int sizes[] = {1, 7, 8, 9, 63, 64, 65, 257};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))
static const int offsets[] = {0, 1, 3}; /* in floats: 4 and 12 bytes off a 64-byte line */
#define NOFFS 3
#define GUARD 16
#define SENTINEL 1234.5f

static uint64_t g_rng = 42;
static float frand(void) { return (float)(2 * nn_rand_uniform(&g_rng) - 1); }

/* buffer of n floats at byte offset 4*off from a 64-byte boundary, with GUARD sentinel
 * floats either side */
typedef struct {
    float *base, *p;
    int n;
} gbuf;

static gbuf gb_new(int n, int off)
{
    gbuf b;
    size_t total = (size_t)n + 2 * GUARD + 16;
    b.base = aligned_alloc(64, ((total * sizeof(float)) + 63) & ~(size_t)63);
    if (!b.base) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < total; i++)
        b.base[i] = SENTINEL;
    b.p = b.base + GUARD + off;
    b.n = n;
    return b;
}
static void gb_rand(gbuf *b, float scale)
{
    for (int i = 0; i < b->n; i++)
        b->p[i] = scale * frand();
}
static int gb_guards_ok(const gbuf *b)
{
    for (int i = 1; i <= GUARD; i++)
        if (b->p[-i] != SENTINEL || b->p[b->n + i - 1] != SENTINEL)
            return 0;
    return 1;
}
static void gb_free(gbuf *b) { free(b->base); }

typedef void (*vecmat_fn)(float *, const float *, const float *, int, int);
typedef void (*act_fn)(float *, const float *, int);
typedef void (*gated_fn)(float *, const float *, const float *, int);

/* ---- y += x^T W and y += W x: SIMD vs scalar vs double ------------------------------- */
/* err is |y - ref| / (|y0| + sum |terms|): for n terms a float sum is within ~n * 2^-24 of
 * that; we allow (n + 2) * 2^-24 per kernel, twice that between the two kernels */
static void check_linear(int transposed)
{
    const char *kname = transposed ? "vecmat" : "matvec";
    double worst_s = 0, worst_v = 0, worst_sv = 0, worst_bound_ratio = 0;
    int guards = 1, ok_all = 1;
    char where[128] = "";
    for (int a = 0; a < NSIZES; a++)
        for (int bsz = 0; bsz < NSIZES; bsz++)
            for (int o = 0; o < NOFFS; o++) {
                int nin = sizes[a], nout = sizes[bsz]; /* Cin, Cout  or  cols, rows */
                int off = offsets[o], off2 = offsets[(o + 1) % NOFFS];
                gbuf x = gb_new(nin, off), W = gb_new(nin * nout, off2);
                gbuf y0 = gb_new(nout, off), ys = gb_new(nout, off2), yv = gb_new(nout, off);
                gb_rand(&x, 1);
                gb_rand(&W, 1);
                gb_rand(&y0, 1);
                memcpy(ys.p, y0.p, sizeof(float) * nout);
                memcpy(yv.p, y0.p, sizeof(float) * nout);
                if (transposed) {
                    nn_vecmat_scalar(ys.p, x.p, W.p, nin, nout);
#ifdef NN_HAVE_AVX2_KERNELS
                    if (nn_simd_detect() >= NN_SIMD_AVX2)
                        nn_vecmat_avx2(yv.p, x.p, W.p, nin, nout);
                    else
#endif
#ifdef NN_HAVE_NEON_KERNELS
                    if (nn_simd_detect() == NN_SIMD_NEON)
                        nn_vecmat_neon(yv.p, x.p, W.p, nin, nout);
                    else
#endif
                        nn_vecmat_scalar(yv.p, x.p, W.p, nin, nout);
                } else {
                    nn_matvec_scalar(ys.p, W.p, x.p, nout, nin);
#ifdef NN_HAVE_AVX2_KERNELS
                    if (nn_simd_detect() >= NN_SIMD_AVX2)
                        nn_matvec_avx2(yv.p, W.p, x.p, nout, nin);
                    else
#endif
#ifdef NN_HAVE_NEON_KERNELS
                    if (nn_simd_detect() == NN_SIMD_NEON)
                        nn_matvec_neon(yv.p, W.p, x.p, nout, nin);
                    else
#endif
                        nn_matvec_scalar(yv.p, W.p, x.p, nout, nin);
                }
                double tol1 = (nin + 2) * ldexp(1, -24);
                for (int j = 0; j < nout; j++) {
                    double ref = y0.p[j], mag = fabs(y0.p[j]);
                    for (int i = 0; i < nin; i++) {
                        double w = transposed ? W.p[(size_t)i * nout + j] : W.p[(size_t)j * nin + i];
                        ref += (double)x.p[i] * w;
                        mag += fabs((double)x.p[i] * w);
                    }
                    double es = fabs(ys.p[j] - ref) / mag, ev = fabs(yv.p[j] - ref) / mag;
                    double esv = fabs((double)ys.p[j] - yv.p[j]) / mag;
                    if (!(es <= tol1 && ev <= tol1 && esv <= 2 * tol1)) {
                        if (ok_all)
                            snprintf(where, sizeof where, " first failure: in=%d out=%d off=%d j=%d",
                                     nin, nout, off, j);
                        ok_all = 0;
                    }
                    worst_s = fmax(worst_s, es);
                    worst_v = fmax(worst_v, ev);
                    worst_sv = fmax(worst_sv, esv);
                    worst_bound_ratio = fmax(worst_bound_ratio, fmax(fmax(es, ev), esv / 2) / tol1);
                }
                guards &= gb_guards_ok(&ys) && gb_guards_ok(&yv);
                gb_free(&x);
                gb_free(&W);
                gb_free(&y0);
                gb_free(&ys);
                gb_free(&yv);
            }
    char name[256];
    snprintf(name, sizeof name, "%s scalar vs double (x sum|terms|)", kname);
    report(name, worst_s, 259 * ldexp(1, -24));
    snprintf(name, sizeof name, "%s %s vs double (x sum|terms|)", kname,
             nn_simd_name(nn_simd_detect()));
    report(name, worst_v, 259 * ldexp(1, -24));
    snprintf(name, sizeof name, "%s %s vs scalar (x sum|terms|)", kname,
             nn_simd_name(nn_simd_detect()));
    report(name, worst_sv, 2 * 259 * ldexp(1, -24));
    snprintf(name, sizeof name, "%s per-size bound (n+2)*2^-24 respected%s", kname, where);
    report(name, worst_bound_ratio, 1.0);
    snprintf(name, sizeof name, "%s writes nothing outside y (guard zones), all sizes/offsets",
             kname);
    report_bool(name, guards);
}

/* ---- element-wise: SIMD vs scalar on odd sizes, unaligned, in place -------------------- */
static void check_elementwise_sizes(const char *kname, act_fn fs, act_fn fv, gated_fn gs,
                                    gated_fn gv, double tol)
{
    double worst = 0;
    int guards = 1, inplace_ok = 1;
    for (int a = 0; a < NSIZES; a++)
        for (int o = 0; o < NOFFS; o++) {
            int n = sizes[a], off = offsets[o], off2 = offsets[(o + 2) % NOFFS];
            gbuf x = gb_new(n, off), b = gb_new(n, off2), ys = gb_new(n, off2), yv = gb_new(n, off);
            gb_rand(&x, 12);
            gb_rand(&b, 12);
            if (fs) {
                fs(ys.p, x.p, n);
                fv(yv.p, x.p, n);
            } else {
                gs(ys.p, x.p, b.p, n);
                gv(yv.p, x.p, b.p, n);
            }
            for (int i = 0; i < n; i++)
                worst = fmax(worst, fabs((double)ys.p[i] - yv.p[i]));
            guards &= gb_guards_ok(&ys) && gb_guards_ok(&yv);
            /* in place: y == x (and y == b for gated) gives the same values */
            gbuf ip = gb_new(n, off);
            memcpy(ip.p, x.p, sizeof(float) * n);
            if (fv) {
                fv(ip.p, ip.p, n);
            } else {
                gv(ip.p, ip.p, b.p, n);
            }
            inplace_ok &= memcmp(ip.p, yv.p, sizeof(float) * n) == 0 && gb_guards_ok(&ip);
            if (gv) {
                memcpy(ip.p, b.p, sizeof(float) * n);
                gv(ip.p, x.p, ip.p, n);
                inplace_ok &= memcmp(ip.p, yv.p, sizeof(float) * n) == 0;
            }
            gb_free(&ip);
            gb_free(&x);
            gb_free(&b);
            gb_free(&ys);
            gb_free(&yv);
        }
    char name[256];
    snprintf(name, sizeof name, "%s %s vs scalar, sizes 1..257, unaligned (abs)", kname,
             nn_simd_name(nn_simd_detect()));
    report(name, worst, tol);
    snprintf(name, sizeof name, "%s writes nothing outside y (guard zones)", kname);
    report_bool(name, guards);
    snprintf(name, sizeof name, "%s in place (y aliases an input) gives the same values", kname);
    report_bool(name, inplace_ok);
}

/* ---- accuracy vs libm in double: dense sweep + special values ------------------------- */
static double ref_sigmoid(double x) { return 1 / (1 + exp(-x)); }

#define SWEEP_LO (-30.0)
#define SWEEP_HI 30.0
#define SWEEP_STEP (1.0 / 8192) /* ~492k points, exactly representable */

static const float specials[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-40f, -1e-40f, 0.625f, -0.625f,
                                 0.62499994f, -0.62499994f, 1e-4f, 0.3f, 1.0f, 5.0f, 9.0f, 15.0f,
                                 -15.0f, 20.0f, -20.0f, 40.0f, -40.0f, 87.0f, -87.0f, 88.7f,
                                 -88.7f, 100.0f, -100.0f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX};
#define NSPECIALS ((int)(sizeof specials / sizeof specials[0]))

/* abs and relative error of f over the sweep and the specials; rel only where |ref| >=
 * 1e-30 (below that the float result is denormal or clamped) */
static void accuracy(act_fn f, double (*ref)(double), double *abs_err, double *rel_err)
{
    int n = (int)((SWEEP_HI - SWEEP_LO) / SWEEP_STEP) + 1 + NSPECIALS;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    if (!x || !y)
        exit(1);
    int k = 0;
    for (; k < n - NSPECIALS; k++)
        x[k] = (float)(SWEEP_LO + k * SWEEP_STEP);
    for (int s = 0; s < NSPECIALS; s++)
        x[k++] = specials[s];
    f(y, x, n);
    double ea = 0, er = 0;
    for (int i = 0; i < n; i++) {
        double r = ref(x[i]), d = fabs(y[i] - r);
        ea = fmax(ea, d);
        if (fabs(r) >= 1e-30)
            er = fmax(er, d / fabs(r));
        else
            er = fmax(er, d > 1e-30 ? 1.0 : 0.0);
    }
    *abs_err = ea;
    *rel_err = er;
    free(x);
    free(y);
}

static void gated_accuracy(gated_fn f, double *abs_err, double *rel_err)
{
    const int m = 2001; /* a, b on [-10, 10] step 0.01, plus */
    int n = m * m;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n),
          *y = malloc(sizeof(float) * n);
    if (!a || !b || !y)
        exit(1);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            a[i * m + j] = (float)(-10 + 0.01 * i);
            b[i * m + j] = (float)(-10 + 0.01 * j);
        }
    f(y, a, b, n);
    double ea = 0, er = 0;
    for (int i = 0; i < n; i++) {
        double r = tanh(a[i]) * ref_sigmoid(b[i]), d = fabs(y[i] - r);
        ea = fmax(ea, d);
        if (fabs(r) >= 1e-30)
            er = fmax(er, d / fabs(r));
    }
    *abs_err = ea;
    *rel_err = er;
    free(a);
    free(b);
    free(y);
}

static int special_semantics(act_fn th, act_fn sg, gated_fn gt)
{
    float in[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 3.0f, -3.0f, 0.5f};
    float t[8], s[8], g[8], ones[8];
    for (int i = 0; i < 8; i++)
        ones[i] = 1.0f;
    th(t, in, 8);
    sg(s, in, 8);
    gt(g, in, ones, 8);
    int ok = isnan(t[0]) && isnan(s[0]) && isnan(g[0]);
    ok &= t[1] == 1.0f && t[2] == -1.0f && s[1] == 1.0f && s[2] >= 0 && s[2] <= 2e-38f;
    ok &= t[3] == 0 && !signbit(t[3]) && t[4] == 0 && signbit(t[4]) && s[3] == 0.5f;
    ok &= t[5] == -t[6];                                 /* odd, bit for bit */
    ok &= fabs((double)s[5] + s[6] - 1) <= 2 * FLT_EPSILON; /* sigmoid(x) + sigmoid(-x) = 1 */
    for (int i = 1; i < 8; i++)
        ok &= t[i] >= -1 && t[i] <= 1 && s[i] >= 0 && s[i] <= 1;
    return ok;
}

static void check_activations(void)
{
    act_fn th_s = nn_vtanh_scalar, sg_s = nn_vsigmoid_scalar;
    gated_fn gt_s = nn_vgated_scalar;
    act_fn th_v = th_s, sg_v = sg_s;
    gated_fn gt_v = gt_s;
#ifdef NN_HAVE_AVX2_KERNELS
    if (nn_simd_detect() >= NN_SIMD_AVX2) {
        th_v = nn_vtanh_avx2;
        sg_v = nn_vsigmoid_avx2;
        gt_v = nn_vgated_avx2;
    }
#endif
#ifdef NN_HAVE_NEON_KERNELS
    th_v = nn_vtanh_neon;
    sg_v = nn_vsigmoid_neon;
    gt_v = nn_vgated_neon;
#endif
    const char *vn = nn_simd_name(nn_simd_detect());
    char name[256];
    double ea, er;

    /* bounds asserted for both versions (the scalar ones are libm). Measured on x86-64
     * (glibc 2.36, Zen 3): tanh abs 8.9e-8 rel 1.3e-7, sigmoid abs 8.9e-8 rel 2.0e-7,
     * gated abs 1.9e-7 rel 3.1e-7, i.e. 1.5-3 ulp of the result. */
    const double TANH_ABS = 1.5e-7, TANH_REL = 3e-7, SIG_ABS = 1.5e-7, SIG_REL = 3e-7,
                 GATED_ABS = 3e-7, GATED_REL = 5e-7;

    accuracy(th_s, tanh, &ea, &er);
    report("tanh scalar (libm) vs double tanh, abs", ea, TANH_ABS);
    report("tanh scalar (libm) vs double tanh, rel", er, TANH_REL);
    accuracy(th_v, tanh, &ea, &er);
    snprintf(name, sizeof name, "tanh %s vs double tanh, abs ([-30,30] + specials)", vn);
    report(name, ea, TANH_ABS);
    snprintf(name, sizeof name, "tanh %s vs double tanh, rel", vn);
    report(name, er, TANH_REL);

    accuracy(sg_s, ref_sigmoid, &ea, &er);
    report("sigmoid scalar (libm) vs double, abs", ea, SIG_ABS);
    report("sigmoid scalar (libm) vs double, rel", er, SIG_REL);
    accuracy(sg_v, ref_sigmoid, &ea, &er);
    snprintf(name, sizeof name, "sigmoid %s vs double, abs ([-30,30] + specials)", vn);
    report(name, ea, SIG_ABS);
    snprintf(name, sizeof name, "sigmoid %s vs double, rel", vn);
    report(name, er, SIG_REL);

    gated_accuracy(gt_s, &ea, &er);
    report("gated scalar (libm) vs double, abs", ea, GATED_ABS);
    report("gated scalar (libm) vs double, rel", er, GATED_REL);
    gated_accuracy(gt_v, &ea, &er);
    snprintf(name, sizeof name, "gated %s vs double, abs (a, b on [-10,10]^2)", vn);
    report(name, ea, GATED_ABS);
    snprintf(name, sizeof name, "gated %s vs double, rel", vn);
    report(name, er, GATED_REL);

    report_bool("scalar: NaN -> NaN, +-inf saturate, signed zero, odd, in range",
                special_semantics(th_s, sg_s, gt_s));
    snprintf(name, sizeof name, "%s: NaN -> NaN, +-inf saturate, signed zero, odd, in range", vn);
    report_bool(name, special_semantics(th_v, sg_v, gt_v));

    check_elementwise_sizes("tanh", th_s, th_v, NULL, NULL, 2 * TANH_ABS);
    check_elementwise_sizes("sigmoid", sg_s, sg_v, NULL, NULL, 2 * SIG_ABS);
    check_elementwise_sizes("gated", NULL, NULL, gt_s, gt_v, 2 * GATED_ABS);
}

/* ---- dispatch -------------------------------------------------------------------------- */
static void check_dispatch(void)
{
    /* main() set TTS_SIMD=scalar before any kernel ran */
    report_bool("TTS_SIMD=scalar selects the scalar path at the first call",
                nn_simd_get() == NN_SIMD_SCALAR);
    nn_simd_level best = nn_simd_detect();
    printf("     CPU best level: %s\n", nn_simd_name(best));
    report_bool("nn_simd_set(best) succeeds", nn_simd_set(best) == 0 && nn_simd_get() == best);
    report_bool("nn_simd_set(invalid) fails and changes nothing",
                nn_simd_set((nn_simd_level)7) == -1 && nn_simd_get() == best);

    /* the dispatching entry points call exactly the selected version */
    int ok = 1;
    const int Cin = 65, Cout = 63;
    float x[65], W[65 * 63], y1[65], y2[65], a[65], b[65];
    for (int i = 0; i < Cin * Cout; i++)
        W[i] = frand();
    for (int i = 0; i < Cin; i++)
        x[i] = a[i] = 4 * frand(), b[i] = 4 * frand();
    for (int lev = 0; lev <= NN_SIMD_NEON; lev++) {
        if (nn_simd_set((nn_simd_level)lev))
            continue; /* not on this CPU */
        memset(y1, 0, sizeof y1);
        memset(y2, 0, sizeof y2);
        nn_vecmat(y1, x, W, Cin, Cout);
        nn_matvec(y1 + 0, W, x, 0, Cin); /* zero rows: no-op */
#ifdef NN_HAVE_AVX2_KERNELS
        if (lev >= NN_SIMD_AVX2)
            nn_vecmat_avx2(y2, x, W, Cin, Cout);
        else
#endif
#ifdef NN_HAVE_NEON_KERNELS
        if (lev == NN_SIMD_NEON)
            nn_vecmat_neon(y2, x, W, Cin, Cout);
        else
#endif
            nn_vecmat_scalar(y2, x, W, Cin, Cout);
        ok &= memcmp(y1, y2, sizeof y1) == 0;
        nn_vgated(y1, a, b, Cin);
#ifdef NN_HAVE_AVX2_KERNELS
        if (lev >= NN_SIMD_AVX2)
            nn_vgated_avx2(y2, a, b, Cin);
        else
#endif
#ifdef NN_HAVE_NEON_KERNELS
        if (lev == NN_SIMD_NEON)
            nn_vgated_neon(y2, a, b, Cin);
        else
#endif
            nn_vgated_scalar(y2, a, b, Cin);
        ok &= memcmp(y1, y2, sizeof y1) == 0;
    }
    nn_simd_set(best);
    report_bool("dispatching kernels run exactly the selected version", ok);

    /* size 0 is a no-op for every kernel */
    float z = SENTINEL;
    nn_vecmat(&z, x, W, 0, 1);
    nn_vecmat(&z, x, W, 5, 0);
    nn_matvec(&z, W, x, 0, 5);
    nn_vtanh(&z, x, 0);
    nn_vsigmoid(&z, x, 0);
    nn_vgated(&z, a, b, 0);
    report_bool("size 0 writes nothing", z == SENTINEL);
}

/* ---- int8 weights: nn_vecmat_q8 == nn_vecmat on the dequantized weights, bit for bit,
 * at every level this CPU has (and the dispatching entry point == the level's own) ---- */
static void check_vecmat_q8(void)
{
    static const int cins[] = {1, 7, 8, 9, 13, 192, 385};
    static const int couts[] = {64, 128, 192, 384};
    int ok_levels = 1, ok_guard = 1, levels = 0;
    nn_simd_level best = nn_simd_get();
    for (int lev = 0; lev <= NN_SIMD_NEON; lev++) {
        if (nn_simd_set((nn_simd_level)lev) || lev == NN_SIMD_AVX512)
            continue; /* not on this CPU; avx512 runs the avx2 kernel */
        levels++;
        for (int a = 0; a < 7; a++)
            for (int b = 0; b < 4; b++) {
                int Cin = cins[a], Cout = couts[b];
                size_t n = (size_t)Cin * Cout, nb = n / NN_VECMAT_Q8_BLOCK;
                int8_t *Q = malloc(n);
                float *S = malloc(sizeof(float) * nb), *W = malloc(sizeof(float) * n);
                gbuf x = gb_new(Cin, 1), y1 = gb_new(Cout, 3), y2 = gb_new(Cout, 3);
                gbuf y3 = gb_new(Cout, 0);
                for (size_t k = 0; k < nb; k++)
                    S[k] = (float)(0.001 + 0.02 * nn_rand_uniform(&g_rng));
                for (size_t k = 0; k < n; k++) {
                    Q[k] = (int8_t)((int)(nn_rand_u64(&g_rng) % 255) - 127);
                    W[k] = (float)Q[k] * S[k / NN_VECMAT_Q8_BLOCK]; /* as nn_params_from_mf */
                }
                gb_rand(&x, 2);
                gb_rand(&y1, 1);
                memcpy(y2.p, y1.p, sizeof(float) * Cout);
                memcpy(y3.p, y1.p, sizeof(float) * Cout);
#ifdef NN_HAVE_AVX2_KERNELS
                if (lev == NN_SIMD_AVX2) {
                    nn_vecmat_avx2(y1.p, x.p, W, Cin, Cout);
                    nn_vecmat_q8_avx2(y2.p, x.p, Q, S, Cin, Cout);
                } else
#endif
#ifdef NN_HAVE_NEON_KERNELS
                if (lev == NN_SIMD_NEON) {
                    nn_vecmat_neon(y1.p, x.p, W, Cin, Cout);
                    nn_vecmat_q8_neon(y2.p, x.p, Q, S, Cin, Cout);
                } else
#endif
                {
                    nn_vecmat_scalar(y1.p, x.p, W, Cin, Cout);
                    nn_vecmat_q8_scalar(y2.p, x.p, Q, S, Cin, Cout);
                }
                nn_vecmat_q8(y3.p, x.p, Q, S, Cin, Cout);
                if (memcmp(y1.p, y2.p, sizeof(float) * Cout) ||
                    memcmp(y1.p, y3.p, sizeof(float) * Cout)) {
                    if (ok_levels)
                        printf("  %s %d x %d: int8 differs from the float kernel\n",
                               nn_simd_name((nn_simd_level)lev), Cin, Cout);
                    ok_levels = 0;
                }
                ok_guard &= gb_guards_ok(&y2) && gb_guards_ok(&y3);
                free(Q), free(S), free(W);
                free(x.base), free(y1.base), free(y2.base), free(y3.base);
            }
    }
    nn_simd_set(best);
    char name[96];
    snprintf(name, sizeof name, "vecmat_q8 == vecmat on dequantized W, bit for bit (%d levels)",
             levels);
    report_bool(name, ok_levels && levels >= 1);
    report_bool("vecmat_q8 writes nothing past y", ok_guard);
}

/* ---- a streaming causal-conv step from nn_vecmat == conv1d_step_f ---------------------- */
static void check_conv_step(void)
{
    const int Ks[] = {1, 2, 3, 4}, dils[] = {1, 2, 3};
    const int Cin = 37, Cout = 53, T = 25;
    double worst = 0;
    for (int ik = 0; ik < 4; ik++)
        for (int id = 0; id < 3; id++) {
            int K = Ks[ik], dil = dils[id], len = (K - 1) * dil;
            float *W = malloc(sizeof(float) * K * Cin * Cout), *bias = malloc(sizeof(float) * Cout);
            float *x = malloc(sizeof(float) * T * Cin);
            float *hist = calloc((size_t)(len > 0 ? len : 1) * Cin, sizeof(float));
            float *xs = calloc((size_t)(T + len) * Cin, sizeof(float)); /* zero-padded past */
            float y1[53], y2[53];
            for (int i = 0; i < K * Cin * Cout; i++)
                W[i] = frand();
            for (int i = 0; i < Cout; i++)
                bias[i] = frand();
            for (int i = 0; i < T * Cin; i++)
                x[i] = frand();
            memcpy(xs + (size_t)len * Cin, x, sizeof(float) * T * Cin);
            nn_conv_state st = {len > 0 ? hist : NULL, len, 0};
            for (int t = 0; t < T; t++) {
                conv1d_step_f(y1, x + (size_t)t * Cin, W, bias, Cin, Cout, K, dil, &st);
                memcpy(y2, bias, sizeof y2);
                for (int k = 0; k < K; k++)
                    nn_vecmat(y2, xs + (size_t)(t + k * dil) * Cin, W + (size_t)k * Cin * Cout,
                              Cin, Cout);
                for (int j = 0; j < Cout; j++)
                    worst = fmax(worst, fabs(y1[j] - y2[j]) / fmax(1, fabs(y1[j])));
            }
            free(W);
            free(bias);
            free(x);
            free(hist);
            free(xs);
        }
    report("conv step from nn_vecmat == conv1d_step_f (K 1-4, dil 1-3)", worst, 1e-5);
}

/* nn_sgemm: every version against a double-precision reference, over shapes with row and
 * column tails (1 .. 70 columns: the 16- and 32-wide blocks and their masks), both
 * transposes, leading dimensions past the row length (the gaps must stay untouched),
 * alpha and beta (beta 0 must not read C: it holds NaN there) */
typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *,
                        int, float, float *, int);

static double gemm_case(gemm_fn f, int ta, int tb, int M, int N, int K, float alpha,
                        float beta, int *guards_ok)
{
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 5;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb,
           nc = (size_t)M * ldc;
    float *A = malloc(sizeof *A * (na + 1)), *B = malloc(sizeof *B * (nb + 1)),
          *C = malloc(sizeof *C * (nc + 1));
    double *ref = malloc(sizeof *ref * (nc + 1)), err = 0;
    for (size_t i = 0; i < na; i++)
        A[i] = frand();
    for (size_t i = 0; i < nb; i++)
        B[i] = frand();
    for (size_t i = 0; i < nc; i++)
        C[i] = (i % ldc) < (size_t)N ? (beta == 0 ? NAN : frand()) : SENTINEL;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) {
                double p = (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                           (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                acc += p;
            }
            double c0 = beta == 0 ? 0 : C[(size_t)i * ldc + j];
            ref[(size_t)i * ldc + j] = alpha * acc + beta * c0;
        }
    f(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            if (j >= N) {
                *guards_ok &= C[at] == SENTINEL;
                continue;
            }
            /* relative to the size of the terms: K roundings of terms up to |a||b| <= 1 */
            double e = fabs(C[at] - ref[at]) / (K + 1.0);
            err = e > err || isnan(e) ? e : err;
        }
    free(A);
    free(B);
    free(C);
    free(ref);
    return err;
}

static void check_gemm(void)
{
    struct { const char *name; gemm_fn f; int level; } v[] = {
        {"scalar", nn_sgemm_scalar, NN_SIMD_SCALAR},
#if defined(__x86_64__)
        {"avx2", nn_sgemm_avx2, NN_SIMD_AVX2},
        {"avx512", nn_sgemm_avx512, NN_SIMD_AVX512},
#endif
#if defined(__aarch64__)
        {"neon", nn_sgemm_neon, NN_SIMD_NEON},
#endif
    };
    static const int Ms[] = {1, 3, 4, 5, 9, 33}, Ns[] = {1, 7, 8, 15, 16, 17, 31, 32, 33, 48, 70},
                     Ks[] = {1, 2, 17, 96};
    for (size_t w = 0; w < sizeof v / sizeof v[0]; w++) {
        if (nn_simd_set((nn_simd_level)v[w].level)) {
            printf("skip nn_sgemm_%s: this CPU lacks it\n", v[w].name);
            continue;
        }
        double err = 0;
        int guards = 1, cases = 0;
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (size_t mi = 0; mi < 6; mi++)
                    for (size_t ni = 0; ni < 11; ni++)
                        for (size_t ki = 0; ki < 4; ki++) {
                            float alpha = (cases % 3) ? 1.0f : -0.75f;
                            float beta = (cases % 4) == 0 ? 0.0f : (cases % 4) == 1 ? 1.0f : 0.5f;
                            double e = gemm_case(v[w].f, ta, tb, Ms[mi], Ns[ni], Ks[ki], alpha,
                                                 beta, &guards);
                            err = e > err || isnan(e) ? e : err;
                            cases++;
                        }
        char name[96];
        snprintf(name, sizeof name, "nn_sgemm_%s vs double, %d shapes (error / K)", v[w].name,
                 cases);
        report(name, err, 4 * FLT_EPSILON);
        snprintf(name, sizeof name, "nn_sgemm_%s leaves C's gaps and beta-0 NaNs alone",
                 v[w].name);
        report_bool(name, guards);
    }
    /* K 0 and alpha 0: C = beta C; M or N 0: nothing */
    float C[4] = {1, 2, 3, 4}, A[4] = {1, 1, 1, 1};
    nn_sgemm(0, 0, 2, 2, 0, 1, A, 2, A, 2, 0.5f, C, 2);
    int ok = C[0] == 0.5f && C[3] == 2;
    nn_sgemm(0, 0, 0, 2, 2, 1, A, 2, A, 2, 0, C, 2);
    nn_sgemm(0, 0, 2, 0, 2, 1, A, 2, A, 2, 0, C, 2);
    ok &= C[0] == 0.5f && C[3] == 2;
    report_bool("nn_sgemm: K 0 scales C by beta; M or N 0 leave it", ok);
    /* the dispatch, and a routed implementation */
    for (int lev = 0; lev <= NN_SIMD_NEON; lev++) {
        if (nn_simd_set((nn_simd_level)lev))
            continue;
        float x[6 * 40], y1[6 * 40], y2[6 * 40], wts[40 * 40];
        for (int i = 0; i < 240; i++)
            x[i] = frand();
        for (int i = 0; i < 1600; i++)
            wts[i] = frand();
        nn_sgemm(0, 0, 6, 40, 40, 1, x, 40, wts, 40, 0, y1, 40);
        gemm_fn f = lev == NN_SIMD_SCALAR ? nn_sgemm_scalar : NULL;
#if defined(__x86_64__)
        f = lev == NN_SIMD_AVX2 ? nn_sgemm_avx2 : lev == NN_SIMD_AVX512 ? nn_sgemm_avx512 : f;
#endif
#if defined(__aarch64__)
        f = lev == NN_SIMD_NEON ? nn_sgemm_neon : f;
#endif
        f(0, 0, 6, 40, 40, 1, x, 40, wts, 40, 0, y2, 40);
        char name[80];
        snprintf(name, sizeof name, "nn_sgemm at level %s runs nn_sgemm_%s",
                 nn_simd_name((nn_simd_level)lev), nn_simd_name((nn_simd_level)lev));
        report_bool(name, !memcmp(y1, y2, sizeof y1));
    }
    nn_simd_set(nn_simd_detect());
}

/* nn_qgemm8: every version bit for bit the scalar one (integer sums, the same float
 * steps), over shapes with row and column tails; the scalar one within the codes' error of
 * the float product; the quantizers: the same codes and scales in every version, zero,
 * NaN and infinite rows */
typedef void (*qgemm_fn)(int, int, int, const int8_t *, int, const float *, const int8_t *,
                         const float *, const int32_t *, float *, int);

static void check_qgemm8(void)
{
    struct { const char *name; qgemm_fn f; int level; } v[] = {
#if defined(__x86_64__)
        {"avx2", nn_qgemm8_avx2, NN_SIMD_AVX2},
        {"vnni", nn_qgemm8_vnni, NN_SIMD_AVX2},
#endif
#if defined(__aarch64__)
        {"neon", nn_qgemm8_neon, NN_SIMD_NEON},
#endif
    };
#if defined(__x86_64__)
    if (!nn_have_vnni())
        printf("skip nn_qgemm8_vnni: this CPU lacks VNNI (it runs the AVX2 version)\n");
#endif
    static const int Ms[] = {1, 2, 4, 5, 6, 7, 13, 50}, Ns[] = {1, 7, 8, 15, 16, 17, 33, 96, 112},
                     Ks[] = {4, 8, 48, 200};
    double worst = 0;
    int same[4] = {1, 1, 1, 1}, cases = 0;
    for (size_t mi = 0; mi < 8; mi++)
        for (size_t ni = 0; ni < 9; ni++)
            for (size_t ki = 0; ki < 4; ki++) {
                int M = Ms[mi], N = Ns[ni], K = Ks[ki], lda = K + 4, ldc = N + 3;
                float *x = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * K * N);
                float *sa = malloc(sizeof(float) * M), *sb = malloc(sizeof(float) * N);
                int32_t *bsum = malloc(sizeof(int32_t) * N);
                int8_t *A = malloc((size_t)M * lda), *Bp = malloc(nn_qgemm8_packed_size(K, N));
                float *C0 = malloc(sizeof(float) * M * ldc), *C1 = malloc(sizeof(float) * M * ldc);
                for (int i = 0; i < M * K; i++) /* rows of very different sizes */
                    x[i] = frand() * (float)(1 + (i / K) % 5 * 40);
                for (int i = 0; i < K * N; i++)
                    W[i] = frand() * 0.3f;
                if (cases % 5 == 0) /* at the codes' limits: every |code| 127 */
                    for (int i = 0; i < M * K; i++)
                        x[i] = (i % 3) ? 1 : -1, W[i % (K * N)] = (i % 2) ? 0.3f : -0.3f;
                nn_q8_rows_scalar(x, M, K, K, A, lda, sa);
                nn_qgemm8_pack(W, K, N, N, Bp, sb, bsum);
                for (int i = 0; i < M * ldc; i++)
                    C0[i] = (i % ldc) < N ? frand() : SENTINEL;
                memcpy(C1, C0, sizeof(float) * M * ldc);
                nn_qgemm8_scalar(M, N, K, A, lda, sa, Bp, sb, bsum, C0, ldc);
                for (int i = 0; i < M; i++) /* against the float product */
                    for (int j = 0; j < N; j++) {
                        /* each code within half a step: |x w - x' w'| <= |x| db + |w| da +
                         * da db, da = sa / 2, db = sb / 2; plus float rounding */
                        double ref = C1[i * ldc + j], bound = 0, mag = fabs(ref);
                        double da = sa[i] / 2.0, db = sb[j] / 2.0;
                        for (int k = 0; k < K; k++) {
                            double xv = x[i * K + k], wv = W[k * N + j];
                            ref += xv * wv;
                            bound += fabs(xv) * db + fabs(wv) * da + da * db;
                            mag += fabs(xv * wv);
                        }
                        double e = fabs(C0[i * ldc + j] - ref) / (bound + 4 * FLT_EPSILON * mag + 1e-30);
                        worst = e > worst ? e : worst;
                    }
                for (size_t w = 0; w < sizeof v / sizeof v[0]; w++) {
                    if (nn_simd_set((nn_simd_level)v[w].level))
                        continue;
                    float *C2 = malloc(sizeof(float) * M * ldc);
                    memcpy(C2, C1, sizeof(float) * M * ldc);
                    v[w].f(M, N, K, A, lda, sa, Bp, sb, bsum, C2, ldc);
                    same[w] &= memcmp(C2, C0, sizeof(float) * M * ldc) == 0;
                    free(C2);
                }
                cases++;
                free(x), free(W), free(sa), free(sb), free(bsum), free(A), free(Bp), free(C0), free(C1);
            }
    for (size_t w = 0; w < sizeof v / sizeof v[0]; w++) {
        char name[96];
        snprintf(name, sizeof name, "nn_qgemm8_%s == nn_qgemm8_scalar bit for bit, %d shapes",
                 v[w].name, cases);
        report_bool(name, same[w]);
    }
    report("nn_qgemm8_scalar vs the float product (error / the codes' bound)", worst, 1.0);

    /* the quantizers' contracts */
    float x[3 * 4] = {0, 0, 0, 0, 1, NAN, 2, 3, -5, 2.5f, 0.001f, 5};
    int8_t q[3 * 4];
    float s[3];
    nn_q8_rows(x, 3, 4, 4, q, 4, s);
    int ok = s[0] == 0 && s[1] == 0 && q[0] == 0 && q[4] == 0 && q[5] == 0;
    ok &= q[8] == -NN_Q8_MAX && q[11] == NN_Q8_MAX && fabsf(q[9] * s[2] - 2.5f) <= s[2] / 2;
    float W[4 * 3] = {1, -4, 0, 0.5f, 2, 0, 0, 0, NAN, 0.25f, 1, 0};
    int8_t Bp[4 * 3];
    float sb[3];
    int32_t bsum[3];
    nn_qgemm8_pack(W, 4, 3, 3, Bp, sb, bsum);
    ok &= Bp[0] == 127 && Bp[1] == 64 && Bp[2] == 0 && Bp[3] == 32 && bsum[0] == 127 + 64 + 32;
    ok &= Bp[4] == -127 && sb[2] == 0 && Bp[8] == 0 && bsum[2] == 0;
    report_bool("nn_q8_rows / nn_qgemm8_pack: scales, codes, layout, zero and NaN", ok);

    typedef void (*q8_fn)(const float *, int, int, int, int8_t *, int, float *);
    struct { const char *name; q8_fn f; int level; } qv[] = {
#if defined(__x86_64__)
        {"avx2", nn_q8_rows_avx2, NN_SIMD_AVX2},
#endif
#if defined(__aarch64__)
        {"neon", nn_q8_rows_neon, NN_SIMD_NEON},
#endif
    };
    int qsame = 1;
    for (int K = 1; K <= 70; K += 3) {
        int M = 6;
        float *xr = malloc(sizeof(float) * M * K), s0[6], s1[6];
        int8_t *q0 = malloc((size_t)M * K), *q1 = malloc((size_t)M * K);
        for (int i = 0; i < M * K; i++)
            xr[i] = frand() * (1 + i % 7);
        xr[K + K / 2] = NAN;        /* row 1 */
        xr[2 * K] = -INFINITY;      /* row 2 */
        for (int k = 0; k < K; k++) /* row 3: zeros; row 4: ties (k + 0.5 steps) */
            xr[3 * K + k] = 0, xr[4 * K + k] = k == 0 ? 127.0f : (float)(k % 50) + 0.5f;
        nn_q8_rows_scalar(xr, M, K, K, q0, K, s0);
        for (size_t w = 0; w < sizeof qv / sizeof qv[0]; w++) {
            if (nn_simd_set((nn_simd_level)qv[w].level))
                continue;
            qv[w].f(xr, M, K, K, q1, K, s1);
            qsame &= !memcmp(q0, q1, (size_t)M * K) && !memcmp(s0, s1, sizeof s0);
        }
        qsame &= s0[1] == 0 && s0[2] == 0 && s0[3] == 0 && q0[K] == 0 && q0[2 * K] == 0;
        if (K > 1) /* 1.5 -> 2, 2.5 -> 2: ties to even */
            qsame &= q0[4 * K + 1] == 2 && (K <= 2 || q0[4 * K + 2] == 2);
        free(xr), free(q0), free(q1);
    }
    report_bool("nn_q8_rows: every version the scalar codes and scales (NaN, inf, zero rows, ties)", qsame);
    nn_simd_set(NN_SIMD_SCALAR);
}

int main(void)
{
    /* before any kernel call, so the first call reads it */
    setenv("TTS_SIMD", "scalar", 1);
    check_dispatch();
    check_linear(1);
    check_linear(0);
    check_activations();
    check_conv_step();
    check_vecmat_q8();
    check_gemm();
    check_qgemm8();
    printf("%d checks, %d failed\n", g_checks, g_fail);
    return g_fail ? 1 : 0;
}
