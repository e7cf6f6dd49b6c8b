/*
 * tts-train eval MODEL.ltm CACHE.ltd OUTDIR [SENTENCES.txt] [options]
 *
 * Measures an acoustic model, and with --vocoder a neural vocoder, on the validation split
 * of a dataset cache and on unseen text. It prints one table (markdown) on stdout and
 * writes every result into OUTDIR as a WAV, each set a folder with a list SET.tsv ("path
 * TAB text") beside it, for listening and for the recognizer (scripts/wer.py,
 * scripts/wer_seeds.sh).
 *
 * The run (run_eval):
 *   parse_eval       the command line into eval_args; a usage error (an unknown option
 *                    too) is refused with exit status 2 before anything is written
 *   eval_open        the model, the cache, the frontend, the inference settings; with
 *                    --vocoder the network (vocoder_open), whose file settles the frames'
 *                    sharpening and the envelope match unless the options do
 *   validation_pass  every validation take (val_take), one job after the other:
 *     teacher_forced    mel L1 (normalized units, as in training), the attention's
 *                       diagonality (share of its mass within 0.1 of the diagonal in
 *                       relative position) and focus (mean row maximum)
 *     val_free_running  free-running synthesis (free_running, as for the sentences): mel
 *                       L1 against the recording after dynamic time warping, the length
 *                       ratio (synthesized / recorded frames), the attention failures
 *     griffin_lim_sets  tf/ and val/ with their MCD, and the --seeds renderings
 *     vocoder_sets      with --vocoder: copy_sets, text_to_speech_sets, tf_vocoder_sets,
 *                       and the network's pitch head against YIN on the recording
 *   sentences_pass   every line of SENTENCES.txt (one_sentence): free-running synthesis,
 *                    its attention failures, sent/, sent_voc/, sent_voc_env/
 *   print_table      the closing table; with --vocoder then train/quality.h's table over
 *                    OUTDIR (what tts-train quality OUTDIR prints): every set against the
 *                    recordings
 *
 * Attention failures (judge; each also logged with its sentence in OUTDIR/failures.txt):
 * runaway (hit the length cap), skipped words (the attention spent less than one frame,
 * 12.5 ms, on a word's phonemes), stalls (stuck on one token for a second, or until the
 * forced advance of t2m_infer_opts.max_stay moved it on), and, apart from those, the
 * shorter forced advances (a token held as long as the voice's holds or max_stay_passable
 * allow: t2m_stay_limit). Over-smoothing (mod_power): the modulation power of the frames'
 * band trajectories, teacher-forced and free-running, against the recordings'.
 *
 * OUTDIR:
 *   val/, tf/, sent/     Griffin-Lim of the takes' free-running and teacher-forced frames,
 *                        and of the sentences; val/ and sent/ also hold each result's
 *                        attention (NAME.png: decoder steps along x, tokens upwards; one
 *                        clean diagonal staircase), {val,sent}_attention.png all of a set
 *                        as thumbnails on one sheet
 *   with --vocoder:
 *   rec/                 the recordings
 *   copy/, copy_gl/      copy synthesis: the recorded frames through the network, and
 *                        through Griffin-Lim
 *   val_voc/             text -> acoustic model -> network (the frames of val/)
 *   copy_env/, val_voc_env/, tf_voc_env/   with the envelope match on: the network's
 *                        output with its mel envelope matched to the frames it was given
 *                        (tf_voc_env/: the teacher-forced frames of tf/)
 *   tf_voc_oracle/       (--oracle-pitch) tf_voc_env/ at the recording's pitch (YIN)
 *                        instead of the pitch head's: how much of the network's loss on
 *                        predicted frames is its reading of the pitch
 *   sent_voc/, sent_voc_env/   the sentences through the network, as it is and matched
 *   gl_sk/, voc_sk/, sent_gl_sk/, sent_voc_sk/   (--seeds K, k < K) every take and
 *                        sentence once more per seed from Griffin-Lim (its initial phase's
 *                        seed + k) and, with the envelope match on, from the network (its
 *                        noise seed + k, matched), so that word counts can be summed over
 *                        seeds
 *
 * Options:
 *   --vocoder VOC.ltm    the neural vocoder's sets and figures besides Griffin-Lim's
 *   --sharpen-time A W   the free-running frames through tts_sharpen (amount A, odd width
 *                        W) before both vocoders; by default as the --vocoder file says
 *                        (its frame_sharpen, as the engine speaks), "0 5" turns it off;
 *                        the --seeds Griffin-Lim sets get the frames before it
 *   --voc-envelope N     passes of the envelope match (default: the vocoder file's
 *                        env_passes; 0: off)
 *   --voc-seed N         the network's noise seed (default 12345): how much of a word
 *                        count is that noise's, not the network's
 *   --seeds K            the gl_sk/, voc_sk/ sets (K at most EVAL_MAX_SEEDS)
 *   --oracle-pitch       the tf_voc_oracle/ set
 *   --voc-float          the vocoder's gated layers in float (default: in 8-bit integers,
 *                        as the engine runs them: voc_use_int8)
 *   --oracle-tokens      a voice with pitch speaks the validation takes free-running with
 *                        each token's pitch read off the recording (its teacher-forced
 *                        attention, as training reads it) in place of the predictor's: how
 *                        much melody a perfect predictor would give
 *   --sharpen S          each band of the free-running frames x' = mean + S (x - mean)
 *                        over the utterance (a global-variance post-filter; 1: off)
 * and inference settings tried without exporting (default: the voice's own):
 *   --attn-sharpen A (attention logits times A), --pitch-range R (a voice with pitch: its
 *   predicted excursions times R), --window-ahead N (tokens past the last attended one
 *   the attention may look), --hold-scale F (the forced advance after F times a symbol's
 *   hold; 0: off).
 *
 * MCD: the WAV is analysed to log-mel again (as the recording was), cepstra are the
 * orthonormal DCT-II of the natural-log mel magnitudes (floored 61 dB below the
 * recording's loudest value, so silences compare equal), MCD = 10/ln(10) sqrt(2
 * sum_{d=1..24} (c_d - c'_d)^2) dB per frame, averaged over all frames; frame by frame for
 * copy synthesis (same timing), along the best DTW path for free-running synthesis. (Not
 * SPTK's mel-cepstrum: compare these figures with each other, not with papers.)
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
    const float *f0, *voiced; /* --oracle-pitch: F0 and voicing of every frame instead of
                               * the pitch head's (NULL: the pitch head) */
    uint64_t seed; /* the source's noise (--voc-seed; 12345 by default): a second seed
                    * tells how much of a word count is the noise's */
} neural;

/* frames[F] through the network into v->pcm (F hops) */
static int neural_run(neural *v, const float *frames, int F)
{
    size_t need = (size_t)F * v->m.cfg.hop;
    if (need > v->cap) {
        free(v->noise);
        free(v->pcm);
        v->noise = malloc(sizeof(float) * need * v->m.cfg.src);
        v->pcm = malloc(sizeof(float) * need);
        v->cap = v->noise && v->pcm ? need : 0;
        if (!v->cap)
            return TTS_E_NOMEM;
    }
    int rc = voc_source_with_f0(&v->m, frames, F, F, v->seed, v->f0, v->voiced, v->noise, &v->ar);
    if (!rc)
        rc = voc_forward(&v->m, frames, F, F, v->noise, v->pcm, &v->ar);
    return rc;
}

/* frames[F] through the neural vocoder, its envelope matched to them in passes, to path */
static int neural_env_to(neural *v, tts_mel *mel, const float *frames, int F, int passes,
                         int rate, const char *path, tts_err *err)
{
    size_t n = (size_t)F * v->m.cfg.hop;
    int rc = neural_run(v, frames, F);
    if (!rc)
        rc = tts_mel_match_envelope(mel, v->pcm, n, frames, (size_t)F, passes, VOC_ENV_MAX_GAIN,
                                    err);
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

/* --sharpen: scales every band's deviation from its mean over the utterance (a
 * global-variance post-filter: the predicted frames vary less than recorded ones) */
static void sharpen_frames(float *x, size_t n, int nm, double a)
{
    for (int b = 0; b < nm; b++) {
        double mu = 0;
        for (size_t f = 0; f < n; f++)
            mu += x[f * nm + b];
        mu /= n ? n : 1;
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
    int voc_env; /* the network's envelope match's passes */
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
        if (neural_env_to(v, mel, voc_frames, (int)n, s->voc_env, s->rate, path, err) == 0) {
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

/* ---- the command line ------------------------------------------------------------ */

/* tts-train eval's command line (the options: see the top of this file) */
typedef struct {
    const char *model, *data, *outdir, *sentences; /* sentences: NULL when not given */
    const char *vocoder;  /* --vocoder (NULL: Griffin-Lim only) */
    double sharpen;       /* --sharpen (1: off) */
    double sharpen_t;     /* --sharpen-time's amount (-1, not given: the vocoder's own) */
    int sharpen_w;        /* and its width */
    int voc_env;          /* --voc-envelope (-1: the vocoder's own) */
    uint64_t voc_seed;    /* --voc-seed */
    int seeds;            /* --seeds */
    int oracle_pitch;     /* --oracle-pitch */
    double attn_sharpen;  /* --attn-sharpen (0: the voice's own) */
    double pitch_range;   /* --pitch-range (0: the voice's own) */
    int voc_float;        /* --voc-float: the vocoder's products in float, not as the engine
                           * runs them (voc_use_int8) */
    int oracle_tokens;    /* --oracle-tokens */
    int window_ahead;     /* --window-ahead (-1: the default) */
    double hold_scale;    /* --hold-scale (-1: the voice's own) */
} eval_args;

static void eval_usage(void)
{
    fprintf(stderr, "usage: tts-train eval MODEL.ltm CACHE.ltd OUTDIR [SENTENCES.txt] "
                    "[--vocoder VOC.ltm]\n"
                    "    [--seeds K] [--voc-seed N] [--voc-envelope N] [--oracle-pitch] "
                    "[--voc-float] [--oracle-tokens] [--sharpen-time A W]\n"
                    "    [--sharpen S] [--attn-sharpen A] [--pitch-range R] "
                    "[--window-ahead N] [--hold-scale F]\n");
}

/* the command line into *out: 0, or 2 with a message (usage errors) */
static int parse_eval(int argc, char **argv, eval_args *out)
{
    eval_args a = {.sharpen = 1, .sharpen_t = -1, .sharpen_w = 5, .voc_env = -1,
                   .voc_seed = 12345, .window_ahead = -1, .hold_scale = -1};
    const char *pos[4];
    int np = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(s, name) == 0 && v && ++i)
        if (OPT("--vocoder")) a.vocoder = v;
        else if (OPT("--sharpen")) a.sharpen = atof(v);
        else if (OPT("--attn-sharpen")) a.attn_sharpen = atof(v);
        else if (OPT("--voc-envelope")) a.voc_env = atoi(v);
        else if (OPT("--voc-seed")) a.voc_seed = strtoull(v, NULL, 10);
        else if (OPT("--pitch-range")) a.pitch_range = atof(v);
        else if (OPT("--window-ahead")) a.window_ahead = atoi(v);
        else if (OPT("--hold-scale")) a.hold_scale = atof(v);
        else if (!strcmp(s, "--oracle-pitch")) a.oracle_pitch = 1;
        else if (!strcmp(s, "--voc-float")) a.voc_float = 1;
        else if (!strcmp(s, "--oracle-tokens")) a.oracle_tokens = 1;
        else if (!strcmp(s, "--sharpen-time") && i + 2 < argc) {
            a.sharpen_t = atof(argv[++i]);
            a.sharpen_w = atoi(argv[++i]);
            if (!tts_sharpen_valid((float)a.sharpen_t, a.sharpen_w)) {
                fprintf(stderr, "tts-train eval: --sharpen-time wants an amount in 0 .. %g and "
                                "an odd width in 3 .. %d\n",
                        TTS_SHARPEN_MAX_AMOUNT, TTS_SHARPEN_MAX_WIDTH);
                return 2;
            }
        } else if (OPT("--seeds")) {
            a.seeds = atoi(v);
            if (a.seeds < 0 || a.seeds > EVAL_MAX_SEEDS) {
                fprintf(stderr, "tts-train eval: --seeds wants 0 .. %d\n", EVAL_MAX_SEEDS);
                return 2;
            }
        } else if (s[0] != '-' && np < 4)
            pos[np++] = s;
        else {
            if (s[0] != '-')
                fprintf(stderr, "tts-train eval: one argument too many: '%s'\n", s);
            else
                fprintf(stderr, "tts-train eval: unknown or incomplete option '%s'\n", s);
            eval_usage();
            return 2;
        }
#undef OPT
    }
    if (np < 3) {
        eval_usage();
        return 2;
    }
    a.model = pos[0];
    a.data = pos[1];
    a.outdir = pos[2];
    a.sentences = np == 4 ? pos[3] : NULL;
    *out = a;
    return 0;
}

/* ---- the run's state ------------------------------------------------------------- */

/* what a run works with */
typedef struct {
    eval_args a; /* sharpen_t, sharpen_w and voc_env settled (eval_open): sharpen_t 0 = off */
    tts_mf *mf;
    t2m_model m;
    tts_dataset ds;
    tts_frontend *fe;
    tts_mel *mel;
    int nm, r, rate, hop; /* the cache's bands, frames per decoder step, rate, hop */
    t2m_arena ar;         /* the teacher-forced pass's */
    t2m_infer_opts io;
    unsigned char *passable; /* io.passable */
    int stall_steps;         /* steps on one token that make a stall */
    int has_voc;             /* --vocoder: voc, vmf */
    neural voc;
    tts_mf *vmf;
    seed_sets seeds;
    FILE *flog; /* OUTDIR/failures.txt: every attention failure, with its sentence */
    float *lf0; /* --oracle-tokens: the recordings' ln F0, normalized as the voice's pitch */
    tts_err err;
} eval_run;

/* the figures of the closing table */
typedef struct {
    int n_val;
    double tf_l1, diag, focus, fr_l1, len_ratio;
    /* modulation power (mod_power) of the recorded, teacher-forced, free-running frames */
    double mod_rec[MOD_BANDS], mod_tf[MOD_BANDS], mod_fr[MOD_BANDS];
    double mcd_tf, mcd_fr; /* Griffin-Lim's: tf/, val/ */
    int n_mcd_tf, n_mcd_fr;
    failures vf, sf; /* the validation takes', the sentences' */
    int n_sent, n_words;
    mcd_sums ms;    /* --vocoder */
    pitch_sums pc;  /* --vocoder */
} eval_sums;

/* --vocoder: the network, and the settings its file gives: 0, or 1 with a message */
static int vocoder_open(eval_run *e)
{
    eval_args *a = &e->a;
    if (tts_mf_open(&e->vmf, a->vocoder, &e->err) ||
        voc_from_mf(&e->voc.m, e->vmf, 0, NULL, &e->err)) {
        fprintf(stderr, "tts-train eval: %s\n", e->err.msg);
        return 1;
    }
    if (e->voc.m.cfg.hop != e->hop || e->voc.m.cfg.n_mels != e->nm) {
        fprintf(stderr, "tts-train eval: the vocoder does not fit the cache's features\n");
        return 1;
    }
    if (!a->voc_float && voc_use_int8(&e->voc.m, &e->err)) { /* as the engine runs it */
        fprintf(stderr, "tts-train eval: %s\n", e->err.msg);
        return 1;
    }
    e->has_voc = 1;
    if (a->voc_env < 0)
        a->voc_env = e->voc.m.cfg.env_passes;
    if (a->sharpen_t < 0 && e->voc.m.cfg.frame_sharpen > 0) {
        a->sharpen_t = e->voc.m.cfg.frame_sharpen;
        a->sharpen_w = e->voc.m.cfg.frame_sharpen_w;
        fprintf(stderr, "note: the frames sharpened as %s does when it speaks (%g, width "
                        "%d; --sharpen-time 0 5 turns it off)\n",
                a->vocoder, a->sharpen_t, a->sharpen_w);
    }
    return 0;
}

/* the voice's inference settings, with the options' changes */
static void infer_opts(eval_run *e)
{
    const eval_args *a = &e->a;
    t2m_infer_opts io = t2m_infer_opts_default(&e->m);
    if (a->attn_sharpen > 0)
        io.attn_sharpen = (float)a->attn_sharpen;
    if (a->pitch_range > 0)
        io.pitch_range = (float)a->pitch_range;
    if (a->window_ahead >= 0)
        io.window_ahead = a->window_ahead;
    e->passable = malloc((size_t)e->m.cfg.n_symbols);
    if (e->passable) { /* the window reaches past marks */
        tts_symtab_passable(tts_frontend_symbols(e->fe), e->passable);
        io.passable = e->passable;
    }
    /* a stall: one token held for a second, or until the forced advance of max_stay moved
     * it on */
    int steps_per_second = (int)(e->rate / (double)(e->hop * e->r) + 0.5);
    e->stall_steps =
        (io.max_stay > 0 && io.max_stay < steps_per_second ? io.max_stay : steps_per_second) + 1;
    if (a->hold_scale >= 0)
        io.hold_scale = (float)a->hold_scale;
    if (io.hold && io.hold_scale > 0)
        fprintf(stderr, "forced advance after %.2f x the voice's holds\n", io.hold_scale);
    e->io = io;
}

/* the model, the cache, the frontend, the vocoder: 0, or 1 with a message */
static int eval_open(eval_run *e)
{
    const char *symbols;
    tts_err *err = &e->err;
    if (tts_mf_open(&e->mf, e->a.model, err) || t2m_from_mf(&e->m, e->mf, 0, NULL, err) ||
        tts_mf_get_str(e->mf, "symbols", &symbols, err) ||
        tts_dataset_open(&e->ds, e->a.data, err) || tts_frontend_open(&e->fe, NULL, err) ||
        tts_frontend_set_symbols(e->fe, symbols, strlen(symbols), err) ||
        tts_mel_create(&e->mel, &e->ds.audio, err)) {
        fprintf(stderr, "tts-train eval: %s\n", err->msg);
        return 1;
    }
    e->nm = e->ds.n_mels;
    e->r = e->m.cfg.r;
    e->rate = e->ds.audio.sample_rate;
    e->hop = e->ds.audio.hop_length;
    e->voc.seed = e->a.voc_seed;
    if (e->a.vocoder && vocoder_open(e))
        return 1;
    if (e->a.oracle_tokens) {
        float mu, sd;
        if (!e->m.pitch.n || !(e->lf0 = tts_dataset_lf0(&e->ds, 2, &mu, &sd))) {
            fprintf(stderr, "tts-train eval: --oracle-tokens needs a voice with pitch and a "
                            "cache with audio\n");
            return 1;
        }
        size_t nf = (size_t)e->ds.mel_off[e->ds.n];
        for (size_t f = 0; f < nf; f++) /* the cache's statistics -> the voice's */
            e->lf0[f] = (e->lf0[f] * sd + mu - e->m.cfg.lf0_mean) / e->m.cfg.lf0_std;
    }
    if (e->a.sharpen_t < 0)
        e->a.sharpen_t = 0;
    e->seeds = (seed_sets){.n = e->a.seeds, .voc_env = e->a.voc_env, .rate = e->rate,
                           .n_mels = e->nm};
    infer_opts(e);
    return 0;
}

static void eval_close(eval_run *e)
{
    free(e->lf0);
    if (e->has_voc) {
        free(e->voc.noise);
        free(e->voc.pcm);
        voc_arena_free(&e->voc.ar);
        voc_free(&e->voc.m);
        tts_mf_close(e->vmf);
    }
    if (e->flog)
        fclose(e->flog);
    t2m_arena_free(&e->ar);
    tts_mel_free(e->mel);
    tts_frontend_close(e->fe);
    free(e->passable);
    tts_dataset_close(&e->ds);
    t2m_free(&e->m);
    tts_mf_close(e->mf);
}

/* ---- free-running synthesis ------------------------------------------------------ */

/* one free-running synthesis */
typedef struct {
    frame_run c;  /* its frames as the vocoders get them (after --sharpen, --sharpen-time) */
    float *plain; /* with --seeds and --sharpen-time, the frames before it (else NULL):
                   * the seeds' Griffin-Lim gets them plain, as the engine does */
    float *al;    /* the attention [c.steps, N] */
    int stop;     /* t2m_synthesize's (1: it hit the length cap) */
} synthesis;

static void free_running(eval_run *e, const int *ids, int N, synthesis *y)
{
    const eval_args *a = &e->a;
    int nm = e->nm;
    *y = (synthesis){.c = {.n_mels = nm}};
    y->al = calloc(((size_t)e->io.max_steps_per_token * N + 10) * N, sizeof(float));
    t2m_synthesize(&e->m, ids, N, &e->io, frame_run_collect, &y->c, y->al, &y->stop, &e->err);
    if (a->sharpen != 1)
        sharpen_frames(y->c.frames, y->c.n, nm, a->sharpen);
    if (a->seeds > 0 && a->sharpen_t != 0)
        y->plain = frames_copy(y->c.frames, y->c.n, nm);
    if (a->sharpen_t != 0)
        tts_sharpen_frames(y->c.frames, y->c.n, nm, (float)a->sharpen_t, a->sharpen_w, &e->err);
}

/* the frames the seeds' Griffin-Lim gets */
static const float *plain_frames(const synthesis *y)
{
    return y->plain ? y->plain : y->c.frames;
}

static void synthesis_free(synthesis *y)
{
    frame_run_free(&y->c);
    free(y->plain);
    free(y->al);
}

/* ---- the validation pass --------------------------------------------------------- */

/* the validation pass's lists (NULL: the set is not made) */
typedef struct {
    FILE *val, *tf;                                 /* Griffin-Lim */
    FILE *rec, *copy, *copy_gl, *voc;               /* --vocoder */
    FILE *copy_env, *voc_env, *tf_env, *tf_oracle;  /* --vocoder, the envelope matched */
} val_lists;

/* OUTDIR/SET/ and OUTDIR/SET.tsv of every set the pass makes: 0, or 1 with a message */
static int val_lists_open(const eval_run *e, val_lists *l)
{
    const char *out = e->a.outdir;
    l->val = open_tsv(out, "val");
    l->tf = open_tsv(out, "tf");
    if (e->has_voc) {
        l->rec = open_tsv(out, "rec");
        l->copy = open_tsv(out, "copy");
        l->copy_gl = open_tsv(out, "copy_gl");
        l->voc = open_tsv(out, "val_voc");
        if (e->a.voc_env > 0) {
            l->copy_env = open_tsv(out, "copy_env");
            l->voc_env = open_tsv(out, "val_voc_env");
            l->tf_env = open_tsv(out, "tf_voc_env");
            if (e->a.oracle_pitch)
                l->tf_oracle = open_tsv(out, "tf_voc_oracle");
        }
    }
    if (!l->val || !l->tf || (e->has_voc && (!l->rec || !l->copy || !l->copy_gl || !l->voc))) {
        fprintf(stderr, "tts-train eval: cannot write into %s\n", out);
        return 1;
    }
    return 0;
}

static void val_lists_close(val_lists *l)
{
    FILE *all[] = {l->val, l->tf, l->rec, l->copy, l->copy_gl, l->voc, l->copy_env,
                   l->voc_env, l->tf_env, l->tf_oracle};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++)
        if (all[k])
            fclose(all[k]);
    memset(l, 0, sizeof *l);
}

/* one validation take, as the pass's jobs hand it on */
typedef struct {
    int i, N, F;          /* the cache's utterance i: N tokens, F frames */
    const int *ids;
    const float *raw;     /* its recorded frames, log-mel [F, nm] */
    const char *name, *text;
    float *ref;           /* their cepstra (NULL when short of memory) */
    float floor;          /* and the floor they were taken with */
    float *norm;          /* the recorded frames normalized [F, nm] */
    float *pred;          /* the teacher-forced frames, log-mel [F rounded up to r, nm] */
    float *ptok;          /* --oracle-tokens: each token's recorded pitch [N] */
    synthesis y;          /* free-running from its phonemes */
    double m_gl;          /* MCD of val/ (free-running frames through Griffin-Lim) */
} val_take;

static void take_open(const eval_run *e, int i, val_take *t)
{
    const tts_dataset *ds = &e->ds;
    int nm = e->nm;
    *t = (val_take){.i = i, .N = tts_dataset_n_ids(ds, i), .F = tts_dataset_n_frames(ds, i),
                    .ids = ds->ids + ds->ids_off[i], .raw = ds->mel + (size_t)ds->mel_off[i] * nm,
                    .name = ds->names ? ds->names[i] : "x", .text = ds->texts ? ds->texts[i] : "",
                    .m_gl = NAN};
    float top = -INFINITY;
    for (size_t k = 0; k < (size_t)t->F * nm; k++)
        top = fmaxf(top, t->raw[k]);
    t->floor = top - MCD_RANGE;
    t->ref = tts_quality_cepstra(t->raw, (size_t)t->F, nm, t->floor);
}

static void take_free(val_take *t)
{
    free(t->ref);
    free(t->norm);
    free(t->pred);
    free(t->ptok);
    synthesis_free(&t->y);
}

/* the teacher-forced frames t->pred: their L1 and attention, the modulation power */
static void teacher_forced(eval_run *e, val_take *t, eval_sums *s)
{
    int nm = e->nm, r = e->r, N = t->N, F = t->F, S = (F + r - 1) / r;
    t->norm = malloc(sizeof(float) * (size_t)F * nm);
    float *A = malloc(sizeof(float) * (size_t)S * N);
    tts_dataset_mel_norm(&e->ds, t->i, t->norm);
    t->pred = malloc(sizeof(float) * (size_t)S * r * nm);
    t2m_train_opts to = {.guided_weight = 1, .guided_g = 0.2f, .input_dropout = 0,
                         .pred = t->pred};
    t2m_loss L;
    uint64_t rng = 1;
    if (e->lf0) /* the recording's pitch fed, and read off this pass's attention */
        to.lf0 = e->lf0 + e->ds.mel_off[t->i];
    t2m_train_utterance(&e->m, t->ids, N, t->norm, F, &to, NULL, 1, &rng, &e->ar, &L, A);
    if (e->lf0 && (t->ptok = malloc(sizeof(float) * (size_t)N)))
        t2m_pitch_targets(A, S, N, r, to.lf0, F, t->ptok);
    for (size_t k = 0; k < (size_t)F * nm; k++) /* back to log-mel */
        t->pred[k] = t->pred[k] * e->ds.mel_std[k % nm] + e->ds.mel_mean[k % nm];
    s->tf_l1 += L.l1;
    double in_band = 0, fsum = 0;
    for (int st = 0; st < S; st++) {
        float mx = 0;
        for (int n = 0; n < N; n++) {
            float a = A[(size_t)st * N + n];
            if (fabs((double)n / N - (double)st / S) < 0.1)
                in_band += a;
            mx = a > mx ? a : mx;
        }
        fsum += mx;
    }
    s->diag += in_band / S;
    s->focus += fsum / S;
    free(A);
    double fps = (double)e->rate / e->hop;
    mod_power(t->raw, (size_t)F, nm, fps, s->mod_rec);
    mod_power(t->pred, (size_t)F, nm, fps, s->mod_tf);
}

/* free-running from the take's phonemes: L1 after DTW, length, modulation power,
 * attention failures, the attention drawn (into th) */
static void val_free_running(eval_run *e, val_take *t, eval_sums *s, thumbs *th)
{
    int nm = e->nm, N = t->N;
    const frame_run *c = &t->y.c;
    e->io.pitch_tok = t->ptok;
    free_running(e, t->ids, N, &t->y);
    e->io.pitch_tok = NULL;
    mod_power(c->frames, c->n, nm, (double)e->rate / e->hop, s->mod_fr);
    if (c->n > 0) {
        float *cn = malloc(sizeof(float) * c->n * nm);
        for (size_t f = 0; f < c->n; f++)
            for (int b = 0; b < nm; b++)
                cn[f * nm + b] = (c->frames[f * nm + b] - e->ds.mel_mean[b]) / e->ds.mel_std[b];
        s->fr_l1 += tts_dtw(cn, (int)c->n, t->norm, t->F, nm, tts_cost_l1, NULL, NULL);
        free(cn);
    }
    s->len_ratio += (double)c->n / t->F;
    tts_phonemes ph = {0};
    if (tts_frontend_phonemize(e->fe, t->text, strlen(t->text), &ph, &e->err) == 0 &&
        ph.n_ids == (size_t)N)
        judge(c, t->y.al, t->ids, N, e->r, &ph, t->y.stop, &e->io, e->stall_steps, &s->vf,
              t->text, e->flog);
    else if (t->y.stop == 1)
        s->vf.runaway++;
    tts_phonemes_free(&ph);
    plot_attention(e->a.outdir, "val", t->name, t->y.al, c->steps, N, th);
}

/* tf/ and val/: the teacher-forced and free-running frames through Griffin-Lim, their
 * MCD; and the --seeds renderings */
static void griffin_lim_sets(eval_run *e, val_take *t, val_lists *l, eval_sums *s)
{
    char path[4096];
    const char *out = e->a.outdir;
    const frame_run *c = &t->y.c;
    int nm = e->nm, F = t->F;
    double m_tf = NAN;
    snprintf(path, sizeof path, "%s/tf/%s.wav", out, t->name);
    if (vocode_to(e->mel, t->pred, (size_t)F, nm, e->rate, path, t->ref, F, t->floor, 0, &m_tf,
                  0, &e->err) == 0)
        fprintf(l->tf, "%s\t%s\n", path, t->text);
    if (isfinite(m_tf)) {
        s->mcd_tf += m_tf;
        s->n_mcd_tf++;
    }
    snprintf(path, sizeof path, "%s/val/%s.wav", out, t->name);
    if (c->n > 0 && vocode_to(e->mel, c->frames, c->n, nm, e->rate, path, t->ref, F, t->floor, 1,
                              &t->m_gl, 0, &e->err) == 0)
        fprintf(l->val, "%s\t%s\n", path, t->text);
    if (isfinite(t->m_gl)) {
        s->mcd_fr += t->m_gl;
        s->n_mcd_fr++;
    }
    render_seeds(&e->seeds, e->mel, &e->voc, plain_frames(&t->y), c->frames, c->n, t->ref, F,
                 t->floor, out, "", t->name, t->text, &e->err);
}

/* rec/, and copy synthesis: copy_gl/, copy/ and copy_env/ with their MCD */
static void copy_sets(eval_run *e, const val_take *t, val_lists *l, double *m_copy,
                      double *m_copy_gl, double *m_copy_env)
{
    char path[4096];
    const char *out = e->a.outdir;
    neural *v = &e->voc;
    int nm = e->nm, F = t->F;
    size_t n = (size_t)F * e->hop;
    snprintf(path, sizeof path, "%s/rec/%s.wav", out, t->name);
    if (tts_wav_write(path, e->ds.pcm + (size_t)e->ds.mel_off[t->i] * e->hop, n, e->rate,
                      &e->err) == 0)
        fprintf(l->rec, "%s\t%s\n", path, t->text);
    snprintf(path, sizeof path, "%s/copy_gl/%s.wav", out, t->name);
    if (vocode_to(e->mel, t->raw, (size_t)F, nm, e->rate, path, t->ref, F, t->floor, 0,
                  m_copy_gl, 0, &e->err) == 0)
        fprintf(l->copy_gl, "%s\t%s\n", path, t->text);
    if (neural_run(v, t->raw, F))
        return;
    *m_copy = mcd_pcm(e->mel, v->pcm, n, nm, t->ref, F, t->floor, 0);
    snprintf(path, sizeof path, "%s/copy/%s.wav", out, t->name);
    if (tts_wav_write(path, v->pcm, n, e->rate, &e->err) == 0)
        fprintf(l->copy, "%s\t%s\n", path, t->text);
    if (l->copy_env && tts_mel_match_envelope(e->mel, v->pcm, n, t->raw, F, e->a.voc_env,
                                              VOC_ENV_MAX_GAIN, &e->err) == 0) {
        *m_copy_env = mcd_pcm(e->mel, v->pcm, n, nm, t->ref, F, t->floor, 0);
        snprintf(path, sizeof path, "%s/copy_env/%s.wav", out, t->name);
        if (tts_wav_write(path, v->pcm, n, e->rate, &e->err) == 0)
            fprintf(l->copy_env, "%s\t%s\n", path, t->text);
    }
}

/* text -> speech: the free-running frames (those of val/) through the network into
 * val_voc/ and val_voc_env/ with their MCD (DTW); the pitch head's jumps on them */
static void text_to_speech_sets(eval_run *e, const val_take *t, val_lists *l, eval_sums *s,
                                double *m_voc, double *m_voc_env)
{
    char path[4096];
    const char *out = e->a.outdir;
    const frame_run *c = &t->y.c;
    neural *v = &e->voc;
    int nm = e->nm, F = t->F;
    size_t n = c->n * e->hop;
    if (c->n > 0)
        pitch_jumps(v, c->frames, (int)c->n, 3, &s->pc);
    if (c->n == 0 || neural_run(v, c->frames, (int)c->n))
        return;
    *m_voc = mcd_pcm(e->mel, v->pcm, n, nm, t->ref, F, t->floor, 1);
    snprintf(path, sizeof path, "%s/val_voc/%s.wav", out, t->name);
    if (tts_wav_write(path, v->pcm, n, e->rate, &e->err) == 0)
        fprintf(l->voc, "%s\t%s\n", path, t->text);
    if (l->voc_env && tts_mel_match_envelope(e->mel, v->pcm, n, c->frames, c->n, e->a.voc_env,
                                             VOC_ENV_MAX_GAIN, &e->err) == 0) {
        *m_voc_env = mcd_pcm(e->mel, v->pcm, n, nm, t->ref, F, t->floor, 1);
        snprintf(path, sizeof path, "%s/val_voc_env/%s.wav", out, t->name);
        if (tts_wav_write(path, v->pcm, n, e->rate, &e->err) == 0)
            fprintf(l->voc_env, "%s\t%s\n", path, t->text);
    }
}

/* the teacher-forced frames through the network (tf/ has them through Griffin-Lim): which
 * of the acoustic model's departures from the recording hurt it: tf_voc_env/, and
 * tf_voc_oracle/ at the recording's pitch rec_f0 (YIN) instead of the pitch head's */
static void tf_vocoder_sets(eval_run *e, const val_take *t, val_lists *l, const float *rec_f0)
{
    char path[4096];
    const char *out = e->a.outdir;
    neural *v = &e->voc;
    int F = t->F;
    snprintf(path, sizeof path, "%s/tf_voc_env/%s.wav", out, t->name);
    if (l->tf_env &&
        neural_env_to(v, e->mel, t->pred, F, e->a.voc_env, e->rate, path, &e->err) == 0)
        fprintf(l->tf_env, "%s\t%s\n", path, t->text);
    if (!l->tf_oracle || !rec_f0)
        return;
    float *f0 = malloc(sizeof(float) * F), *vo = malloc(sizeof(float) * F);
    if (f0 && vo) {
        for (int k = 0; k < F; k++) {
            f0[k] = rec_f0[k];
            vo[k] = rec_f0[k] > 0;
        }
        voc_pitch_fill(f0, F);
        v->f0 = f0;
        v->voiced = vo;
        snprintf(path, sizeof path, "%s/tf_voc_oracle/%s.wav", out, t->name);
        if (neural_env_to(v, e->mel, t->pred, F, e->a.voc_env, e->rate, path, &e->err) == 0)
            fprintf(l->tf_oracle, "%s\t%s\n", path, t->text);
        v->f0 = v->voiced = NULL;
    }
    free(f0);
    free(vo);
}

/* --vocoder: the take's sets through the network, their MCD, and the pitch head against
 * YIN on the recording */
static void vocoder_sets(eval_run *e, const val_take *t, val_lists *l, eval_sums *s)
{
    int F = t->F, hop = e->hop;
    /* the recording's F0 (YIN): the pitch head is judged against it, and --oracle-pitch
     * puts it under the teacher-forced frames */
    float *rec_f0 = malloc(sizeof(float) * F);
    if (rec_f0)
        voc_pitch_track(e->ds.pcm + (size_t)e->ds.mel_off[t->i] * hop, (size_t)F * hop, e->rate,
                        hop, F, rec_f0);
    double m_copy = NAN, m_copy_gl = NAN, m_voc = NAN, m_copy_env = NAN, m_voc_env = NAN;
    copy_sets(e, t, l, &m_copy, &m_copy_gl, &m_copy_env);
    text_to_speech_sets(e, t, l, s, &m_voc, &m_voc_env);
    tf_vocoder_sets(e, t, l, rec_f0);
    if (isfinite(m_copy) && isfinite(m_copy_gl) && isfinite(t->m_gl) && isfinite(m_voc)) {
        s->ms.copy += m_copy;
        s->ms.copy_gl += m_copy_gl;
        s->ms.e2e_gl += t->m_gl;
        s->ms.e2e_voc += m_voc;
        s->ms.copy_env += m_copy_env; /* NaN when the envelope match is off */
        s->ms.e2e_env += m_voc_env;
        s->ms.n++;
    }
    if (rec_f0)
        pitch_check(&e->voc, rec_f0, t->raw, t->pred, F, &s->pc);
    free(rec_f0);
}

/* every validation take of the cache: 0, or 1 with a message */
static int validation_pass(eval_run *e, eval_sums *s)
{
    val_lists l = {0};
    thumbs th = {0};
    if (val_lists_open(e, &l)) {
        val_lists_close(&l);
        return 1;
    }
    seeds_open(&e->seeds, e->a.outdir, "", e->has_voc && e->a.voc_env > 0);
    for (int i = 0; i < e->ds.n; i++) {
        if (!e->ds.split[i])
            continue;
        val_take t;
        take_open(e, i, &t);
        teacher_forced(e, &t, s);
        val_free_running(e, &t, s, &th);
        griffin_lim_sets(e, &t, &l, s);
        if (e->has_voc && t.ref)
            vocoder_sets(e, &t, &l, s);
        take_free(&t);
        s->n_val++;
        fprintf(stderr, "\rvalidation %d", s->n_val);
    }
    fprintf(stderr, "\n");
    val_lists_close(&l);
    seeds_close(&e->seeds);
    if (e->flog)
        fflush(e->flog);
    plot_sheet(e->a.outdir, "val_attention", &th);
    return 0;
}

/* ---- the sentences pass ---------------------------------------------------------- */

/* the sentences pass's lists: sent.tsv, and with --vocoder sent_voc.tsv, sent_voc_env.tsv
 * (NULL: the set is not made) */
typedef struct {
    FILE *gl, *voc, *voc_env;
} sent_lists;

/* the text of a line of SENTENCES (*len bytes at the line's start), or NULL for a line to
 * skip. As scripts/eval_voice.sh reads SENTENCES (scripts/spoken_form.py): blank lines
 * and '#' lines skipped, "TEXT<TAB>REFERENCE" spoken as TEXT, so that NNN.wav is that
 * script's sentence NNN */
static const char *sentence_text(char *line, size_t got, size_t *len)
{
    while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
        line[--got] = '\0';
    char *tab = strchr(line, '\t');
    if (tab) {
        *tab = '\0';
        got = (size_t)(tab - line);
    }
    size_t lead = strspn(line, " \t");
    if (lead == got || line[lead] == '#')
        return NULL;
    *len = got;
    return line;
}

/* sentence k (1, 2, ...) of SENTENCES: free-running, its attention failures, sent/NNN.wav,
 * sent_voc/, sent_voc_env/ and the --seeds renderings; 0, or -1 when the frontend refused
 * the text (with a message) */
static int one_sentence(eval_run *e, const char *text, size_t len, int k, sent_lists *l,
                        thumbs *th, eval_sums *s)
{
    char path[4096], name[16];
    const char *out = e->a.outdir;
    tts_phonemes ph = {0};
    if (tts_frontend_phonemize(e->fe, text, len, &ph, &e->err)) {
        fprintf(stderr, "tts-train eval: %s\n", e->err.msg);
        return -1;
    }
    int N = (int)ph.n_ids;
    int *ids = malloc(sizeof(int) * ph.n_ids);
    for (size_t j = 0; j < ph.n_ids; j++)
        ids[j] = ph.ids[j];
    synthesis y;
    free_running(e, ids, N, &y);
    const frame_run *c = &y.c;
    judge(c, y.al, ids, N, e->r, &ph, y.stop, &e->io, e->stall_steps, &s->sf, text, e->flog);
    snprintf(name, sizeof name, "%03d", k);
    plot_attention(out, "sent", name, y.al, c->steps, N, th);
    s->n_words += (int)ph.n_words;
    snprintf(path, sizeof path, "%s/sent/%s.wav", out, name);
    if (c->n > 0 && vocode_to(e->mel, c->frames, c->n, e->nm, e->rate, path, NULL, 0, 0, 0,
                              NULL, 0, &e->err) == 0)
        fprintf(l->gl, "%s\t%s\n", path, text);
    /* the network once: its output as it is, then with its envelope matched */
    if (l->voc && c->n > 0 && neural_run(&e->voc, c->frames, (int)c->n) == 0) {
        size_t n = c->n * (size_t)e->hop;
        snprintf(path, sizeof path, "%s/sent_voc/%s.wav", out, name);
        if (tts_wav_write(path, e->voc.pcm, n, e->rate, &e->err) == 0)
            fprintf(l->voc, "%s\t%s\n", path, text);
        snprintf(path, sizeof path, "%s/sent_voc_env/%s.wav", out, name);
        if (l->voc_env &&
            tts_mel_match_envelope(e->mel, e->voc.pcm, n, c->frames, c->n, e->a.voc_env,
                                   VOC_ENV_MAX_GAIN, &e->err) == 0 &&
            tts_wav_write(path, e->voc.pcm, n, e->rate, &e->err) == 0)
            fprintf(l->voc_env, "%s\t%s\n", path, text);
    }
    render_seeds(&e->seeds, e->mel, &e->voc, plain_frames(&y), c->frames, c->n, NULL, 0, 0,
                 out, "sent_", name, text, &e->err);
    synthesis_free(&y);
    free(ids);
    tts_phonemes_free(&ph);
    return 0;
}

/* every sentence of f (SENTENCES.txt, unseen text): 0, or 1 with a message */
static int sentences_pass(eval_run *e, FILE *f, eval_sums *s)
{
    const char *out = e->a.outdir;
    int with_env = e->has_voc && e->a.voc_env > 0;
    sent_lists l = {.gl = open_tsv(out, "sent"),
                    .voc_env = with_env ? open_tsv(out, "sent_voc_env") : NULL,
                    .voc = e->has_voc ? open_tsv(out, "sent_voc") : NULL};
    thumbs th = {0};
    int rc = 0;
    if (!l.gl || (e->has_voc && !l.voc)) {
        fprintf(stderr, "tts-train eval: cannot write into %s\n", out);
        rc = 1;
    } else {
        seeds_open(&e->seeds, out, "sent_", with_env);
        char *line = NULL;
        size_t cap = 0, len;
        ssize_t got;
        while ((got = getline(&line, &cap, f)) >= 0) {
            const char *text = sentence_text(line, (size_t)got, &len);
            if (text && one_sentence(e, text, len, s->n_sent + 1, &l, &th, s) == 0)
                fprintf(stderr, "\rsentences %d", ++s->n_sent);
        }
        fprintf(stderr, "\n");
        free(line);
        seeds_close(&e->seeds);
        plot_sheet(out, "sent_attention", &th);
    }
    FILE *all[] = {l.gl, l.voc, l.voc_env};
    for (int k = 0; k < 3; k++)
        if (all[k])
            fclose(all[k]);
    return rc;
}

/* ---- the closing table ----------------------------------------------------------- */

/* --vocoder's rows */
static void print_vocoder_rows(const eval_run *e, const eval_sums *s)
{
    const mcd_sums *ms = &s->ms;
    const pitch_sums *pc = &s->pc;
    printf("| MCD (dB), %d validation takes: copy synthesis, neural / Griffin-Lim | %.2f / %.2f |\n",
           ms->n, ms->copy / ms->n, ms->copy_gl / ms->n);
    printf("| vocoder pitch head vs YIN on the recording, recorded / teacher-forced frames: "
           "voicing errors | %.1f %% / %.1f %% |\n",
           100.0 * pc->v_err[0] / pc->frames, 100.0 * pc->v_err[1] / pc->frames);
    printf("| the same: gross F0 errors (> 20 %%, frames voiced in both) | %.1f %% / %.1f %% |\n",
           100.0 * pc->gross[0] / fmax(pc->both[0], 1), 100.0 * pc->gross[1] / fmax(pc->both[1], 1));
    printf("| F0 jumps > %.1f octave between voiced frames: YIN on the recording; pitch head "
           "on recorded / teacher-forced / free-running frames | %.2f %%; %.2f / %.2f / "
           "%.2f %% |\n", PITCH_JUMP_OCT,
           100.0 * pc->jumps[0] / fmax(pc->pairs[0], 1), 100.0 * pc->jumps[1] / fmax(pc->pairs[1], 1),
           100.0 * pc->jumps[2] / fmax(pc->pairs[2], 1), 100.0 * pc->jumps[3] / fmax(pc->pairs[3], 1));
    printf("| MCD (dB), text -> acoustic -> vocoder (DTW): neural / Griffin-Lim | %.2f / %.2f |\n",
           ms->e2e_voc / ms->n, ms->e2e_gl / ms->n);
    if (e->a.voc_env > 0)
        printf("| MCD (dB), neural with its envelope matched (%d passes): copy / text -> "
               "speech | %.2f / %.2f |\n",
               e->a.voc_env, ms->copy_env / ms->n, ms->e2e_env / ms->n);
    const seed_sets *sd = &e->seeds;
    if (sd->n_mcd_gl > 0 && sd->n_mcd_voc > 0)
        printf("| MCD (dB), text -> speech over %d seeds (gl_s*, voc_s*): neural / "
               "Griffin-Lim (frames before --sharpen-time) | %.3f / %.3f |\n",
               sd->n, sd->mcd_voc / sd->n_mcd_voc, sd->mcd_gl / sd->n_mcd_gl);
}

/* the table on stdout; with --vocoder then train/quality.h's over OUTDIR */
static void print_table(eval_run *e, const eval_sums *s)
{
    int n_val = s->n_val;
    printf("| metric | value |\n|---|---|\n");
    printf("| validation utterances | %d |\n", n_val);
    printf("| teacher-forced mel L1 (normalized) | %.4f |\n", s->tf_l1 / n_val);
    printf("| attention diagonality (mass within 0.1) | %.3f |\n", s->diag / n_val);
    printf("| attention focus (mean row max) | %.3f |\n", s->focus / n_val);
    printf("| free-running mel L1 after DTW (normalized) | %.4f |\n", s->fr_l1 / n_val);
    printf("| free-running length / recorded length | %.3f |\n", s->len_ratio / n_val);
    printf("| validation failures: runaway / skipped words (of one sound) / stalls | %d / %d (%d) / %d |\n",
           s->vf.runaway, s->vf.skipped_words, s->vf.skipped_short, s->vf.stalls);
    if (s->n_sent)
        printf("| unseen sentences: %d (%d words): runaway / skipped words (of one sound) / stalls | "
               "%d / %d (%d) / %d |\n",
               s->n_sent, s->n_words, s->sf.runaway, s->sf.skipped_words, s->sf.skipped_short,
               s->sf.stalls);
    printf("| shorter forced advances (holds, marks): validation / unseen sentences | %d / %d |\n",
           s->vf.forced, s->sf.forced);
    if (s->mod_rec[0] > 0) {
        printf("| frames' modulation power against the recordings' (dB), teacher-forced / "
               "free-running:");
        for (int j = 0; j < MOD_BANDS; j++)
            printf(" %g-%g Hz%s", mod_edges[j], mod_edges[j + 1], j + 1 < MOD_BANDS ? "," : " |");
        for (int j = 0; j < MOD_BANDS; j++)
            printf(" %.1f / %.1f%s", 10 * log10(s->mod_tf[j] / s->mod_rec[j]),
                   10 * log10(s->mod_fr[j] / s->mod_rec[j]), j + 1 < MOD_BANDS ? "," : " |\n");
    }
    if (s->n_mcd_tf && s->n_mcd_fr)
        printf("| MCD (dB) through Griffin-Lim: teacher-forced frames / free-running (DTW) | %.2f / %.2f |\n",
               s->mcd_tf / s->n_mcd_tf, s->mcd_fr / s->n_mcd_fr);
    if (!e->has_voc)
        return;
    print_vocoder_rows(e, s);
    printf("\nAgainst the recordings (tts-train quality %s):\n", e->a.outdir);
    fflush(stdout);
    if (tts_quality_table(e->a.outdir, NULL, 0, stdout, &e->err))
        fprintf(stderr, "tts-train eval: %s\n", e->err.msg);
}

/* ---- the run --------------------------------------------------------------------- */

/* evaluates as args says: 0, or 1 with a message */
static int run_eval(const eval_args *a)
{
    openblas_set_num_threads(1);
    eval_run e = {.a = *a};
    eval_sums s = {0};
    if (eval_open(&e))
        return 1;
    FILE *sentences = NULL;
    int rc = 0;
    if (a->sentences && !(sentences = fopen(a->sentences, "r"))) {
        fprintf(stderr, "tts-train eval: cannot read %s: %s\n", a->sentences, strerror(errno));
        rc = 1;
    }
    if (!rc) {
        char path[4096];
        mkdir(a->outdir, 0755);
        snprintf(path, sizeof path, "%s/sent", a->outdir);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/failures.txt", a->outdir);
        e.flog = fopen(path, "w");
        rc = validation_pass(&e, &s);
    }
    if (!rc && sentences)
        rc = sentences_pass(&e, sentences, &s);
    if (!rc)
        print_table(&e, &s);
    if (sentences)
        fclose(sentences);
    eval_close(&e);
    return rc;
}

int train_eval_main(int argc, char **argv)
{
    eval_args a;
    int rc = parse_eval(argc, argv, &a);
    return rc ? rc : run_eval(&a);
}
