#include "train/disc.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/params_io.h"

const int DISC_CH[DISC_LAYERS] = {16, 64, 128, 128, 1};
const int DISC_STRIDE[DISC_LAYERS] = {4, 4, 4, 1, 1};
const int DISC_K[DISC_LAYERS] = {5, 5, 5, 3, 3};

int disc_config_parse(disc_config *cfg, const char *periods, tts_err *err)
{
    memset(cfg, 0, sizeof *cfg);
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

int disc_min_samples(const disc_config *cfg)
{
    int p = 0;
    for (int k = 0; k < cfg->n; k++)
        p = cfg->period[k] > p ? cfg->period[k] : p;
    return p * DISC_HOP;
}

/* registers every tensor of cfg into d->p (nothing allocated) */
static void layout(disc_model *d, const disc_config *cfg)
{
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    for (int k = 0; k < cfg->n; k++) {
        int cin = 1;
        for (int i = 0; i < DISC_LAYERS; i++) {
            char name[64];
            int64_t ws[3] = {DISC_K[i], (int64_t)DISC_STRIDE[i] * cin, DISC_CH[i]};
            int64_t bs[1] = {DISC_CH[i]};
            snprintf(name, sizeof name, "disc.%d.%d.w", k, i);
            d->w[k][i] = nn_params_add(&d->p, name, 3, ws);
            snprintf(name, sizeof name, "disc.%d.%d.b", k, i);
            d->b[k][i] = nn_params_add(&d->p, name, 1, bs);
            cin = DISC_CH[i];
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
    layout(d, cfg);
    if (alloc_all(d, err))
        return TTS_E_NOMEM;
    uint64_t r = seed;
    for (int k = 0; k < cfg->n; k++) {
        int cin = 1;
        for (int i = 0; i < DISC_LAYERS; i++) {
            size_t fan = (size_t)DISC_K[i] * DISC_STRIDE[i] * cin;
            size_t nw = fan * DISC_CH[i];
            double sd = 1 / sqrt((double)fan);
            for (size_t j = 0; j < nw; j++)
                d->p.params[d->w[k][i] + j] = (float)(sd * nn_rand_normal(&r));
            cin = DISC_CH[i];
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
    char periods[DISC_MAX * 4 + 8];
    disc_periods_str(&d->cfg, periods, sizeof periods);
    tts_mf_set_str(w, "kind", "disc");
    tts_mf_set_str(w, "disc.periods", periods);
    nn_params_to_mf(w, &d->p, adam);
}

int disc_load(disc_model *d, const tts_mf *mf, nn_adam *adam, tts_err *err)
{
    const char *kind = NULL, *periods = NULL;
    if (tts_mf_get_str(mf, "kind", &kind, err) || strcmp(kind, "disc") != 0)
        return tts_seterr(err, TTS_E_FORMAT, "not a file of critics (kind \"%s\")",
                          kind ? kind : "?");
    disc_config cfg;
    if (tts_mf_get_str(mf, "disc.periods", &periods, err) ||
        disc_config_parse(&cfg, periods, err))
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
