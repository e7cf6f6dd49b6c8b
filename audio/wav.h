/*
 * audio/wav.h — audio files (libsndfile) and raw PCM output.
 *
 * Reading: any file libsndfile reads (WAV, FLAC, AIFF, OGG, ...; the name is kept for
 * the common case) becomes float mono samples in [-1, 1) at the sample rate the caller
 * asks for:
 *   - several channels are mixed down to their average;
 *   - another sample rate is converted with a windowed-sinc resampler (bandlimited
 *     interpolation, J. O. Smith): a sinc low-pass at 0.94 x the lower Nyquist
 *     frequency, Kaiser window (beta 9) over 64 zero crossings each side, the kernel
 *     computed exactly for each of the out/in phases (polyphase bank). Measured
 *     22050 -> 16000 Hz: flat within 0.002 dB up to 7.2 kHz (0.9 x the output Nyquist),
 *     -1.3 dB at 7.4 kHz, -12 dB at 7.6 kHz; tones above 8 kHz (which would alias)
 *     are attenuated by more than 95 dB (see tests/test_audio.c). The output has
 *     ceil(n * out_rate / in_rate) samples, aligned at t = 0 (no delay).
 * Integer files are scaled by 1/32768 (libsndfile's default), so 16-bit files round-trip
 * exactly through tts_wav_writer.
 *
 * Writing: tts_wav_writer streams 16-bit PCM mono WAV. Samples are scaled by 32768,
 * rounded, and saturated to [-32768, 32767] (NaN becomes 0). A regular file is written
 * under a temporary name in the same folder and renamed to its final name by a
 * successful tts_wav_writer_close, so the path never holds a half-written file: after any
 * failure (a full disk, an unwritable folder, a write error) the temporary is removed and
 * whatever was at the path before is left as it was. A path that exists and is not a
 * regular file (a FIFO, a character device such as /dev/stdout or /dev/full) is written
 * directly and never removed; its header cannot be patched at the end (no seek), which
 * libsndfile reports as an error only when it cannot write at all.
 *
 * Raw output: tts_raw_write_s16le writes little-endian signed 16-bit samples to a file
 * descriptor (e.g. stdout for `tts --raw | aplay`). A closed pipe is reported as
 * TTS_E_IO ("output pipe closed"), never by death from SIGPIPE: the function blocks
 * SIGPIPE in the calling thread while it writes and discards the one it raised.
 *
 * Errors: a missing / unreadable / unwritable path is TTS_E_IO, a file that is not audio
 * or is malformed is TTS_E_FORMAT; messages name the file and the reason.
 *
 * Thread safety: all functions are reentrant; a writer is used by one thread at a time.
 */
#ifndef TTS_AUDIO_WAV_H
#define TTS_AUDIO_WAV_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct {
    int sample_rate;    /* of the file */
    int channels;       /* of the file */
    long long frames;   /* of the file (per channel) */
} tts_wav_info;

/* Reads path into *pcm (malloc'd, free() it; never NULL on success, even for an empty
 * file) of *n mono samples at target_rate Hz (> 0; or 0 to keep the file's rate).
 * info (may be NULL) receives what the file held. */
int tts_wav_read(const char *path, int target_rate, float **pcm, size_t *n,
                 tts_wav_info *info, tts_err *err);

/* Windowed-sinc sample-rate conversion (see above) of in[0..n_in) from in_rate to
 * out_rate Hz into *out (malloc'd) of *n_out = ceil(n_in * out_rate / in_rate)
 * samples. Equal rates copy. */
int tts_resample(const float *in, size_t n_in, int in_rate, int out_rate, float **out,
                 size_t *n_out, tts_err *err);

/* Streaming mono audio writer: 16-bit PCM WAV, or by the path's extension FLAC (.flac),
 * Ogg Vorbis (.ogg, .oga), Opus (.opus), MP3 (.mp3) through libsndfile (TTS_E_INVALID
 * where it has no such encoder, or for those into a pipe, which takes WAV). */
typedef struct tts_wav_writer tts_wav_writer;

int tts_wav_writer_open(tts_wav_writer **w, const char *path, int sample_rate,
                        tts_err *err);
/* The same in a format by name whatever the extension (NULL: by the extension): "wav",
 * "wav-float" (32-bit float samples), "flac", "ogg", "opus", "mp3"; another name is
 * TTS_E_INVALID listing them. */
int tts_wav_writer_open_as(tts_wav_writer **w, const char *path, const char *format_name,
                           int sample_rate, tts_err *err);
/* A 16-bit WAV stream to an open descriptor (standard output), written in place: sizes
 * patched at the end where fd seeks, a streaming header where it is a pipe. name is for
 * messages; fd stays open after the writer closes (it writes through a copy). */
int tts_wav_writer_open_fd(tts_wav_writer **w, int fd, const char *name, int sample_rate,
                           tts_err *err);
/* Appends n samples. After a failure the writer refuses further writes (same status);
 * call tts_wav_writer_close (or _abort) to remove the temporary file. */
int tts_wav_writer_write(tts_wav_writer *w, const float *pcm, size_t n, tts_err *err);
/* Finishes the header, closes, and moves the file into place. On any failure (now or
 * earlier) nothing is left at the path (regular files) and the status says why. Always
 * frees w (NULL is fine). */
int tts_wav_writer_close(tts_wav_writer *w, tts_err *err);
/* Gives up: closes, removes the temporary, frees w (NULL is fine). */
void tts_wav_writer_abort(tts_wav_writer *w);
/* Samples written so far. */
size_t tts_wav_writer_samples(const tts_wav_writer *w);

/* Convenience: the whole signal in one go (open, write, close). */
int tts_wav_write(const char *path, const float *pcm, size_t n, int sample_rate,
                  tts_err *err);

/* A float sample as 16-bit PCM: times 32768, rounded, saturated; NaN is 0 */
static inline int16_t tts_s16(float x)
{
    if (!(x == x))
        return 0;
    float v = x * 32768.0f;
    if (v >= 32767.0f)
        return 32767;
    if (v <= -32768.0f)
        return -32768;
    return (int16_t)lrintf(v);
}

/* The 44-byte header of a 16-bit mono WAV stream of unknown length (RIFF and data sizes
 * 0xFFFFFFFF, as readers of a pipe expect) */
void tts_wav_stream_header(unsigned char h[44], int rate);

/* Writes n samples to fd as s16le (scaled and saturated as above), retrying partial
 * writes and EINTR. TTS_E_IO on EPIPE ("output pipe closed") or any other error. */
int tts_raw_write_s16le(int fd, const float *pcm, size_t n, tts_err *err);

#endif
