/* Model file container: writer, validating reader (mmap or memory), XXH64 checksum.
 * The byte layout is documented at the top of modelfile.h; keep the two in step. */
#include "nn/modelfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nn/modelfile.c supports little-endian hosts only (tensor data is stored as is)"
#endif

/* Header field offsets (see modelfile.h). */
enum {
    H_MAGIC = 0, H_VERSION = 8, H_HSIZE = 12, H_FSIZE = 16, H_NMETA = 24, H_NTENSORS = 28,
    H_META_OFF = 32, H_TABLE_OFF = 40, H_DATA_OFF = 48, H_CHECKSUM = 56
};
#define META_FIXED 12u   /* type, key_len, value_len */
#define TENSOR_FIXED 64u /* name_len, dtype, ndim, reserved, shape[4], offset, nbytes */
#define META_MIN 16u     /* smallest possible metadata entry, padded */
#define TENSOR_MIN 72u   /* smallest possible tensor entry, padded */

/* ───────────────────────────── little-endian helpers ───────────────────────────── */

static inline uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint64_t align_up(uint64_t x, uint64_t a) { return (x + (a - 1)) & ~(a - 1); }

/* ─────────────────────────────────── XXH64 ─────────────────────────────────────── */

#define XP1 0x9E3779B185EBCA87ULL
#define XP2 0xC2B2AE3D27D4EB4FULL
#define XP3 0x165667B19E3779F9ULL
#define XP4 0x85EBCA77C2B2AE63ULL
#define XP5 0x27D4EB2F165667C5ULL

typedef struct {
    uint64_t v[4];
    uint64_t total;
    uint64_t seed;
    uint8_t mem[32];
    size_t memsize;
} xxh64_state;

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t xround(uint64_t acc, uint64_t in)
{
    acc += in * XP2;
    acc = rotl64(acc, 31);
    return acc * XP1;
}
static inline uint64_t xmerge(uint64_t acc, uint64_t v)
{
    acc ^= xround(0, v);
    return acc * XP1 + XP4;
}

static void xxh_init(xxh64_state *s, uint64_t seed)
{
    s->v[0] = seed + XP1 + XP2;
    s->v[1] = seed + XP2;
    s->v[2] = seed;
    s->v[3] = seed - XP1;
    s->total = 0;
    s->seed = seed;
    s->memsize = 0;
}

static void xxh_stripes(uint64_t v[4], const uint8_t *p, size_t n)
{
    uint64_t a = v[0], b = v[1], c = v[2], d = v[3];
    for (size_t i = 0; i < n; i++, p += 32) {
        a = xround(a, rd64(p));
        b = xround(b, rd64(p + 8));
        c = xround(c, rd64(p + 16));
        d = xround(d, rd64(p + 24));
    }
    v[0] = a; v[1] = b; v[2] = c; v[3] = d;
}

static void xxh_update(xxh64_state *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len == 0)
        return;
    s->total += len;
    if (s->memsize + len < 32) {
        memcpy(s->mem + s->memsize, p, len);
        s->memsize += len;
        return;
    }
    if (s->memsize) {
        size_t fill = 32 - s->memsize;
        memcpy(s->mem + s->memsize, p, fill);
        xxh_stripes(s->v, s->mem, 1);
        p += fill;
        len -= fill;
        s->memsize = 0;
    }
    size_t n = len / 32;
    xxh_stripes(s->v, p, n);
    p += n * 32;
    len -= n * 32;
    if (len)
        memcpy(s->mem, p, len);
    s->memsize = len;
}

static uint64_t xxh_digest(const xxh64_state *s)
{
    uint64_t h;
    if (s->total >= 32) {
        h = rotl64(s->v[0], 1) + rotl64(s->v[1], 7) + rotl64(s->v[2], 12) +
            rotl64(s->v[3], 18);
        for (int i = 0; i < 4; i++)
            h = xmerge(h, s->v[i]);
    } else {
        h = s->seed + XP5;
    }
    h += s->total;
    const uint8_t *p = s->mem;
    size_t n = s->memsize;
    for (; n >= 8; n -= 8, p += 8) {
        h ^= xround(0, rd64(p));
        h = rotl64(h, 27) * XP1 + XP4;
    }
    if (n >= 4) {
        h ^= (uint64_t)rd32(p) * XP1;
        h = rotl64(h, 23) * XP2 + XP3;
        p += 4;
        n -= 4;
    }
    for (; n > 0; n--, p++) {
        h ^= (uint64_t)*p * XP5;
        h = rotl64(h, 11) * XP1;
    }
    h ^= h >> 33;
    h *= XP2;
    h ^= h >> 29;
    h *= XP3;
    h ^= h >> 32;
    return h;
}

uint64_t tts_mf_xxh64(const void *data, size_t len, uint64_t seed)
{
    xxh64_state s;
    xxh_init(&s, seed);
    xxh_update(&s, data, len);
    return xxh_digest(&s);
}

/* Checksum of a complete file image: XXH64 with the checksum field read as zero. */
static uint64_t file_checksum(const uint8_t *b, size_t len)
{
    static const uint8_t zero[8];
    xxh64_state s;
    xxh_init(&s, 0);
    xxh_update(&s, b, H_CHECKSUM);
    xxh_update(&s, zero, 8);
    xxh_update(&s, b + TTS_MF_HEADER_SIZE, len - TTS_MF_HEADER_SIZE);
    return xxh_digest(&s);
}

/* ─────────────────────────────────── dtypes ────────────────────────────────────── */

size_t tts_mf_dtype_size(int dtype)
{
    switch (dtype) {
    case TTS_MF_F32: return 4;
    case TTS_MF_I32: return 4;
    case TTS_MF_U8: return 1;
    case TTS_MF_F16: return 2;
    case TTS_MF_I8: return 1;
    default: return 0;
    }
}

const char *tts_mf_dtype_name(int dtype)
{
    switch (dtype) {
    case TTS_MF_F32: return "f32";
    case TTS_MF_I32: return "i32";
    case TTS_MF_U8: return "u8";
    case TTS_MF_F16: return "f16";
    case TTS_MF_I8: return "i8";
    default: return "unknown";
    }
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case TTS_MF_STR: return "string";
    case TTS_MF_I64: return "i64";
    case TTS_MF_F64: return "f64";
    default: return "unknown";
    }
}

/* "[3, 4, 5]" into buf. */
static const char *shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

/* Element count of a shape, 0 on overflow past INT64_MAX (sets *ok = 0). */
static uint64_t shape_count(int ndim, const uint64_t *shape, int *ok)
{
    uint64_t count = 1;
    *ok = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] > (uint64_t)INT64_MAX || __builtin_mul_overflow(count, shape[i], &count)) {
            *ok = 0;
            return 0;
        }
    }
    if (count > (uint64_t)INT64_MAX)
        *ok = 0;
    return count;
}

/* ─────────────────────────────────── Writer ────────────────────────────────────── */

typedef struct {
    char *key;
    uint32_t key_len;
    uint32_t type;
    char *str;          /* TTS_MF_STR */
    uint32_t str_len;
    uint64_t bits;      /* TTS_MF_I64 / TTS_MF_F64 */
} wmeta;

typedef struct {
    char *name;
    uint32_t name_len;
    uint32_t dtype;
    uint32_t ndim;
    uint64_t shape[TTS_MF_MAX_DIMS];
    uint64_t nbytes;
    const void *data;
    void *owned;        /* copy made by tts_mf_add_tensor, else NULL */
    uint64_t offset;    /* set by tts_mf_write */
} wtensor;

struct tts_mf_writer {
    wmeta *meta;
    size_t n_meta, cap_meta;
    wtensor *t;
    size_t n_t, cap_t;
    tts_err first;      /* first set/add failure, reported by tts_mf_write */
};

static int w_fail(tts_mf_writer *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int w_fail(tts_mf_writer *w, int code, const char *fmt, ...)
{
    if (w && w->first.code == 0) {
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        tts_seterr(&w->first, code, "model file writer: %s", msg);
    }
    return code;
}

tts_mf_writer *tts_mf_writer_new(void)
{
    return calloc(1, sizeof(tts_mf_writer));
}

void tts_mf_writer_free(tts_mf_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_meta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].str);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        free(w->t[i].owned);
    }
    free(w->meta);
    free(w->t);
    free(w);
}

/* Length of a valid key or name (1..TTS_MF_NAME_MAX), else 0. */
static size_t name_len_ok(const char *s)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, TTS_MF_NAME_MAX + 1);
    return n >= 1 && n <= TTS_MF_NAME_MAX ? n : 0;
}

static int set_meta(tts_mf_writer *w, const char *key, uint32_t type, const char *str,
                    uint64_t bits)
{
    if (!w)
        return TTS_E_INVALID;
    size_t klen = name_len_ok(key);
    if (!klen)
        return w_fail(w, TTS_E_INVALID, "metadata key %s%.40s%s: must be 1..%d bytes",
                      key ? "'" : "", key ? key : "(null)", key ? "'" : "", TTS_MF_NAME_MAX);
    char *s = NULL;
    size_t slen = 0;
    if (type == TTS_MF_STR) {
        if (!str)
            return w_fail(w, TTS_E_INVALID, "metadata '%s': NULL string value", key);
        slen = strlen(str);
        if (slen >= UINT32_MAX)
            return w_fail(w, TTS_E_INVALID, "metadata '%s': string value too long", key);
        s = malloc(slen + 1);
        if (!s)
            return w_fail(w, TTS_E_NOMEM, "metadata '%s': out of memory", key);
        memcpy(s, str, slen + 1);
    }
    wmeta *m = NULL;
    for (size_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[i].key, key) == 0) {
            m = &w->meta[i];
            break;
        }
    if (!m) {
        if (w->n_meta == w->cap_meta) {
            size_t cap = w->cap_meta ? 2 * w->cap_meta : 16;
            wmeta *nm = realloc(w->meta, cap * sizeof *nm);
            if (!nm) {
                free(s);
                return w_fail(w, TTS_E_NOMEM, "metadata '%s': out of memory", key);
            }
            w->meta = nm;
            w->cap_meta = cap;
        }
        char *k = malloc(klen + 1);
        if (!k) {
            free(s);
            return w_fail(w, TTS_E_NOMEM, "metadata '%s': out of memory", key);
        }
        memcpy(k, key, klen + 1);
        m = &w->meta[w->n_meta++];
        memset(m, 0, sizeof *m);
        m->key = k;
        m->key_len = (uint32_t)klen;
    }
    free(m->str);
    m->type = type;
    m->str = s;
    m->str_len = (uint32_t)slen;
    m->bits = bits;
    return TTS_OK;
}

int tts_mf_set_str(tts_mf_writer *w, const char *key, const char *value)
{
    return set_meta(w, key, TTS_MF_STR, value, 0);
}

int tts_mf_set_i64(tts_mf_writer *w, const char *key, int64_t value)
{
    return set_meta(w, key, TTS_MF_I64, NULL, (uint64_t)value);
}

int tts_mf_set_f64(tts_mf_writer *w, const char *key, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, 8);
    return set_meta(w, key, TTS_MF_F64, NULL, bits);
}

static int add_tensor(tts_mf_writer *w, const char *name, tts_mf_dtype dtype, int ndim,
                      const int64_t *shape, const void *data, int copy)
{
    if (!w)
        return TTS_E_INVALID;
    size_t nlen = name_len_ok(name);
    if (!nlen)
        return w_fail(w, TTS_E_INVALID, "tensor name %s%.40s%s: must be 1..%d bytes",
                      name ? "'" : "", name ? name : "(null)", name ? "'" : "",
                      TTS_MF_NAME_MAX);
    size_t esize = tts_mf_dtype_size((int)dtype);
    if (!esize)
        return w_fail(w, TTS_E_INVALID, "tensor '%s': unknown dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > TTS_MF_MAX_DIMS)
        return w_fail(w, TTS_E_INVALID, "tensor '%s': ndim %d, must be 0..%d", name, ndim,
                      TTS_MF_MAX_DIMS);
    if (ndim > 0 && !shape)
        return w_fail(w, TTS_E_INVALID, "tensor '%s': NULL shape", name);
    uint64_t ushape[TTS_MF_MAX_DIMS] = {0};
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return w_fail(w, TTS_E_INVALID, "tensor '%s': dimension %d is negative (%" PRId64
                          ")", name, i, shape[i]);
        ushape[i] = (uint64_t)shape[i];
    }
    int ok;
    uint64_t count = shape_count(ndim, ushape, &ok), nbytes;
    if (!ok || __builtin_mul_overflow(count, (uint64_t)esize, &nbytes) || nbytes > SIZE_MAX)
        return w_fail(w, TTS_E_INVALID, "tensor '%s': shape too large", name);
    if (nbytes && !data)
        return w_fail(w, TTS_E_INVALID, "tensor '%s': NULL data", name);
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 16;
        wtensor *nt = realloc(w->t, cap * sizeof *nt);
        if (!nt)
            return w_fail(w, TTS_E_NOMEM, "tensor '%s': out of memory", name);
        w->t = nt;
        w->cap_t = cap;
    }
    char *n = malloc(nlen + 1);
    void *owned = NULL;
    if (n && copy && nbytes) {
        owned = malloc((size_t)nbytes);
        if (owned)
            memcpy(owned, data, (size_t)nbytes);
    }
    if (!n || (copy && nbytes && !owned)) {
        free(n);
        free(owned);
        return w_fail(w, TTS_E_NOMEM, "tensor '%s': out of memory (%" PRIu64 " bytes)", name,
                      nbytes);
    }
    memcpy(n, name, nlen + 1);
    wtensor *t = &w->t[w->n_t++];
    memset(t, 0, sizeof *t);
    t->name = n;
    t->name_len = (uint32_t)nlen;
    t->dtype = (uint32_t)dtype;
    t->ndim = (uint32_t)ndim;
    memcpy(t->shape, ushape, sizeof ushape);
    t->nbytes = nbytes;
    t->owned = owned;
    t->data = copy ? owned : data;
    return TTS_OK;
}

int tts_mf_add_tensor(tts_mf_writer *w, const char *name, tts_mf_dtype dtype, int ndim,
                      const int64_t *shape, const void *data)
{
    return add_tensor(w, name, dtype, ndim, shape, data, 1);
}

int tts_mf_add_tensor_ref(tts_mf_writer *w, const char *name, tts_mf_dtype dtype,
                          int ndim, const int64_t *shape, const void *data)
{
    return add_tensor(w, name, dtype, ndim, shape, data, 0);
}

/* Buffered output that hashes everything it writes. */
typedef struct {
    int fd;
    xxh64_state h;
    uint8_t buf[1 << 16];
    size_t n;
    uint64_t pos;
} wout;

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : len;
        ssize_t r = write(fd, p, chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            errno = EIO;
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

static int out_flush(wout *o)
{
    if (o->n && write_all(o->fd, o->buf, o->n) < 0)
        return -1;
    o->n = 0;
    return 0;
}

static int out_put(wout *o, const void *data, size_t len)
{
    const uint8_t *p = data;
    xxh_update(&o->h, p, len);
    o->pos += len;
    if (len >= sizeof o->buf) {
        if (out_flush(o) < 0)
            return -1;
        return write_all(o->fd, p, len);
    }
    if (o->n + len > sizeof o->buf && out_flush(o) < 0)
        return -1;
    if (len)
        memcpy(o->buf + o->n, p, len);
    o->n += len;
    return 0;
}

static int out_pad(wout *o, uint64_t to)
{
    static const uint8_t zero[64];
    while (o->pos < to) {
        uint64_t n = to - o->pos;
        if (out_put(o, zero, n > 64 ? 64 : (size_t)n) < 0)
            return -1;
    }
    return 0;
}

static int cmp_wtensor_name(const void *a, const void *b)
{
    return strcmp((*(const wtensor *const *)a)->name, (*(const wtensor *const *)b)->name);
}

static void fsync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        /* Best effort: the file itself is complete and renamed already; some file
         * systems refuse fsync on a directory. */
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int tts_mf_write(tts_mf_writer *w, const char *path, tts_err *err)
{
    if (!w || !path || !*path)
        return tts_seterr(err, TTS_E_INVALID, "tts_mf_write: NULL writer or empty path");
    if (w->first.code != 0) {
        if (err)
            *err = w->first;
        return w->first.code;
    }
    if (w->n_meta > UINT32_MAX || w->n_t > UINT32_MAX)
        return tts_seterr(err, TTS_E_INVALID, "model file writer: too many entries");

    /* Duplicate tensor names. */
    if (w->n_t > 1) {
        const wtensor **idx = malloc(w->n_t * sizeof *idx);
        if (!idx)
            return tts_seterr(err, TTS_E_NOMEM, "model file writer: out of memory");
        for (size_t i = 0; i < w->n_t; i++)
            idx[i] = &w->t[i];
        qsort(idx, w->n_t, sizeof *idx, cmp_wtensor_name);
        for (size_t i = 1; i < w->n_t; i++)
            if (strcmp(idx[i - 1]->name, idx[i]->name) == 0) {
                int rc = tts_seterr(err, TTS_E_INVALID,
                                    "model file writer: tensor '%s' added twice", idx[i]->name);
                free(idx);
                return rc;
            }
        free(idx);
    }

    /* Layout. Every length is < 2^32 and there are < 2^32 entries, and tensor sizes
     * were checked to fit size_t, so only the sums need overflow checks. */
    uint64_t off = TTS_MF_HEADER_SIZE;
    int ovf = 0;
    for (size_t i = 0; i < w->n_meta; i++) {
        const wmeta *m = &w->meta[i];
        uint64_t vlen = m->type == TTS_MF_STR ? (uint64_t)m->str_len + 1 : 8;
        ovf |= __builtin_add_overflow(off, align_up(META_FIXED + m->key_len + 1 + vlen, 8),
                                      &off);
    }
    uint64_t table_off = off;
    for (size_t i = 0; i < w->n_t; i++)
        ovf |= __builtin_add_overflow(off, align_up(TENSOR_FIXED + w->t[i].name_len + 1, 8),
                                      &off);
    uint64_t data_off = align_up(off, TTS_MF_ALIGN);
    off = data_off;
    for (size_t i = 0; i < w->n_t; i++) {
        w->t[i].offset = align_up(off, TTS_MF_ALIGN);
        ovf |= __builtin_add_overflow(w->t[i].offset, w->t[i].nbytes, &off);
        ovf |= off > (uint64_t)INT64_MAX;
    }
    uint64_t file_size = off;
    if (ovf)
        return tts_seterr(err, TTS_E_INVALID, "model file writer: contents too large");

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return tts_seterr(err, TTS_E_NOMEM, "model file writer: out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    wout *o = malloc(sizeof *o);
    if (!o) {
        free(tmp);
        return tts_seterr(err, TTS_E_NOMEM, "model file writer: out of memory");
    }
    o->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) {
        int e = errno;
        int rc = tts_seterr(err, TTS_E_IO, "cannot create '%s': %s", tmp, strerror(e));
        free(o);
        free(tmp);
        return rc;
    }
    o->n = 0;
    o->pos = 0;
    xxh_init(&o->h, 0);

    int fail = 0;
    uint8_t hdr[TTS_MF_HEADER_SIZE] = {0};
    memcpy(hdr + H_MAGIC, TTS_MF_MAGIC, 8);
    wr32(hdr + H_VERSION, TTS_MF_VERSION);
    wr32(hdr + H_HSIZE, TTS_MF_HEADER_SIZE);
    wr64(hdr + H_FSIZE, file_size);
    wr32(hdr + H_NMETA, (uint32_t)w->n_meta);
    wr32(hdr + H_NTENSORS, (uint32_t)w->n_t);
    wr64(hdr + H_META_OFF, TTS_MF_HEADER_SIZE);
    wr64(hdr + H_TABLE_OFF, table_off);
    wr64(hdr + H_DATA_OFF, data_off);
    /* checksum stays 0 here: it is hashed as zero and patched in at the end */
    fail |= out_put(o, hdr, sizeof hdr);

    for (size_t i = 0; i < w->n_meta && !fail; i++) {
        const wmeta *m = &w->meta[i];
        uint8_t fx[META_FIXED];
        uint8_t val[8];
        wr32(fx, m->type);
        wr32(fx + 4, m->key_len);
        wr32(fx + 8, m->type == TTS_MF_STR ? m->str_len : 8);
        fail |= out_put(o, fx, sizeof fx);
        fail |= out_put(o, m->key, m->key_len + 1);
        if (m->type == TTS_MF_STR) {
            fail |= out_put(o, m->str, (size_t)m->str_len + 1);
        } else {
            wr64(val, m->bits);
            fail |= out_put(o, val, 8);
        }
        fail |= out_pad(o, align_up(o->pos, 8));
    }
    for (size_t i = 0; i < w->n_t && !fail; i++) {
        const wtensor *t = &w->t[i];
        uint8_t fx[TENSOR_FIXED] = {0};
        wr32(fx, t->name_len);
        wr32(fx + 4, t->dtype);
        wr32(fx + 8, t->ndim);
        for (int d = 0; d < TTS_MF_MAX_DIMS; d++)
            wr64(fx + 16 + 8 * d, t->shape[d]);
        wr64(fx + 48, t->offset);
        wr64(fx + 56, t->nbytes);
        fail |= out_put(o, fx, sizeof fx);
        fail |= out_put(o, t->name, t->name_len + 1);
        fail |= out_pad(o, align_up(o->pos, 8));
    }
    if (!fail)
        fail |= out_pad(o, data_off);
    for (size_t i = 0; i < w->n_t && !fail; i++) {
        fail |= out_pad(o, w->t[i].offset);
        fail |= out_put(o, w->t[i].data, (size_t)w->t[i].nbytes);
    }
    if (!fail)
        fail |= out_flush(o);
    if (!fail && o->pos != file_size) {
        errno = EIO; /* cannot happen: layout and writing disagree */
        fail = 1;
    }
    if (!fail) {
        uint8_t sum[8];
        wr64(sum, xxh_digest(&o->h));
        ssize_t r;
        do
            r = pwrite(o->fd, sum, 8, H_CHECKSUM);
        while (r < 0 && errno == EINTR);
        if (r != 8) {
            if (r >= 0)
                errno = EIO;
            fail = 1;
        }
    }
    if (!fail && fsync(o->fd) < 0)
        fail = 1;
    int e = errno;
    if (close(o->fd) < 0 && !fail) {
        e = errno;
        fail = 1;
    }
    free(o);
    if (fail) {
        unlink(tmp);
        int rc = tts_seterr(err, TTS_E_IO, "cannot write '%s': %s", tmp, strerror(e));
        free(tmp);
        return rc;
    }
    if (rename(tmp, path) < 0) {
        e = errno;
        unlink(tmp);
        int rc = tts_seterr(err, TTS_E_IO, "cannot rename '%s' to '%s': %s", tmp, path,
                            strerror(e));
        free(tmp);
        return rc;
    }
    free(tmp);
    fsync_parent_dir(path);
    return TTS_OK;
}

/* ─────────────────────────────────── Reader ────────────────────────────────────── */

typedef struct {
    const char *key;
    uint32_t type;
    uint32_t len;
    const uint8_t *val;
} mf_meta;

struct tts_mf {
    const uint8_t *base;
    size_t size;
    void *map;          /* mmap'd file, or NULL */
    size_t map_len;
    void *mem;          /* aligned copy made by tts_mf_open_memory, or NULL */
    char *src;          /* "'path'" or "<memory>", for messages */
    uint32_t version;
    uint64_t checksum;
    size_t n_meta;
    mf_meta *meta;      /* sorted by key */
    size_t n_tensors;
    tts_mf_tensor *tensors;          /* file order */
    const tts_mf_tensor **by_name;   /* sorted by name */
};

static int fmt_err(const tts_mf *mf, tts_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fmt_err(const tts_mf *mf, tts_err *err, int code, const char *fmt, ...)
{
    char msg[448];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tts_seterr(err, code, "%s: %s", mf->src, msg);
}
#define BAD(...) fmt_err(mf, err, TTS_E_FORMAT, __VA_ARGS__)

static int cmp_meta(const void *a, const void *b)
{
    return strcmp(((const mf_meta *)a)->key, ((const mf_meta *)b)->key);
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp((*(const tts_mf_tensor *const *)a)->name,
                  (*(const tts_mf_tensor *const *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b)
{
    const tts_mf_tensor *x = *(const tts_mf_tensor *const *)a;
    const tts_mf_tensor *y = *(const tts_mf_tensor *const *)b;
    uintptr_t px = (uintptr_t)x->data, py = (uintptr_t)y->data;
    return px < py ? -1 : px > py;
}

/* Validates the image b[0..len) and fills mf's tables. The one code path behind both
 * tts_mf_open (mmap) and tts_mf_open_memory. b is 64-byte aligned. */
static int parse(tts_mf *mf, const uint8_t *b, size_t len, unsigned flags, tts_err *err)
{
    /* Magic, version, header size, file size, in the order that gives the most
     * useful message for a wrong or damaged file. */
    if (memcmp(b, TTS_MF_MAGIC, len < 8 ? len : 8) != 0)
        return BAD("not a libtts model file (wrong magic)");
    if (len >= 12) {
        uint32_t v = rd32(b + H_VERSION);
        if (v != TTS_MF_VERSION)
            return BAD("model file version %" PRIu32 ", this build reads %u%s", v,
                       TTS_MF_VERSION, v > TTS_MF_VERSION ? " (upgrade libtts)" : "");
    }
    if (len < TTS_MF_HEADER_SIZE)
        return BAD("truncated: expected at least %u bytes (the header), file has %zu",
                   TTS_MF_HEADER_SIZE, len);
    uint64_t fsize = rd64(b + H_FSIZE);
    if (fsize > len)
        return BAD("truncated: expected %" PRIu64 " bytes, file has %zu", fsize, len);
    if (fsize < len)
        return BAD("file has %zu bytes but its header says %" PRIu64 " (trailing data)", len,
                   fsize);
    uint32_t hsize = rd32(b + H_HSIZE);
    if (hsize < TTS_MF_HEADER_SIZE || hsize % 8 != 0 || hsize > fsize)
        return BAD("bad header size %" PRIu32, hsize);
    uint64_t stored = rd64(b + H_CHECKSUM);
    if (!(flags & TTS_MF_NO_CHECKSUM)) {
        uint64_t got = file_checksum(b, len);
        if (got != stored)
            return BAD("checksum mismatch (stored %016" PRIx64 ", computed %016" PRIx64
                       "): the file is corrupt", stored, got);
    }
    mf->version = TTS_MF_VERSION;
    mf->checksum = stored;

    uint32_t n_meta = rd32(b + H_NMETA), n_t = rd32(b + H_NTENSORS);
    uint64_t meta_off = rd64(b + H_META_OFF), table_off = rd64(b + H_TABLE_OFF),
             data_off = rd64(b + H_DATA_OFF);
    if (meta_off != hsize)
        return BAD("metadata offset %" PRIu64 " is not the header size %" PRIu32, meta_off,
                   hsize);
    if (table_off < meta_off || table_off > fsize || table_off % 8 != 0)
        return BAD("bad tensor table offset %" PRIu64 " (file size %" PRIu64 ")", table_off,
                   fsize);
    if (data_off < table_off || data_off > fsize || data_off % TTS_MF_ALIGN != 0)
        return BAD("bad data offset %" PRIu64 " (tensor table at %" PRIu64 ", file size %"
                   PRIu64 ")", data_off, table_off, fsize);
    if (n_meta > (table_off - meta_off) / META_MIN)
        return BAD("%" PRIu32 " metadata entries cannot fit in %" PRIu64 " bytes", n_meta,
                   table_off - meta_off);
    if (n_t > (data_off - table_off) / TENSOR_MIN)
        return BAD("%" PRIu32 " tensor entries cannot fit in %" PRIu64 " bytes", n_t,
                   data_off - table_off);

    /* Metadata block: [meta_off, table_off). */
    if (n_meta) {
        mf->meta = calloc(n_meta, sizeof *mf->meta);
        if (!mf->meta)
            return fmt_err(mf, err, TTS_E_NOMEM, "out of memory");
    }
    uint64_t pos = meta_off;
    for (uint32_t i = 0; i < n_meta; i++) {
        if (table_off - pos < META_FIXED)
            return BAD("metadata entry %" PRIu32 " runs past the tensor table at %" PRIu64, i,
                       table_off);
        const uint8_t *e = b + pos;
        uint32_t type = rd32(e), klen = rd32(e + 4), vlen = rd32(e + 8);
        if (type < TTS_MF_STR || type > TTS_MF_F64)
            return BAD("metadata entry %" PRIu32 ": unknown value type %" PRIu32, i, type);
        if (klen == 0 || klen > TTS_MF_NAME_MAX)
            return BAD("metadata entry %" PRIu32 ": bad key length %" PRIu32, i, klen);
        uint64_t need = align_up((uint64_t)META_FIXED + klen + 1 + vlen +
                                 (type == TTS_MF_STR), 8);
        if (need > table_off - pos)
            return BAD("metadata entry %" PRIu32 " (%" PRIu64 " bytes at %" PRIu64
                       ") runs past the tensor table at %" PRIu64, i, need, pos, table_off);
        const char *key = (const char *)e + META_FIXED;
        if (key[klen] != '\0' || memchr(key, 0, klen))
            return BAD("metadata entry %" PRIu32 ": key is not a NUL-terminated string", i);
        const uint8_t *val = e + META_FIXED + klen + 1;
        if (type == TTS_MF_STR) {
            if (val[vlen] != '\0' || memchr(val, 0, vlen))
                return BAD("metadata '%s': string value is not NUL-terminated", key);
        } else if (vlen != 8) {
            return BAD("metadata '%s': %s value of %" PRIu32 " bytes, expected 8", key,
                       type_name(type), vlen);
        }
        mf->meta[i] = (mf_meta){ key, type, vlen, val };
        pos += need;
    }
    if (pos != table_off)
        return BAD("metadata block ends at %" PRIu64 " but the tensor table starts at %" PRIu64,
                   pos, table_off);
    mf->n_meta = n_meta;
    if (n_meta > 1) {
        qsort(mf->meta, n_meta, sizeof *mf->meta, cmp_meta);
        for (uint32_t i = 1; i < n_meta; i++)
            if (strcmp(mf->meta[i - 1].key, mf->meta[i].key) == 0)
                return BAD("metadata key '%s' appears twice", mf->meta[i].key);
    }

    /* Tensor table: [table_off, data_off). */
    if (n_t) {
        mf->tensors = calloc(n_t, sizeof *mf->tensors);
        mf->by_name = calloc(n_t, sizeof *mf->by_name);
        if (!mf->tensors || !mf->by_name)
            return fmt_err(mf, err, TTS_E_NOMEM, "out of memory");
    }
    pos = table_off;
    for (uint32_t i = 0; i < n_t; i++) {
        if (data_off - pos < TENSOR_FIXED)
            return BAD("tensor entry %" PRIu32 " runs past the data offset %" PRIu64, i,
                       data_off);
        const uint8_t *e = b + pos;
        uint32_t nlen = rd32(e), dtype = rd32(e + 4), ndim = rd32(e + 8), rsv = rd32(e + 12);
        if (nlen == 0 || nlen > TTS_MF_NAME_MAX)
            return BAD("tensor entry %" PRIu32 ": bad name length %" PRIu32, i, nlen);
        uint64_t need = align_up((uint64_t)TENSOR_FIXED + nlen + 1, 8);
        if (need > data_off - pos)
            return BAD("tensor entry %" PRIu32 " runs past the data offset %" PRIu64, i,
                       data_off);
        const char *name = (const char *)e + TENSOR_FIXED;
        if (name[nlen] != '\0' || memchr(name, 0, nlen))
            return BAD("tensor entry %" PRIu32 ": name is not a NUL-terminated string", i);
        size_t esize = tts_mf_dtype_size((int)dtype);
        if (!esize)
            return BAD("tensor '%s': unknown dtype %" PRIu32, name, dtype);
        if (ndim > TTS_MF_MAX_DIMS)
            return BAD("tensor '%s': %" PRIu32 " dimensions, at most %d", name, ndim,
                       TTS_MF_MAX_DIMS);
        if (rsv != 0)
            return BAD("tensor '%s': reserved field is %" PRIu32 ", expected 0", name, rsv);
        uint64_t shape[TTS_MF_MAX_DIMS];
        for (int d = 0; d < TTS_MF_MAX_DIMS; d++) {
            shape[d] = rd64(e + 16 + 8 * d);
            if ((uint32_t)d >= ndim && shape[d] != 0)
                return BAD("tensor '%s': unused dimension %d is %" PRIu64 ", expected 0", name,
                           d, shape[d]);
        }
        uint64_t offset = rd64(e + 48), nbytes = rd64(e + 56), want;
        int ok;
        uint64_t count = shape_count((int)ndim, shape, &ok);
        if (!ok || __builtin_mul_overflow(count, (uint64_t)esize, &want))
            return BAD("tensor '%s': shape overflows", name);
        tts_mf_tensor *t = &mf->tensors[i];
        t->ndim = (int)ndim;
        for (int d = 0; d < TTS_MF_MAX_DIMS; d++)
            t->shape[d] = (int64_t)shape[d];
        if (nbytes != want) {
            char sb[128];
            return BAD("tensor '%s': %" PRIu64 " bytes, but %s shape %s needs %" PRIu64, name,
                       nbytes, tts_mf_dtype_name((int)dtype),
                       shape_str(sb, sizeof sb, t->ndim, t->shape), want);
        }
        if (offset % TTS_MF_ALIGN != 0)
            return BAD("tensor '%s': data offset %" PRIu64 " is not %u-byte aligned", name,
                       offset, TTS_MF_ALIGN);
        if (offset < data_off || offset > fsize || nbytes > fsize - offset)
            return BAD("tensor '%s': data at %" PRIu64 " (+%" PRIu64 " bytes) lies outside "
                       "the data region [%" PRIu64 ", %" PRIu64 ")", name, offset, nbytes,
                       data_off, fsize);
        t->name = name;
        t->dtype = (tts_mf_dtype)dtype;
        t->count = (int64_t)count;
        t->nbytes = (size_t)nbytes;
        t->data = b + offset;
        mf->by_name[i] = t;
        pos += need;
    }
    if (align_up(pos, TTS_MF_ALIGN) != data_off)
        return BAD("tensor table ends at %" PRIu64 " but the data starts at %" PRIu64, pos,
                   data_off);
    mf->n_tensors = n_t;
    if (n_t > 1) {
        qsort(mf->by_name, n_t, sizeof *mf->by_name, cmp_tensor_name);
        for (uint32_t i = 1; i < n_t; i++)
            if (strcmp(mf->by_name[i - 1]->name, mf->by_name[i]->name) == 0)
                return BAD("tensor name '%s' appears twice", mf->by_name[i]->name);
        /* Overlap: sort by data address, compare neighbours (empty tensors overlap
         * nothing). */
        const tts_mf_tensor **ord = malloc(n_t * sizeof *ord);
        if (!ord)
            return fmt_err(mf, err, TTS_E_NOMEM, "out of memory");
        uint32_t m = 0;
        for (uint32_t i = 0; i < n_t; i++)
            if (mf->tensors[i].nbytes)
                ord[m++] = &mf->tensors[i];
        qsort(ord, m, sizeof *ord, cmp_tensor_offset);
        for (uint32_t i = 1; i < m; i++) {
            const uint8_t *end = (const uint8_t *)ord[i - 1]->data + ord[i - 1]->nbytes;
            if (end > (const uint8_t *)ord[i]->data) {
                int rc = BAD("tensors '%s' and '%s' overlap", ord[i - 1]->name, ord[i]->name);
                free(ord);
                return rc;
            }
        }
        free(ord);
    }
    return TTS_OK;
}

static tts_mf *mf_new(const char *src_fmt, const char *path)
{
    tts_mf *mf = calloc(1, sizeof *mf);
    if (!mf)
        return NULL;
    size_t n = strlen(src_fmt) + (path ? strlen(path) : 0) + 1;
    mf->src = malloc(n);
    if (!mf->src) {
        free(mf);
        return NULL;
    }
    snprintf(mf->src, n, src_fmt, path ? path : "");
    return mf;
}

void tts_mf_close(tts_mf *mf)
{
    if (!mf)
        return;
    if (mf->map)
        munmap(mf->map, mf->map_len);
    free(mf->mem);
    free(mf->src);
    free(mf->meta);
    free(mf->tensors);
    free(mf->by_name);
    free(mf);
}

static const uint8_t empty_image[TTS_MF_ALIGN] __attribute__((aligned(64)));

int tts_mf_open_ex(tts_mf **out, const char *path, unsigned flags, tts_err *err)
{
    if (out)
        *out = NULL;
    if (!out || !path)
        return tts_seterr(err, TTS_E_INVALID, "tts_mf_open: NULL argument");
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer forever; it is
     * refused below as not a regular file (the flag means nothing to a regular file) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        return tts_seterr(err, TTS_E_IO, "cannot open model file '%s': %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return tts_seterr(err, TTS_E_IO, "cannot stat model file '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tts_seterr(err, TTS_E_IO, "model file '%s' is not a regular file", path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return tts_seterr(err, TTS_E_FORMAT, "'%s': file too large to map", path);
    }
    size_t len = (size_t)st.st_size;
    void *map = NULL;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return tts_seterr(err, TTS_E_IO, "cannot map model file '%s': %s", path,
                              strerror(e));
        }
    }
    close(fd);
    tts_mf *mf = mf_new("'%s'", path);
    if (!mf) {
        if (map)
            munmap(map, len);
        return tts_seterr(err, TTS_E_NOMEM, "'%s': out of memory", path);
    }
    mf->map = map;
    mf->map_len = len;
    mf->base = map ? map : empty_image;
    mf->size = len;
    int rc = parse(mf, mf->base, len, flags, err);
    if (rc != TTS_OK) {
        tts_mf_close(mf);
        return rc;
    }
    *out = mf;
    return TTS_OK;
}

int tts_mf_open(tts_mf **out, const char *path, tts_err *err)
{
    return tts_mf_open_ex(out, path, 0, err);
}

int tts_mf_open_memory_ex(tts_mf **out, const void *buf, size_t len, unsigned flags,
                          tts_err *err)
{
    if (out)
        *out = NULL;
    if (!out || (!buf && len))
        return tts_seterr(err, TTS_E_INVALID, "tts_mf_open_memory: NULL argument");
    tts_mf *mf = mf_new("<memory>", NULL);
    if (!mf)
        return tts_seterr(err, TTS_E_NOMEM, "<memory>: out of memory");
    if (len) {
        void *p = NULL;
        if (posix_memalign(&p, TTS_MF_ALIGN, len) != 0) {
            tts_mf_close(mf);
            return tts_seterr(err, TTS_E_NOMEM, "<memory>: out of memory (%zu bytes)", len);
        }
        memcpy(p, buf, len);
        mf->mem = p;
    }
    mf->base = mf->mem ? mf->mem : empty_image;
    mf->size = len;
    int rc = parse(mf, mf->base, len, flags, err);
    if (rc != TTS_OK) {
        tts_mf_close(mf);
        return rc;
    }
    *out = mf;
    return TTS_OK;
}

int tts_mf_open_memory(tts_mf **out, const void *buf, size_t len, tts_err *err)
{
    return tts_mf_open_memory_ex(out, buf, len, 0, err);
}

uint32_t tts_mf_version(const tts_mf *mf) { return mf ? mf->version : 0; }
uint64_t tts_mf_stored_checksum(const tts_mf *mf) { return mf ? mf->checksum : 0; }

/* ────────────────────────────────── Metadata ───────────────────────────────────── */

static const mf_meta *find_meta(const tts_mf *mf, const char *key)
{
    if (!mf || !key || !mf->n_meta)
        return NULL;
    mf_meta k = { key, 0, 0, NULL };
    return bsearch(&k, mf->meta, mf->n_meta, sizeof *mf->meta, cmp_meta);
}

static int get_meta(const tts_mf *mf, const char *key, uint32_t type, const mf_meta **out,
                    tts_err *err)
{
    if (!mf || !key)
        return tts_seterr(err, TTS_E_INVALID, "model file metadata: NULL argument");
    const mf_meta *m = find_meta(mf, key);
    if (!m)
        return fmt_err(mf, err, TTS_E_FORMAT, "no metadata key '%s'", key);
    if (m->type != type)
        return fmt_err(mf, err, TTS_E_FORMAT, "metadata '%s' is %s, expected %s", key,
                       type_name(m->type), type_name(type));
    *out = m;
    return TTS_OK;
}

int tts_mf_get_str(const tts_mf *mf, const char *key, const char **value, tts_err *err)
{
    const mf_meta *m = NULL;
    int rc = get_meta(mf, key, TTS_MF_STR, &m, err);
    if (rc == TTS_OK && value)
        *value = (const char *)m->val;
    return rc;
}

int tts_mf_get_i64(const tts_mf *mf, const char *key, int64_t *value, tts_err *err)
{
    const mf_meta *m = NULL;
    int rc = get_meta(mf, key, TTS_MF_I64, &m, err);
    if (rc == TTS_OK && value)
        *value = (int64_t)rd64(m->val);
    return rc;
}

int tts_mf_get_f64(const tts_mf *mf, const char *key, double *value, tts_err *err)
{
    const mf_meta *m = NULL;
    int rc = get_meta(mf, key, TTS_MF_F64, &m, err);
    if (rc == TTS_OK && value) {
        uint64_t bits = rd64(m->val);
        memcpy(value, &bits, 8);
    }
    return rc;
}

int tts_mf_has(const tts_mf *mf, const char *key)
{
    return find_meta(mf, key) != NULL;
}

size_t tts_mf_meta_count(const tts_mf *mf)
{
    return mf ? mf->n_meta : 0;
}

const char *tts_mf_meta_key(const tts_mf *mf, size_t i, tts_mf_type *type)
{
    if (!mf || i >= mf->n_meta)
        return NULL;
    if (type)
        *type = (tts_mf_type)mf->meta[i].type;
    return mf->meta[i].key;
}

/* ─────────────────────────────────── Tensors ───────────────────────────────────── */

size_t tts_mf_tensor_count(const tts_mf *mf)
{
    return mf ? mf->n_tensors : 0;
}

const tts_mf_tensor *tts_mf_tensor_at(const tts_mf *mf, size_t i)
{
    return mf && i < mf->n_tensors ? &mf->tensors[i] : NULL;
}

static int cmp_name_key(const void *key, const void *elem)
{
    return strcmp((const char *)key, (*(const tts_mf_tensor *const *)elem)->name);
}

const tts_mf_tensor *tts_mf_find(const tts_mf *mf, const char *name)
{
    if (!mf || !name || !mf->n_tensors)
        return NULL;
    const tts_mf_tensor **p = bsearch(name, mf->by_name, mf->n_tensors, sizeof *mf->by_name,
                                      cmp_name_key);
    return p ? *p : NULL;
}

int tts_mf_get(const tts_mf *mf, const char *name, tts_mf_dtype dtype, int ndim,
               const int64_t *expected_shape, const tts_mf_tensor **tensor, tts_err *err)
{
    if (!mf || !name)
        return tts_seterr(err, TTS_E_INVALID, "model file tensor: NULL argument");
    const tts_mf_tensor *t = tts_mf_find(mf, name);
    if (!t)
        return fmt_err(mf, err, TTS_E_FORMAT, "no tensor '%s'", name);
    char have[128], want[128];
    if (t->dtype != dtype)
        return fmt_err(mf, err, TTS_E_FORMAT, "tensor '%s' is %s %s, expected %s", name,
                       tts_mf_dtype_name(t->dtype),
                       shape_str(have, sizeof have, t->ndim, t->shape),
                       tts_mf_dtype_name(dtype));
    if (t->ndim != ndim)
        return fmt_err(mf, err, TTS_E_FORMAT, "tensor '%s' has %d dimensions %s, expected %d",
                       name, t->ndim, shape_str(have, sizeof have, t->ndim, t->shape), ndim);
    if (expected_shape) {
        for (int d = 0; d < ndim; d++)
            if (expected_shape[d] != -1 && expected_shape[d] != t->shape[d])
                return fmt_err(mf, err, TTS_E_FORMAT, "tensor '%s' has shape %s, expected %s",
                               name, shape_str(have, sizeof have, t->ndim, t->shape),
                               shape_str(want, sizeof want, ndim, expected_shape));
    }
    if (tensor)
        *tensor = t;
    return TTS_OK;
}

int tts_mf_get_f32(const tts_mf *mf, const char *name, int ndim,
                   const int64_t *expected_shape, const float **data, tts_err *err)
{
    const tts_mf_tensor *t = NULL;
    int rc = tts_mf_get(mf, name, TTS_MF_F32, ndim, expected_shape, &t, err);
    if (rc == TTS_OK && data)
        *data = t->data;
    return rc;
}

int tts_mf_get_i32(const tts_mf *mf, const char *name, int ndim,
                   const int64_t *expected_shape, const int32_t **data, tts_err *err)
{
    const tts_mf_tensor *t = NULL;
    int rc = tts_mf_get(mf, name, TTS_MF_I32, ndim, expected_shape, &t, err);
    if (rc == TTS_OK && data)
        *data = t->data;
    return rc;
}

int tts_mf_get_u8(const tts_mf *mf, const char *name, int ndim,
                  const int64_t *expected_shape, const uint8_t **data, tts_err *err)
{
    const tts_mf_tensor *t = NULL;
    int rc = tts_mf_get(mf, name, TTS_MF_U8, ndim, expected_shape, &t, err);
    if (rc == TTS_OK && data)
        *data = t->data;
    return rc;
}
