/* Naturalness measures against recordings: see quality.h. */
#include "train/quality.h"

#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/wav.h"
#include "train/dtw.h"
#include "train/train.h"
#include "vocoder/pitch.h"

float *tts_quality_cepstra(const float *frames, size_t n, int nm, float floor)
{
    float *c = malloc(sizeof(float) * (n ? n : 1) * MCD_DIM);
    if (!c)
        return NULL;
    for (size_t f = 0; f < n; f++)
        for (int d = 1; d <= MCD_DIM; d++) {
            double s = 0;
            for (int k = 0; k < nm; k++)
                s += fmaxf(frames[f * nm + k], floor) * cos(M_PI / nm * (k + 0.5) * d);
            c[f * MCD_DIM + d - 1] = (float)(s * sqrt(2.0 / nm));
        }
    return c;
}

double tts_quality_mcd_frame(const float *a, const float *b)
{
    double s = 0;
    for (int d = 0; d < MCD_DIM; d++)
        s += (double)(a[d] - b[d]) * (a[d] - b[d]);
    return 10.0 / log(10.0) * sqrt(2.0 * s);
}

static double cost_mcd(const float *a, const float *b, int dim)
{
    (void)dim;
    return tts_quality_mcd_frame(a, b);
}

/* one signal, analysed */
typedef struct {
    int nf;
    float *mel;   /* [nf, n_mels] log-mel */
    float *cep;   /* [nf, MCD_DIM], floored at the recording's floor */
    float *f0;    /* [nf] Hz, 0 unvoiced */
    float loud;   /* the largest log-mel value */
} tq_sig;

static void sig_free(tq_sig *s)
{
    free(s->mel);
    free(s->cep);
    free(s->f0);
    memset(s, 0, sizeof *s);
}

static int sig_analyze(tq_sig *s, tts_mel *mel, const float *pcm, size_t n, tts_err *err)
{
    const tts_audio_cfg *cfg = tts_mel_cfg(mel);
    size_t nf = 0;
    memset(s, 0, sizeof *s);
    if (n < (size_t)cfg->win_length)
        return tts_seterr(err, TTS_E_INVALID, "quality: a signal of %zu samples is shorter than "
                          "one analysis window", n);
    int rc = tts_mel_analyze(mel, pcm, n, &s->mel, &nf, err);
    if (rc)
        return rc;
    s->nf = (int)nf;
    s->f0 = malloc(sizeof(float) * nf);
    if (!s->f0) {
        sig_free(s);
        return tts_seterr(err, TTS_E_NOMEM, "quality: out of memory");
    }
    voc_pitch_track(pcm, n, cfg->sample_rate, cfg->hop_length, (int)nf, s->f0);
    s->loud = -INFINITY;
    for (size_t i = 0; i < nf * (size_t)cfg->n_mels; i++)
        s->loud = fmaxf(s->loud, s->mel[i]);
    return 0;
}

static int sig_cepstra(tq_sig *s, int nm, float floor, tts_err *err)
{
    s->cep = tts_quality_cepstra(s->mel, (size_t)s->nf, nm, floor);
    return s->cep ? 0 : tts_seterr(err, TTS_E_NOMEM, "quality: out of memory");
}

/* normalized autocorrelation of x[0..w) with x[lag..lag + w) */
static double autocorr(const float *x, int w, int lag)
{
    double xy = 0, xx = 0, yy = 0;
    for (int i = 0; i < w; i++) {
        xy += (double)x[i] * x[i + lag];
        xx += (double)x[i] * x[i];
        yy += (double)x[i + lag] * x[i + lag];
    }
    return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : NAN;
}

/* the per-signal sums: melody, detail, periodicity, high band */
static int side_add(tq_side *sd, tts_mel *mel, const tq_sig *s, const float *pcm, size_t n,
                    tts_err *err)
{
    const tts_audio_cfg *cfg = tts_mel_cfg(mel);
    const int nm = cfg->n_mels, hop = cfg->hop_length, sr = cfg->sample_rate;
    tts_stft *st = tts_mel_stft(mel);
    const int nb = tts_stft_n_bins(st);
    const double bin_hz = (double)sr / cfg->n_fft;

    /* melody */
    double m = 0, c = 0;
    for (int t = 0; t < s->nf; t++)
        if (s->f0[t] > 0) {
            m += log(s->f0[t]);
            c++;
        }
    if (c > 1) {
        m /= c;
        for (int t = 0; t < s->nf; t++)
            if (s->f0[t] > 0)
                sd->lf0_ss += (log(s->f0[t]) - m) * (log(s->f0[t]) - m);
        sd->n_voiced += c;
    }

    /* detail: speech frames' cepstral variance about the utterance's mean */
    double mean[MCD_DIM] = {0}, ns = 0;
    unsigned char *speech = malloc((size_t)s->nf);
    if (!speech)
        return tts_seterr(err, TTS_E_NOMEM, "quality: out of memory");
    for (int t = 0; t < s->nf; t++) {
        float mx = -INFINITY;
        for (int k = 0; k < nm; k++)
            mx = fmaxf(mx, s->mel[(size_t)t * nm + k]);
        speech[t] = mx >= s->loud - TQ_SPEECH_RANGE;
        if (speech[t]) {
            for (int d = 0; d < MCD_DIM; d++)
                mean[d] += s->cep[(size_t)t * MCD_DIM + d];
            ns++;
        }
    }
    if (ns > 1) {
        for (int d = 0; d < MCD_DIM; d++)
            mean[d] /= ns;
        for (int t = 0; t < s->nf; t++)
            if (speech[t])
                for (int d = 0; d < MCD_DIM; d++) {
                    double v = s->cep[(size_t)t * MCD_DIM + d] - mean[d];
                    sd->gv[d] += v * v;
                }
        sd->n_gv += ns;
    }
    free(speech);

    /* periodicity and high band, from one complex STFT: the band kept, inverted */
    size_t nfr = tts_stft_n_frames(st, n);
    float *spec = malloc(sizeof(float) * 2 * nfr * (size_t)nb);
    float *bp = malloc(sizeof(float) * n);
    if (!spec || !bp) {
        free(spec);
        free(bp);
        return tts_seterr(err, TTS_E_NOMEM, "quality: out of memory");
    }
    int rc = tts_stft_forward(st, pcm, n, spec, err);
    for (size_t t = 0; rc == 0 && t < nfr && t < (size_t)s->nf; t++) {
        float *row = spec + t * (size_t)nb * 2;
        if (s->f0[t] > 0) {
            double lo = 0, hi = 0;
            for (int k = 0; k < nb; k++) {
                double p = (double)row[2 * k] * row[2 * k] + (double)row[2 * k + 1] * row[2 * k + 1];
                if (k * bin_hz < TQ_SPLIT_HZ)
                    lo += p;
                else
                    hi += p;
            }
            if (lo > 0 && hi > 0) {
                sd->hb += 10 * log10(hi / lo);
                sd->n_hb++;
            }
        }
    }
    for (size_t t = 0; rc == 0 && t < nfr; t++)
        for (int k = 0; k < nb; k++)
            if (k * bin_hz < TQ_PER_LO || k * bin_hz > TQ_PER_HI)
                spec[(t * nb + k) * 2] = spec[(t * nb + k) * 2 + 1] = 0;
    if (rc == 0)
        rc = tts_stft_inverse(st, spec, nfr, bp, n, err);
    for (int t = 0; rc == 0 && t < s->nf; t++) {
        if (s->f0[t] <= 0)
            continue;
        long start = (long)t * hop - TQ_PER_WIN / 2;
        int lag = (int)lround(sr / s->f0[t]);
        if (start < 0 || start + TQ_PER_WIN + lag + 2 > (long)n || lag < 3)
            continue;
        /* the best of the integer lags nearest the period, refined by a parabola
         * through it and its neighbours (the period is rarely a whole number of samples) */
        double r[5], best = -INFINITY;
        int at = -1;
        for (int j = 0; j < 5; j++) {
            r[j] = autocorr(bp + start, TQ_PER_WIN, lag - 2 + j);
            if (j >= 1 && j <= 3 && isfinite(r[j]) && r[j] > best) {
                best = r[j];
                at = j;
            }
        }
        if (at >= 1 && isfinite(r[at - 1]) && isfinite(r[at + 1])) {
            double den = r[at - 1] - 2 * r[at] + r[at + 1];
            if (den < 0) {
                double d = 0.5 * (r[at - 1] - r[at + 1]) / den;
                if (fabs(d) <= 1)
                    best = fmin(1.0, r[at] - 0.25 * (r[at - 1] - r[at + 1]) * d);
            }
        }
        if (isfinite(best)) {
            sd->per += best;
            sd->n_per++;
        }
    }
    free(spec);
    free(bp);
    return rc;
}

int tts_quality_add(tts_quality *q, tts_mel *mel, const float *syn, size_t ns, const float *ref,
                    size_t nr, int aligned, tts_err *err)
{
    const int nm = tts_mel_cfg(mel)->n_mels;
    tq_sig a, b;
    int rc = sig_analyze(&b, mel, ref, nr, err);
    if (rc)
        return rc;
    if ((rc = sig_analyze(&a, mel, syn, ns, err))) {
        sig_free(&b);
        return rc;
    }
    int *lo = NULL, *hi = NULL;
    rc = TTS_E_NOMEM;
    float floor = b.loud - MCD_RANGE;
    if ((rc = sig_cepstra(&a, nm, floor, err)) || (rc = sig_cepstra(&b, nm, floor, err)) ||
        (rc = side_add(&q->syn, mel, &a, syn, ns, err)) || (rc = side_add(&q->ref, mel, &b, ref, nr, err)))
        goto out;
    rc = TTS_E_NOMEM;

    /* the frame pairs: (t, t), or each recorded frame with the middle of its DTW span */
    int np = aligned ? (a.nf < b.nf ? a.nf : b.nf) : b.nf;
    lo = malloc(sizeof(int) * (size_t)b.nf);
    hi = malloc(sizeof(int) * (size_t)b.nf);
    if (!lo || !hi) {
        tts_seterr(err, TTS_E_NOMEM, "quality: out of memory");
        goto out;
    }
    double mcd = 0;
    if (aligned) {
        for (int t = 0; t < np; t++) {
            lo[t] = hi[t] = t;
            mcd += tts_quality_mcd_frame(a.cep + (size_t)t * MCD_DIM, b.cep + (size_t)t * MCD_DIM);
        }
        mcd /= np;
    } else {
        mcd = tts_dtw(a.cep, a.nf, b.cep, b.nf, MCD_DIM, cost_mcd, lo, hi);
        if (!isfinite(mcd)) {
            tts_seterr(err, TTS_E_NOMEM, "quality: out of memory (DTW)");
            goto out;
        }
    }
    q->mcd += mcd;
    q->n_utt++;
    for (int j = 0; j < np; j++) {
        float fs = a.f0[(lo[j] + hi[j]) / 2], fr = b.f0[j];
        q->vuv_err += (fs > 0) != (fr > 0);
        q->vuv_n++;
        if (fs > 0 && fr > 0) {
            double x = log(fs), y = log(fr), cents = 1200 / log(2.0) * (x - y);
            q->f0_se += cents * cents;
            q->f0_sx += x;
            q->f0_sy += y;
            q->f0_sxx += x * x;
            q->f0_syy += y * y;
            q->f0_sxy += x * y;
            q->f0_n++;
        }
    }
    rc = 0;
out:
    free(lo);
    free(hi);
    sig_free(&a);
    sig_free(&b);
    return rc;
}

tts_quality_summary tts_quality_summarize(const tts_quality *q)
{
    tts_quality_summary s;
    const tq_side *a = &q->syn, *b = &q->ref;
    s.n_utt = (int)q->n_utt;
    s.melody = a->n_voiced > 0 && b->n_voiced > 0 && b->lf0_ss > 0
                   ? sqrt((a->lf0_ss / a->n_voiced) / (b->lf0_ss / b->n_voiced)) : NAN;
    s.detail_db = NAN;
    if (a->n_gv > 0 && b->n_gv > 0) {
        double sum = 0;
        for (int d = 0; d < MCD_DIM; d++)
            sum += 10 * log10((a->gv[d] / a->n_gv) / (b->gv[d] / b->n_gv));
        s.detail_db = sum / MCD_DIM;
    }
    s.periodicity = a->n_per > 0 && b->n_per > 0 ? (a->per / a->n_per) / (b->per / b->n_per) : NAN;
    s.highband_db = a->n_hb > 0 && b->n_hb > 0 ? a->hb / a->n_hb - b->hb / b->n_hb : NAN;
    s.mcd_db = q->n_utt > 0 ? q->mcd / q->n_utt : NAN;
    double n = q->f0_n;
    s.f0_rmse_cents = n > 0 ? sqrt(q->f0_se / n) : NAN;
    double cxx = q->f0_sxx - q->f0_sx * q->f0_sx / fmax(n, 1);
    double cyy = q->f0_syy - q->f0_sy * q->f0_sy / fmax(n, 1);
    double cxy = q->f0_sxy - q->f0_sx * q->f0_sy / fmax(n, 1);
    s.f0_corr = n > 1 && cxx > 0 && cyy > 0 ? cxy / sqrt(cxx * cyy) : NAN;
    s.vuv_err = q->vuv_n > 0 ? q->vuv_err / q->vuv_n : NAN;
    return s;
}

/* ---- over an eval folder ------------------------------------------------------------- */

typedef struct {
    char *name, *text;
} tq_take;

static void takes_free(tq_take *t, int n)
{
    for (int i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].text);
    }
    free(t);
}

/* dir/rec.tsv: "PATH<TAB>TEXT" lines; NAME is PATH's base name without ".wav" */
static int read_takes(const char *dir, tq_take **out, int *n_out, tts_err *err)
{
    char path[4096], line[8192];
    snprintf(path, sizeof path, "%s/rec.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return tts_seterr(err, TTS_E_IO, "quality: cannot open %s (run tts-train eval with "
                          "--vocoder first)", path);
    tq_take *t = NULL;
    int n = 0, cap = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = 0;
        const char *base = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
        size_t bl = strlen(base);
        if (bl > 4 && !strcmp(base + bl - 4, ".wav"))
            bl -= 4;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            tq_take *nt = realloc(t, sizeof *t * (size_t)cap);
            if (!nt) {
                rc = tts_seterr(err, TTS_E_NOMEM, "quality: out of memory");
                break;
            }
            t = nt;
        }
        t[n].name = strndup(base, bl);
        t[n].text = strdup(tab + 1);
        n++;
        if (!t[n - 1].name || !t[n - 1].text) {
            rc = tts_seterr(err, TTS_E_NOMEM, "quality: out of memory");
            break;
        }
    }
    fclose(f);
    if (rc) {
        takes_free(t, n);
        return rc;
    }
    *out = t;
    *n_out = n;
    return 0;
}

static int add_files(tts_quality *q, tts_mel *mel, const char *syn_path, const char *ref_path,
                     int aligned, tts_err *err)
{
    const int sr = tts_mel_cfg(mel)->sample_rate;
    float *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    int rc = tts_wav_read(syn_path, sr, &a, &na, NULL, err);
    if (rc == 0)
        rc = tts_wav_read(ref_path, sr, &b, &nb, NULL, err);
    if (rc == 0)
        rc = tts_quality_add(q, mel, a, na, b, nb, aligned, err);
    free(a);
    free(b);
    return rc;
}

static void print_row(FILE *out, const char *label, int n_dirs, const tts_quality_summary *s)
{
    fprintf(out, "| %s | %d x %d | %.3f x | %+.2f dB | %.3f x | %+.2f dB | %.2f | %.0f | %.3f | "
            "%.1f %% |\n", label, s->n_utt / (n_dirs > 0 ? n_dirs : 1), n_dirs > 0 ? n_dirs : 1,
            s->melody, s->detail_db, s->periodicity, s->highband_db, s->mcd_db, s->f0_rmse_cents,
            s->f0_corr, 100 * s->vuv_err);
}

static const tts_quality_set default_sets[] = {
    {"copy synthesis, neural (matched)", "copy_env", 1},
    {"copy synthesis, neural", "copy", 1},
    {"copy synthesis, Griffin-Lim", "copy_gl", 1},
    {"text -> speech, neural (seeds pooled)", "voc_s[0-9]*", 0},
    {"text -> speech, neural", "val_voc_env", 0},
    {"text -> speech, Griffin-Lim (seeds pooled)", "gl_s[0-9]*", 0},
    {"text -> speech, Griffin-Lim", "val", 0},
};

int tts_quality_table(const char *dir, const tts_quality_set *sets, int n_sets, FILE *out,
                      tts_err *err)
{
    tq_take *takes = NULL;
    int nt = 0, rc = read_takes(dir, &takes, &nt, err);
    if (rc)
        return rc;
    tts_mel *mel = NULL;
    tts_audio_cfg cfg = tts_audio_cfg_default();
    if ((rc = tts_mel_create(&mel, &cfg, err))) {
        takes_free(takes, nt);
        return rc;
    }
    char path[4096], ref[4096];
    snprintf(path, sizeof path, "%s/quality.md", dir);
    FILE *md = fopen(path, "w");
    if (!md) {
        tts_mel_free(mel);
        takes_free(takes, nt);
        return tts_seterr(err, TTS_E_IO, "quality: cannot write %s", path);
    }
    FILE *outs[2] = {out, md};
    for (int o = 0; o < 2; o++)
        if (outs[o])
            fprintf(outs[o], "| against the recordings | takes x seeds | melody | detail | "
                    "periodicity | high band | MCD dB | F0 RMSE cents | F0 corr | V/UV error |\n"
                    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");

    /* the floor: a later take of a text against its first */
    tts_quality q = {0};
    for (int i = 0; i < nt && rc == 0; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(takes[i].text, takes[j].text)) {
                char a[4096];
                snprintf(a, sizeof a, "%s/rec/%s.wav", dir, takes[i].name);
                snprintf(ref, sizeof ref, "%s/rec/%s.wav", dir, takes[j].name);
                rc = add_files(&q, mel, a, ref, 0, err);
                break;
            }
    if (rc == 0 && q.n_utt > 0) {
        tts_quality_summary s = tts_quality_summarize(&q);
        for (int o = 0; o < 2; o++)
            if (outs[o])
                print_row(outs[o], "the speaker's second takes", 1, &s);
    }

    int use_defaults = !sets;
    if (use_defaults) {
        sets = default_sets;
        n_sets = (int)(sizeof default_sets / sizeof default_sets[0]);
    }
    int done_voc_seeds = 0, done_gl_seeds = 0, done_copy_env = 0;
    for (int k = 0; k < n_sets && rc == 0; k++) {
        /* the defaults: the single-render sets only where no seeds were rendered */
        if (use_defaults && ((!strcmp(sets[k].glob, "val_voc_env") && done_voc_seeds) ||
                             (!strcmp(sets[k].glob, "val") && done_gl_seeds) ||
                             (!strcmp(sets[k].glob, "copy") && done_copy_env)))
            continue;
        glob_t g;
        char pat[4096];
        if (sets[k].glob[0] == '/')
            snprintf(pat, sizeof pat, "%s", sets[k].glob);
        else
            snprintf(pat, sizeof pat, "%s/%s", dir, sets[k].glob);
        if (glob(pat, GLOB_ONLYDIR, NULL, &g) != 0) {
            for (int o = 0; o < 2 && !use_defaults; o++) /* a set asked for by name */
                if (outs[o])
                    fprintf(outs[o], "| %s | no folder matches %s | | | | | | | | |\n",
                            sets[k].label, pat);
            continue;
        }
        tts_quality qs = {0};
        for (size_t d = 0; d < g.gl_pathc && rc == 0; d++)
            for (int i = 0; i < nt && rc == 0; i++) {
                char a[8192];
                snprintf(a, sizeof a, "%s/%s.wav", g.gl_pathv[d], takes[i].name);
                snprintf(ref, sizeof ref, "%s/rec/%s.wav", dir, takes[i].name);
                if (access(a, R_OK) == 0)
                    rc = add_files(&qs, mel, a, ref, sets[k].aligned, err);
            }
        int nd = (int)g.gl_pathc;
        globfree(&g);
        if (rc || qs.n_utt == 0)
            continue;
        tts_quality_summary s = tts_quality_summarize(&qs);
        for (int o = 0; o < 2; o++)
            if (outs[o])
                print_row(outs[o], sets[k].label, nd, &s);
        if (!strcmp(sets[k].glob, "voc_s[0-9]*"))
            done_voc_seeds = 1;
        if (!strcmp(sets[k].glob, "gl_s[0-9]*"))
            done_gl_seeds = 1;
        if (!strcmp(sets[k].glob, "copy_env"))
            done_copy_env = 1;
    }
    if (fclose(md) != 0 && !rc)
        rc = tts_seterr(err, TTS_E_IO, "quality: cannot write %s/quality.md", dir);
    tts_mel_free(mel);
    takes_free(takes, nt);
    return rc;
}

int train_quality_main(int argc, char **argv)
{
    if (argc < 1 || argc > 1 + 16) {
        fprintf(stderr, "usage: tts-train quality EVAL_DIR [LABEL=GLOB | LABEL@=GLOB ...]\n"
                        "  measures the WAVs of a `tts-train eval --vocoder` folder against its\n"
                        "  recordings (rec/); each LABEL=GLOB adds a set of folders of NAME.wav\n"
                        "  (GLOB relative to EVAL_DIR or absolute; @= when sample-aligned)\n");
        return 2;
    }
    tts_quality_set sets[16];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i] || !eq[1]) {
            fprintf(stderr, "tts-train quality: '%s' is not LABEL=GLOB\n", argv[i]);
            return 2;
        }
        *eq = 0;
        size_t ll = strlen(argv[i]);
        sets[n].aligned = argv[i][ll - 1] == '@';
        if (sets[n].aligned)
            argv[i][ll - 1] = 0;
        sets[n].label = argv[i];
        sets[n].glob = eq + 1;
        n++;
    }
    tts_err err;
    tts_err_clear(&err);
    if (tts_quality_table(argv[0], n ? sets : NULL, n, stdout, &err)) {
        fprintf(stderr, "tts-train quality: %s\n", err.msg);
        return 1;
    }
    return 0;
}
