/* Acoustic model (Text2Mel): end-to-end gradient check, training drives the loss down,
 * deterministic inference, monotonic attention, stop and length cap. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acoustic/prosody.h"
#include "acoustic/text2mel.h"
#include "acoustic/voice_io.h"
#include "nn/half.h"
#include "nn/kernels.h"
#include "nn/params_io.h"

#include "check.h"

/* a toy corpus: token k lasts 2 + k%3 frames and has a fixed spectral pattern */
#define NSYM 12
/* a symbol table of NSYM for the prosodic context: pad, BOS, EOS, word boundary, then
 * sounds, marks and pauses (ids 3 .. NSYM-1 are drawn by make_utt) */
static const char TINY_SYMBOLS[] = "_\n^\n$\n \na\n\xCB\x88\nt\n,\n.\nn\ni\n?";
#define NM 8
static int make_utt(uint64_t *rng, int *ids, float *mel, int *F)
{
    int N = 4 + (int)(nn_rand_u64(rng) % 6);
    int f = 0;
    ids[0] = 1;
    for (int i = 1; i < N - 1; i++)
        ids[i] = 3 + (int)(nn_rand_u64(rng) % (NSYM - 3));
    ids[N - 1] = 2;
    for (int i = 0; i < N; i++) {
        int len = 2 + ids[i] % 3;
        for (int j = 0; j < len; j++, f++)
            for (int b = 0; b < NM; b++)
                mel[f * NM + b] = sinf(0.7f * ids[i] * (b + 1)) + 0.1f * j;
    }
    *F = f;
    return N;
}

/* frames handed on by t2m_synthesize, and the token of each step */
typedef struct {
    float f[4096 * NM];
    int pos[256];
    int n, steps, stop_after;
} frame_log;

static int log_frames(const float *frames, int r, int pos, void *user)
{
    frame_log *l = user;
    if (l->n + r <= 4096)
        memcpy(l->f + (size_t)l->n * NM, frames, sizeof(float) * (size_t)r * NM);
    l->n += r;
    if (l->steps < 256)
        l->pos[l->steps] = pos;
    l->steps++;
    return l->stop_after && l->steps >= l->stop_after;
}

static t2m_config tiny_cfg(void)
{
    t2m_config c = t2m_config_default(NSYM, NM);
    c.r = 2;
    c.d = 16;
    c.text_ch = 16;
    c.embed_dim = 8;
    c.post_ch = 8;
    return c;
}

/* A caller's frame loss (t2m_train_opts.frame_loss) for the gradient check: a smooth
 * function of the output frames and the target, 0.4 mean over the target's frames of
 * y^2 (1 + 0.5 sin b) (1 + 0.2 Y); *ctx counts the calls. */
static int extra_loss(void *ctx, float *dy, const float *y, const float *Y, int T, int F,
                      double scale, double *loss)
{
    (void)T;
    ++*(int *)ctx;
    double L = 0, w = 0.4 / ((double)F * NM);
    for (int t = 0; t < F; t++)
        for (int b = 0; b < NM; b++) {
            size_t i = (size_t)t * NM + b;
            double g = (1 + 0.5 * sin(b)) * (1 + 0.2 * Y[i]);
            L += w * y[i] * y[i] * g;
            if (dy)
                dy[i] += (float)(scale * w * 2 * y[i] * g);
        }
    *loss = L;
    return 0;
}

/* delta_w > 0: with the frame-to-frame changes' L1 on the output (an L1, so kinks);
 * pitch: a model with pitch, fed a fixed pitch per token, its predictor learning it (2: the
 * predictor reading the phoneme embedding and the prosodic context);
 * extra: with a caller's frame loss (extra_loss) */
static void test_gradient(float delta_w, float var_w, int pitch, int extra)
{
    t2m_model m;
    t2m_config c = tiny_cfg();
    c.attn_sharpen = 1.7f; /* trained sharpened: the attention sees 1.7 Q */
    if (pitch) {
        c.pitch_ch = 6;
        c.lf0_mean = 5.3f;
        c.lf0_std = 0.2f;
        c.pitch_ctx = pitch == 2;
    }
    tts_err e;
    CHECK(t2m_init(&m, &c, 1, 7, &e) == 0, "init");
    if (pitch == 2)
        CHECK(t2m_set_prosody(&m, TINY_SYMBOLS, strlen(TINY_SYMBOLS), &e) == 0, "prosody: %s", e.msg);
    uint64_t rng = 3;
    /* biases start at exactly 0, which puts ReLUs fed by the all-zero first decoder input
     * exactly on their kink; move them off it so one-sided kinks do not fool the check */
    for (int t = 0; t < m.p.n_tensors; t++)
        if (strstr(m.p.tensors[t].name, ".b"))
            for (size_t j = 0; j < m.p.tensors[t].size; j++)
                m.p.params[m.p.tensors[t].offset + j] += (float)(0.05 * nn_rand_normal(&rng));
    /* the post-net's last layer starts at zero, which would hide every gradient behind it */
    const nn_tensor_info *plast = nn_params_find(&m.p, "post.4.w");
    CHECK(plast != NULL, "no post-net in the tiny model");
    for (size_t j = 0; plast && j < plast->size; j++)
        m.p.params[plast->offset + j] = (float)(0.3 * nn_rand_normal(&rng));
    /* so does the pitch embedding's, which starts at zero too */
    const nn_tensor_info *pe = nn_params_find(&m.p, "pemb.0.w");
    CHECK((pe != NULL) == (pitch != 0), "pitch embedding present iff pitch");
    for (size_t j = 0; pe && j < pe->size; j++)
        m.p.params[pe->offset + j] = (float)(0.5 * nn_rand_normal(&rng));
    int ids[64], F;
    float mel[64 * 8 * NM], ptok[64];
    int N = make_utt(&rng, ids, mel, &F);
    for (int n = 0; n < N; n++)
        ptok[n] = (float)nn_rand_normal(&rng);
    /* L2 instead of L1: a smooth loss, so float central differences are meaningful */
    t2m_train_opts o = {.guided_weight = 1, .guided_g = 0.2f, .input_dropout = 0, .use_l2 = 1,
                        .delta_weight = delta_w, .var_weight = var_w,
                        .pitch_tok = pitch ? ptok : NULL, .pitch_weight = 0.7f,
                        .pitch_dropout = pitch ? 0.3f : 0};
    int calls = 0;
    if (extra) {
        o.frame_loss = extra_loss;
        o.frame_loss_ctx = &calls;
    }
    t2m_arena ar = {0};
    t2m_loss L;
    memset(m.p.grads, 0, m.p.count * sizeof(float));
    /* with dropout on every conv input: each call replays the same masks from one seed */
    o.layer_dropout = 0.2f;
    uint64_t seed = 77, r1 = seed;
    CHECK(t2m_train_utterance(&m, ids, N, mel, F, &o, m.p.grads, 1, &r1, &ar, &L, NULL) == 0, "run");
    CHECK(delta_w > 0 || var_w > 0 ? L.delta > 0 && fabs(L.total - (L.l1 + L.l1_pre + L.guided + L.delta)) <
                                            1e-9 * L.total
                      : L.delta == 0,
          "the delta term: %g (weight %g), total %g", L.delta, delta_w, L.total);
    CHECK(pitch ? L.pitch > 0 && fabs(L.total - (L.l1 + L.l1_pre + L.guided + L.delta + L.pitch)) <
                                     1e-9 * L.total
                : L.pitch == 0,
          "the pitch term: %g, total %g", L.pitch, L.total);
    CHECK(extra ? calls == 1 && L.extra > 0 &&
                      fabs(L.total - (L.l1 + L.l1_pre + L.guided + L.delta + L.pitch + L.extra)) <
                          1e-9 * L.total
                : L.extra == 0,
          "the caller's frame loss: %g in %d calls, total %g", L.extra, calls, L.total);
    /* central differences on a sample of parameters of every tensor (float: loose) */
    int bad = 0, checked = 0;
    double worst = 0;
    for (int t = 0; t < m.p.n_tensors; t++) {
        const nn_tensor_info *ti = &m.p.tensors[t];
        if (!strcmp(ti->name, "mel_mean") || !strcmp(ti->name, "mel_std"))
            continue;
        for (int s = 0; s < 3; s++) {
            size_t j = ti->offset + (size_t)(nn_rand_u64(&rng) % ti->size);
            float keep = m.p.params[j];
            /* with pitch, larger values reach the decoder and its float rounding is
             * larger: a wider step (measured: 3e-4 puts 9 of 261 at 6-8 %, all of them
             * gradients below 1e-3; 1e-3 and 3e-3 none, the worst at 2.5 and 1.2 %) */
            double eps = pitch ? 1e-3 : 3e-4, lp, lm;
            m.p.params[j] = keep + (float)eps;
            r1 = seed;
            t2m_train_utterance(&m, ids, N, mel, F, &o, NULL, 1, &r1, &ar, &L, NULL);
            lp = L.total;
            m.p.params[j] = keep - (float)eps;
            r1 = seed;
            t2m_train_utterance(&m, ids, N, mel, F, &o, NULL, 1, &r1, &ar, &L, NULL);
            lm = L.total;
            m.p.params[j] = keep;
            double num = (lp - lm) / (2 * eps), ana = m.p.grads[j];
            /* the floor: what float differences resolve. A loss near 1.5 is stored to
             * about 2e-7, so (lp - lm) / 2 eps is good to about 3e-4 absolute; the variation
             * term's kinks (every |change| of a nearly flat tiny output) add to it */
            double err = fabs(num - ana) / fmax(fmax(fabs(num), fabs(ana)), var_w > 0 ? 5e-3 : 2e-3);
            worst = err > worst ? err : worst;
            checked++;
            if (err > 0.05) {
                bad++;
                printf("  grad %s[%zu]: analytic %.6g numeric %.6g\n", ti->name, j - ti->offset, ana, num);
            }
        }
    }
    printf("end-to-end gradient%s: %d checked, %d off by > 5%% (worst %.3g)\n",
           delta_w > 0 ? " with the delta term" : var_w > 0 ? " with the variation term" :
           pitch == 2 ? " with pitch from the prosodic context" : pitch ? " with pitch" :
           extra ? " with a caller's frame loss" : "",
           checked, bad, worst);
    /* L1 kinks make a few float differences unreliable; most must agree */
    CHECK(bad <= 2, "too many gradient mismatches: %d of %d", bad, checked);
    if (pitch == 2) {
        /* the predictor's input gradient reaches the embedding: the pitch loss's share of
         * every used embedding row's gradient (the gradient with the pitch weight less the
         * one without) against central differences of the pitch loss alone, each entry */
        int ed = c.embed_dim;
        size_t ne = (size_t)NSYM * ed;
        float *g1 = malloc(sizeof(float) * ne), *g0 = malloc(sizeof(float) * ne);
        memcpy(g1, m.p.grads + m.embed, sizeof(float) * ne);
        o.pitch_weight = 0;
        memset(m.p.grads, 0, m.p.count * sizeof(float));
        r1 = seed;
        t2m_train_utterance(&m, ids, N, mel, F, &o, m.p.grads, 1, &r1, &ar, &L, NULL);
        memcpy(g0, m.p.grads + m.embed, sizeof(float) * ne);
        o.pitch_weight = 0.7f;
        unsigned char used[NSYM] = {0};
        for (int n = 0; n < N; n++)
            used[ids[n]] = 1;
        int ebad = 0, echecked = 0;
        double eworst = 0, elargest = 0;
        for (int r = 0; r < NSYM; r++)
            for (int j = 0; used[r] && j < ed; j++) {
                size_t k = (size_t)r * ed + j;
                float keep = m.p.params[m.embed + k];
                double eps = 1e-3, lp, lm;
                m.p.params[m.embed + k] = keep + (float)eps;
                r1 = seed;
                t2m_train_utterance(&m, ids, N, mel, F, &o, NULL, 1, &r1, &ar, &L, NULL);
                lp = L.pitch;
                m.p.params[m.embed + k] = keep - (float)eps;
                r1 = seed;
                t2m_train_utterance(&m, ids, N, mel, F, &o, NULL, 1, &r1, &ar, &L, NULL);
                lm = L.pitch;
                m.p.params[m.embed + k] = keep;
                double num = (lp - lm) / (2 * eps), ana = (double)g1[k] - g0[k];
                double err = fabs(num - ana) / fmax(fmax(fabs(num), fabs(ana)), 1e-3);
                eworst = fmax(eworst, err);
                elargest = fmax(elargest, fabs(ana));
                echecked++;
                ebad += err > 0.05;
            }
        printf("  the pitch loss into the embedding: %d entries, %d off by > 5%% (worst %.3g, "
               "largest %.3g)\n", echecked, ebad, eworst, elargest);
        CHECK(ebad == 0 && elargest > 1e-3, "the predictor's gradient into the embedding: %d of "
              "%d off, largest %g", ebad, echecked, elargest);
        free(g1);
        free(g0);
    }
    t2m_arena_free(&ar);
    t2m_free(&m);
}

static void test_training_and_inference(void)
{
    t2m_model m;
    t2m_config c = tiny_cfg();
    tts_err e;
    CHECK(t2m_init(&m, &c, 1, 11, &e) == 0, "init");
    nn_adam adam = {.lr = 3e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .clip_norm = 1};
    /* a third of the steps fed the model's own frames: training must still converge */
    t2m_train_opts o = {.guided_weight = 1, .guided_g = 0.2f, .input_dropout = 0, .self_feed = 0.3f};
    t2m_arena ar = {0};
    enum { NU = 8 };
    int ids[NU][64], N[NU], F[NU];
    static float mel[NU][64 * 8 * NM];
    uint64_t rng = 5;
    for (int u = 0; u < NU; u++)
        N[u] = make_utt(&rng, ids[u], mel[u], &F[u]);
    double first = 0, last = 0;
    for (int step = 0; step < 300; step++) {
        memset(m.p.grads, 0, m.p.count * sizeof(float));
        double tot = 0;
        for (int u = 0; u < NU; u++) {
            t2m_loss L;
            t2m_train_utterance(&m, ids[u], N[u], mel[u], F[u], &o, m.p.grads, 1.0f / NU, &rng, &ar,
                                &L, NULL);
            tot += L.l1 / NU;
        }
        nn_adam_update(&m.p, &adam);
        if (step == 0)
            first = tot;
        last = tot;
    }
    printf("toy training: l1 %.4f -> %.4f after 300 steps\n", first, last);
    CHECK(last < 0.5 * first, "training did not halve the loss (%.4f -> %.4f)", first, last);

    /* chained self-feeding: every step fed; step s's input depends on steps < s only, so
     * S - 1 chained passes reach free-running decoding, and one more changes nothing,
     * while 1 and 2 passes differ */
    {
        int S = (F[0] + c.r - 1) / c.r;
        t2m_train_opts fo = {.guided_weight = 1, .guided_g = 0.2f, .self_feed = 1};
        double l[4];
        const int passes[4] = {1, 2, S - 1, S + 2};
        for (int k = 0; k < 4; k++) {
            t2m_loss L;
            uint64_t r0 = 1;
            fo.self_feed_passes = passes[k];
            CHECK(t2m_train_utterance(&m, ids[0], N[0], mel[0], F[0], &fo, NULL, 1, &r0, &ar, &L,
                                      NULL) == 0, "self-fed pass");
            l[k] = L.total;
        }
        printf("chained self-feeding: %d steps, loss 1 pass %.5f, 2 %.5f, %d %.5f, %d %.5f\n", S,
               l[0], l[1], S - 1, l[2], S + 2, l[3]);
        CHECK(l[0] != l[1], "a second pass changed nothing");
        CHECK(l[2] == l[3], "more passes than steps still change the inputs");
    }

    /* inference: deterministic, monotonic, stops, capped */
    t2m_infer_opts io = t2m_infer_opts_default(&m);
    int cap = io.max_steps_per_token * N[0] + 10;
    float *a1 = calloc((size_t)cap * N[0], sizeof(float)), *a2 = calloc((size_t)cap * N[0], sizeof(float));
    int stop1, stop2;
    int s1 = t2m_synthesize(&m, ids[0], N[0], &io, NULL, NULL, a1, &stop1, &e);
    int s2 = t2m_synthesize(&m, ids[0], N[0], &io, NULL, NULL, a2, &stop2, &e);
    CHECK(s1 > 0 && s1 == s2 && memcmp(a1, a2, sizeof(float) * (size_t)s1 * N[0]) == 0,
          "inference not deterministic");
    CHECK(s1 <= cap, "steps %d beyond cap %d", s1, cap);
    int prev = 0, mono = 1;
    for (int s = 0; s < s1; s++) {
        int best = 0;
        for (int n = 1; n < N[0]; n++)
            if (a1[(size_t)s * N[0] + n] > a1[(size_t)s * N[0] + best])
                best = n;
        /* weight outside the window [pos - back, pos + ahead] is exactly zero */
        for (int n = 0; n < N[0]; n++)
            if ((n < prev - io.window_back || n > prev + io.window_ahead) && a1[(size_t)s * N[0] + n] != 0)
                mono = 0;
        if (best > prev)
            prev = best;
    }
    CHECK(mono, "attention left the monotonic window");
    printf("toy inference: %d tokens -> %d steps, stop reason %d\n", N[0], s1, stop1);
    CHECK(stop1 == 0, "trained toy model did not reach the end token (stop %d)", stop1);

    /* marks: with passable symbols the window reaches past them to the next token with a
     * sound, never beyond, so every such token is attended on the way (none skipped) */
    {
        unsigned char pass[NSYM];
        for (int k = 0; k < NSYM; k++)
            pass[k] = k % 3 == 1; /* a third of the symbols: "marks" */
        t2m_infer_opts pw = io;
        pw.window_ahead = 1;
        pw.passable = pass;
        int stopp, Np = N[0];
        float *ap = calloc((size_t)cap * Np, sizeof(float));
        int sp = t2m_synthesize(&m, ids[0], Np, &pw, NULL, NULL, ap, &stopp, &e);
        int pos = 0, inside = 1, reached = 0, wide = 0;
        char *seen = calloc((size_t)Np, 1);
        seen[0] = 1;
        for (int s = 0; s < sp; s++) {
            int hi = pos + 1;
            while (hi < Np - 1 && hi - pos < T2M_MAX_AHEAD && pass[ids[0][hi]])
                hi++;
            int best = 0;
            for (int n = 0; n < Np; n++) {
                float w = ap[(size_t)s * Np + n];
                if (w > ap[(size_t)s * Np + best])
                    best = n;
                if (w != 0 && (n < pos - 1 || n > hi))
                    inside = 0;
                wide += w != 0 && n > pos + 1;
            }
            if (best > pos)
                pos = best;
            seen[pos] = 1;
        }
        for (int n = 0; n <= pos; n++)
            reached += seen[n] || pass[ids[0][n]];
        printf("window past marks: %d steps, reached token %d of %d, %d weights past pos + 1\n",
               sp, pos, Np - 1, wide);
        CHECK(sp > 0 && inside, "attention outside the window past the marks");
        CHECK(reached == pos + 1, "a token with a sound was skipped (%d of %d)", reached, pos + 1);
        CHECK(wide > 0, "the window never reached past a mark");
        free(seen);
        free(ap);
    }

    /* forced advance: with a window that cannot look ahead, only forced advance moves the
     * attention; it must walk the whole text and stop at the end */
    t2m_infer_opts fa = io;
    fa.window_ahead = 0;
    fa.window_back = 0;
    fa.max_stay = 3;
    int stopf;
    int sf = t2m_synthesize(&m, ids[0], N[0], &fa, NULL, NULL, NULL, &stopf, &e);
    /* each token: 3 steps staying, the 4th forced on; then one more step on the end token */
    CHECK(stopf == 0 && sf == 4 * (N[0] - 1) + 1, "forced advance: %d steps, stop %d (want %d, 0)",
          sf, stopf, 4 * (N[0] - 1) + 1);
    /* on passable tokens the forced advance comes after max_stay_passable steps instead */
    unsigned char allpass[NSYM];
    memset(allpass, 1, sizeof allpass);
    fa.passable = allpass;
    fa.max_stay_passable = 1;
    sf = t2m_synthesize(&m, ids[0], N[0], &fa, NULL, NULL, NULL, &stopf, &e);
    CHECK(stopf == 0 && sf == 2 * (N[0] - 1) + 1, "forced advance on marks: %d steps (want %d)",
          sf, 2 * (N[0] - 1) + 1);
    fa.passable = NULL;
    fa.max_stay_passable = 0;
    /* per-symbol holds: the forced advance on symbol k after hold_scale * hold[k] frames
     * (at least T2M_MIN_HOLD), in whole steps, when sooner than max_stay */
    {
        float hold[NSYM];
        for (int k = 0; k < NSYM; k++)
            hold[k] = k % 4 == 0 ? 0 : (float)(k % 4 * 3 * c.r); /* 0: not measured */
        fa.max_stay = 5;
        fa.hold = hold;
        fa.hold_scale = 1;
        int want = 1, lim_bad = 0;
        for (int n = 0; n + 1 < N[0]; n++) {
            int k = ids[0][n];
            float f = hold[k] < T2M_MIN_HOLD ? T2M_MIN_HOLD : hold[k];
            int lim = hold[k] == 0 ? 5 : (int)ceilf(f / c.r) < 5 ? (int)ceilf(f / c.r) : 5;
            lim_bad += t2m_stay_limit(&fa, k, c.r) != lim;
            want += lim + 1;
        }
        sf = t2m_synthesize(&m, ids[0], N[0], &fa, NULL, NULL, NULL, &stopf, &e);
        printf("forced advance by the holds: %d steps (want %d; max_stay alone: %d)\n", sf, want,
               6 * (N[0] - 1) + 1);
        CHECK(lim_bad == 0, "t2m_stay_limit wrong on %d tokens", lim_bad);
        CHECK(stopf == 0 && sf == want, "forced advance by the holds: %d steps (want %d)", sf, want);
        fa.hold_scale = 0; /* off: max_stay alone */
        sf = t2m_synthesize(&m, ids[0], N[0], &fa, NULL, NULL, NULL, &stopf, &e);
        CHECK(stopf == 0 && sf == 6 * (N[0] - 1) + 1, "holds off: %d steps (want %d)", sf,
              6 * (N[0] - 1) + 1);
        fa.hold_scale = 100; /* holds longer than max_stay: max_stay still caps */
        CHECK(t2m_stay_limit(&fa, 1, c.r) == 5, "a long hold overrode max_stay");
        fa.max_stay = 0; /* no max_stay: the hold alone */
        CHECK(t2m_stay_limit(&fa, 1, c.r) == (int)ceilf(100.0f * hold[1] / c.r) &&
                  t2m_stay_limit(&fa, 4, c.r) == 0,
              "holds without max_stay: %d, %d", t2m_stay_limit(&fa, 1, c.r), t2m_stay_limit(&fa, 4, c.r));
        fa.hold = NULL;
        fa.hold_scale = 0;
        fa.max_stay = 3;
    }

    /* length cap: a model that never advances still stops */
    t2m_infer_opts tight = io;
    tight.window_ahead = 0;
    tight.window_back = 0;
    tight.max_stay = 0;
    int stopc;
    int sc = t2m_synthesize(&m, ids[0], N[0], &tight, NULL, NULL, NULL, &stopc, &e);
    CHECK(sc == io.max_steps_per_token * N[0] + 10 && stopc == 1, "length cap not applied (%d, %d)",
          sc, stopc);
    /* bad ids are rejected */
    int badids[3] = {1, 999, 2};
    CHECK(t2m_synthesize(&m, badids, 3, &io, NULL, NULL, NULL, NULL, &e) == TTS_E_INVALID, "bad id");

    /* the post-net, streamed inside t2m_synthesize, equals the post-net run over all the
     * decoded frames at once; every step keeps its own attended token */
    for (int run = 0; run < 2; run++) {
        /* run 1: held at the length cap, so many chunks are handed on while decoding */
        t2m_infer_opts po = run ? tight : io;
        static frame_log with, without;
        memset(&with, 0, sizeof with);
        memset(&without, 0, sizeof without);
        t2m_model raw = m; /* the same weights, the post-net switched off */
        raw.post.n = 0;
        int sw = t2m_synthesize(&m, ids[0], N[0], &po, log_frames, &with, NULL, NULL, &e);
        int sr = t2m_synthesize(&raw, ids[0], N[0], &po, log_frames, &without, NULL, NULL, &e);
        CHECK(sw > 0 && sw == sr && with.n == without.n && with.n == sw * c.r,
              "post-net run: %d / %d steps, %d / %d frames", sw, sr, with.n, without.n);
        int n = with.n < without.n ? with.n : without.n;
        float *x = malloc(sizeof(float) * (size_t)n * NM), *y = malloc(sizeof(float) * (size_t)n * NM);
        for (int k = 0; k < n * NM; k++)
            x[k] = (without.f[k] - m.mel_mean[k % NM]) / m.mel_std[k % NM];
        CHECK(t2m_postnet(&m, x, n, y, &ar) == 0, "batched post-net");
        double worst = 0, moved = 0;
        for (int k = 0; k < n * NM; k++) {
            double want = y[k] * m.mel_std[k % NM] + m.mel_mean[k % NM];
            worst = fmax(worst, fabs(want - with.f[k]));
            moved = fmax(moved, fabs(want - without.f[k]));
        }
        int same_pos = 1;
        for (int k = 0; k < sw && k < 256; k++)
            same_pos &= with.pos[k] == without.pos[k];
        printf("post-net streamed vs batched: %d frames, worst %.2g (correction up to %.3f)\n", n,
               worst, moved);
        CHECK(worst <= 1e-5, "streamed post-net differs from batched by %g", worst);
        CHECK(moved > 1e-3, "the trained post-net changes nothing (%g)", moved);
        CHECK(same_pos, "post-net run hands frames on with other tokens");
        /* a callback that stops early is obeyed with the post-net too */
        static frame_log part;
        memset(&part, 0, sizeof part);
        part.stop_after = 3 + 5 * run;
        int stp = -1;
        t2m_synthesize(&m, ids[0], N[0], &po, log_frames, &part, NULL, &stp, &e);
        CHECK(stp == 2 && part.n == part.stop_after * c.r, "stop from the callback: reason %d, %d frames",
              stp, part.n);
        free(x);
        free(y);
    }

    free(a1);
    free(a2);
    t2m_arena_free(&ar);
    t2m_free(&m);
}

/* every half converts to float and back to itself; floats round to the nearest half */
static void test_half(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = nn_half_to_float((uint16_t)h);
        if (f != f)
            continue; /* NaN payloads need not survive */
        if (nn_float_to_half(f) != h)
            bad++;
#if defined(__FLT16_MAX__)
        if ((float)(_Float16)f != f)
            bad++;
#endif
    }
    uint64_t rng = 9;
    for (int i = 0; i < 1000000; i++) {
        uint32_t bits = (uint32_t)nn_rand_u64(&rng);
        float f;
        memcpy(&f, &bits, 4);
        if (f != f)
            continue;
        float back = nn_half_to_float(nn_float_to_half(f));
#if defined(__FLT16_MAX__)
        if (back != (float)(_Float16)f)
            bad++;
#else
        if (fabsf(f) < 60000 && fabsf(f) > 1e-4f && fabsf(back - f) > fabsf(f) * 0.0005f)
            bad++;
#endif
    }
    printf("half conversion: %d mismatches\n", bad);
    CHECK(bad == 0, "half conversion wrong in %d cases", bad);
}

/* a model written in half floats loads back within half precision */
enum { SAVE_F32, SAVE_F16, SAVE_Q8 };

/* writes m to path with the writer of that kind, opens the file (*mf) and loads it into
 * *m2; on failure *mf is NULL and *m2 empty (t2m_free-able) */
static void save_and_load(const t2m_model *m, int kind, const char *path, tts_mf **mf,
                          t2m_model *m2)
{
    tts_err e;
    tts_mf_writer *w = tts_mf_writer_new();
    if (kind == SAVE_F16)
        t2m_to_mf_f16(w, m);
    else if (kind == SAVE_Q8)
        t2m_to_mf_q8(w, m);
    else
        t2m_to_mf(w, m, NULL);
    CHECK(tts_mf_write(w, path, &e) == 0, "write: %s", e.msg);
    tts_mf_writer_free(w);
    memset(m2, 0, sizeof *m2);
    *mf = NULL;
    CHECK(tts_mf_open(mf, path, &e) == 0, "open: %s", e.msg);
    if (*mf && t2m_from_mf(m2, *mf, 0, NULL, &e)) {
        CHECK(0, "load: %s", e.msg);
        memset(m2, 0, sizeof *m2);
    }
}

/* A voice loaded with its int8 weights used as stored (t2m_from_mf_mapped) speaks exactly
 * as the same file loaded and widened to float (t2m_from_mf), at every kernel level this
 * CPU has: the frames bit for bit. Channels of 64 so that the int8 layers are mapped. */
static void test_mapped(void)
{
    t2m_config c = tiny_cfg();
    c.d = 64;
    c.text_ch = 64;
    c.post_ch = 64;
    c.pitch_ch = 64;
    c.lf0_mean = 5.3f;
    c.lf0_std = 0.2f;
    c.pitch_range = 1.5f;
    t2m_model m, a, b;
    tts_err e;
    CHECK(t2m_init(&m, &c, 0, 21, &e) == 0, "init");
    uint64_t rng = 8;
    for (int t = 0; t < m.p.n_tensors; t++) { /* every layer alive: no zero starts */
        const nn_tensor_info *ti = &m.p.tensors[t];
        if (strstr(ti->name, ".b") || !strcmp(ti->name, "post.4.w") || !strcmp(ti->name, "pemb.0.w"))
            for (size_t j = 0; j < ti->size; j++)
                m.p.params[ti->offset + j] += (float)(0.1 * nn_rand_normal(&rng));
    }
    char dir[] = "/tmp/tts_acoustic_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/mapped.ltm", dir);
    tts_mf *mf = NULL;
    save_and_load(&m, SAVE_Q8, path, &mf, &a);
    CHECK(mf && t2m_from_mf_mapped(&b, mf, &e) == 0, "mapped load: %s", mf ? e.msg : "no file");
    if (!mf || !a.p.params) {
        tts_mf_close(mf);
        t2m_free(&m);
        return;
    }
    int mapped = 0, convs = 0;
    const t2m_stack *stacks[] = {&b.text, &b.aenc, &b.adec, &b.post, &b.pitch, &b.pemb};
    for (int s = 0; s < 6; s++)
        for (int i = 0; i < stacks[s]->n; i++) {
            convs++;
            mapped += stacks[s]->l[i].q != NULL;
        }
    printf("mapped voice: %d of %d convs use their int8 weights as stored\n", mapped, convs);
    CHECK(mapped >= convs - 6 && b.text.l[2].q && b.aenc.l[4].q && b.adec.l[2].q && b.post.l[1].q,
          "only %d of %d convs mapped", mapped, convs);
    int ids[64], F;
    float mel[64 * 8 * NM];
    int N = make_utt(&rng, ids, mel, &F);
    nn_simd_level best = nn_simd_get();
    int levels = 0, same = 1;
    for (int lev = 0; lev <= NN_SIMD_NEON; lev++) {
        if (lev == NN_SIMD_AVX512 || nn_simd_set((nn_simd_level)lev))
            continue;
        levels++;
        static frame_log la, lb;
        memset(&la, 0, sizeof la);
        memset(&lb, 0, sizeof lb);
        t2m_infer_opts io = t2m_infer_opts_default(&a);
        int sa, sb, ra = 0, rb = 0;
        sa = t2m_synthesize(&a, ids, N, &io, log_frames, &la, NULL, &ra, &e);
        sb = t2m_synthesize(&b, ids, N, &io, log_frames, &lb, NULL, &rb, &e);
        float pa[64], pb[64];
        t2m_arena ar = {0};
        int pok = t2m_predict_pitch(&a, ids, N, pa, &ar) == 0 &&
                  t2m_predict_pitch(&b, ids, N, pb, &ar) == 0 && !memcmp(pa, pb, sizeof(float) * N);
        t2m_arena_free(&ar);
        same &= sa > 0 && sa == sb && la.n == lb.n && la.n <= 4096 &&
                !memcmp(la.f, lb.f, sizeof(float) * (size_t)la.n * NM) && pok;
    }
    nn_simd_set(best);
    CHECK(levels >= 1 && same, "the mapped voice speaks differently (%d levels)", levels);
    t2m_free(&a);
    t2m_free(&b);
    t2m_free(&m);
    tts_mf_close(mf);
    unlink(path);
    rmdir(dir);
}

static void test_f16_roundtrip(void)
{
    t2m_model m, m2;
    t2m_config c = tiny_cfg();
    c.attn_sharpen = 1.5f; /* an inference setting of the voice: travels in the file */
    tts_err e;
    CHECK(t2m_init(&m, &c, 0, 5, &e) == 0, "init");
    char dir[] = "/tmp/tts_acoustic_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/m.ltm", dir);
    tts_mf *mf;
    save_and_load(&m, SAVE_F16, path, &mf, &m2);
    if (!m2.p.params) {
        tts_mf_close(mf);
        t2m_free(&m);
        return;
    }
    double worst = 0;
    for (size_t j = 0; j < m.p.count; j++) {
        double d = fabs(m.p.params[j] - m2.p.params[j]) / fmax(fabs(m.p.params[j]), 1e-3);
        worst = d > worst ? d : worst;
    }
    printf("f16 model round trip: worst relative error %.2e\n", worst);
    CHECK(m2.cfg.post_ch == c.post_ch && m2.cfg.attn_sharpen == 1.5f &&
              t2m_infer_opts_default(&m2).attn_sharpen == 1.5f,
          "configuration lost in the round trip (post %d, sharpen %g)", m2.cfg.post_ch,
          m2.cfg.attn_sharpen);
    CHECK(worst < 1e-3, "f16 round trip error %.2e", worst);
    t2m_free(&m2);
    tts_mf_close(mf);
    t2m_free(&m);
    unlink(path);
    rmdir(dir);
}

/* reads a whole file into memory (NULL on failure) */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = len > 0 ? malloc((size_t)len) : NULL;
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* the model file image b[n] opens, but loading it as a voice is a format error naming
 * what (a tensor's name) */
static void expect_refused(const unsigned char *b, size_t n, const char *what, const char *why)
{
    tts_mf *mm;
    tts_err e;
    t2m_model m;
    CHECK(tts_mf_open_memory_ex(&mm, b, n, TTS_MF_NO_CHECKSUM, &e) == 0, "memory open: %s", e.msg);
    if (!mm)
        return;
    int rc = t2m_from_mf(&m, mm, 0, NULL, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, what), "%s: %d %s", why, rc, rc ? e.msg : "");
    if (rc == 0)
        t2m_free(&m);
    tts_mf_close(mm);
}

/* a model written with 8-bit codes: every large tensor comes back within half a step of
 * its block's scale (the block's largest magnitude / 127), small ones as half floats; a
 * missing or broken scale tensor is a format error naming it */
static void test_q8_roundtrip(void)
{
    t2m_model m, m2;
    t2m_config c = tiny_cfg();
    tts_err e;
    CHECK(t2m_init(&m, &c, 0, 6, &e) == 0, "init");
    char dir[] = "/tmp/tts_acoustic_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/q.ltm", dir);
    tts_mf *mf;
    save_and_load(&m, SAVE_Q8, path, &mf, &m2);
    if (!m2.p.params) {
        tts_mf_close(mf);
        t2m_free(&m);
        return;
    }
    int n_q8 = 0, bad = 0;
    double worst = 0; /* error / (scale / 2) */
    for (int i = 0; i < m.p.n_tensors; i++) {
        const nn_tensor_info *t = &m.p.tensors[i];
        const tts_mf_tensor *ft = tts_mf_find(mf, t->name);
        const float *x = m.p.params + t->offset, *y = m2.p.params + t->offset;
        if (t->size < NN_Q8_MIN) {
            bad += !ft || ft->dtype != TTS_MF_F16;
            for (size_t j = 0; j < t->size; j++)
                bad += fabsf(x[j] - y[j]) > fmaxf(fabsf(x[j]), 1e-3f) * 1e-3f;
            continue;
        }
        n_q8++;
        bad += !ft || ft->dtype != TTS_MF_I8;
        for (size_t lo = 0; lo < t->size; lo += NN_Q8_BLOCK) {
            size_t hi = lo + NN_Q8_BLOCK < t->size ? lo + NN_Q8_BLOCK : t->size;
            float mx = 0;
            for (size_t j = lo; j < hi; j++)
                mx = fmaxf(mx, fabsf(x[j]));
            for (size_t j = lo; j < hi; j++)
                worst = fmax(worst, fabs(x[j] - y[j]) / (mx / 127 / 2));
        }
    }
    printf("q8 model round trip: %d of %d tensors as codes, worst error %.3f of half a step\n",
           n_q8, m.p.n_tensors, worst);
    CHECK(n_q8 > 0 && bad == 0, "%d tensors quantized, %d wrong", n_q8, bad);
    CHECK(worst <= 1.001, "q8 error %.3f of half a step", worst);
    t2m_free(&m2);

    /* the first quantized tensor's scales: renamed away, then one of them NaN */
    const char *qname = NULL;
    for (int i = 0; i < m.p.n_tensors && !qname; i++)
        if (m.p.tensors[i].size >= NN_Q8_MIN)
            qname = m.p.tensors[i].name;
    char sname[300];
    snprintf(sname, sizeof sname, "%s@q8", qname);
    tts_mf_close(mf);
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    CHECK(b != NULL, "read back");
    if (!b)
        return;
    tts_mf *mm;
    CHECK(tts_mf_open_memory_ex(&mm, b, n, TTS_MF_NO_CHECKSUM, &e) == 0, "memory open: %s", e.msg);
    const tts_mf_tensor *st = tts_mf_find(mm, sname); /* the reader's copy: find its bytes */
    unsigned char *sb = st ? memmem(b, n, st->data, st->nbytes) : NULL;
    tts_mf_close(mm);
    CHECK(sb != NULL, "scales of %s in the file", qname);
    if (!sb) {
        free(b);
        return;
    }
    float nan = NAN;
    memcpy(sb, &nan, sizeof nan);
    expect_refused(b, n, sname, "NaN scale");
    unsigned char *at = memmem(b, n, sname, strlen(sname));
    CHECK(at != NULL, "scale name in the file");
    if (at) {
        at[strlen(sname) - 1] = '9'; /* "@q9": not the scales of anything */
        expect_refused(b, n, sname, "missing scales");
    }
    free(b);
    t2m_free(&m);
    unlink(path);
    rmdir(dir);
}

/* the holds travel in the voice file (whatever the parameters' type) and come back
 * equal; a voice without them loads with none; a negative or NaN hold is refused */
/* the spectral post-filter: what it does to a frame's cepstrum, where it does nothing,
 * its file round trip and its range check; and a pitch model's keys round trip */
static void test_post_filter(void)
{
    t2m_model m, m2;
    t2m_config c = tiny_cfg();
    c.n_mels = 40;
    c.pitch_ch = 4;
    c.lf0_mean = 5.1f;
    c.lf0_std = 0.19f;
    c.pitch_range = 1.4f;
    tts_err e;
    CHECK(t2m_init(&m, &c, 0, 6, &e) == 0, "init");
    for (int k = 0; k < c.n_mels; k++)
        m.mel_mean[k] = -3;
    float mean[T2M_GV_DIM], gain[T2M_GV_DIM], frame[40], orig[40];
    for (int d = 0; d < T2M_GV_DIM; d++) {
        mean[d] = 0.1f * d - 1;
        gain[d] = 1;
    }
    for (int k = 0; k < 40; k++)
        orig[k] = frame[k] = -2 + sinf(0.3f * k) + 0.2f * cosf(1.7f * k);
    CHECK(t2m_set_gv(&m, mean, gain, &e) == 0, "set: %s", e.msg);
    t2m_gv_apply(&m, frame);
    float worst = 0;
    for (int k = 0; k < 40; k++)
        worst = fmaxf(worst, fabsf(frame[k] - orig[k]));
    CHECK(worst < 1e-5f, "gains of 1 change the frame by %g", worst);
    /* c'_d = mu_d + g_d (c_d - mu_d) for d = 1 .. 24; c_0 and c_25.. unchanged */
    for (int d = 0; d < T2M_GV_DIM; d++)
        gain[d] = 1 + 0.05f * d;
    CHECK(t2m_set_gv(&m, mean, gain, &e) == 0, "set: %s", e.msg);
    t2m_gv_apply(&m, frame);
    worst = 0;
    for (int d = 0; d < 40; d++) {
        double a = 0, b = 0;
        for (int k = 0; k < 40; k++) {
            double basis = (d ? sqrt(2.0 / 40) : sqrt(1.0 / 40)) * cos(M_PI / 40 * (k + 0.5) * d);
            a += orig[k] * basis;
            b += frame[k] * basis;
        }
        double want = d >= 1 && d <= T2M_GV_DIM ? mean[d - 1] + gain[d - 1] * (a - mean[d - 1]) : a;
        worst = fmaxf(worst, (float)fabs(b - want));
    }
    CHECK(worst < 1e-4f, "cepstrum after the filter off by %g", worst);
    /* a quiet frame (more than T2M_GV_QUIET below the average level) is left alone */
    for (int k = 0; k < 40; k++)
        orig[k] = frame[k] = -3 - T2M_GV_QUIET - 0.5f + 0.3f * sinf(0.5f * k);
    t2m_gv_apply(&m, frame);
    CHECK(memcmp(frame, orig, sizeof frame) == 0, "a quiet frame was filtered");
    /* the file keeps the filter and the pitch keys */
    char dir[] = "/tmp/tts_acoustic_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/g.ltm", dir);
    tts_mf *mf;
    save_and_load(&m, SAVE_Q8, path, &mf, &m2);
    CHECK(m2.gv && memcmp(m2.gv, m.gv, sizeof(float) * 2 * T2M_GV_DIM) == 0, "post-filter lost in the file");
    CHECK(m2.cfg.pitch_ch == 4 && m2.cfg.lf0_mean == 5.1f && m2.cfg.lf0_std == 0.19f &&
              m2.cfg.pitch_range == 1.4f && t2m_infer_opts_default(&m2).pitch_range == 1.4f,
          "pitch keys lost in the file");
    t2m_free(&m2);
    tts_mf_close(mf);
    remove(path);
    rmdir(dir);
    gain[3] = -1;
    CHECK(t2m_set_gv(&m, mean, gain, &e) == TTS_E_FORMAT && m.gv == NULL, "a negative gain refused");
    t2m_free(&m);
}

static void test_holds_roundtrip(void)
{
    t2m_model m, m2;
    t2m_config c = tiny_cfg();
    tts_err e;
    CHECK(t2m_init(&m, &c, 0, 6, &e) == 0, "init");
    char dir[] = "/tmp/tts_acoustic_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/h.ltm", dir);
    for (int kind = 0; kind < 4; kind++) {
        free(m.hold);
        m.hold = NULL;
        if (kind < 3) {
            m.hold = malloc(sizeof(float) * NSYM);
            for (int k = 0; k < NSYM; k++)
                m.hold[k] = (float)(k * 7 % 11) * 1.5f;
        }
        tts_mf *mf;
        save_and_load(&m, kind == 0 ? SAVE_F32 : kind == 1 ? SAVE_F16 : SAVE_Q8, path, &mf, &m2);
        if (kind == 3)
            CHECK(m2.hold == NULL, "a voice without holds loaded with some");
        else
            CHECK(m2.hold && memcmp(m2.hold, m.hold, sizeof(float) * NSYM) == 0,
                  "holds changed in the file (writer %d)", kind);
        t2m_infer_opts o = t2m_infer_opts_default(&m2);
        CHECK(o.hold == m2.hold && o.hold_scale == T2M_HOLD_SCALE, "default options miss the holds");
        t2m_free(&m2);
        CHECK(m2.hold == NULL, "t2m_free left the holds");
        tts_mf_close(mf);
        if (kind != 0)
            continue;
        size_t n = 0;
        unsigned char *b = slurp(path, &n);
        CHECK(b != NULL, "read back");
        if (!b)
            continue;
        /* the file's copy of the holds: the only run of these 11 floats */
        unsigned char *at = memmem(b, n, m.hold, sizeof(float) * 11);
        CHECK(at != NULL, "holds in the file");
        if (at) {
            float bad[2] = {-1.0f, NAN};
            for (int j = 0; j < 2; j++) {
                memcpy(at + 4 * sizeof(float), &bad[j], sizeof(float));
                expect_refused(b, n, T2M_HOLD_TENSOR, j ? "NaN hold" : "negative hold");
            }
        }
        free(b);
    }
    t2m_free(&m);
    unlink(path);
    rmdir(dir);
}

/* Sharpening the attention by s is the same network as scaling K by s, which the text
 * encoder's last layer (a plain 1x1 conv whose first d outputs are K) can do: a model
 * trained sharpened and its twin with those weights times s have the same loss, the same
 * gradients everywhere else, and gradients s times larger on the scaled weights. Exact
 * up to float rounding, so it sees an error of the sharpened backward pass that the
 * finite differences (where the attention's share of a gradient is small) cannot. */
static void test_sharpen_equivalence(void)
{
    t2m_model a, b;
    t2m_config c = tiny_cfg();
    const float s = 1.7f;
    tts_err e;
    c.attn_sharpen = s;
    CHECK(t2m_init(&a, &c, 1, 11, &e) == 0, "init");
    c.attn_sharpen = 1;
    CHECK(t2m_init(&b, &c, 1, 11, &e) == 0, "init");
    uint64_t rng = 5;
    for (size_t j = 0; j < a.p.count; j++) /* every weight and bias away from zero */
        a.p.params[j] += (float)(0.05 * nn_rand_normal(&rng));
    memcpy(b.p.params, a.p.params, sizeof(float) * a.p.count);
    const t2m_conv *kv = &a.text.l[a.text.n - 1];
    int d = c.d;
    CHECK(kv->K == 1 && kv->act == T2M_ACT_NONE && kv->cout == 2 * d, "unexpected K/V layer");
    for (int i = 0; i < kv->cin; i++)
        for (int j = 0; j < d; j++)
            b.p.params[kv->w + (size_t)i * 2 * d + j] *= s;
    for (int j = 0; j < d; j++)
        b.p.params[kv->b + j] *= s;
    int ids[64], F;
    float mel[64 * 8 * NM];
    int N = make_utt(&rng, ids, mel, &F);
    t2m_train_opts o = {.guided_weight = 1, .guided_g = 0.2f, .self_feed = 0.5f};
    t2m_arena ar = {0};
    t2m_loss la, lb;
    memset(a.p.grads, 0, a.p.count * sizeof(float));
    memset(b.p.grads, 0, b.p.count * sizeof(float));
    uint64_t ra = 9, rb = 9;
    CHECK(t2m_train_utterance(&a, ids, N, mel, F, &o, a.p.grads, 1, &ra, &ar, &la, NULL) == 0 &&
              t2m_train_utterance(&b, ids, N, mel, F, &o, b.p.grads, 1, &rb, &ar, &lb, NULL) == 0,
          "run");
    double worst = 0, gmax = 0;
    for (size_t j = 0; j < a.p.count; j++) {
        size_t off = j;
        int scaled = (off >= kv->w && off < kv->w + (size_t)kv->cin * 2 * d &&
                      (off - kv->w) % (2 * d) < (size_t)d) ||
                     (off >= kv->b && off < kv->b + (size_t)d);
        double ga = a.p.grads[j], gb = scaled ? s * b.p.grads[j] : b.p.grads[j];
        worst = fmax(worst, fabs(ga - gb));
        gmax = fmax(gmax, fabs(ga));
    }
    printf("sharpened attention vs scaled keys: loss %.6f / %.6f, worst gradient difference "
           "%.2e (largest gradient %.2e)\n", la.total, lb.total, worst, gmax);
    CHECK(fabs(la.total - lb.total) <= 1e-5 * fabs(la.total), "losses differ");
    CHECK(worst <= 1e-5 * gmax, "gradients differ");
    t2m_arena_free(&ar);
    t2m_free(&a);
    t2m_free(&b);
}

/* the symbol classes and the prosodic context of one sentence of two phrases, a question:
 * "ˈdatə, sɪ ˈtanl̩?" */
static void test_prosody(void)
{
    static const char syms[] = "_\n^\n$\n \n,\n.\n?\n!\n;\n\xCB\x88\n\xCB\x8C\n\xCB\x90\n"
                               "\xCC\xA9\na\n\xC9\x99\n\xC9\xAA\nt\nd\nn\ns\nl";
    float cls[24];
    CHECK(t2m_prosody_classes(syms, strlen(syms), cls, 24) == 21, "21 symbols");
    CHECK(t2m_prosody_classes(syms, strlen(syms), cls, 20) == -1, "more symbols than room");
    t2m_prosody_classes(syms, strlen(syms), cls, 24);
    CHECK(cls[1] == T2M_PC_EDGE && cls[3] == T2M_PC_SPACE && cls[4] == T2M_PC_COMMA &&
              cls[6] == T2M_PC_QUESTION && cls[8] == T2M_PC_CLAUSE && cls[9] == T2M_PC_STRESS1 &&
              cls[10] == T2M_PC_STRESS2 && cls[11] == T2M_PC_PHONE && cls[12] == T2M_PC_SYLLABIC &&
              cls[13] == T2M_PC_VOWEL && cls[16] == T2M_PC_UNVOICED && cls[17] == T2M_PC_VOICED &&
              cls[21] == T2M_PC_PHONE,
          "symbol classes");
    /*                0  1  2   3   4   5   6  7   8   9 10  11  12  13  14  15 16 17 */
    const int ids[] = {1, 9, 17, 13, 16, 14, 4, 19, 15, 3, 9, 16, 13, 18, 20, 12, 6, 2};
    enum { N = sizeof ids / sizeof *ids, W = T2M_PROSODY_FEATS };
    float F[N * W];
    CHECK(t2m_prosody_feats(cls, 21, ids, N, F) == 0, "features");
#define FE(n, k) F[(n) * W + (k)]
    const float e1 = expf(-1.0f), eh = expf(-0.5f);
    int ok = 1;
    for (int n = 0; n < N; n++)
        ok &= fabsf(FE(n, 0) - (float)n / (N - 1)) < 1e-6f;
    CHECK(ok, "every token: its position");
    /* words: ˈdatə (1-5) | sɪ (7-8) ˈtanl̩ (10-15); phrases: the first ends at the comma */
    CHECK(FE(2, 6) == 1 && FE(7, 6) == 0 && FE(12, 6) == 0, "the comma's phrase continues");
    CHECK(FE(2, 5) == 0 && FE(8, 5) == 1 && FE(12, 5) == 1, "the sentence's last phrase");
    CHECK(FE(2, 3) == 1 && fabsf(FE(8, 3) - e1) < 1e-6f && FE(12, 3) == 1, "the phrase's last word");
    CHECK(FE(2, 4) == 1 && FE(8, 4) == 1 && fabsf(FE(12, 4) - e1) < 1e-6f, "the phrase's first word");
    CHECK(FE(2, 1) == 0 && FE(8, 1) == 0.5f && FE(12, 1) == 1, "the word's place in the sentence");
    CHECK(FE(2, 2) == 0 && FE(8, 2) == 0 && FE(12, 2) == 1, "the word's place in the phrase");
    CHECK(FE(2, 11) == 1 && fabsf(FE(8, 11) - e1) < 1e-6f, "the first phrase");
    CHECK(FE(2, 7) == 1 && FE(8, 7) == 0 && FE(12, 7) == 1, "stressed words");
    CHECK(FE(2, 8) == 1 && FE(8, 8) == 0 && FE(12, 8) == 1, "each phrase's last accent");
    CHECK(FE(2, 9) == 1 && FE(8, 9) == 0 && FE(12, 9) == 1, "each phrase's first accent");
    CHECK(fabsf(FE(2, 10) - logf(2) / 3) < 1e-6f && fabsf(FE(8, 10) - logf(3) / 3) < 1e-6f,
          "words in the phrase");
    /* syllables: da | tə, sɪ, ta | nl̩ (the syllabic l a nucleus; the n its onset) */
    CHECK(FE(1, 14) == 1 && FE(2, 14) == 1 && FE(4, 14) == 0 && FE(11, 14) == 1 && FE(13, 14) == 0,
          "syllable stress");
    CHECK(FE(3, 12) == 1 && FE(5, 12) == 1 && FE(14, 12) == 1 && FE(13, 12) == 0 && FE(2, 12) == 0,
          "nuclei");
    CHECK(FE(4, 13) == 1 && FE(7, 13) == 1 && FE(11, 13) == 1 && FE(2, 13) == 0, "unvoiced");
    CHECK(FE(4, 15) == 1 && fabsf(FE(2, 15) - e1) < 1e-6f && FE(2, 16) == 1 &&
              fabsf(FE(4, 16) - e1) < 1e-6f && fabsf(FE(2, 17) - logf(3) / 2) < 1e-6f &&
              fabsf(FE(8, 17) - logf(2) / 2) < 1e-6f,
          "a syllable's place in its word");
    CHECK(FE(14, 18) == 1 && fabsf(FE(11, 18) - eh) < 1e-6f && fabsf(FE(8, 18) - e1) < 1e-6f,
          "syllables to the phrase's end");
    CHECK(FE(11, 19) == 1 && FE(13, 19) == 0 && FE(8, 19) == 0 && FE(2, 19) == 1, "the nuclear syllable");
    CHECK(fabsf(FE(13, 20) - eh) < 1e-6f && FE(8, 20) == 0 && FE(11, 20) == 1 &&
              fabsf(FE(8, 21) - eh) < 1e-6f && FE(13, 21) == 0,
          "syllables since and until an accent");
    /* outside words: the token before's context, no sound; BOS the first word's */
    CHECK(FE(6, 6) == 1 && FE(6, 12) == 0 && FE(6, 14) == FE(5, 14) && FE(0, 7) == 1 &&
              FE(0, 12) == 0 && FE(17, 10) == FE(15, 10),
          "tokens outside words");
#undef FE
    /* a nucleus goes on through a second vowel and a length mark: "ˈtaɪdəl ˈaːtə." */
    {
        const int id2[] = {1, 9, 16, 13, 15, 17, 14, 20, 3, 9, 13, 11, 16, 14, 5, 2};
        enum { N2 = sizeof id2 / sizeof *id2 };
        float H[N2 * W];
        CHECK(t2m_prosody_feats(cls, 21, id2, N2, H) == 0, "features 2");
#define FH(n, k) H[(n) * W + (k)]
        CHECK(FH(4, 14) == 1 && fabsf(FH(4, 15) - e1) < 1e-6f && FH(4, 12) == 1 &&
                  FH(5, 14) == 0 && FH(7, 14) == 0 && FH(5, 15) == 1,
              "the second vowel of a diphthong in its syllable");
        CHECK(FH(11, 14) == 1 && fabsf(FH(11, 15) - e1) < 1e-6f && FH(11, 12) == 0 &&
                  FH(12, 14) == 0 && FH(12, 15) == 1,
              "a length mark in its syllable");
        CHECK(FH(2, 16) == 1 && fabsf(FH(6, 16) - e1) < 1e-6f && FH(10, 7) == 1, "syllables of words");
#undef FH
    }
    /* no words at all, or ids outside the table: defined, finite */
    const int none[] = {1, 4, 3, 2}, odd[] = {1, 400, -3, 13, 2};
    float G[5 * W];
    CHECK(t2m_prosody_feats(cls, 21, none, 4, G) == 0 && G[3 * W] == 1, "no words");
    CHECK(t2m_prosody_feats(cls, 21, odd, 5, G) == 0, "ids outside the table");
    for (int k = 0; k < 5 * W; k++)
        ok &= isfinite(G[k]);
    CHECK(ok, "finite features");
}

/* a voice whose predictor reads the prosodic context keeps its symbol classes in the file;
 * without them, or with a class out of range, loading it is a format error; it predicts
 * the same pitch after the round trip, and speaks */
static void test_prosody_file(void)
{
    t2m_model m, m2;
    t2m_config c = tiny_cfg();
    c.pitch_ch = 4;
    c.lf0_mean = 5.1f;
    c.lf0_std = 0.19f;
    c.pitch_ctx = 1;
    tts_err e;
    CHECK(t2m_init(&m, &c, 0, 6, &e) == 0, "init");
    CHECK(t2m_set_prosody(&m, "a\nb", 3, &e) == 0 && m.pclass[5] == T2M_PC_PHONE, "a short table");
    char longer[64];
    snprintf(longer, sizeof longer, "%s\nx", TINY_SYMBOLS);
    CHECK(t2m_set_prosody(&m, longer, strlen(longer), &e) == TTS_E_INVALID,
          "a table longer than the model's is refused");
    CHECK(t2m_set_prosody(&m, TINY_SYMBOLS, strlen(TINY_SYMBOLS), &e) == 0, "prosody: %s", e.msg);
    char dir[] = "/tmp/tts_acoustic_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/p.ltm", dir);
    tts_mf *mf;
    save_and_load(&m, SAVE_F32, path, &mf, &m2);
    CHECK(m2.cfg.pitch_ctx == 1 && m2.pclass && !memcmp(m2.pclass, m.pclass, sizeof(float) * NSYM),
          "the prosody classes in the file");
    const int ids[] = {1, 9, 4, 5, 3, 11, 4, 10, 7, 2};
    float pa[10], pb[10];
    t2m_arena ar = {0};
    CHECK(m2.pclass && t2m_predict_pitch(&m, ids, 10, pa, &ar) == 0 &&
              t2m_predict_pitch(&m2, ids, 10, pb, &ar) == 0 && !memcmp(pa, pb, sizeof pa),
          "the same pitch after the round trip");
    t2m_infer_opts o = t2m_infer_opts_default(&m2);
    o.max_steps = 20;
    int stop = -1;
    CHECK(m2.pclass && t2m_synthesize(&m2, ids, 10, &o, NULL, NULL, NULL, &stop, &e) > 0,
          "speaks: %s", e.msg);
    t2m_arena_free(&ar);
    if (m2.pclass)
        t2m_free(&m2);
    tts_mf_close(mf);
    size_t n = 0;
    unsigned char *b = slurp(path, &n), *at = b ? memmem(b, n, m.pclass, sizeof(float) * NSYM) : NULL;
    CHECK(at != NULL, "the classes in the file");
    if (at) {
        float bad[3] = {99.0f, -1.0f, 1.5f};
        for (int j = 0; j < 3; j++) {
            memcpy(at + 5 * sizeof(float), &bad[j], sizeof(float));
            expect_refused(b, n, T2M_PCLASS_TENSOR, "a class out of range");
        }
    }
    free(b);
    free(m.pclass); /* written without them: refused */
    m.pclass = NULL;
    tts_mf_writer *w = tts_mf_writer_new();
    t2m_to_mf(w, &m, NULL);
    CHECK(tts_mf_write(w, path, &e) == 0, "write: %s", e.msg);
    tts_mf_writer_free(w);
    b = slurp(path, &n);
    if (b)
        expect_refused(b, n, T2M_PCLASS_TENSOR, "no classes");
    free(b);
    t2m_free(&m);
    unlink(path);
    rmdir(dir);
}

/* the pitch per token, read off an attention: weighted means of the voiced frames */
static void test_pitch_targets(void)
{
    /* 3 steps of r = 2 frames (F = 5: the last step has one), 3 tokens */
    const float A[3 * 3] = {1, 0, 0,   0.5f, 0.5f, 0,   0, 0, 1};
    const float lf0[5] = {1, 3, NAN, 2, 4};
    float p[3];
    t2m_pitch_targets(A, 3, 3, 2, lf0, 5, p);
    /* token 0: step 0 (1 + 3, 2 voiced) + 0.5 step 1 (2, 1 voiced) -> (4 + 1) / 2.5 = 2;
     * token 1: 0.5 step 1 -> 0.5 voiced frames, 1 / 0.5 = 2; token 2: step 2, frame 4 only */
    CHECK(fabsf(p[0] - 2) < 1e-6 && fabsf(p[1] - 2) < 1e-6 && fabsf(p[2] - 4) < 1e-6,
          "pitch targets %g %g %g", p[0], p[1], p[2]);
    /* less than half a voiced frame of attention: the mean pitch, 0 */
    const float lf0b[5] = {1, 3, NAN, NAN, 4};
    t2m_pitch_targets(A, 3, 3, 2, lf0b, 5, p);
    CHECK(p[1] == 0 && fabsf(p[0] - 4.0f / 2) < 1e-6, "token without voiced frames: %g %g", p[0], p[1]);
}

/* a model with pitch: a new one (embedding at zero) speaks as the same model without pitch;
 * once its embedding is not zero, the pitch shift and range move its frames */
static void test_pitch_inference(void)
{
    t2m_config c = tiny_cfg();
    t2m_model a, b;
    tts_err e;
    CHECK(t2m_init(&a, &c, 0, 5, &e) == 0, "init");
    c.pitch_ch = 4;
    c.lf0_mean = 5.3f;
    c.lf0_std = 0.2f;
    CHECK(t2m_init(&b, &c, 0, 5, &e) == 0, "init with pitch");
    /* the shared tensors equal (the same names), the new ones as initialized */
    for (int t = 0; t < a.p.n_tensors; t++) {
        const nn_tensor_info *ta = &a.p.tensors[t], *tb = nn_params_find(&b.p, ta->name);
        if (tb && tb->size == ta->size)
            memcpy(b.p.params + tb->offset, a.p.params + ta->offset, sizeof(float) * ta->size);
    }
    uint64_t rng = 9;
    int ids[64], F;
    float mel[64 * 8 * NM];
    int N = make_utt(&rng, ids, mel, &F);
    static frame_log la, lb, lc, ld;
    t2m_infer_opts o = t2m_infer_opts_default(&a);
    o.quiet_margin = 0;
    o.max_steps = 20;
    memset(&la, 0, sizeof la);
    memset(&lb, 0, sizeof lb);
    int sa = t2m_synthesize(&a, ids, N, &o, log_frames, &la, NULL, NULL, &e);
    o.pitch_shift = 3;
    int sb = t2m_synthesize(&b, ids, N, &o, log_frames, &lb, NULL, NULL, &e);
    CHECK(sa > 0 && sa == sb && memcmp(la.f, lb.f, sizeof(float) * (size_t)la.n * NM) == 0,
          "a zero pitch embedding changes nothing (%d / %d steps)", sa, sb);
    const nn_tensor_info *pe = nn_params_find(&b.p, "pemb.0.w");
    for (size_t j = 0; pe && j < pe->size; j++)
        b.p.params[pe->offset + j] = (float)(0.5 * nn_rand_normal(&rng));
    memset(&lc, 0, sizeof lc);
    memset(&ld, 0, sizeof ld);
    o.pitch_shift = 0;
    int sc = t2m_synthesize(&b, ids, N, &o, log_frames, &lc, NULL, NULL, &e);
    o.pitch_shift = 3;
    int sd = t2m_synthesize(&b, ids, N, &o, log_frames, &ld, NULL, NULL, &e);
    int n = lc.n < ld.n ? lc.n : ld.n;
    CHECK(sc > 0 && sd > 0 && memcmp(lc.f, ld.f, sizeof(float) * (size_t)n * NM) != 0,
          "a pitch shift changes the frames");
    t2m_free(&a);
    t2m_free(&b);
}

int main(void)
{
    test_half();
    test_f16_roundtrip();
    test_q8_roundtrip();
    test_mapped();
    test_holds_roundtrip();
    test_post_filter();
    test_gradient(0, 0, 0, 0);
    test_gradient(0.5f, 0, 0, 0);
    test_gradient(0, 0.5f, 0, 0);
    test_gradient(0, 0, 1, 0);
    test_gradient(0, 0, 2, 0);
    test_prosody();
    test_prosody_file();
    test_gradient(0, 0, 0, 1);
    test_pitch_targets();
    test_pitch_inference();
    test_sharpen_equivalence();
    test_training_and_inference();
    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("all acoustic tests passed\n");
    return 0;
}
