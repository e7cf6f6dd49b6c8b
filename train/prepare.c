/*
 * tts-train prepare CORPUS_DIR OUT: reads an LJSpeech-style corpus (metadata.csv with
 * "id|text" or "id|text|normalized text", and wav/ID.wav), and writes the dataset cache
 * (train/dataset.h): phoneme ids from the frontend, log-mel frames of the trimmed,
 * loudness-normalized audio, a validation split, and per-band mel statistics.
 *
 * The split groups takes by their text, so no validation sentence is heard in training
 * (the Kathleen corpus has up to 7 takes of a prompt).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acoustic/voice_io.h"
#include "audio/wav.h"
#include "dsp/dsp.h"
#include "frontend/frontend.h"
#include "train/train.h"

#define MAX_SECONDS 20.0
#define VAL_EVERY 20 /* one text in VAL_EVERY goes to validation (--val-every) */

typedef struct {
    char *data;
    size_t len, cap;
} buf;

static int buf_add(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 1 << 16;
        while (c < b->len + n)
            c *= 2;
        char *d = realloc(b->data, c);
        if (!d)
            return -1;
        b->data = d;
        b->cap = c;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static uint64_t text_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* ids for a whole utterance: every sentence's ids, one BOS at the start, one EOS at the end */
static int utterance_ids(tts_frontend *fe, const char *text, buf *out, int *n_out, tts_err *err)
{
    tts_sentence_iter it;
    int rc = tts_sentences_begin(&it, text, strlen(text), err);
    if (rc)
        return rc;
    size_t start = out->len;
    int32_t bos = TTS_SYM_BOS, eos = TTS_SYM_EOS;
    buf_add(out, &bos, sizeof bos);
    size_t off, len;
    int32_t space = TTS_SYM_SPACE;
    int first = 1;
    while (tts_sentences_next(&it, &off, &len) > 0) {
        tts_phonemes ph = {0};
        if (!first) /* a word boundary between sentences, as after a pause inside one */
            buf_add(out, &space, sizeof space);
        first = 0;
        if ((rc = tts_frontend_phonemize(fe, text + off, len, &ph, err)))
            return rc;
        /* drop each sentence's own BOS/EOS */
        for (size_t i = 0; i < ph.n_ids; i++)
            if (ph.ids[i] != TTS_SYM_BOS && ph.ids[i] != TTS_SYM_EOS && ph.ids[i] != TTS_SYM_PAD) {
                int32_t v = ph.ids[i];
                buf_add(out, &v, sizeof v);
            }
        tts_phonemes_free(&ph);
    }
    buf_add(out, &eos, sizeof eos);
    *n_out = (int)((out->len - start) / sizeof(int32_t));
    return TTS_OK;
}

int train_prepare_main(int argc, char **argv)
{
    int val_every = VAL_EVERY;
    if (argc == 4 && strcmp(argv[2], "--val-every") == 0) {
        char *end;
        long v = strtol(argv[3], &end, 10);
        if (*end || v < 2 || v > 1000000) {
            fprintf(stderr, "tts-train prepare: --val-every takes a number >= 2 (one text in "
                            "N goes to validation)\n");
            return 2;
        }
        val_every = (int)v;
        argc = 2;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: tts-train prepare CORPUS_DIR OUT.ltd [--val-every N]\n");
        return 2;
    }
    const char *dir = argv[0], *outp = argv[1];
    buf ids = {0}, ids_off = {0}, mels = {0}, mel_off = {0}, split = {0}, names = {0}, texts = {0};
    buf audio = {0}; /* per utterance exactly frames * hop samples (vocoder training) */
    char *line = NULL, *symbols = NULL;
    tts_mel *mel = NULL;
    tts_frontend *fe = NULL;
    int status = 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/metadata.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "tts-train prepare: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    tts_err err = {0};
    tts_audio_cfg cfg = tts_audio_cfg_default();
    if (tts_mel_create(&mel, &cfg, &err) || tts_frontend_open(&fe, NULL, &err)) {
        fprintf(stderr, "tts-train prepare: %s\n", err.msg);
        fclose(f);
        goto done;
    }
    /* count lines for the progress display */
    int total = 0;
    for (int c; (c = fgetc(f)) != EOF;)
        total += c == '\n';
    rewind(f);

    int32_t zero = 0, n_ids_total = 0, n_frames_total = 0;
    buf_add(&ids_off, &zero, 4);
    buf_add(&mel_off, &zero, 4);
    int n = 0, n_skipped = 0, lineno = 0, n_val = 0;
    double seconds = 0, seconds_raw = 0;
    size_t cap = 0;
    ssize_t got;
    tts_trim_params tp = tts_trim_default_params();
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (got == 0)
            continue;
        char *bar = strchr(line, '|');
        if (!bar) {
            fprintf(stderr, "skip line %d: no '|' separator\n", lineno);
            n_skipped++;
            continue;
        }
        *bar = '\0';
        const char *id = line, *text = bar + 1;
        char *bar2 = strchr(bar + 1, '|');
        if (bar2) /* LJSpeech: id|raw|normalized: use the normalized text */
            text = bar2 + 1;
        /* the id names a file in wav/: a plain file name only, never a path */
        size_t idl = strlen(id);
        int id_ok = idl > 0 && idl <= 200 && id[0] != '.';
        for (size_t k = 0; k < idl && id_ok; k++)
            id_ok = isalnum((unsigned char)id[k]) || id[k] == '.' || id[k] == '_' || id[k] == '-';
        if (!id_ok) {
            fprintf(stderr, "skip line %d: the id is not a plain file name (1 to 200 letters, "
                            "digits, '.', '_' or '-', not starting with '.')\n", lineno);
            n_skipped++;
            continue;
        }
        snprintf(path, sizeof path, "%s/wav/%s.wav", dir, id);
        float *pcm = NULL;
        size_t np = 0;
        tts_wav_info info;
        if (tts_wav_read(path, cfg.sample_rate, &pcm, &np, &info, &err)) {
            fprintf(stderr, "skip %s: %s\n", id, err.msg);
            n_skipped++;
            continue;
        }
        seconds_raw += (double)np / cfg.sample_rate;
        size_t s0 = 0, s1 = np;
        tts_trim_silence(pcm, np, &tp, &s0, &s1, &err);
        double dur = (double)(s1 - s0) / cfg.sample_rate;
        if (s1 <= s0 || dur < 0.3 || dur > MAX_SECONDS) {
            fprintf(stderr, "skip %s: %.2f s of audio after trimming (allowed 0.3 to %.0f s)\n", id,
                    dur, MAX_SECONDS);
            free(pcm);
            n_skipped++;
            continue;
        }
        tts_normalize_rms(pcm + s0, s1 - s0, -20.0f, 0.99f);
        size_t before = ids.len;
        int nid = 0;
        int urc = utterance_ids(fe, text, &ids, &nid, &err);
        if (urc || nid <= 2) {
            fprintf(stderr, "skip %s: %s\n", id, urc ? err.msg : "no phonemes");
            ids.len = before;
            free(pcm);
            n_skipped++;
            continue;
        }
        size_t nf = tts_mel_n_frames(mel, s1 - s0);
        float *frames = malloc(nf * cfg.n_mels * sizeof(float));
        if (!frames || tts_mel_analyze_into(mel, pcm + s0, s1 - s0, frames, &err)) {
            fprintf(stderr, "tts-train prepare: %s: %s\n", id, frames ? err.msg : "out of memory");
            free(frames);
            free(pcm);
            fclose(f);
            goto done;
        }
        buf_add(&mels, frames, nf * cfg.n_mels * sizeof(float));
        free(frames);
        size_t want = nf * (size_t)cfg.hop_length, have = s1 - s0;
        buf_add(&audio, pcm + s0, (have < want ? have : want) * sizeof(float));
        for (float z = 0; have < want; have++)
            buf_add(&audio, &z, sizeof z);
        free(pcm);
        n_ids_total += nid;
        n_frames_total += (int32_t)nf;
        buf_add(&ids_off, &n_ids_total, 4);
        buf_add(&mel_off, &n_frames_total, 4);
        uint8_t is_val = text_hash(text) % (uint64_t)val_every == 0;
        n_val += is_val;
        buf_add(&split, &is_val, 1);
        buf_add(&names, id, strlen(id));
        buf_add(&names, "\n", 1);
        buf_add(&texts, text, strlen(text));
        buf_add(&texts, "\n", 1);
        seconds += dur;
        n++;
        if (n % 50 == 0 || lineno == total)
            fprintf(stderr, "\rprepare: %d/%d utterances, %.1f min of audio", lineno, total,
                    seconds / 60);
    }
    fprintf(stderr, "\n");
    fclose(f);
    if (n == 0) {
        fprintf(stderr, "tts-train prepare: no usable utterance in %s\n", dir);
        goto done;
    }
    /* per-band statistics over the training split */
    int nm = cfg.n_mels;
    double *sum = calloc(nm, sizeof(double)), *sq = calloc(nm, sizeof(double));
    float mean[1024], std[1024];
    const float *M = (const float *)mels.data;
    const int32_t *mo = (const int32_t *)mel_off.data;
    double cnt = 0;
    for (int i = 0; i < n; i++) {
        if (split.data[i])
            continue;
        for (int t = mo[i]; t < mo[i + 1]; t++)
            for (int b = 0; b < nm; b++) {
                double v = M[(size_t)t * nm + b];
                sum[b] += v;
                sq[b] += v * v;
            }
        cnt += mo[i + 1] - mo[i];
    }
    for (int b = 0; b < nm; b++) {
        mean[b] = (float)(sum[b] / cnt);
        double var = sq[b] / cnt - (sum[b] / cnt) * (sum[b] / cnt);
        std[b] = (float)sqrt(var > 1e-4 ? var : 1e-4);
    }
    free(sum);
    free(sq);

    size_t symlen = tts_symbols_serialize(NULL, 0);
    symbols = malloc(symlen + 1);
    tts_symbols_serialize(symbols, symlen + 1);
    tts_mf_writer *w = tts_mf_writer_new();
    tts_mf_set_str(w, "kind", "dataset");
    tts_mf_set_i64(w, "n", n);
    tts_mf_set_str(w, "symbols", symbols);
    tts_mf_set_str(w, "corpus", dir);
    tts_audio_cfg_to_mf(w, &cfg);
    int64_t s_ids[1] = {n_ids_total}, s_off[1] = {n + 1}, s_mel[2] = {n_frames_total, nm};
    int64_t s_n[1] = {n}, s_names[1] = {(int64_t)names.len}, s_texts[1] = {(int64_t)texts.len};
    int64_t s_nm[1] = {nm};
    tts_mf_add_tensor_ref(w, "ids", TTS_MF_I32, 1, s_ids, ids.data);
    tts_mf_add_tensor_ref(w, "ids_off", TTS_MF_I32, 1, s_off, ids_off.data);
    tts_mf_add_tensor_ref(w, "mel", TTS_MF_F32, 2, s_mel, mels.data);
    tts_mf_add_tensor_ref(w, "mel_off", TTS_MF_I32, 1, s_off, mel_off.data);
    tts_mf_add_tensor_ref(w, "split", TTS_MF_U8, 1, s_n, split.data);
    tts_mf_add_tensor_ref(w, "names", TTS_MF_U8, 1, s_names, names.data);
    tts_mf_add_tensor_ref(w, "texts", TTS_MF_U8, 1, s_texts, texts.data);
    int64_t s_audio[1] = {(int64_t)n_frames_total * cfg.hop_length};
    tts_mf_add_tensor_ref(w, "audio", TTS_MF_F32, 1, s_audio, audio.data);
    tts_mf_add_tensor_ref(w, "mel_mean", TTS_MF_F32, 1, s_nm, mean);
    tts_mf_add_tensor_ref(w, "mel_std", TTS_MF_F32, 1, s_nm, std);
    int rc = tts_mf_write(w, outp, &err);
    tts_mf_writer_free(w);
    if (rc) {
        fprintf(stderr, "tts-train prepare: %s\n", err.msg);
        goto done;
    }
    printf("prepared %d utterances (%d train, %d validation), skipped %d\n", n, n - n_val, n_val,
           n_skipped);
    printf("audio: %.1f min read, %.1f min after trimming; %d frames, %d phoneme ids\n",
           seconds_raw / 60, seconds / 60, n_frames_total, n_ids_total);
    printf("wrote %s\n", outp);
    status = 0;
done:
    free(line);
    free(symbols);
    free(ids.data);
    free(ids_off.data);
    free(mels.data);
    free(mel_off.data);
    free(split.data);
    free(names.data);
    free(texts.data);
    free(audio.data);
    tts_frontend_close(fe);
    tts_mel_free(mel);
    return status;
}
