/*
 * bench_tts: how fast libtts speaks, stage by stage, next to eSpeak NG and Flite, and how
 * time and memory grow with the length of the text (issue 7, items 4 and 5). A program,
 * not a test: it prints markdown tables for bench/RESULTS.md.
 *
 *   1. Whole pipeline, through the public API: tts_synthesize() with a callback that
 *      discards the audio, on a short (~10 words), medium (~60) and long (~600 words)
 *      text embedded below. Real-time factor = synthesis time / seconds of audio produced
 *      (sentence pauses included); median of RUNS runs on one warm engine (model load and
 *      eSpeak NG start-up are timed separately, as "engine open"). First-chunk latency =
 *      tts_synthesize() called -> first callback.
 *   2. Each stage, on the same texts, through the internal headers, the way lib/engine.c
 *      chains them: sentences (tts_sentences_next) -> frontend (tts_frontend_phonemize)
 *      -> acoustic model (t2m_synthesize) -> vocoder, the one section 1's engine used,
 *      chosen by --vocoder as the engine chooses it (open_vocoder in lib/engine.c) and run
 *      as the engine runs it at rate 1 with 1 thread: the neural vocoder (VOICE.vocoder.ltm
 *      beside the voice file) streamed frame by frame through the engine's render
 *      (vocoder/render.h: sharpening, network, envelope match, as the file sets them);
 *      or Griffin-Lim (tts_mel_synthesize with the engine's 32
 *      iterations). The vocoder stage takes the acoustic model's frames from a buffer, so
 *      it is timed alone. Each stage's RTF uses the pipeline's audio seconds as
 *      denominator, so the three add up to about the pipeline's RTF.
 *   3. eSpeak NG (espeak-ng -v en-us -w F "text") and Flite (flite -voice slt -t "text"
 *      -o F) on the same texts, in the same run, interleaved with libtts's runs: wall time
 *      of fork/exec/wait (process start and voice load included, as a user running them
 *      sees it), median of RUNS, and the ratios libtts / other. libtts's ratio is given
 *      warm (engine already open) and cold (+ engine open, what a `tts` process pays).
 *   4. Memory: RSS after engine open, peak RSS (getrusage) after the pipeline runs, and
 *      the model file's size.
 *   5. Scaling: 10, 100, 1,000 words (and 10,000 with --full) of the long text repeated,
 *      each synthesized in a fresh child process (this program re-executed with
 *      --scale-child N), so that the peak RSS is that size's own; the exponent of
 *      time ~ words^k between sizes says whether time is linear (k = 1), and the peak
 *      RSS growth over the 10-word run says whether memory is flat.
 *
 * Usage: bench_tts [--model PATH] [--vocoder NAME] [--quick] [--full]
 *   --model PATH    voice model (default: the shipped voice, found as the engine finds it)
 *   --vocoder NAME  as tts's --vocoder (tts_options.vocoder): default (the voice's neural
 *                   vocoder if it has one, else Griffin-Lim) | wavenet | griffinlim; used
 *                   by sections 1, 2 and 5
 *   --quick         1 run instead of 5
 *   --full          add the 10,000-word scaling run (tens of minutes)
 *
 * The report's header names the vocoder that was loaded (file, envelope match passes,
 * sharpening of the frames; or Griffin-Lim's iterations). Load on the machine makes every
 * figure pessimistic; the load average at start is printed with the results.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "acoustic/text2mel.h"
#include "acoustic/voice_io.h"
#include "core/err.h"
#include "dsp/dsp.h"
#include "frontend/frontend.h"
#include "nn/kernels.h"
#include "nn/modelfile.h"
#include "tts.h"
#include "vocoder/render.h"
#include "vocoder/vocoder.h"
#include "vocoder/vocoder_io.h"

#define VOICE_FILE "kathleen.ltm" /* as in lib/engine.c */
#define MAX_RUNS 5

static int RUNS = MAX_RUNS;
static const char *VOCODER = "default"; /* --vocoder: tts_options.vocoder */

/* the names tts_options.vocoder takes (lib/engine.c checks the same three) */
static int vocoder_name_ok(const char *name)
{
    return !strcmp(name, "default") || !strcmp(name, "wavenet") || !strcmp(name, "griffinlim");
}

/* ---- texts --------------------------------------------------------------------------- */

static const char TEXT_SHORT[] =
    "Please turn left at the next corner and continue straight ahead.";

static const char TEXT_MEDIUM[] =
    "The weather service expects light rain this morning, clearing by early afternoon. "
    "Temperatures will climb to around eighteen degrees, with a gentle breeze from the "
    "west. Tonight the sky should stay mostly clear, so expect a cool night in the "
    "valleys. If you are driving to the coast tomorrow, leave a little earlier than "
    "usual, because roadworks will slow traffic near the bridge.";

static const char TEXT_LONG[] =
    "Every morning the old lighthouse keeper climbed the narrow stairs to the lamp room, "
    "counted the steps out loud, and wrote the weather in a small leather notebook. He "
    "had done this for thirty years, long after ships stopped needing a man to watch the "
    "light. The machines turned the lamp on at dusk and off at dawn, and a radio signal "
    "told the harbour office when something went wrong. Still, he liked to see the sea "
    "with his own eyes before the rest of the village woke up.\n"
    "On calm days the water was flat and grey, and the fishing boats left the harbour in "
    "a long line, one after another, like ducks following their mother. On stormy days "
    "the waves broke against the rocks below the tower and threw white spray high into "
    "the air. The windows rattled, the wind whistled through the cracks in the old door, "
    "and the keeper made a pot of strong tea and waited.\n"
    "The children of the village thought he was a little strange. They saw him walking "
    "along the cliffs in his heavy coat, talking to the seagulls, and stopping now and "
    "then to pick up a stone or a piece of driftwood. Some of them were afraid of him, "
    "but most were simply curious. One summer a girl named Clara knocked on his door and "
    "asked whether she could see the lamp. He hesitated for a moment, then smiled and led "
    "her up the stairs. She counted the steps with him, all one hundred and twelve of "
    "them, and when they reached the top she pressed her face against the glass and "
    "laughed at how small the houses looked.\n"
    "After that, Clara came back almost every week. The keeper showed her how to read the "
    "barometer, how to tell a rain cloud from a harmless one, and how the great lens bent "
    "the light into a beam that could reach ships far beyond the horizon. She asked "
    "endless questions, and he answered every one of them, even when he had to admit that "
    "he did not know. Sometimes they simply sat on the bench outside and watched the tide "
    "come in.\n"
    "Years passed. Clara grew up, went to the city to study, and became an engineer who "
    "designed the very machines that had replaced the keeper. She wrote him long letters "
    "about her work, about bridges and turbines and tiny computers that could listen to "
    "the wind and decide, all on their own, when to warn the ships. He read each letter "
    "twice, slowly, and kept them in a wooden box beside his notebook. He was proud of "
    "her, although he never quite said so in his replies.\n"
    "When the keeper finally grew too old to climb the stairs, the harbour office sent a "
    "young man to close the tower for good. The young man expected to find an empty, "
    "dusty building. Instead he found the leather notebooks, more than thirty of them, "
    "stacked neatly on a shelf, each page filled with careful handwriting: the wind, the "
    "clouds, the colour of the sea, the boats that left and the boats that came home.\n"
    "Clara came home for the keeper's last birthday. They sat together on the bench "
    "outside the tower, just as they had when she was a child, and watched the light turn "
    "on at dusk. Neither of them said very much. There was no need to. The beam swept "
    "across the dark water, steady and patient, as it had every night for two hundred "
    "years, and somewhere far out at sea a ship saw it and knew the way home.";

typedef struct {
    const char *name;
    const char *text;
} bench_text;

static const bench_text TEXTS[3] = {
    {"short", TEXT_SHORT}, {"medium", TEXT_MEDIUM}, {"long", TEXT_LONG}};

/* ---- helpers ------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double t[MAX_RUNS];
    if (n <= 0)
        return -1;
    memcpy(t, v, n * sizeof *t);
    qsort(t, n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static int count_words(const char *s)
{
    int n = 0, in = 0;
    for (; *s; s++) {
        int sp = *s == ' ' || *s == '\n' || *s == '\t';
        if (!sp && !in)
            n++;
        in = !sp;
    }
    return n;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0; /* kB on Linux */
}

static double current_rss_mb(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                c += c[1] == ' ' ? 2 : 1;
                c[strcspn(c, "\n")] = 0;
                snprintf(buf, len, "%s", c);
            }
            break;
        }
    }
    fclose(f);
}

/* first line of a command's output (stdout and stderr), "" if none */
static void first_line_of(const char *cmd, char *buf, size_t len)
{
    buf[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (fgets(buf, (int)len, p))
        buf[strcspn(buf, "\n")] = 0;
    char sink[256];
    while (fgets(sink, sizeof sink, p))
        ;
    pclose(p);
}

/* the shipped voice, searched as lib/engine.c searches it */
static int find_default_model(char *out, size_t cap)
{
    const char *dirs[3] = {getenv("TTS_MODEL_DIR"), TTS_MODELS_INSTALL_DIR, TTS_MODELS_SOURCE_DIR};
    for (int i = 0; i < 3; i++) {
        if (!dirs[i] || !dirs[i][0])
            continue;
        snprintf(out, cap, "%s/%s", dirs[i], VOICE_FILE);
        if (access(out, R_OK) == 0)
            return 1;
    }
    return 0;
}

/* ---- other engines: fork/exec, wall time, audio length of the WAV they wrote ---------- */

/* runs argv with stdout and stderr to /dev/null; wall seconds, or -1 if it did not run
 * or exited non-zero */
static double run_timed(char *const argv[])
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    double dt = now_s() - t0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? dt : -1;
}

static uint32_t le32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* seconds of audio in a PCM WAV file (a data size left unpatched, as by a writer that
 * streams, is taken from the file size); -1 if unreadable */
static double wav_seconds(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char h[12], ch[8], fmt[16];
    double secs = -1;
    uint32_t rate = 0, block = 0;
    if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4))
        goto out;
    while (fread(ch, 1, 8, f) == 8) {
        uint32_t size = le32(ch + 4);
        if (!memcmp(ch, "fmt ", 4) && size >= 16) {
            if (fread(fmt, 1, 16, f) != 16)
                goto out;
            rate = le32(fmt + 4);
            block = fmt[12] | fmt[13] << 8;
            if (fseek(f, (long)size - 16 + (size & 1), SEEK_CUR))
                goto out;
        } else if (!memcmp(ch, "data", 4)) {
            long here = ftell(f);
            fseek(f, 0, SEEK_END);
            long avail = ftell(f) - here;
            if (size == 0 || size > (uint32_t)avail)
                size = (uint32_t)avail;
            if (rate && block)
                secs = (double)(size / block) / rate;
            goto out;
        } else if (fseek(f, (long)size + (size & 1), SEEK_CUR)) {
            goto out;
        }
    }
out:
    fclose(f);
    return secs;
}

typedef struct {
    const char *name;
    int ok;                 /* ran successfully at least once */
    double t[MAX_RUNS];     /* wall seconds per run */
    int n;
    double audio_s;         /* seconds of audio it wrote */
} other_result;

static void run_other(other_result *r, int which, const char *text, const char *wav)
{
    char *argv_espeak[] = {"espeak-ng", "-v", "en-us", "-w", (char *)wav, (char *)text, NULL};
    char *argv_flite[] = {"flite", "-voice", "slt", "-t", (char *)text, "-o", (char *)wav, NULL};
    unlink(wav);
    double dt = run_timed(which == 0 ? argv_espeak : argv_flite);
    if (dt < 0)
        return;
    r->ok = 1;
    r->t[r->n++] = dt;
    r->audio_s = wav_seconds(wav);
    unlink(wav);
}

/* ---- whole pipeline through the public API ------------------------------------------- */

typedef struct {
    double t0, first;
    size_t samples;
    uint64_t sentence_start, longest; /* samples: the longest sentence's speech */
} pipe_ctx;

static int discard_audio(const float *pcm, size_t n, const tts_event *ev, size_t n_ev,
                         void *user)
{
    pipe_ctx *c = user;
    (void)pcm;
    if (c->first < 0)
        c->first = now_s() - c->t0;
    c->samples += n;
    for (size_t i = 0; i < n_ev; i++) {
        if (ev[i].type == TTS_EVENT_SENTENCE_START)
            c->sentence_start = ev[i].sample;
        else if (ev[i].type == TTS_EVENT_SENTENCE_END &&
                 ev[i].sample - c->sentence_start > c->longest)
            c->longest = ev[i].sample - c->sentence_start;
    }
    return 0;
}

/* one synthesis: seconds, first-chunk seconds, audio samples (and, if longest != NULL, the
 * samples of its longest sentence, pause excluded); -1 on failure */
static double pipeline_once(tts_engine *e, const char *text, double *first, size_t *samples,
                            uint64_t *longest)
{
    pipe_ctx c = {.first = -1};
    c.t0 = now_s();
    int rc = tts_synthesize(e, text, discard_audio, &c);
    double dt = now_s() - c.t0;
    if (rc) {
        fprintf(stderr, "bench_tts: tts_synthesize: %s (%s)\n", tts_engine_error(e),
                tts_status_string(rc));
        return -1;
    }
    *first = c.first;
    *samples = c.samples;
    if (longest)
        *longest = c.longest;
    return dt;
}

/* ---- stages through the internal headers ---------------------------------------------- */

typedef struct {
    tts_mf *mf;
    t2m_model am;
    int am_loaded;
    tts_audio_cfg audio;
    tts_frontend *fe;
    tts_mel *mel;
    /* the neural vocoder, when the engine would load one (as in lib/engine.c) */
    voc_model voc;
    int voc_loaded, voc_file_exists;
    voc_render *render; /* as lib/engine.c renders (vocoder/render.h) */
    float *pcm;         /* its output: voc_render_max_tail */
    char voc_path[4096];
    tts_err err;
} stages;

/* The neural vocoder as lib/engine.c's open_vocoder() finds and sets it up (no
 * tts_options.vocoder_path: VOICE.vocoder.ltm beside the voice file): "default" loads it
 * when the file exists, "wavenet" requires it, "griffinlim" loads nothing. */
static int stages_open_vocoder(stages *s, const char *path, const char *vocoder)
{
    if (!strcmp(vocoder, "griffinlim"))
        return 0;
    size_t n = strlen(path);
    if (n > 4 && !strcmp(path + n - 4, ".ltm"))
        n -= 4;
    snprintf(s->voc_path, sizeof s->voc_path, "%.*s.vocoder.ltm", (int)n, path);
    s->voc_file_exists = access(s->voc_path, R_OK) == 0;
    if (strcmp(vocoder, "wavenet") && !s->voc_file_exists)
        return 0; /* no neural vocoder for this voice: Griffin-Lim */
    tts_mf *mf;
    if (tts_mf_open(&mf, s->voc_path, &s->err))
        return -1;
    int rc = voc_from_mf(&s->voc, mf, 0, NULL, &s->err);
    tts_mf_close(mf);
    if (rc)
        return -1;
    s->voc_loaded = 1;
    const voc_config *c = &s->voc.cfg;
    if (c->n_mels != s->audio.n_mels || c->hop != s->audio.hop_length) {
        tts_seterr(&s->err, TTS_E_FORMAT,
                   "%s: vocoder expects %d mel bands and hop %d, the voice has %d and %d",
                   s->voc_path, c->n_mels, c->hop, s->audio.n_mels, s->audio.hop_length);
        return -1;
    }
    if (voc_render_open(&s->render, &s->voc, &s->err))
        return -1;
    if (!(s->pcm = malloc(sizeof(float) * voc_render_max_tail(s->render)))) {
        tts_seterr(&s->err, TTS_E_NOMEM, "out of memory");
        return -1;
    }
    return 0;
}

static int stages_open(stages *s, const char *path, const char *vocoder)
{
    const char *symbols;
    memset(s, 0, sizeof *s);
    if (tts_mf_open(&s->mf, path, &s->err) || t2m_from_mf(&s->am, s->mf, 0, NULL, &s->err))
        return -1;
    s->am_loaded = 1;
    if (tts_audio_cfg_from_mf(s->mf, &s->audio, &s->err) ||
        tts_mf_get_str(s->mf, "symbols", &symbols, &s->err) ||
        tts_frontend_open(&s->fe, NULL, &s->err) ||
        tts_frontend_set_symbols(s->fe, symbols, strlen(symbols), &s->err) ||
        tts_mel_create(&s->mel, &s->audio, &s->err) ||
        stages_open_vocoder(s, path, vocoder))
        return -1;
    return 0;
}

/* the vocoder the stages loaded, for the report's header */
static void stages_vocoder_desc(const stages *s, char *buf, size_t len)
{
    if (!s->voc_loaded) {
        snprintf(buf, len, "Griffin-Lim (%d iterations%s)",
                 tts_default_options().griffin_lim_iters,
                 !strcmp(VOCODER, "default") && !s->voc_file_exists
                     ? "; the voice has no neural vocoder"
                     : "");
        return;
    }
    const voc_config *c = &s->voc.cfg;
    char env[64], sharp[64];
    if (c->env_passes > 0)
        snprintf(env, sizeof env, "envelope match %d pass%s", c->env_passes,
                 c->env_passes > 1 ? "es" : "");
    else
        snprintf(env, sizeof env, "no envelope match");
    if (c->frame_sharpen > 0)
        snprintf(sharp, sizeof sharp, "frames sharpened %g / %d", c->frame_sharpen,
                 c->frame_sharpen_w);
    else
        snprintf(sharp, sizeof sharp, "frames not sharpened");
    snprintf(buf, len, "neural vocoder (%s, %s, %s)", s->voc_path, env, sharp);
}

static void stages_close(stages *s)
{
    if (s->am_loaded)
        t2m_free(&s->am);
    voc_render_close(s->render);
    free(s->pcm);
    if (s->voc_loaded)
        voc_free(&s->voc);
    tts_mel_free(s->mel);
    tts_frontend_close(s->fe);
    tts_mf_close(s->mf);
}

/* One sentence's n frames through the neural vocoder as lib/engine.c streams them at
 * rate 1 (the render: sharpened, vocoded, envelope-matched, then flushed). The samples
 * are discarded; *np = how many. */
static int vocode_neural(stages *s, const float *frames, size_t n, size_t *np)
{
    int nm = s->audio.n_mels;
    size_t k = 0;
    *np = 0;
    voc_render_reset(s->render, 1, 1);
    for (size_t i = 0; i < n; i++, *np += k)
        if (voc_render_push(s->render, frames + i * nm, s->pcm, &k, &s->err))
            return -1;
    if (voc_render_finish(s->render, s->pcm, &k, &s->err))
        return -1;
    *np += k;
    return 0;
}

typedef struct {
    float *f;
    size_t n, cap; /* frames, capacity in floats */
    int n_mels;
} frames_buf;

static int on_frames(const float *frames, int r, int pos, void *user)
{
    frames_buf *b = user;
    (void)pos;
    size_t need = (b->n + r) * b->n_mels;
    if (need > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 8192;
        while (nc < need)
            nc *= 2;
        float *g = realloc(b->f, nc * sizeof *g);
        if (!g)
            return 1;
        b->f = g;
        b->cap = nc;
    }
    memcpy(b->f + b->n * b->n_mels, frames, sizeof(float) * r * b->n_mels);
    b->n += r;
    return 0;
}

typedef struct {
    double fe[MAX_RUNS], am[MAX_RUNS], voc[MAX_RUNS]; /* seconds per run, whole text */
    int n_sentences, n_ids, n_frames;
    double speech_s; /* seconds of vocoded speech (no sentence pauses) */
} stage_result;

/* Times the three stages on text, sentence by sentence, as lib/engine.c runs them. */
static int stages_run(stages *s, const char *text, stage_result *res)
{
    enum { MAXS = 256 };
    size_t off[MAXS], len[MAXS];
    int ns = 0, rc = -1;
    tts_sentence_iter it;
    if (tts_sentences_begin(&it, text, strlen(text), &s->err))
        return -1;
    while (ns < MAXS && tts_sentences_next(&it, &off[ns], &len[ns]) > 0)
        ns++;
    int *ids[MAXS] = {0}, nids[MAXS] = {0};
    frames_buf fb[MAXS];
    memset(fb, 0, sizeof fb);
    unsigned char *passable = NULL; /* the inference window's marks (t2m_infer_opts) */
    res->n_sentences = ns;
    res->n_ids = res->n_frames = 0;
    res->speech_s = 0;
    tts_gl_params gp = tts_gl_default_params();
    int gl_iters = tts_default_options().griffin_lim_iters;
    if (gl_iters > 0)
        gp.n_iter = gl_iters;

    for (int run = 0; run < RUNS; run++) { /* frontend */
        double t0 = now_s();
        for (int i = 0; i < ns; i++) {
            tts_phonemes ph = {0};
            if (tts_frontend_phonemize(s->fe, text + off[i], len[i], &ph, &s->err))
                goto out;
            if (run == 0 && ph.n_words > 0) {
                ids[i] = malloc(sizeof(int) * ph.n_ids);
                if (!ids[i]) {
                    tts_phonemes_free(&ph);
                    goto out;
                }
                for (size_t k = 0; k < ph.n_ids; k++)
                    ids[i][k] = ph.ids[k];
                nids[i] = (int)ph.n_ids;
                res->n_ids += nids[i];
            }
            tts_phonemes_free(&ph);
        }
        res->fe[run] = now_s() - t0;
    }
    t2m_infer_opts io = t2m_infer_opts_default(&s->am);
    passable = malloc((size_t)s->am.cfg.n_symbols);
    if (passable) {
        tts_symtab_passable(tts_frontend_symbols(s->fe), passable);
        io.passable = passable;
    }
    for (int run = 0; run < RUNS; run++) { /* acoustic model */
        for (int i = 0; i < ns; i++)
            fb[i].n = 0, fb[i].n_mels = s->audio.n_mels;
        double t0 = now_s();
        for (int i = 0; i < ns; i++) {
            int stop;
            if (!ids[i])
                continue;
            if (t2m_synthesize(&s->am, ids[i], nids[i], &io, on_frames, &fb[i], NULL, &stop,
                               &s->err) < 0 ||
                stop == 2)
                goto out;
        }
        res->am[run] = now_s() - t0;
    }
    for (int i = 0; i < ns; i++)
        res->n_frames += (int)fb[i].n;
    for (int run = 0; run < RUNS; run++) { /* vocoder */
        double t0 = now_s(), speech = 0;
        for (int i = 0; i < ns; i++) {
            float *pcm = NULL;
            size_t np = 0;
            if (!fb[i].n)
                continue;
            if (s->voc_loaded) {
                if (vocode_neural(s, fb[i].f, fb[i].n, &np))
                    goto out;
            } else {
                if (tts_mel_synthesize(s->mel, fb[i].f, fb[i].n, &gp, &pcm, &np, &s->err))
                    goto out;
                free(pcm);
            }
            speech += (double)np / s->audio.sample_rate;
        }
        res->voc[run] = now_s() - t0;
        res->speech_s = speech;
    }
    rc = 0;
out:
    for (int i = 0; i < ns; i++) {
        free(ids[i]);
        free(fb[i].f);
    }
    free(passable);
    return rc;
}

/* ---- scaling: one size in a fresh process -------------------------------------------- */

/* the first n words of the long text, repeated as often as needed, ending in a full stop;
 * malloc'd */
static char *words_text(int n)
{
    size_t cap = (size_t)n * 16 + 16, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    const char *p = TEXT_LONG;
    for (int w = 0; w < n; w++) {
        while (*p == ' ' || *p == '\n')
            p++;
        if (!*p) {
            p = TEXT_LONG;
            w--;
            continue;
        }
        const char *q = p;
        while (*q && *q != ' ' && *q != '\n')
            q++;
        if (len + (q - p) + 2 >= cap) {
            cap *= 2;
            char *o = realloc(out, cap);
            if (!o) {
                free(out);
                return NULL;
            }
            out = o;
        }
        if (len)
            out[len++] = ' ';
        memcpy(out + len, p, q - p);
        len += q - p;
        p = q;
    }
    if (len && (out[len - 1] == ',' || out[len - 1] == ';'))
        len--;
    if (!len || (out[len - 1] != '.' && out[len - 1] != '?' && out[len - 1] != '!'))
        out[len++] = '.';
    out[len] = 0;
    return out;
}

/* child side: open, warm up, speak n words, report one line on stdout */
static int scale_child(const char *model, int n)
{
    char *text = words_text(n);
    if (!text)
        return 1;
    tts_options o = tts_default_options();
    o.model_path = model;
    o.vocoder = VOCODER;
    tts_engine *e;
    double t0 = now_s();
    int rc = tts_engine_open(&e, &o);
    double t_open = now_s() - t0;
    if (rc) {
        fprintf(stderr, "bench_tts: %s\n", tts_engine_error(e));
        tts_engine_close(e);
        free(text);
        return 1;
    }
    double first;
    size_t samples;
    uint64_t longest;
    if (pipeline_once(e, "Hello.", &first, &samples, NULL) < 0) /* warm up */
        return 1;
    double peak_ready = peak_rss_mb();
    double dt = pipeline_once(e, text, &first, &samples, &longest);
    if (dt < 0)
        return 1;
    int sr = tts_engine_sample_rate(e);
    printf("SCALE words=%d open=%.6f time=%.6f audio=%.6f longest=%.6f peak_ready=%.3f "
           "peak=%.3f\n",
           count_words(text), t_open, dt, (double)samples / sr, (double)longest / sr,
           peak_ready, peak_rss_mb());
    tts_engine_close(e);
    free(text);
    return 0;
}

typedef struct {
    int words, ok;
    double open, time, audio, longest, peak_ready, peak;
} scale_result;

static void scale_parent(const char *self, const char *model, int n, scale_result *r)
{
    int fd[2];
    memset(r, 0, sizeof *r);
    r->words = n;
    fflush(stdout);
    if (pipe(fd))
        return;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return;
    }
    if (pid == 0) {
        char num[32];
        snprintf(num, sizeof num, "%d", n);
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(self, self, "--scale-child", num, "--model", model, "--vocoder", VOCODER,
              (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[1024];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof buf - 1 &&
           ((k = read(fd[0], buf + got, sizeof buf - 1 - got)) > 0 || (k < 0 && errno == EINTR)))
        if (k > 0)
            got += k;
    buf[got] = 0;
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    const char *line = strstr(buf, "SCALE ");
    if (line && sscanf(line,
                       "SCALE words=%d open=%lf time=%lf audio=%lf longest=%lf peak_ready=%lf "
                       "peak=%lf",
                       &r->words, &r->open, &r->time, &r->audio, &r->longest, &r->peak_ready,
                       &r->peak) == 7)
        r->ok = 1;
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_tts [--model PATH] [--vocoder NAME] [--quick] [--full]\n"
            "  --model PATH    voice model (default: the shipped voice)\n"
            "  --vocoder NAME  default (the voice's neural vocoder if it has one, else\n"
            "                  griffinlim) | wavenet | griffinlim, as tts's --vocoder\n"
            "  --quick         1 run instead of 5\n"
            "  --full          add the 10,000-word scaling run (tens of minutes)\n");
}

static void fmt_ratio(char *buf, size_t len, double a, double b)
{
    if (a > 0 && b > 0)
        snprintf(buf, len, "%.2f", a / b);
    else
        snprintf(buf, len, "n/a");
}

static void fmt_secs(char *buf, size_t len, const other_result *r)
{
    if (r->ok)
        snprintf(buf, len, "%.3f", median(r->t, r->n));
    else
        snprintf(buf, len, "n/a");
}

int main(int argc, char **argv)
{
    const char *model_arg = NULL;
    int full = 0, child_words = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_arg = argv[++i];
        else if (!strcmp(argv[i], "--vocoder") && i + 1 < argc) {
            VOCODER = argv[++i];
            if (!vocoder_name_ok(VOCODER)) {
                fprintf(stderr, "bench_tts: unknown vocoder '%s' (available: default, wavenet, "
                                "griffinlim)\n", VOCODER);
                return 2;
            }
        } else if (!strcmp(argv[i], "--quick"))
            RUNS = 1;
        else if (!strcmp(argv[i], "--full"))
            full = 1;
        else if (!strcmp(argv[i], "--scale-child") && i + 1 < argc)
            child_words = atoi(argv[++i]);
        else {
            usage();
            return 2;
        }
    }
    char model[4096];
    if (model_arg)
        snprintf(model, sizeof model, "%s", model_arg);
    else if (!find_default_model(model, sizeof model)) {
        fprintf(stderr, "bench_tts: no shipped voice (%s) in $TTS_MODEL_DIR, %s or %s; "
                        "pass --model PATH\n",
                VOICE_FILE, TTS_MODELS_INSTALL_DIR, TTS_MODELS_SOURCE_DIR);
        return 1;
    }
    if (child_words > 0)
        return scale_child(model, child_words);

    /* header: when, where, on what */
    char cpu[256], date[64], esv[256], flv[256], self[4096];
    double load[3] = {-1, -1, -1};
    cpu_model(cpu, sizeof cpu);
    if (getloadavg(load, 3) < 0)
        load[0] = load[1] = load[2] = -1;
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    first_line_of("espeak-ng --version 2>&1", esv, sizeof esv);
    first_line_of("flite --version 2>&1 | grep -m1 version:", flv, sizeof flv);
    char *cut = strstr(esv, "  Data at");
    if (cut)
        *cut = 0;
    for (cut = flv; *cut == ' '; cut++)
        ;
    memmove(flv, cut, strlen(cut) + 1);
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        fprintf(stderr, "bench_tts: cannot find my own executable\n");
        return 1;
    }
    self[sl] = 0;
    struct stat mst;
    if (stat(model, &mst)) {
        fprintf(stderr, "bench_tts: %s: %s\n", model, strerror(errno));
        return 1;
    }
    char wav[64];
    snprintf(wav, sizeof wav, "/tmp/bench_tts_%ld.wav", (long)getpid());

    /* scaling first, while this process is small: a child's getrusage peak starts from
     * its parent's RSS at fork, which must not be a loaded engine's */
    int sizes[4] = {10, 100, 1000, 10000}, n_sizes = full ? 4 : 3;
    scale_result sc[4];
    for (int i = 0; i < n_sizes; i++) {
        fprintf(stderr, "bench_tts: scaling, %d words...\n", sizes[i]);
        scale_parent(self, model, sizes[i], &sc[i]);
    }

    /* whole pipeline, interleaved with eSpeak NG and Flite */
    fprintf(stderr, "bench_tts: pipeline...\n");
    tts_options o = tts_default_options();
    o.model_path = model;
    o.vocoder = VOCODER;
    tts_engine *e;
    double t0 = now_s();
    int rc = tts_engine_open(&e, &o);
    double t_open = now_s() - t0;
    if (rc) {
        fprintf(stderr, "bench_tts: %s\n", tts_engine_error(e));
        tts_engine_close(e);
        return 1;
    }
    double rss_open = current_rss_mb(), first0;
    size_t samples0;
    if (pipeline_once(e, TEXT_SHORT, &first0, &samples0, NULL) < 0) /* warm up */
        return 1;
    int sr = tts_engine_sample_rate(e);
    double pt[3][MAX_RUNS], pfirst[3][MAX_RUNS], paudio[3];
    other_result oth[3][2];
    memset(oth, 0, sizeof oth);
    for (int t = 0; t < 3; t++) {
        oth[t][0].name = "espeak-ng";
        oth[t][1].name = "flite";
        for (int run = 0; run < RUNS; run++) {
            size_t samples;
            pt[t][run] = pipeline_once(e, TEXTS[t].text, &pfirst[t][run], &samples, NULL);
            if (pt[t][run] < 0)
                return 1;
            paudio[t] = (double)samples / sr;
            run_other(&oth[t][0], 0, TEXTS[t].text, wav);
            run_other(&oth[t][1], 1, TEXTS[t].text, wav);
        }
    }
    double rss_peak = peak_rss_mb();
    tts_engine_close(e);

    /* stages */
    fprintf(stderr, "bench_tts: stages...\n");
    stages st;
    stage_result sres[3];
    if (stages_open(&st, model, VOCODER)) {
        fprintf(stderr, "bench_tts: %s\n", st.err.msg);
        return 1;
    }
    for (int t = 0; t < 3; t++)
        if (stages_run(&st, TEXTS[t].text, &sres[t])) {
            fprintf(stderr, "bench_tts: stages: %s\n", st.err.msg);
            return 1;
        }
    size_t params = st.am.p.count;
    t2m_config cfg = st.am.cfg;
    char vocdesc[4400];
    stages_vocoder_desc(&st, vocdesc, sizeof vocdesc);
    int neural = st.voc_loaded;
    stages_close(&st);

    /* ---- report ---- */
    printf("## libtts benchmark\n\n");
    printf("- Date: %s\n", date);
    printf("- Machine: %s, %ld cores online; load average at start %.2f %.2f %.2f (1, 5, "
           "15 min)%s\n",
           cpu, sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2],
           load[0] > 0.5 ? " — other work shared the cores, so times are pessimistic" : "");
    printf("- Model: %s (%.2f MB on disk; %zu parameters; r = %d, d = %d)\n", model,
           mst.st_size / 1e6, params, cfg.r, cfg.d);
    printf("- libtts %s, 1 thread; vocoder (--vocoder %s): %s; median of %d run%s; audio is "
           "%d Hz\n",
           tts_version(), VOCODER, vocdesc, RUNS, RUNS > 1 ? "s" : "", sr);
    printf("- Kernels: %s (the best this CPU has: %s; TTS_SIMD forces a lower one); "
           "synthesis GEMMs: libtts's own (nn_sgemm)\n",
           nn_simd_name(nn_simd_get()), nn_simd_name(nn_simd_detect()));
    printf("- eSpeak NG: %s; Flite: %s\n\n", esv[0] ? esv : "not found",
           flv[0] ? flv : "not found");

    printf("### Whole pipeline (tts_synthesize, audio discarded)\n\n");
    printf("Engine open (model load, eSpeak NG start): %.3f s. RTF = synthesis time / audio "
           "time; first chunk = tts_synthesize() called -> first callback.\n\n",
           t_open);
    printf("| text | words | sentences | audio s | libtts s | RTF | first chunk s | espeak-ng s "
           "| flite s | libtts / espeak-ng | libtts / flite | cold: (open + libtts) / espeak-ng "
           "| cold / flite |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int t = 0; t < 3; t++) {
        double lt = median(pt[t], RUNS), fc = median(pfirst[t], RUNS);
        double es = oth[t][0].ok ? median(oth[t][0].t, oth[t][0].n) : -1;
        double fl = oth[t][1].ok ? median(oth[t][1].t, oth[t][1].n) : -1;
        char ses[32], sfl[32], r1[32], r2[32], r3[32], r4[32];
        fmt_secs(ses, sizeof ses, &oth[t][0]);
        fmt_secs(sfl, sizeof sfl, &oth[t][1]);
        fmt_ratio(r1, sizeof r1, lt, es);
        fmt_ratio(r2, sizeof r2, lt, fl);
        fmt_ratio(r3, sizeof r3, lt + t_open, es);
        fmt_ratio(r4, sizeof r4, lt + t_open, fl);
        printf("| %s | %d | %d | %.2f | %.3f | %.3f | %.3f | %s | %s | %s | %s | %s | %s |\n",
               TEXTS[t].name, count_words(TEXTS[t].text), sres[t].n_sentences, paudio[t], lt,
               lt / paudio[t], fc, ses, sfl, r1, r2, r3, r4);
    }
    printf("\nThe other engines, per text: wall time of the process (start, voice load, "
           "synthesis, WAV write) and the audio it wrote.\n\n");
    printf("| text | espeak-ng audio s | espeak-ng RTF | flite audio s | flite RTF |\n");
    printf("|---|--:|--:|--:|--:|\n");
    for (int t = 0; t < 3; t++) {
        char c[2][2][32];
        for (int k = 0; k < 2; k++) {
            const other_result *r = &oth[t][k];
            if (r->ok && r->audio_s > 0) {
                snprintf(c[k][0], 32, "%.2f", r->audio_s);
                snprintf(c[k][1], 32, "%.4f", median(r->t, r->n) / r->audio_s);
            } else {
                snprintf(c[k][0], 32, "n/a");
                snprintf(c[k][1], 32, "n/a");
            }
        }
        printf("| %s | %s | %s | %s | %s |\n", TEXTS[t].name, c[0][0], c[0][1], c[1][0],
               c[1][1]);
    }

    printf("\n### Stages (internal APIs, same texts, sentence by sentence)\n\n");
    printf("RTF of each stage = its time / the pipeline's audio time (so they add up to about "
           "the pipeline's RTF); share = of the three stages' sum.\n\n");
    printf("| text | ids | mel frames | frontend s | RTF | share | acoustic s | RTF | share "
           "| vocoder s | RTF | share | sum RTF |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int t = 0; t < 3; t++) {
        double fe = median(sres[t].fe, RUNS), am = median(sres[t].am, RUNS),
               vo = median(sres[t].voc, RUNS), sum = fe + am + vo, a = paudio[t];
        printf("| %s | %d | %d | %.4f | %.4f | %.1f%% | %.3f | %.3f | %.1f%% | %.3f | %.3f "
               "| %.1f%% | %.3f |\n",
               TEXTS[t].name, sres[t].n_ids, sres[t].n_frames, fe, fe / a, 100 * fe / sum, am,
               am / a, 100 * am / sum, vo, vo / a, 100 * vo / sum, sum / a);
    }

    printf("\n### Memory\n\n");
    printf("| model file | RSS after engine open | peak RSS (getrusage) after the pipeline "
           "runs |\n");
    printf("|--:|--:|--:|\n");
    printf("| %.2f MB | %.1f MB | %.1f MB |\n", mst.st_size / 1e6, rss_open, rss_peak);

    printf("\n### Scaling (each size in a fresh process)\n\n");
    printf("Text: the long text's words, repeated. Time = tts_synthesize() alone (engine "
           "open and a one-word warm-up excluded); peak RSS by getrusage in the child; "
           "\"ready\" = peak after open and warm-up; longest sentence = seconds of speech of "
           "the longest sentence (%s).\n\n",
           neural ? "the engine holds one whole sentence's mel frames at a time; the neural "
                    "vocoder streams them"
                  : "the vocoder holds one whole sentence at a time");
    printf("| words | audio s | longest sentence s | time s | RTF | ms / word | k (time ~ "
           "words^k, from the previous size) | peak RSS ready MB | peak RSS MB | growth MB |\n");
    printf("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    int ok_idx[4], n_ok = 0;
    for (int i = 0; i < n_sizes; i++) {
        scale_result *r = &sc[i];
        if (!r->ok) {
            printf("| %d | failed | | | | | | | | |\n", sizes[i]);
            continue;
        }
        char k[32] = "";
        if (n_ok > 0) {
            scale_result *p = &sc[ok_idx[n_ok - 1]];
            snprintf(k, sizeof k, "%.2f", log(r->time / p->time) / log((double)r->words / p->words));
        }
        printf("| %d | %.1f | %.1f | %.2f | %.3f | %.1f | %s | %.1f | %.1f | %+.1f |\n",
               r->words, r->audio, r->longest, r->time, r->time / r->audio,
               1e3 * r->time / r->words, k, r->peak_ready, r->peak, r->peak - r->peak_ready);
        ok_idx[n_ok++] = i;
    }
    printf("\n");
    if (n_ok >= 2) {
        /* time: from the second size up (10 words carry the per-call overhead) */
        scale_result *lo = &sc[ok_idx[n_ok > 2 ? 1 : 0]], *hi = &sc[ok_idx[n_ok - 1]];
        double kk = log(hi->time / lo->time) / log((double)hi->words / lo->words);
        printf("- Time, %d -> %d words: k = %.2f, RTF %.3f -> %.3f: %s.\n", lo->words,
               hi->words, kk, lo->time / lo->audio, hi->time / hi->audio,
               kk > 0.85 && kk < 1.15 ? "linear" : "NOT linear (k outside 0.85 .. 1.15)");
        /* memory: between the two largest sizes; growth from the smallest is printed too */
        scale_result *a0 = &sc[ok_idx[0]], *p = &sc[ok_idx[n_ok - 2]];
        double g = hi->peak - p->peak, g0 = hi->peak - a0->peak;
        printf("- Peak RSS, %d -> %d words: %.1f -> %.1f MB (%+.1f MB); %d -> %d words: "
               "%+.1f MB (%+.0f%%), longest sentence %.1f -> %.1f s. ",
               p->words, hi->words, p->peak, hi->peak, g, a0->words, hi->words, g0,
               100 * g0 / a0->peak, a0->longest, hi->longest);
        if (fabs(g) < 0.1 * p->peak)
            printf("Flat in the text's length (within 10%% between the two largest sizes)");
        else if (hi->longest > 1.2 * p->longest)
            printf("Grows between the two largest sizes, but so does the longest sentence: "
                   "bounded by the longest sentence, not visibly by the text's length%s",
                   full ? "" : " (--full adds 10,000 words, which settles it)");
        else
            printf("NOT flat: grows with the text's length");
        printf(".\n");
    }
    if (!full)
        printf("- 10,000 words: not run (pass --full).\n");
    return 0;
}
