/*
 * One gated layer of the vocoder (vocoder.h's "layer l"), written once over a real type:
 * vocoder/layer.c instantiates it in float for the stream (and the float batched pass),
 * train/voc_train.c in double for the gradient checks. The includer defines REAL, NN(name)
 * (the suffix _f or _d), LGEMM (nn_sgemm's arguments, row-major), VTANH and VSIGMOID
 * (in place over n values), and VOC_LAYER_INT8 where the layer may run its products in
 * 8-bit integers (float only: the model's int8 weights, qwork).
 *
 * The streamed pass runs it on one block of hs steps with the layer's history before it;
 * the batched pass on a whole utterance with zeros before it. Same function, same order
 * of operations: the stream's blocks are the batched pass's steps.
 */

/* Upsampling by linear interpolation, ADDED into h (declared in vocoder.h) */
void NN(voc_upsample_forward)(REAL *h, int ldh, const REAL *P, int ldp, int n, int n_blocks,
                              int hs, int la)
{
    for (int t = 0; t < n_blocks; t++) {
        const REAL *p1 = P + (size_t)(t + la) * ldp;
        const REAL *p0 = P + (size_t)(t + la - 1 > 0 ? t + la - 1 : 0) * ldp;
        for (int j = 0; j < hs; j++) {
            REAL a = (REAL)(j + 1) / (REAL)hs, b = 1 - a;
            REAL *hr = h + ((size_t)t * hs + j) * ldh;
            for (int c = 0; c < n; c++)
                hr[c] += b * p0[c] + a * p1[c];
        }
    }
}

void NN(voc_layer_forward)(const voc_model *m, const REAL *P, int l, const REAL *xh, int nb,
                           const REAL *cond, int ldc, int la, REAL *h, REAL *z, REAL *o,
                           REAL *xn, REAL *skip, void *qwork)
{
    const voc_config *c = &m->cfg;
    int C = c->res_ch, S = c->skip_ch, K = c->kernel, hs = c->hop / c->fold, T = nb * hs;
    int d = m->layer[l].dil, hl = (K - 1) * d;
    const REAL r2 = (REAL)0.70710678118654752440;
    const REAL *x = xh + (size_t)hl * C;
    /* the dilated causal conv: tap k reads (K - 1 - k) d steps back */
    for (int t = 0; t < T; t++)
        memcpy(h + (size_t)t * 2 * C, P + m->layer[l].cb, sizeof(REAL) * 2 * C);
#ifdef VOC_LAYER_INT8
    if (m->q8 && qwork)
        voc_int8_taps(m, l, xh, T, h, qwork);
    else
#endif
        for (int k = 0; k < K; k++)
            LGEMM(0, 0, T, 2 * C, C, 1, xh + (size_t)k * d * C, C,
                  P + m->layer[l].cw + (size_t)k * C * 2 * C, 2 * C, 1, h, 2 * C);
    /* the frames' conditioning; the gate */
    NN(voc_upsample_forward)(h, 2 * C, cond, ldc, 2 * C, nb, hs, la);
    for (int t = 0; t < T; t++) {
        REAL *ga = h + (size_t)t * 2 * C, *gb = ga + C, *zt = z + (size_t)t * C;
        VTANH(ga, ga, C);
        VSIGMOID(gb, gb, C);
        for (int k = 0; k < C; k++)
            zt[k] = ga[k] * gb[k];
    }
    /* the 1x1 to the residual and skip outputs */
    for (int t = 0; t < T; t++)
        memcpy(o + (size_t)t * (C + S), P + m->layer[l].ob, sizeof(REAL) * (C + S));
#ifdef VOC_LAYER_INT8
    if (m->q8 && qwork)
        voc_int8_out(m, l, z, T, o, qwork);
    else
#endif
        LGEMM(0, 0, T, C + S, C, 1, z, C, P + m->layer[l].ow, C + S, 1, o, C + S);
    (void)qwork;
    for (int t = 0; t < T; t++) {
        const REAL *xt = x + (size_t)t * C, *ot = o + (size_t)t * (C + S);
        REAL *xo = xn + (size_t)t * C, *st = skip + (size_t)t * S;
        for (int k = 0; k < C; k++)
            xo[k] = (xt[k] + ot[k]) * r2;
        for (int k = 0; k < S; k++)
            st[k] += ot[C + k];
    }
}
