/* The document walked as chunks and breaks: see engine_impl.h. */
#include "lib/engine_impl.h"

#include <string.h>

/* ---- synthesis ------------------------------------------------------------------------ */

/* A document (tts_doc: plain text or SSML) is spoken chunk by chunk: a chunk is one
 * sentence of a TEXT segment, spoken with the segment's rate and volume. Chunks are taken
 * in groups that make up one sentence for the events (a sentence can be cut into several
 * chunks by breaks and prosody changes), each group followed by the breaks after it. */



/* the acoustic model's settings for one chunk: the engine's, its SSML pitch added (within
 * the +-12 semitones the voice allows; a voice without a pitch predictor ignores it) */
t2m_infer_opts eng_chunk_infer(const tts_engine *e, const plan_item *c)
{
    t2m_infer_opts io = e->infer;
    float st = io.pitch_shift + c->pitch;
    io.pitch_shift = st < -12 ? -12 : st > 12 ? 12 : st;
    return io;
}


/* whether the chunk ends with sentence punctuation (before closing quotes and brackets) */
static int ends_with_terminal(const char *t, size_t n)
{
    while (n > 0) {
        unsigned char c = (unsigned char)t[n - 1];
        if (c == '"' || c == '\'' || c == ')' || c == ']' || c == ' ' || c == '}') {
            n--;
            continue;
        }
        if (n >= 3 && !memcmp(t + n - 3, "\xE2\x80\xA6", 3)) /* … */
            return 1;
        if (n >= 3 && (!memcmp(t + n - 3, "\xE2\x80\x9D", 3) || !memcmp(t + n - 3, "\xE2\x80\x99", 3))) {
            n -= 3; /* ” ’ */
            continue;
        }
        return c == '.' || c == '!' || c == '?';
    }
    return 0;
}

/* whether TEXT segment i has a sentence to speak (not only white space and punctuation) */
static int has_sentences(const tts_doc *d, size_t i)
{
    tts_sentence_iter it;
    size_t off, len;
    return !tts_sentences_begin(&it, d->text + d->segs[i].off, d->segs[i].len, NULL) &&
           tts_sentences_next(&it, &off, &len) > 0;
}

int eng_walker_next(walker *w, plan_item *out)
{
    const tts_doc *d = w->doc;
    for (;;) {
        if (w->in_text) {
            const tts_seg *g = &d->segs[w->seg];
            size_t off, len;
            if (tts_sentences_next(&w->it, &off, &len) > 0) {
                plan_item c = {0, g->off + off, len, g->rate, g->volume, 1, 0, g->pitch, 0};
                if (w->have_pending) { /* not the last of its segment: a sentence ended */
                    *out = w->pending;
                    w->pending = c;
                    return 1;
                }
                w->pending = c;
                w->have_pending = 1;
                continue;
            }
            w->in_text = 0;
            w->seg++;
            if (w->have_pending) {
                w->have_pending = 0;
                *out = w->pending;
                out->ends = g->sentence_end || ends_with_terminal(d->text + out->off, out->len);
                /* TEXT segments after it with nothing to speak (punctuation in a prosody
                 * of its own): the sentence end they carry is this chunk's */
                while (!out->ends && w->seg < d->n_segs &&
                       d->segs[w->seg].kind == TTS_SEG_TEXT && !has_sentences(d, w->seg))
                    out->ends = d->segs[w->seg++].sentence_end;
                return 1;
            }
            continue;
        }
        if (w->seg >= d->n_segs)
            return 0;
        const tts_seg *g = &d->segs[w->seg];
        if (g->kind == TTS_SEG_BREAK) {
            w->seg++;
            *out = (plan_item){.is_break = 1, .ms = g->ms, .src_off = g->src_off};
            return 1;
        }
        if (tts_sentences_begin(&w->it, d->text + g->off, g->len, NULL))
            w->seg++; /* cannot happen: the document is valid UTF-8 */
        else
            w->in_text = 1;
    }
}
