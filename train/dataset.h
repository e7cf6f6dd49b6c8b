/*
 * The training cache written by `tts-train prepare`: phoneme ids and log-mel frames of
 * every utterance of a corpus, with a train/validation split, in one model file
 * (nn/modelfile.h, "kind" = "dataset").
 *
 * Tensors: ids i32[total_ids], ids_off i32[n+1], mel f32[total_frames, n_mels],
 * mel_off i32[n+1], split u8[n] (0 = train, 1 = validation), names u8[..] and
 * texts u8[..] (one line per utterance), mel_mean / mel_std f32[n_mels] (over the
 * training split), audio f32[total_frames * hop] (the trimmed, normalized waveform of
 * utterance i is audio[mel_off[i]*hop .. mel_off[i+1]*hop), zero-padded; frame t of an
 * utterance is centred on its sample t*hop; absent from older caches: then NULL). Metadata: audio.* (the feature settings), symbols, n.
 */
#ifndef TTS_TRAIN_DATASET_H
#define TTS_TRAIN_DATASET_H

#include "dsp/dsp.h"
#include "nn/modelfile.h"

typedef struct {
    tts_mf *mf;
    int n, n_mels;
    const int32_t *ids, *ids_off, *mel_off;
    const float *mel, *mel_mean, *mel_std;
    const float *pcm; /* "audio": may be NULL */
    const uint8_t *split;
    char **names, **texts; /* [n], owned copies */
    const char *symbols;
    tts_audio_cfg audio;
} tts_dataset;

int tts_dataset_open(tts_dataset *ds, const char *path, tts_err *err);
void tts_dataset_close(tts_dataset *ds);

/* Utterance i's recorded log-mel frames normalized by the cache's statistics,
 * (x - mel_mean) / mel_std per band, as the acoustic model trains on them, into
 * out[n_frames(i) * n_mels]. */
void tts_dataset_mel_norm(const tts_dataset *ds, int i, float *out);

/* The recordings' F0 (vocoder/pitch.h's tracker, Hz, 0 where unvoiced), frame for frame
 * as the cache's mel: f0[mel_off[n]] (caller-owned), over nthreads threads. The cache
 * must hold the audio (ds->pcm). */
void tts_dataset_track_f0(const tts_dataset *ds, float *f0, int nthreads);

/* The recordings' pitch: lf0[frame] = (ln F0 - mean) / sd over the whole cache (NaN where
 * unvoiced), frame for frame as ds->mel; mean and sd of ln F0 over the training split's
 * voiced frames into *mean, *sd. NULL when out of memory or the cache holds no audio. */
float *tts_dataset_lf0(const tts_dataset *ds, int threads, float *mean, float *sd);

static inline int tts_dataset_n_ids(const tts_dataset *ds, int i)
{
    return ds->ids_off[i + 1] - ds->ids_off[i];
}
static inline int tts_dataset_n_frames(const tts_dataset *ds, int i)
{
    return ds->mel_off[i + 1] - ds->mel_off[i];
}

#endif
