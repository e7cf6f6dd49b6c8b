/*
 * tts-train export IN.ltm OUT.ltm: a checkpoint (or best.ltm) -> the shipped voice file
 * (or, for a vocoder checkpoint, the shipped vocoder file):
 * parameters as half floats (with --int8: the larger tensors as 8-bit codes with block
 * scales, about half the size), no optimizer state, with the audio settings, the symbol
 * table and the training provenance carried over. With --holds CACHE.ltd the voice also
 * gets the symbols' holds (train/holds.h), measured on the exported (averaged) weights.
 * With --stand-ins CACHE.ltd, symbols the cache's training split never has are spoken as
 * trained ones ('?' and '!' as '.', see apply_stand_ins). With --gv CACHE.ltd the voice
 * gets its spectral post-filter (train/gv.h) and, with a pitch predictor, its default
 * pitch range, both measured on the exported model as it speaks; --pitch-range R sets that
 * range instead (chosen by tts-train eval's melody and F0 figures). A shipped voice can be
 * re-exported so: `export VOICE.ltm OUT.ltm --int8 ...` of an --int8 voice is
 * byte-identical without the options.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "acoustic/voice_io.h"
#include "frontend/frontend.h"
#include "train/dataset.h"
#include "train/gv.h"
#include "train/holds.h"
#include "train/train.h"
#include "vocoder/vocoder_io.h"

/* a vocoder checkpoint -> the shipped vocoder: half floats, the audio settings kept;
 * env_passes >= 0 sets the envelope match's passes, fs_amount >= 0 the frames' sharpening
 * (amount, width fs_w) */
static int export_vocoder(tts_mf *mf, const char *out, int env_passes, double fs_amount,
                          int fs_w, int int8)
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
    if (fs_amount >= 0) {
        m.cfg.frame_sharpen = (float)fs_amount;
        m.cfg.frame_sharpen_w = fs_w;
    }
    tts_mf_writer *w = tts_mf_writer_new();
    if (int8)
        voc_to_mf_q8(w, &m);
    else
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

/* --stand-ins: a symbol the training split never has keeps the embedding it was
 * initialized with, and the model speaks it as noise (Kathleen has no '?' and no '!': the
 * shipped voice ended every question with a short vowel after its last word, which the
 * recognizer heard as a word). Each one of these pairs whose first symbol the cache's
 * training split never has, and whose second it has, gets the second's embedding row and
 * hold: it is then spoken as that symbol. */
static const uint32_t stand_ins[][2] = {
    {'?', '.'}, {'!', '.'}, {'r', 0x0279 /* ɹ */}, {'x', 'k'}, {0x026C /* ɬ */, 'l'},
};

/* the cache a voice's holds or stand-ins are measured on, which must have the voice's
 * symbols; 0, or 1 with the message printed */
static int open_cache(tts_dataset *ds, const char *cache, const char *symbols)
{
    tts_err err = {0};
    if (tts_dataset_open(ds, cache, &err)) {
        fprintf(stderr, "tts-train export: %s\n", err.msg);
        return 1;
    }
    if (strcmp(ds->symbols, symbols)) {
        fprintf(stderr, "tts-train export: %s was made with other phoneme symbols than the voice\n",
                cache);
        tts_dataset_close(ds);
        return 1;
    }
    return 0;
}

static int apply_stand_ins(t2m_model *m, const char *cache, const char *symbols)
{
    tts_err err = {0};
    tts_dataset ds;
    tts_symtab *tab = NULL;
    if (open_cache(&ds, cache, symbols))
        return 1;
    int n = 0, d = m->cfg.embed_dim;
    long *count = NULL;
    if (tts_symtab_parse(&tab, symbols, strlen(symbols), &err) ||
        !(count = calloc((size_t)(n = tts_symtab_count(tab)), sizeof(long)))) {
        fprintf(stderr, "tts-train export: %s\n", count || !tab ? err.msg : "out of memory");
        tts_symtab_free(tab);
        tts_dataset_close(&ds);
        return 1;
    }
    for (int u = 0; u < ds.n; u++) {
        if (ds.split[u]) /* validation takes do not train the embeddings */
            continue;
        for (int i = ds.ids_off[u]; i < ds.ids_off[u + 1]; i++)
            if (ds.ids[i] >= 0 && ds.ids[i] < n)
                count[ds.ids[i]]++;
    }
    for (size_t k = 0; k < sizeof stand_ins / sizeof stand_ins[0]; k++) {
        int a = tts_symtab_id(tab, stand_ins[k][0]), b = tts_symtab_id(tab, stand_ins[k][1]);
        if (a < 0 || b < 0 || count[a] > 0 || count[b] == 0)
            continue;
        memcpy(m->p.params + m->embed + (size_t)a * d, m->p.params + m->embed + (size_t)b * d,
               sizeof(float) * (size_t)d);
        if (m->hold)
            m->hold[a] = m->hold[b];
        fprintf(stderr, "stand-in: '%s' (never in the training split) is spoken as '%s' (%ld "
                        "times)\n", tts_symtab_name(tab, a), tts_symtab_name(tab, b), count[b]);
    }
    free(count);
    tts_symtab_free(tab);
    tts_dataset_close(&ds);
    return 0;
}

/* --holds: m->hold from the teacher-forced attention of the (averaged) model over the
 * cache's training split; a table of the symbols' holds goes to stderr */
static int measure_holds(t2m_model *m, const char *cache, const char *symbols, double pct,
                         int min_count)
{
    tts_err err = {0};
    tts_dataset ds;
    holds_table t;
    if (open_cache(&ds, cache, symbols))
        return 1;
    openblas_set_num_threads(1); /* one utterance per worker thread, each single-threaded */
    int rc = holds_measure(&t, m, &ds, 2, &err);
    tts_dataset_close(&ds);
    if (rc) {
        fprintf(stderr, "tts-train export: %s\n", err.msg);
        return 1;
    }
    free(m->hold);
    m->hold = calloc((size_t)m->cfg.n_symbols, sizeof(float));
    if (!m->hold) {
        holds_free(&t);
        fprintf(stderr, "tts-train export: out of memory\n");
        return 1;
    }
    int r = m->cfg.r, measured = 0;
    fprintf(stderr, "holds (frames of the teacher-forced attention; p%g kept):\n"
                    "  id  symbol   count  median    p90    p%g\n", pct, pct);
    const char *sym = symbols;
    for (int id = 0; id < m->cfg.n_symbols; id++) {
        size_t len = sym ? strcspn(sym, "\n") : 0;
        m->hold[id] = holds_percentile(&t, id, (float)pct, min_count, r);
        measured += m->hold[id] > 0;
        if (t.count[id])
            fprintf(stderr, "  %2d  %-6.*s %7d %7.0f %6.0f %6.0f\n", id, (int)len, sym ? sym : "",
                    t.count[id], holds_percentile(&t, id, 50, 1, r),
                    holds_percentile(&t, id, 90, 1, r), holds_percentile(&t, id, (float)pct, 1, r));
        sym = sym && sym[len] ? sym + len + 1 : NULL;
    }
    fprintf(stderr, "holds: %d of %d symbols held at least %d times\n", measured,
            m->cfg.n_symbols, min_count);
    holds_free(&t);
    return 0;
}

/* --gv: the spectral post-filter measured on the exported model as it speaks (holds and
 * stand-ins included), after its pitch range (measured, unless keep_range) */
static int measure_gv(t2m_model *m, const char *cache, const char *symbols, float amount,
                      int keep_range)
{
    tts_dataset ds;
    if (open_cache(&ds, cache, symbols))
        return 1;
    tts_err err = {0};
    tts_symtab *tab = NULL;
    unsigned char *passable = malloc((size_t)m->cfg.n_symbols);
    int rc = !passable || tts_symtab_parse(&tab, symbols, strlen(symbols), &err) ||
             tts_symtab_count(tab) != m->cfg.n_symbols;
    if (rc) {
        fprintf(stderr, "tts-train export: the voice's symbol table does not parse\n");
    } else {
        tts_symtab_passable(tab, passable);
        if ((m->pitch.n && !keep_range && (rc = gv_measure_pitch(m, &ds, 200, &err) != 0)) ||
            (rc = gv_measure(m, &ds, passable, 200, amount, &err) != 0))
            fprintf(stderr, "tts-train export: --gv %s: %s\n", cache, err.msg);
    }
    tts_symtab_free(tab);
    free(passable);
    tts_dataset_close(&ds);
    return rc;
}

int train_export_main(int argc, char **argv)
{
    double sharpen = 0;
    double hold_pct = 90;
    int hold_min = HOLDS_MIN_COUNT, hold_opts = 0;
    int env_passes = -1, n_avg = 0, npos = 0, int8 = 0, fs_w = 5;
    double fs_amount = -1;
    const char *pos[2] = {0}, *avg[16], *holds_cache = NULL, *stand_in_cache = NULL, *gv_cache = NULL;
    double gv_amount = 1, pitch_range = 0;
    const char *meta[16];
    int n_meta = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--meta") && v) {
            /* the voice's description: KEY=VALUE, KEY one of tts.h's voice keys */
            static const char *const keys[] = {"name", "language", "speaker", "license",
                                               "corpus", "training"};
            const char *eq = strchr(v, '=');
            int ok = 0;
            for (int k = 0; k < 6 && eq; k++)
                ok |= (size_t)(eq - v) == strlen(keys[k]) && !strncmp(v, keys[k], eq - v);
            if (!ok || n_meta == 16) {
                fprintf(stderr, "tts-train export: --meta wants KEY=VALUE, KEY one of name, "
                        "language, speaker, license, corpus, training\n");
                return 2;
            }
            meta[n_meta++] = v;
            i++;
            continue;
        }
        if (!strcmp(argv[i], "--attn-sharpen") && v) {
            sharpen = atof(v);
            i++;
            if (!(sharpen > 0 && sharpen <= 100)) {
                fprintf(stderr, "tts-train export: --attn-sharpen wants a number in (0, 100]\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--env-passes") && v) {
            char *end;
            long n = strtol(v, &end, 10);
            i++;
            if (*end || n < 0 || n > TTS_ENVMATCH_MAX_PASSES) {
                fprintf(stderr, "tts-train export: --env-passes wants 0 to %d\n",
                        TTS_ENVMATCH_MAX_PASSES);
                return 2;
            }
            env_passes = (int)n;
        } else if (!strcmp(argv[i], "--frame-sharpen") && v && i + 2 < argc) {
            char *e1, *e2;
            fs_amount = strtod(v, &e1);
            long w = strtol(argv[i + 2], &e2, 10);
            i += 2;
            if (*e1 || *e2 || w < 3 || w > TTS_SHARPEN_MAX_WIDTH ||
                !tts_sharpen_valid((float)fs_amount, (int)w)) {
                fprintf(stderr, "tts-train export: --frame-sharpen wants an amount in 0 .. %g "
                                "and an odd width in 3 .. %d\n",
                        TTS_SHARPEN_MAX_AMOUNT, TTS_SHARPEN_MAX_WIDTH);
                return 2;
            }
            fs_w = (int)w;
        } else if (!strcmp(argv[i], "--stand-ins") && v) {
            stand_in_cache = v;
            i++;
        } else if (!strcmp(argv[i], "--gv") && v) {
            gv_cache = v;
            i++;
        } else if (!strcmp(argv[i], "--pitch-range") && v) {
            pitch_range = atof(v);
            i++;
            if (!(pitch_range > 0 && pitch_range <= 4)) {
                fprintf(stderr, "tts-train export: --pitch-range wants a number in (0, 4]\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--gv-amount") && v) {
            gv_amount = atof(v);
            i++;
            if (!(gv_amount >= 0 && gv_amount <= 2)) {
                fprintf(stderr, "tts-train export: --gv-amount wants a number in 0 .. 2\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--holds") && v) {
            holds_cache = v;
            i++;
        } else if (!strcmp(argv[i], "--hold-min-count") && v) {
            hold_min = atoi(v);
            i++;
            hold_opts = 1;
            if (hold_min < 1) {
                fprintf(stderr, "tts-train export: --hold-min-count wants a count >= 1\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--hold-pct") && v) {
            hold_pct = atof(v);
            i++;
            hold_opts = 1;
            if (!(hold_pct > 0 && hold_pct <= 100)) {
                fprintf(stderr, "tts-train export: --hold-pct wants a percentile in (0, 100]\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--int8")) {
            int8 = 1;
        } else if (!strcmp(argv[i], "--average") && v && n_avg < 16) {
            avg[n_avg++] = v;
            i++;
        } else if (argv[i][0] != '-' && npos < 2) {
            pos[npos++] = argv[i];
        } else {
            npos = 3;
            break;
        }
    }
    if (hold_opts && !holds_cache) {
        fprintf(stderr, "tts-train export: --hold-pct and --hold-min-count go with --holds CACHE.ltd\n");
        return 2;
    }
    if (npos != 2) {
        fprintf(stderr, "usage: tts-train export IN.ltm OUT.ltm [--int8] [--attn-sharpen A] "
                        "[--average OTHER.ltm]... [--holds CACHE.ltd [--hold-pct P (90)] [--hold-min-count N (50)]] [--stand-ins CACHE.ltd] [--gv CACHE.ltd [--gv-amount A (1)]] [--pitch-range R] (a voice) | "
                        "[--int8] [--env-passes N] [--frame-sharpen A W] (a vocoder)\n");
        return 2;
    }
    argv = (char **)pos;
    tts_err err = {0};
    tts_mf *mf = NULL;
    t2m_model m;
    tts_audio_cfg audio;
    const char *symbols, *kind;
    if (tts_mf_open(&mf, argv[0], &err) == 0 && tts_mf_get_str(mf, "kind", &kind, &err) == 0 &&
        strcmp(kind, "vocoder") == 0) {
        if (n_avg || sharpen > 0 || holds_cache || stand_in_cache || gv_cache) {
            fprintf(stderr, "tts-train export: --average, --attn-sharpen, --holds, --stand-ins and --gv are for a voice; %s "
                            "is a vocoder\n", argv[0]);
            tts_mf_close(mf);
            return 2;
        }
        int rc = export_vocoder(mf, argv[1], env_passes, fs_amount, fs_w, int8);
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
    if (env_passes >= 0 || fs_amount >= 0) {
        fprintf(stderr, "tts-train export: --env-passes and --frame-sharpen are for a "
                        "vocoder; %s is a voice\n",
                argv[0]);
        t2m_free(&m);
        tts_mf_close(mf);
        return 2;
    }
    /* --average: the parameters averaged with those of other checkpoints of the same
     * model (same tensors, same shapes) */
    for (int k = 0; k < n_avg; k++) {
        tts_mf *mf2 = NULL;
        t2m_model m2;
        if (tts_mf_open(&mf2, avg[k], &err) || t2m_from_mf(&m2, mf2, 0, NULL, &err)) {
            fprintf(stderr, "tts-train export: %s: %s\n", avg[k], err.msg);
            return 1;
        }
        if (m2.p.count != m.p.count || memcmp(&m2.cfg, &m.cfg, offsetof(t2m_config, attn_sharpen))) {
            fprintf(stderr, "tts-train export: %s is another model than %s\n", avg[k], argv[0]);
            return 1;
        }
        size_t lo = (size_t)(m.mel_mean - m.p.params); /* the statistics stay the first's */
        for (size_t j = 0; j < lo; j++)
            m.p.params[j] += m2.p.params[j];
        t2m_free(&m2);
        tts_mf_close(mf2);
    }
    if (n_avg) {
        size_t lo = (size_t)(m.mel_mean - m.p.params);
        for (size_t j = 0; j < lo; j++)
            m.p.params[j] /= (float)(n_avg + 1);
    }
    if (sharpen > 0)
        m.cfg.attn_sharpen = (float)sharpen;
    if ((n_avg || sharpen > 0) && !holds_cache && m.hold) {
        /* the holds of IN were measured on other weights or another attention */
        fprintf(stderr, "tts-train export: %s's holds dropped (other weights or sharpening); "
                        "measure them again with --holds CACHE.ltd\n", argv[0]);
        free(m.hold);
        m.hold = NULL;
    }
    if ((n_avg || sharpen > 0 || holds_cache || stand_in_cache || pitch_range > 0) && !gv_cache &&
        m.gv) {
        fprintf(stderr, "tts-train export: %s's post-filter dropped (measured on another model "
                        "or melody); measure it again with --gv CACHE.ltd\n", argv[0]);
        t2m_set_gv(&m, NULL, NULL, NULL);
    }
    if (n_avg && m.pitch.n && !gv_cache && pitch_range <= 0 && m.cfg.pitch_range != 1) {
        fprintf(stderr, "tts-train export: %s's pitch range %g reset to 1 (measured on other "
                        "weights); set it with --pitch-range or --gv\n", argv[0],
                m.cfg.pitch_range);
        m.cfg.pitch_range = 1;
    }
    if (holds_cache && measure_holds(&m, holds_cache, symbols, hold_pct, hold_min))
        return 1;
    if (stand_in_cache && apply_stand_ins(&m, stand_in_cache, symbols))
        return 1;
    if (pitch_range > 0 && !m.pitch.n) {
        fprintf(stderr, "tts-train export: --pitch-range is for a voice with a pitch predictor\n");
        return 2;
    }
    if (pitch_range > 0) /* before --gv: its spectra are measured speaking this melody */
        m.cfg.pitch_range = (float)pitch_range;
    if (gv_cache && measure_gv(&m, gv_cache, symbols, (float)gv_amount, pitch_range > 0))
        return 1;
    tts_mf_writer *w = tts_mf_writer_new();
    if (int8)
        t2m_to_mf_q8(w, &m);
    else
        t2m_to_mf_f16(w, &m);
    tts_audio_cfg_to_mf(w, &audio);
    tts_mf_set_str(w, "symbols", symbols);
    /* the voice's description: the input's (a re-export keeps it), then --meta */
    for (size_t i = 0; i < tts_mf_meta_count(mf); i++) {
        tts_mf_type t;
        const char *k = tts_mf_meta_key(mf, i, &t), *val;
        if (t == TTS_MF_STR && !strncmp(k, "voice.", 6) && !tts_mf_get_str(mf, k, &val, &err))
            tts_mf_set_str(w, k, val);
    }
    for (int i = 0; i < n_meta; i++) {
        char key[32];
        const char *eq = strchr(meta[i], '=');
        snprintf(key, sizeof key, "voice.%.*s", (int)(eq - meta[i]), meta[i]);
        tts_mf_set_str(w, key, eq + 1);
    }
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
