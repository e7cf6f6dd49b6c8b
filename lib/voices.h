/*
 * Voices as named units: where libtts looks for voice files, and what a voice file says of
 * itself (its metadata keys "voice.*", written by tts-train export). Behind tts.h's
 * tts_voices_* and tts_engine_voice().
 */
#ifndef TTS_LIB_VOICES_H
#define TTS_LIB_VOICES_H

#include <stddef.h>

#include "core/err.h"
#include "nn/modelfile.h"

/* the keys a voice answers, in this order */
enum {
    VK_NAME, VK_LANGUAGE, VK_SPEAKER, VK_SAMPLE_RATE, VK_LICENSE, VK_CORPUS, VK_TRAINING,
    VK_PATH, VK_VOCODER, VK_N
};

typedef struct {
    char *v[VK_N]; /* each a string ("" when the voice does not say) */
} tts_voice_meta;

/* The index of key among the keys, or -1. */
int tts_voice_key(const char *key);

/* What the voice file mf (at path) says of itself; its name falls back to the file's name
 * without ".ltm". voc_path: its vocoder's file, or NULL. 0 or TTS_E_NOMEM. */
int tts_voice_meta_read(tts_voice_meta *m, const tts_mf *mf, const char *path,
                        const char *voc_path);
void tts_voice_meta_free(tts_voice_meta *m);

/* The file of the voice called name in the search path (tts.h, tts_voices_list), into
 * out[cap]: 0, TTS_E_NO_MODEL naming the voices found, or TTS_E_NOMEM. */
int tts_voice_find(const char *name, char *out, size_t cap, tts_err *err);

#endif
