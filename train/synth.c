/*
 * tts-train synth MODEL TEXT OUT.wav: free-running synthesis of one text by an acoustic
 * model (or checkpoint), vocoded with Griffin-Lim; the attention is drawn to OUT.wav.png.
 * A training-time check of what the model really says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acoustic/voice_io.h"
#include "audio/wav.h"
#include "frontend/frontend.h"
#include "train/frames.h"
#include "train/plot.h"
#include "train/train.h"

int train_synth_main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tts-train synth MODEL.ltm TEXT OUT.wav\n");
        return 2;
    }
    tts_err err = {0};
    tts_mf *mf = NULL;
    t2m_model m;
    tts_audio_cfg cfg;
    tts_frontend *fe = NULL;
    tts_mel *mel = NULL;
    if (tts_mf_open(&mf, argv[0], &err) || t2m_from_mf(&m, mf, 0, NULL, &err) ||
        tts_audio_cfg_from_mf(mf, &cfg, &err) || tts_frontend_open(&fe, NULL, &err) ||
        tts_mel_create(&mel, &cfg, &err)) {
        fprintf(stderr, "tts-train synth: %s\n", err.msg);
        return 1;
    }
    const char *symbols;
    if (tts_mf_get_str(mf, "symbols", &symbols, &err) ||
        tts_frontend_set_symbols(fe, symbols, strlen(symbols), &err)) {
        fprintf(stderr, "tts-train synth: %s\n", err.msg);
        return 1;
    }
    tts_phonemes ph = {0};
    if (tts_frontend_phonemize(fe, argv[1], strlen(argv[1]), &ph, &err)) {
        fprintf(stderr, "tts-train synth: %s\n", err.msg);
        return 1;
    }
    int N = (int)ph.n_ids;
    int *ids = malloc(sizeof(int) * N);
    for (int i = 0; i < N; i++)
        ids[i] = ph.ids[i];
    t2m_infer_opts io = t2m_infer_opts_default(&m);
    unsigned char *passable = malloc((size_t)m.cfg.n_symbols);
    if (passable) {
        tts_symtab_passable(tts_frontend_symbols(fe), passable);
        io.passable = passable;
    }
    int cap = io.max_steps_per_token * N + 10;
    float *align = calloc((size_t)cap * N, sizeof(float));
    frame_run c = {.n_mels = cfg.n_mels};
    int stop = -1;
    int steps = t2m_synthesize(&m, ids, N, &io, frame_run_collect, &c, align, &stop, &err);
    if (steps < 0) {
        fprintf(stderr, "tts-train synth: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "%d tokens -> %d steps (%zu frames, %.2f s), stop: %s\n", N, steps, c.n,
            c.n * cfg.hop_length / (double)cfg.sample_rate,
            stop == 0 ? "end of text" : stop == 1 ? "length cap" : "callback");
    char png[4096];
    snprintf(png, sizeof png, "%s.png", argv[2]);
    plot_panel panels[2] = {{align, steps, N, 0, 1}, {c.frames, (int)c.n, cfg.n_mels, 0, 0}};
    plot_png(png, panels, 1, 4, 4, &err);
    snprintf(png, sizeof png, "%s.mel.png", argv[2]);
    plot_png(png, panels + 1, 1, 1, 2, &err);
    float *pcm = NULL;
    size_t np = 0;
    tts_gl_params gp = tts_gl_default_params();
    gp.n_iter = 60;
    if (tts_mel_synthesize(mel, c.frames, c.n, &gp, &pcm, &np, &err) ||
        tts_wav_write(argv[2], pcm, np, cfg.sample_rate, &err)) {
        fprintf(stderr, "tts-train synth: %s\n", err.msg);
        return 1;
    }
    free(pcm);
    free(align);
    free(passable);
    frame_run_free(&c);
    free(ids);
    tts_phonemes_free(&ph);
    tts_frontend_close(fe);
    tts_mel_free(mel);
    t2m_free(&m);
    tts_mf_close(mf);
    return 0;
}

/* tts-train plot OUT.png A.wav [B.wav ...] (plot_speech_png) */
int train_plot_main(int argc, char **argv)
{
    if (argc < 2 || argc > 6) {
        fprintf(stderr, "usage: tts-train plot OUT.png A.wav [B.wav ...] (1 to 5 WAVs)\n");
        return 2;
    }
    tts_err err = {0};
    float *pcm[5] = {0};
    size_t len[5] = {0};
    int rc = 0, n = argc - 1;
    for (int i = 0; i < n && rc == 0; i++)
        rc = tts_wav_read(argv[i + 1], 16000, &pcm[i], &len[i], NULL, &err);
    if (rc == 0)
        rc = plot_speech_png(argv[0], (const float *const *)pcm, len, n, 16000, &err);
    for (int i = 0; i < n; i++)
        free(pcm[i]);
    if (rc) {
        fprintf(stderr, "tts-train plot: %s\n", err.msg);
        return 1;
    }
    return 0;
}
