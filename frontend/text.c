/* Byte strings, UTF-8, character classes and sentence splitting. */
#include "frontend/internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ fe_buf ---------- */

void fe_buf_init(fe_buf *b)
{
    memset(b, 0, sizeof *b);
}

void fe_buf_free(fe_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int buf_reserve(fe_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->n + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra + 1) {
        if (cap > (size_t)-1 / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void fe_buf_putn(fe_buf *b, const char *s, size_t n)
{
    if (n == 0 || buf_reserve(b, n))
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void fe_buf_puts(fe_buf *b, const char *s)
{
    fe_buf_putn(b, s, strlen(s));
}

void fe_buf_putc(fe_buf *b, char c)
{
    fe_buf_putn(b, &c, 1);
}

void fe_buf_putcp(fe_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    fe_buf_putn(b, u, n);
}

void fe_buf_word(fe_buf *b, const char *s)
{
    if (!*s)
        return;
    if (b->n > 0 && b->p[b->n - 1] != ' ')
        fe_buf_putc(b, ' ');
    fe_buf_puts(b, s);
}

int fe_buf_cstr(fe_buf *b)
{
    if (buf_reserve(b, 0))
        return -1;
    b->p[b->n] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ UTF-8 ----------- */

size_t fe_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c = u[0];
    size_t len;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (u[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

int fe_utf8_valid(const char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = fe_utf8_decode(s + i, n - i, &cp);
        if (!k) {
            if (bad)
                *bad = i;
            return 0;
        }
        i += k;
    }
    return 1;
}

size_t fe_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    size_t k = fe_utf8_decode(s, n, cp);
    if (!k) {
        *cp = 0xFFFD;
        return 1;
    }
    return k;
}

size_t fe_utf8_prevlen(const char *s, size_t i)
{
    size_t k = 1;
    while (k < 4 && k < i && (((const unsigned char *)s)[i - k] & 0xC0) == 0x80)
        k++;
    return k;
}

/* ------------------------------------------------------------ character classes ----- */

int fe_is_space(uint32_t cp)
{
    return cp <= 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF || cp == 0xFFFD;
}

int fe_is_quote(uint32_t cp)
{
    switch (cp) {
    case '"': case '\'': case '`': case 0xAB: case 0xBB: case 0x2018: case 0x2019:
    case 0x201A: case 0x201B: case 0x201C: case 0x201D: case 0x201E: case 0x201F:
    case 0x2039: case 0x203A:
        return 1;
    default:
        return 0;
    }
}

int fe_is_open(uint32_t cp)
{
    return cp == '(' || cp == '[' || cp == '{';
}

int fe_is_close(uint32_t cp)
{
    return cp == ')' || cp == ']' || cp == '}';
}

int fe_is_dash(uint32_t cp)
{
    return cp == 0x2013 || cp == 0x2014 || cp == 0x2015;
}

int fe_is_upper(uint32_t cp)
{
    if (cp >= 'A' && cp <= 'Z')
        return 1;
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
        return 1;
    if (cp >= 0x100 && cp <= 0x17F)
        return (cp & 1) == 0 && cp != 0x138; /* Latin Extended-A: capitals are even */
    return 0;
}

int fe_is_digit(uint32_t cp)
{
    return cp >= '0' && cp <= '9';
}

static int is_pause_mark(uint32_t cp)
{
    return cp == ',' || cp == '.' || cp == ';' || cp == ':' || cp == '!' || cp == '?' ||
           cp == '-' || cp == 0x2026 || cp == 0xBF || cp == 0xA1;
}

int fe_has_content(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        i += fe_utf8_next(s + i, n - i, &cp);
        if (!fe_is_space(cp) && !fe_is_quote(cp) && !fe_is_open(cp) && !fe_is_close(cp) &&
            !fe_is_dash(cp) && !is_pause_mark(cp))
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------- sentence splitting --- */

int tts_sentences_begin(tts_sentence_iter *it, const char *text, size_t len, tts_err *err)
{
    if (!it)
        return tts_seterr(err, TTS_E_INVALID, "tts_sentences_begin: no iterator");
    it->text = text;
    it->len = text ? len : 0;
    it->pos = 0;
    if (!text && len)
        return tts_seterr(err, TTS_E_INVALID, "tts_sentences_begin: text is NULL");
    size_t bad;
    if (!fe_utf8_valid(text, it->len, &bad)) {
        it->len = 0;
        return tts_seterr(err, TTS_E_INVALID, "invalid UTF-8 in text at byte offset %zu",
                          bad);
    }
    return TTS_OK;
}

/* Whether the terminator run text[a..b) (.!?… and closing quotes/brackets), followed by
 * white space or the end, ends the sentence that began at start. */
static int run_ends_sentence(const char *t, size_t len, size_t start, size_t a, size_t b)
{
    int dots = 0, bang = 0, ellipsis = 0;
    for (size_t i = a; i < b;) {
        uint32_t cp;
        i += fe_utf8_next(t + i, b - i, &cp);
        if (cp == '.')
            dots++;
        else if (cp == '!' || cp == '?')
            bang = 1;
        else if (cp == 0x2026)
            ellipsis = 1;
    }
    if (bang)
        return 1;
    if (dots >= 2 || ellipsis) {
        /* "and so… then" goes on; "the end… Then" is a new sentence */
        size_t j = b;
        uint32_t cp = 0;
        while (j < len) {
            j += fe_utf8_next(t + j, len - j, &cp);
            if (!fe_is_space(cp) && !fe_is_quote(cp) && !fe_is_open(cp))
                break;
        }
        return j >= len || fe_is_upper(cp) || fe_is_digit(cp);
    }
    if (dots == 1) {
        /* find the word before the dot */
        size_t w = a;
        while (w > start) {
            size_t k = fe_utf8_prevlen(t, w);
            uint32_t cp;
            fe_utf8_next(t + w - k, k, &cp);
            if (fe_is_space(cp))
                break;
            w -= k;
        }
        return fe_period_ends_sentence(t, len, start, w, a);
    }
    return 0;
}

int tts_sentences_next(tts_sentence_iter *it, size_t *offset, size_t *length)
{
    const char *t = it->text;
    size_t len = it->len;

    for (;;) {
        uint32_t cp;
        /* skip white space */
        while (it->pos < len) {
            size_t k = fe_utf8_next(t + it->pos, len - it->pos, &cp);
            if (!fe_is_space(cp))
                break;
            it->pos += k;
        }
        if (it->pos >= len)
            return 0;

        size_t start = it->pos, i = start, end = len, next = len;
        size_t last_ws = 0, last_clause = 0;
        int prev_space = 0;
        /* the last character, a "[[ … ]]" block or a run of dots can carry i past the
         * limit at the very end of the text: that too is cut */
        while (i < len || i - start > TTS_SENTENCE_MAX_BYTES) {
            if (i - start >= TTS_SENTENCE_MAX_BYTES) {
                /* too long: cut at a clause mark, else a space, else right here */
                if (last_clause > start + TTS_SENTENCE_MAX_BYTES / 2) {
                    end = last_clause;
                } else if (last_ws > start) {
                    end = last_ws;
                } else {
                    end = start + TTS_SENTENCE_MAX_BYTES;
                    while (end > start + 1 && (((const unsigned char *)t)[end] & 0xC0) == 0x80)
                        end--;
                }
                next = end;
                break;
            }
            if (t[i] == '[') {
                /* phoneme input "[[ … ]]" is never split: pass over it whole, or end the
                 * sentence before it when it would not fit */
                size_t e = fe_phon_block(t, len, i, NULL, NULL);
                if (e) {
                    if (e - start > TTS_SENTENCE_MAX_BYTES && i > start) {
                        end = next = i;
                        break;
                    }
                    i = e;
                    prev_space = 0;
                    continue;
                }
            }
            size_t k = fe_utf8_next(t + i, len - i, &cp);
            if (cp == '.' || cp == '!' || cp == '?' || cp == 0x2026) {
                size_t j = i + k;
                while (j < len && j - start <= TTS_SENTENCE_MAX_BYTES) {
                    uint32_t c2;
                    size_t k2 = fe_utf8_next(t + j, len - j, &c2);
                    if (c2 == '.' || c2 == '!' || c2 == '?' || c2 == 0x2026 ||
                        fe_is_quote(c2) || fe_is_close(c2))
                        j += k2;
                    else
                        break;
                }
                uint32_t after = ' ';
                if (j < len)
                    fe_utf8_next(t + j, len - j, &after);
                if (j - start <= TTS_SENTENCE_MAX_BYTES && fe_is_space(after) &&
                    run_ends_sentence(t, len, start, i, j)) {
                    end = next = j;
                    break;
                }
                i = j;
                prev_space = 0;
                continue;
            }
            if (fe_is_space(cp)) {
                if (!prev_space)
                    last_ws = i;
                prev_space = 1;
                if (cp == '\n') {
                    /* a blank line ends a paragraph, and the sentence with it */
                    size_t j = i + 1;
                    uint32_t c2 = 0;
                    while (j < len) {
                        size_t k2 = fe_utf8_next(t + j, len - j, &c2);
                        if (c2 == '\n' || !fe_is_space(c2))
                            break;
                        j += k2;
                    }
                    if (j < len && c2 == '\n') {
                        end = next = i;
                        break;
                    }
                }
            } else {
                if (prev_space && i > start) {
                    /* was the word before that space ended by a clause mark? */
                    size_t pk = fe_utf8_prevlen(t, last_ws);
                    uint32_t pc;
                    fe_utf8_next(t + last_ws - pk, pk, &pc);
                    if (pc == ',' || pc == ';' || pc == ':' || fe_is_dash(pc))
                        last_clause = last_ws;
                }
                prev_space = 0;
            }
            i += k;
        }
        it->pos = next;

        /* trim trailing white space */
        while (end > start) {
            size_t k = fe_utf8_prevlen(t, end);
            fe_utf8_next(t + end - k, k, &cp);
            if (!fe_is_space(cp))
                break;
            end -= k;
        }
        if (end > start && fe_has_content(t + start, end - start)) {
            *offset = start;
            *length = end - start;
            return 1;
        }
        if (next <= start) /* cannot happen, but never loop forever */
            it->pos = start + 1;
    }
}
