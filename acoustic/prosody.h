/*
 * Prosodic context of each input token, for the pitch predictor.
 *
 * A sentence's melody is shaped by where a syllable stands: the first accent of a phrase
 * is high, the pitch declines across it, it falls after the last accent (the nucleus),
 * and a phrase that ends at a comma rises to continue. Here that context is explicit,
 * computed from the token ids alone.
 *
 * Words are runs of tokens between word boundaries, pauses, BOS and EOS; phrases are runs
 * of words between pauses; sentences end at "." "?" "!" or EOS. A syllable is a nucleus (a
 * vowel, or a consonant followed by the syllabic mark, with what continues it: more
 * vowels, the syllabic mark, length and other marks) and the consonants and stress marks
 * before it in its word (the word's last syllable also takes those after it); a stress
 * mark stresses the next nucleus. A word is stressed when one of its syllables has
 * primary stress (eSpeak NG leaves most function words unstressed).
 *
 * The features of a token (0 .. 1; exp(-k) for a distance k falls off from 1):
 *   0  its position in the utterance          1  its word's in the sentence
 *   2  its word's in the phrase                3  exp(-words after it in the phrase)
 *   4  exp(-words before it in the phrase)     5  1 in the sentence's last phrase
 *   6  1 when the phrase ends at , ; or :      7  1 in a stressed word
 *   8  a stressed word: exp(-stressed words after it in the phrase), else 0
 *   9  1 in the phrase's first stressed word  10  ln(1 + words in the phrase) / 3
 *  11  exp(-phrases before it in the sentence)
 *  12  1 for a vowel or syllabic consonant    13  1 for an unvoiced consonant
 *  14  its syllable's stress (1 primary, 0.5 secondary)
 *  15  exp(-syllables after it in the word)   16  exp(-syllables before it in the word)
 *  17  ln(1 + syllables in the word) / 2     18  exp(-syllables after it in the phrase / 2)
 *  19  1 in the phrase's last primary-stressed syllable
 *  20  exp(-syllables since the last primary stress at or before it in the phrase / 2), 0 if none
 *  21  exp(-syllables until the next primary stress after it in the phrase / 2), 0 if none
 * Tokens outside words (boundaries, pauses, BOS, EOS) take the features of the token before
 * them (BOS: the first word's first token's) with 12 and 13 at 0, and their own position.
 * The kind of sentence is not among them: the Kathleen corpus has no "?" or "!", so a voice
 * trained on it could not learn what they do.
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
#define T2M_PROSODY_FEATS 22

/* cls[0 .. n) from a symbol table serialized as names separated by '\n' (the model
 * file's "symbols"): the class of each id (T2M_PC_*, as a float: the model file keeps
 * them so). Returns the number of symbols read (n when the table has n), or -1 if it
 * holds more than n. */
int t2m_prosody_classes(const char *symbols, size_t len, float *cls, int n);

/* out[N, T2M_PROSODY_FEATS]: the features of tokens ids[N] (ids outside [0, n_cls) read
 * as phones). 0, or -1 when out of memory. */
int t2m_prosody_feats(const float *cls, int n_cls, const int *ids, int N, float *out);

#endif
