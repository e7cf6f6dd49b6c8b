#include "acoustic/voice_io.h"
#include "acoustic/prosody.h"

#include <stdlib.h>
#include <string.h>

#include "nn/kernels.h"
#include "nn/params_io.h"

#include "nn/half.h"

void tts_audio_cfg_to_mf(tts_mf_writer *w, const tts_audio_cfg *a)
{
    tts_mf_set_i64(w, "audio.sample_rate", a->sample_rate);
    tts_mf_set_i64(w, "audio.n_fft", a->n_fft);
    tts_mf_set_i64(w, "audio.win_length", a->win_length);
    tts_mf_set_i64(w, "audio.hop_length", a->hop_length);
    tts_mf_set_i64(w, "audio.n_mels", a->n_mels);
    tts_mf_set_f64(w, "audio.fmin", a->fmin);
    tts_mf_set_f64(w, "audio.fmax", a->fmax);
    tts_mf_set_f64(w, "audio.log_floor", a->log_floor);
}

static int get_int(const tts_mf *mf, const char *key, int lo, int hi, int *out, tts_err *err)
{
    int64_t v;
    int rc = tts_mf_get_i64(mf, key, &v, err);
    if (rc)
        return rc;
    if (v < lo || v > hi)
        return tts_seterr(err, TTS_E_FORMAT, "model file: %s = %lld is out of range [%d, %d]",
                          key, (long long)v, lo, hi);
    *out = (int)v;
    return TTS_OK;
}

int tts_audio_cfg_from_mf(const tts_mf *mf, tts_audio_cfg *a, tts_err *err)
{
    double fmin, fmax, fl;
    int rc;
    if ((rc = get_int(mf, "audio.sample_rate", 1000, 192000, &a->sample_rate, err)) ||
        (rc = get_int(mf, "audio.n_fft", 2, 1 << 16, &a->n_fft, err)) ||
        (rc = get_int(mf, "audio.win_length", 1, 1 << 16, &a->win_length, err)) ||
        (rc = get_int(mf, "audio.hop_length", 1, 1 << 16, &a->hop_length, err)) ||
        (rc = get_int(mf, "audio.n_mels", 1, 1024, &a->n_mels, err)) ||
        (rc = tts_mf_get_f64(mf, "audio.fmin", &fmin, err)) ||
        (rc = tts_mf_get_f64(mf, "audio.fmax", &fmax, err)) ||
        (rc = tts_mf_get_f64(mf, "audio.log_floor", &fl, err)))
        return rc;
    a->fmin = (float)fmin;
    a->fmax = (float)fmax;
    a->log_floor = (float)fl;
    rc = tts_audio_cfg_check(a, err);
    return rc ? tts_seterr(err, TTS_E_FORMAT, "model file: bad audio settings: %s", err->msg) : 0;
}

static void config_to_mf(tts_mf_writer *w, const t2m_config *c)
{
    tts_mf_set_str(w, "kind", "acoustic");
    tts_mf_set_i64(w, "acoustic.n_symbols", c->n_symbols);
    tts_mf_set_i64(w, "acoustic.n_mels", c->n_mels);
    tts_mf_set_i64(w, "acoustic.r", c->r);
    tts_mf_set_i64(w, "acoustic.embed_dim", c->embed_dim);
    tts_mf_set_i64(w, "acoustic.text_ch", c->text_ch);
    tts_mf_set_i64(w, "acoustic.d", c->d);
    if (c->post_ch > 0)
        tts_mf_set_i64(w, "acoustic.post_ch", c->post_ch);
    if (c->attn_sharpen > 0 && c->attn_sharpen != 1)
        tts_mf_set_f64(w, "acoustic.attn_sharpen", c->attn_sharpen);
    if (c->pitch_ch > 0) {
        tts_mf_set_i64(w, "acoustic.pitch_ch", c->pitch_ch);
        tts_mf_set_f64(w, "acoustic.lf0_mean", c->lf0_mean);
        tts_mf_set_f64(w, "acoustic.lf0_std", c->lf0_std);
        if (c->pitch_range > 0 && c->pitch_range != 1)
            tts_mf_set_f64(w, "acoustic.pitch_range", c->pitch_range);
        if (c->pitch_ctx)
            tts_mf_set_i64(w, "acoustic.pitch_ctx", c->pitch_ctx);
    }
}

/* the configuration, and the holds when measured (always as floats: they are few) */
static void extras_to_mf(tts_mf_writer *w, const t2m_model *m)
{
    config_to_mf(w, &m->cfg);
    if (m->hold) {
        int64_t n = m->cfg.n_symbols;
        tts_mf_add_tensor(w, T2M_HOLD_TENSOR, TTS_MF_F32, 1, &n, m->hold);
    }
    if (m->gv) {
        int64_t shape[2] = {2, T2M_GV_DIM};
        tts_mf_add_tensor(w, T2M_GV_TENSOR, TTS_MF_F32, 2, shape, m->gv);
    }
    if (m->pclass) { /* the writer references its data: kept as floats in the model */
        int64_t n = m->cfg.n_symbols;
        tts_mf_add_tensor(w, T2M_PCLASS_TENSOR, TTS_MF_F32, 1, &n, m->pclass);
    }
}

void t2m_to_mf(tts_mf_writer *w, const t2m_model *m, const nn_adam *adam)
{
    extras_to_mf(w, m);
    nn_params_to_mf(w, &m->p, adam);
}

void t2m_to_mf_f16(tts_mf_writer *w, const t2m_model *m)
{
    extras_to_mf(w, m);
    nn_params_to_mf_f16(w, &m->p);
}

void t2m_to_mf_q8(tts_mf_writer *w, const t2m_model *m)
{
    extras_to_mf(w, m);
    nn_params_to_mf_q8(w, &m->p);
}

/* The f32[n] tensor name of mf, each value in [lo, hi] (and a whole number when whole),
 * copied into *out (malloc'd); else a format error calling the bad value not `what`. */
static int symbol_floats_from_mf(const tts_mf *mf, const char *name, int64_t n, float lo,
                                 float hi, int whole, const char *what, float **out,
                                 tts_err *err)
{
    const float *h;
    int rc = tts_mf_get_f32(mf, name, 1, &n, &h, err);
    if (rc)
        return rc;
    for (int64_t i = 0; i < n; i++)
        if (!(h[i] >= lo && h[i] <= hi && (!whole || h[i] == (float)(int)h[i])))
            return tts_seterr(err, TTS_E_FORMAT, "model file: %s[%lld] = %g is not %s", name,
                              (long long)i, (double)h[i], what);
    *out = malloc(sizeof(float) * (size_t)n);
    if (!*out)
        return tts_seterr(err, TTS_E_NOMEM, "acoustic model: out of memory");
    memcpy(*out, h, sizeof(float) * (size_t)n);
    return TTS_OK;
}

/* the holds, if the file has them: one finite frame count >= 0 per symbol */
static int holds_from_mf(t2m_model *m, const tts_mf *mf, tts_err *err)
{
    if (!tts_mf_find(mf, T2M_HOLD_TENSOR))
        return TTS_OK;
    return symbol_floats_from_mf(mf, T2M_HOLD_TENSOR, m->cfg.n_symbols, 0, 1e5f, 0,
                                 "a frame count", &m->hold, err);
}

/* the prosody classes, which a model with pitch_ctx must have: one class per symbol */
static int pclass_from_mf(t2m_model *m, const tts_mf *mf, tts_err *err)
{
    if (!m->cfg.pitch_ctx)
        return TTS_OK;
    if (!tts_mf_find(mf, T2M_PCLASS_TENSOR))
        return tts_seterr(err, TTS_E_FORMAT, "model file: acoustic.pitch_ctx is set but %s is "
                          "missing", T2M_PCLASS_TENSOR);
    return symbol_floats_from_mf(mf, T2M_PCLASS_TENSOR, m->cfg.n_symbols, 0, T2M_PC_COUNT - 1,
                                 1, "a symbol class", &m->pclass, err);
}

/* the post-filter, if the file has one */
static int gv_from_mf(t2m_model *m, const tts_mf *mf, tts_err *err)
{
    if (!tts_mf_find(mf, T2M_GV_TENSOR))
        return TTS_OK;
    int64_t shape[2] = {2, T2M_GV_DIM};
    const float *g;
    int rc = tts_mf_get_f32(mf, T2M_GV_TENSOR, 2, shape, &g, err);
    return rc ? rc : t2m_set_gv(m, g, g + T2M_GV_DIM, err);
}

/* The model's conv weights that mf holds as int8, used in place (t2m_conv.q): those whose
 * conv outputs are a multiple of the kernels' block (nn_vecmat_q8). skip[tensor] marks
 * them, for the loader to leave alone. */
static void map_q8(t2m_model *m, const tts_mf *mf, unsigned char *skip)
{
    t2m_stack *stacks[] = {&m->text, &m->aenc, &m->adec, &m->post, &m->pitch, &m->pemb};
    for (size_t s = 0; s < sizeof stacks / sizeof stacks[0]; s++)
        for (int i = 0; i < stacks[s]->n; i++) {
            t2m_conv *c = &stacks[s]->l[i];
            int co = c->act == T2M_ACT_HIGHWAY ? 2 * c->cout : c->cout;
            if (co % NN_VECMAT_Q8_BLOCK)
                continue;
            for (int t = 0; t < m->p.n_tensors; t++)
                if (m->p.tensors[t].offset == c->w) {
                    if (nn_params_q8(&m->p, t, mf, &c->q, &c->qs))
                        skip[t] = 1;
                    break;
                }
        }
}

enum { LOAD_COPY, LOAD_TRAINING, LOAD_MAPPED };

static int load(t2m_model *m, const tts_mf *mf, int mode, nn_adam *adam, tts_err *err)
{
    int for_training = mode == LOAD_TRAINING;
    t2m_config c;
    const char *kind;
    int rc;
    if ((rc = tts_mf_get_str(mf, "kind", &kind, err)))
        return rc;
    if (strcmp(kind, "acoustic") != 0)
        return tts_seterr(err, TTS_E_FORMAT,
                          "the model file holds a '%s', not an acoustic model (a voice)", kind);
    if ((rc = get_int(mf, "acoustic.n_symbols", 1, 100000, &c.n_symbols, err)) ||
        (rc = get_int(mf, "acoustic.n_mels", 1, 1024, &c.n_mels, err)) ||
        (rc = get_int(mf, "acoustic.r", 1, 16, &c.r, err)) ||
        (rc = get_int(mf, "acoustic.embed_dim", 1, 4096, &c.embed_dim, err)) ||
        (rc = get_int(mf, "acoustic.text_ch", 1, 4096, &c.text_ch, err)) ||
        (rc = get_int(mf, "acoustic.d", 1, 4096, &c.d, err)))
        return rc;
    c.post_ch = 0; /* voices from before the post-net have none */
    c.attn_sharpen = 1;
    if (tts_mf_has(mf, "acoustic.attn_sharpen")) {
        double a;
        if ((rc = tts_mf_get_f64(mf, "acoustic.attn_sharpen", &a, err)))
            return rc;
        if (!(a > 0 && a <= 100))
            return tts_seterr(err, TTS_E_FORMAT, "model file: acoustic.attn_sharpen = %g is out of "
                              "range (0, 100]", a);
        c.attn_sharpen = (float)a;
    }
    if (tts_mf_has(mf, "acoustic.post_ch") &&
        (rc = get_int(mf, "acoustic.post_ch", 1, 4096, &c.post_ch, err)))
        return rc;
    c.pitch_ch = 0; /* voices from before the pitch predictor have none */
    c.pitch_ctx = 0;
    c.pitch_range = 1;
    c.lf0_mean = 0;
    c.lf0_std = 1;
    if (tts_mf_has(mf, "acoustic.pitch_ch")) {
        double mu, sd;
        if ((rc = get_int(mf, "acoustic.pitch_ch", 1, 4096, &c.pitch_ch, err)) ||
            (rc = tts_mf_get_f64(mf, "acoustic.lf0_mean", &mu, err)) ||
            (rc = tts_mf_get_f64(mf, "acoustic.lf0_std", &sd, err)))
            return rc;
        if (!(mu > 0 && mu < 20 && sd > 0 && sd < 10)) /* ln F0 of 1 Hz .. 485 MHz: a typo */
            return tts_seterr(err, TTS_E_FORMAT, "model file: acoustic.lf0_mean %g / lf0_std %g "
                              "are not a log pitch's statistics", mu, sd);
        c.lf0_mean = (float)mu;
        c.lf0_std = (float)sd;
        if (tts_mf_has(mf, "acoustic.pitch_ctx") &&
            (rc = get_int(mf, "acoustic.pitch_ctx", 0, 1, &c.pitch_ctx, err)))
            return rc;
        if (tts_mf_has(mf, "acoustic.pitch_range")) {
            double pr;
            if ((rc = tts_mf_get_f64(mf, "acoustic.pitch_range", &pr, err)))
                return rc;
            if (!(pr > 0 && pr <= 4))
                return tts_seterr(err, TTS_E_FORMAT, "model file: acoustic.pitch_range = %g is "
                                  "out of range (0, 4]", pr);
            c.pitch_range = (float)pr;
        }
    }
    /* check that the file holds every tensor, with its shape, before allocating anything:
     * a small corrupt file must not make us allocate what its metadata claims */
    t2m_model probe;
    if ((rc = t2m_layout(&probe, &c, err)) || (rc = nn_params_check_mf(&probe.p, mf, err)))
        return rc;
    unsigned char skip[NN_MAX_TENSORS] = {0};
    if (mode == LOAD_MAPPED) {
        /* every tensor but the mapped ones is written below; theirs are never touched */
        if ((rc = t2m_layout(m, &c, err)))
            return rc;
        if (nn_params_alloc_bare(&m->p))
            return tts_seterr(err, TTS_E_NOMEM, "acoustic model: out of memory");
        m->mel_mean = m->p.params + nn_params_find(&m->p, "mel_mean")->offset;
        m->mel_std = m->p.params + nn_params_find(&m->p, "mel_std")->offset;
        map_q8(m, mf, skip);
    } else if ((rc = t2m_init(m, &c, for_training, 0, err))) { /* every tensor is read below */
        return rc;
    }
    if ((rc = nn_params_from_mf_except(&m->p, mf, skip, err)) ||
        (for_training && (rc = nn_adam_from_mf(&m->p, adam, mf, err))) ||
        (rc = holds_from_mf(m, mf, err)) || (rc = gv_from_mf(m, mf, err)) ||
        (rc = pclass_from_mf(m, mf, err))) {
        t2m_free(m);
        return rc;
    }
    return TTS_OK;
}

int t2m_from_mf(t2m_model *m, const tts_mf *mf, int for_training, nn_adam *adam, tts_err *err)
{
    return load(m, mf, for_training ? LOAD_TRAINING : LOAD_COPY, adam, err);
}

int t2m_from_mf_mapped(t2m_model *m, const tts_mf *mf, tts_err *err)
{
    return load(m, mf, LOAD_MAPPED, NULL, err);
}
