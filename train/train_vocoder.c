/*
 * tts-train vocoder: trains the neural vocoder (vocoder/vocoder.h, through the batched
 * passes of train/voc_train.h) on the ground-truth mels and waveforms of a dataset cache
 * (its "audio" tensor), on random crops of the training split, with the multi-resolution
 * STFT loss. All cores: one worker thread per core, each with its own gradient buffer and
 * scratch, BLAS single-threaded inside (as tts-train acoustic).
 *
 * Each crop: `--crop` frames whose loss counts, preceded by up to `--ctx` frames that only
 * give the layers their history (as streaming has it), with the look-ahead frames after
 * it. Crops, their positions and their noise are a deterministic function of the step, so
 * a resumed run continues exactly.
 *
 * RUN_DIR: ckpt.ltm (model + Adam state; resumed from; written every --ckpt-every steps and
 * at the end, atomically), best.ltm (best validation loss), train.log, val_ref.wav (the
 * first validation clip as recorded) and val_STEP.wav (that clip vocoded, streamed, from
 * its recorded mel) every --wav-every steps, with its log-mel L1 to the recording's mel.
 *
 * Fine-tuning (--tf-mels TF.ltm from `tts-train tfmels`, --tf-mix P): a share P of the
 * crops take their conditioning from the acoustic model's teacher-forced mels instead of
 * the recorded ones (the target waveform stays the recording). Validation and the
 * val_STEP.wav clips then use the teacher-forced mels too, and the best validation loss
 * is kept under its own key, so best.ltm means "best on what the acoustic model makes".
 *
 * --tf-sharpen A W: the predicted frames are sharpened first (tts_sharpen: amount A, width W
 * frames), as a vocoder exported with --frame-sharpen A W sharpens them at inference, so
 * the network learns to render the frames it will be given.
 *
 * Source (src 2, the default for a new model): the network gets, beside the noise, the
 * harmonic excitation of vocoder/pitch.h at the recording's F0 (tracked once at start,
 * voc_pitch_track), and its pitch head learns to read that F0 and the voicing from the
 * mel (voc_pitch_train, weight --pitch-weight), which is where the excitation comes from
 * at inference. --init OLD.ltm starts a new run from an older vocoder's weights (every
 * tensor of the same name and size; the noise rows of the input layer). With --lookahead N
 * above OLD's (1 or more), its conditioning convs get the taps N needs, OLD's weights
 * shifted in (voc_cond_grow): the run starts from OLD's output and learns what the new
 * frames of look-ahead say.
 *
 * --mel-weight W adds W times a log-mel L1 term (voc_stft_loss_set_mel): the output's
 * log-mel, analysed as the cache's frames are, against the frames the crop is conditioned
 * on (recorded, or with --tf-mels the acoustic model's): the network learns to render the
 * envelope it is given, the job the envelope match does after it at inference.
 * --tf-stft-weight W weighs the STFT terms against the recording in the crops on predicted
 * frames (default 1; 0: those crops learn only to render their frames, since the
 * recording is not what those frames say, only what they approximate).
 *
 * --adv-weight A (0: off) adds the critics of train/disc.h (LSGAN; periods
 * --disc-periods, default 1,2,3,5,7): each step they learn, on the same crops, to tell the
 * recordings from the network's output (Adam, --disc-lr, betas 0.8 / 0.99), and the network
 * gets A x their adversarial term plus --fm-weight F x feature matching (the critics'
 * layer outputs on its output against those on the recording; on predicted frames times
 * --tf-stft-weight, as the STFT terms). For their first --disc-warmup steps the critics
 * learn alone. RUN/disc.ltm holds them and their optimizer, written with ckpt.ltm and
 * resumed from. Validation losses leave the critics out, so best.ltm stays comparable.
 *
 * --ema D (0: off) keeps an exponential moving average of the weights, after every update
 * ema += (1 - D) (w - ema), started from the weights the run starts or resumes with
 * (D = 0.999: an average over about the last 1,000 steps). The network the step's noise
 * and crops leave is one sample of a wandering optimum; the average is steadier. It is
 * validated beside the live weights (`val-ema` lines), written to RUN/ema.ltm with every
 * checkpoint (and resumed from), and its best to RUN/best_ema.ltm; export either.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cblas.h>

#include "acoustic/voice_io.h"
#include "audio/wav.h"
#include "train/dataset.h"
#include "train/disc.h"
#include "train/parallel.h"
#include "train/tfmels.h"
#include "train/train.h"
#include "train/voc_train.h"
#include "vocoder/pitch.h"
#include "vocoder/vocoder.h"
#include "vocoder/vocoder_io.h"

#define VOC_MAX_CROP 512 /* frames of one crop, context included */

typedef struct {
    int utt, start, ctx, crop; /* frames */
    int tf;                    /* condition on the teacher-forced mels (2: extrapolated) */
    uint64_t noise_seed;
} crop_spec;

typedef struct {
    const voc_model *m;
    const voc_stft_loss *L, *L_tf; /* the loss of crops on recorded / predicted frames */
    const tts_dataset *ds;
    const float *tf_mel; /* teacher-forced mels in the cache's layout, or NULL */
    const float *f0, *f0_fill; /* tracked F0 of every frame (0 = unvoiced), gaps filled */
    float pitch_weight, tf_extrapolate;
    int tf_pitch; /* crops on predicted frames: the excitation at the pitch head's F0 */
    float *phead; /* [VOC_MAX_CROP, 2]: its outputs on a crop's frames */
    float *xmel; /* [VOC_MAX_CROP, n_mels]: extrapolated teacher-forced frames */
    const crop_spec *crops;
    int n_crops, stride, first;
    float *grads; /* NULL: forward only */
    float grad_scale;
    voc_arena arena;
    float *noise, *exc, *src; /* a crop's noise, excitation, their interleaving (src 2) */
    size_t noise_cap;
    double sc, mag, total, pitch, melt; /* melt: the log-mel term */
    /* the critics (--adv-weight; dw.disc NULL: none in this pass) */
    disc_worker dw;
    double adv_w, fm_w; /* 0 while the critics warm up */
    double fm_crop;     /* fm_w for this crop: times the STFT weight on predicted frames */
    const float *target; /* the current crop's recording */
    int rc;
} worker;

/* the critics' terms as the network's loss hook (train/disc.h): the critics learn on this
 * crop (into dgrads) and the network gets its adversarial + feature-matching gradient */
static double adv_hook(void *ctx, const float *y, float *dy, int n, double scale)
{
    worker *w = ctx;
    double loss;
    int rc = disc_worker_crop(&w->dw, w->target, y, n, w->grad_scale, dy, w->adv_w, w->fm_crop,
                              scale, &loss);
    return rc ? rc : loss;
}

/* the crop buffers for need samples, grown when a crop is longer than any before */
static int crop_buffers(worker *w, size_t need)
{
    if (need <= w->noise_cap)
        return TTS_OK;
    free(w->noise);
    free(w->exc);
    free(w->src);
    w->noise = malloc(need * sizeof(float));
    w->exc = malloc(need * sizeof(float));
    w->src = malloc(2 * need * sizeof(float));
    w->noise_cap = w->noise && w->exc && w->src ? need : 0;
    return w->noise_cap ? TTS_OK : TTS_E_NOMEM;
}

/* The nf frames crop cs is conditioned on, from frame s0 of its take: recorded, predicted,
 * or with cs->tf == 2 recorded + a (predicted - recorded), the acoustic model's errors on
 * the training takes made as large as on unseen text (a > 1). NULL: out of memory. */
static const float *crop_mel(worker *w, const crop_spec *cs, int s0, int nf)
{
    const tts_dataset *ds = w->ds;
    int nm = ds->n_mels;
    size_t u0 = (size_t)ds->mel_off[cs->utt];
    const float *melsrc = cs->tf && w->tf_mel ? w->tf_mel : ds->mel;
    const float *mel = melsrc + (u0 + s0) * nm;
    if (cs->tf != 2 || !w->tf_mel)
        return mel;
    if (!w->xmel && !(w->xmel = malloc(sizeof(float) * VOC_MAX_CROP * nm)))
        return NULL;
    const float *gt = ds->mel + (u0 + s0) * nm;
    float a = w->tf_extrapolate;
    for (size_t i = 0; i < (size_t)nf * nm; i++)
        w->xmel[i] = gt[i] + a * (mel[i] - gt[i]);
    return w->xmel;
}

/* src 2: the crop's source, its noise (w->noise) and the excitation at the recording's F0
 * interleaved into w->src. Block t glides from frame t + e - 1 to t + e (voc_exc_offset),
 * as at inference; the oscillator starts at a random phase from *r. With --tf-pitch, crops
 * on predicted frames take the F0 and voicing the pitch head reads from them, as at
 * inference, instead of the recording's, which those frames only approximate (their
 * harmonics would sit where the excitation's are not). */
static int crop_source(worker *w, const crop_spec *cs, const float *mel, int s0, int nf,
                       int nb, uint64_t *r)
{
    const voc_config *c = &w->m->cfg;
    int F = tts_dataset_n_frames(w->ds, cs->utt);
    size_t u0 = (size_t)w->ds->mel_off[cs->utt];
    float fa[VOC_MAX_CROP + 1], va[VOC_MAX_CROP + 1], hf[VOC_MAX_CROP], hv[VOC_MAX_CROP];
    int head = cs->tf && w->tf_pitch;
    if (head) {
        if ((!w->phead && !(w->phead = malloc(sizeof(float) * 2 * VOC_MAX_CROP))) ||
            voc_pitch_forward(w->m, mel, nf, w->phead, &w->arena))
            return TTS_E_NOMEM;
        voc_pitch_decode(w->phead, nf, hf, hv);
    }
    for (int t = 0; t <= nb && t <= VOC_MAX_CROP; t++) {
        int f = s0 + t + voc_exc_offset(c) - 1;
        f = f < 0 ? 0 : f >= F ? F - 1 : f;
        if (head) {
            int row = f - s0 < 0 ? 0 : f - s0 >= nf ? nf - 1 : f - s0; /* in the crop */
            fa[t] = hf[row];
            va[t] = hv[row];
        } else {
            fa[t] = w->f0_fill[u0 + f];
            va[t] = w->f0[u0 + f] > 0;
        }
    }
    voc_osc osc = {6.283185307179586 * nn_rand_uniform(r)};
    voc_osc_run(&osc, fa, va, nb, c->hop, c->sample_rate, w->exc);
    const float *ch[2] = {w->noise, w->exc};
    voc_source_interleave(ch, 2, (size_t)nb * c->hop, c->fold, w->src);
    return TTS_OK;
}

/* The crop through the network and its loss (hook: the critics' terms, or NULL), and with
 * src 2 the pitch head's loss: gradients into w->grads, the losses into the worker's sums. */
static int crop_step(worker *w, const crop_spec *cs, const float *mel, int s0, int nf, int nb,
                     const float *source, const voc_loss_hook *hook)
{
    const tts_dataset *ds = w->ds;
    const voc_config *c = &w->m->cfg;
    size_t u0 = (size_t)ds->mel_off[cs->utt];
    const float *target = ds->pcm + (u0 + cs->start) * c->hop;
    voc_loss_val v;
    w->target = target;
    /* feature matching compares with the recording, which predicted frames only
     * approximate: weighed as the STFT terms are on them */
    w->fm_crop = cs->tf ? w->fm_w * w->L_tf->stft_weight : w->fm_w;
    int rc = voc_train_crop_ex(w->m, cs->tf ? w->L_tf : w->L, mel, nf, nb, cs->ctx, source,
                               target, w->grads, w->grad_scale, &w->arena, &v, NULL, hook);
    if (!rc && c->src == 2) {
        /* the pitch head's target is the recording's F0, which predicted frames only
         * approximate (their melody is the acoustic model's): weighed as the STFT terms */
        double pl = 0, pw = cs->tf ? w->pitch_weight * w->L_tf->stft_weight : w->pitch_weight;
        rc = voc_pitch_train(w->m, mel, nf, w->f0 + u0 + s0, w->grads,
                             (float)(w->grad_scale * pw), &w->arena, &pl);
        w->pitch += pl;
    }
    if (rc)
        return rc;
    w->sc += v.sc;
    w->mag += v.mag;
    w->melt += v.mel;
    w->total += v.total;
    return TTS_OK;
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    const tts_dataset *ds = w->ds;
    const voc_config *c = &w->m->cfg;
    w->sc = w->mag = w->total = w->pitch = w->melt = 0;
    w->dw.sum = (disc_loss){0};
    w->rc = 0;
    voc_loss_hook hook = {adv_hook, NULL, w};
    /* the critics learn and teach only in training steps, not in validation */
    const voc_loss_hook *hk = w->dw.disc && w->grads ? &hook : NULL;
    for (int k = w->first; k < w->n_crops; k += w->stride) {
        const crop_spec *cs = &w->crops[k];
        int F = tts_dataset_n_frames(ds, cs->utt);
        int s0 = cs->start - cs->ctx, nb = cs->ctx + cs->crop;
        int end = cs->start + cs->crop + c->lookahead;
        int nf = (end < F ? end : F) - s0;
        size_t need = (size_t)nb * c->hop;
        if (crop_buffers(w, need)) {
            w->rc = TTS_E_NOMEM;
            return NULL;
        }
        uint64_t r = cs->noise_seed;
        for (size_t i = 0; i < need; i++)
            w->noise[i] = (float)nn_rand_normal(&r);
        const float *mel = crop_mel(w, cs, s0, nf);
        if (!mel || (c->src == 2 && crop_source(w, cs, mel, s0, nf, nb, &r))) {
            w->rc = TTS_E_NOMEM;
            return NULL;
        }
        int rc = crop_step(w, cs, mel, s0, nf, nb, c->src == 2 ? w->src : w->noise, hk);
        if (rc) {
            w->rc = rc;
            return NULL;
        }
    }
    return NULL;
}

/* What every pass over crops shares (the workers read it): set up once by the trainer */
typedef struct {
    voc_model *m;
    const voc_stft_loss *L;
    const voc_stft_loss *L_tf;  /* the loss of crops on predicted frames (NULL: L's) */
    const tts_dataset *ds;
    const float *tf_mel;        /* teacher-forced mels, or NULL */
    const float *f0, *f0_fill;  /* the tracked F0 of every frame */
    double pitch_weight, tf_extrapolate;
    int tf_pitch;
    disc_model *disc;           /* the critics (NULL: no adversarial term) */
    double adv_w, fm_w;         /* their weights in the network's loss this step */
    int threads;
} crop_run;

/* runs the crops over the workers; with train, sums their gradients into m->p.grads */
static int run_crops(const crop_run *cr, const crop_spec *crops, int n, worker *wk, int train,
                     double *sc, double *mag, double *total, double *pitch, double *melt)
{
    voc_model *m = cr->m;
    const voc_stft_loss *L = cr->L;
    const tts_dataset *ds = cr->ds;
    const float *tf_mel = cr->tf_mel;
    int nthreads = cr->threads;
    for (int t = 0; t < nthreads; t++) {
        worker *w = &wk[t];
        w->m = m;
        w->L = L;
        w->L_tf = cr->L_tf ? cr->L_tf : L;
        w->ds = ds;
        w->tf_mel = tf_mel;
        w->crops = crops;
        w->f0 = cr->f0;
        w->f0_fill = cr->f0_fill;
        w->pitch_weight = (float)cr->pitch_weight;
        w->tf_extrapolate = (float)cr->tf_extrapolate;
        w->tf_pitch = cr->tf_pitch;
        w->n_crops = n;
        w->stride = nthreads;
        w->first = t;
        w->grad_scale = 1.0f / n;
        w->adv_w = cr->adv_w;
        w->fm_w = cr->fm_w;
        w->dw.disc = NULL;
        if (train && cr->disc && disc_worker_begin(&w->dw, cr->disc, 1))
            return TTS_E_NOMEM;
    }
    if (tr_pass(wk, nthreads, sizeof *wk, offsetof(worker, grads), m->p.count, train, worker_run,
                m->p.grads))
        return TTS_E_NOMEM;
    *sc = *mag = *total = *pitch = *melt = 0;
    int rc = 0;
    for (int t = 0; t < nthreads; t++) {
        *sc += wk[t].sc;
        *mag += wk[t].mag;
        *total += wk[t].total;
        *pitch += wk[t].pitch;
        *melt += wk[t].melt;
        if (wk[t].rc)
            rc = wk[t].rc;
    }
    *sc /= n;
    *mag /= n;
    *total /= n;
    *pitch /= n;
    *melt /= n;
    if (train && !rc && cr->disc)
        tr_grads_sum(cr->disc->p.grads, wk, nthreads, sizeof *wk, offsetof(worker, dw.grads),
                     cr->disc->p.count);
    return rc;
}

/* a crop of `crop` frames of utterance u at a position drawn from rng (the middle when
 * rng is NULL) */
static crop_spec make_crop(const tts_dataset *ds, int u, int crop, int ctx, uint64_t *rng,
                           uint64_t noise_seed)
{
    crop_spec cs;
    int F = tts_dataset_n_frames(ds, u);
    cs.utt = u;
    cs.crop = crop < F ? crop : F;
    int room = F - cs.crop;
    cs.start = rng ? (int)(nn_rand_u64(rng) % (uint64_t)(room + 1)) : room / 2;
    cs.ctx = ctx < cs.start ? ctx : cs.start;
    cs.noise_seed = noise_seed;
    cs.tf = 0;
    return cs;
}

static int save_model(const char *path, const voc_model *m, const tts_dataset *ds,
                      const nn_adam *adam, double best_val, const char *best_key, tts_err *err)
{
    tts_mf_writer *w = tts_mf_writer_new();
    if (!w)
        return tts_seterr(err, TTS_E_NOMEM, "out of memory");
    voc_to_mf(w, m, adam);
    tts_audio_cfg_to_mf(w, &ds->audio);
    if (adam)
        tts_mf_set_f64(w, best_key, isfinite(best_val) ? best_val : 1e30);
    else if (isfinite(best_val))
        tts_mf_set_f64(w, "train.val_loss", best_val);
    int rc = tts_mf_write(w, path, err);
    tts_mf_writer_free(w);
    return rc;
}

/* one validation pass of the weights m holds: logs "LABEL step N  loss ..." (stderr and
 * log) and writes them to best_path when the loss beats *best */
static void validate(const crop_run *cr, const crop_spec *vcrops, int n_val, worker *wk,
                     const char *label, int64_t step, FILE *log, double *best,
                     const char *best_path, const char *best_key)
{
    double vsc, vmag, vtot, vpit, vmel;
    tts_err err = {0};
    voc_model *m = cr->m;
    if (run_crops(cr, vcrops, n_val, wk, 0, &vsc, &vmag, &vtot, &vpit, &vmel))
        return;
    char line[256];
    snprintf(line, sizeof line, "%s step %lld  loss %.4f  sc %.4f  mag %.4f  pitch %.4f  mel %.4f",
             label, (long long)step, vtot, vsc, vmag, vpit, vmel);
    fprintf(stderr, "%s\n", line);
    fprintf(log, "%s\n", line);
    fflush(log);
    if (vtot < *best) {
        *best = vtot;
        if (save_model(best_path, m, cr->ds, NULL, vtot, best_key, &err))
            fprintf(stderr, "warning: %s\n", err.msg);
    }
}

/* --ema: swaps the first n floats of the live weights w and the average a (tmp: scratch) */
static void ema_swap(float *w, float *a, float *tmp, size_t n)
{
    memcpy(tmp, w, sizeof(float) * n);
    memcpy(w, a, sizeof(float) * n);
    memcpy(a, tmp, sizeof(float) * n);
}

/* ema.ltm (the moving average, with the best validation loss the average has had so far
 * under train.val_loss, so a resumed run keeps best_ema.ltm's bar) */
static int save_ema(const char *path, voc_model *m, const tts_dataset *ds, float *ema,
                    float *tmp, double best, tts_err *err)
{
    ema_swap(m->p.params, ema, tmp, m->n_trainable);
    int rc = save_model(path, m, ds, NULL, best, NULL, err);
    ema_swap(m->p.params, ema, tmp, m->n_trainable);
    return rc;
}

/* Vocodes utterance u from its recorded mel through the streaming API; writes path and
 * returns the log-mel L1 between the result and the recorded mel (-1 on failure). */
static double vocode_clip(const voc_model *m, const tts_dataset *ds, const float *cond, int u,
                          const char *path, tts_mel *mel, double *rtf)
{
    const voc_config *c = &m->cfg;
    int F = tts_dataset_n_frames(ds, u), hop = c->hop, nm = ds->n_mels;
    float *pcm = malloc(sizeof(float) * ((size_t)F + c->lookahead) * hop);
    voc_stream s;
    tts_err err;
    double l1 = -1;
    if (!pcm || voc_stream_init(&s, m, 12345, &err)) {
        free(pcm);
        return -1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const float *frames = ds->mel + (size_t)ds->mel_off[u] * nm;
    const float *in = (cond ? cond : ds->mel) + (size_t)ds->mel_off[u] * nm;
    size_t n = 0;
    for (int f = 0; f < F; f++)
        n += voc_stream_push(m, &s, in + (size_t)f * nm, NULL, pcm + n);
    n += voc_stream_finish(m, &s, NULL, pcm + n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *rtf = ((t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec)) /
           ((double)n / ds->audio.sample_rate);
    voc_stream_free(&s);
    if (tts_wav_write(path, pcm, n, ds->audio.sample_rate, &err))
        fprintf(stderr, "warning: %s\n", err.msg);
    float *vm = NULL;
    size_t vf = 0;
    if (tts_mel_analyze(mel, pcm, n, &vm, &vf, &err) == 0) {
        size_t cnt = (vf < (size_t)F ? vf : (size_t)F) * nm;
        double s1 = 0;
        for (size_t i = 0; i < cnt; i++)
            s1 += fabs(vm[i] - frames[i]);
        l1 = cnt ? s1 / cnt : -1;
    }
    free(vm);
    free(pcm);
    return l1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The recordings' F0 (for the excitation and the pitch head's targets) in *f0_out, 0 where
 * unvoiced, and in *fill_out with the gaps filled (voc_pitch_fill), frame by frame as the
 * cache's mels; both malloc'd. 0, or 1 with the error printed. */
static int track_f0(const tts_dataset *ds, int threads, float **f0_out, float **fill_out)
{
    size_t total = (size_t)ds->mel_off[ds->n];
    float *f0 = *f0_out = malloc(sizeof(float) * total);
    float *f0_fill = *fill_out = malloc(sizeof(float) * total);
    if (!f0 || !f0_fill) {
        fprintf(stderr, "tts-train vocoder: out of memory\n");
        return 1;
    }
    double tp = now_s();
    tts_dataset_track_f0(ds, f0, threads);
    memcpy(f0_fill, f0, sizeof(float) * total);
    size_t voiced = 0;
    for (int i = 0; i < ds->n; i++) {
        int F = tts_dataset_n_frames(ds, i);
        voc_pitch_fill(f0_fill + ds->mel_off[i], F);
    }
    double lsum = 0;
    for (size_t k = 0; k < total; k++)
        if (f0[k] > 0) {
            voiced++;
            lsum += log(f0[k]);
        }
    fprintf(stderr,
            "F0 tracked in %.1f s: %.1f %% of %zu frames voiced, geometric mean %.0f Hz\n",
            now_s() - tp, 100.0 * voiced / total, total, voiced ? exp(lsum / voiced) : 0.0);
    return 0;
}

/* --init: a new model m starts from the weights of old (every tensor of the same name and
 * size; the input layer's rows of old's source; the conditioning convs grown when m looks
 * further ahead) */
static void init_from(voc_model *m, const voc_model *old, const char *init_path)
{
    int copied = 0;
    for (int i = 0; i < m->p.n_tensors; i++) {
        const nn_tensor_info *t = &m->p.tensors[i];
        const nn_tensor_info *o = nn_params_find(&old->p, t->name);
        if (!o)
            continue;
        size_t n = o->size < t->size ? o->size : t->size;
        if (o->size == t->size || !strcmp(t->name, "vocoder.in.w")) {
            /* vocoder.in.w: the old source's rows come first in both; a new channel's
             * rows start at 0, so the network starts as it was */
            memcpy(m->p.params + t->offset, old->p.params + o->offset, n * sizeof(float));
            if (n < t->size)
                memset(m->p.params + t->offset + n, 0, (t->size - n) * sizeof(float));
            copied++;
        }
    }
    if (m->cfg.cond_kernel != old->cfg.cond_kernel) /* --lookahead grew them */
        for (int i = 0; i < m->cfg.cond_layers; i++, copied++)
            voc_cond_grow(m->p.params + m->cond[i].w, old->p.params + old->cond[i].w,
                          old->cfg.cond_kernel, m->cfg.cond_kernel,
                          m->cond[i].cin * m->cfg.cond_ch, i == 0);
    fprintf(stderr, "started from %s: %d of %d tensors\n", init_path, copied, m->p.n_tensors);
}

/* A new model (no checkpoint yet): the defaults for the cache, the options' overrides, or
 * with --init an older vocoder's shape and weights. 0, or 1 with the error printed. */
static int new_model(voc_model *m, const tts_dataset *ds, const voc_config *over,
                     const char *init_path)
{
    tts_err err = {0};
    voc_config c = voc_config_default(ds->n_mels, ds->audio.hop_length);
    if (over->fold) c.fold = over->fold;
    if (over->res_ch) c.res_ch = over->res_ch;
    if (over->skip_ch) c.skip_ch = over->skip_ch;
    if (over->n_layers) c.n_layers = over->n_layers;
    if (over->dil_cycle) c.dil_cycle = over->dil_cycle;
    if (over->cond_ch) c.cond_ch = over->cond_ch;
    if (over->lookahead) c.lookahead = over->lookahead - 1;
    if (over->src) c.src = over->src;
    c.sample_rate = ds->audio.sample_rate;
    voc_model old;
    tts_mf *omf = NULL;
    if (init_path) {
        /* an older vocoder's shape, its weights where they fit */
        if (tts_mf_open(&omf, init_path, &err) || voc_from_mf(&old, omf, 0, NULL, &err)) {
            fprintf(stderr, "tts-train vocoder: --init: %s\n", err.msg);
            tts_mf_close(omf);
            return 1;
        }
        /* its source too, unless --src asks for another (src 1 -> 2: the excitation's
         * input rows start at 0, so the network starts where OLD was) */
        c = old.cfg;
        if (over->src)
            c.src = over->src;
        /* more look-ahead, d frames: the conditioning convs get d more taps each, and
         * the old weights go in shifted (voc_cond_grow) so that the network starts as it
         * was, one frame later on the frame grid, with the new taps at 0 */
        if (over->lookahead && over->lookahead - 1 != old.cfg.lookahead) {
            int d = over->lookahead - 1 - old.cfg.lookahead;
            if (d < 0 || old.cfg.lookahead < 1 || old.cfg.cond_kernel + d > 9) {
                fprintf(stderr, "tts-train vocoder: --init with --lookahead %d: a vocoder "
                                "with look-ahead %d can only grow it (from 1 on, the "
                                "conditioning kernel up to 9)\n",
                        over->lookahead - 1, old.cfg.lookahead);
                voc_free(&old);
                tts_mf_close(omf);
                return 1;
            }
            c.lookahead += d;
            c.cond_kernel += d;
        }
        c.sample_rate = ds->audio.sample_rate;
    }
    if (voc_init(m, &c, 1, 4321, &err)) {
        fprintf(stderr, "tts-train vocoder: %s\n", err.msg);
        if (init_path) {
            voc_free(&old);
            tts_mf_close(omf);
        }
        return 1;
    }
    if (init_path) {
        init_from(m, &old, init_path);
        voc_free(&old);
        tts_mf_close(omf);
    }
    fprintf(stderr,
            "new vocoder: %zu parameters (fold %d, C %d, S %d, %d layers, dilation cycle %d, "
            "cond %d, look-ahead %d, source %d); receptive field %d samples; "
            "%.0f kFLOP/sample\n",
            m->p.count, c.fold, c.res_ch, c.skip_ch, c.n_layers, c.dil_cycle, c.cond_ch,
            c.lookahead, c.src, voc_receptive_field(&c), voc_flops_per_sample(&c) / 1e3);
    return 0;
}

/* tts-train vocoder's command line (see its usage) */
typedef struct {
    const char *data, *dir, *tf_path, *init_path, *disc_periods;
    int steps, batch, threads, crop, ctx, warmup, ckpt_every, val_every, wav_every, log_every,
        max_val, disc_warmup, tf_pitch, tf_sharpen_w;
    double lr, minutes, clip, tf_mix, pitch_weight, tf_extra, mel_weight, tf_stft_weight,
        adv_weight, fm_weight, disc_lr, ema_decay, tf_sharpen;
    voc_config over; /* a new model's shape: the fields given (0: unset) */
} vocoder_args;

/* the command line into *out: 0, or 2 with a message (usage errors) */
static int parse_vocoder(int argc, char **argv, vocoder_args *out)
{
    int steps = 200000, batch = 8, threads = 2, crop = 16, ctx = 4, warmup = 200;
    int ckpt_every = 200, val_every = 200, wav_every = 1000, log_every = 10, max_val = 24;
    double lr = 1e-3, minutes = 0, clip = 1.0, tf_mix = 0.5, pitch_weight = 1.0, tf_extra = 1.0;
    double mel_weight = 0, tf_stft_weight = 1;
    double adv_weight = 0, fm_weight = 2, disc_lr = 2e-4, ema_decay = 0;
    int disc_warmup = 500, tf_pitch = 0, tf_sharpen_w = 5;
    double tf_sharpen = 0;
    voc_config over = {0};
    const char *data = NULL, *dir = NULL, *tf_path = NULL, *init_path = NULL;
    const char *disc_periods = "1,2,3,5,7";
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(s, name) == 0 && v && ++i)
        if (OPT("--steps")) steps = atoi(v);
        else if (OPT("--batch")) batch = atoi(v);
        else if (OPT("--threads")) threads = atoi(v);
        else if (OPT("--crop")) crop = atoi(v);
        else if (OPT("--ctx")) ctx = atoi(v);
        else if (OPT("--lr")) lr = atof(v);
        else if (OPT("--warmup")) warmup = atoi(v);
        else if (OPT("--minutes")) minutes = atof(v);
        else if (OPT("--clip")) clip = atof(v);
        else if (OPT("--ckpt-every")) ckpt_every = atoi(v);
        else if (OPT("--val-every")) val_every = atoi(v);
        else if (OPT("--wav-every")) wav_every = atoi(v);
        else if (OPT("--log-every")) log_every = atoi(v);
        else if (OPT("--max-val")) max_val = atoi(v);
        else if (OPT("--tf-mels")) tf_path = v;
        else if (OPT("--tf-mix")) tf_mix = atof(v);
        else if (OPT("--tf-extrapolate")) tf_extra = atof(v);
        else if (OPT("--pitch-weight")) pitch_weight = atof(v);
        else if (!strcmp(s, "--tf-pitch")) tf_pitch = 1;
        else if (OPT("--mel-weight")) mel_weight = atof(v);
        else if (OPT("--tf-stft-weight")) tf_stft_weight = atof(v);
        else if (OPT("--tf-sharpen") && i + 1 < argc) {
            tf_sharpen = atof(v);
            tf_sharpen_w = atoi(argv[++i]);
        }
        else if (OPT("--init")) init_path = v;
        else if (OPT("--ema")) ema_decay = atof(v);
        else if (OPT("--adv-weight")) adv_weight = atof(v);
        else if (OPT("--fm-weight")) fm_weight = atof(v);
        else if (OPT("--disc-lr")) disc_lr = atof(v);
        else if (OPT("--disc-warmup")) disc_warmup = atoi(v);
        else if (OPT("--disc-periods")) disc_periods = v;
        else if (OPT("--src")) over.src = atoi(v) > 0 ? atoi(v) : -1; /* 0: unset */
        else if (OPT("--fold")) over.fold = atoi(v);
        else if (OPT("--res-ch")) over.res_ch = atoi(v);
        else if (OPT("--skip-ch")) over.skip_ch = atoi(v);
        else if (OPT("--layers")) over.n_layers = atoi(v);
        else if (OPT("--dil-cycle")) over.dil_cycle = atoi(v);
        else if (OPT("--cond-ch")) over.cond_ch = atoi(v);
        else if (OPT("--lookahead")) over.lookahead = atoi(v) + 1; /* +1: 0 means "unset" */
        else if (!data && s[0] != '-') data = s;
        else if (!dir && s[0] != '-') dir = s;
        else {
            fprintf(stderr, "tts-train vocoder: unknown or incomplete option '%s'\n", s);
            return 2;
        }
#undef OPT
    }
    if (over.src == 3 || over.src == 4) {
        fprintf(stderr, "tts-train vocoder: --src %d is no longer supported (the "
                        "envelope-shaped sources 3 and 4 were removed): --src 1 or 2\n",
                over.src);
        return 2;
    }
    if (!data || !dir) {
        fprintf(stderr, "usage: tts-train vocoder CACHE RUN_DIR [--steps N] [--minutes M] "
                        "[--batch B] [--crop FRAMES] [--ctx FRAMES] [--lr LR] ...\n");
        return 2;
    }
    if (threads < 1 || threads > 16 || batch < 1 || crop < 4 || ctx < 0 ||
        crop + ctx + 8 > VOC_MAX_CROP || ckpt_every < 1 ||
        val_every < 1 || wav_every < 1 || log_every < 1 || !(tf_mix >= 0 && tf_mix <= 1) ||
        !(mel_weight >= 0) || !(tf_stft_weight >= 0) || !(adv_weight >= 0) ||
        !(fm_weight >= 0) || !(disc_lr > 0) || disc_warmup < 0 ||
        !(ema_decay >= 0 && ema_decay < 1) || over.src < 0 || over.src > 2 ||
        (tf_sharpen != 0 && !tts_sharpen_valid((float)tf_sharpen, tf_sharpen_w))) {
        fprintf(stderr, "tts-train vocoder: bad --threads, --batch, --crop (>= 4), --ctx, "
                        "--*-every, --mel-weight, --tf-stft-weight, --adv-weight, --fm-weight, "
                        "--disc-lr or --disc-warmup, --tf-mix or --ema outside 0 .. 1, "
                        "--src (1 or 2), or --tf-sharpen (amount 0 .. 4, odd width 3 .. 31)\n");
        return 2;
    }
    *out = (vocoder_args){.data = data, .dir = dir, .tf_path = tf_path, .init_path = init_path,
                          .disc_periods = disc_periods, .steps = steps, .batch = batch,
                          .threads = threads, .crop = crop, .ctx = ctx, .warmup = warmup,
                          .ckpt_every = ckpt_every, .val_every = val_every, .wav_every = wav_every,
                          .log_every = log_every, .max_val = max_val, .disc_warmup = disc_warmup,
                          .tf_pitch = tf_pitch, .tf_sharpen_w = tf_sharpen_w, .lr = lr,
                          .minutes = minutes, .clip = clip, .tf_mix = tf_mix,
                          .pitch_weight = pitch_weight, .tf_extra = tf_extra,
                          .mel_weight = mel_weight, .tf_stft_weight = tf_stft_weight,
                          .adv_weight = adv_weight, .fm_weight = fm_weight, .disc_lr = disc_lr,
                          .ema_decay = ema_decay, .tf_sharpen = tf_sharpen, .over = over};
    return 0;
}

/* trains as a says: 0, or 1 with a message */
static int run_vocoder(vocoder_args a)
{
    const char *data = a.data, *dir = a.dir, *tf_path = a.tf_path, *init_path = a.init_path;
    const char *disc_periods = a.disc_periods;
    int steps = a.steps, batch = a.batch, threads = a.threads, crop = a.crop, ctx = a.ctx,
        warmup = a.warmup, ckpt_every = a.ckpt_every, val_every = a.val_every,
        wav_every = a.wav_every, log_every = a.log_every, max_val = a.max_val,
        disc_warmup = a.disc_warmup, tf_pitch = a.tf_pitch, tf_sharpen_w = a.tf_sharpen_w;
    double lr = a.lr, minutes = a.minutes, clip = a.clip, tf_mix = a.tf_mix,
           pitch_weight = a.pitch_weight, tf_extra = a.tf_extra, mel_weight = a.mel_weight,
           tf_stft_weight = a.tf_stft_weight, adv_weight = a.adv_weight, fm_weight = a.fm_weight,
           disc_lr = a.disc_lr, ema_decay = a.ema_decay, tf_sharpen = a.tf_sharpen;
    voc_config over = a.over;
    openblas_set_num_threads(1);
    tts_err err = {0};
    tts_dataset ds;
    if (tts_dataset_open(&ds, data, &err)) {
        fprintf(stderr, "tts-train vocoder: %s\n", err.msg);
        return 1;
    }
    if (!ds.pcm) {
        fprintf(stderr, "tts-train vocoder: %s has no waveforms (\"audio\"): prepare it again "
                        "with this version of tts-train\n", data);
        tts_dataset_close(&ds);
        return 1;
    }
    tts_tfmels tf = {0};
    if (tf_path && tts_tfmels_open(&tf, tf_path, &ds, &err)) {
        fprintf(stderr, "tts-train vocoder: %s\n", err.msg);
        tts_dataset_close(&ds);
        return 1;
    }
    /* --tf-sharpen: the predicted frames the crops and validation see are sharpened
     * first, utterance by utterance, exactly as the vocoder's frame_sharpen does at
     * inference; the mel term then pulls toward the sharpened frames too */
    float *tf_sharp = NULL;
    if (tf.mel && tf_sharpen > 0) {
        size_t total = (size_t)ds.mel_off[ds.n] * (size_t)ds.n_mels;
        tf_sharp = malloc(total * sizeof *tf_sharp);
        if (!tf_sharp) {
            fprintf(stderr, "tts-train vocoder: out of memory\n");
            tts_tfmels_close(&tf);
            tts_dataset_close(&ds);
            return 1;
        }
        memcpy(tf_sharp, tf.mel, total * sizeof *tf_sharp);
        for (int u = 0; u < ds.n; u++) {
            float *x = tf_sharp + (size_t)ds.mel_off[u] * (size_t)ds.n_mels;
            if (tts_sharpen_frames(x, (size_t)tts_dataset_n_frames(&ds, u), ds.n_mels,
                                   (float)tf_sharpen, tf_sharpen_w, &err)) {
                fprintf(stderr, "tts-train vocoder: %s\n", err.msg);
                free(tf_sharp);
                tts_tfmels_close(&tf);
                tts_dataset_close(&ds);
                return 1;
            }
        }
    }
    const float *tf_mel = tf_sharp ? tf_sharp : tf.mel; /* what the predicted crops read */
    const char *best_key = tf.mel ? "train.best_val_tf" : "train.best_val";
    mkdir(dir, 0755);
    char ckpt[1024], best[1024], logp[1024], path[1100];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.ltm", dir);
    snprintf(best, sizeof best, "%s/best.ltm", dir);
    snprintf(logp, sizeof logp, "%s/train.log", dir);
    char dpath[1024];
    snprintf(dpath, sizeof dpath, "%s/disc.ltm", dir);

    voc_model m;
    nn_adam adam = {.lr = lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0,
                    .clip_norm = clip, .step = 0};
    double best_val = INFINITY;
    tts_mf *mf = NULL;
    if (tts_mf_open(&mf, ckpt, &err) == 0) {
        int rc = voc_from_mf(&m, mf, 1, &adam, &err);
        double bv;
        if (rc == 0 && tts_mf_get_f64(mf, best_key, &bv, &err) == 0 && bv < 1e29)
            best_val = bv;
        tts_mf_close(mf);
        if (rc) {
            fprintf(stderr, "tts-train vocoder: cannot resume from %s: %s\n", ckpt, err.msg);
            tts_dataset_close(&ds);
            return 1;
        }
        fprintf(stderr, "resumed from %s at step %lld\n", ckpt, (long long)adam.step);
    } else if (new_model(&m, &ds, &over, init_path)) {
        tts_dataset_close(&ds);
        return 1;
    }
    if (m.cfg.n_mels != ds.n_mels || m.cfg.hop != ds.audio.hop_length) {
        fprintf(stderr, "tts-train vocoder: the model (%d mels, hop %d) does not fit the cache "
                        "(%d mels, hop %d)\n", m.cfg.n_mels, m.cfg.hop, ds.n_mels,
                ds.audio.hop_length);
        voc_free(&m);
        tts_dataset_close(&ds);
        return 1;
    }
    memcpy(m.mel_mean, ds.mel_mean, sizeof(float) * ds.n_mels);
    memcpy(m.mel_std, ds.mel_std, sizeof(float) * ds.n_mels);
    m.audio = ds.audio;

    /* the recordings' F0, for the excitation and the pitch head's targets */
    float *f0 = NULL, *f0_fill = NULL;
    if (m.cfg.src == 2 && track_f0(&ds, threads, &f0, &f0_fill))
        return 1;

    voc_stft_loss L;
    tts_mel *mel = NULL;
    if (voc_stft_loss_init(&L, NULL, 0, 0, &err) || tts_mel_create(&mel, &ds.audio, &err) ||
        (mel_weight > 0 &&
         voc_stft_loss_set_mel(&L, tts_mel_filterbank(mel), ds.n_mels, ds.audio.n_fft,
                               ds.audio.win_length, ds.audio.hop_length, ds.audio.log_floor,
                               mel_weight, 0, &err))) {
        fprintf(stderr, "tts-train vocoder: %s\n", err.msg);
        return 1;
    }
    int *train_idx = malloc(sizeof(int) * ds.n), *val_idx = malloc(sizeof(int) * ds.n);
    int n_train = 0, n_val = 0;
    for (int i = 0; i < ds.n; i++) {
        if (ds.split[i])
            val_idx[n_val++] = i;
        else
            train_idx[n_train++] = i;
    }
    if (n_val > max_val)
        n_val = max_val;
    int *perm = malloc(sizeof(int) * (n_train ? n_train : 1)), perm_epoch = -1;
    crop_spec *crops = malloc(sizeof(crop_spec) * batch);
    crop_spec *vcrops = malloc(sizeof(crop_spec) * (n_val ? n_val : 1));
    worker *wk = calloc((size_t)threads, sizeof(worker));
    voc_stft_loss L_tf = L; /* shares L's bases; freed with L */
    L_tf.stft_weight = tf_stft_weight;
    crop_run cr = {.m = &m, .L = &L, .L_tf = &L_tf, .ds = &ds, .tf_mel = tf_mel, .f0 = f0,
                   .f0_fill = f0_fill, .pitch_weight = pitch_weight,
                   .tf_extrapolate = tf_extra, .tf_pitch = tf_pitch, .threads = threads};
    /* the critics: resumed from RUN/disc.ltm, or new */
    disc_model disc;
    nn_adam dadam = {.lr = disc_lr, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0,
                     .clip_norm = 10, .step = 0};
    if (adv_weight > 0) {
        disc_config dc;
        int resumed = 0;
        if (disc_config_parse(&dc, disc_periods, &err) ||
            disc_resume_or_init(&disc, &dadam, dpath, &dc, 97, &resumed, &err)) {
            fprintf(stderr, "tts-train vocoder: critics: %s\n", err.msg);
            return 1;
        }
        if (resumed)
            fprintf(stderr, "critics resumed from %s at their step %lld\n", dpath,
                    (long long)dadam.step);
        dadam.lr = disc_lr;
        if (crop * m.cfg.hop < disc_min_samples(&disc.cfg)) {
            fprintf(stderr, "tts-train vocoder: --crop %d (%d samples) is too short for the "
                            "critics (%d samples)\n", crop, crop * m.cfg.hop,
                    disc_min_samples(&disc.cfg));
            return 1;
        }
        cr.disc = &disc;
    }
    FILE *log = fopen(logp, "a");
    if (!train_idx || !val_idx || !perm || !crops || !vcrops || !wk || !log || n_train == 0) {
        fprintf(stderr, "tts-train vocoder: %s\n",
                !log ? "cannot write the log" : n_train == 0 ? "no training utterances"
                                                             : "out of memory");
        return 1;
    }
    for (int i = 0; i < n_val; i++) {
        vcrops[i] = make_crop(&ds, val_idx[i], crop, ctx, NULL, 1000003u * (i + 1));
        vcrops[i].tf = tf.mel != NULL;
    }
    fprintf(log, "# start step %lld: data %s, %d train, %d val utterances, %zu params, batch %d, "
                 "crop %d + ctx %d frames, lr %g%s%s, mix %g, mel weight %g\n",
            (long long)adam.step, data, n_train, n_val, m.p.count, batch, crop, ctx, lr,
            tf.mel ? ", teacher-forced mels " : "", tf.mel ? tf_path : "", tf.mel ? tf_mix : 0.0,
            mel_weight);
    if (tf.mel && tf_extra != 1)
        fprintf(log, "# training crops on predicted frames: recorded + %g (predicted - recorded)\n",
                tf_extra);
    if (tf.mel && tf_stft_weight != 1)
        fprintf(log, "# crops on predicted frames: STFT terms against the recording x %g\n",
                tf_stft_weight);
    if (tf_sharp)
        fprintf(log, "# predicted frames sharpened: amount %g, width %d (--tf-sharpen)\n",
                tf_sharpen, tf_sharpen_w);
    if (tf.mel && tf_pitch && m.cfg.src >= 2)
        fprintf(log, "# crops on predicted frames: the excitation at the pitch head's F0 and "
                     "voicing (--tf-pitch)\n");
    if (cr.disc) {
        char pl[64];
        disc_periods_str(&disc.cfg, pl, sizeof pl);
        fprintf(log, "# critics: periods %s, %zu parameters, lr %g, step %lld; adversarial "
                     "weight %g, feature matching %g, after %d critic steps\n",
                pl, disc.p.count, disc_lr, (long long)dadam.step, adv_weight, fm_weight,
                disc_warmup);
    }
    fflush(log);
    if (n_val > 0) {
        snprintf(path, sizeof path, "%s/val_ref.wav", dir);
        int u = val_idx[0];
        tts_wav_write(path, ds.pcm + (size_t)ds.mel_off[u] * m.cfg.hop,
                      (size_t)tts_dataset_n_frames(&ds, u) * m.cfg.hop, ds.audio.sample_rate, &err);
    }

    /* --ema: the average starts from the weights the run starts with, or resumes from
     * RUN/ema.ltm when that file fits the model */
    float *ema = NULL, *ema_tmp = NULL;
    double best_ema = INFINITY;
    char emap[1100], bemap[1100];
    snprintf(emap, sizeof emap, "%s/ema.ltm", dir);
    snprintf(bemap, sizeof bemap, "%s/best_ema.ltm", dir);
    if (ema_decay > 0) {
        ema = malloc(sizeof(float) * m.p.count);
        ema_tmp = malloc(sizeof(float) * m.p.count);
        if (!ema || !ema_tmp) {
            fprintf(stderr, "tts-train vocoder: out of memory\n");
            return 1;
        }
        memcpy(ema, m.p.params, sizeof(float) * m.p.count);
        tts_mf *emf = NULL;
        voc_model em;
        if (tts_mf_open(&emf, emap, &err) == 0) {
            if (voc_from_mf(&em, emf, 0, NULL, &err) == 0) {
                double bv;
                if (em.p.count == m.p.count) {
                    memcpy(ema, em.p.params, sizeof(float) * m.n_trainable);
                    if (tts_mf_get_f64(emf, "train.val_loss", &bv, &err) == 0 && bv < 1e29)
                        best_ema = bv;
                    fprintf(stderr, "moving average resumed from %s\n", emap);
                } else {
                    fprintf(stderr, "warning: %s does not fit the model: the average starts "
                                    "again\n", emap);
                }
                voc_free(&em);
            }
            tts_mf_close(emf);
        }
        fprintf(log, "# moving average of the weights, decay %g\n", ema_decay);
    }

    disc_loss s_dl = {0};
    double t0 = now_s(), tlast = t0, s_sc = 0, s_mag = 0, s_norm = 0, s_pit = 0, s_mel = 0, s_tot = 0;
    int64_t start_step = adam.step;
    int nsum = 0, rc = 0;
    double audio_per_step = (double)batch * crop * m.cfg.hop / ds.audio.sample_rate;
    while (adam.step < steps) {
        if (minutes > 0 && now_s() - t0 > minutes * 60)
            break;
        /* the crops of this step: a deterministic function of the step number */
        for (int k = 0; k < batch; k++) {
            int64_t idx = adam.step * (int64_t)batch + k;
            int epoch = (int)(idx / n_train);
            if (epoch != perm_epoch) {
                memcpy(perm, train_idx, sizeof(int) * n_train);
                tr_shuffle(perm, n_train, (uint64_t)epoch + 1);
                perm_epoch = epoch;
            }
            uint64_t r = 0x9E3779B97F4A7C15ull * (uint64_t)(idx + 1) + 77;
            crops[k] = make_crop(&ds, perm[idx % n_train], crop, ctx, &r, nn_rand_u64(&r));
            crops[k].tf = tf.mel && (double)(nn_rand_u64(&r) >> 11) * 0x1p-53 < tf_mix;
            if (crops[k].tf && tf_extra != 1)
                crops[k].tf = 2; /* validation keeps the plain predictions */
        }
        double sc, mag, tot, pit, mt;
        if (cr.disc) {
            int on = dadam.step >= disc_warmup;
            cr.adv_w = on ? adv_weight : 0;
            cr.fm_w = on ? fm_weight : 0;
        }
        rc = run_crops(&cr, crops, batch, wk, 1, &sc, &mag, &tot, &pit, &mt);
        if (rc) {
            fprintf(stderr, "tts-train vocoder: step failed (%d)\n", rc);
            break;
        }
        memset(m.p.grads + m.n_trainable, 0, sizeof(float) * (m.p.count - m.n_trainable));
        adam.lr = nn_lr_schedule(lr, adam.step, warmup);
        double norm = nn_adam_update(&m.p, &adam);
        memcpy(m.mel_mean, ds.mel_mean, sizeof(float) * ds.n_mels);
        memcpy(m.mel_std, ds.mel_std, sizeof(float) * ds.n_mels);
        if (!isfinite(tot) || !isfinite(norm)) {
            fprintf(stderr, "tts-train vocoder: loss is not finite at step %lld\n",
                    (long long)adam.step);
            rc = 1;
            break;
        }
        if (ema) { /* after the finite check: a failed step must not reach ema.ltm */
            const float *w = m.p.params;
            float a = (float)(1 - ema_decay);
            for (size_t k = 0; k < m.n_trainable; k++)
                ema[k] += a * (w[k] - ema[k]);
        }
        if (cr.disc) {
            nn_adam_update(&disc.p, &dadam);
            for (int t = 0; t < threads; t++) {
                s_dl.d_real += wk[t].dw.sum.d_real / batch;
                s_dl.d_fake += wk[t].dw.sum.d_fake / batch;
                s_dl.adv += wk[t].dw.sum.adv / batch;
                s_dl.fm += wk[t].dw.sum.fm / batch;
            }
        }
        s_sc += sc;
        s_mag += mag;
        s_pit += pit;
        s_mel += mt;
        s_tot += tot;
        s_norm += norm;
        nsum++;
        if (adam.step % log_every == 0) {
            double t = now_s();
            char line[512];
            snprintf(line, sizeof line,
                     "step %lld  loss %.4f  sc %.4f  mag %.4f  pitch %.4f  mel %.4f  gnorm %.3f  "
                     "lr %.2e  %.2f steps/s (%.1f s audio/s)  %.1f min",
                     (long long)adam.step, s_tot / nsum, s_sc / nsum,
                     s_mag / nsum, s_pit / nsum, s_mel / nsum,
                     s_norm / nsum, adam.lr, nsum / (t - tlast), nsum * audio_per_step / (t - tlast),
                     (t - t0) / 60);
            if (cr.disc)
                snprintf(line + strlen(line), sizeof line - strlen(line),
                         "  critics: real %.3f fake %.3f  adv %.3f fm %.4f%s",
                         s_dl.d_real / nsum, s_dl.d_fake / nsum, s_dl.adv / nsum,
                         s_dl.fm / nsum, cr.adv_w > 0 || cr.fm_w > 0 ? "" : " (warm-up)");
            fprintf(stderr, "%s\n", line);
            fprintf(log, "%s\n", line);
            fflush(log);
            tlast = t;
            s_dl = (disc_loss){0};
            s_sc = s_mag = s_norm = s_pit = s_mel = s_tot = 0;
            nsum = 0;
        }
        if (adam.step % val_every == 0 && n_val > 0) {
            validate(&cr, vcrops, n_val, wk, "val", adam.step, log, &best_val, best, best_key);
            if (ema) {
                ema_swap(m.p.params, ema, ema_tmp, m.n_trainable);
                validate(&cr, vcrops, n_val, wk, "val-ema", adam.step, log, &best_ema, bemap,
                         best_key);
                ema_swap(m.p.params, ema, ema_tmp, m.n_trainable);
            }
        }
        if (adam.step % wav_every == 0 && n_val > 0) {
            double rtf = 0;
            snprintf(path, sizeof path, "%s/val_%08lld.wav", dir, (long long)adam.step);
            double l1 = vocode_clip(&m, &ds, tf_mel, val_idx[0], path, mel, &rtf);
            fprintf(stderr, "wav step %lld  %s  log-mel L1 to the recording %.4f  (streamed, RTF "
                            "%.3f)\n", (long long)adam.step, path, l1, rtf);
            fprintf(log, "wav step %lld  %s  log-mel L1 %.4f\n", (long long)adam.step, path, l1);
            fflush(log);
        }
        if (adam.step % ckpt_every == 0 && adam.step > start_step &&
            (save_model(ckpt, &m, &ds, &adam, best_val, best_key, &err) ||
             (cr.disc && disc_save(dpath, &disc, &dadam, &err)) ||
             (ema && save_ema(emap, &m, &ds, ema, ema_tmp, best_ema, &err))))
            fprintf(stderr, "warning: checkpoint: %s\n", err.msg);
    }
    int wrc = save_model(ckpt, &m, &ds, &adam, best_val, best_key, &err) ||
              (cr.disc && disc_save(dpath, &disc, &dadam, &err)) ||
              (ema && save_ema(emap, &m, &ds, ema, ema_tmp, best_ema, &err));
    if (wrc)
        fprintf(stderr, "tts-train vocoder: %s\n", err.msg);
    fprintf(log, "# stop at step %lld after %.1f min\n", (long long)adam.step, (now_s() - t0) / 60);
    fclose(log);
    for (int t = 0; t < threads; t++) {
        free(wk[t].grads);
        free(wk[t].noise);
        free(wk[t].exc);
        free(wk[t].src);
        free(wk[t].xmel);
        free(wk[t].phead);
        voc_arena_free(&wk[t].arena);
        disc_worker_free(&wk[t].dw);
    }
    if (cr.disc)
        disc_free(&disc);
    free(wk);
    free(ema);
    free(ema_tmp);
    free(f0);
    free(f0_fill);
    free(crops);
    free(vcrops);
    free(perm);
    free(train_idx);
    free(val_idx);
    tts_mel_free(mel);
    voc_stft_loss_free(&L);
    voc_free(&m);
    free(tf_sharp);
    tts_tfmels_close(&tf);
    tts_dataset_close(&ds);
    return rc || wrc ? 1 : 0;
}

int train_vocoder_main(int argc, char **argv)
{
    vocoder_args a;
    int rc = parse_vocoder(argc, argv, &a);
    return rc ? rc : run_vocoder(a);
}
