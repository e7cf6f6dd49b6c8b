/* Decoded frames to PCM and events: see engine_impl.h. */
#include "lib/engine_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int deliver(tts_engine *e, tts_audio_cb cb, void *user, const float *pcm, size_t n,
                   uint64_t start, const tts_event *ev, size_t n_ev);
static int render_frame(frame_sink *s, const float *f);

/* whether symbol id is a phoneme of its own (not a pause, boundary, special or a mark
 * that modifies the symbol before it: stress, length, diacritics) */
static int is_phoneme(const tts_symtab *tab, int id)
{
    if (id == tts_symtab_special(tab, TTS_SYM_SPACE) || id == tts_symtab_special(tab, TTS_SYM_PAD) ||
        id == tts_symtab_special(tab, TTS_SYM_BOS) || id == tts_symtab_special(tab, TTS_SYM_EOS))
        return 0;
    const char *n = tts_symtab_name(tab, id);
    if (!n)
        return 0;
    if (n[0] == ',' || n[0] == '.' || n[0] == '?' || n[0] == '!' || n[0] == ';')
        return 0;
    return !tts_symtab_is_mark(tab, id);
}

/* MARK events, into ev (room for max), for the document's marks before source byte
 * src_end that were not reported yet, at sample; their count */
static size_t mark_events(tts_engine *e, const tts_doc *doc, size_t src_end, uint64_t sample,
                          tts_event *ev, size_t max)
{
    size_t n = 0;
    while (n < max && e->next_mark < doc->n_marks && doc->marks[e->next_mark].src_off < src_end) {
        const tts_mark *m = &doc->marks[e->next_mark++];
        ev[n++] = (tts_event){TTS_EVENT_MARK, m->src_off, m->src_len, sample, "", m->name};
    }
    return n;
}

/* the marks before source byte src_end, delivered now (with no audio) at sample pos */
int eng_deliver_marks(tts_engine *e, const tts_doc *doc, size_t src_end, uint64_t pos,
                         tts_audio_cb cb, void *user)
{
    tts_event ev[16];
    size_t n;
    while ((n = mark_events(e, doc, src_end, pos, ev, 16)))
        if (cb(NULL, 0, ev, n, user))
            return tts_seterr(&e->err, TTS_E_CANCELLED, "synthesis cancelled by the callback");
    return TTS_OK;
}

/* queues the word and phoneme events of every id up to token pos (each word's marks before
 * its WORD event) */
static void queue_events(frame_sink *s, int pos, uint64_t sample)
{
    const tts_phonemes *ph = s->ph;
    const tts_symtab *tab = tts_frontend_symbols(s->e->fe);
    while (s->next_id < ph->n_ids && (long)s->next_id <= (long)pos) {
        size_t i = s->next_id++;
        while (s->next_word < ph->n_words &&
               ph->words[s->next_word].first_id + ph->words[s->next_word].n_ids <= i)
            s->next_word++;
        if (s->next_word >= ph->n_words || i < ph->words[s->next_word].first_id)
            continue; /* BOS, EOS, a boundary or pause between words */
        const tts_word *w = &ph->words[s->next_word];
        size_t so, sl;
        tts_doc_source_span(s->doc, s->chunk_off + w->offset, s->chunk_off + w->offset + w->length,
                            &so, &sl);
        if (i == w->first_id) {
            s->n_ev += mark_events(s->e, s->doc, so, sample, s->ev + s->n_ev, s->doc->n_marks);
            s->ev[s->n_ev++] = (tts_event){TTS_EVENT_WORD, so, sl, sample, "", NULL};
        }
        if (is_phoneme(tab, ph->ids[i])) {
            tts_event *v = &s->ev[s->n_ev++];
            *v = (tts_event){TTS_EVENT_PHONEME, so, sl, sample, "", NULL};
            snprintf(v->phoneme, sizeof v->phoneme, "%s", tts_symtab_name(tab, ph->ids[i]));
        }
    }
}

static int stream_out(frame_sink *s, float *pcm, size_t n)
{
    float vol = s->volume;
    for (size_t i = 0; i < n; i++) {
        float v = pcm[i] * vol;
        pcm[i] = v > 1 ? 1 : v < -1 ? -1 : v;
    }
    /* the events that fall in or before this chunk (the vocoder's look-ahead and the
     * envelope match delay the audio behind the decoder steps that queued them) */
    uint64_t end = s->pos0 + s->delivered + n;
    size_t k = 0;
    while (k < s->n_ev && (s->ev[k].sample <= end || s->final))
        k++;
    for (size_t i = 0; i < k; i++) /* the final ones: none past the audio (the decoder can
                                    * stop a frame beyond the vocoder's last sample) */
        s->ev[i].sample = s->ev[i].sample < end ? s->ev[i].sample : end;
    if (n == 0 && k == 0)
        return 0;
    int rc = deliver(s->e, s->cb, s->user, pcm, n, s->pos0 + s->delivered, s->ev, k);
    memmove(s->ev, s->ev + k, (s->n_ev - k) * sizeof *s->ev);
    s->n_ev -= k;
    s->delivered += n;
    if (rc)
        s->failed = rc;
    return rc;
}


/* scaled frame i of n (n 0: not known yet) from the ring, as time_scale() makes it */
static int scale_emit(frame_sink *s, size_t i, size_t n)
{
    const int nm = s->n_mels;
    double x = i * (double)s->rate;
    size_t a = (size_t)x;
    if (n && a >= n - 1)
        a = n - 1;
    size_t b = !n || a + 1 < n ? a + 1 : a;
    float w = (float)(x - a);
    const float *fa = s->ring + (a % SCALE_RING) * nm, *fb = s->ring + (b % SCALE_RING) * nm;
    for (int k = 0; k < nm; k++)
        s->tmp[k] = (1 - w) * fa[k] + w * fb[k];
    s->n_out++;
    return render_frame(s, s->tmp);
}

/* a sharpened frame in; out every scaled frame that it completes (one whose two frames are
 * in and which time_scale() would make whatever the chunk's length: (i + 1) <= n_in / rate) */
static int scale_take(frame_sink *s, const float *g)
{
    memcpy(s->ring + (s->n_in % SCALE_RING) * s->n_mels, g, sizeof(float) * s->n_mels);
    s->n_in++;
    for (;;) {
        size_t i = s->n_out;
        if ((size_t)(i * (double)s->rate) + 1 > s->n_in - 1 ||
            (double)(i + 1) > (double)s->n_in / s->rate)
            return 0;
        if (scale_emit(s, i, 0))
            return 1;
    }
}

/* the chunk's end: the sharpener's last frames, then the scaled frames left, up to
 * time_scale()'s count */
static int scale_finish(frame_sink *s)
{
    tts_sharpen *sh = s->e->sharpen;
    while (sh && tts_sharpen_flush(sh, s->tmp))
        if (scale_take(s, s->tmp))
            return 1;
    size_t n = s->n_in, m = n ? (size_t)((double)n / s->rate) : 0;
    if (n && m < 1)
        m = 1;
    while (s->n_out < m)
        if (scale_emit(s, s->n_out, n))
            return 1;
    return 0;
}

/* one frame through the neural vocoder; the samples it finished delivered */
static int vocode_frame(frame_sink *s, const float *f)
{
    if (s->scaled) {
        tts_sharpen *sh = s->e->sharpen;
        float *g = s->tmp;
        if (sh && !tts_sharpen_push(sh, f, g))
            return 0;
        return scale_take(s, sh ? g : f);
    }
    return render_frame(s, f);
}

/* one (sharpened, scaled) frame through the network and the envelope match */
static int render_frame(frame_sink *s, const float *f)
{
    size_t n = 0;
    int rc = voc_render_push(s->e->render, f, s->pcm, &n, &s->e->err);
    if (!rc)
        rc = stream_out(s, s->pcm, n);
    if (rc && !s->failed)
        s->failed = rc;
    return rc;
}

int eng_on_frames(const float *frames, int r, int pos, void *user)
{
    frame_sink *s = user;
    if ((s->n + r) * s->n_mels > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8192;
        while (nc < (s->n + r) * s->n_mels)
            nc *= 2;
        float *f = realloc(s->frames, nc * sizeof(float));
        if (!f)
            return s->failed = TTS_E_NOMEM, 1;
        s->frames = f;
        s->cap = nc;
    }
    if (s->steps + 1 > s->steps_cap) {
        size_t nc = s->steps_cap ? s->steps_cap * 2 : 256;
        int *t = realloc(s->token_at_step, nc * sizeof(int));
        if (!t)
            return s->failed = TTS_E_NOMEM, 1;
        s->token_at_step = t;
        s->steps_cap = nc;
    }
    memcpy(s->frames + s->n * s->n_mels, frames, sizeof(float) * r * s->n_mels);
    s->n += r;
    s->token_at_step[s->steps++] = pos;
    if (!s->stream)
        return 0;
    queue_events(s, pos,
                 s->pos0 + (uint64_t)((s->steps - 1) * ((double)s->samples_per_step / s->rate)));
    for (int j = 0; j < r; j++)
        if (vocode_frame(s, frames + (size_t)j * s->n_mels))
            return 1;
    return 0;
}


/* time-scales log-mel frames by linear interpolation: rate > 1 is faster (fewer frames) */
static float *time_scale(const float *in, size_t n, int nm, float rate, size_t *n_out)
{
    size_t m = (size_t)((double)n / rate);
    if (m < 1)
        m = 1;
    float *out = malloc(m * nm * sizeof(float));
    if (!out)
        return NULL;
    for (size_t i = 0; i < m; i++) {
        double x = i * (double)rate;
        size_t a = (size_t)x;
        if (a >= n - 1)
            a = n - 1;
        size_t b = a + 1 < n ? a + 1 : a;
        float w = (float)(x - a);
        for (int k = 0; k < nm; k++)
            out[i * nm + k] = (1 - w) * in[a * nm + k] + w * in[b * nm + k];
    }
    *n_out = m;
    return out;
}

/* n more samples of this call (silence: of them), within the limits */
static int count_audio(tts_engine *e, size_t n, int silence)
{
    e->call_audio += n;
    e->call_silence += silence ? n : 0;
    if (e->call_silence > e->max_silence)
        return tts_seterr(&e->err, TTS_E_INVALID, "the text asks for more than %.0f s of "
                          "silence (breaks and pauses; tts_options.max_silence)",
                          (double)e->max_silence / e->audio.sample_rate);
    if (e->call_audio > e->max_audio)
        return tts_seterr(&e->err, TTS_E_INVALID, "the text makes more than %.0f s of audio "
                          "(tts_options.max_seconds)", (double)e->max_audio / e->audio.sample_rate);
    return TTS_OK;
}

static int deliver(tts_engine *e, tts_audio_cb cb, void *user, const float *pcm, size_t n,
                   uint64_t start, const tts_event *ev, size_t n_ev)
{
    int rc = count_audio(e, n, 0);
    if (rc)
        return rc;
    size_t done = 0;
    do {
        size_t k = n - done < CHUNK ? n - done : CHUNK, m = 0;
        /* each callback the events up to its end (in order of their samples); the last
         * one the rest, which the caller has clamped to the audio's end */
        while (m < n_ev && (done + k == n || ev[m].sample <= start + done + k))
            m++;
        if (cb(pcm + done, k, m ? ev : NULL, m, user))
            return tts_seterr(&e->err, TTS_E_CANCELLED, "synthesis cancelled by the callback");
        ev += m;
        n_ev -= m;
        done += k;
    } while (done < n);
    return TTS_OK;
}

/* ns samples of silence, the first call carrying ev (if any) */
int eng_silence(tts_engine *e, tts_audio_cb cb, void *user, size_t ns, const tts_event *ev,
                   uint64_t *pos)
{
    float zeros[1024] = {0};
    int rc = count_audio(e, ns, 1);
    if (rc)
        return rc;
    for (size_t done = 0, first = 1; done < ns || (first && ev); first = 0) {
        size_t k = ns - done < 1024 ? ns - done : 1024;
        if (cb(zeros, k, first ? ev : NULL, first && ev ? 1 : 0, user))
            return tts_seterr(&e->err, TTS_E_CANCELLED, "synthesis cancelled by the callback");
        done += k;
    }
    *pos += ns;
    return TTS_OK;
}

int eng_sink_open(frame_sink *s, tts_engine *e, const tts_doc *doc, const plan_item *c,
                  const tts_phonemes *ph, float rate, uint64_t pos, tts_audio_cb cb, void *user)
{
    *s = (frame_sink){.n_mels = e->audio.n_mels, .e = e, .cb = cb, .user = user, .doc = doc,
                      .chunk_off = c->off, .volume = e->opts.volume * c->volume, .pos0 = pos,
                      .ph = ph, .rate = rate};
    s->ev = calloc(ph->n_words + ph->n_ids + 2 + doc->n_marks, sizeof *s->ev);
    if (e->voc_loaded)
        s->pcm = malloc(sizeof(float) * voc_render_max_tail(e->render));
    /* stream through the neural vocoder step by step; otherwise vocode the whole chunk */
    s->stream = e->voc_loaded && !(tts__batch_hook && tts__batch_hook());
    s->scaled = s->stream && rate != 1.0f;
    if (s->scaled)
        s->ring = malloc(sizeof(float) * (SCALE_RING + 1) * e->audio.n_mels);
    if (!s->ev || (e->voc_loaded && !s->pcm) || (s->scaled && !s->ring))
        return tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
    if (s->scaled) {
        s->tmp = s->ring + SCALE_RING * e->audio.n_mels;
        if (e->sharpen)
            tts_sharpen_reset(e->sharpen);
    }
    s->samples_per_step = (size_t)e->am.cfg.r * e->audio.hop_length;
    if (e->voc_loaded) /* streamed at rate 1, it sharpens; else the frames are sharpened
                        * before they are time-scaled */
        voc_render_reset(e->render, 1, s->stream && !s->scaled);
    return TTS_OK;
}

void eng_sink_free(frame_sink *s)
{
    free(s->frames);
    free(s->token_at_step);
    free(s->ev);
    free(s->pcm);
    free(s->ring);
    memset(s, 0, sizeof *s);
}

/* streamed: the frames still in the scaler, the sharpener and the vocoder */
static int finish_stream(frame_sink *s, size_t src_end, uint64_t *pos)
{
    tts_engine *e = s->e;
    size_t n = 0;
    int rc;
    if (s->scaled && scale_finish(s))
        return s->failed;
    if ((rc = voc_render_finish(e->render, s->pcm, &n, &e->err)))
        return rc;
    /* any never reached: where the decoder stopped; then the chunk's marks after its last
     * word */
    uint64_t end = *pos + (s->scaled ? s->n_out : s->n) * e->audio.hop_length;
    queue_events(s, (int)s->ph->n_ids, end);
    s->n_ev += mark_events(e, s->doc, src_end, end, s->ev + s->n_ev, s->doc->n_marks);
    s->final = 1;
    if ((rc = stream_out(s, s->pcm, n)))
        return rc;
    *pos += s->delivered;
    return TTS_OK;
}

/* the chunk's frames into PCM at once: frames sharpened (the neural vocoder's), time-scaled,
 * then vocoded (neural, or Griffin-Lim) */
static int render_chunk(frame_sink *s, float **pcm, size_t *np)
{
    tts_engine *e = s->e;
    size_t nf = s->n;
    const float *frames = s->frames;
    float *scaled = NULL;
    int rc;
    *pcm = NULL;
    *np = 0;
    /* the neural vocoder's sharpening, as the stream does it (before any rate change: it
     * works on the acoustic model's own time axis) */
    if (e->voc_loaded && e->voc.cfg.frame_sharpen > 0 &&
        (rc = tts_sharpen_frames(s->frames, s->n, e->audio.n_mels, e->voc.cfg.frame_sharpen,
                                 e->voc.cfg.frame_sharpen_w, &e->err)))
        return rc;
    if (s->rate != 1.0f) {
        if (!(scaled = time_scale(s->frames, s->n, e->audio.n_mels, s->rate, &nf)))
            return tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
        frames = scaled;
    }
    if (e->voc_loaded) {
        *pcm = malloc(sizeof(float) * (nf * e->audio.hop_length + voc_render_max_out(e->render) +
                                       voc_render_max_tail(e->render)));
        rc = *pcm ? TTS_OK : tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
        size_t k = 0;
        for (size_t f = 0; f < nf && !rc; f++, *np += k)
            rc = voc_render_push(e->render, frames + f * e->audio.n_mels, *pcm + *np, &k, &e->err);
        if (!rc && !(rc = voc_render_finish(e->render, *pcm + *np, &k, &e->err)))
            *np += k;
    } else {
        tts_gl_params gp = tts_gl_default_params();
        if (e->opts.griffin_lim_iters > 0)
            gp.n_iter = e->opts.griffin_lim_iters;
        rc = tts_mel_synthesize(e->mel, frames, nf, &gp, pcm, np, &e->err);
    }
    free(scaled);
    return rc;
}

/* batched: the whole chunk rendered, then its word and phoneme events (where the attention
 * first reached each id, on the scaled time axis), its marks and its audio */
static int finish_batch(frame_sink *s, size_t src_end, uint64_t *pos)
{
    float *pcm;
    size_t np;
    int rc = render_chunk(s, &pcm, &np);
    if (!rc) {
        double samples_per_step = (double)s->samples_per_step / s->rate;
        for (size_t step = 0; step < s->steps; step++)
            queue_events(s, s->token_at_step[step], *pos + (uint64_t)(step * samples_per_step));
        queue_events(s, (int)s->ph->n_ids, *pos + (uint64_t)(s->steps * samples_per_step));
        s->n_ev += mark_events(s->e, s->doc, src_end, *pos + np, s->ev + s->n_ev,
                                   s->doc->n_marks);
        s->final = 1;
        if (!(rc = stream_out(s, pcm, np)))
            *pos += np;
    }
    free(pcm);
    return rc;
}

int eng_sink_finish(frame_sink *s, size_t src_end, uint64_t *pos)
{
    return s->stream ? finish_stream(s, src_end, pos) : finish_batch(s, src_end, pos);
}
