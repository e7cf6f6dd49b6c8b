#include "train/disc.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/params_io.h"

/* the stack of every critic: n layers of (stride, taps, channels) */
static void set_layers(disc_config *cfg, int in_ch, int n, const int (*l)[3])
{
    cfg->in_ch = in_ch;
    cfg->n_layers = n;
    for (int i = 0; i < n; i++) {
        cfg->stride[i] = l[i][0];
        cfg->k[i] = l[i][1];
        cfg->ch[i] = l[i][2];
    }
}

static const int WAVE_LAYERS[5][3] = {{4, 5, 16}, {4, 5, 64}, {4, 5, 128}, {1, 3, 128}, {1, 3, 1}};
static const int FRAME_LAYERS[5][3] = {{1, 5, 128}, {2, 5, 128}, {2, 5, 128}, {1, 3, 128}, {1, 3, 1}};

void disc_config_frames(disc_config *cfg, int n_mels)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->n = 1;
    cfg->period[0] = 1;
    set_layers(cfg, n_mels, 5, FRAME_LAYERS);
}

int disc_config_parse(disc_config *cfg, const char *periods, tts_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    set_layers(cfg, 1, 5, WAVE_LAYERS);
    const char *s = periods;
    while (s && *s) {
        char *end;
        long p = strtol(s, &end, 10);
        if (end == s || p < 1 || p > DISC_MAX_PERIOD || cfg->n == DISC_MAX)
            return tts_seterr(err, TTS_E_INVALID,
                              "critic periods: \"%s\" is not a list of at most %d numbers "
                              "1 .. %d, e.g. 1,2,3,5,7", periods, DISC_MAX, DISC_MAX_PERIOD);
        cfg->period[cfg->n++] = (int)p;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return tts_seterr(err, TTS_E_INVALID, "critic periods: unexpected '%c' in \"%s\"",
                              *end, periods);
    }
    if (cfg->n == 0)
        return tts_seterr(err, TTS_E_INVALID, "critic periods: none given");
    return TTS_OK;
}

void disc_periods_str(const disc_config *cfg, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int k = 0; k < cfg->n && len < size; k++)
        len += (size_t)snprintf(buf + len, size - len, "%s%d", k ? "," : "", cfg->period[k]);
}

int disc_hop(const disc_config *cfg)
{
    int h = 1;
    for (int i = 0; i < cfg->n_layers; i++)
        h *= cfg->stride[i];
    return h;
}

int disc_min_samples(const disc_config *cfg)
{
    int p = 0;
    for (int k = 0; k < cfg->n; k++)
        p = cfg->period[k] > p ? cfg->period[k] : p;
    return p * disc_hop(cfg);
}

/* "C;s:k:ch,s:k:ch,...": the input width and the layers, as disc_load reads them */
static void layers_str(const disc_config *cfg, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "%d;", cfg->in_ch);
    for (int i = 0; i < cfg->n_layers && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%d:%d:%d", i ? "," : "", cfg->stride[i],
                                cfg->k[i], cfg->ch[i]);
}

static int layers_parse(disc_config *cfg, const char *list, tts_err *err)
{
    const char *s = list;
    char *end;
    long c = strtol(s, &end, 10);
    if (end == s || *end != ';' || c < 1 || c > DISC_MAX_IN)
        goto bad;
    cfg->in_ch = (int)c;
    cfg->n_layers = 0;
    s = end + 1;
    while (*s) {
        int st, k, ch, used = 0;
        if (cfg->n_layers == DISC_MAX_LAYERS ||
            sscanf(s, "%d:%d:%d%n", &st, &k, &ch, &used) != 3 || st < 1 || st > 16 || k < 1 ||
            k > 15 || ch < 1 || ch > 1024)
            goto bad;
        cfg->stride[cfg->n_layers] = st;
        cfg->k[cfg->n_layers] = k;
        cfg->ch[cfg->n_layers++] = ch;
        s += used;
        if (*s == ',')
            s++;
        else if (*s)
            goto bad;
    }
    if (cfg->n_layers < 2 || cfg->ch[cfg->n_layers - 1] != 1)
        goto bad;
    return TTS_OK;
bad:
    return tts_seterr(err, TTS_E_FORMAT, "critics: bad layer list \"%s\"", list);
}

/* registers every tensor of cfg into d->p (nothing allocated) */
static void layout(disc_model *d, const disc_config *cfg)
{
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    for (int k = 0; k < cfg->n; k++) {
        int cin = cfg->in_ch;
        for (int i = 0; i < cfg->n_layers; i++) {
            char name[64];
            int64_t ws[3] = {cfg->k[i], (int64_t)cfg->stride[i] * cin, cfg->ch[i]};
            int64_t bs[1] = {cfg->ch[i]};
            snprintf(name, sizeof name, "disc.%d.%d.w", k, i);
            d->w[k][i] = nn_params_add(&d->p, name, 3, ws);
            snprintf(name, sizeof name, "disc.%d.%d.b", k, i);
            d->b[k][i] = nn_params_add(&d->p, name, 1, bs);
            cin = cfg->ch[i];
        }
    }
}

static int alloc_all(disc_model *d, tts_err *err)
{
    if (nn_params_alloc(&d->p)) /* parameters, gradients, Adam moments */
        return tts_seterr(err, TTS_E_NOMEM, "critics: out of memory");
    return TTS_OK;
}

int disc_init(disc_model *d, const disc_config *cfg, uint64_t seed, tts_err *err)
{
    if (cfg->n < 1 || cfg->n > DISC_MAX)
        return tts_seterr(err, TTS_E_INVALID, "critics: 1 .. %d of them", DISC_MAX);
    for (int k = 0; k < cfg->n; k++)
        if (cfg->period[k] < 1 || cfg->period[k] > DISC_MAX_PERIOD)
            return tts_seterr(err, TTS_E_INVALID, "critics: period %d", cfg->period[k]);
    if (cfg->in_ch < 1 || cfg->in_ch > DISC_MAX_IN || cfg->n_layers < 2 ||
        cfg->n_layers > DISC_MAX_LAYERS || cfg->ch[cfg->n_layers - 1] != 1)
        return tts_seterr(err, TTS_E_INVALID, "critics: bad layout");
    layout(d, cfg);
    if (alloc_all(d, err))
        return TTS_E_NOMEM;
    uint64_t r = seed;
    for (int k = 0; k < cfg->n; k++) {
        int cin = cfg->in_ch;
        for (int i = 0; i < cfg->n_layers; i++) {
            size_t fan = (size_t)cfg->k[i] * cfg->stride[i] * cin;
            size_t nw = fan * cfg->ch[i];
            double sd = 1 / sqrt((double)fan);
            for (size_t j = 0; j < nw; j++)
                d->p.params[d->w[k][i] + j] = (float)(sd * nn_rand_normal(&r));
            cin = cfg->ch[i];
        }
    }
    return TTS_OK;
}

void disc_free(disc_model *d)
{
    nn_params_free(&d->p);
}

void disc_to_mf(tts_mf_writer *w, const disc_model *d, const nn_adam *adam)
{
    char periods[DISC_MAX * 4 + 8], layers[16 + DISC_MAX_LAYERS * 16];
    disc_periods_str(&d->cfg, periods, sizeof periods);
    layers_str(&d->cfg, layers, sizeof layers);
    tts_mf_set_str(w, "kind", "disc");
    tts_mf_set_str(w, "disc.periods", periods);
    tts_mf_set_str(w, "disc.layers", layers);
    nn_params_to_mf(w, &d->p, adam);
}

int disc_save(const char *path, const disc_model *d, const nn_adam *adam, tts_err *err)
{
    tts_mf_writer *w = tts_mf_writer_new();
    if (!w)
        return tts_seterr(err, TTS_E_NOMEM, "out of memory");
    disc_to_mf(w, d, adam);
    int rc = tts_mf_write(w, path, err);
    tts_mf_writer_free(w);
    return rc;
}

int disc_load(disc_model *d, const tts_mf *mf, nn_adam *adam, tts_err *err)
{
    const char *kind = NULL, *periods = NULL, *layers = NULL;
    if (tts_mf_get_str(mf, "kind", &kind, err) || strcmp(kind, "disc") != 0)
        return tts_seterr(err, TTS_E_FORMAT, "not a file of critics (kind \"%s\")",
                          kind ? kind : "?");
    disc_config cfg;
    if (tts_mf_get_str(mf, "disc.periods", &periods, err) ||
        disc_config_parse(&cfg, periods, err))
        return TTS_E_FORMAT;
    tts_err e2;
    if (tts_mf_get_str(mf, "disc.layers", &layers, &e2) == 0 && layers_parse(&cfg, layers, err))
        return TTS_E_FORMAT;
    layout(d, &cfg);
    if (nn_params_check_mf(&d->p, mf, err))
        return TTS_E_FORMAT;
    if (alloc_all(d, err))
        return TTS_E_NOMEM;
    if (nn_params_from_mf(&d->p, mf, err) || (adam && nn_adam_from_mf(&d->p, adam, mf, err))) {
        nn_params_free(&d->p);
        return TTS_E_FORMAT;
    }
    return TTS_OK;
}

int disc_resume_or_init(disc_model *d, nn_adam *adam, const char *path, const disc_config *cfg,
                        uint64_t seed, int *resumed, tts_err *err)
{
    tts_mf *mf = NULL;
    *resumed = 0;
    if (tts_mf_open(&mf, path, err) == 0) {
        int rc = disc_load(d, mf, adam, err);
        tts_mf_close(mf);
        *resumed = rc == 0;
        return rc;
    }
    return disc_init(d, cfg, seed, err);
}

int disc_worker_begin(disc_worker *w, const disc_model *d, int learning)
{
    w->disc = d;
    if (!w->scratch && !(w->scratch = malloc(sizeof(float) * d->p.count)))
        return TTS_E_NOMEM;
    memset(w->scratch, 0, sizeof(float) * d->p.count); /* written, never read: kept finite */
    if (!learning) {
        free(w->grads);
        w->grads = NULL;
        return TTS_OK;
    }
    if (!w->grads && !(w->grads = malloc(sizeof(float) * d->p.count)))
        return TTS_E_NOMEM;
    memset(w->grads, 0, sizeof(float) * d->p.count);
    return TTS_OK;
}

int disc_worker_crop(disc_worker *w, const float *real, const float *fake, int n, double scale_d,
                     float *dfake, double adv_w, double fm_w, double scale_g, double *loss)
{
    *loss = 0;
    if (n < disc_min_samples(&w->disc->cfg))
        return TTS_OK;
    int net = dfake && (adv_w > 0 || fm_w > 0);
    disc_loss L;
    int rc = disc_crop_f(w->disc, w->disc->p.params, real, fake, n, w->grads, scale_d,
                         net ? dfake : NULL, adv_w, fm_w, scale_g, w->scratch, &w->ar, &L);
    if (rc)
        return rc;
    w->sum.d_real += L.d_real;
    w->sum.d_fake += L.d_fake;
    w->sum.adv += L.adv;
    w->sum.fm += L.fm;
    *loss = adv_w * L.adv + fm_w * L.fm;
    return TTS_OK;
}

void disc_worker_free(disc_worker *w)
{
    free(w->grads);
    free(w->scratch);
    nn_arena_free(&w->ar);
    memset(w, 0, sizeof *w);
}

#define REAL float
#define NN(name) name##_f
#define LAYER(name) name##_f
#include "train/disc_impl.h"
#undef REAL
#undef NN
#undef LAYER

#define REAL double
#define NN(name) name##_d
#define LAYER(name) name##_d
#include "train/disc_impl.h"
#undef REAL
#undef NN
#undef LAYER
