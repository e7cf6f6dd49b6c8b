/*
 * Writes the seed of fuzz/corpus/modelfile/: a complete, loadable voice model file,
 * as small as the format allows (a few KB), so that mutations reach every part of it.
 *
 *   make_seed_model OUT.ltm          a tiny acoustic model (n_mels 8, r 1, widths 4)
 *   make_seed_model --ckpt OUT.ltm   the same as a training checkpoint (Adam moments)
 *   make_seed_model --f16 OUT.ltm    the same in half floats, as voices are shipped
 *   make_seed_model --vocoder OUT.ltm  a tiny neural vocoder (n_mels 8, 2 layers of 4)
 *
 * The audio settings and symbol table are consistent with the model, so
 * `tts -m OUT.ltm "Hello." -o x.wav` speaks (noise) with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acoustic/voice_io.h"
#include "frontend/frontend.h"
#include "vocoder/vocoder_io.h"

static int write_vocoder(const char *out)
{
    voc_config c = voc_config_default(8, 200);
    c.res_ch = 4;
    c.skip_ch = 4;
    c.n_layers = 2;
    c.cond_ch = 4;
    c.env_passes = 1;
    voc_model m;
    tts_err err = {0};
    if (voc_init(&m, &c, 0, 42, &err)) {
        fprintf(stderr, "make_seed_model: %s\n", err.msg);
        return 1;
    }
    tts_mf_writer *w = tts_mf_writer_new();
    voc_to_mf(w, &m, NULL);
    int rc = tts_mf_write(w, out, &err);
    if (rc)
        fprintf(stderr, "make_seed_model: %s\n", err.msg);
    tts_mf_writer_free(w);
    voc_free(&m);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    int ckpt = argc == 3 && strcmp(argv[1], "--ckpt") == 0;
    int f16 = argc == 3 && strcmp(argv[1], "--f16") == 0;
    if (argc == 3 && strcmp(argv[1], "--vocoder") == 0)
        return write_vocoder(argv[2]);
    if (argc != 2 + ckpt + f16) {
        fprintf(stderr, "usage: make_seed_model [--ckpt | --f16 | --vocoder] OUT.ltm\n");
        return 2;
    }
    const char *out = argv[argc - 1];
    tts_err err = {0};
    tts_audio_cfg a = tts_audio_cfg_default();
    a.n_mels = 8;
    t2m_config c = t2m_config_default(tts_symbols_count(), a.n_mels);
    c.r = 1;
    c.embed_dim = 4;
    c.text_ch = 4;
    c.d = 4;
    t2m_model m;
    if (t2m_init(&m, &c, ckpt, 42, &err)) {
        fprintf(stderr, "make_seed_model: %s\n", err.msg);
        return 1;
    }
    size_t len = tts_symbols_serialize(NULL, 0);
    char *symbols = malloc(len + 1);
    tts_symbols_serialize(symbols, len + 1);
    nn_adam adam = {.step = 3};
    tts_mf_writer *w = tts_mf_writer_new();
    if (f16)
        t2m_to_mf_f16(w, &m);
    else
        t2m_to_mf(w, &m, ckpt ? &adam : NULL);
    tts_audio_cfg_to_mf(w, &a);
    tts_mf_set_str(w, "symbols", symbols);
    int rc = tts_mf_write(w, out, &err);
    if (rc)
        fprintf(stderr, "make_seed_model: %s\n", err.msg);
    tts_mf_writer_free(w);
    t2m_free(&m);
    free(symbols);
    return rc ? 1 : 0;
}
