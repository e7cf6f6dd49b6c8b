/*
 * tts-train eval MODEL.ltm CACHE.ltd OUTDIR [SENTENCES.txt]
 *
 * Measures an acoustic model on the validation split of a dataset cache:
 *   - teacher-forced mel L1 (normalized units, as in training) and the diagonality of
 *     the teacher-forced attention (share of attention mass within 0.1 of the diagonal
 *     in relative position, and mean row maximum "focus");
 *   - free-running mel L1 against the recording after dynamic time warping, and the
 *     length ratio (synthesized / recorded frames);
 * and, on every line of SENTENCES.txt (unseen text), the attention failures of
 * free-running synthesis: runaway (hit the length cap), skipped words (the attention
 * spent less than one frame, 12.5 ms, on a word's phonemes), stalls (stuck on one token
 * for a second, or until the forced advance of t2m_infer_opts.max_stay moved it on), and,
 * apart from those, the shorter forced advances (a token held as long as the voice's
 * holds or max_stay_passable allow: t2m_stay_limit).
 * Every free-running result is vocoded with Griffin-Lim into OUTDIR/val/ and OUTDIR/sent/
 * with a list OUTDIR/{val,sent}.tsv for scripts/wer.py, and its attention drawn beside the
 * WAV (NAME.png: decoder steps along x, tokens upwards; one clean diagonal staircase),
 * and all of a set as thumbnails on one sheet, OUTDIR/{val,sent}_attention.png.
 *
 * --vocoder VOC.ltm adds the neural vocoder's figures on the same validation takes:
 * OUTDIR/rec/ (the recordings), OUTDIR/copy/ (copy synthesis: recorded mel -> vocoder),
 * OUTDIR/copy_gl/ (recorded mel -> Griffin-Lim), OUTDIR/val_voc/ (text -> acoustic model
 * -> vocoder, the same frames as val/), each with its .tsv (with the envelope match also
 * copy_env/, val_voc_env/, tf_voc_env/ (the teacher-forced frames of tf/) and, with
 * SENTENCES, sent_voc_env/), with SENTENCES sent_voc/ (their frames through the network
 * alone), and the mel-cepstral
 * distortion of each against the recording. The network gets the frames sharpened as the
 * vocoder file says it should be (its frame_sharpen, as the engine does; --sharpen-time A W
 * overrides it), and the closing table (train/quality.h) measures every set against the
 * recordings. MCD here: the WAV is analysed to log-mel
 * again (as the recording was), cepstra are the orthonormal DCT-II of the natural-log mel
 * magnitudes (floored 61 dB below the recording's loudest value, so silences compare
 * equal), MCD = 10/ln(10) sqrt(2 sum_{d=1..24} (c_d - c'_d)^2) dB per frame, averaged
 * over all frames; frame by frame for copy synthesis (same timing), along the best DTW
 * path for free-running synthesis. (Not SPTK's mel-cepstrum: compare these figures with
 * each other, not with papers.) --voc-seed N draws the network's noise from another seed
 * (default 12345): how much of a word count is that noise's, not the network's. --seeds K
 * renders every take and sentence K more times from both vocoders, seed by seed
 * (render_seeds), so that word counts can be summed over seeds. --voc-preroll P (an
 * experiment) runs the network over P copies of the first frame before each take and
 * drops their samples: it is trained on crops whose first 4 frames are context outside the
 * loss, so it never learned the first 50 ms after a cold start, where speech begins.
 * Measured (session 17, the 300 sentences, 2 seeds): P 8 gave 472 / 466 errors against
 * 473 / 472 without; the first words it loses are not the cold start's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>

#include "acoustic/voice_io.h"
#include "audio/wav.h"
#include "frontend/frontend.h"
#include "train/dataset.h"
#include "train/dtw.h"
#include "train/frames.h"
#include "train/plot.h"
#include "train/quality.h"
#include "train/train.h"
#include "train/voc_train.h"
#include "vocoder/pitch.h"
#include "vocoder/vocoder.h"
#include "vocoder/vocoder_io.h"

#define EVAL_MAX_SEEDS 8 /* --seeds */

static double cost_mcd(const float *a, const float *b, int dim)
{
    (void)dim;
    return tts_quality_mcd_frame(a, b);
}

/* mean MCD (dB) of a[na] against b[nb] cepstra: frame by frame over min(na, nb) when
 * dtw is 0, else along the best monotonic alignment */
static double mcd(const float *a, int na, const float *b, int nb, int dtw)
{
    if (dtw)
        return tts_dtw(a, na, b, nb, MCD_DIM, cost_mcd, NULL, NULL);
    int n = na < nb ? na : nb;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += tts_quality_mcd_frame(a + (size_t)i * MCD_DIM, b + (size_t)i * MCD_DIM);
    return n ? s / n : NAN;
}

/* MCD of pcm[n] (analysed to log-mel) against the reference cepstra ref[nr] */
static double mcd_pcm(tts_mel *mel, const float *pcm, size_t n, int nm, const float *ref, int nr,
                      float floor, int dtw)
{
    float *frames = NULL, *c = NULL;
    size_t nf = 0;
    tts_err err;
    double v = NAN;
    if (tts_mel_analyze(mel, pcm, n, &frames, &nf, &err) == 0 && (c = tts_quality_cepstra(frames, nf, nm, floor)))
        v = mcd(c, (int)nf, ref, nr, dtw);
    free(frames);
    free(c);
    return v;
}

/* the neural vocoder over whole utterances (batched; the same samples as streaming) */
typedef struct {
    voc_model m;
    voc_arena ar;
    float *noise, *pcm;
    size_t cap;
    const float *f0, *voiced; /* experiments: F0 and voicing of every frame instead of the
                               * pitch head's (NULL: the pitch head) */
    uint64_t seed; /* the source's noise (--voc-seed; 12345 by default): a second seed
                    * tells how much of a word count is the noise's */
    int preroll;   /* experiment (--voc-preroll): frames of warm-up, see neural_run */
    float *pre;    /* the frames with the warm-up */
} neural;

static int neural_run(neural *v, const float *frames, int F)
{
    /* --voc-preroll P: P copies of the first frame first, their samples dropped */
    int P = v->preroll, nm = v->m.cfg.n_mels, hop = v->m.cfg.hop;
    size_t need = (size_t)(F + P) * hop;
    if (need > v->cap) {
        free(v->noise);
        free(v->pcm);
        free(v->pre);
        v->noise = malloc(sizeof(float) * need * v->m.cfg.src);
        v->pcm = malloc(sizeof(float) * need);
        v->pre = P ? malloc(sizeof(float) * (size_t)(F + P) * nm) : NULL;
        v->cap = need;
        if (!v->noise || !v->pcm || (P && !v->pre))
            return TTS_E_NOMEM;
    }
    if (P) {
        for (int i = 0; i < P; i++)
            memcpy(v->pre + (size_t)i * nm, frames, sizeof(float) * nm);
        memcpy(v->pre + (size_t)P * nm, frames, sizeof(float) * (size_t)F * nm);
        frames = v->pre;
        F += P;
    }
    int rc = voc_source_with_f0(&v->m, frames, F, F, v->seed, v->f0, v->voiced, v->noise, &v->ar);
    if (!rc)
        rc = voc_forward(&v->m, frames, F, F, v->noise, v->pcm, &v->ar);
    if (!rc && P)
        memmove(v->pcm, v->pcm + (size_t)P * hop, sizeof(float) * (size_t)(F - P) * hop);
    return rc;
}

/* frames[F] through the neural vocoder, its envelope matched to them in passes, to path */
static int neural_env_to(neural *v, tts_mel *mel, const float *frames, int F, int passes,
                         float max_gain, int rate, const char *path, tts_err *err)
{
    size_t n = (size_t)F * v->m.cfg.hop;
    int rc = neural_run(v, frames, F);
    if (!rc)
        rc = tts_mel_match_envelope(mel, v->pcm, n, frames, (size_t)F, passes, max_gain, err);
    return rc ? rc : tts_wav_write(path, v->pcm, n, rate, err);
}

typedef struct {
    double copy, copy_gl, e2e_gl, e2e_voc, copy_env, e2e_env;
    int n;
} mcd_sums;

typedef struct {
    int runaway, skipped_words, stalls;
    int forced; /* forced advances before the stall length (per-symbol holds, marks) */
    int skipped_short; /* of the skipped words, those of one sound (at most 2 ids: 'a') */
} failures;

/* scales every band's deviation from its mean over the utterance (a global-variance
 * post-filter: the predicted frames vary less than recorded ones) */
static void sharpen_frames(float *x, size_t n, int nm, double a, const float *global_mean)
{
    for (int b = 0; b < nm; b++) {
        double mu = 0;
        for (size_t f = 0; f < n; f++)
            mu += x[f * nm + b];
        mu /= n ? n : 1;
        if (global_mean)
            mu = global_mean[b];
        for (size_t f = 0; f < n; f++)
            x[f * nm + b] = (float)(mu + a * (x[f * nm + b] - mu));
    }
}

/* Over-smoothing in time: the power of the band trajectories' modulation in each of the
 * MOD_BANDS ranges (frames at fps a second), added to pw[]. Each band's trajectory, its
 * mean removed and Hann-windowed, through a DFT; the power of the bins in the range over
 * the frame count, averaged over the bands. Predicted frames lack the fast part: session
 * 12 measured 2.5 x less power at 10-20 Hz than the recordings' frames. */
#define MOD_BANDS 3
static const double mod_edges[MOD_BANDS + 1] = {4, 10, 20, 40};

static void mod_power(const float *x, size_t n, int nm, double fps, double *pw)
{
    if (n < 8)
        return;
    double *tr = malloc(sizeof(double) * n * 4), *cs = tr + n, *sn = cs + n, *win = sn + n;
    if (!tr)
        return;
    for (size_t t = 0; t < n; t++) {
        cs[t] = cos(2 * M_PI * (double)t / n);
        sn[t] = sin(2 * M_PI * (double)t / n);
        win[t] = 0.5 - 0.5 * cos(2 * M_PI * (t + 0.5) / n);
    }
    for (int b = 0; b < nm; b++) {
        double mu = 0;
        for (size_t t = 0; t < n; t++)
            mu += x[t * nm + b];
        mu /= (double)n;
        for (size_t t = 0; t < n; t++)
            tr[t] = (x[t * nm + b] - mu) * win[t];
        for (size_t k = 1; k <= n / 2; k++) {
            double f = k * fps / n;
            int r = -1;
            for (int j = 0; j < MOD_BANDS; j++)
                if (f >= mod_edges[j] && f < mod_edges[j + 1])
                    r = j;
            if (r < 0)
                continue;
            double re = 0, im = 0;
            for (size_t t = 0, m = 0; t < n; t++, m = (m + k) % n) {
                re += tr[t] * cs[m];
                im -= tr[t] * sn[m];
            }
            pw[r] += (re * re + im * im) / n / nm;
        }
    }
    free(tr);
}

/* judges one free-running result against the words of its phonemes. A word is skipped
 * when the attention spent less than one frame (12.5 ms) on its phonemes in all: its
 * attention mass over the decoder steps (from align[steps, N]) times r frames per step.
 * A short word may be passed within a single step, which is not a skip. */
static void judge(const frame_run *c, const float *align, const int *ids, int N, int r,
                  const tts_phonemes *ph, int stop, const t2m_infer_opts *io, int stall_steps,
                  failures *f, const char *text, FILE *log)
{
    if (stop == 1) {
        f->runaway++;
        if (log)
            fprintf(log, "runaway\t%s\n", text);
    }
    for (size_t w = 0; w < ph->n_words; w++) {
        size_t lo = ph->words[w].first_id, hi = lo + ph->words[w].n_ids;
        double mass = 0;
        for (size_t s = 0; s < c->steps; s++)
            for (size_t k = lo; k < hi && k < (size_t)N; k++)
                mass += align[s * N + k];
        if (mass * r < 1) {
            f->skipped_words++;
            f->skipped_short += ph->words[w].n_ids <= 2;
            if (log)
                fprintf(log, "skipped '%.*s' (%.2f frames)\t%s\n", (int)ph->words[w].length,
                        text + ph->words[w].offset, mass * r, text);
        }
    }
    /* steps on the current token, counted as t2m_synthesize counts its stay: a token reached
     * by a move is forced on after limit + 1 steps, token 0 (held from the start) after limit */
    int same = 0;
    for (size_t s = 0; s < c->steps; s++) {
        if (s == 0)
            same = c->pos[0] == 0 ? 2 : 1;
        else
            same = c->pos[s] == c->pos[s - 1] ? same + 1 : 1;
        if (c->pos[s] + 1 >= N)
            continue; /* the end token: nothing to advance to */
        /* held for the limit's steps and one more: the next step is forced on */
        int limit = t2m_stay_limit(io, ids[c->pos[s]], r) + 1;
        if (same == stall_steps) {
            f->stalls++;
            if (log)
                fprintf(log, "stall at token %d\t%s\n", c->pos[s], text);
        } else if (limit > 1 && limit < stall_steps && same == limit && s + 1 < c->steps) {
            f->forced++;
            if (log)
                fprintf(log, "forced advance at token %d (%d frames)\t%s\n", c->pos[s], same * r,
                        text);
        }
    }
}

/* thumbnails of the free-running attentions, all of a set on one sheet */
#define THUMB_W 96
#define THUMB_H 48
typedef struct {
    float *cells; /* [cap][THUMB_H * THUMB_W] */
    int n, cap;
} thumbs;

/* the free-running attention al[steps, N] as OUTDIR/SUB/NAME.png, and its thumbnail */
static void plot_attention(const char *outdir, const char *sub, const char *name, const float *al,
                           size_t steps, int N, thumbs *t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s.png", outdir, sub, name);
    plot_panel p = {al, (int)steps, N, 0, 1};
    tts_err e;
    if (steps == 0)
        return;
    if (plot_png(path, &p, 1, 2, 2, &e))
        fprintf(stderr, "tts-train eval: %s\n", e.msg);
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        float *c = realloc(t->cells, sizeof(float) * (size_t)cap * THUMB_W * THUMB_H);
        if (!c)
            return;
        t->cells = c;
        t->cap = cap;
    }
    plot_thumb(&p, t->cells + (size_t)t->n++ * THUMB_W * THUMB_H, THUMB_W, THUMB_H);
}

/* every thumbnail of t on OUTDIR/NAME.png, 10 to a row; frees them */
static void plot_sheet(const char *outdir, const char *name, thumbs *t)
{
    char path[4096];
    tts_err e;
    snprintf(path, sizeof path, "%s/%s.png", outdir, name);
    if (t->n > 0 && plot_grid_png(path, t->cells, t->n, THUMB_W, THUMB_H, 10, &e))
        fprintf(stderr, "tts-train eval: %s\n", e.msg);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* Griffin-Lim of frames[n] into path; with ref, *mcd_out gets the MCD of the result */
static int vocode_to(tts_mel *mel, const float *frames, size_t n, int nm, int rate,
                     const char *path, const float *ref, int nr, float floor, int dtw,
                     double *mcd_out, unsigned seed_k, tts_err *err)
{
    float *pcm = NULL;
    size_t np = 0;
    tts_gl_params gp = tts_gl_default_params();
    gp.seed += seed_k; /* --seeds: the random initial phase's seed, the default's + k */
    int rc = tts_mel_synthesize(mel, frames, n, &gp, &pcm, &np, err);
    if (!rc)
        rc = tts_wav_write(path, pcm, np, rate, err);
    if (!rc && ref)
        *mcd_out = mcd_pcm(mel, pcm, np, nm, ref, nr, floor, dtw);
    free(pcm);
    return rc;
}

/* a copy of frames[n, nm] (NULL when n is 0 or memory is short: the callers then use the
 * frames themselves) */
static float *frames_copy(const float *frames, size_t n, int nm)
{
    float *c = n ? malloc(sizeof(float) * n * (size_t)nm) : NULL;
    if (c)
        memcpy(c, frames, sizeof(float) * n * (size_t)nm);
    return c;
}

static FILE *open_tsv(const char *outdir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s.tsv", outdir, name);
    return fopen(path, "w");
}

/* --seeds K: the word counts' noise averaged out. Each take or sentence once more per
 * seed k < K from Griffin-Lim (initial phase seed + k) into PREFIXgl_sk/ and from the
 * network (noise seed + k, envelope matched) into PREFIXvoc_sk/, each with its .tsv */
typedef struct {
    int n;
    FILE *gl[EVAL_MAX_SEEDS], *voc[EVAL_MAX_SEEDS];
    int voc_env;
    float env_gain;
    int rate, n_mels;
    double mcd_gl, mcd_voc; /* over the takes and seeds (render_seeds with a reference) */
    int n_mcd_gl, n_mcd_voc;
} seed_sets;

static void seeds_open(seed_sets *s, const char *outdir, const char *prefix, int with_voc)
{
    char nm[64];
    for (int k = 0; k < s->n; k++) {
        snprintf(nm, sizeof nm, "%sgl_s%d", prefix, k);
        s->gl[k] = open_tsv(outdir, nm);
        snprintf(nm, sizeof nm, "%svoc_s%d", prefix, k);
        s->voc[k] = with_voc ? open_tsv(outdir, nm) : NULL;
    }
}

static void seeds_close(seed_sets *s)
{
    for (int k = 0; k < s->n; k++) {
        if (s->gl[k])
            fclose(s->gl[k]);
        if (s->voc[k])
            fclose(s->voc[k]);
        s->gl[k] = s->voc[k] = NULL;
    }
}

/* gl_frames (as predicted) through Griffin-Lim, voc_frames (as the network is given them)
 * through the network, n frames each, once per seed; with the recording's cepstra ref[nr]
 * (floored at floor), their MCD along the DTW path into s's sums */
static void render_seeds(seed_sets *s, tts_mel *mel, neural *v, const float *gl_frames,
                         const float *voc_frames, size_t n, const float *ref, int nr,
                         float floor, const char *outdir, const char *prefix,
                         const char *name, const char *text, tts_err *err)
{
    char path[4096];
    uint64_t seed0 = v->seed;
    for (int k = 0; k < s->n && n > 0; k++) {
        double m = NAN;
        snprintf(path, sizeof path, "%s/%sgl_s%d/%s.wav", outdir, prefix, k, name);
        if (s->gl[k] && vocode_to(mel, gl_frames, n, s->n_mels, s->rate, path, ref, nr, floor, 1,
                                  &m, (unsigned)k, err) == 0)
            fprintf(s->gl[k], "%s\t%s\n", path, text);
        if (ref && isfinite(m)) {
            s->mcd_gl += m;
            s->n_mcd_gl++;
        }
        if (!s->voc[k])
            continue;
        v->seed = seed0 + (uint64_t)k;
        snprintf(path, sizeof path, "%s/%svoc_s%d/%s.wav", outdir, prefix, k, name);
        if (neural_env_to(v, mel, voc_frames, (int)n, s->voc_env, s->env_gain, s->rate, path,
                          err) == 0) {
            fprintf(s->voc[k], "%s\t%s\n", path, text);
            m = ref ? mcd_pcm(mel, v->pcm, n * (size_t)v->m.cfg.hop, s->n_mels, ref, nr, floor, 1)
                    : NAN;
            if (isfinite(m)) {
                s->mcd_voc += m;
                s->n_mcd_voc++;
            }
        }
    }
    v->seed = seed0;
}

/* the vocoder's pitch head on recorded and on teacher-forced frames, against YIN on the
 * recording: how often it calls voicing wrong, and how often its F0 is grossly off */
typedef struct {
    double frames, v_err[2], gross[2], both[2];
    /* jumps of more than half an octave between consecutive frames voiced in both: YIN on
     * the recording; the pitch head on recorded, teacher-forced, free-running frames */
    double jumps[4], pairs[4];
} pitch_sums;

#define PITCH_JUMP_OCT 0.5

static void count_jumps(const float *f0, const float *voiced, int F, double *jumps,
                        double *pairs)
{
    for (int t = 1; t < F; t++)
        if (voiced[t] > 0.5f && voiced[t - 1] > 0.5f) {
            (*pairs)++;
            *jumps += fabs(log2((double)f0[t] / f0[t - 1])) > PITCH_JUMP_OCT;
        }
}

/* the pitch head's F0 and voicing of F frames (out: its 2F raw outputs) */
static int head_read(neural *v, const float *frames, int F, float *out, float *f0, float *vo)
{
    int rc = voc_pitch_forward(&v->m, frames, F, out, &v->ar);
    if (!rc)
        voc_pitch_decode(out, F, f0, vo);
    return rc;
}

/* the pitch head's jumps on F frames (slot k of pc) */
static void pitch_jumps(neural *v, const float *frames, int F, int k, pitch_sums *pc)
{
    float *out = malloc(sizeof(float) * 2 * F);
    float *f0 = malloc(sizeof(float) * F), *vo = malloc(sizeof(float) * F);
    if (out && f0 && vo && head_read(v, frames, F, out, f0, vo) == 0)
        count_jumps(f0, vo, F, &pc->jumps[k], &pc->pairs[k]);
    free(out);
    free(f0);
    free(vo);
}

/* ref[F]: YIN on the recording (0 = unvoiced); rec, tf: its recorded and teacher-forced frames */
static void pitch_check(neural *v, const float *ref, const float *rec, const float *tf, int F,
                        pitch_sums *pc)
{
    float *out = malloc(sizeof(float) * 2 * F);
    float *f0 = malloc(sizeof(float) * F), *vo = malloc(sizeof(float) * F);
    if (out && f0 && vo) {
        for (int k = 0; k < 2; k++) {
            if (head_read(v, k ? tf : rec, F, out, f0, vo))
                break;
            for (int t = 0; t < F; t++) {
                int vr = ref[t] > 0, vh = vo[t] > 0.5f;
                pc->v_err[k] += vr != vh;
                if (vr && vh) {
                    pc->both[k]++;
                    pc->gross[k] += fabsf(f0[t] / ref[t] - 1) > 0.2f;
                }
            }
            count_jumps(f0, vo, F, &pc->jumps[k + 1], &pc->pairs[k + 1]);
        }
        for (int t = 0; t < F; t++)
            vo[t] = ref[t] > 0;
        count_jumps(ref, vo, F, &pc->jumps[0], &pc->pairs[0]);
        pc->frames += F;
    }
    free(out);
    free(f0);
    free(vo);
}

int train_eval_main(int argc, char **argv)
{
    const char *pos[4] = {0}, *voc_path = NULL;
    double sharpen = 1; /* experiment: x' = band mean + sharpen (x - band mean) */
    double attn_sharpen = 0; /* experiment (0: the voice's own): attention logits times this at inference */
    int sharpen_global = 0; /* the band means of the training data, not of the utterance */
    double sharpen_t = -1;  /* the free-running frames through tts_sharpen (amount this, width
                             * sharpen_w) before both vocoders (the seeds' Griffin-Lim gets
                             * them plain, as the engine does); -1 (not given): the
                             * --vocoder file's own frame_sharpen, as the engine speaks */
    int sharpen_w = 5;
    int n_seeds = 0; /* --seeds K: every validation take K more times from each vocoder, with
                      * K noise seeds (gl_sk/: Griffin-Lim of the frames as predicted, before
                      * --sharpen-time; voc_sk/: the network with its envelope matched, on
                      * the frames it is given): word counts summed over seeds */
    int match_plain = 0; /* experiment: with --sharpen-time, the neural vocoder's envelope
                          * match aims at the frames as predicted, not as sharpened (the
                          * sharpened frames only drive the network) */
    int oracle_pitch = 0; /* with --vocoder: tf_voc_oracle/, the teacher-forced frames through
                           * the neural vocoder at the recording's pitch */
    int voc_env = -1; /* the neural vocoder's output also with its mel envelope matched to
                       * the frames in this many passes (-1: the vocoder's own setting) */
    float env_gain = VOC_ENV_MAX_GAIN; /* experiment: the match's largest gain */
    int window_ahead = -1; /* experiment (-1: the default): tokens the attention may look ahead */
    int max_stay = 0; /* experiment (0: the default): frames on one token before the forced advance */
    int window_back = -1; /* experiment (-1: the default): tokens the attention may look back */
    int pass_marks = 1; /* the window reaches past marks (t2m_infer_opts.passable) */
    int max_stay_marks = 0; /* experiment: frames on a mark or word boundary before the forced advance */
    double hold_scale = -1; /* experiment (-1: the default; 0: off): the forced advance after
                             * this times the symbol's hold */
    double pitch_range = 0; /* a voice with pitch: its predicted excursions times this (0: the
                             * voice's own range) */
    uint64_t voc_seed = 12345;
    int voc_preroll = 0;
    int np = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--vocoder") && i + 1 < argc)
            voc_path = argv[++i];
        else if (!strcmp(argv[i], "--sharpen") && i + 1 < argc)
            sharpen = atof(argv[++i]);
        else if (!strcmp(argv[i], "--attn-sharpen") && i + 1 < argc)
            attn_sharpen = atof(argv[++i]);
        else if (!strcmp(argv[i], "--voc-envelope") && i + 1 < argc)
            voc_env = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--voc-preroll") && i + 1 < argc)
            voc_preroll = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--voc-seed") && i + 1 < argc)
            voc_seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--voc-env-gain") && i + 1 < argc)
            env_gain = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--window-back") && i + 1 < argc)
            window_back = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-stay-marks") && i + 1 < argc)
            max_stay_marks = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--hold-scale") && i + 1 < argc)
            hold_scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--no-pass-marks"))
            pass_marks = 0;
        else if (!strcmp(argv[i], "--max-stay") && i + 1 < argc)
            max_stay = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--window-ahead") && i + 1 < argc)
            window_ahead = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pitch-range") && i + 1 < argc)
            pitch_range = atof(argv[++i]);
        else if (!strcmp(argv[i], "--oracle-pitch"))
            oracle_pitch = 1;
        else if (!strcmp(argv[i], "--sharpen-time") && i + 2 < argc) {
            sharpen_t = atof(argv[++i]);
            sharpen_w = atoi(argv[++i]);
            if (!tts_sharpen_valid((float)sharpen_t, sharpen_w)) {
                fprintf(stderr, "tts-train eval: --sharpen-time wants an amount in 0 .. %g and "
                                "an odd width in 3 .. %d\n",
                        TTS_SHARPEN_MAX_AMOUNT, TTS_SHARPEN_MAX_WIDTH);
                return 2;
            }
        } else if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
            n_seeds = atoi(argv[++i]);
            if (n_seeds < 0 || n_seeds > EVAL_MAX_SEEDS) {
                fprintf(stderr, "tts-train eval: --seeds wants 0 .. %d\n", EVAL_MAX_SEEDS);
                return 2;
            }
        } else if (!strcmp(argv[i], "--voc-match-plain"))
            match_plain = 1;
        else if (!strcmp(argv[i], "--sharpen-global"))
            sharpen_global = 1;
        else if (np < 4 && argv[i][0] != '-')
            pos[np++] = argv[i];
        else
            np = 5;
    }
    if (np < 3 || np > 4) {
        fprintf(stderr, "usage: tts-train eval MODEL.ltm CACHE.ltd OUTDIR [SENTENCES.txt] "
                        "[--vocoder VOC.ltm]\n");
        return 2;
    }
    argc = np;
    argv = (char **)pos;
    openblas_set_num_threads(1);
    const char *outdir = argv[2];
    tts_err err = {0};
    tts_mf *mf = NULL;
    t2m_model m;
    tts_dataset ds;
    tts_frontend *fe = NULL;
    tts_mel *mel = NULL;
    const char *symbols;
    if (tts_mf_open(&mf, argv[0], &err) || t2m_from_mf(&m, mf, 0, NULL, &err) ||
        tts_mf_get_str(mf, "symbols", &symbols, &err) || tts_dataset_open(&ds, argv[1], &err) ||
        tts_frontend_open(&fe, NULL, &err) ||
        tts_frontend_set_symbols(fe, symbols, strlen(symbols), &err) ||
        tts_mel_create(&mel, &ds.audio, &err)) {
        fprintf(stderr, "tts-train eval: %s\n", err.msg);
        return 1;
    }
    neural voc = {.seed = voc_seed, .preroll = voc_preroll > 0 ? voc_preroll : 0};
    tts_mf *vmf = NULL;
    FILE *t_rec = NULL, *t_copy = NULL, *t_copy_gl = NULL, *t_voc = NULL, *t_copy_env = NULL,
         *t_voc_env = NULL, *t_tf_env = NULL, *t_tf_oracle = NULL;
    mcd_sums ms = {0};
    pitch_sums pc = {0};
    if (voc_path) {
        if (tts_mf_open(&vmf, voc_path, &err) || voc_from_mf(&voc.m, vmf, 0, NULL, &err)) {
            fprintf(stderr, "tts-train eval: %s\n", err.msg);
            return 1;
        }
        if (voc.m.cfg.hop != ds.audio.hop_length || voc.m.cfg.n_mels != ds.n_mels) {
            fprintf(stderr, "tts-train eval: the vocoder does not fit the cache's features\n");
            return 1;
        }
        if (voc_env < 0)
            voc_env = voc.m.cfg.env_passes;
        if (sharpen_t < 0 && voc.m.cfg.frame_sharpen > 0) {
            sharpen_t = voc.m.cfg.frame_sharpen;
            sharpen_w = voc.m.cfg.frame_sharpen_w;
            fprintf(stderr, "note: the frames sharpened as %s does when it speaks (%g, width "
                            "%d; --sharpen-time 0 5 turns it off)\n",
                    voc_path, sharpen_t, sharpen_w);
        }
        mkdir(outdir, 0755);
        t_rec = open_tsv(outdir, "rec");
        t_copy = open_tsv(outdir, "copy");
        t_copy_gl = open_tsv(outdir, "copy_gl");
        t_voc = open_tsv(outdir, "val_voc");
        if (voc_env > 0) {
            t_copy_env = open_tsv(outdir, "copy_env");
            t_voc_env = open_tsv(outdir, "val_voc_env");
            t_tf_env = open_tsv(outdir, "tf_voc_env");
            if (oracle_pitch)
                t_tf_oracle = open_tsv(outdir, "tf_voc_oracle");
        }
        if (!t_rec || !t_copy || !t_copy_gl || !t_voc) {
            fprintf(stderr, "tts-train eval: cannot write into %s\n", outdir);
            return 1;
        }
    }
    char path[4096];
    mkdir(outdir, 0755);
    snprintf(path, sizeof path, "%s/val", outdir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/sent", outdir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tf", outdir);
    mkdir(path, 0755);
    FILE *t_tf = open_tsv(outdir, "tf");
    if (sharpen_t < 0)
        sharpen_t = 0;
    seed_sets seeds = {.n = n_seeds, .voc_env = voc_env, .env_gain = env_gain,
                       .rate = ds.audio.sample_rate, .n_mels = ds.n_mels};
    seeds_open(&seeds, outdir, "", voc_path && voc_env > 0);
    if (!t_tf) {
        fprintf(stderr, "tts-train eval: cannot write into %s\n", outdir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/failures.txt", outdir);
    FILE *flog = fopen(path, "w"); /* every attention failure, with its sentence */
    double mcd_tf = 0, mcd_fr = 0;
    int n_mcd_tf = 0, n_mcd_fr = 0;
    int nm = ds.n_mels, r = m.cfg.r;
    int steps_per_second = (int)(ds.audio.sample_rate / (double)(ds.audio.hop_length * r) + 0.5);
    t2m_train_opts to = {.guided_weight = 1, .guided_g = 0.2f, .input_dropout = 0};
    t2m_infer_opts io = t2m_infer_opts_default(&m);
    if (attn_sharpen > 0)
        io.attn_sharpen = (float)attn_sharpen;
    if (pitch_range > 0) /* else the voice's own */
        io.pitch_range = (float)pitch_range;
    if (window_ahead >= 0)
        io.window_ahead = window_ahead;
    if (window_back >= 0)
        io.window_back = window_back;
    if (max_stay > 0)
        io.max_stay = (max_stay + r - 1) / r;
    unsigned char *passable = malloc((size_t)m.cfg.n_symbols);
    if (passable && pass_marks) {
        tts_symtab_passable(tts_frontend_symbols(fe), passable);
        io.passable = passable;
    }
    /* a stall: one token held for a second, or until the forced advance of max_stay moved it on */
    int stall_steps = (io.max_stay > 0 && io.max_stay < steps_per_second ? io.max_stay
                                                                          : steps_per_second) + 1;
    if (max_stay_marks > 0)
        io.max_stay_passable = (max_stay_marks + r - 1) / r;
    if (hold_scale >= 0)
        io.hold_scale = (float)hold_scale;
    if (io.hold && io.hold_scale > 0)
        fprintf(stderr, "forced advance after %.2f x the voice's holds\n", io.hold_scale);
    t2m_arena ar = {0};
    double tf_l1 = 0, diag = 0, focus = 0, fr_l1 = 0, len_ratio = 0;
    /* modulation power (mod_power) of the recorded, teacher-forced, free-running frames */
    double mod_rec[MOD_BANDS] = {0}, mod_tf[MOD_BANDS] = {0}, mod_fr[MOD_BANDS] = {0};
    double fps = (double)ds.audio.sample_rate / ds.audio.hop_length;
    int n_val = 0;
    failures vf = {0}, sf = {0};
    thumbs val_thumbs = {0}, sent_thumbs = {0};
    snprintf(path, sizeof path, "%s/val.tsv", outdir);
    FILE *vt = fopen(path, "w");
    if (!vt) {
        fprintf(stderr, "tts-train eval: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    for (int i = 0; i < ds.n; i++) {
        if (!ds.split[i])
            continue;
        int N = tts_dataset_n_ids(&ds, i), F = tts_dataset_n_frames(&ds, i);
        int S = (F + r - 1) / r;
        const float *raw = ds.mel + (size_t)ds.mel_off[i] * nm;
        float *norm = malloc(sizeof(float) * (size_t)F * nm);
        float *A = malloc(sizeof(float) * (size_t)S * N);
        tts_dataset_mel_norm(&ds, i, norm);
        t2m_loss L;
        uint64_t rng = 1;
        float *pred = malloc(sizeof(float) * (size_t)S * r * nm);
        to.pred = pred;
        t2m_train_utterance(&m, ds.ids + ds.ids_off[i], N, norm, F, &to, NULL, 1, &rng, &ar, &L, A);
        for (size_t k = 0; k < (size_t)F * nm; k++) /* back to log-mel */
            pred[k] = pred[k] * ds.mel_std[k % nm] + ds.mel_mean[k % nm];
        tf_l1 += L.l1;
        double in_band = 0, fsum = 0;
        for (int s = 0; s < S; s++) {
            float mx = 0;
            for (int n = 0; n < N; n++) {
                float a = A[(size_t)s * N + n];
                if (fabs((double)n / N - (double)s / S) < 0.1)
                    in_band += a;
                mx = a > mx ? a : mx;
            }
            fsum += mx;
        }
        diag += in_band / S;
        focus += fsum / S;
        /* free running */
        frame_run c = {.n_mels = nm};
        int stop = 0;
        float *al = calloc(((size_t)io.max_steps_per_token * N + 10) * N, sizeof(float));
        t2m_synthesize(&m, ds.ids + ds.ids_off[i], N, &io, frame_run_collect, &c, al, &stop, &err);
        if (sharpen != 1)
            sharpen_frames(c.frames, c.n, nm, sharpen, sharpen_global ? ds.mel_mean : NULL);
        /* --voc-match-plain, --seeds: the frames before --sharpen-time */
        float *plain = (match_plain || n_seeds > 0) && sharpen_t != 0
                           ? frames_copy(c.frames, c.n, nm) : NULL;
        if (sharpen_t != 0)
            tts_sharpen_frames(c.frames, c.n, nm, (float)sharpen_t, sharpen_w, &err);
        mod_power(raw, (size_t)F, nm, fps, mod_rec);
        mod_power(pred, (size_t)F, nm, fps, mod_tf);
        mod_power(c.frames, c.n, nm, fps, mod_fr);
        if (c.n > 0) {
            float *cn = malloc(sizeof(float) * c.n * nm);
            for (size_t f = 0; f < c.n; f++)
                for (int b = 0; b < nm; b++)
                    cn[f * nm + b] = (c.frames[f * nm + b] - ds.mel_mean[b]) / ds.mel_std[b];
            fr_l1 += tts_dtw(cn, (int)c.n, norm, F, nm, tts_cost_l1, NULL, NULL);
            free(cn);
        }
        len_ratio += (double)c.n / F;
        const char *text = ds.texts ? ds.texts[i] : "";
        tts_phonemes ph = {0};
        if (tts_frontend_phonemize(fe, text, strlen(text), &ph, &err) == 0 && ph.n_ids == (size_t)N)
            judge(&c, al, ds.ids + ds.ids_off[i], N, m.cfg.r, &ph, stop, &io, stall_steps, &vf, text,
                  flog);
        else if (stop == 1)
            vf.runaway++;
        tts_phonemes_free(&ph);
        const char *name = ds.names ? ds.names[i] : "x";
        plot_attention(outdir, "val", name, al, c.steps, N, &val_thumbs);
        float top = -INFINITY;
        for (size_t k = 0; k < (size_t)F * nm; k++)
            top = fmaxf(top, raw[k]);
        float floor = top - MCD_RANGE;
        float *ref = tts_quality_cepstra(raw, (size_t)F, nm, floor);
        double m_gl = NAN, m_tf = NAN;
        snprintf(path, sizeof path, "%s/tf/%s.wav", outdir, name);
        if (vocode_to(mel, pred, (size_t)F, nm, ds.audio.sample_rate, path, ref, F, floor, 0, &m_tf, 0,
                      &err) == 0)
            fprintf(t_tf, "%s\t%s\n", path, text);
        if (isfinite(m_tf)) {
            mcd_tf += m_tf;
            n_mcd_tf++;
        }

        snprintf(path, sizeof path, "%s/val/%s.wav", outdir, name);
        if (c.n > 0 && vocode_to(mel, c.frames, c.n, nm, ds.audio.sample_rate, path, ref, F, floor, 1, &m_gl,
                                 0, &err) == 0)
            fprintf(vt, "%s\t%s\n", path, text);
        if (isfinite(m_gl)) {
            mcd_fr += m_gl;
            n_mcd_fr++;
        }
        render_seeds(&seeds, mel, &voc, plain ? plain : c.frames, c.frames, c.n, ref, F, floor,
                     outdir, "", name, text, &err);
        if (voc_path && ref) {
            int rate = ds.audio.sample_rate, hop = ds.audio.hop_length;
            /* the recording's F0 (YIN): the pitch head is judged against it, and
             * --oracle-pitch puts it under the teacher-forced frames */
            float *rec_f0 = malloc(sizeof(float) * F);
            if (rec_f0)
                voc_pitch_track(ds.pcm + (size_t)ds.mel_off[i] * hop, (size_t)F * hop, rate, hop,
                                F, rec_f0);
            double m_copy = NAN, m_copy_gl = NAN, m_voc = NAN, m_copy_env = NAN, m_voc_env = NAN;
            snprintf(path, sizeof path, "%s/rec/%s.wav", outdir, name);
            if (tts_wav_write(path, ds.pcm + (size_t)ds.mel_off[i] * hop, (size_t)F * hop, rate,
                              &err) == 0)
                fprintf(t_rec, "%s\t%s\n", path, text);
            snprintf(path, sizeof path, "%s/copy_gl/%s.wav", outdir, name);
            if (vocode_to(mel, raw, (size_t)F, nm, rate, path, ref, F, floor, 0, &m_copy_gl, 0, &err) == 0)
                fprintf(t_copy_gl, "%s\t%s\n", path, text);
            snprintf(path, sizeof path, "%s/copy/%s.wav", outdir, name);
            if (neural_run(&voc, raw, F) == 0) {
                m_copy = mcd_pcm(mel, voc.pcm, (size_t)F * hop, nm, ref, F, floor, 0);
                if (tts_wav_write(path, voc.pcm, (size_t)F * hop, rate, &err) == 0)
                    fprintf(t_copy, "%s\t%s\n", path, text);
                if (t_copy_env && tts_mel_match_envelope(mel, voc.pcm, (size_t)F * hop, raw, F,
                                                         voc_env, env_gain, &err) == 0) {
                    m_copy_env = mcd_pcm(mel, voc.pcm, (size_t)F * hop, nm, ref, F, floor, 0);
                    snprintf(path, sizeof path, "%s/copy_env/%s.wav", outdir, name);
                    if (tts_wav_write(path, voc.pcm, (size_t)F * hop, rate, &err) == 0)
                        fprintf(t_copy_env, "%s\t%s\n", path, text);
                }
            }
            snprintf(path, sizeof path, "%s/val_voc/%s.wav", outdir, name);
            if (c.n > 0)
                pitch_jumps(&voc, c.frames, (int)c.n, 3, &pc);
            if (c.n > 0 && neural_run(&voc, c.frames, (int)c.n) == 0) {
                m_voc = mcd_pcm(mel, voc.pcm, c.n * hop, nm, ref, F, floor, 1);
                if (tts_wav_write(path, voc.pcm, c.n * hop, rate, &err) == 0)
                    fprintf(t_voc, "%s\t%s\n", path, text);
                if (t_voc_env && tts_mel_match_envelope(mel, voc.pcm, c.n * hop,
                                                        match_plain && plain ? plain : c.frames, c.n,
                                                        voc_env, env_gain, &err) == 0) {
                    m_voc_env = mcd_pcm(mel, voc.pcm, c.n * hop, nm, ref, F, floor, 1);
                    snprintf(path, sizeof path, "%s/val_voc_env/%s.wav", outdir, name);
                    if (tts_wav_write(path, voc.pcm, c.n * hop, rate, &err) == 0)
                        fprintf(t_voc_env, "%s\t%s\n", path, text);
                }
            }
            /* the teacher-forced frames through it too (tf/ has them through Griffin-Lim):
             * which of the acoustic model's departures from the recording hurt it */
            snprintf(path, sizeof path, "%s/tf_voc_env/%s.wav", outdir, name);
            if (t_tf_env &&
                neural_env_to(&voc, mel, pred, F, voc_env, env_gain, rate, path, &err) == 0)
                fprintf(t_tf_env, "%s\t%s\n", path, text);
            /* the same with the recording's pitch (YIN) instead of the pitch head's: how much
             * of the neural vocoder's loss on predicted frames is its reading of the pitch */
            if (t_tf_oracle && rec_f0) {
                float *f0 = malloc(sizeof(float) * F), *vo = malloc(sizeof(float) * F);
                if (f0 && vo) {
                    for (int t = 0; t < F; t++) {
                        f0[t] = rec_f0[t];
                        vo[t] = rec_f0[t] > 0;
                    }
                    voc_pitch_fill(f0, F);
                    voc.f0 = f0;
                    voc.voiced = vo;
                    snprintf(path, sizeof path, "%s/tf_voc_oracle/%s.wav", outdir, name);
                    if (neural_env_to(&voc, mel, pred, F, voc_env, env_gain, rate, path, &err) == 0)
                        fprintf(t_tf_oracle, "%s\t%s\n", path, text);
                    voc.f0 = voc.voiced = NULL;
                }
                free(f0);
                free(vo);
            }
            if (isfinite(m_copy) && isfinite(m_copy_gl) && isfinite(m_gl) && isfinite(m_voc)) {
                ms.copy += m_copy;
                ms.copy_gl += m_copy_gl;
                ms.e2e_gl += m_gl;
                ms.e2e_voc += m_voc;
                ms.copy_env += m_copy_env; /* NaN unless --voc-envelope */
                ms.e2e_env += m_voc_env;
                ms.n++;
            }
            if (rec_f0)
                pitch_check(&voc, rec_f0, raw, pred, F, &pc);
            free(rec_f0);
        }
        free(ref);
        free(pred);
        frame_run_free(&c);
        free(plain);
        free(norm);
        free(al);
        free(A);
        n_val++;
        fprintf(stderr, "\rvalidation %d", n_val);
    }
    fclose(vt);
    fclose(t_tf);
    seeds_close(&seeds);
    if (flog)
        fflush(flog);
    fprintf(stderr, "\n");
    int n_sent = 0, n_words = 0;
    if (argc == 4) {
        FILE *f = fopen(argv[3], "r");
        snprintf(path, sizeof path, "%s/sent.tsv", outdir);
        FILE *st = fopen(path, "w");
        FILE *st_voc = voc_path && voc_env > 0 ? open_tsv(outdir, "sent_voc_env") : NULL;
        FILE *st_raw = voc_path ? open_tsv(outdir, "sent_voc") : NULL;
        seeds_open(&seeds, outdir, "sent_", voc_path && voc_env > 0);
        if (!f || !st || (voc_path && !st_raw)) {
            fprintf(stderr, "tts-train eval: cannot open %s or %s\n", argv[3], path);
            return 1;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        while ((got = getline(&line, &cap, f)) >= 0) {
            while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
                line[--got] = '\0';
            /* as scripts/eval_voice.sh reads SENTENCES (scripts/spoken_form.py): blank
             * lines and '#' lines skipped, "TEXT<TAB>REFERENCE" spoken as TEXT, so that
             * NNN.wav is that script's sentence NNN */
            char *tab = strchr(line, '\t');
            if (tab) {
                *tab = '\0';
                got = tab - line;
            }
            size_t lead = strspn(line, " \t");
            if (lead == (size_t)got || line[lead] == '#')
                continue;
            tts_phonemes ph = {0};
            if (tts_frontend_phonemize(fe, line, (size_t)got, &ph, &err)) {
                fprintf(stderr, "tts-train eval: %s\n", err.msg);
                continue;
            }
            int *ids = malloc(sizeof(int) * ph.n_ids);
            for (size_t k = 0; k < ph.n_ids; k++)
                ids[k] = ph.ids[k];
            frame_run c = {.n_mels = nm};
            int stop = 0;
            int Ns = (int)ph.n_ids;
            float *al = calloc(((size_t)io.max_steps_per_token * Ns + 10) * Ns, sizeof(float));
            t2m_synthesize(&m, ids, Ns, &io, frame_run_collect, &c, al, &stop, &err);
            if (sharpen != 1)
                sharpen_frames(c.frames, c.n, nm, sharpen, sharpen_global ? ds.mel_mean : NULL);
            /* --seeds: Griffin-Lim's frames, before --sharpen-time */
            float *plain = n_seeds > 0 && sharpen_t != 0 ? frames_copy(c.frames, c.n, nm) : NULL;
            if (sharpen_t != 0)
                tts_sharpen_frames(c.frames, c.n, nm, (float)sharpen_t, sharpen_w, &err);
            judge(&c, al, ids, Ns, m.cfg.r, &ph, stop, &io, stall_steps, &sf, line, flog);
            char pname[16];
            snprintf(pname, sizeof pname, "%03d", n_sent + 1);
            plot_attention(outdir, "sent", pname, al, c.steps, Ns, &sent_thumbs);
            free(al);
            n_words += (int)ph.n_words;
            snprintf(path, sizeof path, "%s/sent/%03d.wav", outdir, n_sent + 1);
            if (c.n > 0 && vocode_to(mel, c.frames, c.n, nm, ds.audio.sample_rate, path, NULL, 0, 0,
                                     0, NULL, 0, &err) == 0)
                fprintf(st, "%s\t%s\n", path, line);
            /* the network once: its output as it is, then with its envelope matched */
            if (st_raw && c.n > 0 && neural_run(&voc, c.frames, (int)c.n) == 0) {
                size_t ns = c.n * (size_t)voc.m.cfg.hop;
                snprintf(path, sizeof path, "%s/sent_voc/%03d.wav", outdir, n_sent + 1);
                if (tts_wav_write(path, voc.pcm, ns, ds.audio.sample_rate, &err) == 0)
                    fprintf(st_raw, "%s\t%s\n", path, line);
                snprintf(path, sizeof path, "%s/sent_voc_env/%03d.wav", outdir, n_sent + 1);
                if (st_voc &&
                    tts_mel_match_envelope(mel, voc.pcm, ns, c.frames, c.n, voc_env, env_gain,
                                           &err) == 0 &&
                    tts_wav_write(path, voc.pcm, ns, ds.audio.sample_rate, &err) == 0)
                    fprintf(st_voc, "%s\t%s\n", path, line);
            }
            char sname[16];
            snprintf(sname, sizeof sname, "%03d", n_sent + 1);
            render_seeds(&seeds, mel, &voc, plain ? plain : c.frames, c.frames, c.n, NULL, 0, 0,
                         outdir, "sent_", sname, line, &err);
            free(plain);
            free(ids);
            frame_run_free(&c);
            tts_phonemes_free(&ph);
            n_sent++;
            fprintf(stderr, "\rsentences %d", n_sent);
        }
        fprintf(stderr, "\n");
        free(line);
        fclose(f);
        fclose(st);
        if (st_voc)
            fclose(st_voc);
        if (st_raw)
            fclose(st_raw);
        seeds_close(&seeds);
    }
    plot_sheet(outdir, "val_attention", &val_thumbs);
    plot_sheet(outdir, "sent_attention", &sent_thumbs);
    printf("| metric | value |\n|---|---|\n");
    printf("| validation utterances | %d |\n", n_val);
    printf("| teacher-forced mel L1 (normalized) | %.4f |\n", tf_l1 / n_val);
    printf("| attention diagonality (mass within 0.1) | %.3f |\n", diag / n_val);
    printf("| attention focus (mean row max) | %.3f |\n", focus / n_val);
    printf("| free-running mel L1 after DTW (normalized) | %.4f |\n", fr_l1 / n_val);
    printf("| free-running length / recorded length | %.3f |\n", len_ratio / n_val);
    printf("| validation failures: runaway / skipped words (of one sound) / stalls | %d / %d (%d) / %d |\n",
           vf.runaway, vf.skipped_words, vf.skipped_short, vf.stalls);
    if (n_sent)
        printf("| unseen sentences: %d (%d words): runaway / skipped words (of one sound) / stalls | "
               "%d / %d (%d) / %d |\n",
               n_sent, n_words, sf.runaway, sf.skipped_words, sf.skipped_short, sf.stalls);
    printf("| shorter forced advances (holds, marks): validation / unseen sentences | %d / %d |\n",
           vf.forced, sf.forced);
    if (mod_rec[0] > 0) {
        printf("| frames' modulation power against the recordings' (dB), teacher-forced / "
               "free-running:");
        for (int j = 0; j < MOD_BANDS; j++)
            printf(" %g-%g Hz%s", mod_edges[j], mod_edges[j + 1], j + 1 < MOD_BANDS ? "," : " |");
        for (int j = 0; j < MOD_BANDS; j++)
            printf(" %.1f / %.1f%s", 10 * log10(mod_tf[j] / mod_rec[j]),
                   10 * log10(mod_fr[j] / mod_rec[j]), j + 1 < MOD_BANDS ? "," : " |\n");
    }
    if (n_mcd_tf && n_mcd_fr)
        printf("| MCD (dB) through Griffin-Lim: teacher-forced frames / free-running (DTW) | %.2f / %.2f |\n",
               mcd_tf / n_mcd_tf, mcd_fr / n_mcd_fr);
    if (voc_path) {
        printf("| MCD (dB), %d validation takes: copy synthesis, neural / Griffin-Lim | %.2f / %.2f |\n",
               ms.n, ms.copy / ms.n, ms.copy_gl / ms.n);
        printf("| vocoder pitch head vs YIN on the recording, recorded / teacher-forced frames: "
               "voicing errors | %.1f %% / %.1f %% |\n",
               100.0 * pc.v_err[0] / pc.frames, 100.0 * pc.v_err[1] / pc.frames);
        printf("| the same: gross F0 errors (> 20 %%, frames voiced in both) | %.1f %% / %.1f %% |\n",
               100.0 * pc.gross[0] / fmax(pc.both[0], 1), 100.0 * pc.gross[1] / fmax(pc.both[1], 1));
        printf("| F0 jumps > %.1f octave between voiced frames: YIN on the recording; pitch head "
               "on recorded / teacher-forced / free-running frames | %.2f %%; %.2f / %.2f / "
               "%.2f %% |\n", PITCH_JUMP_OCT,
               100.0 * pc.jumps[0] / fmax(pc.pairs[0], 1), 100.0 * pc.jumps[1] / fmax(pc.pairs[1], 1),
               100.0 * pc.jumps[2] / fmax(pc.pairs[2], 1), 100.0 * pc.jumps[3] / fmax(pc.pairs[3], 1));
        printf("| MCD (dB), text -> acoustic -> vocoder (DTW): neural / Griffin-Lim | %.2f / %.2f |\n",
               ms.e2e_voc / ms.n, ms.e2e_gl / ms.n);
        if (voc_env > 0)
            printf("| MCD (dB), neural with its envelope matched (%d passes): copy / text -> "
                   "speech | %.2f / %.2f |\n",
                   voc_env, ms.copy_env / ms.n, ms.e2e_env / ms.n);
        if (seeds.n_mcd_gl > 0 && seeds.n_mcd_voc > 0)
            printf("| MCD (dB), text -> speech over %d seeds (gl_s*, voc_s*): neural / "
                   "Griffin-Lim (frames before --sharpen-time) | %.3f / %.3f |\n",
                   seeds.n, seeds.mcd_voc / seeds.n_mcd_voc, seeds.mcd_gl / seeds.n_mcd_gl);
        fclose(t_rec);
        fclose(t_copy);
        fclose(t_copy_gl);
        fclose(t_voc);
        if (t_copy_env)
            fclose(t_copy_env);
        if (t_voc_env)
            fclose(t_voc_env);
        if (t_tf_env)
            fclose(t_tf_env);
        if (t_tf_oracle)
            fclose(t_tf_oracle);
        free(voc.noise);
        free(voc.pcm);
        free(voc.pre);
        voc_arena_free(&voc.ar);
        voc_free(&voc.m);
        tts_mf_close(vmf);
        printf("\nAgainst the recordings (tts-train quality %s):\n", outdir);
        fflush(stdout);
        if (tts_quality_table(outdir, NULL, 0, stdout, &err))
            fprintf(stderr, "tts-train eval: %s\n", err.msg);
    }
    if (flog)
        fclose(flog);
    t2m_arena_free(&ar);
    tts_mel_free(mel);
    tts_frontend_close(fe);
    free(passable);
    tts_dataset_close(&ds);
    t2m_free(&m);
    tts_mf_close(mf);
    return 0;
}
