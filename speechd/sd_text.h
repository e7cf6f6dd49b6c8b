/*
 * speechd/sd_text.h — the text side of the Speech Dispatcher module: what Speech
 * Dispatcher sends (SSML for SPEAK; a character, a key name or a sound icon name for
 * CHAR, KEY, SOUND_ICON) made into the SSML document handed to tts_synthesize, and the
 * fallbacks for a document the engine refuses.
 *
 * Every function returns a new NUL-terminated string (or array) the caller frees, or
 * NULL when memory ran out. Input is UTF-8; invalid bytes are never copied into a
 * document (they become U+FFFD), so what comes out is always valid UTF-8.
 */
#ifndef TTS_SPEECHD_SD_TEXT_H
#define TTS_SPEECHD_SD_TEXT_H

#include <stddef.h>

/* XML-escapes s[0..n) (& < > " ') for text content or an attribute value. */
char *sd_text_escape(const char *s, size_t n);

/* 1 when s is SSML: it begins, after white space, with "<speak" or "<?xml" (as the
 * engine's own test, tts_options.ssml = 0). */
int sd_text_is_ssml(const char *s);

/* The SPEAK text as an SSML document: s itself when it is SSML, else s escaped inside
 * <speak>. In the document's text content (never inside markup or attribute values),
 * "[[" becomes "[ [": the engine reads "[[...]]" as phoneme input, which a screen reader
 * never means (code, wiki links and shell tests are full of "[["). */
char *sd_text_speak(const char *s);

/* A CHAR message (one character, or a word the server put in its place, or "space") as
 * an SSML document that spells it; cap_spell: an upper-case letter is said "capital X". */
char *sd_text_char(const char *s, int cap_spell);

/* A KEY message ("a", "shift_a", "control_alt_delete", "kp-enter", "double-quote", ...)
 * as an SSML document: the parts joined by '_' said one after another, single
 * characters spelled. */
char *sd_text_key(const char *s);

/* A sound icon's name, said as words ("message-new" -> "message new"). */
char *sd_text_icon(const char *name);

/* The fallback reading of a document: its text (entities resolved, CDATA kept, every
 * element dropped; a space for a dropped <p>, <s>, <break> or <br> so words do not run
 * together) and its <mark name="..."/>s, in order. */
typedef struct {
    char *text; /* a run of text, "" for a mark */
    char *mark; /* the mark's name, or NULL for a text run */
} sd_piece;

/* Splits ssml into pieces (*n of them); never fails on malformed input: what cannot be
 * read as markup is text. NULL (and *n 0) when memory ran out. */
sd_piece *sd_text_pieces(const char *ssml, size_t *n);
void sd_text_pieces_free(sd_piece *p, size_t n);

/* The pieces as a document: <speak>, the text escaped ("[[" defused), and, when
 * with_marks, each mark as <mark name="..."/>. pieces [from, to) only. */
char *sd_text_join(const sd_piece *p, size_t from, size_t to, int with_marks);

/* A mark's name made safe for one protocol line: CR and LF become spaces. In place. */
void sd_text_line_safe(char *s);

#endif
