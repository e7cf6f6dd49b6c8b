/* Phonemes the user gives: "[[ … ]]" phoneme input inside text, and the user lexicon
 * (word → phonemes), which the frontend consults before eSpeak NG. */
#include "frontend/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEXICON_MAX_BYTES (16u << 20)
#define LEXICON_MAX_WORD 256 /* bytes of one word */
#define LEXICON_MAX_IPA 1024 /* bytes of one word's phonemes (a long word has ~40 symbols) */

/* ------------------------------------------------------------- phoneme input ------- */

size_t fe_phon_block(const char *s, size_t n, size_t i, size_t *a, size_t *b)
{
    if (i + 1 >= n || s[i] != '[' || s[i + 1] != '[')
        return 0;
    size_t lim = i + 2 + TTS_PHONEME_INPUT_MAX + 2;
    if (lim > n)
        lim = n;
    for (size_t j = i + 2; j + 1 < lim; j++) {
        if (s[j] == ']' && s[j + 1] == ']') {
            if (a)
                *a = i + 2;
            if (b)
                *b = j;
            return j + 2;
        }
    }
    return 0;
}

static int ipa_space(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r';
}

int fe_ipa_check(const tts_symtab *tab, const char *s, size_t n, size_t *bad, uint32_t *cp)
{
    int pad = tts_symtab_special(tab, TTS_SYM_PAD), bos = tts_symtab_special(tab, TTS_SYM_BOS);
    int eos = tts_symtab_special(tab, TTS_SYM_EOS);
    size_t i = 0;
    while (i < n) {
        uint32_t c;
        size_t k = fe_utf8_next(s + i, n - i, &c);
        if (!ipa_space(c)) {
            int id = tts_symtab_id(tab, c);
            if (id < 0 || id == pad || id == bos || id == eos) {
                *bad = i;
                *cp = c;
                return 1;
            }
        }
        i += k;
    }
    return 0;
}

void fe_ipa_squeeze(fe_buf *out, const char *s, size_t n)
{
    int space = 0;
    size_t start = out->n;
    for (size_t i = 0; i < n; i++) {
        if (ipa_space((unsigned char)s[i])) {
            space = 1;
            continue;
        }
        if (space && out->n > start)
            fe_buf_putc(out, ' ');
        space = 0;
        fe_buf_putc(out, s[i]);
    }
}

/* "'Q' (U+0051)", or just the code for a codepoint that would not print */
static void describe_cp(char *buf, size_t cap, uint32_t cp)
{
    if (cp >= 0x20 && cp != 0x7F && cp != '\'' && (cp < 0x80 || cp >= 0xA0)) {
        fe_buf b;
        fe_buf_init(&b);
        fe_buf_putcp(&b, cp);
        snprintf(buf, cap, "'%s' (U+%04X)", b.p ? b.p : "?", (unsigned)cp);
        fe_buf_free(&b);
    } else {
        snprintf(buf, cap, "U+%04X", (unsigned)cp);
    }
}

int tts_frontend_check_phonemes(const tts_frontend *fe, const char *text, size_t len,
                                size_t *where, tts_err *err)
{
    const tts_symtab *tab = tts_frontend_symbols(fe);
    if (!tab || (!text && len))
        return tts_seterr(err, TTS_E_INVALID, "tts_frontend_check_phonemes: bad arguments");
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] != '[' || text[i + 1] != '[')
            continue;
        size_t a, b, e = fe_phon_block(text, len, i, &a, &b);
        if (!e) {
            if (where)
                *where = i;
            return tts_seterr(err, TTS_E_INVALID,
                              "phoneme input \"[[\" is not closed by \"]]\" within %d bytes",
                              TTS_PHONEME_INPUT_MAX);
        }
        size_t k = a;
        while (k < b && ipa_space((unsigned char)text[k]))
            k++;
        if (k == b) {
            if (where)
                *where = i;
            return tts_seterr(err, TTS_E_INVALID, "empty phoneme input \"[[]]\"");
        }
        size_t bad;
        uint32_t cp;
        if (fe_ipa_check(tab, text + a, b - a, &bad, &cp)) {
            char d[48];
            describe_cp(d, sizeof d, cp);
            if (where)
                *where = a + bad;
            return tts_seterr(err, TTS_E_INVALID,
                              "unknown phoneme symbol %s in phoneme input \"[[ ]]\" (the "
                              "voice's symbols are the IPA that tts --phonemes prints)", d);
        }
        i = e - 1;
    }
    return TTS_OK;
}

/* ------------------------------------------------------------------ lexicon --------- */

typedef struct {
    size_t key, ipa; /* offsets in the arena */
    size_t order;    /* line order, so that a later line wins */
} lex_entry;

struct tts_lexicon {
    fe_buf arena;
    lex_entry *v;
    size_t n;
};

/* lower case for ASCII and Latin-1 capitals; everything else as it is */
static void fold(fe_buf *out, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = fe_utf8_next(s + i, n - i, &cp);
        if (cp >= 'A' && cp <= 'Z')
            cp += 32;
        else if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
            cp += 32;
        fe_buf_putcp(out, cp);
        i += k;
    }
}

void tts_lexicon_free(tts_lexicon *lex)
{
    if (!lex)
        return;
    fe_buf_free(&lex->arena);
    free(lex->v);
    free(lex);
}

size_t tts_lexicon_count(const tts_lexicon *lex)
{
    return lex ? lex->n : 0;
}

/* merge sort by (key, line order): qsort's comparator could only reach the arena through
 * a global, which two threads loading lexicons would share */
static void sort_entries(lex_entry *v, lex_entry *tmp, size_t n, const char *arena)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_entries(v, tmp, h, arena);
    sort_entries(v + h, tmp, n - h, arena);
    size_t i = 0, j = h, o = 0;
    while (i < h && j < n) {
        int c = strcmp(arena + v[i].key, arena + v[j].key);
        if (c < 0 || (c == 0 && v[i].order < v[j].order))
            tmp[o++] = v[i++];
        else
            tmp[o++] = v[j++];
    }
    while (i < h)
        tmp[o++] = v[i++];
    while (j < n)
        tmp[o++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

int tts_lexicon_parse(tts_lexicon **out, const char *text, size_t len, const char *name,
                      const tts_symtab *tab, tts_err *err)
{
    if (!out || !tab || (!text && len))
        return tts_seterr(err, TTS_E_INVALID, "tts_lexicon_parse: bad arguments");
    *out = NULL;
    if (!name)
        name = "(lexicon)";
    tts_lexicon *lex = calloc(1, sizeof *lex);
    if (!lex)
        return tts_seterr(err, TTS_E_NOMEM, "out of memory for the lexicon");
    fe_buf_init(&lex->arena);
    size_t cap = 0, line = 0, pos = 0;
    int rc = TTS_OK;
    while (pos < len && !rc) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, next = nl ? end + 1 : len;
        line++;
        const char *l = text + pos;
        size_t n = end - pos;
        pos = next;
        if (n && l[n - 1] == '\r')
            n--;
        size_t bad;
        if (!fe_utf8_valid(l, n, &bad)) {
            rc = tts_seterr(err, TTS_E_INVALID, "lexicon '%s' line %zu: invalid UTF-8 (byte %zu "
                            "of the line)", name, line, bad + 1);
            break;
        }
        if (line == 1 && n >= 3 && !memcmp(l, "\xEF\xBB\xBF", 3)) { /* byte-order mark */
            l += 3;
            n -= 3;
        }
        size_t i = 0;
        while (i < n && (l[i] == ' ' || l[i] == '\t'))
            i++;
        if (i == n || l[i] == '#')
            continue;
        size_t w0 = i;
        while (i < n && l[i] != ' ' && l[i] != '\t')
            i++;
        size_t w1 = i;
        while (i < n && (l[i] == ' ' || l[i] == '\t'))
            i++;
        size_t p0 = i, p1 = n;
        while (p1 > p0 && (l[p1 - 1] == ' ' || l[p1 - 1] == '\t'))
            p1--;
        if (w1 - w0 > LEXICON_MAX_WORD) {
            rc = tts_seterr(err, TTS_E_INVALID, "lexicon '%s' line %zu: word longer than %d "
                            "bytes", name, line, LEXICON_MAX_WORD);
            break;
        }
        if (p1 - p0 > LEXICON_MAX_IPA) {
            rc = tts_seterr(err, TTS_E_INVALID, "lexicon '%s' line %zu: phonemes of '%.*s' "
                            "longer than %d bytes", name, line, (int)(w1 - w0), l + w0,
                            LEXICON_MAX_IPA);
            break;
        }
        if (p0 == p1) {
            rc = tts_seterr(err, TTS_E_INVALID, "lexicon '%s' line %zu: no phonemes after "
                            "'%.*s' (expected: word, then tab or spaces, then phonemes)",
                            name, line, (int)(w1 - w0), l + w0);
            break;
        }
        uint32_t cp;
        if (fe_ipa_check(tab, l + p0, p1 - p0, &bad, &cp)) {
            char d[48];
            describe_cp(d, sizeof d, cp);
            size_t col = 1;
            for (size_t k = 0; k < p0 + bad; k++)
                col += ((unsigned char)l[k] & 0xC0) != 0x80;
            rc = tts_seterr(err, TTS_E_INVALID, "lexicon '%s' line %zu, column %zu: unknown "
                            "phoneme symbol %s for '%.*s' (the voice's symbols are the IPA "
                            "that tts --phonemes prints)", name, line, col, d,
                            (int)(w1 - w0), l + w0);
            break;
        }
        if (lex->n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            lex_entry *v = realloc(lex->v, nc * sizeof *v);
            if (!v) {
                rc = tts_seterr(err, TTS_E_NOMEM, "out of memory for the lexicon");
                break;
            }
            lex->v = v;
            cap = nc;
        }
        lex_entry *e = &lex->v[lex->n];
        e->order = lex->n;
        e->key = lex->arena.n;
        fold(&lex->arena, l + w0, w1 - w0);
        fe_buf_putc(&lex->arena, '\0');
        e->ipa = lex->arena.n;
        fe_ipa_squeeze(&lex->arena, l + p0, p1 - p0);
        fe_buf_putc(&lex->arena, '\0');
        lex->n++;
        if (lex->arena.oom)
            rc = tts_seterr(err, TTS_E_NOMEM, "out of memory for the lexicon");
    }
    if (!rc && lex->n > 1) {
        lex_entry *tmp = malloc(lex->n * sizeof *tmp);
        if (!tmp) {
            rc = tts_seterr(err, TTS_E_NOMEM, "out of memory for the lexicon");
        } else {
            sort_entries(lex->v, tmp, lex->n, lex->arena.p);
            free(tmp);
            /* keep the last line of each word */
            size_t o = 0;
            for (size_t i = 0; i < lex->n; i++) {
                if (o && !strcmp(lex->arena.p + lex->v[o - 1].key, lex->arena.p + lex->v[i].key))
                    o--;
                lex->v[o++] = lex->v[i];
            }
            lex->n = o;
        }
    }
    if (rc) {
        tts_lexicon_free(lex);
        return rc;
    }
    *out = lex;
    return TTS_OK;
}

int tts_lexicon_load(tts_lexicon **out, const char *path, const tts_symtab *tab, tts_err *err)
{
    if (!out || !path)
        return tts_seterr(err, TTS_E_INVALID, "tts_lexicon_load: no path");
    *out = NULL;
    /* O_NONBLOCK: a FIFO would block the open until a writer came; only regular files */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return tts_seterr(err, TTS_E_INVALID, "cannot open lexicon '%s': %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return tts_seterr(err, TTS_E_INVALID, "cannot read lexicon '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tts_seterr(err, TTS_E_INVALID, "lexicon '%s' is not a regular file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return tts_seterr(err, TTS_E_INVALID, "cannot read lexicon '%s': %s", path, strerror(e));
    }
    fe_buf b;
    fe_buf_init(&b);
    char chunk[65536];
    size_t got;
    int rc = TTS_OK;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.n + got > LEXICON_MAX_BYTES) {
            rc = tts_seterr(err, TTS_E_INVALID, "lexicon '%s': longer than %u bytes", path,
                            LEXICON_MAX_BYTES);
            break;
        }
        fe_buf_putn(&b, chunk, got);
        if (b.oom) {
            rc = tts_seterr(err, TTS_E_NOMEM, "out of memory reading lexicon '%s'", path);
            break;
        }
    }
    if (!rc && ferror(f))
        rc = tts_seterr(err, TTS_E_INVALID, "cannot read lexicon '%s': %s", path,
                        strerror(errno));
    fclose(f);
    if (!rc)
        rc = tts_lexicon_parse(out, b.p ? b.p : "", b.n, path, tab, err);
    fe_buf_free(&b);
    return rc;
}

const char *tts_lexicon_lookup(const tts_lexicon *lex, const char *word, size_t n)
{
    if (!lex || !lex->n || !word || n == 0 || n > LEXICON_MAX_WORD)
        return NULL;
    fe_buf k;
    fe_buf_init(&k);
    fold(&k, word, n);
    if (k.oom || !k.p) {
        fe_buf_free(&k);
        return NULL;
    }
    size_t lo = 0, hi = lex->n;
    const char *found = NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(lex->arena.p + lex->v[mid].key, k.p);
        if (c == 0) {
            found = lex->arena.p + lex->v[mid].ipa;
            break;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    fe_buf_free(&k);
    return found;
}
