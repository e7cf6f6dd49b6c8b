/*
 * tts-train export IN.ltm OUT.ltm: a checkpoint (or best.ltm) -> the shipped voice file
 * (or, for a vocoder checkpoint, the shipped vocoder file):
 * parameters as half floats, no optimizer state, with the audio settings, the symbol
 * table and the training provenance carried over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acoustic/voice_io.h"
#include "train/train.h"
#include "vocoder/vocoder_io.h"

/* a vocoder checkpoint -> the shipped vocoder: half floats, the audio settings kept;
 * env_passes >= 0 sets the envelope match's passes */
static int export_vocoder(tts_mf *mf, const char *out, int env_passes)
{
    tts_err err = {0};
    voc_model m;
    tts_audio_cfg audio;
    int has_audio = tts_audio_cfg_from_mf(mf, &audio, &err) == 0;
    if (voc_from_mf(&m, mf, 0, NULL, &err)) {
        fprintf(stderr, "tts-train export: %s\n", err.msg);
        return 1;
    }
    if (env_passes >= 0)
        m.cfg.env_passes = env_passes;
    tts_mf_writer *w = tts_mf_writer_new();
    voc_to_mf_f16(w, &m);
    if (has_audio)
        tts_audio_cfg_to_mf(w, &audio);
    int64_t step;
    if (tts_mf_get_i64(mf, "train.step", &step, &err) == 0)
        tts_mf_set_i64(w, "train.step", step);
    int rc = tts_mf_write(w, out, &err);
    tts_mf_writer_free(w);
    voc_free(&m);
    if (rc) {
        fprintf(stderr, "tts-train export: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int train_export_main(int argc, char **argv)
{
    double sharpen = 0;
    int env_passes = -1;
    if (argc == 4 && !strcmp(argv[2], "--attn-sharpen")) {
        sharpen = atof(argv[3]);
        if (!(sharpen > 0 && sharpen <= 100)) {
            fprintf(stderr, "tts-train export: --attn-sharpen wants a number in (0, 100]\n");
            return 2;
        }
        argc = 2;
    } else if (argc == 4 && !strcmp(argv[2], "--env-passes")) {
        char *end;
        long v = strtol(argv[3], &end, 10);
        if (*end || v < 0 || v > TTS_ENVMATCH_MAX_PASSES) {
            fprintf(stderr, "tts-train export: --env-passes wants 0 to %d\n",
                    TTS_ENVMATCH_MAX_PASSES);
            return 2;
        }
        env_passes = (int)v;
        argc = 2;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: tts-train export IN.ltm OUT.ltm [--attn-sharpen A (a voice) | "
                        "--env-passes N (a vocoder)]\n");
        return 2;
    }
    tts_err err = {0};
    tts_mf *mf = NULL;
    t2m_model m;
    tts_audio_cfg audio;
    const char *symbols, *kind;
    if (tts_mf_open(&mf, argv[0], &err) == 0 && tts_mf_get_str(mf, "kind", &kind, &err) == 0 &&
        strcmp(kind, "vocoder") == 0) {
        int rc = export_vocoder(mf, argv[1], env_passes);
        tts_mf_close(mf);
        return rc;
    }
    tts_mf_close(mf);
    mf = NULL;
    if (tts_mf_open(&mf, argv[0], &err) || t2m_from_mf(&m, mf, 0, NULL, &err) ||
        tts_audio_cfg_from_mf(mf, &audio, &err) || tts_mf_get_str(mf, "symbols", &symbols, &err)) {
        fprintf(stderr, "tts-train export: %s\n", err.msg);
        return 1;
    }
    if (env_passes >= 0) {
        fprintf(stderr, "tts-train export: --env-passes is for a vocoder; %s is a voice\n",
                argv[0]);
        t2m_free(&m);
        tts_mf_close(mf);
        return 2;
    }
    if (sharpen > 0)
        m.cfg.attn_sharpen = (float)sharpen;
    tts_mf_writer *w = tts_mf_writer_new();
    t2m_to_mf_f16(w, &m);
    tts_audio_cfg_to_mf(w, &audio);
    tts_mf_set_str(w, "symbols", symbols);
    static const char *keep_f64[] = {"train.val_loss", "train.best_val"};
    for (int i = 0; i < 2; i++) {
        double v;
        if (tts_mf_get_f64(mf, keep_f64[i], &v, &err) == 0)
            tts_mf_set_f64(w, keep_f64[i], v);
    }
    int64_t step;
    if (tts_mf_get_i64(mf, "train.step", &step, &err) == 0)
        tts_mf_set_i64(w, "train.step", step);
    int rc = tts_mf_write(w, argv[1], &err);
    tts_mf_writer_free(w);
    t2m_free(&m);
    tts_mf_close(mf);
    if (rc) {
        fprintf(stderr, "tts-train export: %s\n", err.msg);
        return 1;
    }
    return 0;
}
