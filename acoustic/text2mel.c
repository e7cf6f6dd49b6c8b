#include "acoustic/text2mel.h"
#include "acoustic/prosody.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acoustic/text2mel_impl.h"
#include "nn/params_io.h"

t2m_config t2m_config_default(int n_symbols, int n_mels)
{
    t2m_config c = {.n_symbols = n_symbols, .n_mels = n_mels, .r = 4,
                    .embed_dim = 128, .text_ch = 192, .d = 128, .post_ch = 0,
                    .attn_sharpen = 1, .pitch_range = 1};
    return c;
}

/* ---- architecture ------------------------------------------------------------------- */

int t2m_conv_out(const t2m_conv *c)
{
    return c->act == T2M_ACT_HIGHWAY ? 2 * c->cout : c->cout;
}

static void add_conv(t2m_stack *s, nn_params *p, const char *prefix, int cin, int cout, int K,
                     int dil, int causal, int act)
{
    t2m_conv *c = &s->l[s->n];
    char name[64];
    c->cin = cin;
    c->cout = cout;
    c->K = K;
    c->dil = dil;
    c->causal = causal;
    c->act = act;
    int64_t wshape[3] = {K, cin, t2m_conv_out(c)}, bshape[1] = {t2m_conv_out(c)};
    snprintf(name, sizeof name, "%s.%d.w", prefix, s->n);
    c->w = nn_params_add(p, name, 3, wshape);
    snprintf(name, sizeof name, "%s.%d.b", prefix, s->n);
    c->b = nn_params_add(p, name, 1, bshape);
    s->n++;
}

static void build(t2m_model *m)
{
    const t2m_config *c = &m->cfg;
    nn_params *p = &m->p;
    int d = c->d, tc = c->text_ch, fr = c->r * c->n_mels;
    int64_t eshape[2] = {c->n_symbols, c->embed_dim};
    m->embed = nn_params_add(p, "embed", 2, eshape);

    /* TextEnc: centred convs over the phoneme sequence; output [K | V] */
    t2m_stack *t = &m->text;
    add_conv(t, p, "text", c->embed_dim, tc, 1, 1, 0, T2M_ACT_RELU);
    add_conv(t, p, "text", tc, tc, 1, 1, 0, T2M_ACT_NONE);
    static const int tdil[] = {1, 3, 9, 27, 1, 1};
    for (int i = 0; i < 6; i++)
        add_conv(t, p, "text", tc, tc, 3, tdil[i], 0, T2M_ACT_HIGHWAY);
    add_conv(t, p, "text", tc, tc, 1, 1, 0, T2M_ACT_HIGHWAY);
    add_conv(t, p, "text", tc, 2 * d, 1, 1, 0, T2M_ACT_NONE);

    /* AudioEnc: causal convs over the previous frames; output Q */
    t2m_stack *a = &m->aenc;
    add_conv(a, p, "aenc", fr, d, 1, 1, 1, T2M_ACT_RELU);
    add_conv(a, p, "aenc", d, d, 1, 1, 1, T2M_ACT_RELU);
    add_conv(a, p, "aenc", d, d, 1, 1, 1, T2M_ACT_NONE);
    static const int adil[] = {1, 3, 9, 27, 1, 3, 9, 27, 3, 3};
    for (int i = 0; i < 10; i++)
        add_conv(a, p, "aenc", d, d, 3, adil[i], 1, T2M_ACT_HIGHWAY);

    /* AudioDec: causal convs over [R | Q]; output r frames per step */
    t2m_stack *o = &m->adec;
    add_conv(o, p, "adec", 2 * d, d, 1, 1, 1, T2M_ACT_NONE);
    static const int odil[] = {1, 3, 9, 27, 1, 1};
    for (int i = 0; i < 6; i++)
        add_conv(o, p, "adec", d, d, 3, odil[i], 1, T2M_ACT_HIGHWAY);
    for (int i = 0; i < 3; i++)
        add_conv(o, p, "adec", d, d, 1, 1, 1, T2M_ACT_RELU);
    add_conv(o, p, "adec", d, fr, 1, 1, 1, T2M_ACT_NONE);

    /* PostNet: centred convs over the decoded frames, a residual correction. Its reach:
     * 2 (K = 5) + 1 + 3 + 9 = T2M_POST_REACH frames each way. */
    if (c->post_ch > 0) {
        t2m_stack *q = &m->post;
        int pc = c->post_ch;
        add_conv(q, p, "post", c->n_mels, pc, 5, 1, 0, T2M_ACT_RELU);
        static const int pdil[] = {1, 3, 9};
        for (int i = 0; i < 3; i++)
            add_conv(q, p, "post", pc, pc, 3, pdil[i], 0, T2M_ACT_HIGHWAY);
        add_conv(q, p, "post", pc, c->n_mels, 1, 1, 0, T2M_ACT_NONE);
    }

    /* PitchPred: centred convs over the text encoder's [K | V] (5 tokens seen), or over
     * the phoneme embedding and the prosodic context (pitch_ctx: 9 tokens seen), one value
     * per token; PitchEmb: the pitch sequence into the attention's value space */
    if (c->pitch_ch > 0) {
        int pc = c->pitch_ch;
        int pin = c->pitch_ctx ? c->embed_dim + T2M_PROSODY_FEATS : 2 * d;
        int pk = c->pitch_ctx ? 5 : 3;
        add_conv(&m->pitch, p, "pitch", pin, pc, pk, 1, 0, T2M_ACT_RELU);
        add_conv(&m->pitch, p, "pitch", pc, pc, pk, 1, 0, T2M_ACT_RELU);
        add_conv(&m->pitch, p, "pitch", pc, 1, 1, 1, 0, T2M_ACT_NONE);
        add_conv(&m->pemb, p, "pemb", 1, d, 3, 1, 0, T2M_ACT_NONE);
    }

    /* the statistics come last: the trainer keeps the optimizer off everything from here */
    int64_t mshape[1] = {c->n_mels};
    nn_params_add(p, "mel_mean", 1, mshape);
    nn_params_add(p, "mel_std", 1, mshape);
}

static void init_stack(const t2m_stack *s, float *P, uint64_t *rng)
{
    for (int i = 0; i < s->n; i++) {
        const t2m_conv *c = &s->l[i];
        int co = t2m_conv_out(c);
        /* He / Glorot-style scale over the fan-in of all taps */
        double fan_in = (double)c->K * c->cin;
        double sd = c->act == T2M_ACT_RELU ? sqrt(2.0 / fan_in) : sqrt(1.0 / fan_in);
        size_t n = (size_t)c->K * c->cin * co;
        for (size_t j = 0; j < n; j++)
            P[c->w + j] = (float)(sd * nn_rand_normal(rng));
        memset(P + c->b, 0, sizeof(float) * co);
        if (c->act == T2M_ACT_HIGHWAY) /* open the carry gate a little: sigmoid(-1) ~ 0.27 */
            for (int j = 0; j < c->cout; j++)
                P[c->b + j] = -1.0f;
    }
}

int t2m_layout(t2m_model *m, const t2m_config *cfg, tts_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (cfg->n_symbols <= 0 || cfg->n_mels <= 0 || cfg->r <= 0 || cfg->d <= 0 ||
        cfg->text_ch <= 0 || cfg->embed_dim <= 0 || cfg->r > 16 || cfg->d > 4096 ||
        cfg->post_ch < 0 || cfg->post_ch > 4096 || !(cfg->attn_sharpen >= 0) ||
        cfg->pitch_ch < 0 || cfg->pitch_ch > 4096 ||
        cfg->pitch_ctx < 0 || cfg->pitch_ctx > 1 || (cfg->pitch_ctx && !cfg->pitch_ch) || !(cfg->pitch_range >= 0 && cfg->pitch_range <= 4) ||
        (cfg->pitch_ch > 0 && !(cfg->lf0_std > 0 && cfg->lf0_std < 10 && fabsf(cfg->lf0_mean) < 20)) ||
        cfg->attn_sharpen > 100 ||
        cfg->text_ch > 4096 || cfg->embed_dim > 4096 || cfg->n_mels > 1024 ||
        cfg->n_symbols > 100000)
        return tts_seterr(err, TTS_E_FORMAT, "acoustic model: implausible hyper-parameters");
    build(m);
    if (m->p.overflow)
        return tts_seterr(err, TTS_E_INTERNAL, "acoustic model: too many tensors");
    return TTS_OK;
}

int t2m_init(t2m_model *m, const t2m_config *cfg, int for_training, uint64_t seed, tts_err *err)
{
    int rc = t2m_layout(m, cfg, err);
    if (rc)
        return rc;
    if (nn_params_alloc_for(&m->p, for_training))
        return tts_seterr(err, TTS_E_NOMEM, "acoustic model: out of memory");
    float *P = m->p.params;
    uint64_t rng = seed;
    size_t ne = (size_t)cfg->n_symbols * cfg->embed_dim;
    if (seed == 0) /* to be loaded: no drawing of numbers that are overwritten */
        goto stats;
    for (size_t j = 0; j < ne; j++)
        P[m->embed + j] = (float)(0.3 * nn_rand_normal(&rng));
    init_stack(&m->text, P, &rng);
    init_stack(&m->aenc, P, &rng);
    init_stack(&m->adec, P, &rng);
    if (m->post.n) {
        init_stack(&m->post, P, &rng);
        /* the correction starts at zero: a new post-net on a trained decoder changes nothing
         * until it has learnt something */
        const t2m_conv *last = &m->post.l[m->post.n - 1];
        memset(P + last->w, 0, sizeof(float) * (size_t)last->K * last->cin * t2m_conv_out(last));
    }
    if (m->pitch.n) {
        init_stack(&m->pitch, P, &rng);
        /* the pitch enters at zero: a trained decoder given a pitch input starts unchanged */
        const t2m_conv *pe = &m->pemb.l[0];
        memset(P + pe->w, 0, sizeof(float) * (size_t)pe->K * pe->cin * t2m_conv_out(pe));
    }
stats:
    m->mel_mean = P + nn_params_find(&m->p, "mel_mean")->offset;
    m->mel_std = P + nn_params_find(&m->p, "mel_std")->offset;
    for (int i = 0; i < cfg->n_mels; i++)
        m->mel_std[i] = 1;
    return TTS_OK;
}

void t2m_free(t2m_model *m)
{
    nn_params_free(&m->p);
    free(m->pclass);
    m->pclass = NULL;
    free(m->hold);
    m->hold = NULL;
    free(m->gv);
    m->gv = NULL;
}

int t2m_set_prosody(t2m_model *m, const char *symbols, size_t len, tts_err *err)
{
    float *cls = malloc(sizeof(float) * (size_t)m->cfg.n_symbols);
    if (!cls)
        return tts_seterr(err, TTS_E_NOMEM, "acoustic model: out of memory");
    if (t2m_prosody_classes(symbols, len, cls, m->cfg.n_symbols) < 0) {
        free(cls);
        return tts_seterr(err, TTS_E_INVALID, "acoustic model: the symbol table has more "
                          "than the model's %d symbols", m->cfg.n_symbols);
    }
    free(m->pclass);
    m->pclass = cls;
    return TTS_OK;
}

const float *t2m_pitch_input(const t2m_model *m, const int *ids, int N, const float *E,
                             const float *KV, t2m_arena *ar)
{
    if (!m->cfg.pitch_ctx)
        return KV;
    int ed = m->cfg.embed_dim, w = ed + T2M_PROSODY_FEATS;
    float *X = t2m_arena_floats(ar, (size_t)N * w), *F = t2m_arena_floats(ar, (size_t)N * T2M_PROSODY_FEATS);
    if (!X || !F || !m->pclass || t2m_prosody_feats(m->pclass, m->cfg.n_symbols, ids, N, F))
        return NULL;
    for (int n = 0; n < N; n++) {
        memcpy(X + (size_t)n * w, E + (size_t)n * ed, sizeof(float) * ed);
        memcpy(X + (size_t)n * w + ed, F + (size_t)n * T2M_PROSODY_FEATS, sizeof(float) * T2M_PROSODY_FEATS);
    }
    return X;
}

int t2m_set_gv(t2m_model *m, const float *mean, const float *gain, tts_err *err)
{
    int nm = m->cfg.n_mels, D = T2M_GV_DIM;
    free(m->gv);
    m->gv = NULL;
    if (!mean || !gain)
        return TTS_OK;
    for (int d = 0; d < D; d++)
        if (!(fabsf(mean[d]) < 1e4f && gain[d] >= 0 && gain[d] <= 4))
            return tts_seterr(err, TTS_E_FORMAT, "acoustic model: post-filter coefficient %d "
                              "(mean %g, gain %g) out of range", d + 1, mean[d], gain[d]);
    m->gv = malloc(sizeof(float) * (size_t)D * (2 + nm));
    if (!m->gv)
        return tts_seterr(err, TTS_E_NOMEM, "acoustic model: out of memory");
    memcpy(m->gv, mean, sizeof(float) * D);
    memcpy(m->gv + D, gain, sizeof(float) * D);
    for (int d = 0; d < D; d++)
        for (int k = 0; k < nm; k++)
            m->gv[2 * D + (size_t)d * nm + k] =
                (float)(sqrt(2.0 / nm) * cos(M_PI / nm * (k + 0.5) * (d + 1)));
    return TTS_OK;
}

void t2m_gv_apply(const t2m_model *m, float *frame)
{
    if (!m->gv)
        return;
    int nm = m->cfg.n_mels, D = T2M_GV_DIM;
    const float *mu = m->gv, *g = m->gv + D, *basis = m->gv + 2 * D;
    /* speech only: a frame quieter than the voice's average level by T2M_GV_QUIET nats or
     * more is left alone, one within half of that gets the whole filter */
    float level = 0, avg = 0;
    for (int k = 0; k < nm; k++) {
        level += frame[k];
        avg += m->mel_mean[k];
    }
    float w = ((level - avg) / nm + T2M_GV_QUIET) / (0.5f * T2M_GV_QUIET);
    w = w < 0 ? 0 : w > 1 ? 1 : w;
    if (w == 0)
        return;
    float delta[T2M_GV_DIM];
    for (int d = 0; d < D; d++) {
        const float *b = basis + (size_t)d * nm;
        float c = 0;
        for (int k = 0; k < nm; k++)
            c += frame[k] * b[k];
        delta[d] = w * (g[d] - 1) * (c - mu[d]);
    }
    for (int d = 0; d < D; d++) {
        const float *b = basis + (size_t)d * nm;
        for (int k = 0; k < nm; k++)
            frame[k] += delta[d] * b[k];
    }
}

/* ---- scratch memory ------------------------------------------------------------------ */

float *t2m_arena_floats(t2m_arena *a, size_t n)
{
    return nn_arena_take(a, n * sizeof(float));
}

float *t2m_arena_zeros(t2m_arena *a, size_t n)
{
    float *f = t2m_arena_floats(a, n);
    if (f)
        memset(f, 0, n * sizeof(float));
    return f;
}

int t2m_arena_reserve(t2m_arena *a, size_t bytes)
{
    return nn_arena_reserve(a, bytes);
}

void t2m_arena_free(t2m_arena *a)
{
    nn_arena_free(a);
}

/* floats a stack needs per time step: activations plus backward temporaries */
size_t t2m_stack_floats_per_step(const t2m_stack *s)
{
    size_t n = 0;
    for (int i = 0; i < s->n; i++)
        n += 2 * (size_t)t2m_conv_out(&s->l[i]) + 2 * (size_t)s->l[i].cout + 3 * (size_t)s->l[i].cin + 64;
    return n;
}

/* ---- stacks, batched ------------------------------------------------------------------ */

/* a layer's weights in float: P + c->w, or its int8 codes widened into buf as the loader
 * would widen them (a model loaded with t2m_from_mf_mapped) */
static const float *conv_weights(const t2m_conv *c, const float *P, float *buf)
{
    if (!c->q)
        return P + c->w;
    nn_q8_widen(buf, c->q, c->qs, (size_t)c->K * c->cin * t2m_conv_out(c));
    return buf;
}

/* one time step of conv c (conv1d_step_f, or its int8 twin for mapped weights) */
static void conv_step(const t2m_conv *c, const float *P, float *h, const float *x,
                      nn_conv_state *st)
{
    if (c->q)
        conv1d_step_q8(h, x, c->q, c->qs, P + c->b, c->cin, t2m_conv_out(c), c->K, c->dil, st);
    else
        conv1d_step_f(h, x, P + c->w, P + c->b, c->cin, t2m_conv_out(c), c->K, c->dil, st);
}

/* stack_forward with wbuf: room for the largest int8 layer's weights widened */
static int stack_forward_w(const t2m_stack *s, const float *P, const float *x, int T,
                           layer_act *act, t2m_arena *ar, float p_drop, uint64_t *rng,
                           float *wbuf)
{
    const float *in = x;
    for (int i = 0; i < s->n; i++) {
        const t2m_conv *c = &s->l[i];
        int co = t2m_conv_out(c);
        act[i].h = t2m_arena_floats(ar, (size_t)T * co);
        if (!act[i].h)
            return -1;
        const float *cin = in;
        act[i].xd = NULL;
        act[i].mask = NULL;
        if (p_drop > 0) {
            size_t n = (size_t)T * c->cin;
            act[i].xd = t2m_arena_floats(ar, n);
            act[i].mask = (unsigned char *)t2m_arena_floats(ar, n / 4 + 1);
            if (!act[i].xd || !act[i].mask)
                return -1;
            dropout_forward_f(act[i].xd, act[i].mask, in, n, p_drop, rng);
            cin = act[i].xd;
        }
        conv1d_forward_f(act[i].h, cin, conv_weights(c, P, wbuf), P + c->b, T, c->cin, co, c->K,
                         c->dil, c->causal);
        if (c->act == T2M_ACT_NONE) {
            act[i].y = act[i].h;
        } else {
            act[i].y = t2m_arena_floats(ar, (size_t)T * c->cout);
            if (!act[i].y)
                return -1;
            if (c->act == T2M_ACT_RELU)
                relu_forward_f(act[i].y, act[i].h, (size_t)T * co);
            else
                highway_forward_f(act[i].y, act[i].h, in, T, c->cout);
        }
        in = act[i].y;
    }
    return 0;
}

/* p_drop > 0 (training): dropout on every conv's input, not on the highway carry path */
int t2m_stack_forward(const t2m_stack *s, const float *P, const float *x, int T,
                         layer_act *act, t2m_arena *ar, float p_drop, uint64_t *rng)
{
    /* int8 layers (synthesis) are widened one at a time into one scratch buffer */
    size_t most = 0;
    for (int i = 0; i < s->n; i++)
        if (s->l[i].q && (size_t)s->l[i].K * s->l[i].cin * t2m_conv_out(&s->l[i]) > most)
            most = (size_t)s->l[i].K * s->l[i].cin * t2m_conv_out(&s->l[i]);
    float *wbuf = most ? malloc(sizeof(float) * most) : NULL;
    if (most && !wbuf)
        return -1;
    int rc = stack_forward_w(s, P, x, T, act, ar, p_drop, rng, wbuf);
    free(wbuf);
    return rc;
}

/* ---- inference --------------------------------------------------------------------- */

t2m_infer_opts t2m_infer_opts_default(const t2m_model *m)
{
    int r = m->cfg.r;
    float sharp = m->cfg.attn_sharpen > 0 ? m->cfg.attn_sharpen : 1.0f;
    /* in frames of 12.5 ms: 64 on one token (0.8 s, longer than any phoneme) before the
     * forced advance, 16 per token on average at most, 8000 (100 s) in all. The window
     * looks one token ahead per 2 frames of a step (with passable marks, past them): with
     * wider windows the argmax could pass over a short token ('a' = one schwa) in a single
     * step, and the word went unsaid (r = 2 voice of session 4, ahead 3 -> 1: 14 -> 0 words
     * under one frame of attention on 177 sentences, WER 29.6 -> 27.5 % on the validation
     * takes) */
    r = r < 1 ? 1 : r;
    t2m_infer_opts o = {.window_back = 1, .window_ahead = r < 4 ? 1 : r / 2, .max_stay = (64 + r - 1) / r,
                        .quiet_margin = 1.0f, .max_steps_per_token = (16 + r - 1) / r, .attn_sharpen = sharp,
                        .max_steps = (8000 + r - 1) / r, .hold = m->hold, .hold_scale = T2M_HOLD_SCALE,
                        .pitch_range = m->cfg.pitch_range > 0 ? m->cfg.pitch_range : 1};
    return o;
}

int t2m_stay_limit(const t2m_infer_opts *o, int id, int r)
{
    int limit = o->max_stay;
    if (o->passable && o->passable[id] && o->max_stay_passable > 0 &&
        (limit <= 0 || o->max_stay_passable < limit))
        limit = o->max_stay_passable;
    if (o->hold && o->hold_scale > 0 && o->hold[id] > 0) {
        float f = o->hold_scale * o->hold[id];
        f = f < T2M_MIN_HOLD ? T2M_MIN_HOLD : f;
        r = r < 1 ? 1 : r;
        int steps = f >= 1e6f ? 1000000 : (int)ceilf(f / (float)r);
        if (limit <= 0 || steps < limit)
            limit = steps;
    }
    return limit;
}

typedef struct {
    nn_conv_state st[T2M_MAX_LAYERS];
    size_t maxc; /* the widest layer input or conv output */
    float *buf;  /* scratch for one step: 3 * maxc */
} stack_state;

static int stack_state_init(stack_state *ss, const t2m_stack *s)
{
    memset(ss, 0, sizeof *ss);
    for (int i = 0; i < s->n; i++) {
        const t2m_conv *c = &s->l[i];
        ss->st[i].len = (c->K - 1) * c->dil;
        if (ss->st[i].len > 0) {
            ss->st[i].hist = calloc((size_t)ss->st[i].len * c->cin, sizeof(float));
            if (!ss->st[i].hist)
                return -1;
        }
        size_t co = (size_t)t2m_conv_out(c);
        if (co > ss->maxc)
            ss->maxc = co;
        if ((size_t)c->cin > ss->maxc)
            ss->maxc = c->cin;
    }
    ss->buf = calloc(3 * ss->maxc, sizeof(float));
    return ss->buf ? 0 : -1;
}

static void stack_state_free(stack_state *ss, const t2m_stack *s)
{
    for (int i = 0; i < s->n; i++)
        free(ss->st[i].hist);
    free(ss->buf);
}

/* one time step through a causal stack: x[cin of layer 0] -> y[cout of last layer] */
static void stack_step(const t2m_stack *s, const float *P, stack_state *ss, const float *x, float *y)
{
    size_t maxc = ss->maxc;
    float *cur = ss->buf, *h = ss->buf + maxc, *nxt = ss->buf + 2 * maxc;
    memcpy(cur, x, sizeof(float) * s->l[0].cin);
    for (int i = 0; i < s->n; i++) {
        const t2m_conv *c = &s->l[i];
        int co = t2m_conv_out(c);
        conv_step(c, P, h, cur, &ss->st[i]);
        if (c->act == T2M_ACT_NONE)
            memcpy(nxt, h, sizeof(float) * co);
        else if (c->act == T2M_ACT_RELU)
            relu_forward_f(nxt, h, co);
        else
            highway_forward_f(nxt, h, cur, 1, c->cout);
        float *t = cur;
        cur = nxt;
        nxt = t;
    }
    memcpy(y, cur, sizeof(float) * s->l[s->n - 1].cout);
}

/* The post-net streamed inside t2m_synthesize. A centred conv of half-width
 * h = (K-1)*dil/2 is the causal conv of the same weights run h frames late: its output for
 * frame t is ready once frame t + h is in. So each decoded frame goes through every layer
 * once, and leaves the post-net T2M_POST_REACH (the sum of the h) frames after it was
 * decoded; at the end each layer is fed its h frames of zero padding, as the batched
 * post-net pads. */
typedef struct {
    stack_state ss;           /* each layer's history, and scratch for one frame */
    int n_in[T2M_MAX_LAYERS]; /* frames given to each layer, padding included */
    float *carry, *zeros;     /* a highway layer's carry; zero padding (maxc each) */
    float *dec;    /* [cap steps * r, nm] the decoded (normalized) frames: the residual */
    int *pos;      /* attended token per step */
    float *frames; /* [r, nm] the step being handed on */
    int n_out;     /* frames out of the post-net */
} post_stream;

static int post_stream_init(post_stream *ps, const t2m_model *m, long cap_steps)
{
    memset(ps, 0, sizeof *ps);
    if (stack_state_init(&ps->ss, &m->post))
        return -1;
    int r = m->cfg.r, nm = m->cfg.n_mels;
    ps->carry = calloc(2 * ps->ss.maxc, sizeof(float));
    ps->zeros = ps->carry ? ps->carry + ps->ss.maxc : NULL; /* never written */
    ps->dec = malloc(sizeof(float) * (size_t)cap_steps * r * nm);
    ps->pos = malloc(sizeof(int) * (size_t)cap_steps);
    ps->frames = malloc(sizeof(float) * (size_t)r * nm);
    return ps->carry && ps->dec && ps->pos && ps->frames ? 0 : -1;
}

static void post_stream_free(post_stream *ps, const t2m_model *m)
{
    stack_state_free(&ps->ss, &m->post);
    free(ps->carry);
    free(ps->dec);
    free(ps->pos);
    free(ps->frames);
}

/* Gives layer i0 its next input x; what comes out runs on through the layers above it.
 * When a frame leaves the last layer it is completed (+ the decoded frame, denormalized)
 * and every r of them are handed to cb. Returns non-zero when cb asked to stop. */
static int post_feed(const t2m_model *m, post_stream *ps, int i0, const float *x,
                     t2m_frame_cb cb, void *user)
{
    const float *P = m->p.params;
    size_t mc = ps->ss.maxc;
    float *io[2] = {ps->ss.buf, ps->ss.buf + mc}, *h = ps->ss.buf + 2 * mc, *carry = ps->carry;
    for (int i = i0; i < m->post.n; i++) {
        const t2m_conv *c = &m->post.l[i];
        nn_conv_state *st = &ps->ss.st[i];
        int half = (c->K - 1) * c->dil / 2, co = t2m_conv_out(c);
        int t = ps->n_in[i]++ - half; /* the frame this input completes */
        if (t < 0) {                  /* only history so far */
            memcpy(st->hist + (size_t)st->pos * c->cin, x, sizeof(float) * c->cin);
            st->pos = (st->pos + 1) % st->len;
            return 0;
        }
        if (c->act == T2M_ACT_HIGHWAY) { /* the carry is the input of frame t itself */
            const float *src = x;
            if (half > 0) {
                int slot = (st->pos - half) % st->len;
                src = st->hist + (size_t)(slot < 0 ? slot + st->len : slot) * c->cin;
            }
            memcpy(carry, src, sizeof(float) * c->cin);
        }
        conv_step(c, P, h, x, st);
        float *y = io[i & 1];
        if (c->act == T2M_ACT_NONE)
            memcpy(y, h, sizeof(float) * co);
        else if (c->act == T2M_ACT_RELU)
            relu_forward_f(y, h, co);
        else
            highway_forward_f(y, h, carry, 1, c->cout);
        x = y;
    }
    int r = m->cfg.r, nm = m->cfg.n_mels, f = ps->n_out++;
    float *out = ps->frames + (size_t)(f % r) * nm;
    const float *d = ps->dec + (size_t)f * nm;
    for (int b = 0; b < nm; b++)
        out[b] = (d[b] + x[b]) * m->mel_std[b] + m->mel_mean[b];
    t2m_gv_apply(m, out);
    return f % r == r - 1 && cb && cb(ps->frames, r, ps->pos[f / r], user);
}

/* the end of the utterance: each layer's zero padding, in order from the first */
static int post_finish(const t2m_model *m, post_stream *ps, t2m_frame_cb cb, void *user)
{
    const float *zeros = ps->zeros;
    for (int i = 0; i < m->post.n; i++) {
        const t2m_conv *c = &m->post.l[i];
        for (int j = 0; j < (c->K - 1) * c->dil / 2; j++)
            if (post_feed(m, ps, i, zeros, cb, user))
                return 1;
    }
    return 0;
}

int t2m_synthesize(const t2m_model *m, const int *ids, int N, const t2m_infer_opts *o,
                   t2m_frame_cb cb, void *user, float *align, int *stop_reason, tts_err *err)
{
    const t2m_config *c = &m->cfg;
    const float *P = m->p.params;
    int d = c->d, r = c->r, nm = c->n_mels, fr = r * nm;
    if (N <= 0)
        return tts_seterr(err, TTS_E_INVALID, "acoustic model: empty phoneme sequence");
    for (int n = 0; n < N; n++)
        if (ids[n] < 0 || ids[n] >= c->n_symbols)
            return tts_seterr(err, TTS_E_INVALID, "acoustic model: phoneme id %d out of range",
                              ids[n]);
    long cap = (long)o->max_steps_per_token * N + 10;
    if (o->max_steps > 0 && cap > o->max_steps)
        cap = o->max_steps;

    int rc = TTS_OK, steps = 0, reason = 1;
    t2m_arena ar = {0};
    post_stream ps;
    if (m->post.n && post_stream_init(&ps, m, cap)) {
        post_stream_free(&ps, m);
        return tts_seterr(err, TTS_E_NOMEM, "acoustic model: out of memory");
    }
    stack_state sa, so;
    int sa_ok = stack_state_init(&sa, &m->aenc) == 0;
    int so_ok = stack_state_init(&so, &m->adec) == 0;
    size_t need = sizeof(float) * ((size_t)N * (t2m_stack_floats_per_step(&m->text) + 4 * d +
                                                2 * c->embed_dim + T2M_PROSODY_FEATS * 2 +
                                                t2m_stack_floats_per_step(&m->pitch) +
                                                t2m_stack_floats_per_step(&m->pemb) + 2) +
                                   8 * (size_t)fr + 8 * d + 2 * N + 1024);
    if (!sa_ok || !so_ok || t2m_arena_reserve(&ar, need)) {
        rc = tts_seterr(err, TTS_E_NOMEM, "acoustic model: out of memory");
        goto done;
    }
    float *E = t2m_arena_floats(&ar, (size_t)N * c->embed_dim);
    embedding_forward_f(E, ids, P + m->embed, N, c->embed_dim);
    layer_act tact[T2M_MAX_LAYERS];
    if (t2m_stack_forward(&m->text, P, E, N, tact, &ar, 0, NULL)) {
        rc = tts_seterr(err, TTS_E_NOMEM, "acoustic model: out of memory");
        goto done;
    }
    const float *KV = tact[m->text.n - 1].y;
    /* the attention's values: V, or V + PitchEmb(the predicted pitch, shifted, widened) */
    const float *vals = KV + d;
    size_t vstride = 2 * (size_t)d;
    if (m->pitch.n) {
        layer_act pact[T2M_MAX_LAYERS], eact[1];
        float *p = t2m_arena_floats(&ar, (size_t)N), *ve = t2m_arena_floats(&ar, (size_t)N * d);
        if (c->pitch_ctx && !m->pclass) {
            rc = tts_seterr(err, TTS_E_INVALID, "acoustic model: its pitch predictor reads the "
                            "prosodic context, and the model has no symbol classes");
            goto done;
        }
        const float *pin = t2m_pitch_input(m, ids, N, E, KV, &ar);
        if (!p || !ve || !pin || t2m_stack_forward(&m->pitch, P, pin, N, pact, &ar, 0, NULL)) {
            rc = tts_seterr(err, TTS_E_NOMEM, "acoustic model: out of memory");
            goto done;
        }
        float range = o->pitch_range > 0 ? o->pitch_range : 1.0f;
        float shift = o->pitch_shift * (float)(M_LN2 / 12) / c->lf0_std;
        const float *given = o->pitch_tok ? o->pitch_tok : pact[m->pitch.n - 1].y;
        for (int n = 0; n < N; n++)
            p[n] = given[n] * range + shift;
        if (t2m_stack_forward(&m->pemb, P, p, N, eact, &ar, 0, NULL)) {
            rc = tts_seterr(err, TTS_E_NOMEM, "acoustic model: out of memory");
            goto done;
        }
        for (int n = 0; n < N; n++)
            for (int j = 0; j < d; j++)
                ve[(size_t)n * d + j] = KV[(size_t)n * 2 * d + d + j] + eact[0].y[(size_t)n * d + j];
        vals = ve;
        vstride = d;
    }
    float *x = t2m_arena_zeros(&ar, fr), *out = t2m_arena_floats(&ar, fr), *frames = t2m_arena_floats(&ar, fr);
    float *q = t2m_arena_floats(&ar, d), *rq = t2m_arena_floats(&ar, 2 * d), *a = t2m_arena_floats(&ar, N);
    float scale = 1.0f / sqrtf((float)d);
    float sharp = o->attn_sharpen > 0 ? o->attn_sharpen : 1.0f;
    int pos = 0, at_end = 0, stay = 0, quiet = 0;
    float quiet_level = 0; /* mean energy of the training frames, minus the margin */
    for (int b = 0; b < nm; b++)
        quiet_level += m->mel_mean[b] / nm;
    quiet_level -= o->quiet_margin;

    for (steps = 0; steps < cap;) {
        stack_step(&m->aenc, P, &sa, x, q);
        /* attention restricted to a window around the last attended token */
        int lo = pos - o->window_back, hi = pos + o->window_ahead;
        if (o->passable && hi > pos) /* past the marks, to the next token that has a sound */
            while (hi < N - 1 && hi - pos < T2M_MAX_AHEAD && o->passable[ids[hi]])
                hi++;
        int max_stay = t2m_stay_limit(o, ids[pos], r);
        if (max_stay > 0 && stay >= max_stay && pos < N - 1)
            lo = pos + 1; /* stuck: make it move on */
        lo = lo < 0 ? 0 : lo;
        hi = hi < lo ? lo : hi;
        hi = hi > N - 1 ? N - 1 : hi;
        float mx = -INFINITY, sum = 0;
        for (int n = 0; n < N; n++) {
            a[n] = 0;
            if (n < lo || n > hi)
                continue;
            float s = 0;
            const float *kn = KV + (size_t)n * 2 * d;
            for (int j = 0; j < d; j++)
                s += q[j] * kn[j];
            a[n] = s * scale * sharp;
            mx = a[n] > mx ? a[n] : mx;
        }
        int best = lo;
        for (int n = lo; n <= hi; n++) {
            a[n] = expf(a[n] - mx);
            sum += a[n];
            if (a[n] > a[best])
                best = n;
        }
        memset(rq, 0, sizeof(float) * d);
        for (int n = lo; n <= hi; n++) {
            a[n] /= sum;
            const float *vn = vals + (size_t)n * vstride;
            for (int j = 0; j < d; j++)
                rq[j] += a[n] * vn[j];
        }
        memcpy(rq + d, q, sizeof(float) * d);
        if (best > pos) {
            pos = best; /* never move back */
            stay = 0;
        } else {
            stay++;
        }
        if (align)
            memcpy(align + (size_t)steps * N, a, sizeof(float) * N);
        stack_step(&m->adec, P, &so, rq, out);
        memcpy(x, out, sizeof(float) * fr); /* fed back as the next step's input */
        for (int j = 0; j < r; j++) {
            for (int b = 0; b < nm; b++)
                frames[j * nm + b] = out[j * nm + b] * m->mel_std[b] + m->mel_mean[b];
            if (!m->post.n)
                t2m_gv_apply(m, frames + (size_t)j * nm);
        }
        steps++;
        if (m->post.n) {
            memcpy(ps.dec + (size_t)(steps - 1) * fr, out, sizeof(float) * fr);
            ps.pos[steps - 1] = pos;
            int f = 0;
            for (int j = 0; j < r && !f; j++)
                f = post_feed(m, &ps, 0, out + (size_t)j * nm, cb, user);
            if (f) {
                reason = 2;
                break;
            }
        } else if (cb && cb(frames, r, pos, user)) {
            reason = 2;
            break;
        }
        /* the end: attention has reached the end token and stayed there, or it is on the
         * final pause and the voice has gone quiet */
        if (pos >= N - 1 && ++at_end >= 2) {
            reason = 0;
            break;
        }
        if (o->quiet_margin > 0 && pos >= N - 2) {
            int all_quiet = 1;
            for (int j = 0; j < r && all_quiet; j++) {
                float e = 0;
                for (int b = 0; b < nm; b++)
                    e += frames[j * nm + b];
                all_quiet = e / nm < quiet_level;
            }
            quiet = all_quiet ? quiet + 1 : 0;
            if (quiet >= 2) {
                reason = 0;
                break;
            }
        }
    }
    if (m->post.n && reason != 2 && !rc && post_finish(m, &ps, cb, user))
        reason = 2;
done:
    if (m->post.n)
        post_stream_free(&ps, m);
    if (sa_ok)
        stack_state_free(&sa, &m->aenc);
    if (so_ok)
        stack_state_free(&so, &m->adec);
    t2m_arena_free(&ar);
    if (stop_reason)
        *stop_reason = reason;
    return rc ? rc : steps;
}
