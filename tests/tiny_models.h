/*
 * Tiny models with random weights, written to files, for the tests and fuzz targets that
 * need a whole voice: they speak noise, but exercise every path of the engine. Included
 * once, by the test's or fuzz target's own .c file.
 */
#ifndef TTS_TESTS_TINY_MODELS_H
#define TTS_TESTS_TINY_MODELS_H

#include <stdint.h>
#include <stdlib.h>

#include "acoustic/voice_io.h"
#include "frontend/frontend.h"
#include "nn/modelfile.h"
#include "vocoder/vocoder_io.h"

/* an 80-band voice (d 16, a post-net, sharpened attention; pitch: a pitch predictor whose
 * embedding is not zero) */
static int tiny_voice_write(const char *path, int pitch)
{
    size_t len = tts_symbols_serialize(NULL, 0);
    char *sym = malloc(len + 1);
    tts_symbols_serialize(sym, len + 1);
    t2m_config c = t2m_config_default(tts_symbols_count(), 80);
    c.d = 16;
    c.text_ch = 16;
    c.embed_dim = 8;
    c.post_ch = 8;         /* as the shipped voice: a post-net (frames handed on later) */
    c.attn_sharpen = 2.0f; /* and a sharpened attention */
    if (pitch) {
        c.pitch_ch = 4;
        c.lf0_mean = 5.1f;
        c.lf0_std = 0.2f;
    }
    t2m_model m;
    tts_err e;
    if (t2m_init(&m, &c, 0, 3, &e))
        return -1;
    /* a new pitch embedding is zero: give it weights, so pitch moves the frames */
    const nn_tensor_info *pe = nn_params_find(&m.p, "pemb.0.w");
    uint64_t prng = 11;
    for (size_t j = 0; pe && j < pe->size; j++)
        m.p.params[pe->offset + j] = (float)(0.5 * nn_rand_normal(&prng));
    /* the post-net's last layer starts at zero: give it weights, so its output counts */
    const nn_tensor_info *pl = nn_params_find(&m.p, "post.4.w");
    uint64_t rng = 9;
    for (size_t j = 0; pl && j < pl->size; j++)
        m.p.params[pl->offset + j] = (float)(0.1 * nn_rand_normal(&rng));
    for (int b = 0; b < 80; b++) {
        m.mel_mean[b] = -5;
        m.mel_std[b] = 1;
    }
    tts_audio_cfg a = tts_audio_cfg_default();
    tts_mf_writer *w = tts_mf_writer_new();
    t2m_to_mf(w, &m, NULL);
    tts_audio_cfg_to_mf(w, &a);
    tts_mf_set_str(w, "symbols", sym);
    int rc = tts_mf_write(w, path, &e);
    tts_mf_writer_free(w);
    t2m_free(&m);
    free(sym);
    return rc;
}

/* a tiny neural vocoder (80 bands, hop 200), its envelope match and frame sharpening as
 * given */
static int tiny_vocoder_write(const char *path, int env_passes, float sharpen, int sharpen_w)
{
    voc_config c = voc_config_default(80, 200);
    c.env_passes = env_passes;
    c.frame_sharpen = sharpen;
    c.frame_sharpen_w = sharpen_w;
    c.res_ch = 8;
    c.skip_ch = 8;
    c.n_layers = 4;
    c.cond_ch = 8;
    voc_model m;
    tts_err e;
    if (voc_init(&m, &c, 0, 4, &e))
        return -1;
    tts_mf_writer *w = tts_mf_writer_new();
    voc_to_mf(w, &m, NULL);
    int rc = tts_mf_write(w, path, &e);
    tts_mf_writer_free(w);
    voc_free(&m);
    return rc;
}

#endif
