/*
 * libFuzzer target: the SSML parser (frontend/ssml.h) on arbitrary bytes, then the
 * frontend on what it composes.
 *
 *   tts_ssml_detect       never reads past the input
 *   tts_ssml_parse        succeeds, or fails with TTS_E_INVALID and a message that names
 *                         the place ("SSML line L, column C: ...") or TTS_E_NOMEM; on
 *                         success the document holds together:
 *                           - the composed text is NUL-terminated at len;
 *                           - segments: TEXT spans inside the text and in order, rate in
 *                             0.25 .. 4, volume in 0 .. 4; BREAK at most
 *                             TTS_SSML_MAX_BREAK_MS, its tag inside the source;
 *                           - the source map: runs in order, starting at byte 0, each
 *                             inside the source; tts_doc_source_span of any span of the
 *                             text lands inside the source;
 *   sentences + phonemes  every TEXT segment split into sentences and phonemized (for
 *                         inputs of at most PHONEMIZE_MAX bytes: eSpeak NG is slow), ids
 *                         framed by BOS/EOS and inside the symbol table; <phoneme ph>
 *                         goes through the frontend's [[...]] phoneme input this way;
 *   tts_doc_format        the `tts --ssml --phonemes` printer, into /dev/null.
 *   tts_doc_plain         on the same bytes: one TEXT segment covering them.
 *
 * A broken invariant calls abort(), which libFuzzer reports like a crash.
 *
 * Build: meson setup build-fuzz -Dfuzz=true (clang; see fuzz/meson.build).
 * Run:   build-fuzz/fuzz/fuzz_ssml -max_len=2048 CORPUS_DIR fuzz/corpus/ssml
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "frontend/ssml.h"
#include "tts.h"

#define PHONEMIZE_MAX 2048

static tts_frontend *fe;
static FILE *devnull;

static void fail(const char *what, size_t a, size_t b)
{
    fprintf(stderr, "fuzz_ssml: invariant broken: %s (%zu, %zu)\n", what, a, b);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tts_err err = {0};
    if (tts_frontend_open(&fe, NULL, &err)) {
        fprintf(stderr, "fuzz_ssml: cannot open the frontend: %s\n", err.msg);
        exit(1);
    }
    devnull = fopen("/dev/null", "w");
    if (!devnull) {
        fprintf(stderr, "fuzz_ssml: cannot open /dev/null\n");
        exit(1);
    }
    return 0;
}

static void check_span(const tts_doc *doc, size_t a, size_t b)
{
    size_t off = 0, len = 0;
    tts_doc_source_span(doc, a, b, &off, &len);
    if (off > doc->src_len || len > doc->src_len - off)
        fail("source span outside the source", off, len);
}

static void check_phonemes(const tts_phonemes *ph, size_t len)
{
    const tts_symtab *tab = tts_frontend_symbols(fe);
    int n_sym = tts_symtab_count(tab);
    if (ph->n_ids < 2)
        fail("fewer than 2 ids", ph->n_ids, 0);
    if (ph->ids[0] != tts_symtab_special(tab, TTS_SYM_BOS) ||
        ph->ids[ph->n_ids - 1] != tts_symtab_special(tab, TTS_SYM_EOS))
        fail("ids not framed by BOS ... EOS", (size_t)ph->ids[0], (size_t)ph->ids[ph->n_ids - 1]);
    for (size_t i = 0; i < ph->n_ids; i++) {
        if (ph->ids[i] < 0 || ph->ids[i] >= n_sym)
            fail("id outside the symbol table", i, (size_t)ph->ids[i]);
        if (ph->offsets[i] > len)
            fail("id offset past the sentence", i, ph->offsets[i]);
    }
    for (size_t w = 0; w < ph->n_words; w++) {
        const tts_word *wd = &ph->words[w];
        if (wd->offset > len || wd->length > len - wd->offset)
            fail("word span outside the sentence", wd->offset, wd->length);
    }
}

static void check_doc(const tts_doc *doc, const char *src, size_t n)
{
    if (!doc->text || doc->text[doc->len] != '\0')
        fail("composed text not NUL-terminated at len", doc->len, 0);
    if (doc->src != src || doc->src_len != n)
        fail("document does not point at its source", doc->src_len, n);

    /* the source map */
    if (doc->n_map > 0 && doc->map[0].text != 0)
        fail("source map does not start at byte 0", doc->map[0].text, 0);
    for (size_t i = 0; i < doc->n_map; i++) {
        const tts_srcmap *r = &doc->map[i];
        if (r->text > doc->len)
            fail("map run starts past the text", i, r->text);
        if (i > 0 && r->text < doc->map[i - 1].text)
            fail("map runs out of order", i, r->text);
        if (r->src > n || r->src_len > n - r->src)
            fail("map run outside the source", r->src, r->src_len);
    }

    /* the segments */
    size_t text_end = 0;
    for (size_t s = 0; s < doc->n_segs; s++) {
        const tts_seg *g = &doc->segs[s];
        if (g->kind == TTS_SEG_BREAK) {
            if (g->ms > TTS_SSML_MAX_BREAK_MS)
                fail("break too long", s, g->ms);
            if (g->src_off > n || g->src_len > n - g->src_off)
                fail("break tag outside the source", g->src_off, g->src_len);
            continue;
        }
        if (g->kind != TTS_SEG_TEXT)
            fail("unknown segment kind", s, (size_t)g->kind);
        if (g->off > doc->len || g->len > doc->len - g->off)
            fail("text segment outside the text", g->off, g->len);
        if (g->off < text_end)
            fail("text segments out of order", g->off, text_end);
        text_end = g->off + g->len;
        if (!(g->rate >= 0.25f && g->rate <= 4.0f))
            fail("rate out of range", s, (size_t)(g->rate * 1000));
        if (!(g->volume >= 0.0f && g->volume <= 4.0f))
            fail("volume out of range", s, (size_t)(g->volume * 1000));
        check_span(doc, g->off, g->off + g->len);

        tts_err err = {0};
        tts_sentence_iter it;
        if (tts_sentences_begin(&it, doc->text + g->off, g->len, &err) != TTS_OK)
            continue; /* e.g. a decoded entity made invalid text: refused, not a crash */
        size_t off, len, end = 0, count = 0;
        while (tts_sentences_next(&it, &off, &len) > 0) {
            if (++count > g->len)
                fail("more sentences than bytes", count, g->len);
            if (off < end || off > g->len || len > g->len - off || len == 0)
                fail("sentence span out of order or out of bounds", off, len);
            end = off + len;
            check_span(doc, g->off + off, g->off + off + len);
            if (n <= PHONEMIZE_MAX) {
                tts_phonemes ph = {0};
                int rc = tts_frontend_phonemize(fe, doc->text + g->off + off, len, &ph, &err);
                if (rc == TTS_OK)
                    check_phonemes(&ph, len);
                else if (rc != TTS_E_FRONTEND && rc != TTS_E_INVALID)
                    fail("phonemize failed with an unexpected status", off, (size_t)-rc);
                tts_phonemes_free(&ph);
            }
        }
    }
    /* a few arbitrary spans of the composed text */
    check_span(doc, 0, doc->len);
    check_span(doc, doc->len / 3, doc->len / 2);
    check_span(doc, doc->len, doc->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    /* a copy of exactly n bytes, so ASan sees any read past the end */
    char *src = malloc(n ? n : 1);
    if (!src)
        return 0;
    memcpy(src, data, n);
    tts_err err = {0};

    (void)tts_ssml_detect(src, n);

    tts_doc doc;
    int rc = tts_ssml_parse(&doc, src, n, tts_frontend_symbols(fe), &err);
    if (rc == TTS_OK) {
        check_doc(&doc, src, n);
        if (n <= PHONEMIZE_MAX) {
            int frc = tts_doc_format(fe, &doc, devnull, &err);
            if (frc != TTS_OK && frc != TTS_E_FRONTEND && frc != TTS_E_INVALID)
                fail("tts_doc_format failed with an unexpected status", (size_t)-frc, 0);
        }
    } else if (rc == TTS_E_INVALID) {
        if (strncmp(err.msg, "SSML line ", 10) != 0)
            fail("an SSML error that does not name the line", (size_t)-rc, 0);
    } else if (rc != TTS_E_NOMEM) {
        fail("tts_ssml_parse failed with an unexpected status", (size_t)-rc, 0);
    }
    tts_doc_free(&doc);

    /* plain text: one segment covering all of it */
    rc = tts_doc_plain(&doc, src, n, &err);
    if (rc == TTS_OK && (doc.n_segs != 1 || doc.segs[0].off != 0 || doc.segs[0].len != n ||
                         doc.len != n))
        fail("plain document is not one segment over the text", doc.n_segs, doc.len);
    if (rc == TTS_OK)
        check_span(&doc, 0, n);
    tts_doc_free(&doc);

    free(src);
    return 0;
}
