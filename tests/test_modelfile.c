/* Tests for nn/modelfile: round trip, truncation at every length, byte flips, targeted
 * structural corruption (with a valid checksum), version/magic/missing-file errors,
 * checked getters, writer errors and atomic replacement.
 *
 * TTS_MF_TEST_STRIDE=N (default 1) tests only every N-th truncation length and
 * non-header flip position, for slow runs such as valgrind. */
#include "nn/modelfile.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures, checks;
#define CHECK(cond, ...)                                                         \
    do {                                                                         \
        checks++;                                                                \
        if (!(cond)) {                                                           \
            failures++;                                                          \
            fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
        }                                                                        \
    } while (0)

static char tmpdir[512];
static size_t stride = 1;

static const char *tpath(const char *name)
{
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int write_raw(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = len ? fwrite(buf, 1, len, f) : 0;
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Recomputes the checksum as documented: XXH64 of the file, checksum field as zero. */
static uint64_t doc_checksum(const uint8_t *b, size_t len)
{
    uint8_t *c = malloc(len);
    memcpy(c, b, len);
    memset(c + 56, 0, 8);
    uint64_t h = tts_mf_xxh64(c, len, 0);
    free(c);
    return h;
}

static void restamp(uint8_t *b, size_t len)
{
    wr64(b + 56, doc_checksum(b, len));
}

/* Reads every byte the reader hands out, so valgrind sees any out-of-bounds pointer. */
static volatile uint64_t sink;
static void touch_all(const tts_mf *mf)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < tts_mf_meta_count(mf); i++) {
        tts_mf_type type;
        const char *key = tts_mf_meta_key(mf, i, &type);
        acc += strlen(key);
        if (type == TTS_MF_STR) {
            const char *s;
            if (tts_mf_get_str(mf, key, &s, NULL) == 0)
                acc += strlen(s);
        } else if (type == TTS_MF_I64) {
            int64_t v;
            if (tts_mf_get_i64(mf, key, &v, NULL) == 0)
                acc += (uint64_t)v;
        } else {
            double v;
            if (tts_mf_get_f64(mf, key, &v, NULL) == 0)
                acc += (uint64_t)(v == v);
        }
    }
    for (size_t i = 0; i < tts_mf_tensor_count(mf); i++) {
        const tts_mf_tensor *t = tts_mf_tensor_at(mf, i);
        acc += strlen(t->name);
        for (size_t j = 0; j < t->nbytes; j++)
            acc += ((const uint8_t *)t->data)[j];
    }
    sink = acc;
}

/* Layout walkers written from the documented format (so they test the doc too). */
static size_t meta_entry(const uint8_t *b, const char *key)
{
    uint64_t pos = rd64(b + 32);
    uint32_t n = rd32(b + 24);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t type = rd32(b + pos), klen = rd32(b + pos + 4), vlen = rd32(b + pos + 8);
        if (strcmp((const char *)b + pos + 12, key) == 0)
            return (size_t)pos;
        pos += (12 + klen + 1 + vlen + (type == 1) + 7) & ~7ull;
    }
    return 0;
}

static size_t tensor_entry(const uint8_t *b, const char *name)
{
    uint64_t pos = rd64(b + 40);
    uint32_t n = rd32(b + 28);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t nlen = rd32(b + pos);
        if (strcmp((const char *)b + pos + 64, name) == 0)
            return (size_t)pos;
        pos += (64 + nlen + 1 + 7) & ~7ull;
    }
    return 0;
}

/* ─────────────────────────────── sample contents ──────────────────────────────── */

#define EMB_R 5
#define EMB_C 7
static float emb[EMB_R * EMB_C];
static int32_t ids[13];
static uint8_t bytes3[3] = { 0, 0x7f, 0xff };
static float w4[2 * 3 * 2 * 2];
static float scalar = 0.25f;
static uint16_t half[5] = { 0x3c00, 0xc000, 0x7c00, 0x0001, 0xffff };
static float refd[6];
static double nan_payload, neg_zero, denorm;
static char long_str[301];

static void fill_sample(void)
{
    for (int i = 0; i < EMB_R * EMB_C; i++)
        emb[i] = (float)i * 0.37f - 3.0f;
    uint32_t specials[] = { 0x7fc00001u /* NaN with payload */, 0x80000000u /* -0 */,
                            0x00000001u /* denormal */, 0x7f800000u /* inf */ };
    memcpy(emb, specials, sizeof specials);
    for (int i = 0; i < 13; i++)
        ids[i] = i * 1000003 - 7;
    ids[0] = INT32_MIN;
    ids[12] = INT32_MAX;
    for (int i = 0; i < 24; i++)
        w4[i] = 1.0f / (float)(i + 1);
    for (int i = 0; i < 6; i++)
        refd[i] = (float)(i * i);
    uint64_t nb = 0x7ff8000000abcdefULL, nz = 0x8000000000000000ULL, dn = 1;
    memcpy(&nan_payload, &nb, 8);
    memcpy(&neg_zero, &nz, 8);
    memcpy(&denorm, &dn, 8);
    for (int i = 0; i < 300; i++)
        long_str[i] = (char)('a' + i % 26);
    long_str[300] = '\0';
}

static tts_mf_writer *sample_writer(void)
{
    tts_mf_writer *w = tts_mf_writer_new();
    int rc = 0;
    rc |= tts_mf_set_str(w, "name", "kathleen");
    rc |= tts_mf_set_str(w, "empty", "");
    rc |= tts_mf_set_str(w, "utf8", "na\xc3\xafve caf\xc3\xa9 \xe2\x9c\x93");
    rc |= tts_mf_set_str(w, "long", long_str);
    rc |= tts_mf_set_i64(w, "sample_rate", 16000);
    rc |= tts_mf_set_i64(w, "min", INT64_MIN);
    rc |= tts_mf_set_i64(w, "max", INT64_MAX);
    rc |= tts_mf_set_f64(w, "pi", 3.141592653589793);
    rc |= tts_mf_set_f64(w, "nan", nan_payload);
    rc |= tts_mf_set_f64(w, "negzero", neg_zero);
    rc |= tts_mf_set_f64(w, "denorm", denorm);
    rc |= tts_mf_set_f64(w, "inf", -INFINITY);
    rc |= tts_mf_set_i64(w, "replaced", 1);
    rc |= tts_mf_set_str(w, "replaced", "second");
    CHECK(rc == 0, "setting metadata failed");

    float src[EMB_R * EMB_C];
    memcpy(src, emb, sizeof src);
    rc |= tts_mf_add_tensor(w, "emb", TTS_MF_F32, 2, (int64_t[]){ EMB_R, EMB_C }, src);
    src[5] = 12345.0f; /* copied: this must not reach the file */
    rc |= tts_mf_add_tensor(w, "ids", TTS_MF_I32, 1, (int64_t[]){ 13 }, ids);
    rc |= tts_mf_add_tensor(w, "bytes", TTS_MF_U8, 1, (int64_t[]){ 3 }, bytes3);
    rc |= tts_mf_add_tensor(w, "w4", TTS_MF_F32, 4, (int64_t[]){ 2, 3, 2, 2 }, w4);
    rc |= tts_mf_add_tensor(w, "scalar", TTS_MF_F32, 0, NULL, &scalar);
    rc |= tts_mf_add_tensor(w, "empty", TTS_MF_F32, 2, (int64_t[]){ 0, 4 }, NULL);
    rc |= tts_mf_add_tensor(w, "half", TTS_MF_F16, 1, (int64_t[]){ 5 }, half);
    rc |= tts_mf_add_tensor_ref(w, "ref", TTS_MF_F32, 2, (int64_t[]){ 2, 3 }, refd);
    CHECK(rc == 0, "adding tensors failed");
    return w;
}

static void verify_sample(const tts_mf *mf, const char *how)
{
    tts_err e;
    const char *s;
    int64_t i64;
    double f64;
    CHECK(tts_mf_version(mf) == TTS_MF_VERSION, "%s: version", how);
    CHECK(tts_mf_get_str(mf, "name", &s, &e) == 0 && strcmp(s, "kathleen") == 0, "%s", how);
    CHECK(tts_mf_get_str(mf, "empty", &s, &e) == 0 && strcmp(s, "") == 0, "%s", how);
    CHECK(tts_mf_get_str(mf, "utf8", &s, &e) == 0 &&
          strcmp(s, "na\xc3\xafve caf\xc3\xa9 \xe2\x9c\x93") == 0, "%s", how);
    CHECK(tts_mf_get_str(mf, "long", &s, &e) == 0 && strcmp(s, long_str) == 0, "%s", how);
    CHECK(tts_mf_get_str(mf, "replaced", &s, &e) == 0 && strcmp(s, "second") == 0, "%s", how);
    CHECK(tts_mf_get_i64(mf, "sample_rate", &i64, &e) == 0 && i64 == 16000, "%s", how);
    CHECK(tts_mf_get_i64(mf, "min", &i64, &e) == 0 && i64 == INT64_MIN, "%s", how);
    CHECK(tts_mf_get_i64(mf, "max", &i64, &e) == 0 && i64 == INT64_MAX, "%s", how);
    struct { const char *k; double v; } f[] = {
        { "pi", 3.141592653589793 }, { "nan", nan_payload }, { "negzero", neg_zero },
        { "denorm", denorm }, { "inf", -INFINITY } };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        f64 = 0;
        CHECK(tts_mf_get_f64(mf, f[i].k, &f64, &e) == 0 && memcmp(&f64, &f[i].v, 8) == 0,
              "%s: f64 '%s' not bit-identical", how, f[i].k);
    }
    CHECK(tts_mf_meta_count(mf) == 13, "%s: meta count %zu", how, tts_mf_meta_count(mf));
    for (size_t i = 1; i < tts_mf_meta_count(mf); i++)
        CHECK(strcmp(tts_mf_meta_key(mf, i - 1, NULL), tts_mf_meta_key(mf, i, NULL)) < 0,
              "%s: keys not sorted", how);
    CHECK(tts_mf_meta_key(mf, 13, NULL) == NULL, "%s", how);
    CHECK(tts_mf_has(mf, "pi") && !tts_mf_has(mf, "nope"), "%s", how);

    static const char *order[] = { "emb", "ids", "bytes", "w4", "scalar", "empty", "half",
                                   "ref" };
    CHECK(tts_mf_tensor_count(mf) == 8, "%s: tensor count", how);
    for (size_t i = 0; i < 8 && i < tts_mf_tensor_count(mf); i++) {
        const tts_mf_tensor *t = tts_mf_tensor_at(mf, i);
        CHECK(strcmp(t->name, order[i]) == 0, "%s: tensor %zu is '%s'", how, i, t->name);
        CHECK(tts_mf_find(mf, order[i]) == t, "%s: find '%s'", how, order[i]);
        CHECK((uintptr_t)t->data % 64 == 0, "%s: '%s' data %p not 64-byte aligned", how,
              t->name, t->data);
    }
    CHECK(tts_mf_tensor_at(mf, 8) == NULL && tts_mf_find(mf, "nope") == NULL, "%s", how);

    const float *fp;
    const int32_t *ip;
    const uint8_t *up;
    const tts_mf_tensor *t;
    CHECK(tts_mf_get_f32(mf, "emb", 2, (int64_t[]){ EMB_R, EMB_C }, &fp, &e) == 0 &&
          memcmp(fp, emb, sizeof emb) == 0, "%s: emb not bit-identical", how);
    CHECK(tts_mf_get_i32(mf, "ids", 1, (int64_t[]){ 13 }, &ip, &e) == 0 &&
          memcmp(ip, ids, sizeof ids) == 0, "%s: ids", how);
    CHECK(tts_mf_get_u8(mf, "bytes", 1, NULL, &up, &e) == 0 &&
          memcmp(up, bytes3, 3) == 0, "%s: bytes", how);
    CHECK(tts_mf_get_f32(mf, "w4", 4, (int64_t[]){ 2, 3, 2, 2 }, &fp, &e) == 0 &&
          memcmp(fp, w4, sizeof w4) == 0, "%s: w4", how);
    CHECK(tts_mf_get_f32(mf, "scalar", 0, NULL, &fp, &e) == 0 && *fp == 0.25f, "%s", how);
    CHECK(tts_mf_get(mf, "empty", TTS_MF_F32, 2, (int64_t[]){ 0, 4 }, &t, &e) == 0 &&
          t->count == 0 && t->nbytes == 0, "%s: empty", how);
    CHECK(tts_mf_get(mf, "half", TTS_MF_F16, 1, NULL, &t, &e) == 0 && t->nbytes == 10 &&
          memcmp(t->data, half, 10) == 0, "%s: half", how);
    CHECK(tts_mf_get_f32(mf, "ref", 2, (int64_t[]){ -1, 3 }, &fp, &e) == 0 &&
          memcmp(fp, refd, sizeof refd) == 0, "%s: ref", how);
    t = tts_mf_find(mf, "w4");
    CHECK(t && t->ndim == 4 && t->shape[0] == 2 && t->shape[1] == 3 && t->shape[2] == 2 &&
          t->shape[3] == 2 && t->count == 24 && t->nbytes == 96, "%s: w4 record", how);
}

/* ──────────────────────────────────── tests ───────────────────────────────────── */

static void test_xxh64(void)
{
    static const char *nob = "Nobody inspects the spammish repetition";
    CHECK(tts_mf_xxh64("", 0, 0) == 0xef46db3751d8e999ULL, "empty");
    CHECK(tts_mf_xxh64("abc", 3, 0) == 0x44bc2cf5ad770999ULL, "abc");
    CHECK(tts_mf_xxh64(nob, strlen(nob), 0) == 0xfbcea83c8a378bf1ULL, "nobody");
    uint8_t v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = (uint8_t)(i * 7 + 3);
    struct { size_t n; uint64_t h; } ref[] = {  /* from xxhsum -H1 */
        { 31, 0xa2aa5f33cc4a6119ULL }, { 32, 0x23c3c17ef790fd97ULL },
        { 33, 0x50a7cfc7ba588784ULL }, { 63, 0x5e3e54b431c7493cULL },
        { 64, 0x0eb64b3ef6eeb01fULL }, { 100, 0xa61f8d4c170fe531ULL },
        { 1000, 0x5f235fa033f1a3fbULL } };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
        CHECK(tts_mf_xxh64(v, ref[i].n, 0) == ref[i].h, "xxh64 of %zu bytes", ref[i].n);
}

static uint8_t *sample_file(const char *name, size_t *len)
{
    tts_err e = {0};
    tts_mf_writer *w = sample_writer();
    refd[0] = 42.0f; /* referenced: this change must reach the file */
    int rc = tts_mf_write(w, tpath(name), &e);
    CHECK(rc == 0, "write: %s", e.msg);
    tts_mf_writer_free(w);
    uint8_t *b = read_all(tpath(name), len);
    CHECK(b != NULL, "read back %s", name);
    return b;
}

static void test_round_trip(const uint8_t *b, size_t len)
{
    tts_err e = {0};
    tts_mf *mf = NULL;
    char tmpname[700];
    snprintf(tmpname, sizeof tmpname, "%s.tmp", tpath("sample.ttsm"));
    CHECK(!exists(tmpname), "temporary file left behind");

    CHECK(rd64(b + 16) == len, "file_size field %" PRIu64 " vs %zu", rd64(b + 16), len);
    CHECK(rd64(b + 56) == doc_checksum(b, len), "checksum is not as documented");
    CHECK(memcmp(b, "LIBTTS\0M", 8) == 0 && rd32(b + 8) == 1 && rd32(b + 12) == 64,
          "header start");

    int rc = tts_mf_open(&mf, tpath("sample.ttsm"), &e);
    CHECK(rc == 0 && mf, "open: %s", e.msg);
    if (mf) {
        verify_sample(mf, "mmap");
        CHECK(tts_mf_stored_checksum(mf) == rd64(b + 56), "stored checksum");
        tts_mf_close(mf);
    }
    mf = NULL;
    rc = tts_mf_open_memory(&mf, b, len, &e);
    CHECK(rc == 0 && mf, "open_memory: %s", e.msg);
    if (mf) {
        verify_sample(mf, "memory");
        tts_mf_close(mf);
    }
    mf = NULL;
    rc = tts_mf_open_ex(&mf, tpath("sample.ttsm"), TTS_MF_NO_CHECKSUM, &e);
    CHECK(rc == 0 && mf, "open without checksum: %s", e.msg);
    if (mf)
        verify_sample(mf, "mmap, no checksum");
    tts_mf_close(mf);
}

static void test_empty_and_big(void)
{
    tts_err e = {0};
    tts_mf *mf = NULL;
    tts_mf_writer *w = tts_mf_writer_new();
    CHECK(tts_mf_write(w, tpath("empty.ttsm"), &e) == 0, "%s", e.msg);
    tts_mf_writer_free(w);
    struct stat st;
    CHECK(stat(tpath("empty.ttsm"), &st) == 0 && st.st_size == 64, "empty file size");
    CHECK(tts_mf_open(&mf, tpath("empty.ttsm"), &e) == 0, "%s", e.msg);
    CHECK(tts_mf_meta_count(mf) == 0 && tts_mf_tensor_count(mf) == 0, "empty contents");
    tts_mf_close(mf);
    unlink(tpath("empty.ttsm"));

    /* Tensors larger than the writer's buffer, at odd sizes. */
    size_t n1 = 100003, n2 = 70001;
    float *a = malloc(n1 * sizeof *a);
    uint8_t *c = malloc(n2);
    for (size_t i = 0; i < n1; i++)
        a[i] = (float)i * 1e-3f;
    for (size_t i = 0; i < n2; i++)
        c[i] = (uint8_t)(i * 31);
    w = tts_mf_writer_new();
    tts_mf_add_tensor_ref(w, "c", TTS_MF_U8, 1, (int64_t[]){ (int64_t)n2 }, c);
    tts_mf_add_tensor_ref(w, "a", TTS_MF_F32, 2, (int64_t[]){ 1, (int64_t)n1 }, a);
    CHECK(tts_mf_write(w, tpath("big.ttsm"), &e) == 0, "%s", e.msg);
    tts_mf_writer_free(w);
    mf = NULL;
    CHECK(tts_mf_open(&mf, tpath("big.ttsm"), &e) == 0, "%s", e.msg);
    const float *fa = NULL;
    const uint8_t *fc = NULL;
    CHECK(tts_mf_get_f32(mf, "a", 2, (int64_t[]){ 1, (int64_t)n1 }, &fa, &e) == 0 &&
          memcmp(fa, a, n1 * sizeof *a) == 0, "big f32: %s", e.msg);
    CHECK(tts_mf_get_u8(mf, "c", 1, NULL, &fc, &e) == 0 && memcmp(fc, c, n2) == 0,
          "big u8: %s", e.msg);
    CHECK((uintptr_t)fa % 64 == 0 && (uintptr_t)fc % 64 == 0, "big alignment");
    tts_mf_close(mf);
    unlink(tpath("big.ttsm"));
    free(a);
    free(c);
}

static void test_truncation(const uint8_t *b, size_t len)
{
    tts_err e;
    int tested = 0;
    for (size_t k = 0; k <= len + 1; k += (k < 80 || k + stride > len) ? 1 : stride) {
        tts_mf *mf = (tts_mf *)1;
        uint8_t *buf = NULL;
        size_t n = k;
        if (k == len)
            continue; /* the intact file */
        if (k == len + 1) { /* one byte too many */
            buf = malloc(n);
            memcpy(buf, b, len);
            buf[len] = 0;
        } else if (n) {
            buf = malloc(n); /* exact size, so valgrind sees any over-read */
            memcpy(buf, b, n);
        }
        const char *p = tpath("trunc.ttsm");
        CHECK(write_raw(p, buf, n) == 0, "writing %s", p);
        e.code = 0;
        int rc = tts_mf_open(&mf, p, &e);
        CHECK(rc == TTS_E_FORMAT && e.code == rc && mf == NULL && e.msg[0],
              "file cut to %zu bytes: rc %d (%s)", k, rc, e.msg);
        if (k >= 64 && k < len)
            CHECK(strstr(e.msg, "truncated: expected") && strstr(e.msg, p),
                  "cut to %zu: message '%s'", k, e.msg);
        if (k == len + 1)
            CHECK(strstr(e.msg, "trailing data"), "one extra byte: '%s'", e.msg);
        mf = (tts_mf *)1;
        rc = tts_mf_open_memory(&mf, buf, n, &e);
        CHECK(rc == TTS_E_FORMAT && mf == NULL, "memory cut to %zu: rc %d (%s)", k, rc, e.msg);
        rc = tts_mf_open_memory_ex(&mf, buf, n, TTS_MF_NO_CHECKSUM, &e);
        CHECK(rc == TTS_E_FORMAT && mf == NULL, "memory cut to %zu, no checksum: rc %d", k,
              rc);
        free(buf);
        tested++;
    }
    unlink(tpath("trunc.ttsm"));
    printf("truncation: %d lengths of 0..%zu tested\n", tested, len + 1);
}

static void test_flips(const uint8_t *b, size_t len)
{
    static const uint8_t masks[] = { 0x01, 0x80, 0xff };
    tts_err e;
    uint8_t *buf = malloc(len);
    int n = 0, accepted_nocheck = 0;
    for (size_t pos = 0; pos < len; pos += pos < 64 ? 1 : stride) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(buf, b, len);
            buf[pos] ^= masks[m];
            tts_mf *mf = NULL;
            int rc = tts_mf_open_memory(&mf, buf, len, &e);
            CHECK(rc == TTS_E_FORMAT && mf == NULL,
                  "byte %zu ^ 0x%02x accepted with checksum on (rc %d)", pos, masks[m], rc);
            tts_mf_close(mf);
            if (pos < 8)
                CHECK(strstr(e.msg, "not a libtts model file"), "magic flip: '%s'", e.msg);
            else if (pos >= 8 && pos < 12)
                CHECK(strstr(e.msg, "model file version"), "version flip: '%s'", e.msg);
            else if (pos >= 64)
                CHECK(strstr(e.msg, "checksum mismatch"), "body flip %zu: '%s'", pos, e.msg);
            /* Without the checksum the structure checks alone must keep every access in
             * bounds: accept or refuse, but never crash or over-read (run under valgrind). */
            mf = NULL;
            rc = tts_mf_open_memory_ex(&mf, buf, len, TTS_MF_NO_CHECKSUM, &e);
            CHECK(rc == TTS_OK || rc == TTS_E_FORMAT, "byte %zu, no checksum: rc %d", pos, rc);
            if (rc == TTS_OK) {
                touch_all(mf);
                accepted_nocheck++;
            }
            tts_mf_close(mf);
            n++;
        }
    }
    /* A few header flips through the mmap path as well. */
    const char *p = tpath("flip.ttsm");
    for (size_t pos = 0; pos < 64; pos += 5) {
        memcpy(buf, b, len);
        buf[pos] ^= 0x10;
        write_raw(p, buf, len);
        tts_mf *mf = NULL;
        int rc = tts_mf_open(&mf, p, &e);
        CHECK(rc == TTS_E_FORMAT && mf == NULL, "file byte %zu flipped: rc %d", pos, rc);
    }
    unlink(p);
    free(buf);
    printf("flips: %d corrupted images refused with checksum on; %d accepted with checksum "
           "off and read in full\n", n, accepted_nocheck);
}

/* Structural damage behind a valid checksum: the structure checks must catch it. */
static void expect_bad(const uint8_t *img, size_t len, const char *what, const char *needle)
{
    tts_err e = {0};
    tts_mf *mf = NULL;
    uint8_t *buf = malloc(len);
    memcpy(buf, img, len);
    restamp(buf, len);
    int rc = tts_mf_open_memory(&mf, buf, len, &e);
    CHECK(rc == TTS_E_FORMAT && mf == NULL && strstr(e.msg, needle),
          "%s: rc %d, message '%s', wanted '%s'", what, rc, e.msg, needle);
    tts_mf_close(mf);
    mf = NULL;
    rc = tts_mf_open_memory_ex(&mf, buf, len, TTS_MF_NO_CHECKSUM, &e);
    CHECK(rc == TTS_E_FORMAT && mf == NULL, "%s (no checksum): rc %d", what, rc);
    tts_mf_close(mf);
    free(buf);
}

static void test_structure(const uint8_t *b, size_t len)
{
    uint8_t *c = malloc(len);
    size_t emb_e = tensor_entry(b, "emb"), ids_e = tensor_entry(b, "ids"),
           w4_e = tensor_entry(b, "w4");
    size_t min_e = meta_entry(b, "min"), name_e = meta_entry(b, "name");
    CHECK(emb_e && ids_e && w4_e && min_e && name_e, "layout walkers found no entries");
    if (!(emb_e && ids_e && w4_e && min_e && name_e)) {
        free(c);
        return;
    }
#define MUT(stmt, what, needle)              \
    do {                                     \
        memcpy(c, b, len);                   \
        stmt;                                \
        expect_bad(c, len, what, needle);    \
    } while (0)
    MUT(wr32(c + 12, 32), "header size 32", "bad header size");
    MUT(wr32(c + 12, 68), "header size 68", "bad header size");
    MUT(wr64(c + 32, 72), "meta offset", "metadata offset");
    MUT(wr64(c + 40, rd64(c + 40) + 4), "table offset misaligned", "bad tensor table offset");
    MUT(wr64(c + 40, len + 8), "table offset past end", "bad tensor table offset");
    MUT(wr64(c + 48, rd64(c + 48) + 64), "data offset moved", "");
    MUT(wr64(c + 48, (len + 64) & ~63ull), "data offset past end", "bad data offset");
    MUT(wr64(c + 48, UINT64_MAX & ~63ull), "data offset huge", "bad data offset");
    MUT(wr32(c + 24, 0xffffffffu), "n_meta huge", "cannot fit");
    MUT(wr32(c + 28, 0xffffffffu), "n_tensors huge", "cannot fit");
    MUT(wr32(c + 24, rd32(c + 24) - 1), "n_meta - 1", "metadata block ends");
    MUT(wr32(c + 28, rd32(c + 28) + 1), "n_tensors + 1", "");
    MUT(wr32(c + min_e, 7), "meta type 7", "unknown value type");
    MUT(wr32(c + min_e + 4, 0xffffffffu), "key length huge", "bad key length");
    MUT(wr32(c + min_e + 4, 0), "key length 0", "bad key length");
    MUT(wr32(c + min_e + 8, 4), "i64 of 4 bytes", "expected 8");
    MUT(wr32(c + name_e + 8, 0xfffffff0u), "string length huge", "runs past");
    MUT(c[name_e + 12 + 4] = 'X', "key not NUL-terminated", "NUL-terminated");
    MUT(c[name_e + 12 + 5 + 8] = 'X', "string not NUL-terminated", "NUL-terminated");
    MUT(c[name_e + 12 + 5 + 2] = 0, "NUL inside string", "NUL-terminated");
    MUT(memcpy(c + name_e + 12, "long", 4), "duplicate key", "appears twice");
    MUT(wr32(c + emb_e, 0xffffffffu), "name length huge", "bad name length");
    MUT(c[emb_e + 64 + 3] = 'X', "name not NUL-terminated", "NUL-terminated");
    MUT(wr32(c + emb_e + 4, 9), "dtype 9", "unknown dtype");
    MUT(wr32(c + emb_e + 8, 5), "ndim 5", "dimensions");
    MUT(wr32(c + emb_e + 8, 3), "ndim 3 (unused dim 0)", "");
    MUT(wr32(c + emb_e + 12, 1), "reserved", "reserved");
    MUT(wr64(c + emb_e + 40, 1), "unused dim set", "unused dimension");
    MUT((wr64(c + emb_e + 16, 1ull << 62), wr64(c + emb_e + 24, 1ull << 62)),
        "shape overflow", "overflows");
    MUT(wr64(c + emb_e + 16, 1ull << 63), "dimension > INT64_MAX", "overflows");
    MUT(wr64(c + emb_e + 16, 6), "shape/nbytes mismatch", "needs");
    MUT(wr64(c + emb_e + 56, rd64(c + emb_e + 56) + 4), "nbytes + 4", "needs");
    MUT(wr64(c + emb_e + 48, rd64(c + emb_e + 48) + 4), "offset misaligned", "aligned");
    MUT(wr64(c + w4_e + 48, (len + 63) & ~63ull), "offset past end", "outside");
    MUT(wr64(c + w4_e + 48, rd64(c + 48) - 64), "offset before data", "outside");
    MUT(wr64(c + w4_e + 48, UINT64_MAX & ~63ull), "offset huge", "outside");
    MUT(wr64(c + ids_e + 48, rd64(c + emb_e + 48)), "overlap", "overlap");
    MUT(memcpy(c + ids_e + 64, "emb", 3), "duplicate tensor name", "appears twice");
#undef MUT
    free(c);
}

static void test_version_magic_missing(const uint8_t *b, size_t len)
{
    tts_err e;
    tts_mf *mf;
    uint8_t *c = malloc(len);
    const char *p = tpath("bad.ttsm");

    memcpy(c, b, len);
    wr32(c + 8, 2);
    restamp(c, len);
    write_raw(p, c, len);
    mf = (tts_mf *)1;
    int rc = tts_mf_open(&mf, p, &e);
    CHECK(rc == TTS_E_FORMAT && mf == NULL &&
          strstr(e.msg, "model file version 2, this build reads 1") && strstr(e.msg, p),
          "version 2: rc %d '%s'", rc, e.msg);
    wr32(c + 8, 0);
    restamp(c, len);
    rc = tts_mf_open_memory(&mf, c, len, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "model file version 0"), "version 0: '%s'",
          e.msg);

    memcpy(c, b, len);
    c[0] = 'X';
    restamp(c, len);
    write_raw(p, c, len);
    rc = tts_mf_open(&mf, p, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "not a libtts model file"), "magic: '%s'",
          e.msg);
    write_raw(p, "RIFF\x24\0\0\0WAVEfmt ", 16);
    rc = tts_mf_open(&mf, p, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "not a libtts model file"), "wav: '%s'", e.msg);
    write_raw(p, "", 0);
    rc = tts_mf_open(&mf, p, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "truncated"), "empty file: '%s'", e.msg);
    unlink(p);

    const char *missing = tpath("no-such-model.ttsm");
    mf = (tts_mf *)1;
    rc = tts_mf_open(&mf, missing, &e);
    CHECK(rc == TTS_E_IO && mf == NULL && strstr(e.msg, missing) &&
          strstr(e.msg, strerror(ENOENT)), "missing: rc %d '%s'", rc, e.msg);
    rc = tts_mf_open(&mf, tmpdir, &e);
    CHECK(rc == TTS_E_IO && strstr(e.msg, tmpdir), "directory: rc %d '%s'", rc, e.msg);
    CHECK(tts_mf_open(&mf, NULL, &e) == TTS_E_INVALID, "NULL path");
    CHECK(tts_mf_open_memory(&mf, NULL, 5, &e) == TTS_E_INVALID, "NULL buffer");
    free(c);
}

static void test_checked_getters(void)
{
    tts_err e;
    tts_mf *mf = NULL;
    const float *fp = (const float *)1;
    CHECK(tts_mf_open(&mf, tpath("sample.ttsm"), &e) == 0, "%s", e.msg);
    if (!mf)
        return;
    int rc = tts_mf_get_f32(mf, "ids", 1, NULL, &fp, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "'ids'") && strstr(e.msg, "i32") &&
          strstr(e.msg, "expected f32"), "dtype: '%s'", e.msg);
    rc = tts_mf_get_f32(mf, "emb", 3, NULL, &fp, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "'emb'") && strstr(e.msg, "2 dimensions [5, 7]")
          && strstr(e.msg, "expected 3"), "ndim: '%s'", e.msg);
    rc = tts_mf_get_f32(mf, "emb", 2, (int64_t[]){ 5, 8 }, &fp, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "'emb'") && strstr(e.msg, "shape [5, 7]") &&
          strstr(e.msg, "expected [5, 8]"), "shape: '%s'", e.msg);
    rc = tts_mf_get_f32(mf, "emb", 2, (int64_t[]){ -1, 8 }, &fp, &e);
    CHECK(rc == TTS_E_FORMAT, "wildcard + wrong dim accepted");
    rc = tts_mf_get_f32(mf, "emb", 2, (int64_t[]){ -1, -1 }, &fp, &e);
    CHECK(rc == 0, "wildcards: '%s'", e.msg);
    rc = tts_mf_get_f32(mf, "decoder.w", 2, NULL, &fp, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "no tensor 'decoder.w'"), "missing: '%s'",
          e.msg);
    int32_t dummy;
    const int32_t *ip = &dummy;
    rc = tts_mf_get_i32(mf, "emb", 2, NULL, &ip, &e);
    CHECK(rc == TTS_E_FORMAT && ip == &dummy, "i32 getter on f32 tensor changed output");

    int64_t v;
    double d;
    const char *s;
    rc = tts_mf_get_i64(mf, "hop_length", &v, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "'hop_length'"), "missing key: '%s'", e.msg);
    rc = tts_mf_get_i64(mf, "name", &v, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "'name'") && strstr(e.msg, "string"),
          "type: '%s'", e.msg);
    rc = tts_mf_get_f64(mf, "sample_rate", &d, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "'sample_rate'"), "i64 as f64: '%s'", e.msg);
    rc = tts_mf_get_str(mf, "pi", &s, &e);
    CHECK(rc == TTS_E_FORMAT && strstr(e.msg, "'pi'"), "f64 as str: '%s'", e.msg);
    tts_mf_close(mf);
}

static void test_writer_errors(void)
{
    tts_err e;
    tts_mf *mf = NULL;
    float x[4] = { 1, 2, 3, 4 };

    tts_mf_writer *w = tts_mf_writer_new();
    CHECK(tts_mf_set_str(w, "", "v") == TTS_E_INVALID, "empty key");
    CHECK(tts_mf_set_i64(w, "ok", 1) == 0, "good key after bad");
    CHECK(tts_mf_write(w, tpath("w.ttsm"), &e) == TTS_E_INVALID && strstr(e.msg, "key"),
          "sticky error: '%s'", e.msg);
    CHECK(!exists(tpath("w.ttsm")), "file written despite error");
    tts_mf_writer_free(w);

    char longname[300];
    memset(longname, 'n', 299);
    longname[299] = 0;
    struct { const char *name; int dtype, ndim; int64_t shape[5]; const void *data;
             const char *needle; } bad[] = {
        { longname, TTS_MF_F32, 1, { 4 }, x, "name" },
        { "t", 0, 1, { 4 }, x, "dtype" },
        { "t", TTS_MF_F32, 5, { 1, 1, 1, 1, 4 }, x, "ndim" },
        { "t", TTS_MF_F32, 1, { -4 }, x, "negative" },
        { "t", TTS_MF_F32, 2, { INT64_MAX, 4 }, x, "too large" },
        { "t", TTS_MF_F32, 1, { 4 }, NULL, "NULL data" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        w = tts_mf_writer_new();
        int rc = tts_mf_add_tensor(w, bad[i].name, (tts_mf_dtype)bad[i].dtype, bad[i].ndim,
                                   bad[i].shape, bad[i].data);
        CHECK(rc == TTS_E_INVALID, "bad tensor %zu accepted", i);
        rc = tts_mf_write(w, tpath("w.ttsm"), &e);
        CHECK(rc == TTS_E_INVALID && strstr(e.msg, bad[i].needle), "bad tensor %zu: '%s'", i,
              e.msg);
        tts_mf_writer_free(w);
    }

    w = tts_mf_writer_new();
    tts_mf_add_tensor(w, "dup", TTS_MF_F32, 1, (int64_t[]){ 4 }, x);
    tts_mf_add_tensor(w, "other", TTS_MF_F32, 1, (int64_t[]){ 4 }, x);
    tts_mf_add_tensor(w, "dup", TTS_MF_F32, 1, (int64_t[]){ 2 }, x);
    int rc = tts_mf_write(w, tpath("w.ttsm"), &e);
    CHECK(rc == TTS_E_INVALID && strstr(e.msg, "'dup'"), "duplicate tensor: '%s'", e.msg);
    CHECK(!exists(tpath("w.ttsm")), "file written despite duplicate");
    tts_mf_writer_free(w);

    /* Unwritable destinations: TTS_E_IO naming the path; nothing half-written. */
    w = tts_mf_writer_new();
    tts_mf_set_i64(w, "generation", 2);
    const char *nodir = tpath("no/such/dir/m.ttsm");
    rc = tts_mf_write(w, nodir, &e);
    CHECK(rc == TTS_E_IO && strstr(e.msg, nodir) && strstr(e.msg, strerror(ENOENT)),
          "no dir: rc %d '%s'", rc, e.msg);

    /* An existing good file survives a failed replacement. */
    tts_mf_writer *w1 = tts_mf_writer_new();
    tts_mf_set_i64(w1, "generation", 1);
    CHECK(tts_mf_write(w1, tpath("keep.ttsm"), &e) == 0, "%s", e.msg);
    tts_mf_writer_free(w1);
    char tmpname[700];
    snprintf(tmpname, sizeof tmpname, "%s.tmp", tpath("keep.ttsm"));
    CHECK(mkdir(tmpname, 0700) == 0, "mkdir %s", tmpname); /* blocks the temporary file */
    rc = tts_mf_write(w, tpath("keep.ttsm"), &e);
    CHECK(rc == TTS_E_IO && strstr(e.msg, tmpname), "blocked tmp: rc %d '%s'", rc, e.msg);
    rmdir(tmpname);
    int64_t gen = 0;
    CHECK(tts_mf_open(&mf, tpath("keep.ttsm"), &e) == 0 &&
          tts_mf_get_i64(mf, "generation", &gen, &e) == 0 && gen == 1,
          "old file damaged by failed write: %s", e.msg);

    /* Replacing a file that is open: the open mapping keeps the old contents. */
    rc = tts_mf_write(w, tpath("keep.ttsm"), &e);
    CHECK(rc == 0, "replace: %s", e.msg);
    CHECK(tts_mf_get_i64(mf, "generation", &gen, &e) == 0 && gen == 1, "old mapping changed");
    tts_mf_close(mf);
    mf = NULL;
    CHECK(tts_mf_open(&mf, tpath("keep.ttsm"), &e) == 0 &&
          tts_mf_get_i64(mf, "generation", &gen, &e) == 0 && gen == 2, "new file: %s", e.msg);
    CHECK(!exists(tmpname), "temporary file left behind");
    tts_mf_close(mf);
    unlink(tpath("keep.ttsm"));
    tts_mf_writer_free(w);
}

int main(void)
{
    const char *sv = getenv("TTS_MF_TEST_STRIDE");
    if (sv && atoi(sv) > 1)
        stride = (size_t)atoi(sv);
    const char *td = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_modelfile.XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    fill_sample();

    test_xxh64();
    size_t len = 0;
    uint8_t *b = sample_file("sample.ttsm", &len);
    if (b) {
        printf("sample file: %zu bytes\n", len);
        test_round_trip(b, len);
        test_truncation(b, len);
        test_flips(b, len);
        test_structure(b, len);
        test_version_magic_missing(b, len);
        test_checked_getters();
    }
    test_empty_and_big();
    test_writer_errors();

    free(b);
    unlink(tpath("sample.ttsm"));
    if (rmdir(tmpdir) != 0) {
        fprintf(stderr, "FAIL: temp dir %s not empty: %s\n", tmpdir, strerror(errno));
        failures++;
    }
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
