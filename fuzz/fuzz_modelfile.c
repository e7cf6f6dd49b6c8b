/*
 * libFuzzer target: the model-file loader and the acoustic model built from what loads.
 *
 *   tts_mf_open_memory_ex (checksum skipped, so mutations reach the structure checks),
 *   then every metadata value and every tensor byte is read; tts_mf_open_memory (with
 *   the checksum) on the same bytes;
 *   t2m_from_mf (as tts_engine_open and tts-train's resume load it), the audio settings
 *   (tts_audio_cfg_from_mf), the symbol table (tts_symtab_parse), and a few decoder steps
 *   of t2m_synthesize on whatever weights the file holds.
 *
 * voc_from_mf and three streamed frames, when the file is a vocoder.
 *
 * Seeds: fuzz/corpus/modelfile/ (tiny voices in f32 and f16 and a checkpoint, made by
 * fuzz/make_seed_model.c); scripts/test.sh adds the first 64 KB of the shipped voice and
 * vocoder files (their metadata and tensor tables), so mutations start from real files.
 * Run:   build-fuzz/fuzz/fuzz_modelfile -max_len=65536 CORPUS_DIR fuzz/corpus/modelfile
 *
 * A file whose metadata asks for a huge model but holds no tensors must be refused before
 * anything is allocated (seed huge-dims-no-tensors.ltm).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acoustic/voice_io.h"
#include "frontend/frontend.h"
#include "nn/modelfile.h"
#include "tts.h"
#include "vocoder/vocoder_io.h"

static volatile uint64_t sink; /* keeps the reads */

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_modelfile: invariant broken: %s\n", what);
    abort();
}

static void touch(const tts_mf *mf)
{
    tts_err err;
    size_t nm = tts_mf_meta_count(mf);
    for (size_t i = 0; i < nm; i++) {
        tts_mf_type type;
        const char *key = tts_mf_meta_key(mf, i, &type);
        if (!key)
            fail("meta key NULL inside the count");
        const char *s;
        int64_t v;
        double f;
        int rc = type == TTS_MF_STR ? tts_mf_get_str(mf, key, &s, &err)
                 : type == TTS_MF_I64 ? tts_mf_get_i64(mf, key, &v, &err)
                                      : tts_mf_get_f64(mf, key, &f, &err);
        if (rc != TTS_OK || !tts_mf_has(mf, key))
            fail("a listed metadata key cannot be read");
        if (type == TTS_MF_STR)
            sink += strlen(s);
    }
    if (tts_mf_meta_key(mf, nm, NULL))
        fail("meta key past the count");
    size_t nt = tts_mf_tensor_count(mf);
    for (size_t i = 0; i < nt; i++) {
        const tts_mf_tensor *t = tts_mf_tensor_at(mf, i);
        if (!t || tts_mf_find(mf, t->name) != t)
            fail("tensor lookup by name");
        if (t->nbytes != (size_t)t->count * tts_mf_dtype_size(t->dtype))
            fail("tensor nbytes");
        if (((uintptr_t)t->data & 63) != 0)
            fail("tensor data not 64-byte aligned");
        const uint8_t *p = t->data;
        uint64_t h = 0;
        for (size_t k = 0; k < t->nbytes; k++)
            h = h * 31 + p[k];
        sink += h;
    }
    if (tts_mf_tensor_at(mf, nt))
        fail("tensor past the count");
}


static void acoustic(const tts_mf *mf, int for_training)
{
    t2m_model m;
    nn_adam adam = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    tts_err err = {0};
    if (t2m_from_mf(&m, mf, for_training, &adam, &err) != TTS_OK)
        return;
    if (!for_training) {
        int ids[8] = {1, 5, 9, 3, 12, 7, 4, 2}; /* BOS ... EOS of the built-in table */
        for (int i = 0; i < 8; i++)
            ids[i] %= m.cfg.n_symbols;
        t2m_infer_opts o = t2m_infer_opts_default(&m);
        o.max_steps = 6;
        int stop = 0;
        int steps = t2m_synthesize(&m, ids, 8, &o, NULL, NULL, NULL, &stop, &err);
        if (steps > o.max_steps)
            fail("t2m_synthesize ran past max_steps");
    }
    t2m_free(&m);
}

/* a vocoder file: loaded as the engine loads one (its layers in 8-bit integers), and a few
 * frames streamed */
static void vocoder(const tts_mf *mf)
{
    voc_model m;
    tts_err err = {0};
    if (voc_from_mf(&m, mf, 0, NULL, &err) != TTS_OK)
        return;
    if (voc_use_int8(&m, &err) != TTS_OK) { /* as the engine: the layers in 8-bit integers */
        voc_free(&m);
        return;
    }
    voc_stream s;
    if (voc_stream_init(&s, &m, 1, &err) == TTS_OK) {
        float *frame = calloc((size_t)m.cfg.n_mels, sizeof(float));
        float *pcm = malloc(sizeof(float) * (size_t)(m.cfg.lookahead + 1) * m.cfg.hop);
        for (int f = 0; frame && pcm && f < 3; f++)
            if (voc_stream_push(&m, &s, frame, NULL, pcm) > m.cfg.hop)
                fail("voc_stream_push wrote more than a hop");
        free(frame);
        free(pcm);
        voc_stream_free(&s);
    }
    voc_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    tts_mf *mf = NULL;
    tts_err err = {0};
    if (tts_mf_open_memory(&mf, data, n, &err) == TTS_OK)
        tts_mf_close(mf);
    mf = NULL;
    if (tts_mf_open_memory_ex(&mf, data, n, TTS_MF_NO_CHECKSUM, &err) != TTS_OK) {
        if (mf)
            fail("*out not NULL after a failed open");
        if (!err.msg[0])
            fail("failed open without a message");
        return 0;
    }
    touch(mf);

    tts_audio_cfg a;
    tts_audio_cfg_from_mf(mf, &a, &err);
    const char *sym;
    if (tts_mf_get_str(mf, "symbols", &sym, &err) == TTS_OK) {
        tts_symtab *t = NULL;
        if (tts_symtab_parse(&t, sym, strlen(sym), &err) == TTS_OK) {
            int c = tts_symtab_count(t);
            for (int i = 0; i < c; i++)
                if (!tts_symtab_name(t, i))
                    fail("symbol name NULL inside the count");
            tts_symtab_free(t);
        }
    }
    acoustic(mf, 0);
    acoustic(mf, 1);
    vocoder(mf);
    tts_mf_close(mf);
    return 0;
}
