/* Phonemizing: normalized words → eSpeak NG IPA per clause → symbol ids, and the word each
 * id belongs to. */
#include "frontend/internal.h"

#include <stdlib.h>
#include <string.h>

struct tts_frontend {
    char voice[64];
    tts_symtab *tab;
    tts_lexicon *lex; /* user lexicon, or NULL */
};

/* eSpeak NG is given at most this many words (and bytes) at once; a clause that is longer
 * is phonemized in pieces (eSpeak NG itself breaks long clauses too). Keeps the alignment
 * below small. */
#define GROUP_MAX_ITEMS 24
#define GROUP_MAX_BYTES 320
/* Alignments bigger than this (cells) fall back to proportional assignment. */
#define ALIGN_MAX_CELLS 4000000u

int tts_frontend_open(tts_frontend **out, const char *voice, tts_err *err)
{
    if (!out)
        return tts_seterr(err, TTS_E_INVALID, "tts_frontend_open: no output");
    *out = NULL;
    if (!voice)
        voice = "en-us";
    if (!*voice || strlen(voice) >= sizeof ((tts_frontend *)0)->voice)
        return tts_seterr(err, TTS_E_INVALID, "bad eSpeak NG voice name \"%.64s\"", voice);
    tts_frontend *fe = calloc(1, sizeof *fe);
    if (!fe)
        return tts_seterr(err, TTS_E_NOMEM, "out of memory for the text frontend");
    strcpy(fe->voice, voice);
    int rc = tts_symtab_builtin(&fe->tab, err);
    if (rc) {
        free(fe);
        return rc;
    }
    /* fail now, not at the first sentence, if eSpeak NG or the voice is missing */
    rc = fe_espeak_lock(fe->voice, err);
    if (rc) {
        tts_frontend_close(fe);
        return rc;
    }
    fe_espeak_unlock();
    *out = fe;
    return TTS_OK;
}

void tts_frontend_close(tts_frontend *fe)
{
    if (!fe)
        return;
    tts_symtab_free(fe->tab);
    tts_lexicon_free(fe->lex);
    free(fe);
}

void tts_frontend_set_lexicon(tts_frontend *fe, tts_lexicon *lex)
{
    if (!fe) {
        tts_lexicon_free(lex);
        return;
    }
    tts_lexicon_free(fe->lex);
    fe->lex = lex;
}

/* tts_frontend_check_phonemes, with the byte offset in the message */
static int check_input(const tts_frontend *fe, const char *text, size_t len, tts_err *err)
{
    tts_err e = {0};
    size_t where = 0;
    int rc = tts_frontend_check_phonemes(fe, text, len, &where, &e);
    if (rc)
        return tts_seterr(err, rc, "%s at byte offset %zu", e.msg, where);
    return TTS_OK;
}

/* Words the user lexicon knows become FE_PHON items: matched as written, without an
 * abbreviation's '.', or as the one word the normalizer made of them. */
static void apply_lexicon(const tts_lexicon *lex, const char *text, fe_items *items)
{
    for (size_t i = 0; i < items->n; i++) {
        fe_item *it = &items->v[i];
        if (it->kind != FE_WORD)
            continue;
        const char *src = text + it->src, *ipa = tts_lexicon_lookup(lex, src, it->srclen);
        if (!ipa && it->srclen > 1 && src[it->srclen - 1] == '.')
            ipa = tts_lexicon_lookup(lex, src, it->srclen - 1);
        if (!ipa) {
            const char *w = items->arena.p + it->text;
            if (!strchr(w, ' '))
                ipa = tts_lexicon_lookup(lex, w, strlen(w));
        }
        if (!ipa)
            continue;
        it->kind = FE_PHON;
        it->text = items->arena.n;
        fe_buf_puts(&items->arena, ipa);
        fe_buf_putc(&items->arena, '\0');
        if (items->arena.oom)
            items->oom = 1;
    }
}

int tts_frontend_set_symbols(tts_frontend *fe, const char *s, size_t len, tts_err *err)
{
    if (!fe)
        return tts_seterr(err, TTS_E_INVALID, "tts_frontend_set_symbols: no frontend");
    tts_symtab *t;
    int rc = tts_symtab_parse(&t, s, len, err);
    if (rc)
        return rc;
    tts_symtab_free(fe->tab);
    fe->tab = t;
    return TTS_OK;
}

const tts_symtab *tts_frontend_symbols(const tts_frontend *fe)
{
    return fe ? fe->tab : NULL;
}

void tts_phonemes_free(tts_phonemes *p)
{
    if (!p)
        return;
    free(p->ipa);
    free(p->ids);
    free(p->offsets);
    free(p->words);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------- codepoints with owners ----- */

typedef struct {
    uint32_t *cp;
    long *item;      /* owning item index (-1: none) */
    size_t n, cap;
    int oom;
} cpseq;

static void seq_push(cpseq *q, uint32_t cp, long item)
{
    if (q->oom)
        return;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        uint32_t *c = realloc(q->cp, cap * sizeof *c);
        if (c)
            q->cp = c;
        long *it = c ? realloc(q->item, cap * sizeof *it) : NULL;
        if (!c || !it) {
            q->oom = 1;
            return;
        }
        q->item = it;
        q->cap = cap;
    }
    q->cp[q->n] = cp;
    q->item[q->n] = item;
    q->n++;
}

static void seq_free(cpseq *q)
{
    free(q->cp);
    free(q->item);
    memset(q, 0, sizeof *q);
}

/* decodes UTF-8 s[0..n) into q with owner item */
static void seq_decode(cpseq *q, const char *s, size_t n, long item)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        i += fe_utf8_next(s + i, n - i, &cp);
        seq_push(q, cp, item);
    }
}

static int is_stress(uint32_t cp)
{
    return cp == 0x2C8 || cp == 0x2CC;
}

/* ------------------------------------------------------------------ alignment ------- */

/* Levenshtein alignment of b[0..m) to a[0..n) (each a[i] labelled alab[i]); every b[j]
 * gets the label of the a it matches, or, when inserted, of the a before it. */
static int align(const uint32_t *a, const long *alab, size_t n, const uint32_t *b, size_t m,
                 long *blab)
{
    if (m == 0)
        return 0;
    if (n == 0) {
        for (size_t j = 0; j < m; j++)
            blab[j] = 0;
        return 0;
    }
    if (n == m && !memcmp(a, b, n * sizeof *a)) {
        memcpy(blab, alab, n * sizeof *alab);
        return 0;
    }
    if ((n + 1) > ALIGN_MAX_CELLS / (m + 1)) {
        for (size_t j = 0; j < m; j++)
            blab[j] = alab[(size_t)((double)j * (double)n / (double)m)];
        return 0;
    }
    size_t w = m + 1;
    unsigned char *dir = malloc((n + 1) * w);
    unsigned *prev = malloc(w * sizeof *prev), *cur = malloc(w * sizeof *cur);
    if (!dir || !prev || !cur) {
        free(dir);
        free(prev);
        free(cur);
        return TTS_E_NOMEM;
    }
    for (size_t j = 0; j <= m; j++) {
        prev[j] = (unsigned)j;
        dir[j] = 2;
    }
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (unsigned)i;
        dir[i * w] = 1;
        for (size_t j = 1; j <= m; j++) {
            unsigned best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            unsigned char d = 0;
            if (prev[j] + 1 < best) {
                best = prev[j] + 1;
                d = 1;
            }
            if (cur[j - 1] + 1 < best) {
                best = cur[j - 1] + 1;
                d = 2;
            }
            cur[j] = best;
            dir[i * w + j] = d;
        }
        unsigned *t = prev;
        prev = cur;
        cur = t;
    }
    size_t i = n, j = m;
    while (j > 0) {
        unsigned char d = i == 0 ? 2 : dir[i * w + j];
        if (d == 0) {
            blab[j - 1] = alab[i - 1];
            i--;
            j--;
        } else if (d == 1) {
            i--;
        } else {
            blab[j - 1] = alab[i > 0 ? i - 1 : 0];
            j--;
        }
    }
    free(dir);
    free(prev);
    free(cur);
    return 0;
}

/* Phonemizes items [g0, g1) (all FE_WORD) as one clause and appends the IPA to out, each
 * codepoint owned by the item it belongs to. */
static int phonemize_group(tts_frontend *fe, const fe_items *items, size_t g0, size_t g1,
                           cpseq *out, tts_err *err)
{
    fe_buf text, clause, solo;
    fe_buf_init(&text);
    fe_buf_init(&clause);
    fe_buf_init(&solo);
    size_t *solo_end = calloc(g1 - g0, sizeof *solo_end);
    cpseq A = {0}, B = {0};
    long *blab = NULL;
    int rc = solo_end ? TTS_OK : TTS_E_NOMEM;

    for (size_t k = g0; k < g1 && !rc; k++)
        fe_buf_word(&text, items->arena.p + items->v[k].text);
    if (!rc && fe_buf_cstr(&text))
        rc = TTS_E_NOMEM;

    if (!rc) {
        rc = fe_espeak_lock(fe->voice, err);
        if (!rc) {
            rc = fe_espeak_ipa(text.p, fe->voice, &clause);
            /* each word alone too, to learn which phonemes belong to which word when the
             * clause reading merges words ("in the" → ɪnðə) or changes them */
            for (size_t k = g0; k < g1 && !rc && g1 - g0 > 1; k++) {
                rc = fe_espeak_ipa(items->arena.p + items->v[k].text, fe->voice, &solo);
                solo_end[k - g0] = solo.n;
            }
            fe_espeak_unlock();
            if (rc == TTS_E_NOMEM)
                tts_seterr(err, rc, "out of memory while phonemizing");
        }
    }
    if (rc)
        goto done;

    /* A: the words alone, without stress marks and spaces, labelled by word */
    size_t a0 = 0;
    for (size_t k = 0; k < g1 - g0 && g1 - g0 > 1; k++) {
        size_t i = a0;
        while (i < solo_end[k]) {
            uint32_t cp;
            i += fe_utf8_next(solo.p + i, solo_end[k] - i, &cp);
            if (!is_stress(cp) && cp != ' ')
                seq_push(&A, cp, (long)k);
        }
        a0 = solo_end[k];
    }
    /* B: the clause reading */
    seq_decode(&B, clause.p ? clause.p : "", clause.n, 0);
    if (A.oom || B.oom) {
        rc = tts_seterr(err, TTS_E_NOMEM, "out of memory while phonemizing");
        goto done;
    }
    if (B.n == 0)
        goto done;

    if (g1 - g0 > 1) {
        /* align B's plain phonemes to A; stress marks and spaces take the label of the
         * phoneme after them */
        uint32_t *bp = malloc(B.n * sizeof *bp);
        size_t *bpos = malloc(B.n * sizeof *bpos);
        blab = malloc(B.n * sizeof *blab);
        if (!bp || !bpos || !blab) {
            free(bp);
            free(bpos);
            rc = tts_seterr(err, TTS_E_NOMEM, "out of memory while phonemizing");
            goto done;
        }
        size_t m = 0;
        for (size_t j = 0; j < B.n; j++)
            if (!is_stress(B.cp[j]) && B.cp[j] != ' ') {
                bp[m] = B.cp[j];
                bpos[m++] = j;
            }
        long *plab = malloc((m ? m : 1) * sizeof *plab);
        if (!plab || align(A.cp, A.item, A.n, bp, m, plab)) {
            free(plab);
            free(bp);
            free(bpos);
            rc = tts_seterr(err, TTS_E_NOMEM, "out of memory while phonemizing");
            goto done;
        }
        for (size_t j = 0; j < B.n; j++)
            B.item[j] = -1;
        for (size_t k = 0; k < m; k++)
            B.item[bpos[k]] = plab[k];
        long next = m ? plab[m - 1] : 0;
        for (size_t j = B.n; j-- > 0;) {
            if (B.item[j] < 0)
                B.item[j] = next;
            else
                next = B.item[j];
        }
        free(plab);
        free(bp);
        free(bpos);
    } else {
        for (size_t j = 0; j < B.n; j++)
            B.item[j] = 0;
    }

    if (out->n)
        seq_push(out, ' ', (long)g0 + B.item[0]);
    for (size_t j = 0; j < B.n; j++)
        seq_push(out, B.cp[j], (long)g0 + B.item[j]);
    if (out->oom)
        rc = tts_seterr(err, TTS_E_NOMEM, "out of memory while phonemizing");

done:
    free(blab);
    free(solo_end);
    seq_free(&A);
    seq_free(&B);
    fe_buf_free(&text);
    fe_buf_free(&clause);
    fe_buf_free(&solo);
    return rc;
}

static int is_pause_cp(uint32_t cp)
{
    return cp == ',' || cp == '.' || cp == '?' || cp == '!' || cp == ';';
}

int tts_frontend_phonemize(tts_frontend *fe, const char *text, size_t len, tts_phonemes *out,
                           tts_err *err)
{
    if (!fe || !out)
        return tts_seterr(err, TTS_E_INVALID, "tts_frontend_phonemize: no frontend or output");
    memset(out, 0, sizeof *out);
    if (!text && len)
        return tts_seterr(err, TTS_E_INVALID, "tts_frontend_phonemize: text is NULL");
    if (!text)
        text = "";
    size_t bad;
    if (!fe_utf8_valid(text, len, &bad))
        return tts_seterr(err, TTS_E_INVALID, "invalid UTF-8 in text at byte offset %zu", bad);
    int rc = check_input(fe, text, len, err);
    if (rc)
        return rc;

    fe_items items;
    fe_items_init(&items);
    cpseq seq = {0};
    long *item_of = NULL;
    fe_buf ipa;
    fe_buf_init(&ipa);
    rc = fe_normalize(text, len, &items);
    if (!rc && fe->lex) {
        apply_lexicon(fe->lex, text, &items);
        if (items.oom)
            rc = TTS_E_NOMEM;
    }
    if (rc) {
        tts_seterr(err, rc, "out of memory while normalizing text");
        goto fail;
    }

    /* IPA codepoints, each owned by an item */
    for (size_t i = 0; i < items.n && !rc;) {
        if (items.v[i].kind == FE_PHON) { /* the user's phonemes, as given */
            const char *p = items.arena.p + items.v[i].text;
            if (seq.n)
                seq_push(&seq, ' ', (long)i);
            seq_decode(&seq, p, strlen(p), (long)i);
            i++;
            continue;
        }
        if (items.v[i].kind == FE_BREAK) {
            if (seq.n)
                seq_push(&seq, (uint32_t)(unsigned char)items.v[i].brk, (long)i);
            i++;
            continue;
        }
        size_t j = i, bytes = 0;
        while (j < items.n && items.v[j].kind == FE_WORD && j - i < GROUP_MAX_ITEMS) {
            size_t wl = strlen(items.arena.p + items.v[j].text);
            if (j > i && bytes + wl > GROUP_MAX_BYTES)
                break;
            bytes += wl + 1;
            j++;
        }
        rc = phonemize_group(fe, &items, i, j, &seq, err);
        i = j;
    }
    if (!rc && seq.oom)
        rc = tts_seterr(err, TTS_E_NOMEM, "out of memory while phonemizing");
    if (rc)
        goto fail;

    /* map to ids with the frontend's table: unknown codepoints are dropped, and so are
     * spaces that would end up doubled, leading, trailing or before a pause */
    const tts_symtab *tab = fe->tab;
    int sp = tts_symtab_special(tab, TTS_SYM_SPACE);
    int bos = tts_symtab_special(tab, TTS_SYM_BOS), eos = tts_symtab_special(tab, TTS_SYM_EOS);
    int pad = tts_symtab_special(tab, TTS_SYM_PAD);
    size_t cap = seq.n + 2;
    out->ids = malloc(cap * sizeof *out->ids);
    out->offsets = malloc(cap * sizeof *out->offsets);
    out->words = malloc(cap * sizeof *out->words);
    item_of = malloc(cap * sizeof *item_of);
    if (!out->ids || !out->offsets || !out->words || !item_of) {
        rc = tts_seterr(err, TTS_E_NOMEM, "out of memory for phoneme ids");
        goto fail;
    }
    size_t n = 0;
    item_of[n] = -1;
    out->ids[n] = bos;
    out->offsets[n++] = 0;
    for (size_t k = 0; k < seq.n; k++) {
        int id = tts_symtab_id(tab, seq.cp[k]);
        if (id < 0 || id == bos || id == eos || id == pad)
            continue;
        if (id == sp) {
            if (n == 1 || out->ids[n - 1] == sp)
                continue;
        } else if (is_pause_cp(seq.cp[k]) && out->ids[n - 1] == sp) {
            n--; /* no space before a pause */
            ipa.n--;
        }
        item_of[n] = seq.item[k];
        out->ids[n] = id;
        out->offsets[n++] = items.v[seq.item[k]].src;
        fe_buf_putcp(&ipa, seq.cp[k]);
    }
    if (n > 1 && out->ids[n - 1] == sp) {
        n--;
        ipa.n--;
    }
    out->ids[n] = eos;
    out->offsets[n++] = len;
    out->n_ids = n;
    if (fe_buf_cstr(&ipa)) {
        rc = tts_seterr(err, TTS_E_NOMEM, "out of memory for the IPA string");
        goto fail;
    }
    out->ipa = ipa.p;
    out->ipa_len = ipa.n;
    ipa.p = NULL;

    /* words: runs of phoneme ids with the same source word */
    size_t nw = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        int id = out->ids[i];
        const char *name = tts_symtab_name(tab, id);
        if (id == sp || (name && name[1] == '\0' && is_pause_cp((unsigned char)name[0])))
            continue;
        if (nw && out->words[nw - 1].offset == out->offsets[i]) {
            out->words[nw - 1].n_ids = i - out->words[nw - 1].first_id + 1;
            continue;
        }
        out->words[nw++] = (tts_word){out->offsets[i], items.v[item_of[i]].srclen, i, 1};
    }
    out->n_words = nw;

    free(item_of);
    fe_items_free(&items);
    seq_free(&seq);
    return TTS_OK;

fail:
    free(item_of);
    fe_items_free(&items);
    seq_free(&seq);
    fe_buf_free(&ipa);
    tts_phonemes_free(out);
    return rc;
}

/* ------------------------------------------------------------ normalize, format ----- */

int tts_frontend_normalize(const char *text, size_t len, char **out, tts_err *err)
{
    if (!out)
        return tts_seterr(err, TTS_E_INVALID, "tts_frontend_normalize: no output");
    *out = NULL;
    if (!text && len)
        return tts_seterr(err, TTS_E_INVALID, "tts_frontend_normalize: text is NULL");
    if (!text)
        text = "";
    size_t bad;
    if (!fe_utf8_valid(text, len, &bad))
        return tts_seterr(err, TTS_E_INVALID, "invalid UTF-8 in text at byte offset %zu", bad);
    fe_items items;
    fe_items_init(&items);
    int rc = fe_normalize(text, len, &items);
    fe_buf b;
    fe_buf_init(&b);
    for (size_t i = 0; i < items.n && !rc; i++) {
        if (items.v[i].kind == FE_BREAK) {
            fe_buf_putc(&b, items.v[i].brk);
        } else if (items.v[i].kind == FE_PHON) {
            fe_buf_word(&b, "[[");
            fe_buf_puts(&b, items.arena.p + items.v[i].text);
            fe_buf_puts(&b, "]]");
        } else {
            fe_buf_word(&b, items.arena.p + items.v[i].text);
        }
    }
    fe_items_free(&items);
    if (rc || fe_buf_cstr(&b)) {
        fe_buf_free(&b);
        return tts_seterr(err, TTS_E_NOMEM, "out of memory while normalizing text");
    }
    *out = b.p;
    return TTS_OK;
}

int tts_frontend_format(tts_frontend *fe, const char *text, size_t len, FILE *out,
                        tts_err *err)
{
    if (!fe || !out)
        return tts_seterr(err, TTS_E_INVALID, "tts_frontend_format: no frontend or stream");
    tts_sentence_iter it;
    int rc = tts_sentences_begin(&it, text, len, err);
    if (rc || (rc = check_input(fe, text, len, err)))
        return rc;
    size_t off, n;
    int count = 0;
    while (tts_sentences_next(&it, &off, &n)) {
        tts_phonemes ph;
        rc = tts_frontend_phonemize(fe, text + off, n, &ph, err);
        if (rc)
            return rc;
        count++;
        fprintf(out, "sentence %d (bytes %zu-%zu): ", count, off, off + n);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)text[off + i];
            fputc(c < 0x20 || c == 0x7F ? ' ' : c, out);
        }
        fprintf(out, "\n  ipa: %s\n  ids:", ph.ipa);
        for (size_t i = 0; i < ph.n_ids; i++)
            fprintf(out, " %d", (int)ph.ids[i]);
        fputc('\n', out);
        tts_phonemes_free(&ph);
        if (ferror(out))
            return tts_seterr(err, TTS_E_IO, "could not write the phonemes: output error");
    }
    if (fflush(out) != 0 || ferror(out))
        return tts_seterr(err, TTS_E_IO, "could not write the phonemes: output error");
    return TTS_OK;
}
