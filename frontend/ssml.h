/*
 * ssml — a document to speak, as a flat list of segments, from SSML or from plain text.
 *
 *     SSML source ──tts_ssml_parse──▶ tts_doc: composed text + source map + segments
 *     plain text  ──tts_doc_plain───▶ tts_doc: the text itself, one segment
 *
 * The composed text is what the frontend reads: the document's character data with its
 * entities decoded, <say-as> content rewritten as words ("<say-as interpret-as="ordinal">
 * 3</say-as>" → "third"), <sub> replaced by its alias and <phoneme> written as phoneme
 * input ("[[ph]]"). Markup is left out. The source map takes any byte span of the composed
 * text back to the bytes of the source document it came from, so that events can name the
 * text the caller gave.
 *
 * Segments come in document order: TEXT (a span of the composed text, spoken with one
 * rate and volume; the frontend splits it into sentences) and BREAK (silence). A new TEXT
 * segment starts wherever <prosody> changes the rate or volume, at <s>, <p> and their
 * ends, and after a <break>. sentence_end marks a TEXT segment that a sentence or
 * paragraph boundary follows (</s>, </p>, <s>, <p>, the end of the document).
 *
 * The parser is iterative (an explicit element stack, TTS_SSML_MAX_DEPTH deep at most), so
 * hostile nesting cannot exhaust the C stack. Every error names the place in the source as
 * "SSML line L, column C: …" (1-based; the column counts codepoints, a tab is one).
 *
 * The subset:
 *   <speak>                      the root (version, xmlns…, xml:lang are accepted)
 *   <break time="300ms|1.5s" strength="none|x-weak|weak|medium|strong|x-strong"/>
 *                                silence: time wins over strength; default medium (400 ms);
 *                                at most TTS_SSML_MAX_BREAK_MS
 *   <prosody rate=… volume=…>    rate: x-slow .. x-fast, default, a number (1.2 = 20 %
 *                                faster) or a percentage (80%, +10%, -10%), relative to
 *                                the enclosing rate; 0.25 .. 4 times the engine's rate.
 *                                volume: silent, x-soft .. x-loud, default, ±N dB or a
 *                                percentage, relative to the enclosing volume; at most
 *                                +12 dB (4×). pitch: x-low (-6 st), low (-3), medium,
 *                                default, high (+3), x-high (+6), a change in semitones
 *                                (+2st, -1.5st) or a percentage of the frequency (+10%,
 *                                -20%), relative to the enclosing pitch, -12 .. +12 st in
 *                                all. range is accepted and ignored.
 *   <say-as interpret-as="characters|spell-out|cardinal|number|ordinal|date|telephone"
 *           format=…>           date formats: mdy (default), dmy, ymd, md, dm, ym, my, y
 *   <sub alias="…">              speaks the alias instead of the content
 *   <phoneme alphabet="ipa" ph="…">  speaks ph (IPA with the voice's symbols, as
 *                                `tts --phonemes` prints them) instead of the content
 *   <s>, <p>                     sentence and paragraph
 *   <mark name="…"/>             a tts_mark (doc->marks): neither splits nor changes the text
 *   <emphasis level="strong|moderate|reduced|none">  a prosody change: strong 0.85 x rate,
 *                                +2 dB, +2 st; moderate (default) 0.92 x, +1 dB, +1 st;
 *                                reduced 1.08 x, -1 dB, -1 st; none nothing
 *   <voice …>, <lang …>, and elements not listed here: their content, as if the tags were
 *                                not there (any attributes); the first element not listed
 *                                is named in doc->warning
 *   the five XML entities, &#NN; and &#xHH;, comments, CDATA sections, <?xml …?>
 * say-as, sub and phoneme hold text only; break and mark nothing. DOCTYPE and unknown
 * attributes of the elements listed are errors.
 */
#ifndef TTS_FRONTEND_SSML_H
#define TTS_FRONTEND_SSML_H

#include <stddef.h>

#include "frontend/frontend.h"

#define TTS_SSML_MAX_DEPTH 64          /* nested elements, <speak> included */
#define TTS_SSML_MAX_BREAK_MS 10000u   /* longest <break> */

enum { TTS_SEG_TEXT = 0, TTS_SEG_BREAK = 1 };

typedef struct {
    int kind;                /* TTS_SEG_TEXT or TTS_SEG_BREAK */
    size_t off, len;         /* TEXT: span of the composed text */
    float rate, volume;      /* TEXT: factors on the engine's rate and volume (1 = as set) */
    int sentence_end;        /* TEXT: a sentence or paragraph boundary follows */
    unsigned ms;             /* BREAK: milliseconds of silence */
    size_t src_off, src_len; /* BREAK: the <break> tag in the source */
    float pitch;             /* TEXT: semitones added to the engine's pitch (a voice with a
                              * pitch predictor follows it, another ignores it) */
} tts_seg;

/* One run of the source map: composed bytes [text, next run's text or the end). */
typedef struct {
    size_t text;             /* first composed byte of the run */
    size_t src, src_len;     /* the source bytes it came from */
    int whole;               /* 0: composed byte text+k is source byte src+k;
                                1: every byte of the run stands for all of [src, src+src_len)
                                   (a decoded entity, say-as words, an alias…) */
} tts_srcmap;

/* An SSML <mark name="…"/>: its tag's span in the source, the composed text's length
 * where it stands (the words before it end there), and its name (entities decoded). */
typedef struct {
    size_t src_off, src_len;
    size_t text;
    const char *name;
    size_t name_at;          /* the name's offset in doc->mark_names */
} tts_mark;

typedef struct {
    const char *text;        /* composed text (NUL-terminated), len bytes */
    size_t len;
    char *owned;             /* text, when the document owns it */
    tts_srcmap *map;
    size_t n_map;
    tts_seg *segs;
    size_t n_segs;
    const char *src;         /* the source (SSML or plain text; not owned) */
    size_t src_len;
    tts_mark *marks;         /* in document order */
    size_t n_marks;
    char *mark_names;        /* owns the marks' names */
    char warning[256];       /* "" or what was read leniently: an element this subset does
                              * not know, spoken as its content ("SSML line L, column C: …") */
} tts_doc;

/* Parses SSML src[0..len) into *doc (overwritten; free it with tts_doc_free, also after a
 * failure). tab, when not NULL, is the symbol table <phoneme ph> is checked against.
 * TTS_E_INVALID with "SSML line L, column C: …" for malformed input, TTS_E_NOMEM. */
int tts_ssml_parse(tts_doc *doc, const char *src, size_t len, const tts_symtab *tab,
                   tts_err *err);

/* A document of plain text: text[0..len) itself (not copied; it must outlive doc) as one
 * TEXT segment at rate and volume 1, followed by a sentence boundary. */
int tts_doc_plain(tts_doc *doc, const char *text, size_t len, tts_err *err);

void tts_doc_free(tts_doc *doc); /* NULL is fine; zeroes *doc */

/* The source span that composed bytes [a, b) came from (a <= b <= doc->len). */
void tts_doc_source_span(const tts_doc *doc, size_t a, size_t b, size_t *off, size_t *len);

/* Whether text looks like SSML: after white space and a byte-order mark it begins with
 * "<speak" or "<?xml". */
int tts_ssml_detect(const char *text, size_t len);

/* 1-based line and column (in codepoints) of byte off of src[0..len). */
void tts_text_line_col(const char *src, size_t len, size_t off, size_t *line, size_t *col);

/* tts_frontend_check_phonemes over every TEXT segment of doc, the error naming the place
 * in the source: "SSML line L, column C: …" when ssml, else "… at byte offset N". */
int tts_doc_check_phonemes(const tts_frontend *fe, const tts_doc *doc, int ssml, tts_err *err);

/* For `tts --phonemes`: each segment of doc, with the sentences of TEXT segments, their
 * source bytes, IPA and ids (like tts_frontend_format), and the breaks. */
int tts_doc_format(tts_frontend *fe, const tts_doc *doc, FILE *out, tts_err *err);

#endif
