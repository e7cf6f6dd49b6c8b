/*
 * frontend — UTF-8 text → sentences → normalized words → eSpeak NG IPA → symbol ids.
 *
 *     text ──tts_sentences_next──▶ sentence (byte span of the text)
 *          ──tts_frontend_phonemize──▶ IPA string + ids (BOS … EOS) + per-id word offsets
 *
 * Normalization (numbers, ordinals, currency, times, dates, abbreviations, units, URLs,
 * e-mail addresses, Roman numerals) happens in this module's own C code before eSpeak NG
 * sees the words; eSpeak NG only turns plain words into phonemes.
 *
 * Symbols: one Unicode codepoint per symbol. Ids 0..3 are pad "_", BOS "^", EOS "$" and the
 * word boundary " "; then the pause tokens "," "." "?" "!" and ";" (clause break: ; : — –
 * … brackets); then every IPA codepoint eSpeak NG en-us emits (stress marks ˈ ˌ and the
 * length mark ː are symbols of their own, diphthongs and affricates are sequences). A model
 * file stores the table it was trained with (tts_symbols_serialize) and inference maps with
 * that table (tts_frontend_set_symbols): the model's table is the authority. Codepoints a
 * table does not know are dropped, never an error.
 *
 * Thread safety: a tts_frontend is used by one thread at a time; different frontends may be
 * used from different threads at once. eSpeak NG keeps global state, so it is initialized
 * once (pthread_once) and every call into it is made under one process-wide mutex. The
 * sentence iterator and the symbol-table functions touch no global state.
 *
 * Nothing here prints, except tts_frontend_format, which writes to the FILE* it is given.
 */
#ifndef TTS_FRONTEND_H
#define TTS_FRONTEND_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

/* ---------------------------------------------------------------- symbol table ---- */

enum {
    TTS_SYM_PAD = 0,   /* "_" */
    TTS_SYM_BOS = 1,   /* "^" */
    TTS_SYM_EOS = 2,   /* "$" */
    TTS_SYM_SPACE = 3  /* " "  word boundary */
};

/* The built-in table (what tts-train stores in a new model). Fixed and ordered. */
int tts_symbols_count(void);
/* Name of built-in symbol id (a NUL-terminated single codepoint), NULL if out of range. */
const char *tts_symbol_name(int id);
/* Writes the built-in table as its names joined by "\n" (no trailing newline) into buf,
 * NUL-terminated when cap > 0, like snprintf; returns the full length without the NUL. */
size_t tts_symbols_serialize(char *buf, size_t cap);

/* A symbol table read from a serialized string (e.g. the one stored in a model file). */
typedef struct tts_symtab tts_symtab;

/* Parses names joined by "\n" (one trailing "\n" allowed). Every name must be exactly one
 * valid UTF-8 codepoint (not a control character), names must be unique, and "_", "^",
 * "$" and " " must be present (anywhere). At most 4096 symbols. TTS_E_FORMAT otherwise. */
int tts_symtab_parse(tts_symtab **out, const char *s, size_t len, tts_err *err);
/* The built-in table as a tts_symtab. */
int tts_symtab_builtin(tts_symtab **out, tts_err *err);
void tts_symtab_free(tts_symtab *t);
int tts_symtab_count(const tts_symtab *t);
const char *tts_symtab_name(const tts_symtab *t, int id);      /* NULL if out of range */
int tts_symtab_id(const tts_symtab *t, uint32_t codepoint);     /* -1 if unknown */
int tts_symtab_special(const tts_symtab *t, int which);         /* which: TTS_SYM_* → id */
/* 1 when symbol id is a mark that modifies the symbol before it (stress, length, a
 * diacritic: U+02B0-02FF, U+0300-036F), else 0 (also when out of range). */
int tts_symtab_is_mark(const tts_symtab *t, int id);
/* Fills passable[0 .. tts_symtab_count(t)) for the acoustic model's inference window
 * (t2m_infer_opts.passable): 1 for the marks and the word boundary, which carry no sound
 * of their own and which the attention may pass over within one decoder step. */
void tts_symtab_passable(const tts_symtab *t, unsigned char *passable);
size_t tts_symtab_serialize(const tts_symtab *t, char *buf, size_t cap);

/* ------------------------------------------------------------- sentence splitting -- */

/* Longest sentence handed out: a longer run without sentence punctuation is split at a
 * clause mark (, ; : —) or a space, or, for one giant word, at a codepoint boundary. */
#define TTS_SENTENCE_MAX_BYTES 400

typedef struct {
    const char *text;
    size_t len;
    size_t pos;
} tts_sentence_iter;

/* Checks that text[0..len) is valid UTF-8 (TTS_E_INVALID naming the byte offset if not)
 * and starts the iteration. The iterator keeps a pointer to text, copies nothing. */
int tts_sentences_begin(tts_sentence_iter *it, const char *text, size_t len, tts_err *err);
/* Gives the next sentence as a byte span of the text (trimmed of white space, never longer
 * than TTS_SENTENCE_MAX_BYTES); returns 1, or 0 when there are no more. Spans holding only
 * white space, control characters or punctuation are skipped, so empty or white-space-only
 * text yields no sentence at all. Control bytes (and NUL) count as white space. */
int tts_sentences_next(tts_sentence_iter *it, size_t *offset, size_t *length);

/* ------------------------------------------------------------------- phonemizing --- */

typedef struct tts_frontend tts_frontend;

/* Opens a frontend for an eSpeak NG voice (NULL = "en-us"). eSpeak NG reads its data from
 * its default place (ESPEAK_DATA_PATH overrides it); TTS_E_FRONTEND if that or the voice
 * is missing. The frontend maps with the built-in symbol table until told otherwise. */
int tts_frontend_open(tts_frontend **out, const char *voice, tts_err *err);
void tts_frontend_close(tts_frontend *fe);

/* Makes the frontend map with the table serialized in s[0..len) (a model's table). */
int tts_frontend_set_symbols(tts_frontend *fe, const char *s, size_t len, tts_err *err);
/* The table the frontend maps with (owned by the frontend). */
const tts_symtab *tts_frontend_symbols(const tts_frontend *fe);

/* One source word that produced phonemes: a byte span of the phonemized input and the
 * ids that speak it (including the spaces and pauses inside it, e.g. for "2024-03-03"). */
typedef struct {
    size_t offset, length;   /* in the input given to tts_frontend_phonemize */
    size_t first_id, n_ids;  /* ids[first_id .. first_id + n_ids) */
} tts_word;

typedef struct {
    char *ipa;          /* NUL-terminated UTF-8: words separated by " ", pauses kept, e.g.
                           "həlˈoʊ, wˈɜːld." — exactly the symbols of ids[1..n_ids-1) */
    size_t ipa_len;     /* bytes, without the NUL */
    int32_t *ids;       /* BOS, symbols…, EOS */
    size_t *offsets;    /* per id: byte offset in the input of the word it belongs to.
                           BOS: 0; EOS: the input length; a word boundary: the next word;
                           a pause token: the punctuation that made it. */
    size_t n_ids;
    tts_word *words;
    size_t n_words;
} tts_phonemes;

/* Phonemizes text[0..len) (normally one sentence from tts_sentences_next; longer text
 * works too, its memory grows with it). Invalid UTF-8 → TTS_E_INVALID naming the byte
 * offset. Text without words gives just BOS, EOS. *out is overwritten (free an earlier
 * result first); on failure it is left empty. */
int tts_frontend_phonemize(tts_frontend *fe, const char *text, size_t len,
                           tts_phonemes *out, tts_err *err);
/* Frees what tts_frontend_phonemize allocated and zeroes *p. NULL is fine. */
void tts_phonemes_free(tts_phonemes *p);

/* The normalized text the frontend hands to eSpeak NG for text[0..len), pauses kept
 * (e.g. "Doctor Smith paid three dollars and fifty cents."), as a malloc'd NUL-terminated
 * string in *out (free() it). Invalid UTF-8 → TTS_E_INVALID. For tests and diagnosis. */
int tts_frontend_normalize(const char *text, size_t len, char **out, tts_err *err);

/* For each sentence of text: its span and text, its IPA and its ids, as human-readable
 * lines on out (what `tts --phonemes "text"` shows). TTS_E_IO if writing fails. */
int tts_frontend_format(tts_frontend *fe, const char *text, size_t len, FILE *out,
                        tts_err *err);

/* ------------------------------------------------------ phoneme input, lexicon ----- */

/* Phoneme input: "[[həlˈoʊ]]" inside text is spoken as given. Between the double brackets
 * go the voice's symbols, as `tts --phonemes` prints them in its "ipa:" lines (IPA, with
 * stress ˈ ˌ and length ː as symbols of their own, pauses , . ? ! ;); white space is a word
 * boundary. A bracketed stretch is one word for events and is never split across
 * sentences. At most TTS_PHONEME_INPUT_MAX bytes between the brackets. */
#define TTS_PHONEME_INPUT_MAX 256

/* Checks every "[[ … ]]" of text[0..len) (valid UTF-8) against the frontend's table:
 * TTS_E_INVALID when one is not closed (within TTS_PHONEME_INPUT_MAX bytes), is empty or
 * holds a codepoint that is not a symbol; *where (if not NULL) receives the byte offset of
 * the fault and the message does not name it (the caller knows how to: byte offset, SSML
 * line and column). tts_frontend_phonemize and tts_frontend_format check their input
 * themselves. */
int tts_frontend_check_phonemes(const tts_frontend *fe, const char *text, size_t len,
                                size_t *where, tts_err *err);

/* A user lexicon: UTF-8 lines "word<TAB or spaces>phonemes"; '#' starts a comment line;
 * blank lines are skipped. word has no white space and is matched case-insensitively
 * (ASCII and Latin-1 letters) against each word of the text as written (also without an
 * abbreviation's final '.') and, when the frontend rewrote it into one word ("Dr." →
 * "Doctor"), against that word; phonemes are written like phoneme input (see above). A
 * later line for the same word wins. The lexicon is consulted before eSpeak NG. */
typedef struct tts_lexicon tts_lexicon;

/* Reads the lexicon file at path, checking its phonemes against tab. Errors
 * (TTS_E_INVALID, or TTS_E_NOMEM) name the file and, for bad content, the line:
 * "lexicon 'PATH' line 3: unknown phoneme symbol 'Q' (U+0051)". */
int tts_lexicon_load(tts_lexicon **out, const char *path, const tts_symtab *tab,
                     tts_err *err);
/* The same from memory; name is what errors call it. */
int tts_lexicon_parse(tts_lexicon **out, const char *text, size_t len, const char *name,
                      const tts_symtab *tab, tts_err *err);
void tts_lexicon_free(tts_lexicon *lex);
size_t tts_lexicon_count(const tts_lexicon *lex);
/* The phonemes for word[0..n) (NUL-terminated, owned by lex), or NULL. */
const char *tts_lexicon_lookup(const tts_lexicon *lex, const char *word, size_t n);
/* The frontend consults lex (which it now owns; NULL removes the lexicon). */
void tts_frontend_set_lexicon(tts_frontend *fe, tts_lexicon *lex);

#endif
