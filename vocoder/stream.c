/* The vocoder's streaming inference (vocoder.h): one mel frame in, one block of samples out
 * once the look-ahead is there. Each block runs the gated layers through the function the
 * batched pass (voc_forward in train/voc_train.h) runs (vocoder/layer_impl.h), hs steps
 * at a time with each layer's history before them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gemm.h"
#include "nn/kernels.h"
#include "vocoder/pitch.h"
#include "vocoder/vocoder.h"

/* the ring slot of frame f >= -1 */
static int ring_slot(int f)
{
    return (f + VOC_RING) % VOC_RING;
}

/* Lays the stream's scratch out from base (NULL: only counts it); returns its floats. Each
 * piece starts on a 64-byte boundary of the (64-byte aligned) base. */
static size_t stream_carve(voc_stream *s, const voc_config *c, float *base)
{
    size_t C = c->res_ch, S = c->skip_ch, hs = (size_t)(c->hop / c->fold), hop = c->hop;
    size_t L2C = (size_t)c->n_layers * 2 * C, nm = c->n_mels, n = 0;
#define CARVE(ptr, cnt)                                                                            \
    do {                                                                                           \
        if (base)                                                                                  \
            ptr = base + n;                                                                        \
        n += ((cnt) + 15) & ~(size_t)15;                                                           \
    } while (0)
    CARVE(s->meln, nm);
    CARVE(s->cact[0], (size_t)c->cond_ch);
    CARVE(s->cact[1], (size_t)c->cond_ch);
    CARVE(s->Pc, 2 * L2C);
    CARVE(s->last_mel, nm);
    CARVE(s->x, hs * C);
    CARVE(s->h, hs * 2 * C);
    CARVE(s->z, hs * C);
    CARVE(s->o, hs * (C + S));
    CARVE(s->skip, hs * S);
    CARVE(s->a1, hs * S);
    CARVE(s->a2, hs * S);
    CARVE(s->noise, hop);
    CARVE(s->pact[0], (size_t)VOC_PITCH_CH);
    CARVE(s->pact[1], (size_t)VOC_PITCH_CH);
    CARVE(s->exc, hop);
    CARVE(s->src, 2 * hop);
#undef CARVE
    return n;
}

void voc_stream_reset(voc_stream *s, const voc_model *m, uint64_t seed)
{
    const voc_config *c = &m->cfg;
    s->frames_in = 0;
    s->rng = seed ? seed : 1;
    for (int i = 0; i < c->cond_layers; i++) {
        if (s->cond_st[i].hist)
            memset(s->cond_st[i].hist, 0, sizeof(float) * s->cond_st[i].len * m->cond[i].cin);
        s->cond_st[i].pos = 0;
    }
    for (int l = 0; l < c->n_layers; l++) {
        size_t rows = (size_t)(c->kernel - 1) * m->layer[l].dil + s->hs;
        memset(s->hist[l], 0, sizeof(float) * rows * c->res_ch);
    }
    for (int i = 0; i < 2; i++) {
        if (s->pitch_st[i].hist)
            memset(s->pitch_st[i].hist, 0, sizeof(float) * s->pitch_st[i].len * m->pitch[i].cin);
        s->pitch_st[i].pos = 0;
    }
    s->phase = 0;
}

void voc_stream_free(voc_stream *s)
{
    for (int i = 0; i < VOC_MAX_COND; i++)
        free(s->cond_st[i].hist);
    for (int l = 0; l < VOC_MAX_LAYERS; l++)
        free(s->hist[l]);
    for (int i = 0; i < 2; i++)
        free(s->pitch_st[i].hist);
    free(s->buf);
    free(s->qwork);
    memset(s, 0, sizeof *s);
}

int voc_stream_init(voc_stream *s, const voc_model *m, uint64_t seed, tts_err *err)
{
    const voc_config *c = &m->cfg;
    memset(s, 0, sizeof *s);
    s->hs = c->hop / c->fold;
    int ok = 1;
    for (int i = 0; i < c->cond_layers; i++) {
        s->cond_st[i].len = c->cond_kernel - 1;
        if (s->cond_st[i].len > 0) {
            s->cond_st[i].hist = calloc((size_t)s->cond_st[i].len * m->cond[i].cin, sizeof(float));
            ok &= s->cond_st[i].hist != NULL;
        }
    }
    for (int l = 0; l < c->n_layers; l++) {
        size_t rows = (size_t)(c->kernel - 1) * m->layer[l].dil + s->hs;
        s->hist[l] = aligned_alloc(64, (rows * c->res_ch * sizeof(float) + 63) & ~(size_t)63);
        ok &= s->hist[l] != NULL;
    }
    if (c->src == 2)
        for (int i = 0; i < 2; i++) {
            s->pitch_st[i].len = VOC_PITCH_K - 1;
            s->pitch_st[i].hist = calloc((size_t)s->pitch_st[i].len * m->pitch[i].cin,
                                         sizeof(float));
            ok &= s->pitch_st[i].hist != NULL;
        }
    if (m->q8) {
        s->qwork = aligned_alloc(64, (voc_int8_work_bytes(c, s->hs) + 63) & ~(size_t)63);
        ok &= s->qwork != NULL;
    }
    size_t n = stream_carve(s, c, NULL);
    s->buf = aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
    if (!ok || !s->buf) {
        voc_stream_free(s);
        return tts_seterr(err, TTS_E_NOMEM, "vocoder stream: out of memory");
    }
    stream_carve(s, c, s->buf);
    voc_stream_reset(s, m, seed);
    return TTS_OK;
}

static void rows_bias(float *y, const float *b, int rows, int n)
{
    for (int r = 0; r < rows; r++)
        memcpy(y + (size_t)r * n, b, sizeof(float) * n);
}

/* ---- one block ------------------------------------------------------------------------ */

/* The block's source when the caller gives none: hop samples of noise from the stream's
 * generator and, with src 2, the excitation from s->f0 / s->vprob (the block's two frames),
 * the oscillator's phase carried on; interleaved. */
static const float *block_source(const voc_model *m, voc_stream *s)
{
    const voc_config *c = &m->cfg;
    for (int i = 0; i < c->hop; i++)
        s->noise[i] = (float)nn_rand_normal(&s->rng);
    if (c->src == 1)
        return s->noise;
    voc_osc osc = {s->phase};
    voc_osc_run(&osc, s->f0, s->vprob, 1, c->hop, c->sample_rate, s->exc);
    s->phase = osc.phase;
    const float *ch[2] = {s->noise, s->exc};
    voc_source_interleave(ch, 2, (size_t)c->hop, c->fold, s->src);
    return s->src;
}

/* Gated layer l over the block's hs steps: s->x in and out (the residual), its skip
 * output added into s->skip; the layer's history of inputs moved on. */
static void block_layer(const voc_model *m, voc_stream *s, int l)
{
    const voc_config *c = &m->cfg;
    int C = c->res_ch, hs = s->hs, hl = (c->kernel - 1) * m->layer[l].dil;
    float *hb = s->hist[l];
    memcpy(hb + (size_t)hl * C, s->x, sizeof(float) * hs * C);
    voc_layer_forward_f(m, m->p.params, l, hb, 1, s->Pc + (size_t)l * 2 * C,
                        c->n_layers * 2 * C, 1, s->h, s->z, s->o, s->x, s->skip, s->qwork);
    if (hl > 0)
        memmove(hb, hb + (size_t)hs * C, sizeof(float) * hl * C);
}

/* the output layers on s->skip: hs * fold = hop samples to pcm */
static void block_output(const voc_model *m, voc_stream *s, float *pcm)
{
    const voc_config *c = &m->cfg;
    const float *P = m->p.params;
    int S = c->skip_ch, F = c->fold, hs = s->hs;
    float ks = (float)(1 / sqrt((double)c->n_layers));
    for (int i = 0; i < hs * S; i++) {
        float v = s->skip[i] * ks;
        s->a1[i] = v > 0 ? v : 0;
    }
    rows_bias(s->a2, P + m->post0_b, hs, S);
    nn_sgemm(0, 0, hs, S, S, 1, s->a1, S, P + m->post0_w,
                S, 1, s->a2, S);
    for (int i = 0; i < hs * S; i++)
        s->a2[i] = s->a2[i] > 0 ? s->a2[i] : 0;
    rows_bias(pcm, P + m->post1_b, hs, F);
    nn_sgemm(0, 0, hs, F, S, 1, s->a2, S, P + m->post1_w,
                F, 1, pcm, F);
}

/* one block of hs steps from the conditioning in s->Pc (source NULL: the stream's own);
 * writes hop samples */
static void stream_block(const voc_model *m, voc_stream *s, const float *source, float *pcm)
{
    const voc_config *c = &m->cfg;
    const float *P = m->p.params;
    int C = c->res_ch, hs = s->hs, Fs = c->fold * c->src;
    if (!source)
        source = block_source(m, s);
    rows_bias(s->x, P + m->in_b, hs, C);
    nn_sgemm(0, 0, hs, C, Fs, 1, source, Fs, P + m->in_w,
                C, 1, s->x, C);
    memset(s->skip, 0, sizeof(float) * hs * c->skip_ch);
    for (int l = 0; l < c->n_layers; l++)
        block_layer(m, s, l);
    block_output(m, s, pcm);
}

/* ---- one frame ------------------------------------------------------------------------- */

/* the frame normalized into s->meln, through the conditioning convs: its gates'
 * conditioning into the newest row of s->Pc */
static void cond_step(const voc_model *m, voc_stream *s, const float *mel_frame)
{
    const voc_config *c = &m->cfg;
    const float *P = m->p.params;
    int nm = c->n_mels, Cc = c->cond_ch, L2C = c->n_layers * 2 * c->res_ch;
    for (int b = 0; b < nm; b++)
        s->meln[b] = (mel_frame[b] - m->mel_mean[b]) / m->mel_std[b];
    const float *in = s->meln;
    for (int i = 0; i < c->cond_layers; i++) {
        float *out = s->cact[i & 1];
        conv1d_step_f(out, in, P + m->cond[i].w, P + m->cond[i].b, m->cond[i].cin, Cc,
                      c->cond_kernel, 1, &s->cond_st[i]);
        tanh_forward_f(out, out, Cc);
        in = out;
    }
    float *cur = s->Pc + L2C;
    memset(cur, 0, sizeof(float) * L2C);
    nn_vecmat(cur, in, P + m->cproj, Cc, L2C);
}

/* src 2: the pitch head on frame j (normalized in s->meln): its F0 and voicing into the
 * ring, frame 0's also as frame -1 */
static void pitch_step(const voc_model *m, voc_stream *s, int j)
{
    const float *P = m->p.params;
    const float *pin = s->meln;
    for (int i = 0; i < 2; i++) {
        conv1d_step_f(s->pact[i], pin, P + m->pitch[i].w, P + m->pitch[i].b, m->pitch[i].cin,
                      VOC_PITCH_CH, VOC_PITCH_K, 1, &s->pitch_st[i]);
        for (int k = 0; k < VOC_PITCH_CH; k++)
            s->pact[i][k] = s->pact[i][k] > 0 ? s->pact[i][k] : 0;
        pin = s->pact[i];
    }
    float o[2];
    for (int k = 0; k < 2; k++) {
        double acc = P[m->pitch[2].b + k];
        for (int q = 0; q < VOC_PITCH_CH; q++)
            acc += (double)pin[q] * P[m->pitch[2].w + (size_t)q * 2 + k];
        o[k] = (float)acc;
    }
    int r = ring_slot(j), r1 = ring_slot(-1);
    voc_pitch_decode(o, 1, &s->rf0[r], &s->rv[r]);
    if (j == 0) { /* frame -1 is frame 0 again */
        s->rf0[r1] = s->rf0[r];
        s->rv[r1] = s->rv[r];
    }
}

int voc_stream_push(const voc_model *m, voc_stream *s, const float *mel_frame,
                    const float *source, float *pcm)
{
    const voc_config *c = &m->cfg;
    int L2C = c->n_layers * 2 * c->res_ch;
    if (mel_frame != s->last_mel)
        memcpy(s->last_mel, mel_frame, sizeof(float) * c->n_mels);
    cond_step(m, s, mel_frame);
    int j = s->frames_in++;
    if (c->src == 2)
        pitch_step(m, s, j);
    if (j == 0)
        memcpy(s->Pc, s->Pc + L2C, sizeof(float) * L2C); /* P[-1] := P[0] */
    int produced = 0;
    int t = j - c->lookahead;
    if (t >= 0) {
        if (c->src == 2) { /* the block's two frames out of the ring */
            int e = voc_exc_offset(c);
            for (int k = 0; k < 2; k++) {
                int r = ring_slot(t + e - 1 + k);
                s->f0[k] = s->rf0[r];
                s->vprob[k] = s->rv[r];
            }
        }
        stream_block(m, s, source, pcm);
        produced = c->hop;
    }
    memcpy(s->Pc, s->Pc + L2C, sizeof(float) * L2C); /* the newest frame becomes the one before */
    return produced;
}

int voc_stream_finish(const voc_model *m, voc_stream *s, const float *source, float *pcm)
{
    const voc_config *c = &m->cfg;
    if (s->frames_in == 0)
        return 0;
    int n = 0;
    for (int i = 0; i < c->lookahead; i++)
        n += voc_stream_push(m, s, s->last_mel, source ? source + (size_t)n * c->src : NULL,
                             pcm + n);
    return n;
}
