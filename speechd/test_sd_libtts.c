/*
 * test_sd_libtts SD_LIBTTS MAKE_TINY_VOICE: drives the Speech Dispatcher module over its
 * stdin/stdout exactly as the server does, with a tiny random-weight voice, and checks
 * every reply and event. No sound card: the audio goes to the "server" (this test) in 705
 * blocks, or into the module's null sink. Nothing here depends on how fast the machine is:
 * STOP and PAUSE are sent while the module is held back by the pipe this test has not yet
 * read (the long texts make far more audio than a pipe holds); a read that waits 60 s
 * for a line is a hang and fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/check.h"

#define WAIT_MS 60000

static const char *module_path, *tiny_voice_tool;
static char dir[256];

/* ---- one module process ---------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    int in, out;         /* its stdin (we write), its stdout (we read) */
    char log[300];       /* its stderr */
    char buf[1 << 16];
    size_t beg, end;
    int dead;            /* end of its output, or a read timed out */
} module;

static int spawn(module *m, const char *config, const char *name)
{
    int to[2], from[2];
    memset(m, 0, sizeof *m);
    snprintf(m->log, sizeof m->log, "%s/%s.log", dir, name);
    if (pipe(to) || pipe(from))
        return -1;
    m->pid = fork();
    if (m->pid < 0)
        return -1;
    if (m->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        int fd = open(m->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
            dup2(fd, 2);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        execl(module_path, module_path, config, (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    m->in = to[1];
    m->out = from[0];
    return 0;
}

static void send_str(module *m, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t k = write(m->in, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            CHECK(0, "cannot write to the module: %s", strerror(errno));
            return;
        }
        s += k;
        n -= (size_t)k;
    }
}

/* The next line of the module's output, without its LF, in line[cap] (it may hold NUL
 * bytes: *len is its length); -1 at the end of the output or after WAIT_MS. */
static int read_line(module *m, char *line, size_t cap, size_t *len)
{
    if (m->dead)
        return -1;
    for (;;) {
        char *nl = memchr(m->buf + m->beg, '\n', m->end - m->beg);
        if (nl) {
            size_t n = (size_t)(nl - (m->buf + m->beg));
            if (n >= cap) {
                CHECK(0, "a line of %zu bytes, longer than %zu", n, cap);
                m->dead = 1;
                return -1;
            }
            memcpy(line, m->buf + m->beg, n);
            line[n] = 0;
            *len = n;
            m->beg += n + 1;
            return 0;
        }
        if (m->beg > 0) {
            memmove(m->buf, m->buf + m->beg, m->end - m->beg);
            m->end -= m->beg;
            m->beg = 0;
        }
        if (m->end == sizeof m->buf) {
            CHECK(0, "a line longer than %zu bytes", sizeof m->buf);
            m->dead = 1;
            return -1;
        }
        struct pollfd p = {m->out, POLLIN, 0};
        int r = poll(&p, 1, WAIT_MS);
        if (r == 0) {
            CHECK(0, "no output from the module for %d s", WAIT_MS / 1000);
            m->dead = 1;
            return -1;
        }
        if (r < 0 && errno == EINTR)
            continue;
        ssize_t k = read(m->out, m->buf + m->end, sizeof m->buf - m->end);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            m->dead = 1;
            return -1;
        }
        m->end += (size_t)k;
    }
}

/* reads a line and checks that it is want */
static void expect(module *m, const char *want)
{
    char line[4096];
    size_t n;
    if (read_line(m, line, sizeof line, &n)) {
        CHECK(0, "expected '%s', got the end of the output", want);
        return;
    }
    CHECK(!strcmp(line, want), "expected '%s', got '%s'", want, line);
}

/* waits for the module to exit; its exit status (-1 when it did not exit in time) */
static int reap(module *m)
{
    close(m->in);
    for (int i = 0; i < WAIT_MS / 10; i++) {
        int st;
        pid_t r = waitpid(m->pid, &st, WNOHANG);
        if (r == m->pid) {
            close(m->out);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(10000);
    }
    kill(m->pid, SIGKILL);
    waitpid(m->pid, NULL, 0);
    close(m->out);
    return -1;
}

static int log_has(const module *m, const char *s)
{
    FILE *f = fopen(m->log, "r");
    if (!f)
        return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, s) != NULL;
    fclose(f);
    return found;
}

static void show_log(const module *m)
{
    FILE *f = fopen(m->log, "r");
    if (!f)
        return;
    printf("---- %s\n", m->log);
    char line[2048];
    while (fgets(line, sizeof line, f))
        fputs(line, stdout);
    printf("----\n");
    fclose(f);
}

/* ---- replies and events ---------------------------------------------------------------- */

typedef struct {
    char name[256];
    size_t pos; /* samples of audio received before it */
} mark;

/* what came for one message, up to its last event */
typedef struct {
    int begin;          /* 701 BEGIN came first */
    int last;           /* 702, 703 or 704 (0: none, the output ended) */
    int16_t *pcm;       /* the 705 blocks' audio */
    size_t n, cap;
    int rate, bad_audio;
    mark marks[256];
    size_t n_marks;
    char icon[512];     /* a 706's name */
    int order_ok;       /* 701 before everything, nothing after the last event */
} speech;

/* Reads one 705 block after its first line (705-bits=...). */
static void read_audio(module *m, const char *first, speech *s)
{
    static char line[1 << 16];
    size_t len;
    int bits = 0, channels = 0, rate = 0, big = -1;
    long samples = -1;
    strcpy(line, first);
    len = strlen(first);
    for (;;) {
        if (!strncmp(line, "705-bits=", 9))
            bits = atoi(line + 9);
        else if (!strncmp(line, "705-num_channels=", 17))
            channels = atoi(line + 17);
        else if (!strncmp(line, "705-sample_rate=", 16))
            rate = atoi(line + 16);
        else if (!strncmp(line, "705-num_samples=", 16))
            samples = atol(line + 16);
        else if (!strncmp(line, "705-big_endian=", 15))
            big = atoi(line + 15);
        else if (len >= 10 && !memcmp(line, "705-AUDIO", 10)) /* with its NUL */
            break;
        else {
            CHECK(0, "unknown line in an audio block: '%s'", line);
            s->bad_audio = 1;
            return;
        }
        if (read_line(m, line, sizeof line, &len)) {
            s->bad_audio = 1;
            return;
        }
    }
    CHECK(bits == 16 && channels == 1 && rate > 0 && samples >= 0 && big == 0,
          "audio block: bits %d, channels %d, rate %d, samples %ld, big_endian %d", bits,
          channels, rate, samples, big);
    /* the data: HDLC-escaped, 0x7D and the byte with bit 5 flipped */
    size_t want = (size_t)samples * 2, got = 0;
    uint8_t *raw = malloc(want + 1);
    for (size_t i = 10; i < len && got <= want; i++) {
        uint8_t b = (uint8_t)line[i];
        if (b == 0x7D && i + 1 < len)
            b = (uint8_t)line[++i] ^ 0x20;
        if (got < want)
            raw[got] = b;
        got++;
    }
    CHECK(got == want, "audio block of %ld samples holds %zu bytes", samples, got);
    if (s->rate && rate != s->rate)
        CHECK(0, "the sample rate changed from %d to %d", s->rate, rate);
    s->rate = rate;
    if (s->n + (size_t)samples > s->cap) {
        s->cap = (s->n + (size_t)samples) * 2;
        s->pcm = realloc(s->pcm, s->cap * sizeof *s->pcm);
    }
    for (long i = 0; i < samples && got == want; i++)
        s->pcm[s->n++] = (int16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
    free(raw);
    expect(m, "705 AUDIO");
}

/* Reads the events of a message after 200 OK SPEAKING, up to its last event. until (if
 * not NULL) is called after each event: non-zero stops reading there (the caller then
 * goes on with read_events(.., NULL)). */
static void read_events(module *m, speech *s, int (*until)(module *, speech *))
{
    static char line[1 << 16];
    size_t len;
    while (!s->last && !read_line(m, line, sizeof line, &len)) {
        int first = !s->begin && !s->n && !s->n_marks;
        if (!strcmp(line, "701 BEGIN")) {
            CHECK(first, "701 BEGIN after other events");
            s->begin = 1;
        } else if (!strncmp(line, "705-", 4)) {
            read_audio(m, line, s);
        } else if (!strncmp(line, "700-", 4)) {
            if (s->n_marks < 256) {
                snprintf(s->marks[s->n_marks].name, sizeof s->marks[0].name, "%.255s",
                         line + 4);
                s->marks[s->n_marks++].pos = s->n;
            }
            expect(m, "700 INDEX MARK");
        } else if (!strncmp(line, "706-", 4)) {
            snprintf(s->icon, sizeof s->icon, "%.511s", line + 4);
            expect(m, "706 ICON");
        } else if (!strcmp(line, "702 END") || !strcmp(line, "703 STOP") ||
                   !strcmp(line, "704 PAUSE")) {
            s->last = atoi(line);
        } else {
            CHECK(0, "unexpected line while speaking: '%s'", line);
            return;
        }
        if (!s->begin)
            CHECK(0, "'%.40s' before 701 BEGIN", line);
        if (until && until(m, s))
            return;
    }
    CHECK(s->last, "the message did not end (no 702, 703 or 704)");
}

static void speech_free(speech *s) { free(s->pcm); }

/* sends a command with its text (the server's escaping: a line's leading '.' doubled), up
 * to 200 OK SPEAKING */
static void send_message(module *m, const char *cmd, const char *text)
{
    char *buf = malloc(2 * strlen(text) + 64), *o = buf;
    o += sprintf(o, "%s\n", cmd);
    int bol = 1;
    for (const char *p = text; *p; p++) {
        if (bol && *p == '.')
            *o++ = '.';
        *o++ = *p;
        bol = *p == '\n';
    }
    strcpy(o, "\n.\n");
    send_str(m, cmd); /* the command is answered before the text is sent */
    send_str(m, "\n");
    expect(m, "202 OK RECEIVING MESSAGE");
    send_str(m, buf + strlen(cmd) + 1);
    free(buf);
}

/* a whole message: sent, 200 OK SPEAKING, its events */
static void speak(module *m, const char *cmd, const char *text, speech *s)
{
    memset(s, 0, sizeof *s);
    send_message(m, cmd, text);
    expect(m, "200 OK SPEAKING");
    read_events(m, s, NULL);
}

static void set(module *m, const char *params)
{
    send_str(m, "SET\n");
    expect(m, "203 OK RECEIVING SETTINGS");
    send_str(m, params);
    send_str(m, ".\n");
    expect(m, "203 OK SETTINGS RECEIVED");
}

/* the settings block as Speech Dispatcher 0.11 sends it before each message */
static void set_all(module *m, int rate, int pitch, int volume)
{
    char p[512];
    snprintf(p, sizeof p,
             "pitch=%d\npitch_range=0\nrate=%d\nvolume=%d\npunctuation_mode=none\n"
             "spelling_mode=off\ncap_let_recogn=none\nvoice=male1\nlanguage=en\n"
             "synthesis_voice=NULL\n",
             pitch, rate, volume);
    set(m, p);
}

static void init(module *m)
{
    char line[4096];
    size_t n;
    send_str(m, "INIT\n");
    int ok = 0;
    while (!read_line(m, line, sizeof line, &n)) {
        if (!strncmp(line, "299-", 4))
            continue;
        ok = !strcmp(line, "299 OK LOADED SUCCESSFULLY");
        CHECK(ok, "INIT: '%s'", line);
        break;
    }
    CHECK(ok, "INIT answered 299 OK LOADED SUCCESSFULLY");
}

static void audio(module *m, const char *method, int accept)
{
    char p[128];
    send_str(m, "AUDIO\n");
    expect(m, "207 OK RECEIVING AUDIO SETTINGS");
    snprintf(p, sizeof p, "audio_output_method=%s\n.\n", method);
    send_str(m, p);
    if (accept) {
        expect(m, "203 OK AUDIO INITIALIZED");
        return;
    }
    char line[4096];
    size_t n;
    if (!read_line(m, line, sizeof line, &n))
        CHECK(!strncmp(line, "300-", 4), "AUDIO %s refused with 300-..., got '%s'", method, line);
    expect(m, "300 MODULE ERROR");
}

static void quit(module *m)
{
    send_str(m, "QUIT\n");
    expect(m, "210 OK QUIT");
    int st = reap(m);
    CHECK(st == 0, "the module exits 0 after QUIT, got %d", st);
}

static int max_abs(const speech *s)
{
    int mx = 0;
    for (size_t i = 0; i < s->n; i++)
        mx = abs(s->pcm[i]) > mx ? abs(s->pcm[i]) : mx;
    return mx;
}

static const mark *find_mark(const speech *s, const char *name)
{
    for (size_t i = 0; i < s->n_marks; i++)
        if (!strcmp(s->marks[i].name, name))
            return &s->marks[i];
    return NULL;
}

/* a long text: sentences, each followed by a server mark __spd_N */
static char *long_text(int sentences)
{
    char *t = malloc((size_t)sentences * 96 + 32), *o = t;
    o += sprintf(o, "<speak>");
    for (int i = 0; i < sentences; i++)
        o += sprintf(o, "This is sentence number %d of a long text.<mark name=\"__spd_%d\"/> ",
                     i + 1, i + 1);
    sprintf(o, "</speak>");
    return t;
}

/* read_events' until: the first audio block */
static int first_audio(module *m, speech *s)
{
    (void)m;
    return s->n > 0;
}

static int began(module *m, speech *s)
{
    (void)m;
    return s->begin;
}

static void write_config(const char *path, const char *extra)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "# test configuration\nLibttsModel \"%s/tiny.ltm\"\n%s", dir, extra);
    fclose(f);
}

/* ---- the sessions ---------------------------------------------------------------------- */

/* server audio: everything the server does with a module */
static void test_server_audio(void)
{
    char conf[300];
    snprintf(conf, sizeof conf, "%s/server.conf", dir);
    write_config(conf, "LibttsThreads 1\n");
    module m;
    if (spawn(&m, conf, "server")) {
        CHECK(0, "cannot start %s", module_path);
        return;
    }
    int f0 = failures;
    init(&m);
    audio(&m, "server", 1);
    send_str(&m, "LOGLEVEL\n");
    expect(&m, "207 OK RECEIVING LOGLEVEL SETTINGS");
    send_str(&m, "log_level=4\n.\n");
    expect(&m, "203 OK LOGLEVEL SET");
    send_str(&m, "LIST VOICES\n");
    expect(&m, "200-tiny\ten\tnone");
    expect(&m, "200 OK VOICE LIST SENT");

    /* a text with the server's mark and a client's: the marks in order, at the audio */
    speech a, b;
    set_all(&m, 0, 0, 100);
    /* (a line of the text begins with '.': the server doubles it, the module undoes that) */
    speak(&m, "SPEAK",
          "<speak>Hello there.<mark name=\"__spd_1\"/> How are\n.you?<mark name=\"m2\"/>"
          "</speak>", &a);
    CHECK(a.begin && a.last == 702, "SPEAK: 701 BEGIN ... 702 END (last %d)", a.last);
    CHECK(a.n > 1000 && a.rate == 16000, "SPEAK: %zu samples at %d Hz", a.n, a.rate);
    CHECK(a.n_marks == 2, "SPEAK: 2 marks, got %zu", a.n_marks);
    const mark *m1 = find_mark(&a, "__spd_1"), *m2 = find_mark(&a, "m2");
    CHECK(m1 && m2 && m1 < m2, "SPEAK: marks __spd_1 then m2");
    if (m1 && m2)
        CHECK(m1->pos > 0 && m1->pos < m2->pos && m2->pos <= a.n,
              "SPEAK: mark positions 0 < %zu < %zu <= %zu", m1->pos, m2->pos, a.n);
    if (log_has(&m, "refused the text"))
        printf("NOTE: the engine refused <mark>: the marks came from the module's fallback "
               "(the text between marks spoken one piece at a time)\n");
    speech_free(&a);

    /* rate, volume and pitch: the same text at rate 0, 100; volume 0, -100; pitch 100 */
    const char *hello = "<speak>Hello there.</speak>";
    speak(&m, "SPEAK", hello, &a);
    set_all(&m, 100, 0, 100);
    speak(&m, "SPEAK", hello, &b);
    CHECK(b.last == 702 && b.n > 0 && b.n < a.n * 3 / 4,
          "rate 100: %zu samples, against %zu at rate 0", b.n, a.n);
    speech_free(&b);
    set_all(&m, 0, 0, 0);
    speak(&m, "SPEAK", hello, &b);
    int ma = max_abs(&a), mb = max_abs(&b);
    CHECK(b.n == a.n && ma > 100 && abs(2 * mb - ma) <= 2,
          "volume 0: peak %d, half of %d at volume 100 (%zu, %zu samples)", mb, ma, b.n, a.n);
    speech_free(&b);
    set_all(&m, 0, 0, -100);
    speak(&m, "SPEAK", hello, &b);
    CHECK(b.n == a.n && max_abs(&b) == 0, "volume -100: silence (peak %d)", max_abs(&b));
    speech_free(&b);
    set_all(&m, 0, 100, 100);
    speak(&m, "SPEAK", hello, &b);
    CHECK(b.last == 702 && b.n > 0 && (b.n != a.n || memcmp(b.pcm, a.pcm, 2 * a.n)),
          "pitch 100: other audio than pitch 0");
    speech_free(&b);
    set_all(&m, 0, 0, 100); /* back to the first engine: the same audio again */
    speak(&m, "SPEAK", hello, &b);
    CHECK(b.n == a.n && !memcmp(b.pcm, a.pcm, 2 * a.n), "rate 0 again: the same audio");
    speech_free(&b);
    speech_free(&a);

    /* CHAR, KEY, SOUND_ICON (no such icon file: its name said) */
    speak(&m, "CHAR", "a", &a);
    CHECK(a.begin && a.last == 702 && a.n > 0, "CHAR a: %zu samples, last %d", a.n, a.last);
    speech_free(&a);
    speak(&m, "KEY", "shift_a", &a);
    CHECK(a.begin && a.last == 702 && a.n > 0, "KEY shift_a: %zu samples", a.n);
    speech_free(&a);
    speak(&m, "SOUND_ICON", "no-such-icon", &a);
    CHECK(a.begin && a.last == 702 && a.n > 0 && !a.icon[0], "SOUND_ICON: %zu samples", a.n);
    speech_free(&a);
    send_message(&m, "CHAR", "a\nb");
    expect(&m, "305 DATA MORE THAN ONE LINE");
    send_message(&m, "SPEAK", "");
    expect(&m, "301 ERROR CANT SPEAK");

    /* SSML the engine refuses: spoken again as its text, its marks kept */
    speak(&m, "SPEAK", "<speak>Hi <b>there.<mark name=\"__spd_2\"/> Bye.</speak>", &a);
    CHECK(a.last == 702 && a.n > 0 && a.n_marks == 1 && find_mark(&a, "__spd_2"),
          "malformed SSML: spoken (%zu samples), its mark reported (%zu)", a.n, a.n_marks);
    CHECK(log_has(&m, "refused the text"), "malformed SSML: the fallback is logged");
    speech_free(&a);
    /* plain text (not SSML) with "[[": read as text, not as phoneme input */
    speak(&m, "SPEAK", "if [[ a < b ]]; then", &a);
    CHECK(a.last == 702 && a.n > 0, "plain text with [[: spoken, %zu samples", a.n);
    speech_free(&a);

    /* STOP while a long text is spoken: 703 STOP, not 702 END; then the next message */
    char *text = long_text(40);
    memset(&a, 0, sizeof a);
    send_message(&m, "SPEAK", text);
    expect(&m, "200 OK SPEAKING");
    read_events(&m, &a, first_audio);
    CHECK(!a.last, "STOP: the long text is not over before STOP");
    send_str(&m, "STOP\n");
    read_events(&m, &a, NULL);
    CHECK(a.last == 703, "STOP: 703 STOP, got %d", a.last);
    CHECK(a.n_marks < 40, "STOP: %zu of 40 marks", a.n_marks);
    speech_free(&a);
    speak(&m, "SPEAK", hello, &a);
    CHECK(a.begin && a.last == 702 && a.n > 0, "after STOP: the next message is spoken");
    speech_free(&a);

    /* PAUSE: speaking goes on to the next __spd_ mark, reports it, then 704 PAUSE */
    memset(&a, 0, sizeof a);
    send_message(&m, "SPEAK", text);
    expect(&m, "200 OK SPEAKING");
    read_events(&m, &a, first_audio);
    send_str(&m, "PAUSE\n");
    read_events(&m, &a, NULL);
    CHECK(a.last == 704, "PAUSE: 704 PAUSE, got %d", a.last);
    CHECK(a.n_marks >= 1 && a.n_marks < 40 && !strncmp(a.marks[a.n_marks - 1].name, "__spd_", 6),
          "PAUSE: stopped right after a __spd_ mark (%zu marks)", a.n_marks);
    for (size_t i = 0; i < a.n_marks; i++) {
        char want[32];
        snprintf(want, sizeof want, "__spd_%zu", i + 1);
        CHECK(!strcmp(a.marks[i].name, want), "PAUSE: mark %zu is %s, want %s", i,
              a.marks[i].name, want);
    }
    if (a.n_marks)
        CHECK(a.marks[a.n_marks - 1].pos == a.n, "PAUSE: no audio after the pause mark");
    speech_free(&a);
    free(text);

    /* STOP and PAUSE with nothing spoken: no reply, no event */
    send_str(&m, "STOP\nPAUSE\nLIST VOICES\n");
    expect(&m, "200-tiny\ten\tnone");
    expect(&m, "200 OK VOICE LIST SENT");
    send_str(&m, "BOGUS\n");
    expect(&m, "300 ERR UNKNOWN COMMAND");
    send_str(&m, "DEBUG OFF\n");
    expect(&m, "200 OK DEBUGGING OFF");
    quit(&m);
    if (failures != f0)
        show_log(&m);
}

/* the module plays the audio itself, into its null sink (the server's AUDIO refused), and
 * speaks the text between marks one piece at a time; two threads */
static void test_null_sink_split(void)
{
    char conf[300];
    snprintf(conf, sizeof conf, "%s/null.conf", dir);
    write_config(conf, "LibttsAudioOutput \"null\"\nLibttsSplitAtMarks 1\nLibttsThreads 2\n"
                       "LibttsVoiceName \"kathleen\"  # the name listed\n");
    module m;
    if (spawn(&m, conf, "null")) {
        CHECK(0, "cannot start %s", module_path);
        return;
    }
    int f0 = failures;
    init(&m);
    audio(&m, "server", 0);
    audio(&m, "pulse", 1);
    send_str(&m, "LIST VOICES\n");
    expect(&m, "200-kathleen\ten\tnone");
    expect(&m, "200 OK VOICE LIST SENT");
    set_all(&m, 100, 0, 100);
    speech a;
    speak(&m, "SPEAK", "<speak>Hi.<mark name=\"__spd_1\"/> Go.<mark name=\"m2\"/></speak>", &a);
    CHECK(a.begin && a.last == 702 && a.n == 0, "null sink: 701 ... 702, no audio blocks");
    CHECK(a.n_marks == 2 && !strcmp(a.marks[0].name, "__spd_1") &&
              !strcmp(a.marks[1].name, "m2"), "null sink: marks __spd_1, m2 (%zu)", a.n_marks);
    speech_free(&a);

    char *text = long_text(20);
    memset(&a, 0, sizeof a);
    send_message(&m, "SPEAK", text);
    expect(&m, "200 OK SPEAKING");
    read_events(&m, &a, began);
    send_str(&m, "STOP\n");
    read_events(&m, &a, NULL);
    CHECK(a.last == 703 && a.n_marks < 20, "null sink: STOP gives 703 STOP (last %d, %zu marks)",
          a.last, a.n_marks);
    speech_free(&a);
    free(text);
    quit(&m);
    if (failures != f0)
        show_log(&m);
}

/* INIT fails (399 with the reason, exit 1) on a bad configuration or a missing voice */
static void test_init_failures(void)
{
    static const struct {
        const char *conf, *reason;
    } cases[] = {
        {"LibttsThreads x\n", "LibttsThreads 'x' is not a whole number"},
        {"LibttsModel \"/nonexistent/voice.ltm\"\n", "cannot open the voice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char conf[300], name[32];
        snprintf(conf, sizeof conf, "%s/bad%zu.conf", dir, i);
        snprintf(name, sizeof name, "bad%zu", i);
        write_config(conf, cases[i].conf);
        module m;
        if (spawn(&m, conf, name)) {
            CHECK(0, "cannot start %s", module_path);
            continue;
        }
        send_str(&m, "INIT\n");
        char line[4096];
        size_t n;
        int got = !read_line(&m, line, sizeof line, &n);
        CHECK(got && !strncmp(line, "399-", 4) && strstr(line, cases[i].reason),
              "bad configuration %zu: '%s'", i, got ? line : "");
        expect(&m, "399 ERR CANT INIT MODULE");
        int st = reap(&m);
        CHECK(st == 1, "bad configuration %zu: exit 1, got %d", i, st);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_sd_libtts SD_LIBTTS MAKE_TINY_VOICE\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    module_path = argv[1];
    tiny_voice_tool = argv[2];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/test_sd_libtts.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tiny.ltm'", tiny_voice_tool, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot write the tiny voice with %s\n", tiny_voice_tool);
        return 1;
    }
    test_server_audio();
    test_null_sink_split();
    test_init_failures();
    printf("%d checks, %d failures\n", checks, failures);
    if (!failures) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            printf("cannot remove %s\n", dir);
    } else {
        printf("kept %s\n", dir);
    }
    return failures != 0;
}
