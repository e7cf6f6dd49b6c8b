/*
 * The neural vocoder as the engine speaks through it: one object that turns log-mel frames
 * into speech, frame by frame.
 *
 *   frames -> sharpened in time (cfg.frame_sharpen, tts_sharpen; the look-ahead of its
 *             moving average) -> the network streamed (voc_stream_push: cfg.lookahead
 *             frames behind) -> the output's mel envelope held to the same frames in
 *             cfg.env_passes passes (tts_envmatch; its window behind) -> PCM
 *
 * Every user of the vocoder (lib/engine.c, bench/, tts-train eval) renders through this,
 * so what is measured is what is heard. Deterministic: the same frames and seed give the
 * same samples, whatever the pushes' timing.
 *
 * Usage: voc_render_open; per utterance voc_render_reset, voc_render_push for each frame
 * (0 or more samples come out), voc_render_finish (the rest); voc_render_close.
 * Not thread-safe: one render per thread (the model is shared read-only).
 */
#ifndef TTS_VOCODER_RENDER_H
#define TTS_VOCODER_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "vocoder/vocoder.h"

typedef struct voc_render voc_render;

/* A render of model m (kept by reference: it must outlive the render), with the audio
 * settings of m->audio. 0, or a status with err set. */
int voc_render_open(voc_render **out, const voc_model *m, tts_err *err);
void voc_render_close(voc_render *r); /* NULL is fine */

/* Starts an utterance: the network's noise from seed; sharpen 0 when the caller has
 * sharpened the frames already (tts_sharpen_frames before a change of rate). */
void voc_render_reset(voc_render *r, uint64_t seed, int sharpen);

/* The next frame (n_mels log-mel values). The samples now finished go to out (room for
 * voc_render_max_out), their count to *n. 0 or a status. */
int voc_render_push(voc_render *r, const float *frame, float *out, size_t *n, tts_err *err);
/* After the last frame: the remaining samples to out (room for voc_render_max_tail). An
 * utterance of F frames gives F * hop samples in all. */
int voc_render_finish(voc_render *r, float *out, size_t *n, tts_err *err);

size_t voc_render_max_out(const voc_render *r);
size_t voc_render_max_tail(const voc_render *r);
/* How far the samples out lag the frames in: frames of sharpening and network look-ahead,
 * then the envelope match's samples. */
size_t voc_render_delay_samples(const voc_render *r);

#endif
