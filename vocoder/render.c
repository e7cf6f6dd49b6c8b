/* The vocoder as the engine speaks through it: see render.h. */
#include "vocoder/render.h"

#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"

struct voc_render {
    const voc_model *m;
    voc_stream vs;
    int vs_ok;
    tts_sharpen *sharp; /* cfg.frame_sharpen > 0 */
    int sharpen;        /* this utterance */
    tts_envmatch *env;  /* cfg.env_passes > 0 */
    float *frame;       /* [n_mels]: the frame out of the sharpening */
    float *pcm;         /* [(la + 1) hop]: the network's samples of one push or finish */
    size_t max_out;
};

void voc_render_close(voc_render *r)
{
    if (!r)
        return;
    if (r->vs_ok)
        voc_stream_free(&r->vs);
    tts_sharpen_free(r->sharp);
    tts_envmatch_free(r->env);
    free(r->frame);
    free(r->pcm);
    free(r);
}

int voc_render_open(voc_render **out, const voc_model *m, tts_err *err)
{
    const voc_config *c = &m->cfg;
    voc_render *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return tts_seterr(err, TTS_E_NOMEM, "vocoder: out of memory");
    r->m = m;
    int rc = voc_stream_init(&r->vs, m, 1, err);
    r->vs_ok = rc == 0;
    if (!rc && c->env_passes > 0)
        rc = tts_envmatch_create(&r->env, &m->audio, c->env_passes, VOC_ENV_MAX_GAIN, err);
    if (!rc && c->frame_sharpen > 0)
        rc = tts_sharpen_create(&r->sharp, c->n_mels, c->frame_sharpen, c->frame_sharpen_w, err);
    r->max_out = (size_t)(c->lookahead + 1) * c->hop + (r->env ? tts_envmatch_delay(r->env) : 0);
    r->frame = malloc(sizeof(float) * (size_t)c->n_mels);
    r->pcm = malloc(sizeof(float) * (size_t)(c->lookahead + 1) * c->hop);
    if (!rc && (!r->frame || !r->pcm))
        rc = tts_seterr(err, TTS_E_NOMEM, "vocoder: out of memory");
    if (rc) {
        voc_render_close(r);
        return rc;
    }
    r->sharpen = r->sharp != NULL;
    *out = r;
    return TTS_OK;
}

void voc_render_reset(voc_render *r, uint64_t seed, int sharpen)
{
    voc_stream_reset(&r->vs, r->m, seed);
    if (r->env)
        tts_envmatch_reset(r->env);
    if (r->sharp)
        tts_sharpen_reset(r->sharp);
    r->sharpen = sharpen && r->sharp;
}

/* n network samples in r->pcm through the envelope match (final: its tail too) to out */
static int match(voc_render *r, size_t n, int final, float *out, size_t *n_out, tts_err *err)
{
    if (!r->env) {
        memcpy(out, r->pcm, sizeof(float) * n);
        *n_out = n;
        return TTS_OK;
    }
    size_t k = 0, k2 = 0;
    int rc = tts_envmatch_push(r->env, r->pcm, n, out, r->max_out, &k, err);
    if (!rc && final)
        rc = tts_envmatch_finish(r->env, out + k, r->max_out - k, &k2, err);
    *n_out = k + k2;
    return rc;
}

/* one frame (after any sharpening) into the network and the match */
static int network(voc_render *r, const float *f, float *out, size_t *n_out, tts_err *err)
{
    int rc = r->env ? tts_envmatch_push_frame(r->env, f, err) : TTS_OK;
    if (rc)
        return rc;
    int n = voc_stream_push(r->m, &r->vs, f, NULL, r->pcm);
    return match(r, (size_t)(n > 0 ? n : 0), 0, out, n_out, err);
}

int voc_render_push(voc_render *r, const float *frame, float *out, size_t *n, tts_err *err)
{
    *n = 0;
    if (r->sharpen) { /* its look-ahead: the frame some frames back, once there is one */
        if (!tts_sharpen_push(r->sharp, frame, r->frame))
            return TTS_OK;
        frame = r->frame;
    }
    return network(r, frame, out, n, err);
}

int voc_render_finish(voc_render *r, float *out, size_t *n, tts_err *err)
{
    size_t total = 0, k = 0;
    int rc = TTS_OK;
    while (!rc && r->sharpen && tts_sharpen_flush(r->sharp, r->frame)) {
        rc = network(r, r->frame, out + total, &k, err);
        total += k;
    }
    if (!rc) {
        int m = voc_stream_finish(r->m, &r->vs, NULL, r->pcm);
        rc = match(r, (size_t)(m > 0 ? m : 0), 1, out + total, &k, err);
        total += k;
    }
    *n = total;
    return rc;
}

size_t voc_render_max_out(const voc_render *r)
{
    return r->max_out;
}

size_t voc_render_max_tail(const voc_render *r)
{
    int h = r->sharp ? tts_sharpen_delay(r->sharp) : 0;
    return (size_t)(h + 1) * r->max_out;
}

size_t voc_render_delay_samples(const voc_render *r)
{
    int h = r->sharp ? tts_sharpen_delay(r->sharp) : 0;
    return (size_t)(h + r->m->cfg.lookahead) * r->m->cfg.hop +
           (r->env ? tts_envmatch_delay(r->env) : 0);
}
