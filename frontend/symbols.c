/* The symbol table: one Unicode codepoint per symbol. */
#include "frontend/internal.h"

#include <stdlib.h>
#include <string.h>

/* Built-in table. Never reorder or remove entries: a model stores the table it was trained
 * with, but keeping this one stable keeps old caches of ids valid. Add new symbols at the
 * end. The IPA part is every codepoint eSpeak NG 1.51 en-us emitted for ~24,000 words
 * (its dictionary, the Kathleen prompts, 20,000 made-up words, letters and symbols). */
static const char *const builtin[] = {
    /* specials */
    "_", "^", "$", " ",
    /* pauses: comma, full stop, question, exclamation, clause break (; : — … brackets) */
    ",", ".", "?", "!", ";",
    /* stress, length, diacritics: ˈ ˌ ː, syllabic  ̩, nasal  ̃ */
    "\xCB\x88", "\xCB\x8C", "\xCB\x90", "\xCC\xA9", "\xCC\x83",
    /* vowels: a e i o u æ ɐ ɑ ɔ ə ɚ ɛ ɜ ɪ ʊ ʌ ᵻ */
    "a", "e", "i", "o", "u", "\xC3\xA6", "\xC9\x90", "\xC9\x91", "\xC9\x94", "\xC9\x99",
    "\xC9\x9A", "\xC9\x9B", "\xC9\x9C", "\xC9\xAA", "\xCA\x8A", "\xCA\x8C", "\xE1\xB5\xBB",
    /* consonants: b d f h j k l m n p r s t v w x z ð ŋ ɡ ɹ ɾ ɬ ʃ ʒ ʔ θ */
    "b", "d", "f", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "x", "z",
    "\xC3\xB0", "\xC5\x8B", "\xC9\xA1", "\xC9\xB9", "\xC9\xBE", "\xC9\xAC", "\xCA\x83",
    "\xCA\x92", "\xCA\x94", "\xCE\xB8",
};

#define N_BUILTIN ((int)(sizeof builtin / sizeof *builtin))
#define MAX_SYMBOLS 4096

typedef struct {
    uint32_t cp;
    int id;
} cp_id;

struct tts_symtab {
    int n;
    char (*names)[5];
    cp_id *sorted;      /* by codepoint, for lookups */
    int special[4];     /* ids of _ ^ $ " " */
};

int tts_symbols_count(void)
{
    return N_BUILTIN;
}

const char *tts_symbol_name(int id)
{
    return id >= 0 && id < N_BUILTIN ? builtin[id] : NULL;
}

size_t tts_symbols_serialize(char *buf, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < N_BUILTIN; i++) {
        size_t k = strlen(builtin[i]);
        for (size_t j = 0; j < k + (i + 1 < N_BUILTIN); j++) {
            char c = j < k ? builtin[i][j] : '\n';
            if (n + 1 < cap)
                buf[n] = c;
            n++;
        }
    }
    if (cap)
        buf[n < cap ? n : cap - 1] = '\0';
    return n;
}

static int cmp_cp(const void *a, const void *b)
{
    uint32_t x = ((const cp_id *)a)->cp, y = ((const cp_id *)b)->cp;
    return x < y ? -1 : x > y;
}

int tts_symtab_parse(tts_symtab **out, const char *s, size_t len, tts_err *err)
{
    if (!out)
        return tts_seterr(err, TTS_E_INVALID, "tts_symtab_parse: no output");
    *out = NULL;
    if (!s && len)
        return tts_seterr(err, TTS_E_INVALID, "tts_symtab_parse: no table");
    if (len && s[len - 1] == '\n')
        len--;
    if (len == 0)
        return tts_seterr(err, TTS_E_FORMAT, "symbol table is empty");
    int n = 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\n')
            n++;
    if (n > MAX_SYMBOLS)
        return tts_seterr(err, TTS_E_FORMAT, "symbol table has %d symbols, at most %d", n,
                          MAX_SYMBOLS);
    tts_symtab *t = calloc(1, sizeof *t);
    if (t) {
        t->names = calloc((size_t)n, sizeof *t->names);
        t->sorted = calloc((size_t)n, sizeof *t->sorted);
    }
    if (!t || !t->names || !t->sorted) {
        tts_symtab_free(t);
        return tts_seterr(err, TTS_E_NOMEM, "out of memory for a symbol table");
    }
    t->n = n;
    size_t a = 0;
    for (int id = 0; id < n; id++) {
        size_t b = a;
        while (b < len && s[b] != '\n')
            b++;
        uint32_t cp = 0;
        size_t k = b > a ? fe_utf8_decode(s + a, b - a, &cp) : 0;
        if (k == 0 || k != b - a || (cp < 0x20 && cp != ' ') || cp == 0x7F) {
            tts_symtab_free(t);
            return tts_seterr(err, TTS_E_FORMAT,
                              "symbol table entry %d (byte %zu) is not exactly one codepoint",
                              id, a);
        }
        memcpy(t->names[id], s + a, k);
        t->sorted[id] = (cp_id){cp, id};
        a = b + 1;
    }
    qsort(t->sorted, (size_t)n, sizeof *t->sorted, cmp_cp);
    for (int i = 1; i < n; i++) {
        if (t->sorted[i].cp == t->sorted[i - 1].cp) {
            int id = t->sorted[i].id > t->sorted[i - 1].id ? t->sorted[i].id
                                                             : t->sorted[i - 1].id;
            tts_seterr(err, TTS_E_FORMAT, "symbol table entry %d (\"%s\") is a duplicate", id,
                       t->names[id]);
            tts_symtab_free(t);
            return TTS_E_FORMAT;
        }
    }
    static const uint32_t specials[4] = {'_', '^', '$', ' '};
    for (int k = 0; k < 4; k++) {
        t->special[k] = tts_symtab_id(t, specials[k]);
        if (t->special[k] < 0) {
            tts_symtab_free(t);
            return tts_seterr(err, TTS_E_FORMAT, "symbol table lacks the symbol \"%c\"",
                              (char)specials[k]);
        }
    }
    *out = t;
    return TTS_OK;
}

int tts_symtab_builtin(tts_symtab **out, tts_err *err)
{
    char buf[512];
    size_t n = tts_symbols_serialize(buf, sizeof buf);
    if (n >= sizeof buf)
        return tts_seterr(err, TTS_E_INTERNAL, "built-in symbol table too long");
    return tts_symtab_parse(out, buf, n, err);
}

void tts_symtab_free(tts_symtab *t)
{
    if (!t)
        return;
    free(t->names);
    free(t->sorted);
    free(t);
}

int tts_symtab_count(const tts_symtab *t)
{
    return t ? t->n : 0;
}

const char *tts_symtab_name(const tts_symtab *t, int id)
{
    return t && id >= 0 && id < t->n ? t->names[id] : NULL;
}

int tts_symtab_id(const tts_symtab *t, uint32_t cp)
{
    if (!t)
        return -1;
    int lo = 0, hi = t->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (t->sorted[mid].cp == cp)
            return t->sorted[mid].id;
        if (t->sorted[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int tts_symtab_special(const tts_symtab *t, int which)
{
    return t && which >= 0 && which < 4 ? t->special[which] : -1;
}

int tts_symtab_is_mark(const tts_symtab *t, int id)
{
    const unsigned char *n = (const unsigned char *)tts_symtab_name(t, id);
    if (!n || n[0] < 0xC0 || !n[1])
        return 0;
    uint32_t cp = n[0] < 0xE0 ? ((uint32_t)(n[0] & 0x1F) << 6) | (n[1] & 0x3F) : 0x10000;
    return (cp >= 0x2B0 && cp <= 0x2FF) || (cp >= 0x300 && cp <= 0x36F);
}

void tts_symtab_passable(const tts_symtab *t, unsigned char *passable)
{
    int space = tts_symtab_special(t, TTS_SYM_SPACE);
    for (int i = 0; i < tts_symtab_count(t); i++)
        passable[i] = (unsigned char)(i == space || tts_symtab_is_mark(t, i));
}

size_t tts_symtab_serialize(const tts_symtab *t, char *buf, size_t cap)
{
    size_t n = 0;
    for (int i = 0; t && i < t->n; i++) {
        size_t k = strlen(t->names[i]);
        for (size_t j = 0; j < k + (i + 1 < t->n); j++) {
            char c = j < k ? t->names[i][j] : '\n';
            if (n + 1 < cap)
                buf[n] = c;
            n++;
        }
    }
    if (cap)
        buf[n < cap ? n : cap - 1] = '\0';
    return n;
}
