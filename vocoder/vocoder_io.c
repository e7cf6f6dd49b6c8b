#include "vocoder/vocoder_io.h"

#include <stdlib.h>
#include <string.h>

#include "acoustic/voice_io.h"
#include "nn/params_io.h"

#include "nn/half.h"

static void config_to_mf(tts_mf_writer *w, const voc_config *c)
{
    tts_mf_set_str(w, "kind", "vocoder");
    tts_mf_set_i64(w, "vocoder.n_mels", c->n_mels);
    tts_mf_set_i64(w, "vocoder.hop", c->hop);
    tts_mf_set_i64(w, "vocoder.fold", c->fold);
    tts_mf_set_i64(w, "vocoder.res_ch", c->res_ch);
    tts_mf_set_i64(w, "vocoder.skip_ch", c->skip_ch);
    tts_mf_set_i64(w, "vocoder.n_layers", c->n_layers);
    tts_mf_set_i64(w, "vocoder.dil_cycle", c->dil_cycle);
    tts_mf_set_i64(w, "vocoder.kernel", c->kernel);
    tts_mf_set_i64(w, "vocoder.cond_ch", c->cond_ch);
    tts_mf_set_i64(w, "vocoder.cond_layers", c->cond_layers);
    tts_mf_set_i64(w, "vocoder.cond_kernel", c->cond_kernel);
    tts_mf_set_i64(w, "vocoder.lookahead", c->lookahead);
    tts_mf_set_i64(w, "vocoder.sample_rate", c->sample_rate);
    tts_mf_set_i64(w, "vocoder.src", c->src);
    if (c->env_passes)
        tts_mf_set_i64(w, "vocoder.env_passes", c->env_passes);
    if (c->frame_sharpen > 0) {
        tts_mf_set_f64(w, "vocoder.frame_sharpen", c->frame_sharpen);
        tts_mf_set_i64(w, "vocoder.frame_sharpen_w", c->frame_sharpen_w);
    }
}

void voc_to_mf(tts_mf_writer *w, const voc_model *m, const nn_adam *adam)
{
    config_to_mf(w, &m->cfg);
    nn_params_to_mf(w, &m->p, adam);
}

void voc_to_mf_f16(tts_mf_writer *w, const voc_model *m)
{
    config_to_mf(w, &m->cfg);
    nn_params_to_mf_f16(w, &m->p);
}

void voc_to_mf_q8(tts_mf_writer *w, const voc_model *m)
{
    config_to_mf(w, &m->cfg);
    nn_params_to_mf_q8(w, &m->p);
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

/* "vocoder.src": 1 or 2; the sources 3 and 4 of older experiments are refused by name */
static int get_src(const tts_mf *mf, int *out, tts_err *err)
{
    int64_t v;
    int rc = tts_mf_get_i64(mf, "vocoder.src", &v, err);
    if (rc)
        return rc;
    if (v == 3 || v == 4)
        return tts_seterr(err, TTS_E_FORMAT,
                          "model file: vocoder src %d is no longer supported (the "
                          "envelope-shaped sources 3 and 4 were removed; use a src 2 vocoder, "
                          "or train one: tts-train vocoder --src 2)", (int)v);
    if (v < 1 || v > 2)
        return tts_seterr(err, TTS_E_FORMAT,
                          "model file: vocoder.src = %lld is out of range [1, 2]", (long long)v);
    *out = (int)v;
    return TTS_OK;
}

int voc_from_mf(voc_model *m, const tts_mf *mf, int for_training, nn_adam *adam, tts_err *err)
{
    voc_config c;
    const char *kind;
    int rc;
    memset(m, 0, sizeof *m);
    if ((rc = tts_mf_get_str(mf, "kind", &kind, err)))
        return rc;
    if (strcmp(kind, "vocoder") != 0)
        return tts_seterr(err, TTS_E_FORMAT, "model file holds a '%s' model, not a vocoder", kind);
    if ((rc = get_int(mf, "vocoder.n_mels", 1, 1024, &c.n_mels, err)) ||
        (rc = get_int(mf, "vocoder.hop", 1, 4096, &c.hop, err)) ||
        (rc = get_int(mf, "vocoder.fold", 1, 4096, &c.fold, err)) ||
        (rc = get_int(mf, "vocoder.res_ch", 1, 1024, &c.res_ch, err)) ||
        (rc = get_int(mf, "vocoder.skip_ch", 1, 1024, &c.skip_ch, err)) ||
        (rc = get_int(mf, "vocoder.n_layers", 1, VOC_MAX_LAYERS, &c.n_layers, err)) ||
        (rc = get_int(mf, "vocoder.dil_cycle", 1, 14, &c.dil_cycle, err)) ||
        (rc = get_int(mf, "vocoder.kernel", 1, 8, &c.kernel, err)) ||
        (rc = get_int(mf, "vocoder.cond_ch", 1, 1024, &c.cond_ch, err)) ||
        (rc = get_int(mf, "vocoder.cond_layers", 1, VOC_MAX_COND, &c.cond_layers, err)) ||
        (rc = get_int(mf, "vocoder.cond_kernel", 1, 9, &c.cond_kernel, err)) ||
        (rc = get_int(mf, "vocoder.lookahead", 0, 4, &c.lookahead, err)))
        return rc;
    /* keys added later: older files mean noise only at 16 kHz */
    c.src = 1;
    c.sample_rate = 16000;
    c.env_passes = 0;
    c.frame_sharpen = 0;
    c.frame_sharpen_w = 5;
    if (tts_mf_has(mf, "vocoder.frame_sharpen")) { /* both judged with the rest (voc_layout) */
        double a;
        if ((rc = tts_mf_get_f64(mf, "vocoder.frame_sharpen", &a, err)))
            return rc;
        c.frame_sharpen = (float)a;
    }
    if (tts_mf_has(mf, "vocoder.frame_sharpen_w") &&
        (rc = get_int(mf, "vocoder.frame_sharpen_w", 3, TTS_SHARPEN_MAX_WIDTH,
                      &c.frame_sharpen_w, err)))
        return rc;
    if ((tts_mf_has(mf, "vocoder.env_passes") &&
         (rc = get_int(mf, "vocoder.env_passes", 0, TTS_ENVMATCH_MAX_PASSES, &c.env_passes,
                       err))) ||
        (tts_mf_has(mf, "vocoder.src") && (rc = get_src(mf, &c.src, err))) ||
        (tts_mf_has(mf, "vocoder.sample_rate") &&
         (rc = get_int(mf, "vocoder.sample_rate", 1000, 192000, &c.sample_rate, err))))
        return rc;
    /* every tensor present with its shape before anything is allocated: a small corrupt
     * file must not make us allocate what its metadata claims */
    voc_model probe;
    if ((rc = voc_layout(&probe, &c, err)) || (rc = nn_params_check_mf(&probe.p, mf, err)))
        return rc;
    if ((rc = voc_init(m, &c, for_training, 0, err))) /* every tensor is read below */
        return rc;
    /* the mel analysis the vocoder was trained on, when the file says (trainers write it;
     * without it, voc_init's defaults for the file's mel size, hop and rate) */
    tts_audio_cfg audio;
    tts_err aerr;
    if (tts_mf_has(mf, "audio.n_fft") && tts_audio_cfg_from_mf(mf, &audio, &aerr) == 0) {
        if (audio.n_mels != c.n_mels || audio.hop_length != c.hop) {
            voc_free(m);
            return tts_seterr(err, TTS_E_FORMAT, "model file: the vocoder's audio settings "
                                                 "do not match its mel size or hop");
        }
        m->audio = audio;
    }
    if ((rc = nn_params_from_mf(&m->p, mf, err))) {
        voc_free(m);
        return rc;
    }
    for (int b = 0; b < c.n_mels; b++)
        if (!(m->mel_std[b] > 0) || !(m->mel_std[b] < 1e30f) || m->mel_mean[b] != m->mel_mean[b]) {
            voc_free(m);
            return tts_seterr(err, TTS_E_FORMAT, "model file: vocoder mel statistics are not valid");
        }
    if (for_training && (rc = nn_adam_from_mf(&m->p, adam, mf, err))) {
        voc_free(m);
        return rc;
    }
    return TTS_OK;
}
