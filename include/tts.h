/*
 * libtts — neural text-to-speech engine.
 *
 * This is the only header an embedding program needs (pkg-config: libtts).
 *
 *     tts_options o = tts_default_options();    // the shipped voice
 *     tts_engine *e;
 *     if (tts_engine_open(&e, &o) != TTS_OK) {    // e is set even on failure
 *         fprintf(stderr, "%s\n", tts_engine_error(e));
 *         tts_engine_close(e);
 *         return 1;
 *     }
 *     tts_synthesize_to_file(e, "Hello, world.", "hello.wav");
 *     // or tts_synthesize(e, text, callback, user): float PCM and word events as made
 *     tts_engine_close(e);
 *
 * Thread safety: an engine is used by one thread at a time. Different engines may be
 * used from different threads at once; the library serializes its calls into eSpeak NG
 * internally. An engine with tts_options.threads >= 2 starts a worker thread of its own
 * inside each synthesis call (ended before the call returns; it blocks all signals).
 * Nothing in the library calls exit() or prints.
 *
 * Compatibility: the library exports only what this header declares (TTS_API). The
 * options carry their own size, which tts_default_options() fills in: a program built
 * against this header keeps working with a later library whose tts_options has grown
 * (the new fields take their defaults).
 */
#ifndef TTS_H
#define TTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define TTS_API __attribute__((visibility("default")))
#else
#define TTS_API
#endif

#define TTS_VERSION_MAJOR 0
#define TTS_VERSION_MINOR 2
#define TTS_VERSION_PATCH 0

/* Status codes: 0 is success, every failure is negative. */
typedef enum {
    TTS_OK = 0,
    TTS_E_INVALID = -1,   /* invalid argument or input text (e.g. bad UTF-8) */
    TTS_E_NOMEM = -2,     /* out of memory */
    TTS_E_IO = -3,        /* file could not be opened, read or written */
    TTS_E_FORMAT = -4,    /* file has the wrong format (model, WAV) */
    TTS_E_NO_MODEL = -5,  /* no voice model installed or found */
    TTS_E_FRONTEND = -6,  /* eSpeak NG failed */
    TTS_E_AUDIO = -7,     /* audio device unavailable or failed */
    TTS_E_CANCELLED = -8, /* a callback asked to stop */
    TTS_E_INTERNAL = -9   /* a bug: please report */
} tts_status;

/* Human-readable name of a status code (never NULL). */
TTS_API const char *tts_status_string(int status);

/* Library version string, e.g. "0.1.0". */
TTS_API const char *tts_version(void);

/* ---- engine ------------------------------------------------------------------------ */

typedef struct tts_engine tts_engine;

#define TTS_GL_MAX_ITERS 1000 /* tts_options.griffin_lim_iters at most */

typedef struct {
    size_t size;            /* sizeof(tts_options) as the program was built: set by
                             * tts_default_options() / tts_options_init(); leave it */
    const char *model_path; /* voice model file; NULL = the shipped default voice */
    const char *vocoder;    /* NULL or "default": the voice's neural vocoder when it has one,
                             * else Griffin-Lim; "wavenet": the neural one (an error if the
                             * voice has none); "griffinlim": the reference vocoder */
    const char *vocoder_path; /* neural vocoder file; NULL = VOICE.vocoder.ltm beside the
                               * voice file */
    int threads;            /* threads; 0 = 1. With the neural vocoder, >= 2 runs the
                             * acoustic model in a worker thread of the engine, ahead of
                             * the vocoder (which stays in the caller's thread, as does the
                             * callback), with the same output to the bit; > 2 uses no more
                             * than 2. Also sets OpenBLAS's process-wide thread count (the
                             * engine opened last wins): 1 when pipelined, else threads */
    float rate;             /* speaking rate, 1 = as trained (0.5 .. 2) */
    float volume;           /* linear gain, 1 = as trained (0 .. 4) */
    float sentence_silence; /* seconds of silence after each sentence */
    int griffin_lim_iters;  /* iterations of the Griffin-Lim vocoder, 0 .. TTS_GL_MAX_ITERS;
                             * 0 = default */
    int ssml;               /* how tts_synthesize reads its text: 0 = auto (SSML when it
                             * begins, after white space, with "<speak" or "<?xml"),
                             * 1 = always SSML, -1 = always plain text */
    const char *lexicon_path; /* user lexicon file (see below); NULL = none */
    float pitch;            /* semitones added to the voice's pitch (-12 .. 12; 0 = as
                             * trained); only a voice with a pitch predictor can move it:
                             * with another voice, anything but 0 is TTS_E_INVALID */
    float max_silence;      /* seconds of silence one synthesis call may make (SSML breaks
                             * and the pauses after sentences), 0 .. 86400; 0 = 600. A call
                             * that would make more stops with TTS_E_INVALID */
    float max_seconds;      /* seconds of audio one synthesis call may make, 0 .. 360000;
                             * 0 = 36000 (10 hours); more stops it with TTS_E_INVALID */
    const char *voice;      /* a voice by name (see tts_voices_list), when model_path is
                             * NULL; NULL = the shipped default voice */
} tts_options;

/* Fills *opts with the defaults: shipped voice, best vocoder, rate 1, volume 1, 0.2 s
 * pauses, SSML detected, no lexicon; and its size. Use the macro, which passes the size. */
TTS_API void tts_options_init_sized(tts_options *opts, size_t size);
#define tts_options_init(opts) tts_options_init_sized((opts), sizeof *(opts))

/* The defaults, by value (inline: the size is this header's). */
static inline tts_options tts_default_options(void)
{
    tts_options o;
    tts_options_init(&o);
    return o;
}

/* Opens an engine. *out receives an engine even on failure (unless memory ran out, then
 * NULL), so that tts_engine_error() can say what went wrong; close it either way.
 * opts NULL: the defaults; else made by tts_default_options() or tts_options_init() (a
 * size of 0 is TTS_E_INVALID). Returns TTS_E_NO_MODEL when no voice model is installed or
 * found, TTS_E_INVALID for bad options or a bad lexicon (the message names the file and
 * line). */
TTS_API int tts_engine_open(tts_engine **out, const tts_options *opts);
TTS_API void tts_engine_close(tts_engine *engine); /* NULL is fine */

/* Rate (0.5 .. 2), volume (0 .. 4) and pitch (semitones, -12 .. 12; a voice without a
 * pitch predictor takes only 0) for the synthesis calls after this one, as tts_options
 * has them: no reopening between utterances. TTS_E_INVALID (out of range) changes
 * nothing. Not during a synthesis call (an engine is used by one thread at a time). */
TTS_API int tts_engine_set_prosody(tts_engine *engine, float rate, float volume, float pitch);

/* The open engine's voice: the same keys as tts_voices_get ("name", "language",
 * "path", ...); NULL for an unknown key. Valid until the engine is closed. */
TTS_API const char *tts_engine_voice(const tts_engine *engine, const char *key);

/* Message describing the engine's last failure ("" if none); after a synthesis call that
 * succeeded, "" or a note on what it read leniently (an SSML element it does not know,
 * spoken as its content). Valid until the next call. */
TTS_API const char *tts_engine_error(const tts_engine *engine);
/* Output sample rate in Hz (mono). */
TTS_API int tts_engine_sample_rate(const tts_engine *engine);

/* ---- voices -------------------------------------------------------------------------- */

/* A voice is a file NAME.ltm (its neural vocoder NAME.vocoder.ltm beside it) in one of
 * these directories, searched in this order (the first voice of a name wins):
 * $TTS_MODEL_DIR; $XDG_DATA_HOME/libtts/voices (default ~/.local/share/libtts/voices);
 * DIR/libtts/voices for each DIR of $XDG_DATA_DIRS (default /usr/local/share:/usr/share);
 * the install prefix's share/libtts/models; the source tree's models/. */
typedef struct tts_voice_list tts_voice_list;

/* The voices found (a directory that is not there has none): TTS_OK or TTS_E_NOMEM. */
TTS_API int tts_voices_list(tts_voice_list **out);
TTS_API size_t tts_voices_count(const tts_voice_list *list);
/* Voice i's metadata, as its file states it: key "name", "language" (BCP 47, e.g.
 * "en-US"), "speaker" (a description), "sample_rate" (Hz, decimal), "license", "corpus"
 * (the recordings it was trained on), "training" (how), "path" (the voice file), "vocoder"
 * (its vocoder file, or ""). "" where the file does not say; NULL for an unknown key or i
 * out of range. Valid until tts_voices_free. */
TTS_API const char *tts_voices_get(const tts_voice_list *list, size_t i, const char *key);
TTS_API void tts_voices_free(tts_voice_list *list); /* NULL is fine */

typedef enum {
    TTS_EVENT_SENTENCE_START = 1,
    TTS_EVENT_SENTENCE_END = 2,
    TTS_EVENT_WORD = 3,
    TTS_EVENT_PHONEME = 4,
    TTS_EVENT_MARK = 5
} tts_event_type;

/* Events, in the order of their sample positions (never decreasing):
 *   SENTENCE_START, SENTENCE_END  the sentence's byte span; START at its first sample, END
 *                                 after its last one (before the pause that follows)
 *   WORD      the word's byte span; sample: where the attention first reaches the word
 *   PHONEME   one per phoneme symbol of a word (stress and length marks are not phonemes
 *             of their own; pauses and word boundaries get none), right after that word's
 *             WORD event: text_offset/text_length are the span of the word it belongs to,
 *             sample is where the attention first reaches the symbol, and phoneme holds it
 *             (one IPA codepoint, UTF-8, as `tts --phonemes` prints it)
 *   MARK      an SSML <mark name="…"/>: sample is where the speech after it begins (after
 *             the audio of what precedes it); name holds the name, text_offset/text_length
 *             the span of the <mark/> element
 * Spans are bytes of the text given to tts_synthesize: of the SSML document itself when the
 * text is SSML (a word of <say-as>, <sub> or <phoneme> spans the element's content). */
typedef struct {
    tts_event_type type;
    size_t text_offset, text_length; /* byte span in the text given to tts_synthesize */
    uint64_t sample;                 /* position in the output stream, in samples */
    char phoneme[8];                 /* TTS_EVENT_PHONEME: the symbol, NUL-terminated UTF-8
                                      * (one codepoint); "" for other events */
    const char *name;                /* TTS_EVENT_MARK: the mark's name, NUL-terminated UTF-8
                                      * (entities resolved), valid until the callback returns;
                                      * NULL for other events */
} tts_event;

/* Receives audio as it is produced: pcm[n] mono floats in [-1, 1] at the engine's sample
 * rate, and the events that fall in or before this chunk (n may be 0 when a call carries
 * only events). Return non-zero to stop: the
 * synthesis call then returns TTS_E_CANCELLED. */
typedef int (*tts_audio_cb)(const float *pcm, size_t n, const tts_event *events,
                            size_t n_events, void *user_data);

/* Speaks UTF-8 text, sentence by sentence, delivering audio through cb.
 *
 * Plain text may hold phoneme input: "[[həlˈoʊ]]" is spoken as given, in the voice's
 * symbols (the IPA that `tts --phonemes` prints; white space separates words); an unknown
 * symbol or an unclosed "[[" is TTS_E_INVALID naming the byte offset. Words of the user
 * lexicon (tts_options.lexicon_path: UTF-8 lines "word<TAB or spaces>phonemes", '#'
 * comments, words matched case-insensitively) are spoken with its phonemes, before
 * eSpeak NG is asked.
 *
 * SSML (tts_options.ssml): <speak>, <break time="300ms" strength="…">, <prosody
 * rate="slow|80%|1.2|…" volume="loud|+6dB|50%|…" pitch="high|+2st|-10%|…">, <say-as
 * interpret-as="characters|spell-out|cardinal|ordinal|date|telephone" format="mdy|dmy|…">,
 * <sub alias="…">, <phoneme alphabet="ipa" ph="…">, <s>, <p>, <mark name="…"/> (a
 * TTS_EVENT_MARK), <emphasis level="strong|moderate|reduced|none"> (slower, higher and
 * louder, or the opposite), XML entities, comments. <voice>, <lang> and elements it does
 * not know are spoken as their content (the engine's message notes the first unknown one).
 * Malformed SSML is TTS_E_INVALID with "SSML line L, column C: …" and nothing is spoken. A prosody change
 * inside a sentence splits it into parts spoken one after another without a pause; a
 * <break> replaces the pause that would follow a sentence. Elements nest at most 64 deep. */
TTS_API int tts_synthesize(tts_engine *engine, const char *text, tts_audio_cb cb,
                           void *user_data);

/* Speaks text into an audio file: 16-bit WAV, or by the path's extension FLAC (.flac), Ogg
 * Vorbis (.ogg, .oga), Opus (.opus) or MP3 (.mp3); TTS_E_INVALID when the installed
 * libsndfile cannot encode that, or a pipe is given anything but WAV. On failure (and if
 * the process is killed) no file is left behind; through a symbolic link, the file it
 * points to is written. */
TTS_API int tts_synthesize_to_file(tts_engine *engine, const char *text, const char *wav_path);

#ifdef __cplusplus
}
#endif
#endif
