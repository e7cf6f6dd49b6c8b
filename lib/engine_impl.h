/*
 * Inside the engine (lib/): its state, and what its files share. Not part of the API.
 *
 *   engine.c    tts.h's calls: options, open and close, synthesize (a document in chunks:
 *               phonemize -> decode -> render -> emit), to a file
 *   plan.c      the document walked as chunks (one sentence of one prosody each) and breaks
 *   pipeline.c  threads >= 2: the acoustic model in a worker thread, through a queue
 *   sink.c      decoded frames -> the vocoder (streamed, time-scaled) -> PCM, with the
 *               word, phoneme and mark events, to the caller's callback
 */
#ifndef TTS_LIB_ENGINE_IMPL_H
#define TTS_LIB_ENGINE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "acoustic/voice_io.h"
#include "core/err.h"
#include "dsp/dsp.h"
#include "frontend/frontend.h"
#include "frontend/ssml.h"
#include "lib/voices.h"
#include "tts.h"
#include "vocoder/render.h"
#include "vocoder/vocoder_io.h"

#define CHUNK 4096           /* samples a callback carries at most */
#define GROUP_MAX_CHUNKS 256 /* a sentence event never covers more chunks than this */
/* frames a time-scaled frame may reach back (frame_sink.ring): floor(i rate) > n_in - 2 -
 * rate, rate <= 10 */
#define SCALE_RING 16

typedef struct am_pipe am_pipe;

struct tts_engine {
    tts_options opts;
    tts_err err;
    uint64_t call_audio, call_silence; /* samples this synthesis call made, and of silence */
    size_t next_mark;                  /* the document's first <mark> not yet reported */
    uint64_t max_audio, max_silence;   /* their limits (tts_options.max_seconds, max_silence) */
    tts_mf *mf;
    t2m_model am;
    int am_loaded;
    t2m_infer_opts infer; /* the acoustic model's inference settings */
    unsigned char *passable; /* per symbol: what its attention may pass over (infer.passable) */
    tts_audio_cfg audio;
    tts_frontend *fe;
    tts_mel *mel;
    voc_model voc; /* the neural vocoder, when one is loaded */
    int voc_loaded;
    voc_render *render; /* frames -> speech through it (vocoder/render.h) */
    tts_sharpen *sharpen; /* the vocoder's frame sharpening, before a change of rate */
    int pipelined; /* threads >= 2 and the neural vocoder: the acoustic model runs in a
                    * worker thread (see "the pipeline" below) */
    am_pipe *pipe; /* its queue, made at the first synthesis that uses it */
    char model_path[4096];
    char voc_path[4096];
    tts_voice_meta meta; /* tts_engine_voice */
};

/* ---- plan.c: the document as chunks --------------------------------------------------- */

typedef struct {
    int is_break;
    size_t off, len;     /* chunk: span of the composed text */
    float rate, volume;  /* chunk: factors on the engine's settings */
    int ends;            /* chunk: a sentence ends with it (a pause follows) */
    unsigned ms;         /* break: milliseconds */
    float pitch;         /* chunk: semitones on the engine's pitch (SSML prosody) */
    size_t src_off;      /* break: where its tag begins in the source */
} plan_item;

typedef struct {
    const tts_doc *doc;
    size_t seg;            /* the segment being read */
    int in_text;
    tts_sentence_iter it;
    int have_pending;
    plan_item pending;     /* a chunk read ahead, to know whether it ends its segment */
} walker;

/* the next chunk or break of the document: 1, or 0 at its end */
int eng_walker_next(walker *w, plan_item *out);
t2m_infer_opts eng_chunk_infer(const tts_engine *e, const plan_item *c);

/* ---- sink.c: frames to PCM and events ------------------------------------------------ */

typedef struct {
    float *frames;
    size_t n, cap;
    int n_mels;
    int *token_at_step; /* attended token per decoder step */
    size_t steps, steps_cap;
    /* streaming through the neural vocoder: each decoder step is vocoded and delivered at
     * once, with the word and phoneme events it reached */
    int stream;
    tts_engine *e;
    tts_audio_cb cb;
    void *user;
    const tts_phonemes *ph;
    const tts_doc *doc;
    size_t chunk_off;   /* the chunk's offset in the composed text */
    size_t next_id, next_word; /* the first id, and the word, not yet given events */
    float volume;
    uint64_t pos0;      /* stream position of the chunk's first sample */
    size_t samples_per_step;
    tts_event *ev;      /* pending events, room for n_words + n_ids + 2 */
    size_t n_ev;
    float *pcm;         /* scratch: the render's output (voc_render_max_tail) */
    /* streamed at a rate other than 1: the frames sharpened, then time-scaled as
     * time_scale() does a whole chunk, as they come (ring: the last SCALE_RING of them) */
    float rate;
    int scaled;
    float *ring, *tmp;  /* [SCALE_RING][n_mels], [n_mels] */
    size_t n_in, n_out; /* sharpened frames in, scaled frames out */
    size_t delivered;   /* samples of this chunk delivered so far */
    int failed;         /* a status when delivering failed */
    int final;          /* the chunk's last delivery: every pending event goes with it */
} frame_sink;

/* A sink for chunk c of doc (phonemes ph, spoken at rate from sample pos on), its audio
 * to cb: 0, or TTS_E_NOMEM (free it with eng_sink_free either way) */
int eng_sink_open(frame_sink *s, tts_engine *e, const tts_doc *doc, const plan_item *c,
                  const tts_phonemes *ph, float rate, uint64_t pos, tts_audio_cb cb, void *user);
/* after the decoder: the rest of the chunk's audio and events (src_end: the source byte
 * after its text, for the marks) delivered; *pos advanced past them */
int eng_sink_finish(frame_sink *s, size_t src_end, uint64_t *pos);
void eng_sink_free(frame_sink *s);
/* t2m_frame_cb: a decoder step's r frames, pos the token it attended */
int eng_on_frames(const float *frames, int r, int pos, void *user);
int eng_deliver_marks(tts_engine *e, const tts_doc *doc, size_t src_end, uint64_t pos,
                         tts_audio_cb cb, void *user);
int eng_silence(tts_engine *e, tts_audio_cb cb, void *user, size_t ns, const tts_event *ev,
                   uint64_t *pos);

/* ---- pipeline.c: the acoustic model's worker thread ------------------------------------ */

am_pipe *eng_pipe_new(tts_engine *e);
void eng_pipe_free(am_pipe *p);
int eng_pipe_start(am_pipe *p, const tts_doc *doc);
void eng_pipe_stop(am_pipe *p);
int eng_pipe_take_phonemes(tts_engine *e, am_pipe *p, tts_phonemes *ph);
int eng_pipe_take_frames(tts_engine *e, am_pipe *p, frame_sink *sink);

/* For tests/test_engine.c only, the same way: when it returns non-zero, the neural vocoder
 * works on a whole chunk at a time even at rate 1, so that the test can hold the streamed
 * output against the batched one. */
int tts__batch_hook(void) __attribute__((weak));

#endif
