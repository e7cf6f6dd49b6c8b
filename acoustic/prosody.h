/*
 * Prosodic context of each input token, for the pitch predictor.
 *
 * The text encoder sees phonemes, stress marks, word boundaries and pauses, but a
 * sentence's melody is shaped by where a word stands: the first accent of a phrase is
 * high, the pitch declines across it, the last accent (the nucleus) falls or rises by
 * the kind of sentence, and a phrase that ends at a comma rises to continue. These are
 * explicit here, computed from the token ids alone, so the predictor need not infer them
 * from a thousand sentences.
 *
 * Words are runs of tokens between word boundaries, pauses, BOS and EOS; phrases are
 * runs of words between pauses; sentences end at "." "?" "!" or EOS. Tokens outside a
 * word (boundaries, pauses, BOS, EOS) take the features of the word before them (BOS:
 * the first word's).
 */
#ifndef TTS_ACOUSTIC_PROSODY_H
#define TTS_ACOUSTIC_PROSODY_H

#include <stddef.h>

/* the classes of symbols that the features read */
enum {
    T2M_PC_PHONE = 0, /* a sound not named below, or a mark (length, diacritics) */
    T2M_PC_VOWEL,     /* a vowel */
    T2M_PC_VOICED,    /* a voiced consonant */
    T2M_PC_UNVOICED,  /* an unvoiced consonant */
    T2M_PC_SYLLABIC,  /* the syllabic mark: the consonant before it is a nucleus */
    T2M_PC_STRESS1,   /* primary stress mark */
    T2M_PC_STRESS2,   /* secondary stress mark */
    T2M_PC_SPACE,     /* word boundary */
    T2M_PC_COMMA,     /* "," */
    T2M_PC_CLAUSE,    /* ";" (and : — ...) */
    T2M_PC_PERIOD,    /* "." */
    T2M_PC_QUESTION,  /* "?" */
    T2M_PC_EXCLAIM,   /* "!" */
    T2M_PC_EDGE,      /* BOS, EOS, pad */
    T2M_PC_COUNT
};

/* features per token */
#define T2M_PROSODY_FEATS 24

/* cls[0 .. n) from a symbol table serialized as names separated by '\n' (the model
 * file's "symbols"): the class of each id (T2M_PC_*, as a float: the model file keeps
 * them so). Returns the number of symbols read (n when the table has n), or -1 if it
 * holds more than n. */
int t2m_prosody_classes(const char *symbols, size_t len, float *cls, int n);

/* out[N, T2M_PROSODY_FEATS]: the features of tokens ids[N] (ids outside [0, n_cls) read
 * as phones). 0, or -1 when out of memory. */
int t2m_prosody_feats(const float *cls, int n_cls, const int *ids, int N, float *out);

#endif
