/*
 * Voices as named units (tts_voices_*, tts_options.voice, tts_engine_voice): the search
 * path and its order, what counts as a voice file, the metadata a voice file states, and
 * errors. The directories are temporary ones named through $TTS_MODEL_DIR and
 * $XDG_DATA_HOME ($XDG_DATA_DIRS pointed at an empty one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tts.h"

#include "check.h"
#include "tiny_models.h"

/* the voice file at src again at dst, with the voice.* keys given (NULL-terminated
 * key, value pairs) */
static int copy_with_meta(const char *src, const char *dst, const char *const *kv)
{
    tts_mf *mf;
    tts_err err;
    if (tts_mf_open(&mf, src, &err))
        return -1;
    tts_mf_writer *w = tts_mf_writer_new();
    for (size_t i = 0; i < tts_mf_meta_count(mf); i++) {
        tts_mf_type t;
        const char *k = tts_mf_meta_key(mf, i, &t), *s;
        int64_t iv;
        double fv;
        if (t == TTS_MF_STR && !tts_mf_get_str(mf, k, &s, &err))
            tts_mf_set_str(w, k, s);
        else if (t == TTS_MF_I64 && !tts_mf_get_i64(mf, k, &iv, &err))
            tts_mf_set_i64(w, k, iv);
        else if (t == TTS_MF_F64 && !tts_mf_get_f64(mf, k, &fv, &err))
            tts_mf_set_f64(w, k, fv);
    }
    for (size_t i = 0; i < tts_mf_tensor_count(mf); i++) {
        const tts_mf_tensor *t = tts_mf_tensor_at(mf, i);
        tts_mf_add_tensor_ref(w, t->name, t->dtype, t->ndim, t->shape, t->data);
    }
    for (; kv[0]; kv += 2)
        tts_mf_set_str(w, kv[0], kv[1]);
    int rc = tts_mf_write(w, dst, &err);
    tts_mf_writer_free(w);
    tts_mf_close(mf);
    return rc;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* the index of voice name in l, or -1 */
static long find(const tts_voice_list *l, const char *name)
{
    for (size_t i = 0; i < tts_voices_count(l); i++)
        if (!strcmp(tts_voices_get(l, i, "name"), name))
            return (long)i;
    return -1;
}

int main(void)
{
    char root[] = "/tmp/tts_voices_XXXXXX", a[300], b[300], x[300], p[600], q[600];
    if (!mkdtemp(root))
        return 1;
    snprintf(a, sizeof a, "%s/models", root);       /* $TTS_MODEL_DIR */
    snprintf(x, sizeof x, "%s/xdg", root);          /* $XDG_DATA_HOME */
    snprintf(b, sizeof b, "%s/xdg/libtts/voices", root);
    mkdir(a, 0755);
    mkdir(x, 0755);
    snprintf(p, sizeof p, "%s/libtts", x);
    mkdir(p, 0755);
    mkdir(b, 0755);
    setenv("TTS_MODEL_DIR", a, 1);
    setenv("XDG_DATA_HOME", x, 1);
    setenv("XDG_DATA_DIRS", root, 1); /* holds no libtts/voices */

    /* alpha: plain, in $TTS_MODEL_DIR; beta: described, with a vocoder, there too;
     * gamma: in the XDG dir; an alpha there as well (shadowed); not voices: a vocoder
     * alone, a checkpoint, a text file named .ltm, a hidden file */
    snprintf(p, sizeof p, "%s/alpha.ltm", a);
    CHECK(tiny_voice_write(p, 1) == 0, "writing alpha");
    snprintf(q, sizeof q, "%s/beta.ltm", a);
    static const char *const kv[] = {"voice.name", "Beta Voice", "voice.language", "en-GB",
                                     "voice.speaker", "a test speaker", "voice.license",
                                     "CC0-1.0", NULL};
    CHECK(copy_with_meta(p, q, kv) == 0, "writing beta");
    snprintf(q, sizeof q, "%s/beta.vocoder.ltm", a);
    CHECK(tiny_vocoder_write(q, 1, 0, 5) == 0, "beta's vocoder");
    snprintf(q, sizeof q, "%s/lonely.vocoder.ltm", a);
    tiny_vocoder_write(q, 1, 0, 5);
    snprintf(q, sizeof q, "%s/alpha.ckpt.ltm", a);
    tiny_voice_write(q, 0);
    snprintf(q, sizeof q, "%s/junk.ltm", a);
    put(q, "not a model\n");
    snprintf(q, sizeof q, "%s/.hidden.ltm", a);
    tiny_voice_write(q, 0);
    snprintf(q, sizeof q, "%s/gamma.ltm", b);
    tiny_voice_write(q, 0);
    snprintf(q, sizeof q, "%s/alpha.ltm", b);
    tiny_voice_write(q, 0);

    tts_voice_list *l;
    CHECK(tts_voices_list(&l) == TTS_OK, "listing");
    long ia = find(l, "alpha"), ib = find(l, "Beta Voice"), ig = find(l, "gamma");
    size_t from_here = 0;
    for (size_t i = 0; i < tts_voices_count(l); i++)
        from_here += !strncmp(tts_voices_get(l, i, "path"), root, strlen(root));
    CHECK(ia >= 0 && ib >= 0 && ig >= 0 && from_here == 3,
          "alpha, Beta Voice and gamma found, nothing else of ours (%zu): %ld %ld %ld", from_here,
          ia, ib, ig);
    CHECK(ia >= 0 && !strcmp(tts_voices_get(l, ia, "path"), p),
          "the first directory's alpha wins: %s", ia >= 0 ? tts_voices_get(l, ia, "path") : "");
    CHECK(ia >= 0 && ia < ib && ib < ig, "in the search order: %ld %ld %ld", ia, ib, ig);
    if (ib >= 0) {
        CHECK(!strcmp(tts_voices_get(l, ib, "language"), "en-GB") &&
                  !strcmp(tts_voices_get(l, ib, "speaker"), "a test speaker") &&
                  !strcmp(tts_voices_get(l, ib, "license"), "CC0-1.0") &&
                  !strcmp(tts_voices_get(l, ib, "corpus"), "") &&
                  !strcmp(tts_voices_get(l, ib, "sample_rate"), "16000") &&
                  strstr(tts_voices_get(l, ib, "vocoder"), "/beta.vocoder.ltm"),
              "beta's metadata, as its file states it");
    }
    CHECK(ia >= 0 && !strcmp(tts_voices_get(l, ia, "vocoder"), "") &&
              !strcmp(tts_voices_get(l, ia, "language"), ""),
          "alpha states nothing and has no vocoder");
    CHECK(tts_voices_get(l, 0, "colour") == NULL && tts_voices_get(l, 999, "name") == NULL &&
              tts_voices_get(NULL, 0, "name") == NULL,
          "unknown keys and indexes: NULL");
    tts_voices_free(l);
    tts_voices_free(NULL);

    /* by name */
    tts_options o = tts_default_options();
    o.voice = "Beta Voice";
    tts_engine *e;
    int rc = tts_engine_open(&e, &o);
    CHECK(rc == TTS_OK, "open by name: %s", tts_engine_error(e));
    if (rc == TTS_OK) {
        CHECK(!strcmp(tts_engine_voice(e, "name"), "Beta Voice") &&
                  strstr(tts_engine_voice(e, "path"), "/beta.ltm") &&
                  strstr(tts_engine_voice(e, "vocoder"), "/beta.vocoder.ltm") &&
                  tts_engine_voice(e, "nonesuch") == NULL,
              "the engine's voice: %s at %s", tts_engine_voice(e, "name"),
              tts_engine_voice(e, "path"));
    }
    tts_engine_close(e);
    o.voice = "nobody";
    rc = tts_engine_open(&e, &o);
    CHECK(rc == TTS_E_NO_MODEL && strstr(tts_engine_error(e), "no voice named 'nobody'") &&
              strstr(tts_engine_error(e), "Beta Voice"),
          "an unknown name: %d %s", rc, tts_engine_error(e));
    tts_engine_close(e);
    o.voice = "nobody";
    o.model_path = p; /* a file wins over a name */
    rc = tts_engine_open(&e, &o);
    CHECK(rc == TTS_OK && !strcmp(tts_engine_voice(e, "name"), "alpha"),
          "model_path wins over voice: %s", tts_engine_error(e));
    tts_engine_close(e);
    CHECK(tts_engine_voice(NULL, "name") == NULL, "no engine, no voice");

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd)) {
    }
    printf("%s: %d checks, %d failed\n", failures ? "FAIL" : "all voice checks passed", checks,
           failures);
    return failures != 0;
}
