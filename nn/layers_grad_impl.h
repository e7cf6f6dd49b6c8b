/*
 * The layers' backward passes and the training losses, written once over a real type (the
 * forward passes: nn/layers_impl.h, whose conventions hold here too). Training only:
 * instantiated by train/layers_f.c with REAL=float and by train/layers_d.c with
 * REAL=double, each after nn/layers_common_impl.h.
 *
 *   - *_backward ADD into every gradient they produce (dx, dW, db), so gradients from
 *     several consumers accumulate; the caller zeroes them once per step. A NULL dx
 *     means "not needed" (e.g. the first layer's input).
 */

void NN(conv1d_backward)(REAL *dx, REAL *dW, REAL *db, const REAL *dy, const REAL *x,
                         const REAL *W, int T, int Cin, int Cout, int K, int dil, int causal)
{
    if (db)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < Cout; c++)
                db[c] += dy[(size_t)t * Cout + c];
    for (int k = 0; k < K; k++) {
        int t0, t1, s;
        NN(conv_rows)(k, T, K, dil, causal, &t0, &t1, &s);
        if (t1 <= t0)
            continue;
        /* dW[k] += x_shift^T . dy */
        GEMM(1, 0, Cin, Cout, t1 - t0, 1,
             x + (size_t)(t0 + s) * Cin, Cin, dy + (size_t)t0 * Cout, Cout, 1,
             dW + (size_t)k * Cin * Cout, Cout);
        /* dx_shift += dy . W[k]^T */
        if (dx)
            GEMM(0, 1, t1 - t0, Cin, Cout, 1,
                 dy + (size_t)t0 * Cout, Cout, W + (size_t)k * Cin * Cout, Cout, 1,
                 dx + (size_t)(t0 + s) * Cin, Cin);
    }
}
/* uses the output y (so it may run after y overwrote x) */
void NN(relu_backward)(REAL *dx, const REAL *dy, const REAL *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += y[i] > 0 ? dy[i] : 0;
}
void NN(sigmoid_backward)(REAL *dx, const REAL *dy, const REAL *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * y[i] * (1 - y[i]);
}
void NN(tanh_backward)(REAL *dx, const REAL *dy, const REAL *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * (1 - y[i] * y[i]);
}
void NN(highway_backward)(REAL *dh, REAL *dx, const REAL *dy, const REAL *h, const REAL *x,
                          int T, int C)
{
    for (int t = 0; t < T; t++) {
        const REAL *h1 = h + (size_t)t * 2 * C, *h2 = h1 + C, *xt = x + (size_t)t * C;
        const REAL *dyt = dy + (size_t)t * C;
        REAL *dh1 = dh + (size_t)t * 2 * C, *dh2 = dh1 + C;
        for (int c = 0; c < C; c++) {
            REAL g = NN(sigm)(h1[c]);
            dh2[c] += dyt[c] * g;
            dh1[c] += dyt[c] * (h2[c] - xt[c]) * g * (1 - g);
            if (dx)
                dx[(size_t)t * C + c] += dyt[c] * (1 - g);
        }
    }
}
void NN(gated_backward)(REAL *dh, const REAL *dy, const REAL *h, int T, int C)
{
    for (int t = 0; t < T; t++) {
        const REAL *a = h + (size_t)t * 2 * C, *b = a + C;
        REAL *da = dh + (size_t)t * 2 * C, *dbb = da + C;
        for (int c = 0; c < C; c++) {
            REAL ta = TANH(a[c]), sb = NN(sigm)(b[c]), g = dy[(size_t)t * C + c];
            da[c] += g * sb * (1 - ta * ta);
            dbb[c] += g * ta * sb * (1 - sb);
        }
    }
}
void NN(glu_backward)(REAL *dh, const REAL *dy, const REAL *h, int T, int C)
{
    for (int t = 0; t < T; t++) {
        const REAL *a = h + (size_t)t * 2 * C, *b = a + C;
        REAL *da = dh + (size_t)t * 2 * C, *dbb = da + C;
        for (int c = 0; c < C; c++) {
            REAL sb = NN(sigm)(b[c]), g = dy[(size_t)t * C + c];
            da[c] += g * sb;
            dbb[c] += g * a[c] * sb * (1 - sb);
        }
    }
}
void NN(embedding_backward)(REAL *dE, const REAL *dy, const int *ids, int T, int D)
{
    for (int t = 0; t < T; t++)
        for (int d = 0; d < D; d++)
            dE[(size_t)ids[t] * D + d] += dy[(size_t)t * D + d];
}
void NN(layernorm_backward)(REAL *dx, REAL *dgamma, REAL *dbeta, const REAL *dy, const REAL *x,
                            const REAL *mean, const REAL *rstd, const REAL *gamma, int T, int C)
{
    for (int t = 0; t < T; t++) {
        const REAL *xt = x + (size_t)t * C, *dyt = dy + (size_t)t * C;
        REAL m = mean[t], r = rstd[t], s1 = 0, s2 = 0;
        for (int c = 0; c < C; c++) {
            REAL xh = (xt[c] - m) * r, g = dyt[c] * gamma[c];
            dgamma[c] += dyt[c] * xh;
            dbeta[c] += dyt[c];
            s1 += g;
            s2 += g * xh;
        }
        s1 /= C;
        s2 /= C;
        for (int c = 0; c < C; c++) {
            REAL xh = (xt[c] - m) * r, g = dyt[c] * gamma[c];
            dx[(size_t)t * C + c] += (g - s1 - xh * s2) * r;
        }
    }
}
void NN(dropout_backward)(REAL *dx, const REAL *dy, const unsigned char *mask, size_t n, REAL p)
{
    REAL scale = p < 1 ? 1 / (1 - p) : 0;
    for (size_t i = 0; i < n; i++)
        dx[i] += mask[i] ? dy[i] * scale : 0;
}

/* da_extra[Tq, Tk] (may be NULL): gradient reaching a from other losses (guided
 * attention). scratch[Tq*Tk] is caller-provided workspace. */
void NN(attention_backward)(REAL *dq, REAL *dk, REAL *dv, const REAL *dr, const REAL *da_extra,
                            const REAL *a, const REAL *q, const REAL *k, const REAL *v,
                            REAL *scratch, int Tq, int Tk, int D, int Dv)
{
    REAL scale = 1 / SQRT((REAL)D);
    REAL *ds = scratch;
    /* da = dr v^T (+ da_extra) */
    GEMM(0, 1, Tq, Tk, Dv, 1, dr, Dv, v, Dv, 0, ds, Tk);
    if (da_extra)
        for (size_t i = 0; i < (size_t)Tq * Tk; i++)
            ds[i] += da_extra[i];
    /* dv += a^T dr */
    GEMM(1, 0, Tk, Dv, Tq, 1, a, Tk, dr, Dv, 1, dv, Dv);
    /* softmax backward: ds = a * (da - sum_j a da) */
    for (int i = 0; i < Tq; i++) {
        REAL *di = ds + (size_t)i * Tk, dot = 0;
        const REAL *ai = a + (size_t)i * Tk;
        for (int j = 0; j < Tk; j++)
            dot += ai[j] * di[j];
        for (int j = 0; j < Tk; j++)
            di[j] = ai[j] * (di[j] - dot);
    }
    /* dq += ds k * scale,  dk += ds^T q * scale */
    GEMM(0, 0, Tq, D, Tk, scale, ds, Tk, k, D, 1, dq, D);
    GEMM(1, 0, Tk, D, Tq, scale, ds, Tk, q, D, 1, dk, D);
}

/* Guided attention (DCTTS): loss = weight * mean_{i,j} a[i,j] * (1 - exp(-(j/Tk - i/Tq)^2 / (2 g^2)))
 * Adds d loss / d a into da; returns the loss. */
double NN(guided_attention_loss)(REAL *da, const REAL *a, int Tq, int Tk, double g, double weight)
{
    double loss = 0, norm = weight / ((double)Tq * Tk);
    for (int i = 0; i < Tq; i++)
        for (int j = 0; j < Tk; j++) {
            double d = (double)j / Tk - (double)i / Tq;
            double w = 1 - exp(-d * d / (2 * g * g));
            loss += w * a[(size_t)i * Tk + j];
            if (da)
                da[(size_t)i * Tk + j] += (REAL)(w * norm);
        }
    return loss * norm;
}

/* ---- losses: return the loss, ADD scale * dloss/dy into dy (dy may be NULL) ---------- */
/* mean absolute error over n elements, times scale */
double NN(l1_loss)(REAL *dy, const REAL *y, const REAL *target, size_t n, double scale)
{
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        REAL d = y[i] - target[i];
        loss += d >= 0 ? d : -d;
        if (dy)
            dy[i] += (REAL)(scale / n * (d > 0 ? 1 : d < 0 ? -1 : 0));
    }
    return loss * scale / n;
}

/* L1 of the frame-to-frame changes: y and target are T rows of C; the mean over the
 * (T - 1) C pairs of |(y[t+1] - y[t]) - (target[t+1] - target[t])|, times scale. It asks
 * a predicted trajectory to move as much as the target's between frames, which the L1
 * of the frames alone does not: a smoothed curve through them costs little there. */
double NN(delta_l1_loss)(REAL *dy, const REAL *y, const REAL *target, int T, int C, double scale)
{
    if (T < 2 || C < 1)
        return 0;
    size_t n = (size_t)(T - 1) * (size_t)C;
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        REAL d = (y[i + C] - y[i]) - (target[i + C] - target[i]);
        loss += d >= 0 ? d : -d;
        if (dy) {
            REAL g = (REAL)(scale / n * (d > 0 ? 1 : d < 0 ? -1 : 0));
            dy[i + C] += g;
            dy[i] -= g;
        }
    }
    return loss * scale / n;
}

/* How much the trajectories move, matched in the aggregate: for each of the C columns,
 * v = the mean over the T - 1 frame pairs of |y[t+1] - y[t]| (+ 1e-3), likewise u of the
 * target; the loss is the mean over the columns of (log v - log u)^2, times scale. Unlike
 * delta_l1_loss it does not ask for the target's changes where they happen (which a
 * model cannot know and so learns to average away), only for as much change in all: the
 * "global variance" idea of Toda and Tokuda (2007) on the frame-to-frame changes. */
double NN(delta_var_loss)(REAL *dy, const REAL *y, const REAL *target, int T, int C, double scale)
{
    if (T < 2 || C < 1)
        return 0;
    double loss = 0;
    for (int c = 0; c < C; c++) {
        double v = 0, u = 0;
        for (int t = 0; t + 1 < T; t++) {
            size_t i = (size_t)t * C + c;
            v += fabs((double)y[i + C] - y[i]);
            u += fabs((double)target[i + C] - target[i]);
        }
        v = v / (T - 1) + 1e-3;
        u = u / (T - 1) + 1e-3;
        double d = log(v) - log(u);
        loss += d * d;
        if (dy) {
            double g = scale / C * 2 * d / v / (T - 1);
            for (int t = 0; t + 1 < T; t++) {
                size_t i = (size_t)t * C + c;
                REAL s = y[i + C] > y[i] ? (REAL)g : y[i + C] < y[i] ? (REAL)-g : 0;
                dy[i + C] += s;
                dy[i] -= s;
            }
        }
    }
    return loss * scale / C;
}

/* One projection of a frame: sum_b w[b] y[b] over the C columns of row y. */
static double NN(gv_project)(const REAL *y, const REAL *w, int C)
{
    double s = 0;
    for (int b = 0; b < C; b++)
        s += (double)w[b] * y[b];
    return s;
}

/* The mean and variance of projection w over the frames of y [T, C] that mask keeps
 * (all: NULL; at least one). */
static void NN(gv_stats)(const REAL *y, const unsigned char *mask, int T, int C, const REAL *w,
                         double *mean, double *var)
{
    double s = 0, ss = 0;
    int n = 0;
    for (int t = 0; t < T; t++)
        if (!mask || mask[t]) {
            double c = NN(gv_project)(y + (size_t)t * C, w, C);
            s += c;
            ss += c * c;
            n++;
        }
    *mean = s / n;
    *var = fmax(ss / n - *mean * *mean, 0);
}

/* Global variance of K linear projections of the frames, matched per utterance: y and
 * target are T rows of C, c_k[t] = sum_b W[k C + b] y[t C + b] (the mel-cepstrum of
 * normalized log-mel frames when W is a DCT times each band's std). Over the frames mask
 * keeps (NULL: all), v_k is the variance of c_k, u_k that of the target's; the loss is the
 * mean over k of (ln(v_k + 1e-4) - ln(u_k + 1e-4))^2, times scale. Toda and Tokuda's
 * (2007) global variance as a training loss: a frame-wise L1 or L2 fit favours the average
 * of the spectra a text might be spoken with, and the average has lost their detail. */
double NN(gv_loss)(REAL *dy, const REAL *y, const REAL *target, const unsigned char *mask, int T,
                   int C, const REAL *W, int K, double scale)
{
    int n = 0;
    for (int t = 0; t < T; t++)
        n += !mask || mask[t];
    if (n < 2 || C < 1 || K < 1)
        return 0;
    double loss = 0;
    for (int k = 0; k < K; k++) {
        const REAL *w = W + (size_t)k * C;
        double my, vy, mt, vt;
        NN(gv_stats)(y, mask, T, C, w, &my, &vy);
        NN(gv_stats)(target, mask, T, C, w, &mt, &vt);
        double d = log(vy + 1e-4) - log(vt + 1e-4);
        loss += d * d;
        if (dy) {
            /* d v / d c[t] = 2 (c[t] - mean) / n; the mean's own term sums to 0 */
            double g = scale / K * 2 * d / (vy + 1e-4) * 2 / n;
            for (int t = 0; t < T; t++)
                if (!mask || mask[t]) {
                    double gt = g * (NN(gv_project)(y + (size_t)t * C, w, C) - my);
                    REAL *row = dy + (size_t)t * C;
                    for (int b = 0; b < C; b++)
                        row[b] += (REAL)(gt * w[b]);
                }
        }
    }
    return loss * scale / K;
}

/* mean squared error */
double NN(l2_loss)(REAL *dy, const REAL *y, const REAL *target, size_t n, double scale)
{
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        REAL d = y[i] - target[i];
        loss += (double)d * d;
        if (dy)
            dy[i] += (REAL)(scale / n * 2 * d);
    }
    return loss * scale / n;
}

/* binary cross-entropy of sigmoid(logits) against targets in [0,1] (DCTTS's
 * "binary divergence"), computed stably from the logits */
double NN(bce_logits_loss)(REAL *dlogits, const REAL *logits, const REAL *target, size_t n,
                           double scale)
{
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        double x = logits[i], z = target[i];
        loss += (x > 0 ? x : 0) - x * z + log1p(exp(-fabs(x)));
        if (dlogits)
            dlogits[i] += (REAL)(scale / n * (NN(sigm)((REAL)x) - z));
    }
    return loss * scale / n;
}

/* softmax cross-entropy: logits[T, C], targets[T] class ids; mean over T */
double NN(softmax_xent_loss)(REAL *dlogits, const REAL *logits, const int *targets, int T, int C,
                             double scale)
{
    double loss = 0;
    for (int t = 0; t < T; t++) {
        const REAL *l = logits + (size_t)t * C;
        double mx = l[0], s = 0;
        for (int c = 1; c < C; c++)
            mx = l[c] > mx ? l[c] : mx;
        for (int c = 0; c < C; c++)
            s += exp(l[c] - mx);
        loss += log(s) + mx - l[targets[t]];
        if (dlogits)
            for (int c = 0; c < C; c++) {
                double p = exp(l[c] - mx) / s;
                dlogits[(size_t)t * C + c] += (REAL)(scale / T * (p - (c == targets[t])));
            }
    }
    return loss * scale / T;
}
