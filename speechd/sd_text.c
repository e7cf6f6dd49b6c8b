/*
 * speechd/sd_text.c — see sd_text.h.
 */
#include "sd_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- a growing string ------------------------------------------------------------------ */

typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *t = realloc(b->s, cap);
        if (!t) {
            b->oom = 1;
            return;
        }
        b->s = t;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_char(sbuf *b, char c) { sb_put(b, &c, 1); }

/* the string, or NULL (freed) when memory ran out; "" for an empty one */
static char *sb_take(sbuf *b)
{
    if (!b->oom && !b->s)
        sb_put(b, "", 0);
    if (b->oom) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

/* ---- UTF-8 ----------------------------------------------------------------------------- */

/* length of the valid UTF-8 sequence at s (at most avail bytes), 0 when it is not one */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    if (avail == 0)
        return 0;
    unsigned c = s[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80)
        return 1;
    else if ((c & 0xE0) == 0xC0)
        len = 2, min = 0x80, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        len = 3, min = 0x800, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (len > avail)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static void sb_codepoint(sbuf *b, uint32_t cp)
{
    char u[4];
    if (cp < 0x80) {
        u[0] = (char)cp;
        sb_put(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        sb_put(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        sb_put(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        sb_put(b, u, 4);
    }
}

#define REPLACEMENT 0xFFFD

/* s[0..n) as it may stand in a document: valid UTF-8 (a bad byte becomes U+FFFD), C0
 * controls other than tab, LF and CR as spaces (XML forbids them); escaped (& < > " ')
 * when esc; "[[" in it broken up ("[ [") when defuse */
static void sb_text(sbuf *b, const char *s, size_t n, int esc, int defuse)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);
        if (k == 0) {
            sb_codepoint(b, REPLACEMENT);
            i++;
            continue;
        }
        if (k > 1) {
            sb_put(b, s + i, k);
            i += k;
            continue;
        }
        char c = s[i++];
        if ((unsigned char)c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            c = ' ';
        if (c == 0x7F)
            c = ' ';
        if (esc && c == '&')
            sb_str(b, "&amp;");
        else if (esc && c == '<')
            sb_str(b, "&lt;");
        else if (esc && c == '>')
            sb_str(b, "&gt;");
        else if (esc && c == '"')
            sb_str(b, "&quot;");
        else if (esc && c == '\'')
            sb_str(b, "&apos;");
        else if (defuse && c == '[' && i < n && s[i] == '[')
            sb_str(b, "[ ");
        else
            sb_char(b, c);
    }
}

char *sd_text_escape(const char *s, size_t n)
{
    sbuf b = {0};
    sb_text(&b, s, n, 1, 0);
    return sb_take(&b);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int sd_text_is_ssml(const char *s)
{
    while (is_space(*s))
        s++;
    return !strncmp(s, "<speak", 6) || !strncmp(s, "<?xml", 5);
}

/* ---- markup ---------------------------------------------------------------------------- */

/* The end (one past its last byte) of the markup that starts at s[i] == '<': a comment,
 * CDATA section, processing instruction or declaration, or a tag (quoted attribute values
 * may hold '>'); 0 when it is not closed. *kind: 'c' comment, 'd' CDATA, 'p' processing
 * instruction or declaration, 't' tag. */
static size_t markup_end(const char *s, size_t n, size_t i, char *kind)
{
    const char *p = s + i, *e = s + n, *q;
    if (e - p >= 4 && !memcmp(p, "<!--", 4)) {
        *kind = 'c';
        for (q = p + 4; q + 3 <= e; q++)
            if (!memcmp(q, "-->", 3))
                return (size_t)(q + 3 - s);
        return 0;
    }
    if (e - p >= 9 && !memcmp(p, "<![CDATA[", 9)) {
        *kind = 'd';
        for (q = p + 9; q + 3 <= e; q++)
            if (!memcmp(q, "]]>", 3))
                return (size_t)(q + 3 - s);
        return 0;
    }
    if (e - p >= 2 && (p[1] == '?' || p[1] == '!')) {
        *kind = 'p';
        q = memchr(p, '>', (size_t)(e - p));
        return q ? (size_t)(q + 1 - s) : 0;
    }
    *kind = 't';
    char quote = 0;
    for (q = p + 1; q < e; q++) {
        if (quote) {
            if (*q == quote)
                quote = 0;
        } else if (*q == '"' || *q == '\'') {
            quote = *q;
        } else if (*q == '>') {
            return (size_t)(q + 1 - s);
        } else if (*q == '<') {
            return 0; /* "a < b": not a tag */
        }
    }
    return 0;
}

char *sd_text_speak(const char *s)
{
    sbuf b = {0};
    size_t n = strlen(s);
    if (!sd_text_is_ssml(s)) {
        sb_str(&b, "<speak>");
        sb_text(&b, s, n, 1, 1);
        sb_str(&b, "</speak>");
        return sb_take(&b);
    }
    size_t i = 0;
    while (i < n) {
        const char *lt = memchr(s + i, '<', n - i);
        size_t j = lt ? (size_t)(lt - s) : n;
        sb_text(&b, s + i, j - i, 0, 1); /* text content: as it is, "[[" defused */
        if (j == n)
            break;
        char kind;
        size_t end = markup_end(s, n, j, &kind);
        if (!end) { /* malformed: left for the engine to report, the fallback to read */
            sb_text(&b, s + j, n - j, 0, 0);
            break;
        }
        if (kind == 'd') { /* CDATA: its content is text */
            sb_str(&b, "<![CDATA[");
            sb_text(&b, s + j + 9, end - 3 - (j + 9), 0, 1);
            sb_str(&b, "]]>");
        } else {
            sb_text(&b, s + j, end - j, 0, 0);
        }
        i = end;
    }
    return sb_take(&b);
}

/* ---- CHAR, KEY, SOUND_ICON ------------------------------------------------------------- */

/* 1 when s is exactly one UTF-8 character */
static int one_char(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && utf8_seq((const unsigned char *)s, n) == n;
}

static void sb_spell(sbuf *b, const char *c, size_t n)
{
    sb_str(b, "<say-as interpret-as=\"characters\">");
    sb_text(b, c, n, 1, 0);
    sb_str(b, "</say-as>");
}

/* a character as words when spelling it says nothing: white space and ASCII punctuation
 * (the names Speech Dispatcher's symbols.dic gives them) */
static const char *char_name(const char *c)
{
    static const char *const punct[] = {
        "!", "bang", "\"", "quote", "#", "number", "$", "dollar", "%", "percent",
        "&", "and", "'", "tick", "(", "left paren", ")", "right paren", "*", "star",
        "+", "plus", ",", "comma", "-", "dash", ".", "dot", "/", "slash", ":", "colon",
        ";", "semicolon", "<", "less", "=", "equals", ">", "greater", "?", "question",
        "@", "at", "[", "left bracket", "\\", "backslash", "]", "right bracket",
        "^", "caret", "_", "underline", "`", "grave", "{", "left brace", "|", "bar",
        "}", "right brace", "~", "tilde", " ", "space", "\t", "tab", "\n", "new line",
        "\r", "carriage return", "\xC2\xA0", "no-break space"};
    for (size_t i = 0; i < sizeof punct / sizeof punct[0]; i += 2)
        if (!strcmp(c, punct[i]))
            return punct[i + 1];
    return NULL;
}

char *sd_text_char(const char *s, int cap_spell)
{
    if (sd_text_is_ssml(s))
        return sd_text_speak(s);
    sbuf b = {0};
    sb_str(&b, "<speak>");
    const char *w = !strcmp(s, "space") ? "space" : char_name(s);
    if (w) {
        sb_str(&b, w);
    } else if (one_char(s)) {
        if (cap_spell && s[0] >= 'A' && s[0] <= 'Z')
            sb_str(&b, "capital ");
        sb_spell(&b, s, strlen(s));
    } else {
        sb_text(&b, s, strlen(s), 1, 1);
    }
    sb_str(&b, "</speak>");
    return sb_take(&b);
}

/* one part of a key name: a single character spelled, else words ('-' a space) */
static void key_part(sbuf *b, const char *p, size_t n)
{
    char one[8];
    if (n < sizeof one) {
        memcpy(one, p, n);
        one[n] = 0;
        const char *w = char_name(one);
        if (w) {
            sb_str(b, w);
            return;
        }
        if (one_char(one)) {
            sb_spell(b, p, n);
            return;
        }
    }
    if (n > 3 && !strncasecmp(p, "kp-", 3)) {
        sb_str(b, "keypad ");
        key_part(b, p + 3, n - 3);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '-')
            sb_char(b, ' ');
        else
            sb_text(b, p + i, 1, 1, 1);
    }
}

char *sd_text_key(const char *s)
{
    if (sd_text_is_ssml(s))
        return sd_text_speak(s);
    if (one_char(s))
        return sd_text_char(s, 0);
    sbuf b = {0};
    sb_str(&b, "<speak>");
    size_t n = strlen(s), i = 0;
    int first = 1;
    while (i <= n) {
        const char *us = memchr(s + i, '_', n - i);
        size_t j = us ? (size_t)(us - s) : n;
        if (j > i) {
            if (!first)
                sb_char(&b, ' ');
            key_part(&b, s + i, j - i);
            first = 0;
        }
        i = j + 1;
    }
    sb_str(&b, "</speak>");
    return sb_take(&b);
}

char *sd_text_icon(const char *name)
{
    sbuf b = {0};
    sb_str(&b, "<speak>");
    for (const char *p = name; *p; p++) {
        if (*p == '-' || *p == '_')
            sb_char(&b, ' ');
        else
            sb_text(&b, p, 1, 1, 1);
    }
    sb_str(&b, "</speak>");
    return sb_take(&b);
}

/* ---- the fallback reading -------------------------------------------------------------- */

/* resolves the entity at s[0] == '&' (of at most n bytes) into b; returns the bytes it
 * took, 0 when it is not one (then '&' is text) */
static size_t entity(sbuf *b, const char *s, size_t n)
{
    const char *semi = memchr(s, ';', n < 16 ? n : 16);
    if (!semi)
        return 0;
    size_t len = (size_t)(semi - s) + 1;
    static const struct {
        const char *name;
        const char *text;
    } named[] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&apos;", "'"}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (len == strlen(named[i].name) && !memcmp(s, named[i].name, len)) {
            sb_str(b, named[i].text);
            return len;
        }
    if (len >= 4 && s[1] == '#') {
        int hex = s[2] == 'x' || s[2] == 'X';
        const char *d = s + (hex ? 3 : 2);
        if (d == semi)
            return 0;
        uint32_t cp = 0;
        for (; d < semi; d++) {
            int v = *d >= '0' && *d <= '9'             ? *d - '0'
                    : hex && *d >= 'a' && *d <= 'f'    ? *d - 'a' + 10
                    : hex && *d >= 'A' && *d <= 'F'    ? *d - 'A' + 10
                                                       : -1;
            if (v < 0)
                return 0;
            cp = cp * (hex ? 16 : 10) + (uint32_t)v;
            if (cp > 0x10FFFF)
                return 0;
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
            cp = REPLACEMENT;
        sb_codepoint(b, cp);
        return len;
    }
    return 0;
}

/* text with its entities resolved */
static void sb_decode(sbuf *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t j = amp ? (size_t)(amp - s) : n;
        sb_text(b, s + i, j - i, 0, 0);
        if (j == n)
            break;
        size_t k = entity(b, s + j, n - j);
        if (!k) {
            sb_char(b, '&');
            k = 1;
        }
        i = j + k;
    }
}

typedef struct {
    sd_piece *p;
    size_t n, cap;
    sbuf text;
    int oom;
} pieces;

static void add_piece(pieces *ps, char *text, char *mark)
{
    if (!ps->oom && ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 8;
        sd_piece *t = realloc(ps->p, cap * sizeof *t);
        if (t) {
            ps->p = t;
            ps->cap = cap;
        } else {
            ps->oom = 1;
        }
    }
    if (ps->oom || !text) {
        free(text);
        free(mark);
        ps->oom = 1;
        return;
    }
    ps->p[ps->n++] = (sd_piece){text, mark};
}

static void flush_text(pieces *ps)
{
    if (ps->text.oom)
        ps->oom = 1;
    if (ps->text.n == 0)
        return;
    char *t = sb_take(&ps->text);
    ps->text = (sbuf){0};
    add_piece(ps, t, NULL);
}

/* the tag s[0..n) ("<name attr='v' ...>"): its name (lower case, at most 15 bytes) into
 * name, whether it closes (</x>), and its name= attribute's raw value */
static void parse_tag(const char *s, size_t n, char name[16], int *closing, const char **val,
                      size_t *val_n)
{
    size_t i = 1, k = 0;
    *closing = 0;
    *val = NULL;
    *val_n = 0;
    if (i < n && s[i] == '/')
        *closing = 1, i++;
    while (i < n && !is_space(s[i]) && s[i] != '/' && s[i] != '>') {
        if (k < 15) {
            char c = s[i];
            name[k++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        i++;
    }
    name[k] = 0;
    while (i < n) {
        while (i < n && (is_space(s[i]) || s[i] == '/'))
            i++;
        size_t a = i;
        while (i < n && !is_space(s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/')
            i++;
        size_t an = i - a;
        while (i < n && is_space(s[i]))
            i++;
        if (i >= n || s[i] != '=') {
            if (an == 0)
                i++;
            continue;
        }
        i++;
        while (i < n && is_space(s[i]))
            i++;
        size_t v, vn;
        if (i < n && (s[i] == '"' || s[i] == '\'')) {
            char q = s[i++];
            v = i;
            while (i < n && s[i] != q)
                i++;
            vn = i - v;
            i++;
        } else {
            v = i;
            while (i < n && !is_space(s[i]) && s[i] != '>')
                i++;
            vn = i - v;
        }
        if (an == 4 && !strncasecmp(s + a, "name", 4)) {
            *val = s + v;
            *val_n = vn;
        }
    }
}

sd_piece *sd_text_pieces(const char *s, size_t *n_out)
{
    pieces ps = {0};
    size_t n = strlen(s), i = 0;
    *n_out = 0;
    while (i < n) {
        const char *lt = memchr(s + i, '<', n - i);
        size_t j = lt ? (size_t)(lt - s) : n;
        sb_decode(&ps.text, s + i, j - i);
        if (j == n)
            break;
        char kind;
        size_t end = markup_end(s, n, j, &kind);
        if (!end) { /* not markup: the '<' is text */
            sb_char(&ps.text, '<');
            i = j + 1;
            continue;
        }
        if (kind == 'd') {
            sb_text(&ps.text, s + j + 9, end - 3 - (j + 9), 0, 0);
        } else if (kind == 't') {
            char name[16];
            int closing;
            const char *v;
            size_t vn;
            parse_tag(s + j, end - j, name, &closing, &v, &vn);
            if (!closing && !strcmp(name, "mark") && v) {
                sbuf mb = {0};
                sb_decode(&mb, v, vn);
                char *m = sb_take(&mb);
                flush_text(&ps);
                if (m) {
                    sd_text_line_safe(m);
                    add_piece(&ps, strdup(""), m);
                } else {
                    ps.oom = 1;
                }
            } else if (!strcmp(name, "p") || !strcmp(name, "s") || !strcmp(name, "break") ||
                       !strcmp(name, "br") || !strcmp(name, "paragraph") ||
                       !strcmp(name, "sentence")) {
                sb_char(&ps.text, ' ');
            }
        }
        i = end;
    }
    flush_text(&ps);
    if (ps.oom) {
        sd_text_pieces_free(ps.p, ps.n);
        return NULL;
    }
    if (!ps.p)
        ps.p = calloc(1, sizeof *ps.p);
    *n_out = ps.n;
    return ps.p;
}

void sd_text_pieces_free(sd_piece *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) {
        free(p[i].text);
        free(p[i].mark);
    }
    free(p);
}

char *sd_text_join(const sd_piece *p, size_t from, size_t to, int with_marks)
{
    sbuf b = {0};
    sb_str(&b, "<speak>");
    for (size_t i = from; i < to; i++) {
        if (!p[i].mark) {
            sb_text(&b, p[i].text, strlen(p[i].text), 1, 1);
        } else if (with_marks) {
            sb_str(&b, "<mark name=\"");
            sb_text(&b, p[i].mark, strlen(p[i].mark), 1, 0);
            sb_str(&b, "\"/>");
        }
    }
    sb_str(&b, "</speak>");
    return sb_take(&b);
}

void sd_text_line_safe(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}
