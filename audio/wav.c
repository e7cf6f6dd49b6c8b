/* Audio files through libsndfile; raw s16le output. */
#include "audio/wav.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Longest input accepted: 2^31 mono samples (37 hours at 16 kHz). */
#define TTS_WAV_MAX_SAMPLES ((size_t)1 << 31)

/* ------------------------------------------------------------------ reading ---- */

int tts_wav_read(const char *path, int target_rate, float **pcm, size_t *n,
                 tts_wav_info *info, tts_err *err)
{
    if (!path || !pcm || !n)
        return tts_seterr(err, TTS_E_INVALID, "read audio: NULL argument");
    *pcm = NULL;
    *n = 0;
    if (target_rate < 0 || target_rate > 768000)
        return tts_seterr(err, TTS_E_INVALID, "read audio '%s': bad target sample rate %d Hz",
                          path, target_rate);

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tts_seterr(err, TTS_E_IO, "cannot open audio file '%s': %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return tts_seterr(err, TTS_E_IO, "cannot read audio file '%s': it is a directory",
                          path);
    }
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = sf_open_fd(fd, SFM_READ, &si, SF_TRUE);
    if (!sf) {
        int e = sf_error(NULL);
        char why[256];
        snprintf(why, sizeof why, "%s", sf_strerror(NULL));
        if (e != SF_ERR_SYSTEM && st.st_size == 0)
            snprintf(why, sizeof why, "the file is empty");
        /* libsndfile does not close the descriptor when the open fails. */
        close(fd);
        return tts_seterr(err, e == SF_ERR_SYSTEM ? TTS_E_IO : TTS_E_FORMAT,
                          "'%s' is not a readable audio file: %s", path, why);
    }
    if (si.channels < 1 || si.channels > 1024 || si.samplerate < 1 ||
        si.samplerate > 768000) {
        sf_close(sf);
        return tts_seterr(err, TTS_E_FORMAT,
                          "audio file '%s' has an unusable layout (%d channels, %d Hz)", path,
                          si.channels, si.samplerate);
    }
    if (info) {
        info->sample_rate = si.samplerate;
        info->channels = si.channels;
        info->frames = (long long)si.frames;
    }

    /* Read in blocks until the end rather than trusting the header's frame count (a
     * truncated file has fewer). */
    int ch = si.channels;
    size_t blk = 4096, cap = 0, len = 0;
    if (si.frames > 0 && (uint64_t)si.frames <= TTS_WAV_MAX_SAMPLES)
        cap = (size_t)si.frames;
    if (cap < 1)
        cap = 1;
    float *mono = malloc(cap * sizeof *mono);
    float *buf = malloc(blk * (size_t)ch * sizeof *buf);
    if (!mono || !buf) {
        free(mono);
        free(buf);
        sf_close(sf);
        return tts_seterr(err, TTS_E_NOMEM, "read audio '%s': out of memory", path);
    }
    int rc = TTS_OK;
    for (;;) {
        sf_count_t got = sf_readf_float(sf, buf, (sf_count_t)blk);
        if (got <= 0)
            break;
        if (len + (size_t)got > TTS_WAV_MAX_SAMPLES) {
            rc = tts_seterr(err, TTS_E_FORMAT,
                            "audio file '%s' is too long (more than %zu samples)", path,
                            TTS_WAV_MAX_SAMPLES);
            break;
        }
        if (len + (size_t)got > cap) {
            size_t nc = cap * 2 > len + (size_t)got ? cap * 2 : len + (size_t)got;
            float *t = realloc(mono, nc * sizeof *mono);
            if (!t) {
                rc = tts_seterr(err, TTS_E_NOMEM, "read audio '%s': out of memory", path);
                break;
            }
            mono = t;
            cap = nc;
        }
        if (ch == 1) {
            memcpy(mono + len, buf, (size_t)got * sizeof *mono);
        } else {
            float inv = 1.0f / (float)ch;
            for (sf_count_t i = 0; i < got; i++) {
                float acc = 0.0f;
                for (int c = 0; c < ch; c++)
                    acc += buf[(size_t)i * ch + c];
                mono[len + (size_t)i] = acc * inv;
            }
        }
        len += (size_t)got;
    }
    if (rc == TTS_OK && sf_error(sf) != SF_ERR_NO_ERROR)
        rc = tts_seterr(err, sf_error(sf) == SF_ERR_SYSTEM ? TTS_E_IO : TTS_E_FORMAT,
                        "error reading audio file '%s': %s", path, sf_strerror(sf));
    free(buf);
    sf_close(sf);
    if (rc) {
        free(mono);
        return rc;
    }

    if (target_rate > 0 && target_rate != si.samplerate) {
        float *rs;
        size_t nrs;
        rc = tts_resample(mono, len, si.samplerate, target_rate, &rs, &nrs, err);
        free(mono);
        if (rc)
            return rc;
        mono = rs;
        len = nrs;
    }
    *pcm = mono;
    *n = len;
    return TTS_OK;
}

/* ------------------------------------------------------- sample conversion ---- */


/* ------------------------------------------------------------------ writing ---- */

/* The path a write to path goes to: path itself, or, when path is a symbolic link, the
 * file at the end of its chain of links (followed by hand, so that a link to a file not
 * yet made leads to that file, as a link to an existing one does). malloc'd; NULL when
 * out of memory. */
static char *link_target(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
        return strdup(path);
    if (stat(path, &st) == 0) { /* it leads somewhere: there (a pipe's /proc link: itself) */
        char *r = realpath(path, NULL);
        return r ? r : strdup(path);
    }
    char *p = strdup(path); /* a link to what is not there yet */
    for (int depth = 0; p && depth < 40 && lstat(p, &st) == 0 && S_ISLNK(st.st_mode); depth++) {
        char t[4096];
        ssize_t n = readlink(p, t, sizeof t - 1);
        if (n <= 0)
            break;
        t[n] = 0;
        char *next;
        if (t[0] == '/') {
            next = strdup(t);
        } else { /* relative to the link's folder */
            const char *slash = strrchr(p, '/');
            size_t dl = slash ? (size_t)(slash - p) + 1 : 0;
            next = malloc(dl + (size_t)n + 1);
            if (next) {
                memcpy(next, p, dl);
                memcpy(next + dl, t, (size_t)n + 1);
            }
        }
        free(p);
        p = next;
    }
    return p;
}

/* The formats a file may have: by name (tts --format) or by the path's extension
 * (case-insensitive). */
static const struct {
    const char *ext, *key, *name;
    int format;
} formats[] = {
    {".wav", "wav", "WAV", SF_FORMAT_WAV | SF_FORMAT_PCM_16},
    {NULL, "wav-float", "WAV (32-bit float)", SF_FORMAT_WAV | SF_FORMAT_FLOAT},
    {".flac", "flac", "FLAC", SF_FORMAT_FLAC | SF_FORMAT_PCM_16},
    {".ogg", "ogg", "Ogg Vorbis", SF_FORMAT_OGG | SF_FORMAT_VORBIS},
    {".oga", NULL, "Ogg Vorbis", SF_FORMAT_OGG | SF_FORMAT_VORBIS},
    {".opus", "opus", "Opus", SF_FORMAT_OGG | SF_FORMAT_OPUS},
    {".mp3", "mp3", "MP3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III},
};

/* The format named key, or (key NULL) that of path's extension, anything else WAV 16-bit;
 * -1 for an unknown key. */
static int format_for(const char *path, const char *key, const char **name)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        size_t e = formats[i].ext ? strlen(formats[i].ext) : 0;
        if (key ? formats[i].key && !strcmp(key, formats[i].key)
                : e && n > e && !strcasecmp(path + n - e, formats[i].ext)) {
            *name = formats[i].name;
            return formats[i].format;
        }
    }
    *name = "WAV";
    return key ? -1 : SF_FORMAT_WAV | SF_FORMAT_PCM_16;
}

/* An unnamed file in path's folder (O_TMPFILE), or -1 where the file system or kernel
 * has none or /proc (to name it later) is not there. */
static int open_anonymous(const char *path)
{
#ifdef O_TMPFILE
    if (access("/proc/self/fd", X_OK) != 0)
        return -1;
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
#else
    (void)path;
    return -1;
#endif
}

struct tts_wav_writer {
    SNDFILE *sf;     /* libsndfile on a seekable file, or NULL for a stream */
    int fd;
    char *path;      /* final path */
    char *tmp;       /* temporary path, or NULL when writing directly (or, with anon,
                      * until the file gets its name when it is finished) */
    int anon;        /* fd is an unnamed file in the target's folder (O_TMPFILE): a run
                      * killed by any signal leaves nothing behind */
    int status;      /* first failure, or TTS_OK */
    char msg[512];
    size_t samples;
    short buf[4096];
};

static int writer_fail(tts_wav_writer *w, tts_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int writer_fail(tts_wav_writer *w, tts_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg, sizeof w->msg, fmt, ap);
    va_end(ap);
    w->status = code;
    return tts_seterr(err, code, "%s", w->msg);
}

/* Writes all of buf to fd, retrying partial writes and EINTR, with SIGPIPE blocked in
 * this thread (a pending SIGPIPE raised by the write is consumed). Returns 0 or an
 * errno value. */
static int write_all(int fd, const void *buf, size_t len)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    int was_pending = 0;
    if (sigpending(&pending) == 0)
        was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    const char *p = buf;
    int e = 0;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            e = errno;
            break;
        }
        if (k == 0) {
            e = EIO;
            break;
        }
        p += k;
        len -= (size_t)k;
    }
    if (e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return e;
}

static void put_le16(unsigned char *b, unsigned v)
{
    b[0] = (unsigned char)(v & 0xff);
    b[1] = (unsigned char)((v >> 8) & 0xff);
}

static void put_le32(unsigned char *b, uint32_t v)
{
    put_le16(b, v & 0xffff);
    put_le16(b + 2, v >> 16);
}

static void samples_to_le(const float *pcm, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++)
        put_le16(out + 2 * i, (unsigned)(uint16_t)tts_s16(pcm[i]));
}

/* A 44-byte WAV header for a stream whose length is unknown (sizes 0xFFFFFFFF, as sox
 * and ffmpeg write to pipes). */
void tts_wav_stream_header(unsigned char h[44], int rate)
{
    memcpy(h, "RIFF", 4);
    put_le32(h + 4, 0xFFFFFFFFu);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le32(h + 16, 16);
    put_le16(h + 20, 1); /* PCM */
    put_le16(h + 22, 1); /* mono */
    put_le32(h + 24, (uint32_t)rate);
    put_le32(h + 28, (uint32_t)rate * 2);
    put_le16(h + 32, 2);
    put_le16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    put_le32(h + 40, 0xFFFFFFFFu);
}

static void writer_free(tts_wav_writer *w)
{
    free(w->path);
    free(w->tmp);
    free(w);
}

/* The file is open (w->fd): the header of the format, through libsndfile where the output
 * seeks, else (a pipe: WAV only) a streaming WAV header of our own. *out = w, or w freed. */
static int writer_start(tts_wav_writer **out, tts_wav_writer *w, int format,
                        const char *fmt_name, int sample_rate, const char *path, tts_err *err)
{
    int pipe_out = lseek(w->fd, 0, SEEK_CUR) < 0 && errno == ESPIPE;
    if (pipe_out && format != (SF_FORMAT_WAV | SF_FORMAT_PCM_16)) {
        close(w->fd);
        writer_free(w);
        return tts_seterr(err, TTS_E_INVALID, "cannot write %s to '%s': a pipe takes WAV only",
                          fmt_name, path);
    }
    if (pipe_out) {
        /* A pipe: libsndfile cannot write WAV there (no seek to patch the sizes), so
         * write a streaming header ourselves; samples follow as raw s16le. */
        unsigned char h[44];
        tts_wav_stream_header(h, sample_rate);
        int e = write_all(w->fd, h, sizeof h);
        if (e) {
            close(w->fd);
            writer_free(w);
            return tts_seterr(err, TTS_E_IO, "cannot write WAV stream '%s': %s", path,
                              e == EPIPE ? "output pipe closed" : strerror(e));
        }
    } else {
        SF_INFO si;
        memset(&si, 0, sizeof si);
        si.samplerate = sample_rate;
        si.channels = 1;
        si.format = format;
        w->sf = sf_open_fd(w->fd, SFM_WRITE, &si, SF_FALSE);
        if (!w->sf) {
            int e = sf_error(NULL);
            char why[256];
            snprintf(why, sizeof why, "%s", sf_strerror(NULL));
            close(w->fd);
            if (w->tmp && w->tmp[0])
                unlink(w->tmp);
            writer_free(w);
            return tts_seterr(err, e == SF_ERR_SYSTEM ? TTS_E_IO : TTS_E_FORMAT,
                              "cannot write WAV file '%s': %s", path, why);
        }
    }
    *out = w;
    return TTS_OK;
}


int tts_wav_writer_open(tts_wav_writer **out, const char *path, int sample_rate,
                        tts_err *err)
{
    return tts_wav_writer_open_as(out, path, NULL, sample_rate, err);
}

int tts_wav_writer_open_as(tts_wav_writer **out, const char *path, const char *format_name,
                           int sample_rate, tts_err *err)
{
    if (!out)
        return tts_seterr(err, TTS_E_INVALID, "WAV writer: NULL output pointer");
    *out = NULL;
    if (!path || !*path)
        return tts_seterr(err, TTS_E_INVALID, "WAV writer: empty output path");
    if (sample_rate < 1 || sample_rate > 768000)
        return tts_seterr(err, TTS_E_INVALID, "WAV writer '%s': bad sample rate %d Hz", path,
                          sample_rate);
    tts_wav_writer *w = calloc(1, sizeof *w);
    if (!w)
        return tts_seterr(err, TTS_E_NOMEM, "WAV writer: out of memory");
    w->fd = -1;

    /* One rule for symbolic links: the file written is the one the link points to (made
     * when it does not exist yet); the link stays. */
    struct stat st;
    w->path = link_target(path);
    const char *fmt_name = "WAV"; /* by the name the caller gave, not a link's target's */
    int format = format_for(path, format_name, &fmt_name);
    if (format < 0) {
        writer_free(w);
        return tts_seterr(err, TTS_E_INVALID, "unknown audio format '%s' (wav, wav-float, "
                          "flac, ogg, opus, mp3)", format_name);
    }
    SF_INFO check = {.samplerate = sample_rate, .channels = 1, .format = format};
    if (!sf_format_check(&check)) {
        writer_free(w);
        return tts_seterr(err, TTS_E_INVALID, "cannot write %s to '%s': this libsndfile has no "
                          "%s encoder (use .wav)", fmt_name, path, fmt_name);
    }
    if (!w->path) {
        writer_free(w);
        return tts_seterr(err, TTS_E_NOMEM, "WAV writer: out of memory");
    }

    if (stat(w->path, &st) != 0 && errno == ELOOP) { /* a loop of links */
        writer_free(w);
        return tts_seterr(err, TTS_E_IO, "cannot write WAV file '%s': %s", path, strerror(ELOOP));
    }
    int exists = stat(w->path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        writer_free(w);
        return tts_seterr(err, TTS_E_IO, "cannot write WAV file '%s': it is a directory", path);
    }
    if (exists && !S_ISREG(st.st_mode)) {
        /* A device or FIFO: write in place, never remove. */
        if (S_ISFIFO(st.st_mode) && format != (SF_FORMAT_WAV | SF_FORMAT_PCM_16)) {
            writer_free(w);
            return tts_seterr(err, TTS_E_INVALID, "cannot write %s to '%s': a pipe takes WAV "
                              "only", fmt_name, path);
        }
        w->fd = open(w->path, O_WRONLY | O_CLOEXEC);
        if (w->fd < 0) {
            int e = errno;
            writer_free(w);
            return tts_seterr(err, TTS_E_IO, "cannot write WAV file '%s': %s", path,
                              strerror(e));
        }
    } else {
        if (exists && access(w->path, W_OK) != 0) {
            int e = errno;
            writer_free(w);
            return tts_seterr(err, TTS_E_IO, "cannot write WAV file '%s': %s", path,
                              strerror(e));
        }
        static atomic_uint counter;
        size_t tl = strlen(w->path) + 64;
        w->tmp = malloc(tl);
        if (!w->tmp) {
            writer_free(w);
            return tts_seterr(err, TTS_E_NOMEM, "WAV writer: out of memory");
        }
        w->fd = open_anonymous(w->path);
        if (w->fd >= 0) { /* named when finished (writer_finish) */
            w->anon = 1;
            w->tmp[0] = 0;
        }
        for (int attempt = 0; attempt < 100 && !w->anon; attempt++) {
            snprintf(w->tmp, tl, "%s.tmp-%ld-%u", w->path, (long)getpid(),
                     atomic_fetch_add(&counter, 1u));
            w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (w->fd >= 0 || errno != EEXIST)
                break;
        }
        if (w->fd < 0) {
            int e = errno;
            writer_free(w);
            return tts_seterr(err, TTS_E_IO, "cannot create WAV file '%s': %s", path,
                              strerror(e));
        }
    }

    return writer_start(out, w, format, fmt_name, sample_rate, path, err);
}

int tts_wav_writer_open_fd(tts_wav_writer **out, int fd, const char *name, int sample_rate,
                           tts_err *err)
{
    if (!out)
        return tts_seterr(err, TTS_E_INVALID, "WAV writer: NULL output pointer");
    *out = NULL;
    if (sample_rate < 1 || sample_rate > 768000)
        return tts_seterr(err, TTS_E_INVALID, "WAV writer '%s': bad sample rate %d Hz", name,
                          sample_rate);
    tts_wav_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(name))) {
        free(w);
        return tts_seterr(err, TTS_E_NOMEM, "WAV writer: out of memory");
    }
    /* a copy of the descriptor: closing the writer leaves the caller's open */
    if ((w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        int e = errno;
        writer_free(w);
        return tts_seterr(err, TTS_E_IO, "cannot write WAV to %s: %s", name, strerror(e));
    }
    return writer_start(out, w, SF_FORMAT_WAV | SF_FORMAT_PCM_16, "WAV", sample_rate, name, err);
}

int tts_wav_writer_write(tts_wav_writer *w, const float *pcm, size_t n, tts_err *err)
{
    if (!w || (n > 0 && !pcm))
        return tts_seterr(err, TTS_E_INVALID, "WAV writer: NULL argument");
    if (w->status)
        return tts_seterr(err, w->status, "%s", w->msg);
    const size_t blk = sizeof w->buf / sizeof w->buf[0];
    while (n > 0) {
        size_t k = n < blk ? n : blk;
        if (w->sf) {
            for (size_t i = 0; i < k; i++)
                w->buf[i] = tts_s16(pcm[i]);
            sf_count_t got = sf_writef_short(w->sf, w->buf, (sf_count_t)k);
            if (got != (sf_count_t)k) {
                int e = sf_error(w->sf);
                return writer_fail(w, err, e == SF_ERR_SYSTEM || e == 0 ? TTS_E_IO : TTS_E_FORMAT,
                                   "cannot write WAV file '%s': %s", w->path,
                                   sf_strerror(w->sf));
            }
        } else {
            samples_to_le(pcm, k, (unsigned char *)w->buf);
            int e = write_all(w->fd, w->buf, k * 2);
            if (e)
                return writer_fail(w, err, TTS_E_IO, "cannot write WAV stream '%s': %s",
                                   w->path, e == EPIPE ? "output pipe closed" : strerror(e));
        }
        w->samples += k;
        pcm += k;
        n -= k;
    }
    return TTS_OK;
}

size_t tts_wav_writer_samples(const tts_wav_writer *w) { return w ? w->samples : 0; }

/* The unnamed file gets a temporary name beside the target (then renamed over it), through
 * /proc/self/fd as linkat(2) allows without privileges. */
static int name_anonymous(tts_wav_writer *w, tts_err *err)
{
    static atomic_uint counter;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", w->fd);
    size_t tl = strlen(w->path) + 64;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(w->tmp, tl, "%s.tmp-%ld-a%u", w->path, (long)getpid(),
                 atomic_fetch_add(&counter, 1u));
        if (linkat(AT_FDCWD, proc, AT_FDCWD, w->tmp, AT_SYMLINK_FOLLOW) == 0)
            return TTS_OK;
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    w->tmp[0] = 0;
    return tts_seterr(err, TTS_E_IO, "cannot finish WAV file '%s': %s", w->path, strerror(e));
}

/* Closes everything; on failure (or abort) removes the temporary. */
static int writer_finish(tts_wav_writer *w, int commit, tts_err *err)
{
    int rc = w->status;
    if (rc)
        tts_seterr(err, rc, "%s", w->msg);
    if (w->sf) {
        int e = sf_close(w->sf); /* patches the header sizes */
        w->sf = NULL;
        if (e && !rc && commit)
            rc = tts_seterr(err, TTS_E_IO, "cannot finish WAV file '%s': %s", w->path,
                            sf_error_number(e));
    }
    if (w->anon && !rc && commit)
        rc = name_anonymous(w, err);
    if (w->fd >= 0) {
        if (close(w->fd) != 0 && !rc && commit)
            rc = tts_seterr(err, TTS_E_IO, "cannot finish WAV file '%s': %s", w->path,
                            strerror(errno));
        w->fd = -1;
    }
    if (w->tmp && w->tmp[0]) {
        if (!rc && commit) {
            if (rename(w->tmp, w->path) != 0) {
                rc = tts_seterr(err, TTS_E_IO, "cannot move WAV file into place at '%s': %s",
                                w->path, strerror(errno));
                unlink(w->tmp);
            }
        } else {
            unlink(w->tmp);
        }
    }
    writer_free(w);
    return commit ? rc : TTS_OK;
}

int tts_wav_writer_close(tts_wav_writer *w, tts_err *err)
{
    if (!w)
        return TTS_OK;
    return writer_finish(w, 1, err);
}

void tts_wav_writer_abort(tts_wav_writer *w)
{
    if (w)
        writer_finish(w, 0, NULL);
}

int tts_wav_write(const char *path, const float *pcm, size_t n, int sample_rate, tts_err *err)
{
    tts_wav_writer *w;
    int rc = tts_wav_writer_open(&w, path, sample_rate, err);
    if (rc)
        return rc;
    rc = tts_wav_writer_write(w, pcm, n, err);
    if (rc) {
        tts_wav_writer_close(w, NULL);
        return rc;
    }
    return tts_wav_writer_close(w, err);
}

/* ---------------------------------------------------------------- raw out ---- */

int tts_raw_write_s16le(int fd, const float *pcm, size_t n, tts_err *err)
{
    if (fd < 0 || (n > 0 && !pcm))
        return tts_seterr(err, TTS_E_INVALID, "raw output: bad argument");
    unsigned char buf[8192];
    const size_t blk = sizeof buf / 2;
    while (n > 0) {
        size_t k = n < blk ? n : blk;
        samples_to_le(pcm, k, buf);
        int e = write_all(fd, buf, k * 2);
        if (e == EPIPE)
            return tts_seterr(err, TTS_E_IO, "raw output: output pipe closed (EPIPE)");
        if (e)
            return tts_seterr(err, TTS_E_IO, "raw output: write failed: %s", strerror(e));
        pcm += k;
        n -= k;
    }
    return TTS_OK;
}
