/*
 * tts — speak text with libtts.
 *
 * Exit status: 0 success; 1 synthesis or output failed; 2 bad usage or input;
 * 3 no voice model installed (or the model file is unusable); 4 no audio device.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/timings.h"
#include "audio/play.h"
#include "audio/resampler.h"
#include "audio/wav.h"
#include "dsp/vocode.h"
#include "frontend/frontend.h"
#include "frontend/ssml.h"
#include "tts.h"

enum { EXIT_SYNTH = 1, EXIT_USAGE = 2, EXIT_MODEL = 3, EXIT_AUDIO = 4 };
#define MAX_INPUT (16u << 20) /* bytes of text read from a file or stdin at once */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: tts [OPTIONS] [TEXT...]\n"
        "Speak English text with the libtts neural voice.\n"
        "\n"
        "Input (one of):\n"
        "  TEXT...               the words to speak (joined with spaces); a lone '-'\n"
        "                        reads stdin line by line, as with no TEXT\n"
        "  -f, --file FILE       read the text from FILE ('-' = stdin)\n"
        "  (none)                read stdin, speaking each line as it arrives\n"
        "      --ssml            the text is SSML (also assumed when it begins with <speak\n"
        "                        or <?xml); stdin is then read whole, not line by line\n"
        "  [[...]] in the text is phoneme input, spoken as given: the IPA that --phonemes\n"
        "  prints, e.g. \"[[t\xC9\x99m\xCB\x88\x65\xC9\xAAto\xCA\x8A]]\"\n"
        "\n"
        "Output (one of):\n"
        "  -o, --output FILE     write a 16 kHz mono audio file: WAV (16-bit), or by its\n"
        "                        extension FLAC (.flac), Ogg Vorbis (.ogg), Opus (.opus)\n"
        "                        or MP3 (.mp3); '-' writes a WAV stream to stdout\n"
        "      --raw             write raw s16le mono PCM to stdout (no header)\n"
        "      --format NAME     with -o: wav, wav-float (32-bit float samples), flac, ogg,\n"
        "                        opus or mp3, whatever the file's extension\n"
        "      --sample-rate HZ  the output at this rate (8000 .. 192000; e.g. 22050,\n"
        "                        48000), converted with libsoxr; default the voice's\n"
        "      --play            play on the default audio device, streaming\n"
        "                        (TTS_PLAY_NULL=1 in the environment: play into a null\n"
        "                        device that consumes samples in real time, no sound)\n"
        "      --device NAME     with --play: that output device (a part of its name\n"
        "                        will do)\n"
        "      --list-devices    list the audio output devices\n"
        "\n"
        "Voice:\n"
        "  -v, --voice NAME      a voice by name (see --list-voices)\n"
        "  -m, --model FILE      voice model file (default: the shipped voice)\n"
        "      --list-voices     list the voices installed, with where they are\n"
        "      --vocoder NAME    default (the voice's neural vocoder if it has one, else\n"
        "                        griffinlim) | wavenet | griffinlim\n"
        "      --rate R          speaking rate, 0.5 .. 2 (default 1)\n"
        "      --volume V        gain, 0 .. 4 (default 1)\n"
        "      --pitch ST        semitones higher (or lower, negative), -12 .. 12 (default\n"
        "                        0; a voice with a pitch predictor)\n"
        "      --silence S       seconds of silence after each sentence (default 0.2)\n"
        "      --threads N       threads (default 1); with 2 or more and the neural vocoder\n"
        "                        the acoustic model runs ahead in a second thread\n"
        "      --lexicon FILE    your pronunciations, used before eSpeak NG: UTF-8 lines\n"
        "                        'word<TAB or spaces>phonemes' (phonemes as in [[...]]),\n"
        "                        '#' comments; words match in any case\n"
        "\n"
        "Other:\n"
        "      --phonemes        print each sentence's phonemes and ids, no audio\n"
        "      --json-input      many files in one run: each line of stdin a JSON object\n"
        "                        {\"text\": ..., \"output\": FILE} with \"voice\", \"rate\",\n"
        "                        \"volume\", \"pitch\" if wanted; progress on a terminal\n"
        "      --timings FILE    write when each sentence, word, phoneme and <mark> is\n"
        "                        heard, in seconds of the audio, by FILE's extension:\n"
        "                        .json (all), .srt or .vtt (a subtitle per sentence)\n"
        "      --stats           with --play or --raw: print to stderr the first-audio\n"
        "                        latency (text in -> first sample out), the buffer\n"
        "                        underruns (--play), the audio and the wall time\n"
        "      --vocode IN.wav   analyse IN.wav to log-mel and resynthesize it with\n"
        "                        Griffin-Lim into -o FILE (checks the audio path)\n"
        "  -h, --help            this help\n"
        "      --version         print the version\n"
        "\n"
        "Exit status: 0 success, 1 synthesis or output failed, 2 bad usage or input,\n"
        "3 no voice model installed or the model file is unusable, 4 no audio device.\n");
}

static int status_exit(int status)
{
    switch (status) {
    case TTS_OK: return 0;
    case TTS_E_INVALID: return EXIT_USAGE;
    case TTS_E_NO_MODEL: case TTS_E_FORMAT: return EXIT_MODEL;
    case TTS_E_AUDIO: return EXIT_AUDIO;
    default: return EXIT_SYNTH;
    }
}

typedef struct {
    int mode; /* 'o' file, 'r' raw, 'p' play, 'w' WAV to stdout (-o -) */
    tts_player *player;
    tts_wav_writer *wav; /* 'w' */
    tts_err err;
    int failed;
    double t_first; /* --raw: CLOCK_MONOTONIC seconds of the first audio written */
    tts_timings *tm;  /* --timings: the events collected */
    tts_resampler *rs; /* --sample-rate: the output converted on the way out */
    int progress;      /* a progress line on stderr (a terminal, a long text) */
    long sentences;
    double t0;
    int rate;          /* the output's sample rate */
    int in_rate;       /* the voice's */
    const char *format; /* --format: the file's format by name (NULL: by extension) */
    const char *text; /* the text being spoken (the events' spans are in it) */
    uint64_t base, total; /* samples before this text, and in all */
} sink;

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int sink_write(sink *s, const float *pcm, size_t n);

static int on_audio(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    sink *s = user;
    if (s->tm && tts_timings_add(s->tm, s->text, s->base, ev, n_ev)) {
        s->failed = tts_seterr(&s->err, TTS_E_NOMEM, "out of memory");
        return 1;
    }
    s->total += n;
    if (s->progress)
        for (size_t i = 0; i < n_ev; i++)
            if (ev[i].type == TTS_EVENT_SENTENCE_END) {
                double t = mono_now() - s->t0, a = (double)s->total / s->in_rate;
                fprintf(stderr, "\rtts: %ld sentences, %.1f s of audio, %.1f x real time ",
                        ++s->sentences, a, t > 0 ? a / t : 0.0);
            }
    if (s->rs && n && tts_resampler_push(s->rs, pcm, n, &pcm, &n, &s->err)) {
        s->failed = s->err.code;
        return 1;
    }
    return sink_write(s, pcm, n);
}

/* the end of the output: what the resampler holds back */
static int sink_flush(sink *s)
{
    const float *pcm;
    size_t n;
    if (!s->rs)
        return 0;
    if (tts_resampler_push(s->rs, NULL, 0, &pcm, &n, &s->err))
        return s->failed = s->err.code;
    return sink_write(s, pcm, n) ? s->failed : 0;
}

/* n samples at the output's rate to where they go */
static int sink_write(sink *s, const float *pcm, size_t n)
{
    int rc = s->mode == 'r'   ? tts_raw_write_s16le(STDOUT_FILENO, pcm, n, &s->err)
             : s->mode == 'w' ? tts_wav_writer_write(s->wav, pcm, n, &s->err)
                              : tts_player_push(s->player, pcm, n, &s->err);
    if (s->mode == 'r' && n > 0 && s->t_first == 0)
        s->t_first = mono_now();
    if (rc)
        s->failed = rc;
    return rc != 0;
}

/* reads all of f (up to MAX_INPUT bytes) */
static char *read_all(FILE *f, const char *name, int *rc)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            if (cap >= MAX_INPUT) {
                fprintf(stderr, "tts: %s: input longer than %u bytes\n", name, MAX_INPUT);
                free(buf);
                *rc = EXIT_USAGE;
                return NULL;
            }
            cap *= 2;
            char *b = realloc(buf, cap + 1);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    if (!buf) {
        fprintf(stderr, "tts: out of memory\n");
        *rc = EXIT_SYNTH;
        return NULL;
    }
    if (ferror(f)) {
        fprintf(stderr, "tts: cannot read %s: %s\n", name, strerror(errno));
        free(buf);
        *rc = EXIT_USAGE;
        return NULL;
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n)) /* NUL bytes: treat as white space, like other control bytes */
        for (size_t i = 0; i < n; i++)
            if (!buf[i])
                buf[i] = ' ';
    return buf;
}

static int speak(tts_engine *eng, const char *text, const char *out, sink *s)
{
    int rc;
    s->text = text;
    s->base = s->total;
    if (out && (!strcmp(out, "-") || s->tm || s->rs || s->progress || s->format)) {
        /* a WAV stream on standard output, or a file whose events are wanted too or whose
         * audio is converted on the way */
        s->mode = 'w';
        rc = strcmp(out, "-")
                 ? tts_wav_writer_open_as(&s->wav, out, s->format, s->rate, &s->err)
                 : tts_wav_writer_open_fd(&s->wav, STDOUT_FILENO, "standard output", s->rate,
                                          &s->err);
        if (rc) {
            s->failed = rc;
        } else if ((rc = tts_synthesize(eng, text, on_audio, s)) != 0 ||
                   (rc = sink_flush(s)) != 0) {
            tts_wav_writer_abort(s->wav);
        } else if ((rc = tts_wav_writer_close(s->wav, &s->err)) != 0) {
            s->failed = rc;
        }
        s->wav = NULL;
    } else {
        rc = out ? tts_synthesize_to_file(eng, text, out) : tts_synthesize(eng, text, on_audio, s);
    }
    if (rc) {
        const char *msg = s->failed ? s->err.msg : tts_engine_error(eng);
        fprintf(stderr, "tts: %s\n", msg[0] ? msg : tts_status_string(rc));
        return status_exit(s->failed ? s->failed : rc);
    }
    const char *note = tts_engine_error(eng); /* spoken, with a word on what was read leniently */
    if (note[0])
        fprintf(stderr, "tts: note: %s\n", note);
    return 0;
}

/* --phonemes: the sentences of the text (or of the SSML document) with their phonemes,
 * after the lexicon */
static int print_phonemes(tts_frontend *fe, const tts_options *o, const char *text, tts_err *err)
{
    size_t len = strlen(text);
    int rc;
    if (o->lexicon_path) {
        tts_lexicon *lex;
        if ((rc = tts_lexicon_load(&lex, o->lexicon_path, tts_frontend_symbols(fe), err)))
            return rc;
        tts_frontend_set_lexicon(fe, lex);
    }
    if (o->ssml > 0 || (o->ssml == 0 && tts_ssml_detect(text, len))) {
        tts_doc doc;
        rc = tts_ssml_parse(&doc, text, len, tts_frontend_symbols(fe), err);
        if (!rc)
            rc = tts_doc_format(fe, &doc, stdout, err);
        tts_doc_free(&doc);
        return rc;
    }
    return tts_frontend_format(fe, text, len, stdout, err);
}

static void print_device(const char *name, int is_default, int channels, double rate,
                         void *user)
{
    int *n = user;
    printf("%s%s  (%d channel%s, %.0f Hz)\n", name, is_default ? "  [default]" : "", channels,
           channels == 1 ? "" : "s", rate);
    (*n)++;
}

/* --list-devices: the audio outputs --device can name */
static int print_devices(void)
{
    tts_err err;
    int n = 0;
    if (tts_player_devices(print_device, &n, &err)) {
        fprintf(stderr, "tts: %s\n", err.msg);
        return EXIT_AUDIO;
    }
    if (n == 0) {
        fprintf(stderr, "tts: no audio output devices found\n");
        return EXIT_AUDIO;
    }
    return 0;
}

/* --list-voices: name, language, sample rate and file of each voice found, then what
 * its file says of the speaker and the license */
static int print_voices(void)
{
    tts_voice_list *l;
    if (tts_voices_list(&l)) {
        fprintf(stderr, "tts: out of memory\n");
        return EXIT_SYNTH;
    }
    size_t n = tts_voices_count(l);
    if (n == 0)
        fprintf(stderr, "tts: no voices found (see VOICES in man tts for where they are "
                "looked for)\n");
    for (size_t i = 0; i < n; i++) {
        const char *spk = tts_voices_get(l, i, "speaker"), *lic = tts_voices_get(l, i, "license");
        printf("%-16s %-8s %6s Hz  %s\n", tts_voices_get(l, i, "name"),
               tts_voices_get(l, i, "language")[0] ? tts_voices_get(l, i, "language") : "?",
               tts_voices_get(l, i, "sample_rate"), tts_voices_get(l, i, "path"));
        if (spk[0] || lic[0])
            printf("%-16s %s%s%s%s\n", "", spk, spk[0] && lic[0] ? "; " : "",
                   lic[0] ? "license: " : "", lic);
    }
    tts_voices_free(l);
    return n ? 0 : EXIT_MODEL;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"file", required_argument, 0, 'f'},   {"output", required_argument, 0, 'o'},
        {"raw", no_argument, 0, 'r'},          {"play", no_argument, 0, 'p'},
        {"model", required_argument, 0, 'm'},  {"vocoder", required_argument, 0, 'V'},
        {"rate", required_argument, 0, 'R'},   {"volume", required_argument, 0, 'L'},
        {"silence", required_argument, 0, 'S'}, {"phonemes", no_argument, 0, 'P'},
        {"vocode", required_argument, 0, 'C'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'Z'},      {"stats", no_argument, 0, 'T'},
        {"voice", required_argument, 0, 'v'},  {"list-voices", no_argument, 0, 'W'},
        {"ssml", no_argument, 0, 'X'},         {"lexicon", required_argument, 0, 'K'},
        {"threads", required_argument, 0, 'J'}, {"pitch", required_argument, 0, 'H'},
        {"timings", required_argument, 0, 'G'}, {"sample-rate", required_argument, 0, 'Q'},
        {"device", required_argument, 0, 'D'}, {"list-devices", no_argument, 0, 'E'},
        {"json-input", no_argument, 0, 'B'},    {"format", required_argument, 0, 'F'},
        {0, 0, 0, 0}};
    tts_options opts = tts_default_options();
    const char *file = NULL, *out = NULL, *vocode_in = NULL, *timings = NULL, *device = NULL;
    const char *format = NULL;
    int raw = 0, play = 0, phonemes = 0, stats = 0, list_voices = 0, out_rate = 0, batch = 0, c;
    int n_out = 0, n_file = 0, n_voice = 0; /* a flag given twice is a mistake */
    double t_start = mono_now(), t_in = 0; /* t_in: the first text handed to the engine */
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is reported as an error, not a kill */
    while ((c = getopt_long(argc, argv, "f:o:m:v:h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'f': file = optarg; n_file++; break;
        case 'o': out = optarg; n_out++; break;
        case 'r': raw = 1; break;
        case 'p': play = 1; break;
        case 'm': opts.model_path = optarg; n_voice++; break;
        case 'v': opts.voice = optarg; n_voice++; break;
        case 'W': list_voices = 1; break;
        case 'G': timings = optarg; break;
        case 'D': device = optarg; break;
        case 'B': batch = 1; break;
        case 'F': format = optarg; break;
        case 'E': return print_devices();
        case 'Q': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < TTS_RATE_MIN || v > TTS_RATE_MAX) {
                fprintf(stderr, "tts: --sample-rate '%s' is not a rate in Hz from %d to %d\n",
                        optarg, TTS_RATE_MIN, TTS_RATE_MAX);
                return EXIT_USAGE;
            }
            out_rate = (int)v;
            break;
        }
        case 'V': opts.vocoder = optarg; break;
        case 'R': case 'L': case 'S': case 'H': {
            float v = strtof(optarg, &end);
            if (end == optarg || *end) {
                fprintf(stderr, "tts: '%s' is not a number\n", optarg);
                return EXIT_USAGE;
            }
            if (c == 'R') opts.rate = v;
            else if (c == 'L') opts.volume = v;
            else if (c == 'H') opts.pitch = v;
            else opts.sentence_silence = v;
            break;
        }
        case 'P': phonemes = 1; break;
        case 'X': opts.ssml = 1; break;
        case 'K': opts.lexicon_path = optarg; break;
        case 'J': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 64) {
                fprintf(stderr, "tts: --threads '%s' is not a whole number from 1 to 64\n", optarg);
                return EXIT_USAGE;
            }
            opts.threads = (int)v;
            break;
        }
        case 'T': stats = 1; break;
        case 'C': vocode_in = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'Z': printf("tts %s\n", tts_version()); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (raw + play + n_out > 1) {
        fprintf(stderr, "tts: choose one output: -o FILE, --raw or --play (once)\n");
        return EXIT_USAGE;
    }
    if (n_file > 1 || n_voice > 1) {
        fprintf(stderr, "tts: %s given more than once\n",
                n_file > 1 ? "-f" : "the voice (-v NAME or -m FILE)");
        return EXIT_USAGE;
    }
    if (file && optind < argc) {
        fprintf(stderr, "tts: text on the command line and -f %s: give one of them\n", file);
        return EXIT_USAGE;
    }
    if (list_voices)
        return print_voices();
    if (batch) {
        if (optind < argc || file || raw || play || n_out || timings || out_rate || phonemes ||
            format || device || stats) {
            fprintf(stderr, "tts: --json-input reads its lines on stdin, each naming its own "
                    "output: no TEXT, -f, -o, --raw, --play, --timings, --sample-rate, "
                    "--format, --device, --stats\n");
            return EXIT_USAGE;
        }
        return tts_batch_run(stdin, &opts, isatty(STDERR_FILENO));
    }
    if (format && (!out || !strcmp(out, "-"))) {
        fprintf(stderr, "tts: --format is for -o FILE (standard output takes WAV)\n");
        return EXIT_USAGE;
    }
    if (device && !play) {
        fprintf(stderr, "tts: --device is for --play\n");
        return EXIT_USAGE;
    }
    tts_err err = {0};
    if (vocode_in) {
        if (!out || !strcmp(out, "-")) {
            fprintf(stderr, "tts: --vocode needs -o OUT.wav (a file)\n");
            return EXIT_USAGE;
        }
        int rc = tts_vocode_file(vocode_in, out, 0, &err);
        if (rc)
            fprintf(stderr, "tts: %s\n", err.msg);
        return rc ? (rc == TTS_E_IO || rc == TTS_E_FORMAT ? EXIT_USAGE : EXIT_SYNTH) : 0;
    }

    /* the text */
    char *text = NULL;
    int rc = 0, lines = 0;
    if (optind + 1 == argc && !strcmp(argv[optind], "-") && !file) {
        lines = 1; /* a lone '-': stdin, line by line */
    } else if (optind < argc) {
        size_t n = 0;
        for (int i = optind; i < argc; i++)
            n += strlen(argv[i]) + 1;
        text = malloc(n + 1);
        if (!text)
            return EXIT_SYNTH;
        text[0] = '\0';
        for (int i = optind; i < argc; i++) {
            strcat(text, argv[i]);
            if (i + 1 < argc)
                strcat(text, " ");
        }
    } else if (file) {
        FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
        if (!f) {
            fprintf(stderr, "tts: cannot open %s: %s\n", file, strerror(errno));
            return EXIT_USAGE;
        }
        text = read_all(f, file, &rc);
        if (f != stdin)
            fclose(f);
        if (!text)
            return rc;
    } else {
        lines = 1; /* stdin, line by line */
    }

    if (phonemes) {
        tts_frontend *fe;
        if (tts_frontend_open(&fe, NULL, &err)) {
            fprintf(stderr, "tts: %s\n", err.msg);
            return EXIT_SYNTH;
        }
        if (lines) {
            text = read_all(stdin, "stdin", &rc);
            if (!text)
                return rc;
        }
        rc = print_phonemes(fe, &opts, text, &err);
        if (rc)
            fprintf(stderr, "tts: %s\n", err.msg);
        tts_frontend_close(fe);
        free(text);
        return status_exit(rc);
    }
    if (!out && !raw && !play) {
        fprintf(stderr, "tts: no output chosen: use -o FILE.wav, --raw or --play (see --help)\n");
        free(text);
        return EXIT_USAGE;
    }
    if ((raw || (out && !strcmp(out, "-"))) && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "tts: %s writes binary audio; redirect stdout to a file or a pipe\n",
                raw ? "--raw" : "-o -");
        free(text);
        return EXIT_USAGE;
    }

    tts_engine *eng = NULL;
    rc = tts_engine_open(&eng, &opts);
    if (rc) {
        fprintf(stderr, "tts: %s\n", eng ? tts_engine_error(eng) : "out of memory");
        tts_engine_close(eng);
        free(text);
        /* a model file that cannot be read is an unusable model, like a corrupt one */
        return rc == TTS_E_IO ? EXIT_MODEL : status_exit(rc);
    }
    sink s = {.mode = raw ? 'r' : play ? 'p' : 'o', .rate = tts_engine_sample_rate(eng),
              .in_rate = tts_engine_sample_rate(eng), .t0 = mono_now(), .format = format};
    /* a long text into a file or a pipe, watched on a terminal: say how far it is */
    s.progress = !play && isatty(STDERR_FILENO) && text && strlen(text) > 2000;
    if (out_rate && out_rate != s.rate) {
        if (tts_resampler_open(&s.rs, s.rate, out_rate, &err)) {
            fprintf(stderr, "tts: %s\n", err.msg);
            tts_engine_close(eng);
            free(text);
            return EXIT_USAGE;
        }
        s.rate = out_rate;
    }
    if (timings && tts_timings_new(&s.tm, timings, s.in_rate, s.rate, &err)) {
        fprintf(stderr, "tts: %s\n", err.msg);
        tts_engine_close(eng);
        free(text);
        return EXIT_USAGE;
    }
    if (play) {
        tts_player_params pp = {.sample_rate = s.rate, .buffer_seconds = 2.0,
                                .prefill_seconds = 0.15, .device = device};
        const char *null_sink = getenv("TTS_PLAY_NULL");
        if (null_sink && *null_sink && strcmp(null_sink, "0"))
            pp.sink = TTS_PLAYER_SINK_NULL;
        if ((rc = tts_player_open(&s.player, &pp, &s.err))) {
            fprintf(stderr, "tts: %s\n", s.err.msg);
            tts_engine_close(eng);
            free(text);
            return EXIT_AUDIO;
        }
    }
    if (!lines) {
        t_in = mono_now();
        rc = speak(eng, text, out, &s);
    } else if (out || opts.ssml > 0) {
        /* a WAV file, or an SSML document, needs the whole text: read it all, then speak */
        text = read_all(stdin, "stdin", &rc);
        t_in = mono_now();
        rc = text ? speak(eng, text, out, &s) : rc;
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        int spoke = 0;
        while (rc == 0 && (n = getline(&line, &cap, stdin)) >= 0) {
            size_t i = 0;
            while (i < (size_t)n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r'))
                i++;
            if (i == (size_t)n)
                continue; /* blank line */
            for (ssize_t k = 0; k < n; k++)
                if (!line[k])
                    line[k] = ' ';
            if (!spoke)
                t_in = mono_now();
            char *doc = NULL;
            if (!spoke && opts.ssml == 0 && tts_ssml_detect(line, (size_t)n)) {
                /* an SSML document: the rest of stdin belongs to it */
                char *rest = read_all(stdin, "stdin", &rc);
                size_t a = (size_t)n, b = rest ? strlen(rest) : 0;
                doc = rest ? malloc(a + b + 1) : NULL;
                if (!doc) {
                    if (rest)
                        fprintf(stderr, "tts: out of memory\n");
                    rc = rest ? EXIT_SYNTH : rc;
                    free(rest);
                    break;
                }
                memcpy(doc, line, a);
                memcpy(doc + a, rest, b + 1);
                free(rest);
            }
            rc = speak(eng, doc ? doc : line, NULL, &s);
            free(doc);
            /* the line is complete: waiting for the next one is a gap, not an underrun */
            if (rc == 0 && s.player && tts_player_end_utterance(s.player, &s.err)) {
                fprintf(stderr, "tts: %s\n", s.err.msg);
                rc = EXIT_AUDIO;
            }
            spoke = 1;
        }
        free(line);
        if (rc == 0 && !spoke) {
            fprintf(stderr, "tts: no text given (on the command line, with -f, or on stdin)\n");
            rc = EXIT_USAGE;
        }
    }
    if (s.progress && s.sentences)
        fputc('\n', stderr);
    if (rc == 0 && s.mode != 'w' && sink_flush(&s)) { /* --raw, --play: the last samples */
        fprintf(stderr, "tts: %s\n", s.err.msg);
        rc = EXIT_SYNTH;
    }
    if (s.player) {
        tts_err e2;
        if (rc == 0 && tts_player_drain(s.player, &e2)) {
            fprintf(stderr, "tts: %s\n", e2.msg);
            rc = EXIT_AUDIO;
        }
        if (stats) {
            double first = tts_player_first_audio_time(s.player), now = mono_now();
            double audio = (double)tts_player_samples_played(s.player) / s.rate;
            if (first > 0)
                fprintf(stderr, "tts: stats: first audio %.1f ms after the text came in "
                        "(%.1f ms after start)\n", 1e3 * (first - t_in), 1e3 * (first - t_start));
            fprintf(stderr, "tts: stats: %lu underruns (%.3f s of silence inserted), %lu gaps "
                    "between lines, %.2f s of audio played in %.2f s\n",
                    tts_player_underruns(s.player),
                    (double)tts_player_underrun_samples(s.player) / s.rate,
                    tts_player_gaps(s.player), audio, now - t_start);
        }
        tts_player_close(s.player, &e2);
    } else if (stats && raw && s.t_first > 0) {
        fprintf(stderr, "tts: stats: first audio %.1f ms after the text came in "
                "(%.1f ms after start), written in %.2f s\n", 1e3 * (s.t_first - t_in),
                1e3 * (s.t_first - t_start), mono_now() - t_start);
    }
    if (rc == 0 && s.tm && tts_timings_write(s.tm, &err)) {
        fprintf(stderr, "tts: %s\n", err.msg);
        rc = EXIT_SYNTH;
    }
    tts_timings_free(s.tm);
    tts_resampler_close(s.rs);
    tts_engine_close(eng);
    free(text);
    return rc;
}
