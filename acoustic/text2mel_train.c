/*
 * The acoustic model's training (acoustic/text2mel.h's training section): the batched
 * teacher-forced passes, their backward passes and losses, the pitch targets and the
 * batched post-net. Built into tts-train, not the library (acoustic/text2mel.c is the
 * model and its synthesis; acoustic/text2mel_impl.h what the two share).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acoustic/prosody.h"
#include "acoustic/text2mel_impl.h"

/* dy[T, cout of the last layer] in; dx (accumulated, may be NULL) out. */
static int stack_backward(const t2m_stack *s, const float *P, float *G, const float *x, int T,
                          const layer_act *act, const float *dy_top, float *dx, t2m_arena *ar,
                          float p_drop)
{
    const float *dy = dy_top;
    for (int i = s->n - 1; i >= 0; i--) {
        const t2m_conv *c = &s->l[i];
        int co = t2m_conv_out(c);
        const float *in = i ? act[i - 1].y : x;
        float *dxi = i ? t2m_arena_zeros(ar, (size_t)T * c->cin) : dx;
        if (i && !dxi)
            return -1;
        const float *dh = dy;
        if (c->act != T2M_ACT_NONE) {
            float *t = t2m_arena_zeros(ar, (size_t)T * co);
            if (!t)
                return -1;
            if (c->act == T2M_ACT_RELU)
                relu_backward_f(t, dy, act[i].y, (size_t)T * co);
            else
                highway_backward_f(t, dxi, dy, act[i].h, in, T, c->cout);
            dh = t;
        }
        if (act[i].xd) {
            float *dxd = dxi ? t2m_arena_zeros(ar, (size_t)T * c->cin) : NULL;
            if (dxi && !dxd)
                return -1;
            conv1d_backward_f(dxd, G + c->w, G + c->b, dh, act[i].xd, P + c->w, T, c->cin, co,
                              c->K, c->dil, c->causal);
            if (dxi)
                dropout_backward_f(dxi, dxd, act[i].mask, (size_t)T * c->cin, p_drop);
        } else {
            conv1d_backward_f(dxi, G + c->w, G + c->b, dh, in, P + c->w, T, c->cin, co, c->K,
                              c->dil, c->causal);
        }
        dy = dxi;
    }
    return 0;
}

static int stack_out(const t2m_stack *s)
{
    return s->l[s->n - 1].cout;
}

/* the pitch fed to a model with pitch, and what its backward pass needs */
typedef struct {
    const float *tok;  /* given per-token pitch [N], or NULL */
    const float *lf0;  /* else frames' normalized ln F0 [F] (NaN: unvoiced), or NULL */
    int F;
    const float *phat; /* else the predictor's [N] */
    float *p;          /* [N]: the pitch fed (caller-owned) */
    layer_act act[1];  /* PitchEmb's activation */
    float *veff;       /* V + PitchEmb(p) [N, d] (arena) */
} pitch_feed;

void t2m_pitch_targets(const float *A, int S, int N, int r, const float *lf0, int F, float *out)
{
    for (int n = 0; n < N; n++) {
        double num = 0, den = 0;
        for (int s = 0; s < S; s++) {
            double a = A[(size_t)s * N + n], v = 0, z = 0;
            if (a == 0)
                continue;
            for (int j = 0; j < r && s * r + j < F; j++)
                if (!isnan(lf0[s * r + j])) {
                    v++;
                    z += lf0[s * r + j];
                }
            num += a * z;
            den += a * v;
        }
        out[n] = den >= 0.5 ? (float)(num / den) : 0.0f;
    }
}

int t2m_predict_pitch(const t2m_model *m, const int *ids, int N, float *out, t2m_arena *ar)
{
    const t2m_config *c = &m->cfg;
    if (!m->pitch.n || N <= 0 || (c->pitch_ctx && !m->pclass))
        return TTS_E_INVALID;
    if (t2m_arena_reserve(ar, sizeof(float) * (size_t)N * (2 * c->embed_dim + t2m_stack_floats_per_step(&m->text) +
                                                       t2m_stack_floats_per_step(&m->pitch) +
                                                       2 * T2M_PROSODY_FEATS + 16)))
        return TTS_E_NOMEM;
    float *E = t2m_arena_floats(ar, (size_t)N * c->embed_dim);
    layer_act tact[T2M_MAX_LAYERS], pact[T2M_MAX_LAYERS];
    const float *X;
    if (!E)
        return TTS_E_NOMEM;
    embedding_forward_f(E, ids, m->p.params + m->embed, N, c->embed_dim);
    if (t2m_stack_forward(&m->text, m->p.params, E, N, tact, ar, 0, NULL) ||
        !(X = t2m_pitch_input(m, ids, N, E, tact[m->text.n - 1].y, ar)) ||
        t2m_stack_forward(&m->pitch, m->p.params, X, N, pact, ar, 0, NULL))
        return TTS_E_NOMEM;
    memcpy(out, pact[m->pitch.n - 1].y, sizeof(float) * N);
    return TTS_OK;
}

int t2m_pitch_inputs(const t2m_model *m, const int *ids, int N, float *X, t2m_arena *ar)
{
    const t2m_config *c = &m->cfg;
    if (N <= 0 || !m->pitch.n || (c->pitch_ctx && !m->pclass))
        return TTS_E_INVALID;
    if (t2m_arena_reserve(ar, sizeof(float) * (size_t)N * (2 * c->embed_dim + t2m_stack_floats_per_step(&m->text) +
                                                       2 * T2M_PROSODY_FEATS + 16)))
        return TTS_E_NOMEM;
    float *E = t2m_arena_floats(ar, (size_t)N * c->embed_dim);
    layer_act tact[T2M_MAX_LAYERS];
    const float *in;
    if (!E)
        return TTS_E_NOMEM;
    embedding_forward_f(E, ids, m->p.params + m->embed, N, c->embed_dim);
    if (t2m_stack_forward(&m->text, m->p.params, E, N, tact, ar, 0, NULL) ||
        !(in = t2m_pitch_input(m, ids, N, E, tact[m->text.n - 1].y, ar)))
        return TTS_E_NOMEM;
    memcpy(X, in, sizeof(float) * (size_t)N * m->pitch.l[0].cin);
    return TTS_OK;
}

int t2m_pitch_fit(const t2m_model *m, float *grads, const float *X, int N, const float *target,
                  float p_drop, uint64_t *rng, t2m_arena *ar, float *out, double *loss)
{
    if (!m->pitch.n || N <= 0)
        return TTS_E_INVALID;
    if (t2m_arena_reserve(ar, sizeof(float) * (size_t)N * (2 * t2m_stack_floats_per_step(&m->pitch) + 16) + 4096))
        return TTS_E_NOMEM;
    layer_act pact[T2M_MAX_LAYERS];
    if (t2m_stack_forward(&m->pitch, m->p.params, X, N, pact, ar, grads ? p_drop : 0, rng))
        return TTS_E_NOMEM;
    const float *ph = pact[m->pitch.n - 1].y;
    float *dy = grads ? t2m_arena_floats(ar, (size_t)N) : NULL;
    if (grads && !dy)
        return TTS_E_NOMEM;
    double l = 0;
    for (int n = 0; n < N; n++) {
        double e = (double)ph[n] - target[n];
        l += e * e / N;
        if (dy)
            dy[n] = (float)(2 * e / N);
        if (out)
            out[n] = ph[n];
    }
    *loss = l;
    if (grads && stack_backward(&m->pitch, m->p.params, grads, X, N, pact, dy, NULL, ar,
                                grads ? p_drop : 0))
        return TTS_E_NOMEM;
    return TTS_OK;
}

/* AudioEnc -> attention -> AudioDec over the decoder inputs X[S, r*n_mels], batched: the
 * output frames [S, r*n_mels] (the last layer's activation); *A [S, N] and *RQ [S, 2d]
 * from the arena. pf (a model with pitch): the pitch is fed into V first. NULL: out of
 * memory. */
static const float *audio_forward(const t2m_model *m, const float *X, int S, const float *K,
                                  const float *V, int N, layer_act *aact, layer_act *oact,
                                  float **A, float **RQ, t2m_arena *ar, float pd, uint64_t *rng,
                                  pitch_feed *pf)
{
    const float *P = m->p.params;
    int d = m->cfg.d;
    if (t2m_stack_forward(&m->aenc, P, X, S, aact, ar, pd, rng))
        return NULL;
    const float *Q = aact[m->aenc.n - 1].y; /* [S, d] */
    float *R = t2m_arena_floats(ar, (size_t)S * d);
    *A = t2m_arena_floats(ar, (size_t)S * N);
    *RQ = t2m_arena_floats(ar, (size_t)S * 2 * d);
    if (!R || !*A || !*RQ)
        return NULL;
    /* the attention's logits times the model's sharpening: the same as scaling Q */
    float sh = m->cfg.attn_sharpen > 0 ? m->cfg.attn_sharpen : 1.0f;
    const float *Qa = Q;
    if (sh != 1.0f) {
        float *Qs = t2m_arena_floats(ar, (size_t)S * d);
        if (!Qs)
            return NULL;
        for (size_t k = 0; k < (size_t)S * d; k++)
            Qs[k] = sh * Q[k];
        Qa = Qs;
    }
    if (pf) {
        if (pf->tok) {
            memcpy(pf->p, pf->tok, sizeof(float) * N);
        } else if (pf->lf0) { /* the attention does not depend on V: read the pitch off it */
            attention_forward_f(R, *A, Qa, K, V, S, N, d, d);
            t2m_pitch_targets(*A, S, N, m->cfg.r, pf->lf0, pf->F, pf->p);
        } else {
            memcpy(pf->p, pf->phat, sizeof(float) * N);
        }
        pf->veff = t2m_arena_floats(ar, (size_t)N * d);
        if (!pf->veff || t2m_stack_forward(&m->pemb, P, pf->p, N, pf->act, ar, 0, NULL))
            return NULL;
        const float *pe = pf->act[0].y;
        for (size_t k = 0; k < (size_t)N * d; k++)
            pf->veff[k] = V[k] + pe[k];
        V = pf->veff;
    }
    attention_forward_f(R, *A, Qa, K, V, S, N, d, d);
    for (int s = 0; s < S; s++) {
        memcpy(*RQ + (size_t)s * 2 * d, R + (size_t)s * d, sizeof(float) * d);
        memcpy(*RQ + (size_t)s * 2 * d + d, Q + (size_t)s * d, sizeof(float) * d);
    }
    if (t2m_stack_forward(&m->adec, P, *RQ, S, oact, ar, pd, rng))
        return NULL;
    return oact[m->adec.n - 1].y;
}

/* y[T, n_mels] = x + PostNet(x) (the post-net must exist); act for the backward pass */
static int post_forward(const t2m_model *m, const float *x, int T, float *y, layer_act *act,
                        t2m_arena *ar, float pd, uint64_t *rng)
{
    if (t2m_stack_forward(&m->post, m->p.params, x, T, act, ar, pd, rng))
        return -1;
    const float *corr = act[m->post.n - 1].y;
    for (size_t k = 0; k < (size_t)T * m->cfg.n_mels; k++)
        y[k] = x[k] + corr[k];
    return 0;
}

/* ---- training -------------------------------------------------------------------------- */

/* The global-variance term (t2m_train_opts.gv_weight): the mel-cepstrum c_1..c_24 of the
 * output frames (an orthonormal DCT over the bands of the log-mel frames, in nats: each
 * normalized band times its std) should vary over the utterance's speech as much as the
 * recording's. Speech frames: the recording's loudest band within T2M_GV_RANGE of the
 * utterance's loudest (as the naturalness measure's "detail" counts them). */
#define T2M_GV_DIM 24
#define T2M_GV_RANGE 4.6f
static int gv_term(const t2m_model *m, float *dy, const float *y, const float *Y, int T, int F,
                   t2m_arena *ar, double scale, double *out)
{
    const int nm = m->cfg.n_mels;
    if (F > T)
        F = T;
    float *W = t2m_arena_floats(ar, (size_t)T2M_GV_DIM * nm), *mx = t2m_arena_floats(ar, (size_t)T);
    unsigned char *mask = (unsigned char *)t2m_arena_floats(ar, (size_t)T / sizeof(float) + 1);
    if (!W || !mx || !mask)
        return TTS_E_NOMEM;
    for (int k = 0; k < T2M_GV_DIM; k++)
        for (int b = 0; b < nm; b++)
            W[(size_t)k * nm + b] =
                (float)(cos(M_PI / nm * (b + 0.5) * (k + 1)) * sqrt(2.0 / nm) * m->mel_std[b]);
    /* each recorded frame's loudest band in nats; the speech frames among them */
    float loud = -INFINITY;
    for (int t = 0; t < F; t++) {
        mx[t] = -INFINITY;
        for (int b = 0; b < nm; b++)
            mx[t] = fmaxf(mx[t], Y[(size_t)t * nm + b] * m->mel_std[b] + m->mel_mean[b]);
        loud = fmaxf(loud, mx[t]);
    }
    for (int t = 0; t < T; t++)
        mask[t] = t < F && mx[t] >= loud - T2M_GV_RANGE;
    *out = gv_loss_f(dy, y, Y, mask, T, nm, W, T2M_GV_DIM, scale);
    return TTS_OK;
}

int t2m_train_utterance(const t2m_model *m, const int *ids, int N, const float *mel, int F,
                        const t2m_train_opts *o, float *grads, float grad_scale, uint64_t *rng,
                        t2m_arena *ar, t2m_loss *loss, float *align)
{
    const t2m_config *c = &m->cfg;
    const float *P = m->p.params;
    int d = c->d, r = c->r, nm = c->n_mels, fr = r * nm, tc2 = 2 * d;
    int S = (F + r - 1) / r;
    if (N <= 0 || F <= 0)
        return TTS_E_INVALID;

    size_t need = sizeof(float) * ((size_t)N * (t2m_stack_floats_per_step(&m->text) + 6 * d + c->embed_dim * 4 +
                                                4 * T2M_PROSODY_FEATS) +
                                   (size_t)S * (t2m_stack_floats_per_step(&m->aenc) +
                                                t2m_stack_floats_per_step(&m->adec) + 6 * fr + 18 * d) +
                                   (size_t)S * N * 4 +
                                   (size_t)S * r * (t2m_stack_floats_per_step(&m->post) + 4 * nm + 2) +
                                   (size_t)T2M_GV_DIM * nm +
                                   (size_t)N * (t2m_stack_floats_per_step(&m->pitch) +
                                                t2m_stack_floats_per_step(&m->pemb) + 4 * d + 8) + 16384);
    if (t2m_arena_reserve(ar, need))
        return TTS_E_NOMEM;

    /* targets Y[S, fr]; the last step is padded by repeating the last frame (the end of
     * a trimmed utterance is near-silence). Decoder input = Y shifted by one step. */
    float *Y = t2m_arena_floats(ar, (size_t)S * fr), *X = t2m_arena_zeros(ar, (size_t)S * fr);
    for (int f = 0; f < S * r; f++)
        memcpy(Y + (size_t)f * nm, mel + (size_t)(f < F ? f : F - 1) * nm, sizeof(float) * nm);
    if (S > 1) {
        size_t n = (size_t)(S - 1) * fr;
        if (grads && o->input_dropout > 0) {
            unsigned char *mask = (unsigned char *)t2m_arena_floats(ar, n / 4 + 1);
            dropout_forward_f(X + fr, mask, Y, n, o->input_dropout, rng);
        } else {
            memcpy(X + fr, Y, n * sizeof(float));
        }
    }

    /* text side */
    float *E = t2m_arena_floats(ar, (size_t)N * c->embed_dim);
    embedding_forward_f(E, ids, P + m->embed, N, c->embed_dim);
    layer_act tact[T2M_MAX_LAYERS], aact[T2M_MAX_LAYERS], oact[T2M_MAX_LAYERS];
    float pd = o->layer_dropout; /* the caller turns it off for validation */
    if (t2m_stack_forward(&m->text, P, E, N, tact, ar, pd, rng))
        return TTS_E_NOMEM;
    const float *KV = tact[m->text.n - 1].y; /* [N, 2d] */
    float *K = t2m_arena_floats(ar, (size_t)N * d), *V = t2m_arena_floats(ar, (size_t)N * d);
    for (int n = 0; n < N; n++) {
        memcpy(K + (size_t)n * d, KV + (size_t)n * tc2, sizeof(float) * d);
        memcpy(V + (size_t)n * d, KV + (size_t)n * tc2 + d, sizeof(float) * d);
    }

    /* pitch: the predictor's, and the pitch fed (given, read off the attention, or the
     * predictor's) */
    layer_act pact_p[T2M_MAX_LAYERS];
    pitch_feed pfeed = {0}, *pf = NULL;
    float ppd = o->pitch_dropout > 0 && pd > 0 ? o->pitch_dropout : pd; /* the predictor's */
    const float *phat = NULL, *pin = NULL;
    if (m->pitch.n) {
        if (!(pin = t2m_pitch_input(m, ids, N, E, KV, ar)) ||
            t2m_stack_forward(&m->pitch, P, pin, N, pact_p, ar, ppd, rng))
            return TTS_E_NOMEM;
        phat = pact_p[m->pitch.n - 1].y;
        pfeed.tok = o->pitch_tok;
        pfeed.lf0 = o->lf0;
        pfeed.F = F;
        pfeed.phat = phat;
        pfeed.p = t2m_arena_floats(ar, (size_t)N);
        if (!pfeed.p)
            return TTS_E_NOMEM;
        pf = &pfeed;
    }

    /* self-feeding: a first pass, without dropout or gradients, predicts
     * every step from the recorded frames; then a share of the steps get that prediction
     * of the step before as their input instead of the recording, as at inference, where
     * the decoder reads its own smoother frames */
    if (o->self_feed > 0 && S > 1) {
        unsigned char *fed = (unsigned char *)t2m_arena_floats(ar, (size_t)S / 4 + 1);
        if (!fed)
            return TTS_E_NOMEM;
        for (int s = 1; s < S; s++)
            fed[s] = nn_rand_uniform(rng) < o->self_feed;
        int passes = o->self_feed_passes > 1 ? o->self_feed_passes : 1;
        for (int p = 0; p < passes; p++) {
            size_t mark = ar->used;
            float *A1, *RQ1;
            const float *out1 =
                audio_forward(m, X, S, K, V, N, aact, oact, &A1, &RQ1, ar, 0, NULL, pf);
            if (!out1)
                return TTS_E_NOMEM;
            /* each fed step reads this pass's prediction of the step before, made from
             * the inputs of the pass before */
            for (int s = 1; s < S; s++)
                if (fed[s])
                    memcpy(X + (size_t)s * fr, out1 + (size_t)(s - 1) * fr, sizeof(float) * fr);
            ar->used = mark; /* nothing of a first pass is kept */
        }
    }

    /* audio side */
    float *A, *RQ;
    const float *out = audio_forward(m, X, S, K, V, N, aact, oact, &A, &RQ, ar, pd, rng, pf);
    if (!out)
        return TTS_E_NOMEM;
    const float *Q = aact[m->aenc.n - 1].y; /* [S, d] */
    if (stack_out(&m->adec) != fr)
        return TTS_E_INTERNAL;

    /* post-net over the frames [S*r, nm] (the same memory as [S, fr]) */
    int T = S * r;
    layer_act pact[T2M_MAX_LAYERS];
    float *yp = NULL;
    if (m->post.n) {
        yp = t2m_arena_floats(ar, (size_t)T * nm);
        if (!yp || post_forward(m, out, T, yp, pact, ar, pd, rng))
            return TTS_E_NOMEM;
    }

    /* losses */
    double (*frame_loss)(float *, const float *, const float *, size_t, double) =
        o->use_l2 ? l2_loss_f : l1_loss_f;
    float *dout = grads ? t2m_arena_zeros(ar, (size_t)S * fr) : NULL;
    float *dpost = grads && yp ? t2m_arena_zeros(ar, (size_t)T * nm) : NULL;
    float *dA = grads ? t2m_arena_zeros(ar, (size_t)S * N) : NULL;
    if (grads && (!dout || !dA || (yp && !dpost)))
        return TTS_E_NOMEM;
    loss->l1_pre = frame_loss(dout, out, Y, (size_t)S * fr, grad_scale);
    loss->l1 = yp ? frame_loss(dpost, yp, Y, (size_t)T * nm, grad_scale) : loss->l1_pre;
    loss->guided = guided_attention_loss_f(dA, A, S, N, o->guided_g, o->guided_weight * grad_scale);
    /* the frame-change terms, on the output frames (the post-net's, when there is one) */
    const float *fin = yp ? yp : out;
    float *dfin = yp ? dpost : dout;
    loss->delta = 0;
    if (o->delta_weight > 0)
        loss->delta += delta_l1_loss_f(dfin, fin, Y, T, nm, o->delta_weight * grad_scale);
    if (o->var_weight > 0)
        loss->delta += delta_var_loss_f(dfin, fin, Y, T, nm, o->var_weight * grad_scale);
    loss->gv = 0;
    if (o->gv_weight > 0 && gv_term(m, dfin, fin, Y, T, F, ar, o->gv_weight * grad_scale, &loss->gv))
        return TTS_E_NOMEM;
    loss->extra = 0;
    if (o->frame_loss) {
        int rc = o->frame_loss(o->frame_loss_ctx, dfin, fin, Y, T, F < T ? F : T, grad_scale,
                               &loss->extra);
        if (rc)
            return rc;
    }
    /* the predictor against the pitch fed (a constant: no gradient into the targets) */
    loss->pitch = 0;
    float *dphat = NULL;
    if (pf && o->pitch_weight > 0 && (pfeed.tok || pfeed.lf0)) {
        dphat = grads ? t2m_arena_floats(ar, (size_t)N) : NULL;
        if (grads && !dphat)
            return TTS_E_NOMEM;
        double w = o->pitch_weight / N;
        for (int n = 0; n < N; n++) {
            double e = (double)phat[n] - pf->p[n];
            loss->pitch += w * e * e;
            if (dphat)
                dphat[n] = (float)(2 * w * e * grad_scale);
        }
    }
    if (grad_scale != 0) {
        loss->l1 /= grad_scale;
        loss->l1_pre /= grad_scale;
        loss->guided /= grad_scale;
        loss->delta /= grad_scale;
        loss->gv /= grad_scale;
    }
    loss->total = loss->l1 + (yp ? loss->l1_pre : 0) + loss->guided + loss->delta + loss->gv +
                  loss->pitch + loss->extra;
    loss->n_steps = S;
    loss->n_tokens = N;
    if (align)
        memcpy(align, A, sizeof(float) * (size_t)S * N);
    if (o->pred) /* [S*r >= F, nm] row-major */
        memcpy(o->pred, yp ? yp : out, sizeof(float) * (size_t)F * nm);
    if (!grads)
        return TTS_OK;

    /* backward */
    if (yp) { /* y = out + PostNet(out) */
        for (size_t k = 0; k < (size_t)T * nm; k++)
            dout[k] += dpost[k];
        if (stack_backward(&m->post, P, grads, out, T, pact, dpost, dout, ar, pd))
            return TTS_E_NOMEM;
    }
    float *dRQ = t2m_arena_zeros(ar, (size_t)S * tc2);
    if (!dRQ || stack_backward(&m->adec, P, grads, RQ, S, oact, dout, dRQ, ar, pd))
        return TTS_E_NOMEM;
    float *dR = t2m_arena_floats(ar, (size_t)S * d), *dQ = t2m_arena_floats(ar, (size_t)S * d);
    float *dK = t2m_arena_zeros(ar, (size_t)N * d), *dV = t2m_arena_zeros(ar, (size_t)N * d);
    float *scratch = t2m_arena_floats(ar, (size_t)S * N);
    if (!dR || !dQ || !dK || !dV || !scratch)
        return TTS_E_NOMEM;
    for (int s = 0; s < S; s++) {
        memcpy(dR + (size_t)s * d, dRQ + (size_t)s * tc2, sizeof(float) * d);
        memcpy(dQ + (size_t)s * d, dRQ + (size_t)s * tc2 + d, sizeof(float) * d);
    }
    float sh = c->attn_sharpen > 0 ? c->attn_sharpen : 1.0f;
    if (pf) /* the attention's values were V + PitchEmb(p) */
        V = pf->veff;
    if (sh == 1.0f) {
        attention_backward_f(dQ, dK, dV, dR, dA, A, Q, K, V, scratch, S, N, d, d);
    } else { /* the attention saw sh * Q */
        float *Qs = t2m_arena_floats(ar, (size_t)S * d), *dQs = t2m_arena_zeros(ar, (size_t)S * d);
        if (!Qs || !dQs)
            return TTS_E_NOMEM;
        for (size_t k = 0; k < (size_t)S * d; k++)
            Qs[k] = sh * Q[k];
        attention_backward_f(dQs, dK, dV, dR, dA, A, Qs, K, V, scratch, S, N, d, d);
        for (size_t k = 0; k < (size_t)S * d; k++)
            dQ[k] += sh * dQs[k];
    }
    if (stack_backward(&m->aenc, P, grads, X, S, aact, dQ, NULL, ar, pd))
        return TTS_E_NOMEM;
    float *dKV = t2m_arena_floats(ar, (size_t)N * tc2), *dE = t2m_arena_zeros(ar, (size_t)N * c->embed_dim);
    if (!dKV || !dE)
        return TTS_E_NOMEM;
    for (int n = 0; n < N; n++) {
        memcpy(dKV + (size_t)n * tc2, dK + (size_t)n * d, sizeof(float) * d);
        memcpy(dKV + (size_t)n * tc2 + d, dV + (size_t)n * d, sizeof(float) * d);
    }
    if (pf) { /* the embedding of the pitch fed; the predictor's loss into the encoder */
        if (stack_backward(&m->pemb, P, grads, pf->p, N, pf->act, dV, NULL, ar, 0))
            return TTS_E_NOMEM;
        if (dphat && !c->pitch_ctx &&
            stack_backward(&m->pitch, P, grads, pin, N, pact_p, dphat, dKV, ar, ppd))
            return TTS_E_NOMEM;
        if (dphat && c->pitch_ctx) { /* into the embedding: the first columns of its input */
            int w = m->pitch.l[0].cin;
            float *dX = t2m_arena_zeros(ar, (size_t)N * w);
            if (!dX || stack_backward(&m->pitch, P, grads, pin, N, pact_p, dphat, dX, ar, ppd))
                return TTS_E_NOMEM;
            for (int n = 0; n < N; n++)
                for (int j = 0; j < c->embed_dim; j++)
                    dE[(size_t)n * c->embed_dim + j] += dX[(size_t)n * w + j];
        }
    }
    if (stack_backward(&m->text, P, grads, E, N, tact, dKV, dE, ar, pd))
        return TTS_E_NOMEM;
    embedding_backward_f(grads + m->embed, dE, ids, N, c->embed_dim);
    return TTS_OK;
}


int t2m_postnet(const t2m_model *m, const float *x, int T, float *y, t2m_arena *ar)
{
    int nm = m->cfg.n_mels;
    if (!m->post.n) {
        memcpy(y, x, sizeof(float) * (size_t)T * nm);
        return TTS_OK;
    }
    layer_act act[T2M_MAX_LAYERS];
    if (t2m_arena_reserve(ar, sizeof(float) * ((size_t)T * t2m_stack_floats_per_step(&m->post) + 1024)) ||
        post_forward(m, x, T, y, act, ar, 0, NULL))
        return TTS_E_NOMEM;
    return TTS_OK;
}
