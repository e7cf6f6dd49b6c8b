/* Voices as named units: see voices.h and tts.h. */
#include "lib/voices.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tts.h"

static const char *const keys[VK_N] = {"name", "language", "speaker", "sample_rate", "license",
                                       "corpus", "training", "path", "vocoder"};

int tts_voice_key(const char *key)
{
    for (int k = 0; key && k < VK_N; k++)
        if (!strcmp(key, keys[k]))
            return k;
    return -1;
}

void tts_voice_meta_free(tts_voice_meta *m)
{
    for (int k = 0; k < VK_N; k++)
        free(m->v[k]);
    memset(m, 0, sizeof *m);
}

int tts_voice_meta_read(tts_voice_meta *m, const tts_mf *mf, const char *path,
                        const char *voc_path)
{
    memset(m, 0, sizeof *m);
    char mk[64], num[32] = "";
    int64_t rate;
    if (tts_mf_get_i64(mf, "audio.sample_rate", &rate, NULL) == 0)
        snprintf(num, sizeof num, "%" PRId64, rate);
    for (int k = 0; k < VK_N; k++) {
        const char *s = NULL;
        snprintf(mk, sizeof mk, "voice.%s", keys[k]);
        if (k == VK_SAMPLE_RATE)
            s = num;
        else if (k == VK_PATH)
            s = path;
        else if (k == VK_VOCODER)
            s = voc_path;
        else if (tts_mf_get_str(mf, mk, &s, NULL))
            s = NULL;
        if (k == VK_NAME && (!s || !s[0])) { /* the file's name */
            const char *b = strrchr(path, '/');
            b = b ? b + 1 : path;
            size_t n = strlen(b);
            m->v[k] = strndup(b, n > 4 && !strcmp(b + n - 4, ".ltm") ? n - 4 : n);
        } else {
            m->v[k] = strdup(s ? s : "");
        }
        if (!m->v[k]) {
            tts_voice_meta_free(m);
            return TTS_E_NOMEM;
        }
    }
    return TTS_OK;
}

/* ---- the search path ----------------------------------------------------------------- */

#define MAX_DIRS 16

/* the directories, in order, into dirs[] (each malloc'd); their count */
static int search_dirs(char *dirs[MAX_DIRS])
{
    int n = 0;
    const char *env = getenv("TTS_MODEL_DIR"), *home = getenv("HOME");
    const char *xh = getenv("XDG_DATA_HOME"), *xd = getenv("XDG_DATA_DIRS");
    char buf[4096];
    if (env && env[0])
        dirs[n++] = strdup(env);
    if (xh && xh[0])
        snprintf(buf, sizeof buf, "%s/libtts/voices", xh);
    else if (home && home[0])
        snprintf(buf, sizeof buf, "%s/.local/share/libtts/voices", home);
    else
        buf[0] = '\0';
    if (buf[0])
        dirs[n++] = strdup(buf);
    const char *p = xd && xd[0] ? xd : "/usr/local/share:/usr/share";
    while (*p && n < MAX_DIRS - 2) {
        size_t l = strcspn(p, ":");
        if (l) {
            snprintf(buf, sizeof buf, "%.*s/libtts/voices", (int)l, p);
            dirs[n++] = strdup(buf);
        }
        p += l + (p[l] == ':');
    }
    dirs[n++] = strdup(TTS_MODELS_INSTALL_DIR);
    dirs[n++] = strdup(TTS_MODELS_SOURCE_DIR);
    return n;
}

/* a voice file's name: NAME.ltm, not a vocoder's or a checkpoint's */
static int is_voice_file(const char *f)
{
    size_t n = strlen(f);
    if (n <= 4 || f[0] == '.' || strcmp(f + n - 4, ".ltm"))
        return 0;
    return !(n > 12 && !strcmp(f + n - 12, ".vocoder.ltm")) && !(n > 9 && !strcmp(f + n - 9, ".ckpt.ltm"));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct tts_voice_list {
    tts_voice_meta *v;
    size_t n, cap;
};

void tts_voices_free(tts_voice_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        tts_voice_meta_free(&l->v[i]);
    free(l->v);
    free(l);
}

/* the voice files of dir, sorted, into l (skipping names l has): 0 or TTS_E_NOMEM */
static int scan_dir(tts_voice_list *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return TTS_OK; /* not there: no voices in it */
    char **names = NULL;
    size_t nn = 0, cap = 0;
    int rc = TTS_OK;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (!is_voice_file(de->d_name))
            continue;
        if (nn == cap) {
            char **v = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *v);
            if (!v) {
                rc = TTS_E_NOMEM;
                break;
            }
            names = v;
        }
        if (!(names[nn] = strdup(de->d_name)))
            rc = TTS_E_NOMEM;
        else
            nn++;
    }
    closedir(d);
    if (nn)
        qsort(names, nn, sizeof *names, cmp_str);
    for (size_t i = 0; !rc && i < nn; i++) {
        char path[4096], voc[4096];
        int len = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (len < 0 || (size_t)len >= sizeof path)
            continue;
        tts_mf *mf;
        /* only voices: a readable model file with phoneme symbols */
        if (tts_mf_open_ex(&mf, path, TTS_MF_NO_CHECKSUM, NULL))
            continue;
        if (!tts_mf_has(mf, "symbols")) {
            tts_mf_close(mf);
            continue;
        }
        snprintf(voc, sizeof voc, "%.*s.vocoder.ltm", len - 4, path);
        tts_voice_meta m;
        rc = tts_voice_meta_read(&m, mf, path, access(voc, R_OK) == 0 ? voc : NULL);
        tts_mf_close(mf);
        if (rc)
            break;
        int dup = 0;
        for (size_t k = 0; k < l->n && !dup; k++)
            dup = !strcmp(l->v[k].v[VK_NAME], m.v[VK_NAME]);
        if (dup) { /* an earlier directory's voice of that name wins */
            tts_voice_meta_free(&m);
            continue;
        }
        if (l->n == l->cap) {
            tts_voice_meta *v = realloc(l->v, (l->cap ? 2 * l->cap : 8) * sizeof *v);
            if (!v) {
                tts_voice_meta_free(&m);
                rc = TTS_E_NOMEM;
                break;
            }
            l->v = v;
            l->cap = l->cap ? 2 * l->cap : 8;
        }
        l->v[l->n++] = m;
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    return rc;
}

int tts_voices_list(tts_voice_list **out)
{
    if (!out)
        return TTS_E_INVALID;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return TTS_E_NOMEM;
    char *dirs[MAX_DIRS];
    int nd = search_dirs(dirs), rc = TTS_OK;
    for (int i = 0; i < nd; i++) {
        if (!rc)
            rc = dirs[i] ? scan_dir(*out, dirs[i]) : TTS_E_NOMEM;
        free(dirs[i]);
    }
    if (rc) {
        tts_voices_free(*out);
        *out = NULL;
    }
    return rc;
}

size_t tts_voices_count(const tts_voice_list *l)
{
    return l ? l->n : 0;
}

const char *tts_voices_get(const tts_voice_list *l, size_t i, const char *key)
{
    int k = tts_voice_key(key);
    return l && i < l->n && k >= 0 ? l->v[i].v[k] : NULL;
}

int tts_voice_find(const char *name, char *out, size_t cap, tts_err *err)
{
    tts_voice_list *l;
    if (tts_voices_list(&l))
        return tts_seterr(err, TTS_E_NOMEM, "out of memory");
    char known[512] = "";
    size_t kn = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (!strcmp(l->v[i].v[VK_NAME], name)) {
            snprintf(out, cap, "%s", l->v[i].v[VK_PATH]);
            tts_voices_free(l);
            return TTS_OK;
        }
        int w = snprintf(known + kn, sizeof known - kn, "%s%s", kn ? ", " : "", l->v[i].v[VK_NAME]);
        if (w > 0 && kn + (size_t)w < sizeof known)
            kn += (size_t)w;
    }
    tts_voices_free(l);
    return tts_seterr(err, TTS_E_NO_MODEL, "no voice named '%s' (voices found: %s; tts "
                      "--list-voices shows where they are)", name, kn ? known : "none");
}
