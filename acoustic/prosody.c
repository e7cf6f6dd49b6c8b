/* Prosodic context of each token, from the token ids (prosody.h). */
#include "acoustic/prosody.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int name_is(const char *s, size_t k, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == k && !memcmp(s, *list, k))
            return 1;
    return 0;
}

static unsigned char class_of(const char *s, size_t k)
{
    static const char *const edge[] = {"_", "^", "$", NULL}, *const clause[] = {";", ":", NULL};
    static const char *const vowel[] = {
        "a", "e", "i", "o", "u", "\xC3\xA6", "\xC9\x90", "\xC9\x91", "\xC9\x94", "\xC9\x99",
        "\xC9\x9A", "\xC9\x9B", "\xC9\x9C", "\xC9\xAA", "\xCA\x8A", "\xCA\x8C", "\xE1\xB5\xBB",
        NULL};
    /* p t k f s h x ɬ ʃ ʔ θ */
    static const char *const unvoiced[] = {"p", "t", "k", "f", "s", "h", "x", "\xC9\xAC",
                                           "\xCA\x83", "\xCA\x94", "\xCE\xB8", NULL};
    /* b d j l m n r v w z ð ŋ ɡ ɹ ɾ ʒ */
    static const char *const voiced[] = {"b", "d", "j", "l", "m", "n", "r", "v", "w", "z",
                                         "\xC3\xB0", "\xC5\x8B", "\xC9\xA1", "\xC9\xB9",
                                         "\xC9\xBE", "\xCA\x92", "g", NULL};
    if (name_is(s, k, edge))
        return T2M_PC_EDGE;
    if (k == 1 && *s == ' ')
        return T2M_PC_SPACE;
    if (k == 1 && *s == ',')
        return T2M_PC_COMMA;
    if (name_is(s, k, clause))
        return T2M_PC_CLAUSE;
    if (k == 1 && *s == '.')
        return T2M_PC_PERIOD;
    if (k == 1 && *s == '?')
        return T2M_PC_QUESTION;
    if (k == 1 && *s == '!')
        return T2M_PC_EXCLAIM;
    if (k == 2 && !memcmp(s, "\xCB\x88", 2))
        return T2M_PC_STRESS1;
    if (k == 2 && !memcmp(s, "\xCB\x8C", 2))
        return T2M_PC_STRESS2;
    if (k == 2 && !memcmp(s, "\xCC\xA9", 2))
        return T2M_PC_SYLLABIC;
    if (name_is(s, k, vowel))
        return T2M_PC_VOWEL;
    if (name_is(s, k, unvoiced))
        return T2M_PC_UNVOICED;
    if (name_is(s, k, voiced))
        return T2M_PC_VOICED;
    return T2M_PC_PHONE;
}

int t2m_prosody_classes(const char *symbols, size_t len, float *cls, int n)
{
    int id = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && symbols[j] != '\n')
            j++;
        if (id >= n)
            return -1;
        cls[id++] = class_of(symbols + i, j - i);
        i = j + 1;
    }
    for (int r = id; r < n; r++)
        cls[r] = T2M_PC_PHONE;
    return id;
}

static int in_word(int c)
{
    return c == T2M_PC_PHONE || c == T2M_PC_STRESS1 || c == T2M_PC_STRESS2 ||
           c == T2M_PC_SYLLABIC || c == T2M_PC_VOWEL || c == T2M_PC_VOICED ||
           c == T2M_PC_UNVOICED;
}

typedef struct {
    int phrase, stressed, t0, t1, s0, ns; /* tokens [t0, t1), syllables [s0, s0 + ns) */
} word_t;

typedef struct {
    int w0, nw, end, sentence; /* end: the class that closed it */
} phrase_t;

typedef struct {
    int p0, np; /* its phrases */
} sentence_t;

typedef struct {
    int word;
    float stress;
} syl_t;

int t2m_prosody_feats(const float *cls, int n_cls, const int *ids, int N, float *out)
{
    if (N <= 0)
        return 0;
    memset(out, 0, sizeof(float) * (size_t)N * T2M_PROSODY_FEATS);
    int *tc = malloc(sizeof(int) * (size_t)N), *tsyl = malloc(sizeof(int) * (size_t)N);
    word_t *w = malloc(sizeof(word_t) * (size_t)N);
    phrase_t *p = malloc(sizeof(phrase_t) * (size_t)N);
    sentence_t *s = malloc(sizeof(sentence_t) * (size_t)N);
    syl_t *y = malloc(sizeof(syl_t) * (size_t)N);
    int rc = -1;
    if (!tc || !tsyl || !w || !p || !s || !y)
        goto done;
    for (int n = 0; n < N; n++)
        tc[n] = ids[n] >= 0 && ids[n] < n_cls ? (int)cls[ids[n]] : T2M_PC_PHONE;

    /* words, phrases, sentences */
    int nw = 0, np = 0, ns = 0, open = 0, pw0 = 0, sp0 = 0;
    for (int n = 0; n <= N; n++) {
        int c = n == N ? T2M_PC_EDGE : tc[n];
        if (in_word(c)) {
            if (!open)
                w[nw++] = (word_t){.phrase = np, .t0 = n};
            open = 1;
            w[nw - 1].t1 = n + 1;
            continue;
        }
        open = 0;
        if (c == T2M_PC_SPACE)
            continue;
        if (nw > pw0) { /* a pause or an edge closes the phrase */
            p[np++] = (phrase_t){.w0 = pw0, .nw = nw - pw0, .end = c, .sentence = ns};
            pw0 = nw;
        }
        if (c != T2M_PC_COMMA && c != T2M_PC_CLAUSE && np > sp0) {
            s[ns++] = (sentence_t){.p0 = sp0, .np = np - sp0};
            sp0 = np;
        }
    }
    rc = 0;
    if (nw == 0)
        goto positions;

    /* syllables: one per nucleus, a vowel or a consonant followed by the syllabic mark,
     * with what continues it (more vowels, the syllabic mark, length and other marks);
     * the consonants and stress marks before a nucleus are its syllable's (after the
     * word's last nucleus, the last syllable's); a stress mark stresses the next nucleus */
    int nsy = 0;
    for (int k = 0; k < nw; k++) {
        w[k].s0 = nsy;
        float pending = 0;
        int in_nucleus = 0;
        for (int n = w[k].t0; n < w[k].t1; n++) {
            int c = tc[n];
            int starts = (c == T2M_PC_VOWEL || (n + 1 < w[k].t1 && tc[n + 1] == T2M_PC_SYLLABIC)) &&
                         !(in_nucleus && c == T2M_PC_VOWEL);
            if (starts) {
                y[nsy++] = (syl_t){.word = k, .stress = pending};
                pending = 0;
                in_nucleus = 1;
            } else if (c == T2M_PC_VOICED || c == T2M_PC_UNVOICED || c == T2M_PC_STRESS1 ||
                       c == T2M_PC_STRESS2) {
                in_nucleus = 0;
            }
            if (c == T2M_PC_STRESS1)
                pending = 1;
            else if (c == T2M_PC_STRESS2 && pending < 1)
                pending = 0.5f;
            tsyl[n] = in_nucleus ? nsy - 1 : -1; /* -1: the next nucleus's, set below */
        }
        if (nsy == w[k].s0) /* no nucleus: one syllable all the same */
            y[nsy++] = (syl_t){.word = k, .stress = pending};
        w[k].ns = nsy - w[k].s0;
        for (int q = w[k].s0; q < nsy; q++)
            w[k].stressed |= y[q].stress == 1;
        int next = nsy - 1; /* backwards: the syllable of the next nucleus */
        for (int n = w[k].t1 - 1; n >= w[k].t0; n--) {
            if (tsyl[n] >= 0)
                next = tsyl[n];
            else
                tsyl[n] = next;
        }
    }

    /* each token inside a word: its word's and syllable's features */
    for (int k = 0; k < nw; k++) {
        const phrase_t *ph = &p[w[k].phrase];
        const sentence_t *se = &s[ph->sentence];
        int ip = k - ph->w0, left = ph->nw - 1 - ip;
        int sw0 = p[se->p0].w0, swn = 0;
        for (int q = se->p0; q < se->p0 + se->np; q++)
            swn += p[q].nw;
        int stressed_after = 0, stressed_before = 0;
        for (int q = ph->w0; q < ph->w0 + ph->nw; q++)
            if (w[q].stressed)
                stressed_after += q > k, stressed_before += q < k;
        int ps0 = w[ph->w0].s0, ps1 = w[ph->w0 + ph->nw - 1].s0 + w[ph->w0 + ph->nw - 1].ns;
        int nucleus_syl = -1; /* the phrase's last primary-stressed syllable */
        for (int q = ps0; q < ps1; q++)
            if (y[q].stress == 1)
                nucleus_syl = q;
        for (int n = w[k].t0; n < w[k].t1; n++) {
            float *f = out + (size_t)n * T2M_PROSODY_FEATS;
            int sy = tsyl[n], c = tc[n];
            f[1] = swn > 1 ? (float)(k - sw0) / (float)(swn - 1) : 0.0f;
            f[2] = ph->nw > 1 ? (float)ip / (float)(ph->nw - 1) : 0.0f;
            f[3] = expf(-(float)left);
            f[4] = expf(-(float)ip);
            f[5] = w[k].phrase == se->p0 + se->np - 1;
            f[6] = ph->end == T2M_PC_COMMA || ph->end == T2M_PC_CLAUSE;
            f[7] = (float)w[k].stressed;
            f[8] = w[k].stressed ? expf(-(float)stressed_after) : 0.0f;
            f[9] = w[k].stressed && stressed_before == 0;
            f[10] = logf(1.0f + (float)ph->nw) / 3.0f;
            f[11] = expf(-(float)(w[k].phrase - se->p0));
            f[12] = c == T2M_PC_VOWEL || (n + 1 < N && tc[n + 1] == T2M_PC_SYLLABIC);
            f[13] = c == T2M_PC_UNVOICED;
            f[14] = y[sy].stress;
            f[15] = expf(-(float)(w[k].s0 + w[k].ns - 1 - sy));
            f[16] = expf(-(float)(sy - w[k].s0));
            f[17] = logf(1.0f + (float)w[k].ns) / 2.0f;
            f[18] = expf(-(float)(ps1 - 1 - sy) / 2.0f);
            f[19] = sy == nucleus_syl;
            float since = 0, until = 0;
            for (int q = sy; q >= ps0; q--)
                if (y[q].stress == 1) {
                    since = expf(-(float)(sy - q) / 2.0f);
                    break;
                }
            for (int q = sy + 1; q < ps1; q++)
                if (y[q].stress == 1) {
                    until = expf(-(float)(q - sy) / 2.0f);
                    break;
                }
            f[20] = since;
            f[21] = until;
        }
    }
    /* tokens outside words take the features of the token before (BOS: the first word's
     * first token), not its sound; then every token its position */
    int first = w[0].t0;
    for (int n = 0; n < N; n++) {
        float *f = out + (size_t)n * T2M_PROSODY_FEATS;
        if (!in_word(tc[n])) {
            const float *src = out + (size_t)(n > first ? n - 1 : first) * T2M_PROSODY_FEATS;
            memcpy(f, src, sizeof(float) * T2M_PROSODY_FEATS);
            f[12] = f[13] = 0;
        }
    }
positions:
    for (int n = 0; n < N; n++)
        out[(size_t)n * T2M_PROSODY_FEATS] = N > 1 ? (float)n / (float)(N - 1) : 0.0f;
done:
    free(tc), free(tsyl), free(w), free(p), free(s), free(y);
    return rc;
}
