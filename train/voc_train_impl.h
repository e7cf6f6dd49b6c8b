/*
 * The vocoder's batched passes (train/voc_train.h), written once over a real type (as
 * nn/layers_impl.h): included by train/voc_train.c with REAL = float (training,
 * evaluation) and REAL = double (the reference the gradient tests compare with finite
 * differences). NN(name) adds the
 * suffix _f or _d; LAYER(name) calls the nn layer of the same type; BASIS(L, r) is the
 * DFT basis of that type.
 *
 * Shapes: time-major, row-major, as in nn/layers.h. T = n_blocks * hs network steps,
 * Tf = n_blocks + la conditioning frames.
 */

/* ---- upsampling: the backward of voc_upsample_forward (vocoder/layer_impl.h) ---------- */
void NN(voc_upsample_backward)(REAL *dP, int ldp, const REAL *dh, int ldh, int n, int n_blocks,
                               int hs, int la)
{
    for (int t = 0; t < n_blocks; t++) {
        REAL *p1 = dP + (size_t)(t + la) * ldp;
        REAL *p0 = dP + (size_t)(t + la - 1 > 0 ? t + la - 1 : 0) * ldp;
        for (int j = 0; j < hs; j++) {
            REAL a = (REAL)(j + 1) / (REAL)hs, b = 1 - a;
            const REAL *dr = dh + ((size_t)t * hs + j) * ldh;
            for (int c = 0; c < n; c++) {
                p0[c] += b * dr[c];
                p1[c] += a * dr[c];
            }
        }
    }
}

static REAL *NN(take)(voc_arena *a, size_t n)
{
    return (REAL *)arena_take(a, n * sizeof(REAL));
}

static REAL *NN(take0)(voc_arena *a, size_t n)
{
    REAL *p = NN(take)(a, n);
    if (p)
        memset(p, 0, n * sizeof(REAL));
    return p;
}

/* ---- multi-resolution STFT loss ------------------------------------------------------ */
static int NN(stft_res_used)(const voc_stft_loss *L, int r, int n)
{
    return BASIS(L, r) != NULL && n >= L->res[r].win;
}

/* X[nfr, nb2] = the DFT (basis B[win, nb2]) of the nfr frames of y, win samples every hop;
 * fr[nfr * win] is scratch */
static void NN(frames_dft)(const REAL *y, int nfr, int win, int hop, const REAL *B, int nb2,
                           REAL *fr, REAL *X)
{
    for (int i = 0; i < nfr; i++)
        memcpy(fr + (size_t)i * win, y + (size_t)i * hop, sizeof(REAL) * win);
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, nfr, nb2, win, 1, fr, win, B, nb2, 0, X, nb2);
}

/* the adjoint of frames_dft: ADDS the frames of dX B^T, overlap-added, into dy; fr scratch */
static void NN(frames_dft_backward)(const REAL *dX, int nfr, int win, int hop, const REAL *B,
                                    int nb2, REAL *fr, REAL *dy)
{
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, nfr, win, nb2, 1, dX, nb2, B, nb2, 0, fr, win);
    for (int i = 0; i < nfr; i++) {
        REAL *d = dy + (size_t)i * hop;
        const REAL *f = fr + (size_t)i * win;
        for (int j = 0; j < win; j++)
            d[j] += f[j];
    }
}

/* The log-mel term (voc_stft_loss_set_mel) of y[n] against the conditioning frames
 * cmel[n_rows, bands] (row 0: the frame of the loss's frame 0; rows past the end read as
 * the last); with dy ADDS scale * weight * dmel/dy. Returns the unweighted term, or -1. */
static double NN(mel_loss)(const voc_stft_loss *L, REAL *dy, const REAL *y, const REAL *cmel,
                           int n_rows, int n, double scale, voc_arena *ar)
{
    const voc_stft_res *rs = &L->mel_res;
    const REAL *B = MEL_BASIS(L), *fb = MEL_FB(L);
    int win = rs->win, nbin = rs->n_fft / 2 + 1, nb2 = 2 * nbin, hop = rs->hop, nm = L->mel_bands;
    if (!B || !fb || n < win || n_rows < 1)
        return 0;
    int nfr = 1 + (n - win) / hop;
    size_t mark = ar->used;
    REAL *fr = NN(take)(ar, (size_t)nfr * win), *X = NN(take)(ar, (size_t)nfr * nb2);
    REAL *mX = NN(take)(ar, (size_t)nfr * nbin), *M = NN(take)(ar, (size_t)nfr * nm);
    if (!fr || !X || !mX || !M)
        return -1;
    NN(frames_dft)(y, nfr, win, hop, B, nb2, fr, X);
    for (size_t k = 0; k < (size_t)nfr * nbin; k++)
        mX[k] = SQRT(X[2 * k] * X[2 * k] + X[2 * k + 1] * X[2 * k + 1] + (REAL)1e-7);
    /* M = |X| fb^T */
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, nfr, nm, nbin, 1, mX, nbin, fb, nbin, 0, M, nm);
    double sum = 0, cnt = (double)nfr * nm, fl = L->mel_floor;
    for (int i = 0; i < nfr; i++) {
        const REAL *c = cmel + (size_t)(i < n_rows ? i : n_rows - 1) * nm;
        REAL *Mi = M + (size_t)i * nm;
        for (int b = 0; b < nm; b++) {
            double mv = Mi[b], d = log(mv > fl ? mv : fl) - (double)c[b];
            sum += fabs(d);
            /* dM: sign(d) / M where M is above the floor (the clamp passes no gradient) */
            Mi[b] = (REAL)(mv > fl ? (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0) / mv : 0.0);
        }
    }
    if (dy) {
        double w = scale * L->mel_weight / cnt;
        REAL *dmX = mX; /* d|X| = w dM fb, then d(re, im) = d|X| (re, im) / |X| */
        for (size_t k = 0; k < (size_t)nfr * nbin; k++) {
            REAL mx = mX[k];
            X[2 * k] /= mx;
            X[2 * k + 1] /= mx;
        }
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, nfr, nbin, nm, (REAL)w, M, nm, fb, nbin,
             0, dmX, nbin);
        for (size_t k = 0; k < (size_t)nfr * nbin; k++) {
            X[2 * k] *= dmX[k];
            X[2 * k + 1] *= dmX[k];
        }
        NN(frames_dft_backward)(X, nfr, win, hop, B, nb2, fr, dy);
    }
    ar->used = mark;
    return sum / cnt;
}

static double NN(stft_loss)(const voc_stft_loss *L, REAL *dy, const REAL *y, const REAL *target,
                            int n, double scale, voc_arena *ar, voc_loss_val *out)
{
    voc_loss_val v = {0, 0, 0, 0, 0, 0};
    int n_used = 0;
    for (int r = 0; r < L->n_res; r++)
        n_used += NN(stft_res_used)(L, r, n);
    for (int r = 0; r < L->n_res; r++) {
        if (!NN(stft_res_used)(L, r, n))
            continue;
        const voc_stft_res *rs = &L->res[r];
        const REAL *B = BASIS(L, r);
        int win = rs->win, nb2 = 2 * (rs->n_fft / 2 + 1), hop = rs->hop;
        int nfr = 1 + (n - win) / hop;
        size_t nbins = (size_t)nfr * (nb2 / 2), mark = ar->used;
        /* frames of the output and the target; spectra X (output), Y (target), magnitudes */
        REAL *fr = NN(take)(ar, (size_t)nfr * win), *ft = NN(take)(ar, (size_t)nfr * win);
        REAL *X = NN(take)(ar, (size_t)nfr * nb2), *Y = NN(take)(ar, (size_t)nfr * nb2);
        REAL *mX = NN(take)(ar, nbins), *mY = NN(take)(ar, nbins);
        if (!fr || !ft || !X || !Y || !mX || !mY)
            return -1;
        NN(frames_dft)(y, nfr, win, hop, B, nb2, fr, X);
        NN(frames_dft)(target, nfr, win, hop, B, nb2, ft, Y);
        double num = 0, den = 0, lm = 0;
        for (size_t k = 0; k < nbins; k++) {
            REAL xr = X[2 * k], xi = X[2 * k + 1], yr = Y[2 * k], yi = Y[2 * k + 1];
            mX[k] = SQRT(xr * xr + xi * xi + (REAL)1e-7);
            mY[k] = SQRT(yr * yr + yi * yi + (REAL)1e-7);
            double d = (double)mY[k] - mX[k];
            num += d * d;
            den += (double)mY[k] * mY[k];
            lm += fabs(log((double)mX[k]) - log((double)mY[k]));
        }
        double nrm = sqrt(num), dnm = sqrt(den);
        v.sc += nrm / dnm; /* dnm >= sqrt(nbins * 1e-7) > 0 */
        v.mag += lm / (double)nbins;
        v.n_res_used++;
        if (dy) {
            /* dL/d|X| = (|X| - |Y|) / (||Y - X|| ||Y||) + sign(log|X| - log|Y|) / (nbins |X|),
             * dL/d(re, im) = dL/d|X| (re, im) / |X|; frames: dX B^T, overlap-added into dy */
            double w = scale / n_used, a_sc = nrm > 0 ? w / (nrm * dnm) : 0;
            double a_lm = w / (double)nbins;
            REAL *dX = Y; /* the target spectrum is no longer needed */
            for (size_t k = 0; k < nbins; k++) {
                double dl = log((double)mX[k]) - log((double)mY[k]);
                double g = a_sc * ((double)mX[k] - mY[k]) +
                           a_lm * (dl > 0 ? 1.0 : dl < 0 ? -1.0 : 0.0) / mX[k];
                REAL gm = (REAL)(g / mX[k]);
                dX[2 * k] = gm * X[2 * k];
                dX[2 * k + 1] = gm * X[2 * k + 1];
            }
            NN(frames_dft_backward)(dX, nfr, win, hop, B, nb2, ft, dy);
        }
        ar->used = mark;
    }
    if (v.n_res_used > 0) {
        v.sc /= v.n_res_used;
        v.mag /= v.n_res_used;
    }
    v.total = v.sc + v.mag;
    if (out)
        *out = v;
    return v.total;
}

/* ---- the WaveNet gate's backward ---------------------------------------------------------
 * From the activations voc_layer_forward keeps, g[T, 2C] = [tanh(a) | sigmoid(b)]: ADDS
 * dh = [dz sb (1 - ta^2) | dz ta sb (1 - sb)]. */
static void NN(gate_backward)(REAL *dh, const REAL *dz, const REAL *g, int T, int C)
{
    for (int t = 0; t < T; t++) {
        const REAL *ga = g + (size_t)t * 2 * C, *gb = ga + C, *dzt = dz + (size_t)t * C;
        REAL *da = dh + (size_t)t * 2 * C, *db = da + C;
        for (int c = 0; c < C; c++) {
            da[c] += dzt[c] * gb[c] * (1 - ga[c] * ga[c]);
            db[c] += dzt[c] * ga[c] * gb[c] * (1 - gb[c]);
        }
    }
}

/* ---- the network, batched ------------------------------------------------------------ */
typedef struct {
    REAL *meln, *cpre[VOC_MAX_COND], *cact[VOC_MAX_COND], *P;
    REAL *x[VOC_MAX_LAYERS + 1], *h[VOC_MAX_LAYERS], *z[VOC_MAX_LAYERS], *o[VOC_MAX_LAYERS];
    REAL *skip, *a1, *p0, *a2, *y;
} NN(acts);

/* mel[nf, n_mels] raw log-mel, noise[nb * hop]: fills A (activations in ar) */
static int NN(net_forward)(const voc_model *m, const REAL *P, const REAL *mel, int nf, int nb,
                           const REAL *noise, NN(acts) *A, voc_arena *ar)
{
    const voc_config *c = &m->cfg;
    int C = c->res_ch, S = c->skip_ch, L = c->n_layers, F = c->fold, nm = c->n_mels;
    int Cc = c->cond_ch, la = c->lookahead, hs = c->hop / F, T = nb * hs, Tf = nb + la;
    int L2C = L * 2 * C;
    size_t mo = (size_t)(m->mel_mean - m->p.params), so = (size_t)(m->mel_std - m->p.params);

    /* conditioning at frame rate */
    A->meln = NN(take)(ar, (size_t)Tf * nm);
    if (!A->meln)
        return TTS_E_NOMEM;
    for (int i = 0; i < Tf; i++) {
        const REAL *src = mel + (size_t)(i < nf ? i : nf - 1) * nm;
        REAL *dst = A->meln + (size_t)i * nm;
        for (int b = 0; b < nm; b++)
            dst[b] = (src[b] - P[mo + b]) / P[so + b];
    }
    const REAL *in = A->meln;
    for (int i = 0; i < c->cond_layers; i++) {
        const voc_conv_off *cv = &m->cond[i];
        A->cpre[i] = NN(take)(ar, (size_t)Tf * Cc);
        A->cact[i] = NN(take)(ar, (size_t)Tf * Cc);
        if (!A->cpre[i] || !A->cact[i])
            return TTS_E_NOMEM;
        LAYER(conv1d_forward)(A->cpre[i], in, P + cv->w, P + cv->b, Tf, cv->cin, Cc,
                              c->cond_kernel, 1, 1);
        LAYER(tanh_forward)(A->cact[i], A->cpre[i], (size_t)Tf * Cc);
        in = A->cact[i];
    }
    A->P = NN(take)(ar, (size_t)Tf * L2C);
    if (!A->P)
        return TTS_E_NOMEM;
    LAYER(conv1d_forward)(A->P, in, P + m->cproj, NULL, Tf, Cc, L2C, 1, 1, 1);

    /* the gated stack at step rate: the stream's layers (vocoder/layer_impl.h) over the
     * whole utterance, each input with its layer's reach of zeros before it */
    A->skip = NN(take0)(ar, (size_t)T * S);
    if (!A->skip)
        return TTS_E_NOMEM;
    for (int l = 0; l <= L; l++) {
        size_t hl = l < L ? (size_t)(c->kernel - 1) * m->layer[l].dil : 0;
        REAL *xh = NN(take)(ar, (hl + T) * C);
        if (!xh)
            return TTS_E_NOMEM;
        memset(xh, 0, sizeof(REAL) * hl * C); /* the T rows after it are all written */
        A->x[l] = xh + hl * C;
    }
    LAYER(conv1d_forward)(A->x[0], noise, P + m->in_w, P + m->in_b, T, F * c->src, C, 1, 1, 1);
    /* a model made for inference (voc_use_int8) runs its products as the stream does */
    void *qw = m->q8 ? (void *)NN(take)(ar, (voc_int8_work_bytes(c, T) + sizeof(REAL) - 1) / sizeof(REAL)) : NULL;
    if (m->q8 && !qw)
        return TTS_E_NOMEM;
    for (int l = 0; l < L; l++) {
        size_t hl = (size_t)(c->kernel - 1) * m->layer[l].dil;
        A->h[l] = NN(take)(ar, (size_t)T * 2 * C);
        A->z[l] = NN(take)(ar, (size_t)T * C);
        A->o[l] = NN(take)(ar, (size_t)T * (C + S));
        if (!A->h[l] || !A->z[l] || !A->o[l])
            return TTS_E_NOMEM;
        NN(voc_layer_forward)(m, P, l, A->x[l] - hl * C, nb, A->P + (size_t)l * 2 * C, L2C, la,
                              A->h[l], A->z[l], A->o[l], A->x[l + 1], A->skip, qw);
    }
    /* output: skip / sqrt(L) -> ReLU -> 1x1 -> ReLU -> 1x1 */
    REAL ks = (REAL)(1 / sqrt((double)L));
    for (size_t i = 0; i < (size_t)T * S; i++)
        A->skip[i] *= ks;
    A->a1 = NN(take)(ar, (size_t)T * S);
    A->p0 = NN(take)(ar, (size_t)T * S);
    A->a2 = NN(take)(ar, (size_t)T * S);
    A->y = NN(take)(ar, (size_t)T * F);
    if (!A->a1 || !A->p0 || !A->a2 || !A->y)
        return TTS_E_NOMEM;
    LAYER(relu_forward)(A->a1, A->skip, (size_t)T * S);
    LAYER(conv1d_forward)(A->p0, A->a1, P + m->post0_w, P + m->post0_b, T, S, S, 1, 1, 1);
    LAYER(relu_forward)(A->a2, A->p0, (size_t)T * S);
    LAYER(conv1d_forward)(A->y, A->a2, P + m->post1_w, P + m->post1_b, T, S, F, 1, 1, 1);
    return TTS_OK;
}

/* dy[nb * hop] in; gradients ADDED into G */
static int NN(net_backward)(const voc_model *m, const REAL *P, REAL *G, int nb, const REAL *noise,
                            const NN(acts) *A, const REAL *dy, voc_arena *ar)
{
    const voc_config *c = &m->cfg;
    int C = c->res_ch, S = c->skip_ch, L = c->n_layers, F = c->fold;
    int Cc = c->cond_ch, la = c->lookahead, hs = c->hop / F, T = nb * hs, Tf = nb + la;
    int L2C = L * 2 * C;
    size_t TS = (size_t)T * S;
    REAL *da2 = NN(take0)(ar, TS), *dp0 = NN(take0)(ar, TS), *da1 = NN(take0)(ar, TS);
    REAL *dskip = NN(take0)(ar, TS), *dP = NN(take0)(ar, (size_t)Tf * L2C);
    REAL *dx = NN(take0)(ar, (size_t)T * C), *dxn = NN(take)(ar, (size_t)T * C);
    REAL *dO = NN(take)(ar, (size_t)T * (C + S)), *dz = NN(take)(ar, (size_t)T * C);
    REAL *dh = NN(take)(ar, (size_t)T * 2 * C);
    if (!da2 || !dp0 || !da1 || !dskip || !dP || !dx || !dxn || !dO || !dz || !dh)
        return TTS_E_NOMEM;
    LAYER(conv1d_backward)(da2, G + m->post1_w, G + m->post1_b, dy, A->a2, P + m->post1_w, T, S,
                           F, 1, 1, 1);
    LAYER(relu_backward)(dp0, da2, A->a2, TS);
    LAYER(conv1d_backward)(da1, G + m->post0_w, G + m->post0_b, dp0, A->a1, P + m->post0_w, T, S,
                           S, 1, 1, 1);
    LAYER(relu_backward)(dskip, da1, A->a1, TS);
    REAL ks = (REAL)(1 / sqrt((double)L));
    for (size_t i = 0; i < TS; i++)
        dskip[i] *= ks;
    const REAL r2 = (REAL)0.70710678118654752440;
    for (int l = L - 1; l >= 0; l--) {
        for (int t = 0; t < T; t++) {
            REAL *d = dO + (size_t)t * (C + S);
            const REAL *a = dx + (size_t)t * C, *b = dskip + (size_t)t * S;
            for (int k = 0; k < C; k++)
                d[k] = a[k] * r2;
            memcpy(d + C, b, sizeof(REAL) * S);
        }
        memset(dz, 0, sizeof(REAL) * T * C);
        LAYER(conv1d_backward)(dz, G + m->layer[l].ow, G + m->layer[l].ob, dO, A->z[l],
                               P + m->layer[l].ow, T, C, C + S, 1, 1, 1);
        memset(dh, 0, sizeof(REAL) * T * 2 * C);
        NN(gate_backward)(dh, dz, A->h[l], T, C);
        NN(voc_upsample_backward)(dP + (size_t)l * 2 * C, L2C, dh, 2 * C, 2 * C, nb, hs, la);
        for (size_t i = 0; i < (size_t)T * C; i++)
            dxn[i] = dx[i] * r2;
        LAYER(conv1d_backward)(dxn, G + m->layer[l].cw, G + m->layer[l].cb, dh, A->x[l],
                               P + m->layer[l].cw, T, C, 2 * C, c->kernel, m->layer[l].dil, 1);
        REAL *t = dx;
        dx = dxn;
        dxn = t;
    }
    LAYER(conv1d_backward)(NULL, G + m->in_w, G + m->in_b, dx, noise, P + m->in_w, T, F * c->src,
                           C, 1, 1, 1);
    /* conditioning */
    int nc = c->cond_layers;
    REAL *dc = NN(take0)(ar, (size_t)Tf * Cc), *dpre = NN(take)(ar, (size_t)Tf * Cc);
    REAL *dprev = NN(take)(ar, (size_t)Tf * Cc);
    if (!dc || !dpre || !dprev)
        return TTS_E_NOMEM;
    LAYER(conv1d_backward)(dc, G + m->cproj, NULL, dP, A->cact[nc - 1], P + m->cproj, Tf, Cc, L2C,
                           1, 1, 1);
    for (int i = nc - 1; i >= 0; i--) {
        const voc_conv_off *cv = &m->cond[i];
        memset(dpre, 0, sizeof(REAL) * Tf * Cc);
        LAYER(tanh_backward)(dpre, dc, A->cact[i], (size_t)Tf * Cc);
        if (i)
            memset(dprev, 0, sizeof(REAL) * Tf * Cc);
        LAYER(conv1d_backward)(i ? dprev : NULL, G + cv->w, G + cv->b, dpre,
                               i ? A->cact[i - 1] : A->meln, P + cv->w, Tf, cv->cin, Cc,
                               c->cond_kernel, 1, 1);
        REAL *t = dc;
        dc = dprev;
        dprev = t;
    }
    return TTS_OK;
}

/* ---- the pitch head ------------------------------------------------------------------ */
typedef struct {
    REAL *meln, *a[2], *out;
} NN(pacts);

static size_t NN(pitch_bytes)(const voc_config *c, int nf)
{
    return sizeof(REAL) * (size_t)nf * 2 * (c->n_mels + 2 * VOC_PITCH_CH + 2) + 16 * 64;
}

static int NN(pitch_fwd)(const voc_model *m, const REAL *P, const REAL *mel, int nf,
                         NN(pacts) *A, voc_arena *ar)
{
    int nm = m->cfg.n_mels, PC = VOC_PITCH_CH;
    size_t mo = (size_t)(m->mel_mean - m->p.params), so = (size_t)(m->mel_std - m->p.params);
    A->meln = NN(take)(ar, (size_t)nf * nm);
    A->a[0] = NN(take)(ar, (size_t)nf * PC);
    A->a[1] = NN(take)(ar, (size_t)nf * PC);
    A->out = NN(take)(ar, (size_t)nf * 2);
    if (!A->meln || !A->a[0] || !A->a[1] || !A->out)
        return TTS_E_NOMEM;
    for (size_t i = 0; i < (size_t)nf; i++)
        for (int b = 0; b < nm; b++)
            A->meln[i * nm + b] = (mel[i * nm + b] - P[mo + b]) / P[so + b];
    const REAL *in = A->meln;
    for (int i = 0; i < 2; i++) {
        LAYER(conv1d_forward)(A->a[i], in, P + m->pitch[i].w, P + m->pitch[i].b, nf,
                              m->pitch[i].cin, PC, VOC_PITCH_K, 1, 1);
        LAYER(relu_forward)(A->a[i], A->a[i], (size_t)nf * PC);
        in = A->a[i];
    }
    LAYER(conv1d_forward)(A->out, in, P + m->pitch[2].w, P + m->pitch[2].b, nf, PC, 2, 1, 1, 1);
    return TTS_OK;
}

static int NN(pitch_train)(const voc_model *m, const REAL *P, const REAL *mel, int nf,
                           const REAL *f0, REAL *G, double scale, voc_arena *ar, double *loss)
{
    if (m->cfg.src < 2 || nf < 1 || !mel || !f0)
        return TTS_E_INVALID;
    if (arena_reserve(ar, NN(pitch_bytes)(&m->cfg, nf)))
        return TTS_E_NOMEM;
    NN(pacts) A;
    int rc = NN(pitch_fwd)(m, P, mel, nf, &A, ar);
    if (rc)
        return rc;
    int PC = VOC_PITCH_CH, nv = 0;
    for (int t = 0; t < nf; t++)
        nv += f0[t] > 0;
    REAL *dout = G ? NN(take0)(ar, (size_t)nf * 2) : NULL;
    if (G && !dout)
        return TTS_E_NOMEM;
    double bce = 0, l1 = 0;
    for (int t = 0; t < nf; t++) {
        double z = A.out[2 * t + 1], y = f0[t] > 0;
        bce += (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
        if (dout) {
            double sg = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
            dout[2 * t + 1] = (REAL)((sg - y) * scale / nf);
        }
        if (f0[t] > 0) {
            double target = (log((double)f0[t]) - VOC_LOGF0_MEAN) / VOC_LOGF0_SCALE;
            double d = A.out[2 * t] - target;
            l1 += fabs(d) / nv;
            if (dout)
                dout[2 * t] = (REAL)((d > 0 ? 1 : d < 0 ? -1 : 0) * scale / nv);
        }
    }
    *loss = bce / nf + l1;
    if (!G)
        return TTS_OK;
    REAL *da = NN(take0)(ar, (size_t)nf * PC), *dp = NN(take0)(ar, (size_t)nf * PC);
    if (!da || !dp)
        return TTS_E_NOMEM;
    LAYER(conv1d_backward)(da, G + m->pitch[2].w, G + m->pitch[2].b, dout, A.a[1],
                           P + m->pitch[2].w, nf, PC, 2, 1, 1, 1);
    for (int i = 1; i >= 0; i--) {
        memset(dp, 0, sizeof(REAL) * (size_t)nf * PC);
        LAYER(relu_backward)(dp, da, A.a[i], (size_t)nf * PC);
        if (i)
            memset(da, 0, sizeof(REAL) * (size_t)nf * PC);
        LAYER(conv1d_backward)(i ? da : NULL, G + m->pitch[i].w, G + m->pitch[i].b, dp,
                               i ? A.a[i - 1] : A.meln, P + m->pitch[i].w, nf,
                               m->pitch[i].cin, PC, VOC_PITCH_K, 1, 1);
    }
    return TTS_OK;
}

static int NN(check_args)(const voc_model *m, int nf, int nb, int ctx)
{
    (void)m;
    return nf >= 1 && nb >= 1 && ctx >= 0 && ctx < nb;
}

static inline int NN(forward)(const voc_model *m, const REAL *P, const REAL *mel, int nf, int nb,
                       const REAL *noise, REAL *pcm, voc_arena *ar)
{
    if (!NN(check_args)(m, nf, nb, 0) || !mel || !noise || !pcm)
        return TTS_E_INVALID;
    if (arena_reserve(ar, pass_bytes(&m->cfg, nb, 0, NULL, sizeof(REAL))))
        return TTS_E_NOMEM;
    NN(acts) A;
    int rc = NN(net_forward)(m, P, mel, nf, nb, noise, &A, ar);
    if (rc)
        return rc;
    memcpy(pcm, A.y, sizeof(REAL) * (size_t)nb * m->cfg.hop);
    return TTS_OK;
}

static int NN(train_crop)(const voc_model *m, const REAL *P, const voc_stft_loss *L,
                          const REAL *mel, int nf, int nb, int ctx, const REAL *noise,
                          const REAL *target, REAL *G, double scale, voc_arena *ar,
                          voc_loss_val *loss, REAL *pcm, const voc_loss_hook *hook)
{
    if (!NN(check_args)(m, nf, nb, ctx) || !mel || !noise || !target || !L ||
        (L->mel_weight > 0 && (L->mel_bands != m->cfg.n_mels || L->mel_res.hop != m->cfg.hop)))
        return TTS_E_INVALID;
    int hop = m->cfg.hop, n = (nb - ctx) * hop;
    if (arena_reserve(ar, pass_bytes(&m->cfg, nb, G != NULL, L, sizeof(REAL)) +
                              loss_bytes(L, n, sizeof(REAL))))
        return TTS_E_NOMEM;
    NN(acts) A;
    int rc = NN(net_forward)(m, P, mel, nf, nb, noise, &A, ar);
    if (rc)
        return rc;
    if (pcm)
        memcpy(pcm, A.y, sizeof(REAL) * (size_t)nb * hop);
    REAL *dy = G ? NN(take0)(ar, (size_t)nb * hop) : NULL;
    if (G && !dy)
        return TTS_E_NOMEM;
    voc_loss_val v;
    REAL *dyl = dy ? dy + (size_t)ctx * hop : NULL;
    const REAL *yl = A.y + (size_t)ctx * hop;
    /* the STFT terms against the target, weighted (weight 0: their value only) */
    double sw = L->stft_weight;
    if (NN(stft_loss)(L, sw > 0 ? dyl : NULL, yl, target, n, scale * sw, ar, &v) < 0)
        return TTS_E_NOMEM;
    v.total *= sw;
    if (L->mel_weight > 0) {
        int r0 = ctx + L->mel_off;
        if (r0 >= nf)
            r0 = nf - 1;
        double ml = NN(mel_loss)(L, dyl, yl, mel + (size_t)r0 * m->cfg.n_mels, nf - r0, n, scale,
                                 ar);
        if (ml < 0)
            return TTS_E_NOMEM;
        v.mel = ml;
        v.total += L->mel_weight * ml;
    }
    v.extra = 0;
    if (hook && HOOK_FN(hook)) {
        double e = HOOK_FN(hook)(hook->ctx, yl, dyl, n, scale);
        if (e < 0)
            return (int)e;
        v.extra = e;
        v.total += e;
    }
    if (loss)
        *loss = v;
    if (!G)
        return TTS_OK;
    return NN(net_backward)(m, P, G, nb, noise, &A, dy, ar);
}

double NN(voc_stft_loss)(const voc_stft_loss *L, REAL *dy, const REAL *y, const REAL *target,
                         int n, double scale, voc_arena *ar, voc_loss_val *out)
{
    if (!L || !y || !target || n < 0 || arena_reserve(ar, loss_bytes(L, n, sizeof(REAL))))
        return -1;
    return NN(stft_loss)(L, dy, y, target, n, scale, ar, out);
}
