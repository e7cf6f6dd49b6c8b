/* WAV -> log-mel -> Griffin-Lim -> WAV. */
#include "dsp/vocode.h"

#include <stdlib.h>

#include "audio/wav.h"
#include "dsp/dsp.h"

int tts_vocode_file(const char *in_wav, const char *out_wav, int griffin_lim_iters,
                    tts_err *err)
{
    if (!in_wav || !out_wav)
        return tts_seterr(err, TTS_E_INVALID, "vocode: NULL path");
    tts_audio_cfg cfg = tts_audio_cfg_default();
    float *pcm = NULL, *frames = NULL, *mag = NULL, *out = NULL;
    size_t n = 0, nf = 0;
    tts_mel *mel = NULL;
    int rc = tts_wav_read(in_wav, cfg.sample_rate, &pcm, &n, NULL, err);
    if (rc)
        return rc;
    if (n == 0) {
        rc = tts_seterr(err, TTS_E_INVALID, "vocode: '%s' has no samples", in_wav);
        goto done;
    }
    rc = tts_mel_create(&mel, &cfg, err);
    if (rc)
        goto done;
    rc = tts_mel_analyze(mel, pcm, n, &frames, &nf, err);
    if (rc)
        goto done;
    tts_stft *s = tts_mel_stft(mel);
    size_t nb = (size_t)tts_stft_n_bins(s);
    mag = malloc(nf * nb * sizeof *mag);
    out = malloc(n * sizeof *out);
    if (!mag || !out) {
        rc = tts_seterr(err, TTS_E_NOMEM, "vocode: out of memory for '%s'", in_wav);
        goto done;
    }
    tts_gl_params gp = tts_gl_default_params();
    gp.n_iter = griffin_lim_iters;
    rc = tts_mel_to_linear_nnls(mel, frames, nf, mag, gp.mel_nnls_iter, err);
    if (rc)
        goto done;
    rc = tts_griffin_lim(s, mag, nf, &gp, out, n, NULL, err);
    if (rc)
        goto done;
    if (tts_peak(out, n) > 0.99f)
        tts_normalize_peak(out, n, 0.99f);
    rc = tts_wav_write(out_wav, out, n, cfg.sample_rate, err);
done:
    tts_mel_free(mel);
    free(pcm);
    free(frames);
    free(mag);
    free(out);
    return rc;
}
