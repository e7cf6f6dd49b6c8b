/*
 * The critics' passes, written once over a real type (included by train/disc.c with
 * REAL = float and REAL = double; NN(name) adds _f / _d, LAYER(name) calls the nn layer of
 * that type). Shapes as in nn/layers.h: time-major, row-major.
 */

static REAL *NN(dtake)(nn_arena *a, size_t n)
{
    return (REAL *)nn_arena_take(a, n * sizeof(REAL));
}

static void NN(leaky_forward)(REAL *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0)
            y[i] *= (REAL)DISC_SLOPE;
}

/* dz = dy * slope where the output y was negative (the slope keeps the sign) */
static void NN(leaky_backward)(REAL *dz, const REAL *dy, const REAL *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dz[i] = y[i] < 0 ? dy[i] * (REAL)DISC_SLOPE : dy[i];
}

/* the outputs of every layer of critic k on one sequence x[T, in_ch]; a[i] gets
 * [T_i, ch_i] */
static int NN(seq_forward)(const disc_model *d, const REAL *P, int k, const REAL *x, int T,
                           REAL **a, nn_arena *ar)
{
    const disc_config *c = &d->cfg;
    const REAL *in = x;
    int t = T, cin = c->in_ch;
    for (int i = 0; i < c->n_layers; i++) {
        int s = c->stride[i], co = c->ch[i];
        t /= s;
        a[i] = NN(dtake)(ar, (size_t)t * co);
        if (!a[i])
            return TTS_E_NOMEM;
        LAYER(conv1d_forward)(a[i], in, P + d->w[k][i], P + d->b[k][i], t, s * cin, co,
                              c->k[i], 1, 0);
        if (i < c->n_layers - 1)
            NN(leaky_forward)(a[i], (size_t)t * co);
        in = a[i];
        cin = co;
    }
    return TTS_OK;
}

/* Backward of one sequence: da[i] holds d/d(output of layer i) (overwritten: used as
 * scratch); ADDS the parameter gradients into G and, when dx != NULL, d/dx into
 * dx[T, in_ch]. dz: scratch of the largest layer's size. */
static void NN(seq_backward)(const disc_model *d, const REAL *P, int k, const REAL *x, int T,
                             REAL *const *a, REAL **da, REAL *dz, REAL *G, REAL *dx)
{
    const disc_config *cf = &d->cfg;
    int t[DISC_MAX_LAYERS], cin[DISC_MAX_LAYERS];
    int tt = T, c = cf->in_ch;
    for (int i = 0; i < cf->n_layers; i++) {
        tt /= cf->stride[i];
        t[i] = tt;
        cin[i] = c;
        c = cf->ch[i];
    }
    for (int i = cf->n_layers - 1; i >= 0; i--) {
        int s = cf->stride[i], co = cf->ch[i];
        size_t n = (size_t)t[i] * co;
        if (i < cf->n_layers - 1)
            NN(leaky_backward)(dz, da[i], a[i], n);
        else
            memcpy(dz, da[i], n * sizeof(REAL));
        REAL *dprev = i ? da[i - 1] : dx;
        LAYER(conv1d_backward)(dprev, G + d->w[k][i], G + d->b[k][i], dz, i ? a[i - 1] : x,
                               P + d->w[k][i], t[i], s * cin[i], co, cf->k[i], 1, 0);
    }
}

static size_t NN(disc_bytes)(const disc_config *c, int T)
{
    /* per sequence: real and fake activations, their gradients, the inputs, dz */
    size_t per = 0, mx = 0;
    int t = T;
    for (int i = 0; i < c->n_layers; i++) {
        t /= c->stride[i];
        size_t n = (size_t)t * c->ch[i];
        per += ((n * sizeof(REAL) + 63) & ~(size_t)63);
        if (n > mx)
            mx = n;
    }
    return 4 * per + 3 * (((size_t)T * c->in_ch * sizeof(REAL) + 63) & ~(size_t)63) +
           ((mx * sizeof(REAL) + 63) & ~(size_t)63) + 256;
}

int NN(disc_crop)(const disc_model *d, const REAL *P, const REAL *real, const REAL *fake, int n,
                  REAL *gd, double scale_d, REAL *dfake, double adv_w, double fm_w,
                  double scale_g, REAL *gscratch, nn_arena *ar, disc_loss *out)
{
    if (!d || !P || !real || !fake || (dfake && !gscratch))
        return TTS_E_INVALID;
    const disc_config *c = &d->cfg;
    int nd = c->n, nl = c->n_layers, C = c->in_ch, hop = disc_hop(c);
    if (n < disc_min_samples(c))
        return TTS_E_INVALID;
    disc_loss L = {0};
    for (int k = 0; k < nd; k++) {
        int p = c->period[k];
        int T = n / p / hop * hop;
        if (nn_arena_reserve(ar, NN(disc_bytes)(c, T)))
            return TTS_E_NOMEM;
        /* element counts of each layer's output over the p sequences */
        double cnt[DISC_MAX_LAYERS];
        int tl = T;
        for (int i = 0; i < nl; i++) {
            tl /= c->stride[i];
            cnt[i] = (double)p * tl * c->ch[i];
        }
        int last = nl - 1;
        size_t TC = (size_t)T * C;
        REAL *xr = NN(dtake)(ar, TC), *xf = NN(dtake)(ar, TC);
        REAL *dxf = NN(dtake)(ar, TC);
        if (!xr || !xf || !dxf)
            return TTS_E_NOMEM;
        size_t mark = ar->used;
        for (int j = 0; j < p; j++) {
            ar->used = mark;
            for (int t = 0; t < T; t++)
                for (int e = 0; e < C; e++) {
                    xr[(size_t)t * C + e] = real[((size_t)t * p + j) * C + e];
                    xf[(size_t)t * C + e] = fake[((size_t)t * p + j) * C + e];
                }
            REAL *re[DISC_MAX_LAYERS], *af[DISC_MAX_LAYERS], *dr[DISC_MAX_LAYERS],
                *df[DISC_MAX_LAYERS];
            int rc = NN(seq_forward)(d, P, k, xr, T, re, ar);
            if (!rc)
                rc = NN(seq_forward)(d, P, k, xf, T, af, ar);
            if (rc)
                return rc;
            tl = T;
            size_t mx = 0;
            for (int i = 0; i < nl; i++) {
                tl /= c->stride[i];
                size_t ne = (size_t)tl * c->ch[i];
                mx = ne > mx ? ne : mx;
                dr[i] = NN(dtake)(ar, ne);
                df[i] = NN(dtake)(ar, ne);
                if (!dr[i] || !df[i])
                    return TTS_E_NOMEM;
            }
            REAL *dz = NN(dtake)(ar, mx);
            if (!dz)
                return TTS_E_NOMEM;
            /* the scores */
            size_t no = (size_t)(cnt[last] / p);
            const REAL *orl = re[last], *ofk = af[last];
            for (size_t i = 0; i < no; i++) {
                double r = orl[i], f = ofk[i];
                L.d_real += (r - 1) * (r - 1) / (cnt[last] * nd);
                L.d_fake += f * f / (cnt[last] * nd);
                L.adv += (f - 1) * (f - 1) / (cnt[last] * nd);
            }
            for (int i = 0; i < last; i++) {
                size_t ne = (size_t)(cnt[i] / p);
                double s = 0;
                for (size_t e = 0; e < ne; e++)
                    s += fabs((double)af[i][e] - (double)re[i][e]);
                L.fm += s / (cnt[i] * nd * last);
            }
            if (gd) {
                /* the critic's loss: real scores towards 1, fake towards 0 */
                for (int i = 0; i < last; i++) {
                    size_t ne = (size_t)(cnt[i] / p);
                    memset(dr[i], 0, ne * sizeof(REAL));
                    memset(df[i], 0, ne * sizeof(REAL));
                }
                double g = 2 * scale_d / (cnt[last] * nd);
                for (size_t i = 0; i < no; i++) {
                    dr[last][i] = (REAL)(g * (orl[i] - 1));
                    df[last][i] = (REAL)(g * ofk[i]);
                }
                NN(seq_backward)(d, P, k, xr, T, re, dr, dz, gd, NULL);
                NN(seq_backward)(d, P, k, xf, T, af, df, dz, gd, NULL);
            }
            if (dfake) {
                /* the network's loss through the fake pass: scores towards 1, features
                 * towards the recording's */
                double g = 2 * adv_w * scale_g / (cnt[last] * nd);
                for (size_t i = 0; i < no; i++)
                    df[last][i] = (REAL)(g * (ofk[i] - 1));
                for (int i = 0; i < last; i++) {
                    size_t ne = (size_t)(cnt[i] / p);
                    double gf = fm_w * scale_g / (cnt[i] * nd * last);
                    for (size_t e = 0; e < ne; e++) {
                        double dd = (double)af[i][e] - (double)re[i][e];
                        df[i][e] = (REAL)(dd > 0 ? gf : dd < 0 ? -gf : 0);
                    }
                }
                memset(dxf, 0, TC * sizeof(REAL));
                NN(seq_backward)(d, P, k, xf, T, af, df, dz, gscratch, dxf);
                for (int t = 0; t < T; t++)
                    for (int e = 0; e < C; e++)
                        dfake[((size_t)t * p + j) * C + e] += dxf[(size_t)t * C + e];
            }
        }
    }
    if (out)
        *out = L;
    return TTS_OK;
}
