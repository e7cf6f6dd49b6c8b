/* Shared by the frontend's source files only; not part of the stage's interface. */
#ifndef TTS_FRONTEND_INTERNAL_H
#define TTS_FRONTEND_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "frontend/frontend.h"

/* ---- growable byte string; a failed allocation sets oom and later writes are no-ops */
typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} fe_buf;

void fe_buf_init(fe_buf *b);
void fe_buf_free(fe_buf *b);
void fe_buf_putn(fe_buf *b, const char *s, size_t n);
void fe_buf_puts(fe_buf *b, const char *s);
void fe_buf_putc(fe_buf *b, char c);
void fe_buf_putcp(fe_buf *b, uint32_t cp);
/* Appends s preceded by one space unless b is empty or already ends in a space. */
void fe_buf_word(fe_buf *b, const char *s);
/* Makes sure b->p is NUL-terminated (b->n unchanged); returns 0, or -1 when out of memory. */
int fe_buf_cstr(fe_buf *b);

/* ---- UTF-8 */
/* Decodes the codepoint at s[0..n) (n >= 1): returns its length 1..4 and sets *cp, or 0
 * if the bytes there are not valid UTF-8 (overlong, surrogate, > U+10FFFF, truncated). */
size_t fe_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Returns 1 if s[0..n) is valid UTF-8, else 0 and the offset of the first bad byte. */
int fe_utf8_valid(const char *s, size_t n, size_t *bad);
/* Like fe_utf8_decode but never fails: an invalid byte reads as U+FFFD of length 1. */
size_t fe_utf8_next(const char *s, size_t n, uint32_t *cp);
/* Length of the codepoint ending just before s[i] (i > 0). */
size_t fe_utf8_prevlen(const char *s, size_t i);

/* ---- character classes */
int fe_is_space(uint32_t cp);       /* white space, control bytes, NUL, BOM, ZW space */
int fe_is_quote(uint32_t cp);       /* " ' “ ” ‘ ’ « » ‹ › „ ` */
int fe_is_open(uint32_t cp);        /* ( [ { */
int fe_is_close(uint32_t cp);       /* ) ] } */
int fe_is_dash(uint32_t cp);        /* — – ― */
int fe_is_upper(uint32_t cp);       /* A-Z and Latin-1/Latin Extended-A capitals */
int fe_is_digit(uint32_t cp);
/* Sentence text that is nothing but spaces, quotes, brackets, dashes and pause marks. */
int fe_has_content(const char *s, size_t n);

/* ---- abbreviations (normalize.c), shared with the sentence splitter */
/* Decides whether the '.' at text[dot] (which ends the word text[word..dot)) ends a
 * sentence; sentence_start is where the current sentence began. */
int fe_period_ends_sentence(const char *text, size_t len, size_t sentence_start,
                            size_t word, size_t dot);

/* ---- phoneme input and lexicon (lexicon.c) */
/* If s[i..n) begins a phoneme-input block "[[ … ]]" (closed within TTS_PHONEME_INPUT_MAX
 * bytes), returns the offset just after its "]]" and sets [*a, *b) to what is between the
 * brackets; else returns 0. */
size_t fe_phon_block(const char *s, size_t n, size_t i, size_t *a, size_t *b);
/* Checks valid UTF-8 s[0..n) as user phonemes: white space, or symbols of tab other than
 * pad, BOS and EOS. Returns 0, or 1 with *bad the offset and *cp the codepoint at fault. */
int fe_ipa_check(const tts_symtab *tab, const char *s, size_t n, size_t *bad, uint32_t *cp);
/* Appends s[0..n) to out with white-space runs as single spaces, trimmed. */
void fe_ipa_squeeze(fe_buf *out, const char *s, size_t n);

/* ---- normalizer output: words for eSpeak NG and pause marks, each with its source span */
/* FE_PHON: phonemes given by the user ("[[ … ]]", or a lexicon entry): its text is IPA */
enum { FE_WORD = 0, FE_BREAK = 1, FE_PHON = 2 };

typedef struct {
    int kind;          /* FE_WORD, FE_BREAK or FE_PHON */
    size_t text;       /* FE_WORD, FE_PHON: offset of its NUL-terminated text in the arena */
    char brk;          /* FE_BREAK: one of , . ? ! ; */
    size_t src, srclen;/* byte span in the input */
} fe_item;

typedef struct {
    fe_item *v;
    size_t n, cap;
    fe_buf arena;
    int oom;
} fe_items;

void fe_items_init(fe_items *it);
void fe_items_free(fe_items *it);
/* Normalizes valid UTF-8 s[0..n) into items. Returns 0 or TTS_E_NOMEM. */
int fe_normalize(const char *s, size_t n, fe_items *out);

/* ---- number words (numbers.c); all append to b, words separated by spaces */
void fe_say_cardinal(fe_buf *b, uint64_t v);                 /* 0 .. 999 999 999 999 999 */
void fe_say_ordinal(fe_buf *b, uint64_t v);
void fe_say_year(fe_buf *b, unsigned y);                     /* 1000..2099 style readings */
void fe_say_digits(fe_buf *b, const char *d, size_t n);      /* "one two three" */
/* Rewrites the last word of b (after the last space or hyphen) as an ordinal / plural. */
void fe_last_word_ordinal(fe_buf *b);
void fe_last_word_plural(fe_buf *b);
#define FE_CARDINAL_MAX 999999999999999ULL

/* ---- eSpeak NG (espeak.c) */
/* Initializes eSpeak NG once, takes the global lock and selects voice. On failure the
 * lock is not held. */
int fe_espeak_lock(const char *voice, tts_err *err);
void fe_espeak_unlock(void);
/* With the lock held: appends the IPA of text (NUL-terminated) to out, clause pieces and
 * words separated by single spaces; stretches eSpeak NG switches to another language for
 * (other scripts) are left out. Returns 0 or TTS_E_NOMEM. */
int fe_espeak_ipa(const char *text, const char *voice, fe_buf *out);

#endif
