/*
 * tts-server — libtts speech over HTTP (an OpenAI-style /v1/audio/speech) and the Wyoming
 * protocol (Home Assistant), from a pool of engines.
 *
 * Exit status: 0 after a signal-initiated shutdown; 1 a port cannot be bound or a server
 * cannot start; 2 bad usage; 3 the voice cannot be loaded.
 *
 * Shutdown (SIGTERM or SIGINT): stop accepting connections, give the requests in progress
 * --grace seconds to finish, cancel what is left, send what has been made, close the
 * engines, exit 0. A second signal during that ends the process at once (by that signal).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "net.h"
#include "pipe.h"
#include "pool.h"
#include "tts.h"
#include "wyoming.h"

#ifndef TTS_VERSION_STRING
#define TTS_VERSION_STRING "?"
#endif

enum { EXIT_START = 1, EXIT_USAGE = 2, EXIT_VOICE = 3 };

static void usage(FILE *f)
{
    fprintf(f,
        "usage: tts-server [OPTIONS]\n"
        "Serve libtts speech over HTTP (POST /v1/audio/speech, GET /v1/voices, GET /health)\n"
        "and the Wyoming protocol (Home Assistant).\n"
        "\n"
        "Listening:\n"
        "      --host ADDR         address to listen on (default 127.0.0.1; 0.0.0.0 or ::\n"
        "                          for every interface)\n"
        "      --port N            HTTP port (default 5002; 0: a free port, see below)\n"
        "      --wyoming-port N    Wyoming port (default 10200; 0: a free port; 'off': no\n"
        "                          Wyoming server)\n"
        "      --max-connections N open connections at most, per protocol (default 64)\n"
        "\n"
        "Voice and engines:\n"
        "      --voice FILE        voice model file (default: the shipped voice)\n"
        "      --workers N         engines, each in its own worker thread (default 2)\n"
        "      --threads N         threads per engine (default 1; 2 runs the acoustic model\n"
        "                          ahead of the vocoder, see tts --threads)\n"
        "      --queue N           requests that may wait for a free engine (default 16);\n"
        "                          more are refused at once (HTTP 503)\n"
        "\n"
        "Limits:\n"
        "      --max-chars N       characters of text per request (default 4096); the\n"
        "                          request body may be 12 x N + 64 KiB bytes\n"
        "      --timeout S         seconds a request may take from its arrival to its last\n"
        "                          sample, waiting for an engine included (default 60)\n"
        "      --stream-buffer N   bytes of audio held ahead of a slow client (default\n"
        "                          4194304); when full, that request's synthesis waits\n"
        "      --grace S           on SIGTERM or SIGINT, seconds the requests in progress\n"
        "                          may take to finish before they are cancelled (default 3)\n"
        "\n"
        "Other:\n"
        "      --quiet             no line per request on stderr\n"
        "  -h, --help              this help\n"
        "      --version           print the version\n"
        "\n"
        "When it is ready it prints one line to stdout:\n"
        "  tts-server ready: http_port=N wyoming_port=M   (M is 0 with --wyoming-port off)\n"
        "Messages go to stderr.\n"
        "\n"
        "Exit status: 0 after SIGTERM or SIGINT, 1 a port cannot be bound, 2 bad usage,\n"
        "3 the voice cannot be loaded.\n");
}

/* ---- messages ---------------------------------------------------------------------------- */

static void log_stderr(void *user, const char *msg)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ tts-server: %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            msg);
}

/* ---- signals ----------------------------------------------------------------------------
 * A handler that writes the signal's number into a pipe which main reads: the process has
 * threads it did not start (a library may start its own with every signal unblocked),
 * so a signal may arrive in any thread, and masks cannot steer it. */

static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t sig_seen;

static void on_signal(int sig)
{
    if (sig_seen) {
        /* the second: end now, by the signal */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    sig_seen = 1;
    int e = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t k = write(sig_pipe[1], &b, 1);
    (void)k;
    errno = e;
}

/* ---- options ----------------------------------------------------------------------------- */

static int parse_int(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "tts-server: %s '%s' is not a whole number from %ld to %ld\n", opt, s,
                lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_seconds(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "tts-server: %s '%s' is not a number of seconds from %g to %g\n", opt,
                s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}


int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *voice_path = NULL;
    long port = 5002, wy_port = 10200, workers = 2, threads = 1, queue = 16, max_chars = 4096;
    long max_conn = 64, stream_buffer = 4L << 20;
    double timeout = 60, grace = 3;
    int quiet = 0;
    enum { O_HOST = 256, O_PORT, O_WYPORT, O_MAXCONN, O_VOICE, O_WORKERS, O_THREADS, O_QUEUE,
           O_MAXCHARS, O_TIMEOUT, O_BUFFER, O_GRACE, O_QUIET, O_VERSION };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"wyoming-port", required_argument, NULL, O_WYPORT},
        {"max-connections", required_argument, NULL, O_MAXCONN},
        {"voice", required_argument, NULL, O_VOICE},
        {"workers", required_argument, NULL, O_WORKERS},
        {"threads", required_argument, NULL, O_THREADS},
        {"queue", required_argument, NULL, O_QUEUE},
        {"max-chars", required_argument, NULL, O_MAXCHARS},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"stream-buffer", required_argument, NULL, O_BUFFER},
        {"grace", required_argument, NULL, O_GRACE},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0}};
    int c, bad = 0;
    opterr = 0;
    while (!bad && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_HOST: host = optarg; break;
        case O_PORT: bad = parse_int("--port", optarg, 0, 65535, &port); break;
        case O_WYPORT:
            if (!strcasecmp(optarg, "off"))
                wy_port = -1;
            else
                bad = parse_int("--wyoming-port", optarg, 0, 65535, &wy_port);
            break;
        case O_MAXCONN: bad = parse_int("--max-connections", optarg, 1, 10000, &max_conn); break;
        case O_VOICE: voice_path = optarg; break;
        case O_WORKERS: bad = parse_int("--workers", optarg, 1, 256, &workers); break;
        case O_THREADS: bad = parse_int("--threads", optarg, 1, 64, &threads); break;
        case O_QUEUE: bad = parse_int("--queue", optarg, 0, 100000, &queue); break;
        case O_MAXCHARS: bad = parse_int("--max-chars", optarg, 1, 1 << 20, &max_chars); break;
        case O_TIMEOUT: bad = parse_seconds("--timeout", optarg, 0.01, 86400, &timeout); break;
        case O_BUFFER:
            bad = parse_int("--stream-buffer", optarg, 4096, 1L << 30, &stream_buffer);
            break;
        case O_GRACE: bad = parse_seconds("--grace", optarg, 0, 3600, &grace); break;
        case O_QUIET: quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case O_VERSION: printf("tts-server %s (libtts %s)\n", TTS_VERSION_STRING, tts_version());
            return 0;
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "tts-server: unrecognized option '-%c'\n", optopt);
            else if (optopt)
                fprintf(stderr, "tts-server: option '%s' needs a value\n", argv[optind - 1]);
            else
                fprintf(stderr, "tts-server: unrecognized option '%s'\n", argv[optind - 1]);
            bad = 1;
        }
    }
    if (!bad && optind < argc) {
        fprintf(stderr, "tts-server: unexpected argument '%s'\n", argv[optind]);
        bad = 1;
    }
    if (!bad && wy_port >= 0 && wy_port == port && port != 0) {
        fprintf(stderr, "tts-server: --port and --wyoming-port are both %ld\n", port);
        bad = 1;
    }
    if (bad) {
        fprintf(stderr, "see tts-server --help\n");
        return EXIT_USAGE;
    }

    /* SIGTERM and SIGINT start the shutdown; a closed client socket must not kill */
    if (pipe2(sig_pipe, O_CLOEXEC)) {
        fprintf(stderr, "tts-server: pipe: %s\n", strerror(errno));
        return EXIT_START;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    srv_logger log = {quiet ? NULL : log_stderr, NULL}, errlog = {log_stderr, NULL};
    char err[1024], name[256];

    tts_options o = tts_default_options();
    o.model_path = voice_path;
    o.threads = (int)threads;
    srv_pool *pool;
    int rc = srv_pool_open(&pool, &o, (int)workers, (int)queue, err, sizeof err);
    if (rc != TTS_OK) {
        fprintf(stderr, "tts-server: cannot load the voice: %s\n", err);
        return rc == TTS_E_NO_MODEL || rc == TTS_E_FORMAT || rc == TTS_E_IO ||
                       rc == TTS_E_INVALID
                   ? EXIT_VOICE
                   : EXIT_START;
    }
    /* the voice's name as its file states it (else the file's name) */
    snprintf(name, sizeof name, "%s", srv_pool_voice(pool, "name"));

    int http_port = 0, wyoming_port = 0;
    int http_fd = srv_listen(host, (int)port, &http_port, err, sizeof err);
    int wy_fd = -1;
    if (http_fd >= 0 && wy_port >= 0 &&
        (wy_fd = srv_listen(host, (int)wy_port, &wyoming_port, err, sizeof err)) < 0) {
        close(http_fd);
        http_fd = -1;
    }
    if (http_fd < 0) {
        fprintf(stderr, "tts-server: %s\n", err);
        srv_pool_free(pool);
        return EXIT_START;
    }

    srv_http_config hc = {
        .pool = pool,
        .voice = name,
        .max_chars = (int)max_chars,
        .max_body = (size_t)max_chars * 12 + 64 * 1024,
        .timeout = timeout,
        .stream_buffer = (size_t)stream_buffer,
        .max_connections = (int)max_conn,
        .access_log = !quiet,
        .log = errlog,
    };
    srv_http *http = NULL;
    srv_wyoming *wy = NULL;
    if (srv_http_start(&http, &hc, http_fd, err, sizeof err)) {
        fprintf(stderr, "tts-server: %s\n", err);
        if (wy_fd >= 0)
            close(wy_fd);
        srv_pool_free(pool);
        return EXIT_START;
    }
    char description[512];
    const char *speaker = srv_pool_voice(pool, "speaker");
    snprintf(description, sizeof description, "libtts voice %s: %s (%s, %d Hz)", name,
             speaker[0] ? speaker : voice_path ? voice_path : "the shipped voice",
             srv_pool_voice(pool, "language")[0] ? srv_pool_voice(pool, "language") : "English",
             srv_pool_sample_rate(pool));
    srv_wyoming_config wc = {
        .pool = pool,
        .voice = name,
        .voice_description = description,
        .attribution_name = voice_path ? "libtts"
                                       : "Kathleen corpus (CC0), voice trained by libtts",
        .attribution_url = voice_path ? ""
                                      : "https://github.com/rhasspy/dataset-voice-kathleen",
        .version = TTS_VERSION_STRING,
        .max_chars = (int)max_chars,
        .timeout = timeout,
        .stream_buffer = (size_t)stream_buffer,
        .max_connections = (int)max_conn,
        .access_log = !quiet,
        .log = errlog,
    };
    if (wy_fd >= 0 && srv_wyoming_start(&wy, &wc, wy_fd, err, sizeof err)) {
        fprintf(stderr, "tts-server: %s\n", err);
        srv_http_stop(http, 0);
        srv_pool_free(pool);
        return EXIT_START;
    }
    char wy_s[64] = "";
    if (wy)
        snprintf(wy_s, sizeof wy_s, ", Wyoming on port %d", wyoming_port);
    srv_logf(&log, "voice \"%s\" (%d Hz), %ld engines, queue %ld; HTTP on %s port %d%s", name,
             srv_pool_sample_rate(pool), workers, queue, host, http_port, wy_s);
    printf("tts-server ready: http_port=%d wyoming_port=%d\n", http_port, wy ? wyoming_port : 0);
    fflush(stdout);

    unsigned char sig = 0;
    for (;;) {
        ssize_t k = read(sig_pipe[0], &sig, 1);
        if (k == 1 || k == 0 || (k < 0 && errno != EINTR))
            break;
    }
    srv_logf(&errlog, "%s: shutting down (%.3g s for the requests in progress)",
             sig == SIGTERM ? "SIGTERM" : "SIGINT", grace);

    srv_http_quiesce(http);
    srv_wyoming_quiesce(wy);
    srv_pool_shutdown(pool, grace);
    /* the engines are done; what they made may still be on its way to the clients */
    double deadline = srv_now() + 2;
    srv_http_stop(http, deadline);
    srv_wyoming_stop(wy, deadline);
    srv_pool_free(pool);
    srv_logf(&errlog, "stopped");
    return 0;
}
