/*
 * Text normalization: one sentence of UTF-8 → words eSpeak NG reads correctly, plus pause
 * marks, each with the byte span of the source text it came from.
 *
 *   1. tokenize: white-space separated chunks lose their leading/trailing quotes, brackets
 *      and punctuation (which become pause marks); a '.' that belongs to an abbreviation
 *      stays with its word; pause marks inside a chunk ("a—b", "x...y") split it.
 *   2. clean up: runs of pause marks collapse to the strongest, none before the first word,
 *      a trailing clause break becomes '.'.
 *   3. expand each word with its neighbours as context: numbers, ordinals, currency,
 *      percent, times, dates, ranges, phone numbers, fractions, units, abbreviations,
 *      Roman numerals, URLs and e-mail addresses become plain words.
 *
 * What eSpeak NG 1.51 (en-us) gets wrong on its own is listed in tests/test_frontend.c.
 */
#include "frontend/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ tables ---------- */

enum {
    AB_TITLE,    /* before a name: never ends a sentence */
    AB_STREET,   /* "St." / "Dr.": Saint/Doctor before a name, Street/Drive after one */
    AB_GENERIC,  /* ends a sentence when the next word is capitalized */
    AB_NEVER,    /* e.g., i.e., vs.: never ends a sentence */
    AB_NUMBER,   /* "No." before a number */
    AB_MONTH     /* "Jan." … "Dec." */
};

typedef struct {
    const char *abbr;   /* without the final '.' */
    const char *exp;    /* expansion (Saint / Doctor for AB_STREET) */
    const char *alt;    /* AB_STREET: Street / Drive */
    int cls;
    int nodot;          /* also expanded without a '.' */
    int ci;             /* case-insensitive */
} abbrev;

static const abbrev abbrevs[] = {
    {"Mr", "Mister", NULL, AB_TITLE, 1, 0},
    {"Mrs", "Mrs", NULL, AB_TITLE, 1, 0},
    {"Ms", "Miz", NULL, AB_TITLE, 1, 0},
    {"Dr", "Doctor", "Drive", AB_STREET, 1, 0},
    {"St", "Saint", "Street", AB_STREET, 1, 0},
    {"Mt", "Mount", NULL, AB_TITLE, 1, 0},
    {"Prof", "Professor", NULL, AB_TITLE, 0, 0},
    {"Capt", "Captain", NULL, AB_TITLE, 0, 0},
    {"Lt", "Lieutenant", NULL, AB_TITLE, 0, 0},
    {"Sgt", "Sergeant", NULL, AB_TITLE, 0, 0},
    {"Col", "Colonel", NULL, AB_TITLE, 0, 0},
    {"Gov", "Governor", NULL, AB_TITLE, 0, 0},
    {"Gen", "General", NULL, AB_TITLE, 0, 0},
    {"Sen", "Senator", NULL, AB_TITLE, 0, 0},
    {"Rep", "Representative", NULL, AB_TITLE, 0, 0},
    {"Rev", "Reverend", NULL, AB_TITLE, 0, 0},
    {"Hon", "Honorable", NULL, AB_TITLE, 0, 0},
    {"Pres", "President", NULL, AB_TITLE, 0, 0},
    {"Jr", "Junior", NULL, AB_GENERIC, 1, 0},
    {"Sr", "Senior", NULL, AB_GENERIC, 1, 0},
    {"Ave", "Avenue", NULL, AB_GENERIC, 0, 0},
    {"Blvd", "Boulevard", NULL, AB_GENERIC, 0, 0},
    {"Rd", "Road", NULL, AB_GENERIC, 0, 0},
    {"Ln", "Lane", NULL, AB_GENERIC, 0, 0},
    {"Hwy", "Highway", NULL, AB_GENERIC, 0, 0},
    {"Apt", "Apartment", NULL, AB_GENERIC, 0, 0},
    {"Dept", "Department", NULL, AB_GENERIC, 0, 0},
    {"Inc", "Incorporated", NULL, AB_GENERIC, 0, 0},
    {"Ltd", "Limited", NULL, AB_GENERIC, 0, 0},
    {"Corp", "Corporation", NULL, AB_GENERIC, 0, 0},
    {"Co", "Company", NULL, AB_GENERIC, 0, 0},
    {"Bros", "Brothers", NULL, AB_GENERIC, 0, 0},
    {"etc", "etc", NULL, AB_GENERIC, 0, 1}, /* eSpeak NG reads "etc" right */
    {"a.m", "AM", NULL, AB_GENERIC, 0, 1},
    {"p.m", "PM", NULL, AB_GENERIC, 0, 1},
    {"e.g", "for example", NULL, AB_NEVER, 0, 1},
    {"i.e", "that is", NULL, AB_NEVER, 0, 1},
    {"a.k.a", "also known as", NULL, AB_NEVER, 0, 1},
    {"vs", "versus", NULL, AB_NEVER, 1, 1},
    {"cf", "compare", NULL, AB_NEVER, 0, 1},
    {"approx", "approximately", NULL, AB_NEVER, 0, 1},
    {"fig", "figure", NULL, AB_NEVER, 0, 1},
    {"vol", "volume", NULL, AB_NEVER, 0, 1},
    {"pp", "pages", NULL, AB_NEVER, 0, 0},
    {"No", "number", NULL, AB_NUMBER, 0, 0},
    {"Nos", "numbers", NULL, AB_NUMBER, 0, 0},
    {"Jan", "January", NULL, AB_MONTH, 0, 0},
    {"Feb", "February", NULL, AB_MONTH, 0, 0},
    {"Mar", "March", NULL, AB_MONTH, 0, 0},
    {"Apr", "April", NULL, AB_MONTH, 0, 0},
    {"Jun", "June", NULL, AB_MONTH, 0, 0},
    {"Jul", "July", NULL, AB_MONTH, 0, 0},
    {"Aug", "August", NULL, AB_MONTH, 0, 0},
    {"Sep", "September", NULL, AB_MONTH, 0, 0},
    {"Sept", "September", NULL, AB_MONTH, 0, 0},
    {"Oct", "October", NULL, AB_MONTH, 0, 0},
    {"Nov", "November", NULL, AB_MONTH, 0, 0},
    {"Dec", "December", NULL, AB_MONTH, 0, 0},
    {"Mon", "Monday", NULL, AB_GENERIC, 0, 0},
    {"Tue", "Tuesday", NULL, AB_GENERIC, 0, 0},
    {"Tues", "Tuesday", NULL, AB_GENERIC, 0, 0},
    {"Wed", "Wednesday", NULL, AB_GENERIC, 0, 0},
    {"Thu", "Thursday", NULL, AB_GENERIC, 0, 0},
    {"Thurs", "Thursday", NULL, AB_GENERIC, 0, 0},
    {"Fri", "Friday", NULL, AB_GENERIC, 0, 0},
    {"Sat", "Saturday", NULL, AB_GENERIC, 0, 0},
};

static const char *const months[12] = {
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"};

/* Units read after a number. Separate words ("5 km") need at least two letters. */
typedef struct {
    const char *abbr, *one, *many;
} unit;

static const unit units[] = {
    {"km", "kilometer", "kilometers"},   {"cm", "centimeter", "centimeters"},
    {"mm", "millimeter", "millimeters"}, {"m", "meter", "meters"},
    {"kg", "kilogram", "kilograms"},     {"mg", "milligram", "milligrams"},
    {"g", "gram", "grams"},              {"lb", "pound", "pounds"},
    {"lbs", "pounds", "pounds"},         {"oz", "ounce", "ounces"},
    {"ft", "foot", "feet"},              {"mi", "mile", "miles"},
    {"mph", "mile per hour", "miles per hour"},
    {"km/h", "kilometer per hour", "kilometers per hour"},
    {"kph", "kilometer per hour", "kilometers per hour"},
    {"ml", "milliliter", "milliliters"}, {"mL", "milliliter", "milliliters"},
    {"h", "hour", "hours"},              {"hr", "hour", "hours"},
    {"hrs", "hours", "hours"},           {"min", "minute", "minutes"},
    {"mins", "minutes", "minutes"},      {"sec", "second", "seconds"},
    {"ms", "millisecond", "milliseconds"},
    {"KB", "kilobyte", "kilobytes"},     {"kB", "kilobyte", "kilobytes"},
    {"MB", "megabyte", "megabytes"},     {"GB", "gigabyte", "gigabytes"},
    {"TB", "terabyte", "terabytes"},
    {"\xC2\xB0" "C", "degree Celsius", "degrees Celsius"},
    {"\xC2\xB0" "F", "degree Fahrenheit", "degrees Fahrenheit"},
    {"\xC2\xB0", "degree", "degrees"},
};

/* Currency symbols, prefix ("$5") or suffix ("5€"). */
typedef struct {
    const char *sym, *one, *many, *sub_one, *sub_many;
} currency;

static const currency currencies[] = {
    {"$", "dollar", "dollars", "cent", "cents"},
    {"\xE2\x82\xAC", "euro", "euros", "cent", "cents"},     /* € */
    {"\xC2\xA3", "pound", "pounds", "penny", "pence"},       /* £ */
    {"\xC2\xA5", "yen", "yen", NULL, NULL},                  /* ¥ */
    {"\xE2\x82\xB9", "rupee", "rupees", NULL, NULL},         /* ₹ */
};

/* Words after which a Roman numeral is a cardinal ("Chapter IV", "World War II"). */
static const char *const roman_cardinal_after[] = {
    "chapter", "part", "volume", "vol", "book", "act", "scene", "war", "section", "phase",
    "type", "class", "level", "grade", "article", "appendix", "episode", "season", "round",
    "stage", "tier", "apollo"};

static const char *const scale_words[] = {"thousand", "million", "billion", "trillion"};

/* ------------------------------------------------------------------ helpers --------- */

static int eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(s, lit, n);
}

static int eq_ci(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !strncasecmp(s, lit, n);
}

static int is_d(char c)
{
    return c >= '0' && c <= '9';
}

static int is_a(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int first_upper(const char *s, size_t n)
{
    uint32_t cp;
    if (!n)
        return 0;
    fe_utf8_next(s, n, &cp);
    return fe_is_upper(cp);
}

static const abbrev *find_abbrev(const char *w, size_t n, int with_dot)
{
    for (size_t i = 0; i < sizeof abbrevs / sizeof *abbrevs; i++) {
        const abbrev *a = &abbrevs[i];
        if (!with_dot && !a->nodot)
            continue;
        if (a->ci ? eq_ci(w, n, a->abbr) : eq(w, n, a->abbr))
            return a;
    }
    return NULL;
}

/* "U.S", "U.S.A", "Ph.D": letters separated by single dots (the final dot not included) */
static int dotted_acronym(const char *w, size_t n)
{
    if (n < 3)
        return 0;
    int letters = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_a(w[i])) {
            letters++;
        } else if (w[i] == '.') {
            if (i == 0 || w[i - 1] == '.' || i + 1 == n)
                return 0;
        } else {
            return 0;
        }
    }
    return letters >= 2 && memchr(w, '.', n) != NULL;
}

/* Whether word w (without its final '.') keeps the '.' as an abbreviation. */
static int abbrev_with_dot(const char *w, size_t n)
{
    if (n == 1 && is_a(w[0]))
        return 1;
    return find_abbrev(w, n, 1) != NULL || dotted_acronym(w, n);
}

static int month_index(const char *w, size_t n)
{
    for (int m = 0; m < 12; m++)
        if (eq(w, n, months[m]))
            return m;
    return -1;
}

/* "March", "Mar" (with or without its dot) */
static int is_month_word(const char *w, size_t n)
{
    const abbrev *a;
    return month_index(w, n) >= 0 || ((a = find_abbrev(w, n, 1)) && a->cls == AB_MONTH);
}

static const unit *find_unit(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (eq(w, n, units[i].abbr))
            return &units[i];
    return NULL;
}

static const currency *find_currency(const char *w, size_t n, size_t *len)
{
    for (size_t i = 0; i < sizeof currencies / sizeof *currencies; i++) {
        size_t k = strlen(currencies[i].sym);
        if (n >= k && !memcmp(w, currencies[i].sym, k)) {
            *len = k;
            return &currencies[i];
        }
    }
    return NULL;
}

/* --------------------------------------------------- word spans in raw sentence text -- */

/* Strips leading quotes and brackets from s[*a..b). */
static void strip_open(const char *s, size_t *a, size_t b)
{
    while (*a < b) {
        uint32_t cp;
        size_t k = fe_utf8_next(s + *a, b - *a, &cp);
        if (!fe_is_quote(cp) && !fe_is_open(cp))
            break;
        *a += k;
    }
}

/* The white-space separated word ending before s[end] (skipping white space), within
 * [lo, end). Returns 0 if there is none. */
static int word_before(const char *s, size_t lo, size_t end, size_t *wa, size_t *wb)
{
    size_t i = end;
    while (i > lo) {
        size_t k = fe_utf8_prevlen(s, i);
        uint32_t cp;
        fe_utf8_next(s + i - k, k, &cp);
        if (!fe_is_space(cp))
            break;
        i -= k;
    }
    if (i <= lo)
        return 0;
    size_t b = i;
    while (i > lo) {
        size_t k = fe_utf8_prevlen(s, i);
        uint32_t cp;
        fe_utf8_next(s + i - k, k, &cp);
        if (fe_is_space(cp))
            break;
        i -= k;
    }
    *wa = i;
    *wb = b;
    strip_open(s, wa, b);
    return *wa < *wb;
}

/* "St"/"Dr" reads as Street/Drive when the word before is capitalized (and is not the first
 * word of the sentence) or is a number ("5th St."). */
static int street_reading(const char *s, size_t sstart, size_t word)
{
    size_t pa, pb;
    if (!word_before(s, sstart, word, &pa, &pb))
        return 0;
    if (is_d(s[pa]))
        return 1;
    if (!first_upper(s + pa, pb - pa))
        return 0;
    size_t qa, qb;
    return word_before(s, sstart, pa, &qa, &qb); /* not the sentence's first word */
}

int fe_period_ends_sentence(const char *s, size_t len, size_t sstart, size_t w, size_t dot)
{
    strip_open(s, &w, dot);
    size_t n = dot - w;
    /* the next word */
    size_t j = dot + 1;
    uint32_t cp = 0;
    while (j < len) {
        size_t k = fe_utf8_next(s + j, len - j, &cp);
        if (!fe_is_space(cp) && !fe_is_quote(cp) && !fe_is_open(cp) && !fe_is_close(cp) &&
            cp != '.')
            break;
        j += k;
    }
    if (j >= len)
        return 1;
    int next_upper = fe_is_upper(cp), next_digit = fe_is_digit(cp);
    if (n == 0)
        return 1;
    const abbrev *a = find_abbrev(s + w, n, 1);
    if (a) {
        switch (a->cls) {
        case AB_TITLE:
        case AB_NEVER:
            return 0;
        case AB_NUMBER:
            return !next_digit;
        case AB_STREET:
            return street_reading(s, sstart, w) && next_upper;
        case AB_MONTH:
            return !next_digit && next_upper;
        default:
            return next_upper;
        }
    }
    if (n == 1 && is_a(s[w])) {
        if (s[w] >= 'A' && s[w] <= 'Z') {
            /* initials ("John F. Kennedy", "J. R. R. Tolkien") go on; "vitamin C. It" ends */
            size_t pa, pb;
            if (!word_before(s, sstart, w, &pa, &pb) || first_upper(s + pa, pb - pa))
                return 0;
        }
        return next_upper;
    }
    if (dotted_acronym(s + w, n))
        return next_upper;
    return 1;
}

/* ------------------------------------------------------------------ tokenizer ------- */

enum { RT_WORD, RT_PUNCT, RT_PHON }; /* RT_PHON: phoneme input "[[ … ]]" */

typedef struct {
    int kind;
    size_t off, len;
    char brk;
    int dot;      /* RT_WORD: ends with an abbreviation's '.' */
} rtok;

typedef struct {
    rtok *v;
    size_t n, cap;
    int oom;
} rtoks;

static void rt_push(rtoks *r, int kind, size_t off, size_t len, char brk, int dot)
{
    if (r->oom)
        return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        rtok *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            r->oom = 1;
            return;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = (rtok){kind, off, len, brk, dot};
}

static int brk_rank(char b)
{
    switch (b) {
    case ',': return 1;
    case ';': return 2;
    case '.': return 3;
    default: return 4; /* ? ! */
    }
}

static int is_url_like(const char *w, size_t n)
{
    static const char *const tlds[] = {".com", ".org", ".net", ".edu", ".gov", ".io"};
    for (size_t i = 0; i + 2 < n; i++)
        if (w[i] == ':' && w[i + 1] == '/' && w[i + 2] == '/')
            return 1;
    if (n > 4 && !strncasecmp(w, "www.", 4))
        return 1;
    const char *at = memchr(w, '@', n);
    if (at && at > w && memchr(at, '.', (size_t)(w + n - at)))
        return 1;
    for (size_t t = 0; t < sizeof tlds / sizeof *tlds; t++) {
        size_t k = strlen(tlds[t]);
        for (size_t i = 1; i + k <= n; i++)
            if (!strncasecmp(w + i, tlds[t], k) && (i + k == n || w[i + k] == '/'))
                return 1;
    }
    return 0;
}

/* Splits the core of a chunk at pause marks inside it ("a—b", "x...y", "one,two"). */
static void split_core(const char *s, size_t a, size_t b, int dot, rtoks *r)
{
    if (a >= b)
        return;
    if (is_url_like(s + a, b - a)) {
        rt_push(r, RT_WORD, a, b - a, 0, dot);
        return;
    }
    size_t piece = a, i = a;
    uint32_t prev = 0;
    while (i < b) {
        uint32_t cp, nx = 0;
        size_t k = fe_utf8_next(s + i, b - i, &cp);
        if (i + k < b)
            fe_utf8_next(s + i + k, b - i - k, &nx);
        int digits_around = fe_is_digit(prev) && fe_is_digit(nx);
        size_t blen = 0;
        char brk = 0;
        if (cp == 0x2014 || cp == 0x2015 || cp == 0x2026 || (cp == 0x2013 && !digits_around)) {
            blen = k;
            brk = ';';
        } else if ((cp == '-' && nx == '-') || (cp == '.' && nx == '.')) {
            blen = 1;
            while (i + blen < b && s[i + blen] == (char)cp)
                blen++;
            brk = ';';
        } else if ((cp == ',' || cp == ';' || cp == '!' || cp == '?' || cp == ':') &&
                   !digits_around) {
            blen = 1;
            brk = cp == ',' ? ',' : cp == '!' ? '!' : cp == '?' ? '?' : ';';
        }
        if (brk) {
            if (i > piece)
                rt_push(r, RT_WORD, piece, i - piece, 0, 0);
            rt_push(r, RT_PUNCT, i, blen, brk, 0);
            i += blen;
            piece = i;
            prev = 0;
            continue;
        }
        prev = cp;
        i += k;
    }
    if (b > piece)
        rt_push(r, RT_WORD, piece, b - piece, 0, dot);
}

static void tokenize_chunk(const char *s, size_t a, size_t b, rtoks *r)
{
    /* leading quotes, brackets, dashes, pause marks */
    while (a < b) {
        uint32_t cp, nx = 0;
        size_t k = fe_utf8_next(s + a, b - a, &cp);
        if (a + k < b)
            fe_utf8_next(s + a + k, b - a - k, &nx);
        if (fe_is_quote(cp) || cp == 0xBF || cp == 0xA1) {
            a += k;
        } else if (fe_is_open(cp) || fe_is_close(cp)) {
            rt_push(r, RT_PUNCT, a, k, ',', 0);
            a += k;
        } else if (fe_is_dash(cp) || cp == 0x2026) {
            rt_push(r, RT_PUNCT, a, k, ';', 0);
            a += k;
        } else if (cp == '-' && !(fe_is_digit(nx) || nx == '.' || nx == '$' ||
                                  nx == 0x20AC || nx == 0xA3 || nx == 0xA5)) {
            size_t e = a;
            while (e < b && s[e] == '-')
                e++;
            rt_push(r, RT_PUNCT, a, e - a, ';', 0);
            a = e;
        } else if (cp == '.' && !fe_is_digit(nx)) {
            size_t e = a;
            while (e < b && s[e] == '.')
                e++;
            if (e - a < 2 && e < b) /* ".NET": keep the dot with the word */
                break;
            rt_push(r, RT_PUNCT, a, e - a, e - a >= 2 ? ';' : '.', 0);
            a = e;
        } else if (cp == ',' || cp == ';' || cp == ':' || cp == '!' || cp == '?') {
            rt_push(r, RT_PUNCT, a, k, cp == ',' ? ',' : cp == '!' ? '!' : cp == '?' ? '?' : ';', 0);
            a += k;
        } else {
            break;
        }
    }
    if (a >= b)
        return;

    /* trailing ones */
    size_t t = b;
    while (t > a) {
        size_t k = fe_utf8_prevlen(s, t);
        uint32_t cp;
        fe_utf8_next(s + t - k, k, &cp);
        if (fe_is_quote(cp) || fe_is_close(cp) || fe_is_open(cp) || fe_is_dash(cp) ||
            cp == ',' || cp == ';' || cp == ':' || cp == '!' || cp == '?' || cp == '.' ||
            cp == '-' || cp == 0x2026)
            t -= k;
        else
            break;
    }
    int dot = 0;
    if (t > a && t < b && s[t] == '.' && (t + 1 >= b || s[t + 1] != '.') &&
        abbrev_with_dot(s + a, t - a)) {
        t++;
        dot = 1;
    }
    split_core(s, a, t, dot, r);

    /* the trailing marks */
    size_t i = t;
    while (i < b) {
        uint32_t cp;
        size_t k = fe_utf8_next(s + i, b - i, &cp);
        if (fe_is_quote(cp)) {
            i += k;
        } else if (cp == '.') {
            size_t e = i;
            while (e < b && s[e] == '.')
                e++;
            rt_push(r, RT_PUNCT, i, e - i, e - i >= 2 ? ';' : '.', 0);
            i = e;
        } else {
            char brk = cp == ',' || fe_is_open(cp) || fe_is_close(cp) ? ','
                     : cp == '!' ? '!' : cp == '?' ? '?' : ';';
            rt_push(r, RT_PUNCT, i, k, brk, 0);
            i += k;
        }
    }
}

static void tokenize(const char *s, size_t n, rtoks *r)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = fe_utf8_next(s + i, n - i, &cp);
        if (fe_is_space(cp)) {
            i += k;
            continue;
        }
        size_t e = fe_phon_block(s, n, i, NULL, NULL);
        if (e) { /* phoneme input: one token, whatever it holds */
            rt_push(r, RT_PHON, i, e - i, 0, 0);
            i = e;
            continue;
        }
        size_t a = i;
        while (i < n) {
            k = fe_utf8_next(s + i, n - i, &cp);
            if (fe_is_space(cp) || (i > a && s[i] == '[' && fe_phon_block(s, n, i, NULL, NULL)))
                break;
            i += k;
        }
        tokenize_chunk(s, a, i, r);
    }

    /* collapse runs of pause marks, drop leading ones, add the '.' an abbreviation at the
     * end of a sentence swallowed, end on '.' rather than a clause break */
    size_t o = 0;
    int seen_word = 0;
    for (size_t j = 0; j < r->n; j++) {
        rtok t = r->v[j];
        if (t.kind == RT_PUNCT) {
            if (!seen_word)
                continue;
            if (o > 0 && r->v[o - 1].kind == RT_PUNCT) {
                if (brk_rank(t.brk) > brk_rank(r->v[o - 1].brk))
                    r->v[o - 1] = t;
                continue;
            }
        } else {
            seen_word = 1;
        }
        r->v[o++] = t;
    }
    r->n = o;
    for (size_t j = 0; j < r->n && !r->oom; j++) {
        rtok t = r->v[j];
        if (t.kind != RT_WORD || !t.dot)
            continue;
        if (j + 1 < r->n && r->v[j + 1].kind == RT_PUNCT)
            continue;
        size_t dot = t.off + t.len - 1;
        if (!fe_period_ends_sentence(s, n, 0, t.off, dot))
            continue;
        rt_push(r, RT_PUNCT, dot, 1, '.', 0); /* appended, then moved into place */
        if (r->oom)
            break;
        rtok p = r->v[r->n - 1];
        memmove(&r->v[j + 2], &r->v[j + 1], (r->n - 1 - (j + 1)) * sizeof *r->v);
        r->v[j + 1] = p;
    }
    if (r->n && r->v[r->n - 1].kind == RT_PUNCT && r->v[r->n - 1].brk == ';')
        r->v[r->n - 1].brk = '.';
}

/* ------------------------------------------------------------------ expansion ------- */

enum { PK_NONE, PK_NUMBER, PK_TIME, PK_MONTH };

typedef struct {
    const char *s;
    size_t n;
    rtoks *r;
    fe_items *out;
    fe_buf w;          /* words of the token being expanded */
    int prev;          /* PK_*: what the previous word was */
    int prev_one;      /* the previous number was exactly 1 */
    size_t first_word; /* index of the sentence's first word token */
} nctx;

static void items_push(fe_items *it, fe_item x)
{
    if (it->oom)
        return;
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 32;
        fe_item *v = realloc(it->v, cap * sizeof *v);
        if (!v) {
            it->oom = 1;
            return;
        }
        it->v = v;
        it->cap = cap;
    }
    it->v[it->n++] = x;
}

/* Emits the words in c->w (if any) for the source span [off, off+len) and clears c->w. */
static void emit_words(nctx *c, size_t off, size_t len)
{
    if (c->w.oom)
        c->out->oom = 1;
    /* trim spaces */
    size_t a = 0, b = c->w.n;
    while (a < b && c->w.p[a] == ' ')
        a++;
    while (b > a && c->w.p[b - 1] == ' ')
        b--;
    if (b > a) {
        fe_item x = {FE_WORD, c->out->arena.n, 0, off, len};
        fe_buf_putn(&c->out->arena, c->w.p + a, b - a);
        fe_buf_putc(&c->out->arena, '\0');
        if (c->out->arena.oom)
            c->out->oom = 1;
        items_push(c->out, x);
    }
    c->w.n = 0;
}

static void emit_break(nctx *c, char brk, size_t off, size_t len)
{
    if (c->out->n && c->out->v[c->out->n - 1].kind == FE_BREAK) {
        fe_item *p = &c->out->v[c->out->n - 1];
        if (brk_rank(brk) > brk_rank(p->brk))
            *p = (fe_item){FE_BREAK, 0, brk, off, len};
        return;
    }
    if (!c->out->n)
        return;
    items_push(c->out, (fe_item){FE_BREAK, 0, brk, off, len});
}

/* the word token right after token i with no pause between, or -1 */
static long next_word(const nctx *c, size_t i)
{
    if (i + 1 < c->r->n && c->r->v[i + 1].kind == RT_WORD)
        return (long)(i + 1);
    return -1;
}

static long prev_word(const nctx *c, size_t i)
{
    if (i > 0 && c->r->v[i - 1].kind == RT_WORD)
        return (long)(i - 1);
    return -1;
}

/* span of word token i without an abbreviation dot */
static const char *tok(const nctx *c, size_t i, size_t *n)
{
    const rtok *t = &c->r->v[i];
    *n = t->len - (t->dot ? 1 : 0);
    return c->s + t->off;
}

/* A parsed number: [sign][currency]digits[,ddd…][.digits] */
typedef struct {
    char sign;               /* 0, '-' or '+' */
    const currency *cur;     /* prefix currency or NULL */
    char ip[40];             /* integer digits, commas removed */
    size_t ipn;
    int commas;
    char fp[40];             /* fraction digits */
    size_t fpn;
    int point;
    int ok;                  /* at least one digit */
    size_t used;             /* bytes consumed */
} num;

static void parse_num(const char *w, size_t n, num *x)
{
    memset(x, 0, sizeof *x);
    size_t i = 0;
    if (i < n && (w[i] == '-' || w[i] == '+')) {
        x->sign = w[i];
        i++;
    } else if (n >= 3 && !memcmp(w, "\xE2\x88\x92", 3)) { /* − minus sign */
        x->sign = '-';
        i += 3;
    }
    size_t k;
    const currency *cur = find_currency(w + i, n - i, &k);
    if (cur) {
        x->cur = cur;
        i += k;
    }
    size_t start = i;
    while (i < n && is_d(w[i])) {
        if (x->ipn < sizeof x->ip - 1)
            x->ip[x->ipn++] = w[i];
        i++;
    }
    /* thousands separators: "1,234,567" (first group 1-3 digits, then exactly three) */
    size_t first = i - start;
    while (first >= 1 && first <= 3 && i + 4 <= n && w[i] == ',' && is_d(w[i + 1]) &&
           is_d(w[i + 2]) && is_d(w[i + 3]) && (i + 4 == n || !is_d(w[i + 4]))) {
        for (size_t j = 1; j <= 3; j++)
            if (x->ipn < sizeof x->ip - 1)
                x->ip[x->ipn++] = w[i + j];
        x->commas++;
        i += 4;
    }
    if (i < n && w[i] == '.' && i + 1 < n && is_d(w[i + 1])) {
        x->point = 1;
        i++;
        while (i < n && is_d(w[i])) {
            if (x->fpn < sizeof x->fp - 1)
                x->fp[x->fpn++] = w[i];
            i++;
        }
    }
    x->ok = x->ipn > 0 || x->fpn > 0;
    x->used = i;
}

static uint64_t num_value(const char *d, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 18; i++)
        v = v * 10 + (uint64_t)(d[i] - '0');
    return v;
}

/* integer digits → words: cardinal, or digit by digit for leading zeros / huge values */
static void say_int_digits(fe_buf *b, const char *d, size_t n)
{
    if (n == 0)
        return;
    if ((n > 1 && d[0] == '0') || n > 15)
        fe_say_digits(b, d, n);
    else
        fe_say_cardinal(b, num_value(d, n));
}

/* sign, integer part, "point" and fraction digits */
static void say_number(fe_buf *b, const num *x, int year_ok)
{
    if (x->sign == '-')
        fe_buf_word(b, "minus");
    else if (x->sign == '+')
        fe_buf_word(b, "plus");
    if (year_ok && !x->commas && !x->point && x->ipn == 4 && x->ip[0] != '0') {
        unsigned y = (unsigned)num_value(x->ip, 4);
        if (y >= 1000 && y <= 2099) {
            fe_say_year(b, y);
            return;
        }
    }
    if (x->ipn)
        say_int_digits(b, x->ip, x->ipn);
    else if (!x->point)
        fe_buf_word(b, "zero");
    if (x->point) {
        fe_buf_word(b, "point");
        fe_say_digits(b, x->fp, x->fpn);
    }
}

static int num_is_one(const num *x)
{
    return !x->point && x->ipn == 1 && x->ip[0] == '1';
}

static int scale_index(const char *w, size_t n)
{
    for (int i = 0; i < 4; i++)
        if (eq_ci(w, n, scale_words[i]))
            return i;
    return -1;
}

static void say_currency(fe_buf *b, const num *x, const currency *cur, int scale)
{
    if (x->sign == '-')
        fe_buf_word(b, "minus");
    if (scale >= 0) { /* "$3.5 million" → three point five million dollars */
        num y = *x;
        y.sign = 0;
        say_number(b, &y, 0);
        fe_buf_word(b, scale_words[scale]);
        fe_buf_word(b, cur->many);
        return;
    }
    uint64_t units_v = x->ipn ? num_value(x->ip, x->ipn) : 0;
    int big = x->ipn > 15;
    if (x->point && (x->fpn > 2 || !cur->sub_many)) {
        num y = *x;
        y.sign = 0;
        say_number(b, &y, 0);
        fe_buf_word(b, cur->many);
        return;
    }
    unsigned sub = 0;
    if (x->point)
        sub = x->fpn == 1 ? (unsigned)(x->fp[0] - '0') * 10
                          : (unsigned)((x->fp[0] - '0') * 10 + (x->fp[1] - '0'));
    if (units_v || big || !sub) {
        if (big)
            fe_say_digits(b, x->ip, x->ipn);
        else
            fe_say_cardinal(b, units_v);
        fe_buf_word(b, units_v == 1 && !big ? cur->one : cur->many);
        if (sub)
            fe_buf_word(b, "and");
    }
    if (sub) {
        fe_say_cardinal(b, sub);
        fe_buf_word(b, sub == 1 ? cur->sub_one : cur->sub_many);
    }
}

/* "3:45", "3:05", "14:30:10": hours 0-24, minutes 00-59, optional seconds. Returns the
 * bytes used, 0 if w does not start with a time. */
static size_t parse_time(const char *w, size_t n, unsigned *h, unsigned *m, int *sec)
{
    size_t i = 0;
    while (i < n && i < 2 && is_d(w[i]))
        i++;
    if (i == 0 || i + 3 > n || w[i] != ':' || !is_d(w[i + 1]) || !is_d(w[i + 2]) ||
        (i + 3 < n && is_d(w[i + 3])))
        return 0;
    *h = (unsigned)num_value(w, i);
    *m = (unsigned)num_value(w + i + 1, 2);
    *sec = -1;
    if (*h > 24 || *m > 59)
        return 0;
    size_t e = i + 3;
    if (e + 3 <= n && w[e] == ':' && is_d(w[e + 1]) && is_d(w[e + 2]) &&
        (e + 3 == n || !is_d(w[e + 3])) && num_value(w + e + 1, 2) <= 59) {
        *sec = (int)num_value(w + e + 1, 2);
        e += 3;
    }
    return e;
}

/* 3:45 → three forty-five, 3:05 → three oh five, 3:00 → three o'clock (three, before AM/PM) */
static void say_time(fe_buf *b, unsigned h, unsigned m, int sec, int ampm)
{
    fe_say_cardinal(b, h);
    if (m == 0) {
        if (!ampm)
            fe_buf_word(b, h == 0 ? "hundred" : "o'clock");
    } else if (m < 10) {
        fe_buf_word(b, "oh");
        fe_say_cardinal(b, m);
    } else {
        fe_say_cardinal(b, m);
    }
    if (sec >= 0) {
        fe_buf_word(b, "and");
        fe_say_cardinal(b, (uint64_t)sec);
        fe_buf_word(b, sec == 1 ? "second" : "seconds");
    }
}

static int ampm_word(const char *w, size_t n, int dot)
{
    if (eq_ci(w, n, "am") || eq_ci(w, n, "a.m") || (!dot && eq_ci(w, n, "a.m.")))
        return 'A';
    if (eq_ci(w, n, "pm") || eq_ci(w, n, "p.m") || (!dot && eq_ci(w, n, "p.m.")))
        return 'P';
    return 0;
}

/* splits digit groups separated by sep: returns count, group starts/lengths */
static int digit_groups(const char *w, size_t n, const char *sep, size_t seplen,
                        size_t *ga, size_t *gn, int max)
{
    int g = 0;
    size_t i = 0;
    for (;;) {
        size_t a = i;
        while (i < n && is_d(w[i]))
            i++;
        if (i == a || g == max)
            return 0;
        ga[g] = a;
        gn[g] = i - a;
        g++;
        if (i == n)
            return g;
        if (i + seplen > n || memcmp(w + i, sep, seplen))
            return 0;
        i += seplen;
    }
}

static void say_date(fe_buf *b, unsigned y, unsigned m, unsigned d, nctx *c, size_t off,
                     size_t len)
{
    fe_buf_word(b, months[m - 1]);
    fe_say_ordinal(b, d);
    emit_words(c, off, len);
    emit_break(c, ',', off, len);
    fe_say_year(b, y);
}

/* Roman numeral made of I, V, X only, value 2..39, written canonically; else 0 */
static int roman_value(const char *w, size_t n)
{
    if (n < 2 || n > 6)
        return 0;
    int v = 0, prev = 0;
    for (size_t i = n; i-- > 0;) {
        int d = w[i] == 'I' ? 1 : w[i] == 'V' ? 5 : w[i] == 'X' ? 10 : 0;
        if (!d)
            return 0;
        if (d < prev)
            v -= d;
        else
            v += d;
        prev = d > prev ? d : prev;
    }
    if (v < 2 || v > 39)
        return 0;
    char canon[8];
    size_t k = 0;
    int r = v;
    while (r >= 10) {
        canon[k++] = 'X';
        r -= 10;
    }
    static const char *const low[10] = {"", "I", "II", "III", "IV", "V", "VI", "VII",
                                        "VIII", "IX"};
    size_t ll = strlen(low[r]);
    memcpy(canon + k, low[r], ll);
    k += ll;
    return (k == n && !memcmp(canon, w, n)) ? v : 0;
}

static void say_mixed(fe_buf *b, const char *w, size_t n, int split_hyphen);

/* A word starting with a digit, sign or currency. Returns 0 if it is not a number after
 * all (the caller then reads it as letters and digits). consumed: extra tokens used. */
static int expand_number(nctx *c, size_t ti, int *consumed)
{
    size_t n;
    const char *w = tok(c, ti, &n);
    const rtok *t = &c->r->v[ti];
    fe_buf *b = &c->w;
    num x;
    parse_num(w, n, &x);
    if (!x.ok)
        return 0;
    const char *r = w + x.used;
    size_t rn = n - x.used;
    long nx = next_word(c, ti);
    size_t nn = 0;
    const char *nw = nx >= 0 ? tok(c, (size_t)nx, &nn) : NULL;
    int value_small = !x.point && x.ipn && x.ipn <= 2;
    unsigned v = value_small ? (unsigned)num_value(x.ip, x.ipn) : 0;
    c->prev = PK_NUMBER;
    c->prev_one = num_is_one(&x);

    if (x.cur) {
        int scale = -1;
        c->prev = PK_NONE;
        if (rn == 0 && nw && (scale = scale_index(nw, nn)) >= 0) {
            /* "$3.5 million": "three point five" for "$3.5", "million dollars" for
             * "million" */
            num y = x;
            y.sign = 0;
            if (x.sign == '-')
                fe_buf_word(b, "minus");
            say_number(b, &y, 0);
            emit_words(c, t->off, t->len);
            fe_buf_word(b, scale_words[scale]);
            fe_buf_word(b, x.cur->many);
            emit_words(c, c->r->v[nx].off, c->r->v[nx].len);
            *consumed = 1;
            return 1;
        }
        if (rn > 0) {
            static const struct {
                const char *suf;
                int scale;
            } sfx[] = {{"k", 0}, {"K", 0}, {"m", 1}, {"M", 1}, {"mn", 1}, {"bn", 2},
                       {"b", 2}, {"B", 2}, {"tn", 3}, {"T", 3}};
            for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++)
                if (eq(r, rn, sfx[i].suf)) {
                    say_currency(b, &x, x.cur, sfx[i].scale);
                    return 1;
                }
            say_currency(b, &x, x.cur, -1);
            say_mixed(b, r, rn, 1);
            return 1;
        }
        say_currency(b, &x, x.cur, -1);
        return 1;
    }

    if (rn == 0) {
        long pw = prev_word(c, ti);
        size_t pn = 0;
        const char *pws = pw >= 0 ? tok(c, (size_t)pw, &pn) : NULL;
        int after_month = pws && is_month_word(pws, pn);
        int before_month = nw && is_month_word(nw, nn);
        if (!x.sign && value_small && v >= 1 && v <= 31 && x.ip[0] != '0') {
            if (after_month) {          /* "March 3" → March third */
                fe_say_ordinal(b, v);
                return 1;
            }
            if (before_month) {         /* "3 March" → the third of March */
                fe_buf_word(b, "the");
                fe_say_ordinal(b, v);
                fe_buf_word(b, "of");
                return 1;
            }
        }
        /* "No. 5" handled by the abbreviation; a lone number (years read as years) */
        say_number(b, &x, x.sign == 0);
        return 1;
    }

    /* percent */
    if (eq(r, rn, "%")) {
        say_number(b, &x, 0);
        fe_buf_word(b, "percent");
        c->prev = PK_NONE;
        return 1;
    }
    /* ordinals: 1st 22nd 103rd 4th */
    if (!x.point && !x.sign && (eq_ci(r, rn, "st") || eq_ci(r, rn, "nd") ||
                                eq_ci(r, rn, "rd") || eq_ci(r, rn, "th"))) {
        if (x.ipn > 15 || (x.ipn > 1 && x.ip[0] == '0')) {
            say_int_digits(b, x.ip, x.ipn);
            fe_last_word_ordinal(b);
        } else {
            fe_say_ordinal(b, num_value(x.ip, x.ipn));
        }
        c->prev = PK_NONE;
        return 1;
    }
    /* decades and plurals: 1990s, '80s, 80s */
    if (!x.point && !x.sign && (eq(r, rn, "s") || eq(r, rn, "'s") ||
                                eq(r, rn, "\xE2\x80\x99s"))) {
        say_number(b, &x, 1);
        fe_last_word_plural(b);
        c->prev = PK_NONE;
        return 1;
    }
    /* times: 3:45, 10:30pm */
    if (!x.point && !x.sign && !x.commas && rn > 0 && r[0] == ':') {
        unsigned h, m;
        int sec;
        size_t used = parse_time(w, n, &h, &m, &sec);
        if (used) {
            int ap = ampm_word(w + used, n - used, t->dot);
            int ap_next = nw ? ampm_word(nw, nn, c->r->v[nx].dot) : 0;
            say_time(b, h, m, sec, ap || ap_next);
            if (ap)
                fe_buf_word(b, ap == 'A' ? "AM" : "PM");
            else
                say_mixed(b, w + used, n - used, 1);
            c->prev = PK_TIME;
            return 1;
        }
        /* not a time ("10:100"): the numbers side by side */
        say_mixed(b, w, n, 1);
        return 1;
    }
    /* dashes: 2024-03-03, 555-1234, 10-20, 1939–1945 */
    int dash = rn > 1 && r[0] == '-' ? 1 : rn > 3 && !memcmp(r, "\xE2\x80\x93", 3) ? 3 : 0;
    if (!x.point && !x.sign && !x.commas && dash) {
        size_t ga[5], gn[5];
        int g = digit_groups(w, n, r, (size_t)dash, ga, gn, 5);
        if (g == 3 && gn[0] == 4 && gn[1] == 2 && gn[2] == 2) {
            unsigned y = (unsigned)num_value(w + ga[0], 4);
            unsigned m = (unsigned)num_value(w + ga[1], 2);
            unsigned d = (unsigned)num_value(w + ga[2], 2);
            if (m >= 1 && m <= 12 && d >= 1 && d <= 31) {
                say_date(b, y, m, d, c, t->off, t->len);
                c->prev = PK_NONE;
                return 1;
            }
        }
        if ((g == 2 && gn[0] == 3 && gn[1] == 4) ||
            (g == 3 && gn[0] == 3 && gn[1] == 3 && gn[2] == 4) ||
            (g == 4 && gn[0] == 1 && gn[1] == 3 && gn[2] == 3 && gn[3] == 4)) {
            for (int i = 0; i < g; i++)
                fe_say_digits(b, w + ga[i], gn[i]);
            c->prev = PK_NONE;
            return 1;
        }
        if (g == 2) {
            num a, z;
            parse_num(w + ga[0], gn[0], &a);
            parse_num(w + ga[1], gn[1], &z);
            say_number(b, &a, gn[0] == 4);
            fe_buf_word(b, "to");
            say_number(b, &z, gn[1] == 4 || (gn[0] == 4 && gn[1] == 2));
            c->prev_one = 0;
            return 1;
        }
    }
    /* slashes: 12/25/2024, 3/3/24, 1/2, 24/7 */
    if (!x.point && !x.sign && !x.commas && rn > 1 && r[0] == '/') {
        size_t ga[3], gn[3];
        int g = digit_groups(w, n, "/", 1, ga, gn, 3);
        if (g == 3 && gn[0] <= 2 && gn[1] <= 2 && (gn[2] == 4 || gn[2] == 2)) {
            unsigned m = (unsigned)num_value(w + ga[0], gn[0]);
            unsigned d = (unsigned)num_value(w + ga[1], gn[1]);
            unsigned y = (unsigned)num_value(w + ga[2], gn[2]);
            if (gn[2] == 2)
                y += y < 50 ? 2000 : 1900;
            if (m >= 1 && m <= 12 && d >= 1 && d <= 31) {
                say_date(b, y, m, d, c, t->off, t->len);
                c->prev = PK_NONE;
                return 1;
            }
        }
        if (g == 2 && gn[0] <= 6 && gn[1] <= 3) {
            uint64_t a = num_value(w + ga[0], gn[0]), z = num_value(w + ga[1], gn[1]);
            static const unsigned dens[] = {2, 3, 4, 5, 6, 8, 10, 16, 32, 64, 100};
            int frac = 0;
            for (size_t i = 0; i < sizeof dens / sizeof *dens; i++)
                frac |= z == dens[i];
            if (frac && a >= 1 && a < z && w[ga[0]] != '0' && w[ga[1]] != '0') {
                fe_say_cardinal(b, a);
                if (z == 2) {
                    fe_buf_word(b, a == 1 ? "half" : "halves");
                } else if (z == 4) {
                    fe_buf_word(b, a == 1 ? "quarter" : "quarters");
                } else {
                    fe_say_ordinal(b, z);
                    if (a != 1)
                        fe_last_word_plural(b);
                }
                c->prev = PK_NONE;
                return 1;
            }
            say_int_digits(b, w + ga[0], gn[0]);   /* 24/7, 9/11, 50/50 */
            say_int_digits(b, w + ga[1], gn[1]);
            c->prev = PK_NONE;
            return 1;
        }
    }
    /* currency after the number: 20€ */
    {
        size_t k;
        const currency *cur = find_currency(r, rn, &k);
        if (cur && k == rn) {
            say_currency(b, &x, cur, -1);
            c->prev = PK_NONE;
            return 1;
        }
    }
    /* 3pm, 10am */
    if (!x.point && !x.sign && ampm_word(r, rn, t->dot)) {
        say_number(b, &x, 0);
        fe_buf_word(b, ampm_word(r, rn, t->dot) == 'A' ? "AM" : "PM");
        c->prev = PK_TIME;
        return 1;
    }
    /* units: 5km, 20°C, 2.5GB */
    {
        const unit *u = find_unit(r, rn);
        if (u) {
            say_number(b, &x, 0);
            fe_buf_word(b, num_is_one(&x) && !x.sign ? u->one : u->many);
            c->prev = PK_NONE;
            return 1;
        }
    }
    /* anything else: the number, then the rest read as letters/digits ("5G", "3D") */
    say_number(b, &x, 0);
    say_mixed(b, r, rn, 1);
    c->prev = PK_NONE;
    return 1;
}

/* Letters pass through (typographic apostrophes become ASCII ones); digit runs become
 * numbers; _ / . , : between them, and - when split_hyphen, become spaces. */
static void say_mixed(fe_buf *b, const char *w, size_t n, int split_hyphen)
{
    size_t i = 0;
#define MIXED_SEP(ch) ((ch) == '_' || (ch) == '/' || (ch) == '.' || (ch) == ',' || \
                       (ch) == ':' || ((ch) == '-' && split_hyphen))
    while (i < n) {
        if (is_d(w[i])) {
            size_t a = i;
            while (i < n && is_d(w[i]))
                i++;
            int plural = i < n && w[i] == 's' && (i + 1 == n || MIXED_SEP(w[i + 1]));
            unsigned y = i - a == 4 ? (unsigned)num_value(w + a, 4) : 0;
            if (y >= 1000 && y <= 2099 && w[a] != '0')
                fe_say_year(b, y); /* "mid-1990s", "FY2024" */
            else
                say_int_digits(b, w + a, i - a);
            if (plural) {
                fe_last_word_plural(b);
                i++;
            }
        } else if (MIXED_SEP(w[i])) {
            i++;
            if (b->n && b->p[b->n - 1] != ' ')
                fe_buf_putc(b, ' ');
        } else {
            if (b->n && b->p[b->n - 1] != ' ')
                fe_buf_putc(b, ' ');
            while (i < n && !is_d(w[i]) && !MIXED_SEP(w[i])) {
                if (i + 3 <= n && !memcmp(w + i, "\xE2\x80\x99", 3)) {
                    fe_buf_putc(b, '\'');
                    i += 3;
                } else {
                    fe_buf_putc(b, w[i++]);
                }
            }
        }
    }
#undef MIXED_SEP
}

/* URL or e-mail address: "https://www.example.com/a-b" → w w w dot example dot com slash a
 * dash b. The scheme is not read. */
static void say_url(fe_buf *b, const char *w, size_t n)
{
    size_t i = 0;
    for (size_t j = 0; j + 2 < n; j++)
        if (w[j] == ':' && w[j + 1] == '/' && w[j + 2] == '/') {
            i = j + 3;
            break;
        }
    while (n > i && w[n - 1] == '/')
        n--;
    while (i < n) {
        unsigned char ch = (unsigned char)w[i];
        if (is_a((char)ch) || ch >= 0x80) {
            size_t a = i;
            while (i < n && (is_a(w[i]) || (unsigned char)w[i] >= 0x80))
                i++;
            fe_buf_putc(b, ' ');
            if (i - a == 3 && !strncasecmp(w + a, "www", 3))
                fe_buf_puts(b, "WWW");
            else
                fe_buf_putn(b, w + a, i - a);
        } else if (is_d((char)ch)) {
            size_t a = i;
            while (i < n && is_d(w[i]))
                i++;
            say_int_digits(b, w + a, i - a);
        } else {
            const char *name = NULL;
            switch (ch) {
            case '.': name = "dot"; break;
            case '/': name = "slash"; break;
            case '-': name = "dash"; break;
            case '_': name = "underscore"; break;
            case '@': name = "at"; break;
            case ':': name = "colon"; break;
            case '?': name = "question mark"; break;
            case '=': name = "equals"; break;
            case '&': name = "and"; break;
            case '#': name = "hash"; break;
            case '~': name = "tilde"; break;
            case '+': name = "plus"; break;
            case '%': name = "percent"; break;
            default: break;
            }
            if (name)
                fe_buf_word(b, name);
            i++;
        }
    }
}

static int word_in(const char *w, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (eq_ci(w, n, list[i]))
            return 1;
    return 0;
}

static void expand_word(nctx *c, size_t ti, int *consumed)
{
    const rtok *t = &c->r->v[ti];
    size_t n;
    const char *w = tok(c, ti, &n);
    fe_buf *b = &c->w;
    long nx = next_word(c, ti), pw = prev_word(c, ti);
    size_t nn = 0, pn = 0;
    const char *nw = nx >= 0 ? tok(c, (size_t)nx, &nn) : NULL;
    const char *pws = pw >= 0 ? tok(c, (size_t)pw, &pn) : NULL;
    int prev = c->prev, prev_one = c->prev_one;
    c->prev = PK_NONE;
    c->prev_one = 0;
    *consumed = 0;
    if (!n)
        return;

    /* URLs and e-mail addresses */
    if (is_url_like(w, n)) {
        say_url(b, w, t->len);
        return;
    }

    /* abbreviations */
    const abbrev *a = find_abbrev(w, n, t->dot);
    if (a) {
        if (a->cls == AB_NUMBER) {
            if (nw && (is_d(nw[0]) || nw[0] == '#')) {
                fe_buf_word(b, a->exp);
                return;
            }
        } else if (a->cls == AB_STREET) {
            fe_buf_word(b, street_reading(c->s, 0, t->off) ? a->alt : a->exp);
            return;
        } else if (a->cls == AB_MONTH) {
            /* "Mar" / "May" without a dot only before a day number */
            if (t->dot || (nw && is_d(nw[0]))) {
                fe_buf_word(b, a->exp);
                c->prev = PK_MONTH;
                return;
            }
        } else {
            fe_buf_word(b, a->exp);
            return;
        }
    }
    /* AM / PM after a time or number */
    if ((prev == PK_NUMBER || prev == PK_TIME) && ampm_word(w, n, t->dot)) {
        fe_buf_word(b, ampm_word(w, n, t->dot) == 'A' ? "AM" : "PM");
        return;
    }
    /* units after a number: "5 km", "20 °C" */
    if (prev == PK_NUMBER) {
        const unit *u = find_unit(w, n);
        if (u && (n >= 2 || (unsigned char)w[0] >= 0x80)) {
            fe_buf_word(b, prev_one ? u->one : u->many);
            return;
        }
    }
    /* numbers, currency, dates, times, … */
    {
        size_t i = 0;
        if (w[0] == '-' || w[0] == '+')
            i = 1;
        else if (n >= 3 && !memcmp(w, "\xE2\x88\x92", 3))
            i = 3;
        size_t k;
        if (find_currency(w + i, n - i, &k))
            i += k;
        if (i < n && (is_d(w[i]) || (w[i] == '.' && i + 1 < n && is_d(w[i + 1])))) {
            if (expand_number(c, ti, consumed))
                return;
        }
    }
    /* "#1" → number one */
    if (w[0] == '#' && n > 1 && is_d(w[1])) {
        fe_buf_word(b, "number");
        say_mixed(b, w + 1, n - 1, 1);
        return;
    }
    /* month names (for "March 3") */
    if (month_index(w, n) >= 0) {
        fe_buf_putn(b, w, n);
        c->prev = PK_MONTH;
        return;
    }
    /* Roman numerals: "Henry VIII" → Henry the eighth, "World War II" → World War two */
    if (pws) {
        int v = roman_value(w, n);
        if (v) {
            if (word_in(pws, pn, roman_cardinal_after,
                        sizeof roman_cardinal_after / sizeof *roman_cardinal_after)) {
                fe_say_cardinal(b, (uint64_t)v);
                return;
            }
            if (first_upper(pws, pn) && !(pn > 1 && fe_is_upper((unsigned char)pws[1]))) {
                fe_buf_word(b, "the");
                fe_say_ordinal(b, (uint64_t)v);
                return;
            }
        }
        if (eq(w, n, "I") && eq_ci(pws, pn, "war")) {
            fe_buf_word(b, "one");
            return;
        }
    }
    /* single-letter initials: "A." would be read as the article */
    if (t->dot && n == 1) {
        if (w[0] == 'A' || w[0] == 'a')
            fe_buf_word(b, "A.");
        else
            fe_buf_putc(b, (char)(w[0] >= 'a' ? w[0] - 32 : w[0]));
        return;
    }
    /* dotted acronyms: "U.S.A." → USA (spelled by eSpeak NG) */
    if (t->dot && dotted_acronym(w, n)) {
        for (size_t i = 0; i < n; i++)
            if (w[i] != '.')
                fe_buf_putc(b, (char)(w[i] >= 'a' && w[i] <= 'z' ? w[i] - 32 : w[i]));
        return;
    }
    if (eq(w, n, "&")) {
        fe_buf_word(b, "and");
        return;
    }
    if (eq(w, n, "%")) {
        fe_buf_word(b, "percent");
        return;
    }
    if (eq(w, n, "@")) {
        fe_buf_word(b, "at");
        return;
    }
    if (eq(w, n, "#")) {
        fe_buf_word(b, "number");
        return;
    }
    /* letters with digits ("COVID-19", "MP3") or slashes ("and/or"); plain words keep
     * their hyphens */
    int digits = 0;
    for (size_t i = 0; i < n; i++)
        digits |= is_d(w[i]);
    say_mixed(b, w, n, digits);
}

void fe_items_init(fe_items *it)
{
    memset(it, 0, sizeof *it);
    fe_buf_init(&it->arena);
}

void fe_items_free(fe_items *it)
{
    free(it->v);
    fe_buf_free(&it->arena);
    memset(it, 0, sizeof *it);
}

int fe_normalize(const char *s, size_t n, fe_items *out)
{
    rtoks r = {0};
    tokenize(s, n, &r);
    if (r.oom) {
        free(r.v);
        return TTS_E_NOMEM;
    }
    nctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.n = n;
    c.r = &r;
    c.out = out;
    fe_buf_init(&c.w);
    for (size_t i = 0; i < r.n; i++) {
        rtok *t = &r.v[i];
        if (t->kind == RT_PUNCT) {
            emit_break(&c, t->brk, t->off, t->len);
            c.prev = PK_NONE;
            c.prev_one = 0;
            continue;
        }
        if (t->kind == RT_PHON) {
            size_t a = 0, b = 0;
            fe_phon_block(s, n, t->off, &a, &b);
            fe_item x = {FE_PHON, out->arena.n, 0, t->off, t->len};
            fe_ipa_squeeze(&out->arena, s + a, b - a);
            if (out->arena.n > x.text) {
                fe_buf_putc(&out->arena, '\0');
                items_push(out, x);
            }
            c.prev = PK_NONE;
            c.prev_one = 0;
            continue;
        }
        int consumed = 0;
        expand_word(&c, i, &consumed);
        emit_words(&c, t->off, t->len);
        i += (size_t)consumed;
    }
    fe_buf_free(&c.w);
    free(r.v);
    return out->oom || out->arena.oom ? TTS_E_NOMEM : TTS_OK;
}
