/* SSML (the subset in ssml.h) → tts_doc: composed text, source map and segments. A small
 * XML reader of its own: one pass over the source, an explicit element stack. */
#include "frontend/ssml.h"
#include "frontend/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    EL_SPEAK, EL_BREAK, EL_PROSODY, EL_SAYAS, EL_SUB, EL_PHONEME, EL_S, EL_P, EL_MARK,
    EL_EMPHASIS, EL_VOICE, EL_LANG, EL_N,
    EL_OTHER = EL_N /* an element this subset does not know: its content is spoken */
};
static const char *const el_names[EL_N] = {"speak", "break", "prosody", "say-as", "sub",
                                           "phoneme", "s", "p", "mark", "emphasis", "voice",
                                           "lang"};

enum { SA_CHARS, SA_CARDINAL, SA_ORDINAL, SA_DATE, SA_TELEPHONE };

#define MAX_ATTRS 16

typedef struct {
    int el;
    size_t at;            /* the '<' of its start tag */
    size_t name, name_len; /* its name in the source */
    size_t content;       /* first byte after its start tag */
    float rate, volume;   /* in force inside it */
    float pitch;          /* semitones, in force inside it */
} frame;

typedef struct {
    size_t name, name_len; /* in the source */
    size_t at;             /* first byte of the value in the source */
    size_t val, val_len;   /* decoded value, in parser.abuf */
    int had_entity;
} attr;

typedef struct {
    const char *s;
    size_t n;
    const tts_symtab *tab;
    tts_err *err;
    fe_buf text;                 /* composed text */
    tts_srcmap *map;
    size_t n_map, cap_map;
    tts_seg *segs;
    size_t n_segs, cap_segs;
    long open_seg;               /* index of the TEXT segment being filled, or -1 */
    frame st[TTS_SSML_MAX_DEPTH];
    int depth;
    int root_seen, root_done;
    /* the text-only element being read (say-as, sub, phoneme): its content and settings */
    fe_buf cap;
    fe_buf repl;                 /* sub: the alias; phoneme: ph */
    int sa_kind;
    char sa_fmt[8];
    /* the attributes of the tag being read */
    fe_buf abuf;
    attr attrs[MAX_ATTRS];
    int n_attrs;
    /* <mark>s: their source spans, and their names NUL-separated in mark_names */
    tts_mark *marks;
    size_t n_marks, cap_marks;
    fe_buf mark_names;
    char warning[256];           /* the first element spoken as its content, or "" */
    int oom;
} parser;

/* ------------------------------------------------------------------ helpers -------- */

void tts_text_line_col(const char *src, size_t len, size_t off, size_t *line, size_t *col)
{
    size_t l = 1, c = 1;
    if (off > len)
        off = len;
    for (size_t i = 0; i < off; i++) {
        unsigned char b = (unsigned char)src[i];
        if (b == '\n') {
            l++;
            c = 1;
        } else if ((b & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int perr(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *p, size_t at, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t line, col;
    tts_text_line_col(p->s, p->n, at, &line, &col);
    return tts_seterr(p->err, TTS_E_INVALID, "SSML line %zu, column %zu: %s", line, col, msg);
}

static int nomem(parser *p)
{
    return tts_seterr(p->err, TTS_E_NOMEM, "out of memory reading SSML");
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int all_ws(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_ws(s[i]))
            return 0;
    return 1;
}

static int name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

static int name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static size_t find(const char *s, size_t n, size_t from, const char *pat)
{
    size_t k = strlen(pat);
    for (size_t i = from; i + k <= n; i++)
        if (s[i] == pat[0] && !memcmp(s + i, pat, k))
            return i;
    return (size_t)-1;
}

static int eqn(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(s, lit, n);
}

/* ------------------------------------------------------------ document output ------ */

/* Starts a map run for the bytes about to be appended to the composed text. */
static void map_run(parser *p, size_t src, size_t src_len, int whole)
{
    if (p->n_map) {
        tts_srcmap *last = &p->map[p->n_map - 1];
        size_t used = p->text.n - last->text;
        if (!whole && !last->whole && last->src + used == src)
            return; /* continues the run */
        if (used == 0) { /* the last run got no bytes: reuse it */
            *last = (tts_srcmap){p->text.n, src, src_len, whole};
            return;
        }
    }
    if (p->n_map == p->cap_map) {
        size_t nc = p->cap_map ? p->cap_map * 2 : 32;
        tts_srcmap *m = realloc(p->map, nc * sizeof *m);
        if (!m) {
            p->oom = 1;
            return;
        }
        p->map = m;
        p->cap_map = nc;
    }
    p->map[p->n_map++] = (tts_srcmap){p->text.n, src, src_len, whole};
}

static tts_seg *seg_push(parser *p, tts_seg s)
{
    if (p->n_segs == p->cap_segs) {
        size_t nc = p->cap_segs ? p->cap_segs * 2 : 16;
        tts_seg *v = realloc(p->segs, nc * sizeof *v);
        if (!v) {
            p->oom = 1;
            return NULL;
        }
        p->segs = v;
        p->cap_segs = nc;
    }
    p->segs[p->n_segs] = s;
    return &p->segs[p->n_segs++];
}

/* Ends the TEXT segment being filled; with boundary, a sentence boundary follows it (or,
 * when none is open, the last TEXT segment before). */
static void close_seg(parser *p, int boundary)
{
    if (p->open_seg >= 0) {
        tts_seg *s = &p->segs[p->open_seg];
        s->len = p->text.n - s->off;
        s->sentence_end |= boundary;
        p->open_seg = -1;
        return;
    }
    if (!boundary)
        return;
    for (size_t i = p->n_segs; i-- > 0;)
        if (p->segs[i].kind == TTS_SEG_TEXT) {
            p->segs[i].sentence_end = 1;
            break;
        }
}

/* Appends composed bytes: a run of the source (whole = 0) or bytes standing for the
 * source span [src, src + src_len) (whole = 1). White space alone does not start a
 * segment. */
static void emit(parser *p, const char *b, size_t n, size_t src, size_t src_len, int whole)
{
    if (n == 0)
        return;
    const frame *f = &p->st[p->depth - 1];
    tts_seg *cur = p->open_seg >= 0 ? &p->segs[p->open_seg] : NULL;
    if (!cur || cur->rate != f->rate || cur->volume != f->volume || cur->pitch != f->pitch) {
        if (all_ws(b, n))
            return;
        close_seg(p, 0);
        cur = seg_push(p, (tts_seg){TTS_SEG_TEXT, p->text.n, 0, f->rate, f->volume, 0, 0, 0, 0,
                                    f->pitch});
        if (!cur)
            return;
        p->open_seg = (long)(cur - p->segs);
    }
    map_run(p, src, src_len, whole);
    fe_buf_putn(&p->text, b, n);
}

/* -------------------------------------------------------------------- entities ----- */

/* Decodes the entity at s[at] ('&'): its codepoint into *cp and its length into *len. */
static int entity(parser *p, size_t at, uint32_t *cp, size_t *len)
{
    size_t e = at + 1;
    while (e < p->n && e - at <= 12 && p->s[e] != ';' && !is_ws(p->s[e]) && p->s[e] != '<' &&
           p->s[e] != '&')
        e++;
    if (e >= p->n || p->s[e] != ';')
        return perr(p, at, "'&' must begin an entity such as &amp; (no ';' follows it)");
    const char *nm = p->s + at + 1;
    size_t nl = e - at - 1;
    *len = e + 1 - at;
    static const struct { const char *name; uint32_t cp; } named[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (eqn(nm, nl, named[i].name)) {
            *cp = named[i].cp;
            return TTS_OK;
        }
    if (nl >= 2 && nm[0] == '#') {
        int hex = nm[1] == 'x';
        size_t i = hex ? 2 : 1;
        uint32_t v = 0;
        int ok = i < nl;
        for (; i < nl && ok; i++) {
            char c = nm[i];
            int d = c >= '0' && c <= '9' ? c - '0'
                  : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0 || v > 0x10FFFF)
                ok = 0;
            else
                v = v * (hex ? 16 : 10) + (uint32_t)d;
        }
        if (!ok)
            return perr(p, at, "bad character reference &%.*s;", (int)nl, nm);
        if (!(v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) ||
              (v >= 0xE000 && v <= 0xFFFD) || (v >= 0x10000 && v <= 0x10FFFF)))
            return perr(p, at, "&%.*s; is not a character XML allows", (int)nl, nm);
        *cp = v;
        return TTS_OK;
    }
    return perr(p, at, "unknown entity &%.*s; (SSML has only &amp; &lt; &gt; &quot; &apos; "
                "and numeric ones like &#233;)", (int)nl, nm);
}

static void put_cp(char *buf, size_t *n, uint32_t cp)
{
    fe_buf b;
    fe_buf_init(&b);
    fe_buf_putcp(&b, cp);
    *n = b.n < 5 ? b.n : 0;
    if (b.p && *n)
        memcpy(buf, b.p, *n);
    fe_buf_free(&b);
}

/* ------------------------------------------------------------- attribute values ---- */

/* a decimal number "12", "1.5", ".5" at s[0..n) (nothing else), into *v */
static int parse_dec(const char *s, size_t n, double *v)
{
    size_t i = 0;
    double x = 0, scale = 1;
    int digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        x = x * 10 + (s[i++] - '0');
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            scale /= 10;
            x += (s[i++] - '0') * scale;
            digits++;
        }
    }
    if (!digits || i != n || x > 1e9)
        return 0;
    *v = x;
    return 1;
}

static const char *aval(parser *p, const attr *a)
{
    return p->abuf.p + a->val;
}

/* the value trimmed of white space */
static void trimmed(parser *p, const attr *a, const char **s, size_t *n)
{
    const char *v = aval(p, a);
    size_t b = 0, e = a->val_len;
    while (b < e && is_ws(v[b]))
        b++;
    while (e > b && is_ws(v[e - 1]))
        e--;
    *s = v + b;
    *n = e - b;
}

static int bad_value(parser *p, const attr *a, const char *el, const char *expect)
{
    return perr(p, a->at, "bad value \"%.60s\" for %.*s= of <%s> (%s)", aval(p, a),
                (int)a->name_len, p->s + a->name, el, expect);
}

static int break_ms(parser *p, const attr *time, const attr *strength, unsigned *ms)
{
    if (time) {
        const char *v;
        size_t n;
        trimmed(p, time, &v, &n);
        double x, f = 0;
        if (n > 2 && !memcmp(v + n - 2, "ms", 2) && parse_dec(v, n - 2, &x))
            f = x;
        else if (n > 1 && v[n - 1] == 's' && parse_dec(v, n - 1, &x))
            f = x * 1000;
        else
            return bad_value(p, time, "break", "a time like 300ms or 1.5s");
        if (f > TTS_SSML_MAX_BREAK_MS)
            return perr(p, time->at, "break time \"%.60s\" is longer than the %u ms allowed",
                        aval(p, time), TTS_SSML_MAX_BREAK_MS);
        *ms = (unsigned)lround(f);
        return TTS_OK;
    }
    static const struct { const char *name; unsigned ms; } st[] = {
        {"none", 0}, {"x-weak", 100}, {"weak", 200}, {"medium", 400}, {"strong", 700},
        {"x-strong", 1200}};
    *ms = 400;
    if (!strength)
        return TTS_OK;
    const char *v;
    size_t n;
    trimmed(p, strength, &v, &n);
    for (size_t i = 0; i < sizeof st / sizeof *st; i++)
        if (eqn(v, n, st[i].name)) {
            *ms = st[i].ms;
            return TTS_OK;
        }
    return bad_value(p, strength, "break", "none, x-weak, weak, medium, strong or x-strong");
}

/* rate= : a factor on the enclosing rate */
static int prosody_rate(parser *p, const attr *a, float inherited, float *out)
{
    static const struct { const char *name; double f; } kw[] = {
        {"x-slow", 0.5}, {"slow", 0.75}, {"medium", 1}, {"default", 1}, {"fast", 1.25},
        {"x-fast", 1.75}};
    const char *v;
    size_t n;
    trimmed(p, a, &v, &n);
    double f = -1, x;
    for (size_t i = 0; i < sizeof kw / sizeof *kw; i++)
        if (eqn(v, n, kw[i].name))
            f = kw[i].f; /* keywords: relative to the engine's rate */
    if (f < 0) {
        int sign = n && (v[0] == '+' || v[0] == '-') ? (v[0] == '-' ? -1 : 1) : 0;
        const char *d = v + (sign != 0);
        size_t dn = n - (sign != 0);
        if (dn > 1 && d[dn - 1] == '%' && parse_dec(d, dn - 1, &x))
            f = inherited * (sign ? 1 + sign * x / 100 : x / 100);
        else if (!sign && parse_dec(d, dn, &x))
            f = inherited * x;
        else
            return bad_value(p, a, "prosody", "x-slow, slow, medium, fast, x-fast, default, "
                             "a factor like 1.2 or a percentage like 80% or +10%");
    }
    if (!(f >= 0.25 && f <= 4))
        return perr(p, a->at, "rate=\"%.60s\" gives %.3g times the engine's speaking rate, "
                    "outside 0.25 .. 4", aval(p, a), f);
    *out = (float)f;
    return TTS_OK;
}

/* volume= : a factor on the enclosing gain */
static int prosody_volume(parser *p, const attr *a, float inherited, float *out)
{
    static const struct { const char *name; double db; } kw[] = {
        {"x-soft", -12}, {"soft", -6}, {"medium", 0}, {"default", 0}, {"loud", 6},
        {"x-loud", 12}};
    const char *v;
    size_t n;
    trimmed(p, a, &v, &n);
    double f = -1, x;
    if (eqn(v, n, "silent"))
        f = 0;
    for (size_t i = 0; i < sizeof kw / sizeof *kw; i++)
        if (eqn(v, n, kw[i].name))
            f = pow(10, kw[i].db / 20);
    if (f < 0) {
        int sign = n && (v[0] == '+' || v[0] == '-') ? (v[0] == '-' ? -1 : 1) : 0;
        const char *d = v + (sign != 0);
        size_t dn = n - (sign != 0);
        if (dn > 2 && !memcmp(d + dn - 2, "dB", 2) && parse_dec(d, dn - 2, &x))
            f = inherited * pow(10, (sign < 0 ? -x : x) / 20);
        else if (dn > 1 && d[dn - 1] == '%' && parse_dec(d, dn - 1, &x))
            f = inherited * (sign ? 1 + sign * x / 100 : x / 100);
        else
            return bad_value(p, a, "prosody", "silent, x-soft, soft, medium, loud, x-loud, "
                             "default, a change in dB like +6dB or a percentage like 50%");
    }
    if (!(f >= 0 && f <= 4.0001))
        return perr(p, a->at, "volume=\"%.60s\" gives %.3g times the engine's volume, more "
                    "than the 4 (+12 dB) allowed", aval(p, a), f);
    *out = (float)(f > 4 ? 4 : f);
    return TTS_OK;
}

static int prosody_pitch(parser *p, const attr *a, float inherited, float *out)
{
    static const struct { const char *name; double st; } kw[] = {
        {"x-low", -6}, {"low", -3}, {"medium", 0}, {"default", 0}, {"high", 3}, {"x-high", 6}};
    const char *v;
    size_t n;
    trimmed(p, a, &v, &n);
    double st = NAN, x;
    for (size_t i = 0; i < sizeof kw / sizeof *kw; i++)
        if (eqn(v, n, kw[i].name))
            st = kw[i].st;
    if (isnan(st)) {
        int sign = n && (v[0] == '+' || v[0] == '-') ? (v[0] == '-' ? -1 : 1) : 0;
        const char *d = v + (sign != 0);
        size_t dn = n - (sign != 0);
        if (sign && dn > 2 && !memcmp(d + dn - 2, "st", 2) && parse_dec(d, dn - 2, &x))
            st = inherited + sign * x;
        else if (sign && dn > 1 && d[dn - 1] == '%' && parse_dec(d, dn - 1, &x) &&
                 1 + sign * x / 100 > 0)
            st = inherited + 12 * log2(1 + sign * x / 100);
        else
            return bad_value(p, a, "prosody", "x-low, low, medium, high, x-high, default, a "
                             "change in semitones like +2st or a percentage like -10%");
    }
    if (!(st >= -12.0001 && st <= 12.0001))
        return perr(p, a->at, "pitch=\"%.60s\" moves the pitch %+.3g semitones, more than the "
                    "12 allowed", aval(p, a), st);
    *out = (float)(st < -12 ? -12 : st > 12 ? 12 : st);
    return TTS_OK;
}

/* --------------------------------------------------------------------- say-as ------ */

static const char *const letter_names[26] = {
    "ay", "bee", "see", "dee", "ee", "eff", "gee", "aitch", "eye", "jay", "kay", "el", "em",
    "en", "oh", "pee", "cue", "ar", "ess", "tee", "you", "vee", "double-you", "ex", "why",
    "zee"};
static const char *const digit_names[10] = {"zero", "one", "two", "three", "four",
                                            "five", "six", "seven", "eight", "nine"};
static const char *const month_names[12] = {
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"};

/* a whole number with optional thousands commas at s[0..n) */
static int parse_int(const char *s, size_t n, uint64_t *v, size_t *ndig)
{
    uint64_t x = 0;
    size_t d = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ',' && i > 0 && i + 1 < n)
            continue;
        if (s[i] < '0' || s[i] > '9' || d >= 15)
            return 0;
        x = x * 10 + (uint64_t)(s[i] - '0');
        d++;
    }
    *v = x;
    if (ndig)
        *ndig = d;
    return d > 0;
}

static int month_of(const char *s, size_t n)
{
    if (n < 3)
        return 0;
    for (int m = 0; m < 12; m++) {
        size_t k = strlen(month_names[m]);
        if (n > k)
            continue;
        size_t i = 0;
        while (i < n && (s[i] | 32) == (month_names[m][i] | 32))
            i++;
        if (i == n)
            return m + 1;
    }
    return 0;
}

/* content c[0..n) (trimmed) of <say-as> as words into out; at: where errors point */
static int say_as(parser *p, const char *c, size_t n, size_t at, fe_buf *out)
{
    switch (p->sa_kind) {
    case SA_CHARS: {
        size_t i = 0;
        while (i < n) {
            uint32_t cp;
            size_t k = fe_utf8_next(c + i, n - i, &cp);
            if (cp >= 'a' && cp <= 'z')
                fe_buf_word(out, letter_names[cp - 'a']);
            else if (cp >= 'A' && cp <= 'Z')
                fe_buf_word(out, letter_names[cp - 'A']);
            else if (cp >= '0' && cp <= '9')
                fe_buf_word(out, digit_names[cp - '0']);
            else if (!fe_is_space(cp)) {
                if (out->n && out->p[out->n - 1] != ' ')
                    fe_buf_putc(out, ' ');
                fe_buf_putn(out, c + i, k);
            }
            i += k;
        }
        return TTS_OK;
    }
    case SA_CARDINAL: {
        size_t i = 0, dot = n;
        int neg = 0;
        if (n && (c[0] == '-' || c[0] == '+')) {
            neg = c[0] == '-';
            i = 1;
        }
        for (size_t k = i; k < n; k++)
            if (c[k] == '.') {
                dot = k;
                break;
            }
        uint64_t v;
        int ok = parse_int(c + i, dot - i, &v, NULL);
        for (size_t k = dot + 1; k < n && ok; k++)
            ok = c[k] >= '0' && c[k] <= '9';
        if (!ok || (dot < n && dot + 1 == n))
            return perr(p, at, "say-as cardinal: \"%.*s\" is not a number (at most 15 "
                        "digits)", (int)(n > 60 ? 60 : n), c);
        if (neg)
            fe_buf_word(out, "minus");
        fe_say_cardinal(out, v);
        if (dot < n) {
            fe_buf_word(out, "point");
            fe_say_digits(out, c + dot + 1, n - dot - 1);
        }
        return TTS_OK;
    }
    case SA_ORDINAL: {
        size_t m = n;
        if (m > 2) {
            char a = (char)(c[m - 2] | 32), b = (char)(c[m - 1] | 32);
            if ((a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') ||
                (a == 't' && b == 'h'))
                m -= 2;
        }
        uint64_t v;
        if (!parse_int(c, m, &v, NULL))
            return perr(p, at, "say-as ordinal: \"%.*s\" is not a whole number (at most 15 "
                        "digits)", (int)(n > 60 ? 60 : n), c);
        fe_say_ordinal(out, v);
        return TTS_OK;
    }
    case SA_TELEPHONE: {
        int digits = 0, group = 0;
        for (size_t i = 0; i < n; i++) {
            char ch = c[i];
            if (ch >= '0' && ch <= '9') {
                if (group == 2)
                    fe_buf_putc(out, ',');
                fe_buf_word(out, digit_names[ch - '0']);
                digits++;
                group = 1;
            } else if (ch == '+' && !digits) {
                fe_buf_word(out, "plus");
            } else if (group == 1) {
                group = 2; /* a separator: a pause before the next digits */
            }
        }
        if (!digits)
            return perr(p, at, "say-as telephone: \"%.*s\" has no digits",
                        (int)(n > 60 ? 60 : n), c);
        return TTS_OK;
    }
    case SA_DATE: {
        /* fields separated by / - . , or spaces, read in the order format gives */
        const char *fmt = p->sa_fmt[0] ? p->sa_fmt : "mdy";
        size_t nf = strlen(fmt), k = 0, i = 0;
        long val[3] = {0, 0, 0};
        int y = -1, m = -1, d = -1;
        size_t ydig = 0;
        while (i < n) {
            while (i < n && (c[i] == '/' || c[i] == '-' || c[i] == '.' || c[i] == ',' ||
                             is_ws(c[i])))
                i++;
            if (i >= n)
                break;
            size_t a = i;
            while (i < n && !(c[i] == '/' || c[i] == '-' || c[i] == '.' || c[i] == ',' ||
                              is_ws(c[i])))
                i++;
            if (k >= nf)
                return perr(p, at, "say-as date: \"%.*s\" has more fields than format "
                            "\"%s\"", (int)(n > 60 ? 60 : n), c, fmt);
            uint64_t v;
            size_t nd;
            if (fmt[k] == 'm' && !parse_int(c + a, i - a, &v, &nd) && month_of(c + a, i - a)) {
                v = (uint64_t)month_of(c + a, i - a);
            } else if (!parse_int(c + a, i - a, &v, &nd) || nd > 4) {
                return perr(p, at, "say-as date: \"%.*s\" is not a number",
                            (int)(i - a > 60 ? 60 : i - a), c + a);
            }
            if (fmt[k] == 'y') {
                y = (int)k;
                ydig = i - a;
            } else if (fmt[k] == 'm') {
                m = (int)k;
            } else {
                d = (int)k;
            }
            val[k++] = (long)v;
        }
        if (k != nf)
            return perr(p, at, "say-as date: \"%.*s\" does not match format \"%s\"",
                        (int)(n > 60 ? 60 : n), c, fmt);
        if (m >= 0 && (val[m] < 1 || val[m] > 12))
            return perr(p, at, "say-as date: month %ld is not 1 .. 12", val[m]);
        if (d >= 0 && (val[d] < 1 || val[d] > 31))
            return perr(p, at, "say-as date: day %ld is not 1 .. 31", val[d]);
        if (m >= 0)
            fe_buf_word(out, month_names[val[m] - 1]);
        if (d >= 0)
            fe_say_ordinal(out, (uint64_t)val[d]);
        if (y >= 0) {
            if (m >= 0 && d >= 0)
                fe_buf_putc(out, ',');
            if (ydig == 4)
                fe_say_year(out, (unsigned)val[y]);
            else
                fe_say_cardinal(out, (uint64_t)val[y]);
        }
        return TTS_OK;
    }
    }
    return TTS_OK;
}

/* --------------------------------------------------------------------- elements ---- */

static int find_el(const char *s, size_t n)
{
    for (int i = 0; i < EL_N; i++)
        if (eqn(s, n, el_names[i]))
            return i;
    return -1;
}

static int is_capture(int el)
{
    return el == EL_SAYAS || el == EL_SUB || el == EL_PHONEME;
}

/* elements that hold nothing (white space aside) */
static int is_empty_el(int el)
{
    return el == EL_BREAK || el == EL_MARK;
}

static const attr *get_attr(parser *p, const char *name)
{
    for (int i = 0; i < p->n_attrs; i++)
        if (eqn(p->s + p->attrs[i].name, p->attrs[i].name_len, name))
            return &p->attrs[i];
    return NULL;
}

/* every attribute must be one of names (NULL-terminated); xml:…, xmlns… and other
 * prefixed names are allowed everywhere */
static int check_attrs(parser *p, int el, const char *const *names)
{
    for (int i = 0; i < p->n_attrs; i++) {
        const char *nm = p->s + p->attrs[i].name;
        size_t nl = p->attrs[i].name_len;
        if (memchr(nm, ':', nl) || (nl >= 5 && !memcmp(nm, "xmlns", 5)))
            continue;
        int ok = 0;
        for (const char *const *k = names; *k && !ok; k++)
            ok = eqn(nm, nl, *k);
        if (!ok)
            return perr(p, p->attrs[i].name, "unknown attribute %.*s= on <%s>", (int)nl, nm,
                        el_names[el]);
    }
    return TTS_OK;
}

/* what a start tag does; self: it was <x/>; name: its name in the source */
static int start_element(parser *p, int el, size_t at, size_t content, int self, size_t name,
                         size_t name_len)
{
    const frame *top = &p->st[p->depth - 1];
    frame f = {el, at, name, name_len, content, top->rate, top->volume, top->pitch};
    int rc = TTS_OK;
    switch (el) {
    case EL_SPEAK:
        return perr(p, at, "<speak> inside <speak>");
    case EL_P:
    case EL_S: {
        static const char *const none[] = {NULL};
        if ((rc = check_attrs(p, el, none)))
            return rc;
        close_seg(p, 1);
        break;
    }
    case EL_BREAK: {
        static const char *const names[] = {"time", "strength", NULL};
        unsigned ms;
        if ((rc = check_attrs(p, el, names)) ||
            (rc = break_ms(p, get_attr(p, "time"), get_attr(p, "strength"), &ms)))
            return rc;
        close_seg(p, 0);
        seg_push(p, (tts_seg){TTS_SEG_BREAK, p->text.n, 0, 1, 1, 0, ms, at, content - at, 0});
        break;
    }
    case EL_MARK: {
        static const char *const names[] = {"name", NULL};
        const attr *a = get_attr(p, "name");
        if ((rc = check_attrs(p, el, names)))
            return rc;
        if (!a)
            return perr(p, at, "<mark> needs name=");
        if (p->n_marks == p->cap_marks) {
            size_t cap = p->cap_marks ? 2 * p->cap_marks : 8;
            tts_mark *m = realloc(p->marks, cap * sizeof *m);
            if (!m)
                return nomem(p);
            p->marks = m;
            p->cap_marks = cap;
        }
        /* name: set once mark_names is final (it may move as it grows) */
        p->marks[p->n_marks++] = (tts_mark){at, content - at, p->text.n, NULL,
                                            p->mark_names.n};
        fe_buf_putn(&p->mark_names, aval(p, a), a->val_len);
        fe_buf_putc(&p->mark_names, '\0');
        break;
    }
    case EL_EMPHASIS: {
        /* a little slower, higher and louder (reduced: the opposite); none: as it was */
        static const char *const names[] = {"level", NULL};
        static const struct { const char *name; float rate, db, st; } levels[] = {
            {"strong", 0.85f, 2, 2}, {"moderate", 0.92f, 1, 1}, {"none", 1, 0, 0},
            {"reduced", 1.08f, -1, -1}};
        const attr *lv = get_attr(p, "level");
        if ((rc = check_attrs(p, el, names)))
            return rc;
        int k = 1;
        if (lv) {
            const char *v;
            size_t n;
            trimmed(p, lv, &v, &n);
            for (k = 0; k < 4 && !eqn(v, n, levels[k].name); k++)
                ;
            if (k == 4)
                return bad_value(p, lv, "emphasis", "strong, moderate, none or reduced");
        }
        f.rate = top->rate * levels[k].rate;
        f.volume = top->volume * powf(10, levels[k].db / 20);
        f.pitch = fminf(fmaxf(top->pitch + levels[k].st, -12), 12);
        break;
    }
    case EL_VOICE:
    case EL_LANG:
    case EL_OTHER:
        /* spoken as their content in the engine's voice (the only one it has open); any
         * attributes. An element this subset does not know is noted, not an error: screen
         * readers and other engines' documents carry markup of their own */
        if (el == EL_OTHER && !p->warning[0]) {
            size_t line, col;
            tts_text_line_col(p->s, p->n, at, &line, &col);
            snprintf(p->warning, sizeof p->warning,
                     "SSML line %zu, column %zu: <%.*s> is not SSML that libtts knows; its "
                     "content was spoken", line, col, (int)(name_len > 40 ? 40 : name_len),
                     p->s + name);
        }
        break;
    case EL_PROSODY: {
        static const char *const names[] = {"rate", "volume", "pitch", "range", NULL};
        const attr *r = get_attr(p, "rate"), *v = get_attr(p, "volume");
        if ((rc = check_attrs(p, el, names)) ||
            (r && (rc = prosody_rate(p, r, top->rate, &f.rate))) ||
            (v && (rc = prosody_volume(p, v, top->volume, &f.volume))) ||
            (get_attr(p, "pitch") &&
             (rc = prosody_pitch(p, get_attr(p, "pitch"), top->pitch, &f.pitch))))
            return rc;
        break;
    }
    case EL_SAYAS: {
        static const char *const names[] = {"interpret-as", "format", "detail", NULL};
        static const struct { const char *name; int kind; } kinds[] = {
            {"characters", SA_CHARS}, {"spell-out", SA_CHARS}, {"cardinal", SA_CARDINAL},
            {"number", SA_CARDINAL}, {"ordinal", SA_ORDINAL}, {"date", SA_DATE},
            {"telephone", SA_TELEPHONE}};
        static const char *const fmts[] = {"mdy", "dmy", "ymd", "md", "dm", "ym", "my", "y"};
        if ((rc = check_attrs(p, el, names)))
            return rc;
        const attr *ia = get_attr(p, "interpret-as"), *fa = get_attr(p, "format");
        if (!ia)
            return perr(p, at, "<say-as> needs interpret-as=");
        const char *v;
        size_t n;
        trimmed(p, ia, &v, &n);
        p->sa_kind = -1;
        for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
            if (eqn(v, n, kinds[i].name))
                p->sa_kind = kinds[i].kind;
        if (p->sa_kind < 0)
            return bad_value(p, ia, "say-as", "characters, spell-out, cardinal, number, "
                             "ordinal, date or telephone");
        p->sa_fmt[0] = '\0';
        if (fa && p->sa_kind == SA_DATE) {
            trimmed(p, fa, &v, &n);
            for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++)
                if (eqn(v, n, fmts[i]))
                    strcpy(p->sa_fmt, fmts[i]);
            if (!p->sa_fmt[0])
                return bad_value(p, fa, "say-as", "a date format: mdy, dmy, ymd, md, dm, ym, "
                                 "my or y");
        }
        break;
    }
    case EL_SUB: {
        static const char *const names[] = {"alias", NULL};
        const attr *a = get_attr(p, "alias");
        if ((rc = check_attrs(p, el, names)))
            return rc;
        if (!a)
            return perr(p, at, "<sub> needs alias=");
        p->repl.n = 0;
        fe_buf_putn(&p->repl, aval(p, a), a->val_len);
        break;
    }
    case EL_PHONEME: {
        static const char *const names[] = {"ph", "alphabet", NULL};
        const attr *ph = get_attr(p, "ph"), *al = get_attr(p, "alphabet");
        if ((rc = check_attrs(p, el, names)))
            return rc;
        if (al && strcmp(aval(p, al), "ipa"))
            return perr(p, al->at, "phoneme alphabet \"%.60s\" is not supported (only ipa)",
                        aval(p, al));
        if (!ph)
            return perr(p, at, "<phoneme> needs ph=");
        const char *v = aval(p, ph);
        if (all_ws(v, ph->val_len))
            return perr(p, ph->at, "ph= of <phoneme> is empty");
        size_t bad = 0;
        uint32_t cp = 0;
        int wrong = 0;
        if (p->tab) {
            wrong = fe_ipa_check(p->tab, v, ph->val_len, &bad, &cp);
        } else {
            for (size_t i = 0; i < ph->val_len && !wrong; i++)
                if (v[i] == '[' || v[i] == ']') {
                    wrong = 1;
                    bad = i;
                    cp = (unsigned char)v[i];
                }
        }
        if (wrong) {
            char ch[8] = "?";
            size_t k;
            put_cp(ch, &k, cp);
            ch[k < 8 ? k : 0] = '\0';
            return perr(p, ph->had_entity ? ph->at : ph->at + bad,
                        "unknown phoneme symbol '%s' (U+%04X) in ph= (the voice's symbols are "
                        "the IPA that tts --phonemes prints)", ch, (unsigned)cp);
        }
        if (ph->val_len > TTS_PHONEME_INPUT_MAX)
            return perr(p, ph->at, "ph= is longer than %d bytes", TTS_PHONEME_INPUT_MAX);
        p->repl.n = 0;
        fe_buf_putn(&p->repl, v, ph->val_len);
        break;
    }
    }
    if (is_capture(el))
        p->cap.n = 0;
    if (p->depth >= TTS_SSML_MAX_DEPTH)
        return perr(p, at, "elements nested deeper than %d", TTS_SSML_MAX_DEPTH);
    p->st[p->depth++] = f;
    (void)self;
    return p->oom ? nomem(p) : TTS_OK;
}

/* what an end tag (or the end of a self-closing tag) does; end: the byte after it,
 * close_at: where the end tag begins (the content ends) */
static int end_element(parser *p, size_t close_at, size_t end)
{
    frame f = p->st[--p->depth];
    switch (f.el) {
    case EL_SPEAK:
        close_seg(p, 1);
        p->root_done = 1;
        break;
    case EL_S:
    case EL_P:
        close_seg(p, 1);
        break;
    case EL_SAYAS:
    case EL_SUB:
    case EL_PHONEME: {
        /* the words stand for the content, or for the whole element when it is empty */
        size_t src = f.content, src_len = close_at - f.content;
        if (all_ws(p->s + f.content, src_len)) {
            src = f.at;
            src_len = end - f.at;
        }
        fe_buf words;
        fe_buf_init(&words);
        fe_buf_putc(&words, ' ');
        int rc = TTS_OK;
        if (f.el == EL_SUB) {
            fe_buf_putn(&words, p->repl.p, p->repl.n);
        } else if (f.el == EL_PHONEME) {
            fe_buf_puts(&words, "[[");
            fe_buf_putn(&words, p->repl.p, p->repl.n);
            fe_buf_puts(&words, "]]");
        } else {
            const char *c = p->cap.p ? p->cap.p : "";
            size_t a = 0, b = p->cap.n;
            while (a < b && is_ws(c[a]))
                a++;
            while (b > a && is_ws(c[b - 1]))
                b--;
            if (b > a)
                rc = say_as(p, c + a, b - a, f.content, &words);
        }
        fe_buf_putc(&words, ' ');
        if (!rc && words.oom)
            rc = nomem(p);
        if (!rc)
            emit(p, words.p, words.n, src, src_len, 1);
        fe_buf_free(&words);
        return rc;
    }
    default:
        break;
    }
    return TTS_OK;
}

/* ----------------------------------------------------------------------- reader ---- */

/* character data s[a..b) (entities decoded) */
static int char_data(parser *p, size_t a, size_t b)
{
    size_t i = a;
    while (i < b) {
        size_t j = i;
        while (j < b && p->s[j] != '&')
            j++;
        char dec[8];
        size_t dn = 0, elen = 0;
        uint32_t cp = 0;
        int rc;
        if (j < b && (rc = entity(p, j, &cp, &elen)))
            return rc;
        if (j < b)
            put_cp(dec, &dn, cp);
        /* where the text goes */
        if (p->depth == 0 || p->root_done) {
            if (!all_ws(p->s + i, j - i) || (j < b && !is_ws((char)cp)))
                return perr(p, all_ws(p->s + i, j - i) ? j : i + strspn(p->s + i, " \t\r\n"),
                            p->root_done ? "text after </speak>" : "text before <speak>");
        } else {
            const frame *top = &p->st[p->depth - 1];
            if (is_empty_el(top->el)) {
                if (!all_ws(p->s + i, j - i) || (j < b && !is_ws((char)cp)))
                    return perr(p, i, "<%s> must be empty", el_names[top->el]);
            } else if (is_capture(top->el)) {
                fe_buf_putn(&p->cap, p->s + i, j - i);
                fe_buf_putn(&p->cap, dec, dn);
            } else {
                emit(p, p->s + i, j - i, i, j - i, 0);
                if (j < b)
                    emit(p, dec, dn, j, elen, 1);
            }
        }
        i = j < b ? j + elen : b;
    }
    return p->oom ? nomem(p) : TTS_OK;
}

/* reads the attributes of the tag whose name ends at *i; stops after '>' */
static int read_tag(parser *p, size_t at, size_t *i, int *self)
{
    size_t k = *i;
    p->n_attrs = 0;
    p->abuf.n = 0;
    *self = 0;
    for (;;) {
        while (k < p->n && is_ws(p->s[k]))
            k++;
        if (k >= p->n)
            return perr(p, at, "tag is not closed (no '>' before the end of the document)");
        if (p->s[k] == '>') {
            *i = k + 1;
            return TTS_OK;
        }
        if (p->s[k] == '/') {
            if (k + 1 < p->n && p->s[k + 1] == '>') {
                *self = 1;
                *i = k + 2;
                return TTS_OK;
            }
            return perr(p, k, "'/' in a tag must be followed by '>'");
        }
        if (!name_start((unsigned char)p->s[k]))
            return perr(p, k, "unexpected '%c' in a tag (expected an attribute, '>' or '/>')",
                        p->s[k]);
        size_t n0 = k;
        while (k < p->n && name_char((unsigned char)p->s[k]))
            k++;
        size_t nl = k - n0;
        while (k < p->n && is_ws(p->s[k]))
            k++;
        if (k >= p->n || p->s[k] != '=')
            return perr(p, n0, "attribute %.*s has no value (write %.*s=\"…\")", (int)nl,
                        p->s + n0, (int)nl, p->s + n0);
        k++;
        while (k < p->n && is_ws(p->s[k]))
            k++;
        if (k >= p->n || (p->s[k] != '"' && p->s[k] != '\''))
            return perr(p, k < p->n ? k : n0, "the value of %.*s= must be in quotes", (int)nl,
                        p->s + n0);
        char q = p->s[k++];
        size_t v0 = k;
        while (k < p->n && p->s[k] != q)
            k++;
        if (k >= p->n)
            return perr(p, v0 - 1, "the value of %.*s= is not closed by a quote", (int)nl,
                        p->s + n0);
        for (int a = 0; a < p->n_attrs; a++)
            if (p->attrs[a].name_len == nl && !memcmp(p->s + p->attrs[a].name, p->s + n0, nl))
                return perr(p, n0, "attribute %.*s= given twice", (int)nl, p->s + n0);
        if (p->n_attrs == MAX_ATTRS)
            return perr(p, n0, "more than %d attributes", MAX_ATTRS);
        attr *A = &p->attrs[p->n_attrs++];
        *A = (attr){n0, nl, v0, p->abuf.n, 0, 0};
        for (size_t j = v0; j < k;) {
            if (p->s[j] == '<')
                return perr(p, j, "'<' in an attribute value (write &lt;)");
            if (p->s[j] == '&') {
                uint32_t cp;
                size_t el, dn;
                char dec[8];
                int rc = entity(p, j, &cp, &el);
                if (rc)
                    return rc;
                if (j + el > k)
                    return perr(p, j, "'&' must begin an entity such as &amp;");
                put_cp(dec, &dn, cp);
                fe_buf_putn(&p->abuf, dec, dn);
                A->had_entity = 1;
                j += el;
            } else {
                fe_buf_putc(&p->abuf, p->s[j]);
                j++;
            }
        }
        fe_buf_putc(&p->abuf, '\0');
        A->val_len = p->abuf.n - 1 - A->val;
        if (p->abuf.oom)
            return nomem(p);
        k++; /* the closing quote */
        if (k < p->n && !is_ws(p->s[k]) && p->s[k] != '>' && p->s[k] != '/')
            return perr(p, k, "attributes must be separated by white space");
    }
}

static int parse(parser *p)
{
    size_t i = 0;
    if (p->n >= 3 && !memcmp(p->s, "\xEF\xBB\xBF", 3))
        i = 3;
    size_t bad;
    if (!fe_utf8_valid(p->s, p->n, &bad)) {
        size_t line, col;
        tts_text_line_col(p->s, p->n, bad, &line, &col);
        return tts_seterr(p->err, TTS_E_INVALID, "SSML line %zu, column %zu: invalid UTF-8 "
                          "(byte offset %zu)", line, col, bad);
    }
    while (i < p->n) {
        if (p->s[i] != '<') {
            size_t j = i;
            while (j < p->n && p->s[j] != '<')
                j++;
            int rc = char_data(p, i, j);
            if (rc)
                return rc;
            i = j;
            continue;
        }
        size_t at = i;
        if (p->n - i >= 4 && !memcmp(p->s + i, "<!--", 4)) {
            size_t e = find(p->s, p->n, i + 4, "-->");
            if (e == (size_t)-1)
                return perr(p, at, "comment is not closed (no -->)");
            i = e + 3;
            continue;
        }
        if (p->n - i >= 9 && !memcmp(p->s + i, "<![CDATA[", 9)) {
            size_t e = find(p->s, p->n, i + 9, "]]>");
            if (e == (size_t)-1)
                return perr(p, at, "CDATA section is not closed (no ]]>)");
            size_t a = i + 9;
            if (p->depth == 0 || p->root_done) {
                if (!all_ws(p->s + a, e - a))
                    return perr(p, at, p->root_done ? "text after </speak>" : "text before <speak>");
            } else {
                const frame *top = &p->st[p->depth - 1];
                if (is_empty_el(top->el) && !all_ws(p->s + a, e - a))
                    return perr(p, at, "<%s> must be empty", el_names[top->el]);
                if (is_capture(top->el))
                    fe_buf_putn(&p->cap, p->s + a, e - a);
                else
                    emit(p, p->s + a, e - a, a, e - a, 0);
            }
            i = e + 3;
            continue;
        }
        if (p->n - i >= 2 && p->s[i + 1] == '!')
            return perr(p, at, "DOCTYPE and other <! declarations are not supported");
        if (p->n - i >= 2 && p->s[i + 1] == '?') {
            size_t e = find(p->s, p->n, i + 2, "?>");
            if (e == (size_t)-1)
                return perr(p, at, "processing instruction is not closed (no ?>)");
            i = e + 2;
            continue;
        }
        if (p->n - i >= 2 && p->s[i + 1] == '/') {
            size_t k = i + 2, n0 = k;
            while (k < p->n && name_char((unsigned char)p->s[k]))
                k++;
            size_t nl = k - n0;
            while (k < p->n && is_ws(p->s[k]))
                k++;
            if (nl == 0 || k >= p->n || p->s[k] != '>')
                return perr(p, at, "malformed end tag (expected </name>)");
            if (p->depth == 0)
                return perr(p, at, "</%.*s> closes nothing", (int)nl, p->s + n0);
            const frame *top = &p->st[p->depth - 1];
            if (nl != top->name_len || memcmp(p->s + n0, p->s + top->name, nl)) {
                size_t line, col;
                int tl = (int)(top->name_len > 40 ? 40 : top->name_len);
                tts_text_line_col(p->s, p->n, top->at, &line, &col);
                return perr(p, at, "<%.*s> closed by </%.*s> (<%.*s> opened at line %zu, column "
                            "%zu)", tl, p->s + top->name, (int)(nl > 40 ? 40 : nl), p->s + n0,
                            tl, p->s + top->name, line, col);
            }
            int rc = end_element(p, at, k + 1);
            if (rc)
                return rc;
            i = k + 1;
            continue;
        }
        /* a start tag */
        size_t k = i + 1, n0 = k;
        if (k >= p->n || !name_start((unsigned char)p->s[k]))
            return perr(p, at, "'<' must begin a tag (write &lt; for a literal <)");
        while (k < p->n && name_char((unsigned char)p->s[k]))
            k++;
        size_t nl = k - n0;
        int el = find_el(p->s + n0, nl), cut = (int)(nl > 40 ? 40 : nl);
        if (el < 0)
            el = EL_OTHER;
        if (p->root_done)
            return perr(p, at, "<%.*s> after </speak>", cut, p->s + n0);
        if (p->depth == 0 && el != EL_SPEAK)
            return perr(p, at, "the document must begin with <speak>, not <%.*s>", cut,
                        p->s + n0);
        if (p->depth > 0) {
            int top = p->st[p->depth - 1].el;
            if (is_capture(top) || is_empty_el(top))
                return perr(p, at, "<%s> may hold only %s, not <%.*s>", el_names[top],
                            is_empty_el(top) ? "nothing" : "text", cut, p->s + n0);
        }
        int self, rc;
        if ((rc = read_tag(p, at, &k, &self)))
            return rc;
        if (el == EL_SPEAK && p->depth == 0) {
            static const char *const names[] = {"version", NULL};
            if ((rc = check_attrs(p, el, names)))
                return rc;
            p->st[p->depth++] = (frame){EL_SPEAK, at, n0, nl, k, 1, 1, 0};
            p->root_seen = 1;
        } else if ((rc = start_element(p, el, at, k, self, n0, nl))) {
            return rc;
        }
        if (self && (rc = end_element(p, k, k)))
            return rc;
        i = k;
    }
    if (p->depth > 0) {
        const frame *top = &p->st[p->depth - 1];
        return perr(p, top->at, "<%.*s> is not closed (the document ends first)",
                    (int)(top->name_len > 40 ? 40 : top->name_len), p->s + top->name);
    }
    if (!p->root_seen)
        return tts_seterr(p->err, TTS_E_INVALID, "SSML line 1, column 1: the document has no "
                          "<speak> element");
    return p->oom ? nomem(p) : TTS_OK;
}

int tts_ssml_parse(tts_doc *doc, const char *src, size_t len, const tts_symtab *tab,
                   tts_err *err)
{
    if (!doc)
        return tts_seterr(err, TTS_E_INVALID, "tts_ssml_parse: no document");
    memset(doc, 0, sizeof *doc);
    if (!src && len)
        return tts_seterr(err, TTS_E_INVALID, "tts_ssml_parse: source is NULL");
    parser *p = calloc(1, sizeof *p);
    if (!p)
        return tts_seterr(err, TTS_E_NOMEM, "out of memory reading SSML");
    p->s = src ? src : "";
    p->n = len;
    p->tab = tab;
    p->err = err;
    p->open_seg = -1;
    fe_buf_init(&p->text);
    fe_buf_init(&p->cap);
    fe_buf_init(&p->repl);
    fe_buf_init(&p->abuf);
    fe_buf_init(&p->mark_names);
    int rc = parse(p);
    if (!rc && (p->oom || fe_buf_cstr(&p->text)))
        rc = nomem(p);
    doc->owned = p->text.p;
    doc->text = p->text.p ? p->text.p : "";
    doc->len = p->text.n;
    doc->map = p->map;
    doc->n_map = p->n_map;
    doc->segs = p->segs;
    doc->n_segs = p->n_segs;
    doc->src = p->s;
    doc->src_len = len;
    if (!rc && p->n_marks && fe_buf_cstr(&p->mark_names))
        rc = nomem(p);
    doc->marks = p->marks;
    doc->n_marks = p->n_marks;
    doc->mark_names = p->mark_names.p;
    for (size_t i = 0; !rc && i < p->n_marks; i++)
        doc->marks[i].name = p->mark_names.p + doc->marks[i].name_at;
    memcpy(doc->warning, p->warning, sizeof doc->warning);
    fe_buf_free(&p->cap);
    fe_buf_free(&p->repl);
    fe_buf_free(&p->abuf);
    free(p);
    if (rc)
        tts_doc_free(doc);
    return rc;
}

/* ------------------------------------------------------------------- documents ----- */

int tts_doc_plain(tts_doc *doc, const char *text, size_t len, tts_err *err)
{
    if (!doc)
        return tts_seterr(err, TTS_E_INVALID, "tts_doc_plain: no document");
    memset(doc, 0, sizeof *doc);
    doc->map = malloc(sizeof *doc->map);
    doc->segs = malloc(sizeof *doc->segs);
    if (!doc->map || !doc->segs) {
        tts_doc_free(doc);
        return tts_seterr(err, TTS_E_NOMEM, "out of memory");
    }
    doc->text = text ? text : "";
    doc->len = len;
    doc->src = doc->text;
    doc->src_len = len;
    doc->map[0] = (tts_srcmap){0, 0, len, 0};
    doc->n_map = 1;
    doc->segs[0] = (tts_seg){TTS_SEG_TEXT, 0, len, 1, 1, 1, 0, 0, 0, 0};
    doc->n_segs = 1;
    return TTS_OK;
}

void tts_doc_free(tts_doc *doc)
{
    if (!doc)
        return;
    free(doc->owned);
    free(doc->map);
    free(doc->segs);
    free(doc->marks);
    free(doc->mark_names);
    memset(doc, 0, sizeof *doc);
}

/* the map run holding composed byte i */
static const tts_srcmap *run_of(const tts_doc *doc, size_t i)
{
    size_t lo = 0, hi = doc->n_map;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (doc->map[mid].text <= i)
            lo = mid;
        else
            hi = mid;
    }
    return &doc->map[lo];
}

void tts_doc_source_span(const tts_doc *doc, size_t a, size_t b, size_t *off, size_t *len)
{
    if (!doc->n_map) {
        *off = a;
        *len = b > a ? b - a : 0;
        return;
    }
    if (b > doc->len)
        b = doc->len;
    if (a > b)
        a = b;
    const tts_srcmap *r = run_of(doc, a);
    size_t s = r->whole ? r->src : r->src + (a - r->text);
    if (b == a) {
        *off = s;
        *len = 0;
        return;
    }
    r = run_of(doc, b - 1);
    size_t e = r->whole ? r->src + r->src_len : r->src + (b - 1 - r->text) + 1;
    *off = s;
    *len = e > s ? e - s : 0;
}

int tts_ssml_detect(const char *text, size_t len)
{
    size_t i = 0;
    if (!text)
        return 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        i = 3;
    while (i < len && is_ws(text[i]))
        i++;
    if (len - i >= 5 && !memcmp(text + i, "<?xml", 5))
        return 1;
    if (len - i >= 6 && !memcmp(text + i, "<speak", 6))
        return len - i == 6 || is_ws(text[i + 6]) || text[i + 6] == '>' || text[i + 6] == '/';
    return 0;
}

int tts_doc_check_phonemes(const tts_frontend *fe, const tts_doc *doc, int ssml, tts_err *err)
{
    for (size_t s = 0; s < doc->n_segs; s++) {
        const tts_seg *g = &doc->segs[s];
        if (g->kind != TTS_SEG_TEXT)
            continue;
        tts_err e = {0};
        size_t where = 0;
        int rc = tts_frontend_check_phonemes(fe, doc->text + g->off, g->len, &where, &e);
        if (!rc)
            continue;
        size_t so, sl, line, col;
        tts_doc_source_span(doc, g->off + where, g->off + where + 1, &so, &sl);
        if (!ssml)
            return tts_seterr(err, rc, "%s at byte offset %zu", e.msg, so);
        tts_text_line_col(doc->src, doc->src_len, so, &line, &col);
        return tts_seterr(err, rc, "SSML line %zu, column %zu: %s", line, col, e.msg);
    }
    return TTS_OK;
}

int tts_doc_format(tts_frontend *fe, const tts_doc *doc, FILE *out, tts_err *err)
{
    if (!fe || !doc || !out)
        return tts_seterr(err, TTS_E_INVALID, "tts_doc_format: bad arguments");
    int rc = tts_doc_check_phonemes(fe, doc, 1, err);
    if (rc)
        return rc;
    int count = 0;
    for (size_t s = 0; s < doc->n_segs; s++) {
        const tts_seg *g = &doc->segs[s];
        if (g->kind == TTS_SEG_BREAK) {
            fprintf(out, "break %u ms\n", g->ms);
            continue;
        }
        if (g->rate != 1 || g->volume != 1)
            fprintf(out, "(rate x%.3g, volume x%.3g)\n", g->rate, g->volume);
        tts_sentence_iter it;
        rc = tts_sentences_begin(&it, doc->text + g->off, g->len, err);
        if (rc)
            return rc;
        size_t off, n;
        while (tts_sentences_next(&it, &off, &n)) {
            tts_phonemes ph;
            if ((rc = tts_frontend_phonemize(fe, doc->text + g->off + off, n, &ph, err)))
                return rc;
            size_t so, sl;
            tts_doc_source_span(doc, g->off + off, g->off + off + n, &so, &sl);
            fprintf(out, "sentence %d (bytes %zu-%zu): ", ++count, so, so + sl);
            for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)doc->text[g->off + off + i];
                fputc(c < 0x20 || c == 0x7F ? ' ' : c, out);
            }
            fprintf(out, "\n  ipa: %s\n  ids:", ph.ipa);
            for (size_t i = 0; i < ph.n_ids; i++)
                fprintf(out, " %d", (int)ph.ids[i]);
            fputc('\n', out);
            tts_phonemes_free(&ph);
        }
        if (g->sentence_end)
            fprintf(out, "(sentence boundary)\n");
    }
    if (fflush(out) != 0 || ferror(out))
        return tts_seterr(err, TTS_E_IO, "could not write the phonemes: output error");
    return TTS_OK;
}
