/*
 * libFuzzer target: the text frontend on arbitrary bytes.
 *
 *   tts_sentences_begin/next   every span in bounds, in order, non-empty, at most
 *                              TTS_SENTENCE_MAX_BYTES, and the loop ends
 *   tts_frontend_normalize     on the whole input and on each sentence
 *   tts_frontend_phonemize     on each sentence (through eSpeak NG, slow: only for inputs
 *                              of at most 2 KB); ids framed by BOS/EOS and inside the
 *                              table, offsets and word spans inside the sentence
 *
 * Invalid UTF-8 must be refused the same way by the iterator and the normalizer.
 * A broken invariant calls abort(), which libFuzzer reports like a crash.
 *
 * Build: meson setup build-fuzz -Dfuzz=true (clang; see fuzz/meson.build).
 * Run:   build-fuzz/fuzz/fuzz_frontend -max_len=2048 CORPUS_DIR fuzz/corpus/frontend
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "tts.h"

#define PHONEMIZE_MAX 2048

static tts_frontend *fe;

static void fail(const char *what, size_t a, size_t b)
{
    fprintf(stderr, "fuzz_frontend: invariant broken: %s (%zu, %zu)\n", what, a, b);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tts_err err = {0};
    if (tts_frontend_open(&fe, NULL, &err)) {
        fprintf(stderr, "fuzz_frontend: cannot open the frontend: %s\n", err.msg);
        exit(1);
    }
    return 0;
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
            fail("id offset past the input", i, ph->offsets[i]);
    }
    if (!ph->ipa || strlen(ph->ipa) != ph->ipa_len)
        fail("ipa_len is not strlen(ipa)", ph->ipa_len, ph->ipa ? strlen(ph->ipa) : 0);
    for (size_t w = 0; w < ph->n_words; w++) {
        const tts_word *wd = &ph->words[w];
        if (wd->offset > len || wd->length > len - wd->offset)
            fail("word span outside the input", wd->offset, wd->length);
        if (wd->first_id > ph->n_ids || wd->n_ids > ph->n_ids - wd->first_id)
            fail("word ids outside ids", wd->first_id, wd->n_ids);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    /* a copy of exactly n bytes, so ASan sees any read past the end */
    char *text = malloc(n ? n : 1);
    if (!text)
        return 0;
    memcpy(text, data, n);
    tts_err err = {0};

    char *norm = NULL;
    int rc_norm = tts_frontend_normalize(text, n, &norm, &err);
    if (rc_norm == TTS_OK && !norm)
        fail("normalize succeeded without output", n, 0);
    free(norm);

    tts_sentence_iter it;
    int rc_iter = tts_sentences_begin(&it, text, n, &err);
    if ((rc_iter == TTS_E_INVALID) != (rc_norm == TTS_E_INVALID))
        fail("iterator and normalizer disagree about the UTF-8", (size_t)-rc_iter,
             (size_t)-rc_norm);
    if (rc_iter == TTS_OK) {
        size_t off, len, end = 0, count = 0;
        while (tts_sentences_next(&it, &off, &len) > 0) {
            if (++count > n)
                fail("more sentences than bytes", count, n);
            if (off < end || off > n || len > n - off)
                fail("sentence span out of order or out of bounds", off, len);
            if (len == 0 || len > TTS_SENTENCE_MAX_BYTES)
                fail("sentence length", off, len);
            end = off + len;
            if (tts_frontend_normalize(text + off, len, &norm, &err) == TTS_OK)
                free(norm);
            if (n <= PHONEMIZE_MAX) {
                tts_phonemes ph = {0};
                int rc = tts_frontend_phonemize(fe, text + off, len, &ph, &err);
                if (rc == TTS_OK)
                    check_phonemes(&ph, len);
                else if (rc != TTS_E_FRONTEND &&
                         !(rc == TTS_E_INVALID && /* bad "[[ … ]]" phoneme input */
                           tts_frontend_check_phonemes(fe, text + off, len, NULL, NULL)))
                    fail("phonemize failed on a valid sentence", off, (size_t)-rc);
                tts_phonemes_free(&ph);
            }
        }
    }
    free(text);
    return 0;
}
