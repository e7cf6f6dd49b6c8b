/*
 * Model file: the one versioned binary container libtts uses for shipped models,
 * training checkpoints and the dataset cache. Typed key → value metadata plus named,
 * 64-byte aligned tensors, read through a read-only mmap and validated at open.
 *
 * ───────────────────────────── Layout, format version 1 ─────────────────────────────
 * All integers are little-endian. Offsets are absolute byte offsets from the start of
 * the file. "pad8"/"pad64" = zero bytes up to the next multiple of 8 / 64.
 *
 *   Header (header_size bytes; 64 in version 1)
 *     off  size  field
 *       0     8  magic                "LIBTTS\0M"
 *       8     4  version      u32     1 (TTS_MF_VERSION)
 *      12     4  header_size  u32     64; multiple of 8, >= 64 (later fields may follow)
 *      16     8  file_size    u64     total length of the file in bytes
 *      24     4  n_meta       u32     number of metadata entries
 *      28     4  n_tensors    u32     number of tensors
 *      32     8  meta_offset  u64     == header_size
 *      40     8  table_offset u64     tensor table; == end of the metadata block
 *      48     8  data_offset  u64     == table end rounded up to 64; data region start
 *      56     8  checksum     u64     XXH64 (seed 0) of the WHOLE file, with these
 *                                     8 bytes read as zero (so the header is covered)
 *
 *   Metadata block at meta_offset: n_meta entries, back to back, each
 *       u32 type        1 = string, 2 = i64, 3 = f64 (IEEE-754 binary64 bit pattern)
 *       u32 key_len     1..TTS_MF_NAME_MAX, bytes, excluding the NUL
 *       u32 value_len   string: bytes excluding the NUL; i64/f64: 8
 *       key[key_len] '\0'                 (no NUL inside the key; keys are unique)
 *       value[value_len] ('\0' if string) (no NUL inside a string value)
 *       pad8
 *
 *   Tensor table at table_offset: n_tensors entries, back to back, each
 *       u32 name_len    1..TTS_MF_NAME_MAX, excluding the NUL
 *       u32 dtype       tts_mf_dtype: 1 f32, 2 i32, 3 u8, 4 f16 (reserved: no getter yet),
 *                       5 i8 (two's complement; no typed getter)
 *       u32 ndim        0..4 (0 = scalar, one element)
 *       u32 reserved    0
 *       u64 shape[4]    shape[i] for i < ndim; 0 for i >= ndim
 *       u64 offset      multiple of 64, >= data_offset
 *       u64 nbytes      == product(shape) × dtype size; offset + nbytes <= file_size
 *       name[name_len] '\0'                (no NUL inside; names are unique)
 *       pad8
 *   then pad64 up to data_offset.
 *
 *   Data region [data_offset, file_size): tensor data, row-major, little-endian,
 *   each tensor at its 64-aligned offset; tensors never overlap (empty ones may share
 *   an offset). The writer ends the file right after the last tensor's bytes (or at
 *   data_offset when there are none); gaps between tensors are zero padding.
 *
 * The reader checks all of this, with overflow-safe arithmetic, before handing out a
 * single pointer: any violation is TTS_E_FORMAT with a message naming the file and the
 * field (and the key or tensor where there is one). A reader of version 1 refuses other
 * versions. This implementation runs on little-endian hosts only.
 *
 * Thread safety: a tts_mf is immutable after open; any number of threads may read one
 * at once. A tts_mf_writer is used by one thread at a time.
 *
 * Fuzzing: tts_mf_open_memory() runs the same validation as tts_mf_open(), e.g.
 *     int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
 *         tts_mf *mf; tts_err e;
 *         if (tts_mf_open_memory_ex(&mf, d, n, TTS_MF_NO_CHECKSUM, &e) == 0) {
 *             ...touch every tensor and value...; tts_mf_close(mf); }
 *         return 0; }
 */
#ifndef TTS_NN_MODELFILE_H
#define TTS_NN_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TTS_MF_MAGIC "LIBTTS\0M" /* 8 bytes, the NUL included */
#define TTS_MF_VERSION 1u
#define TTS_MF_HEADER_SIZE 64u
#define TTS_MF_ALIGN 64u    /* alignment of every tensor's data, in the file and memory */
#define TTS_MF_MAX_DIMS 4
#define TTS_MF_NAME_MAX 255 /* longest key or tensor name, in bytes */

typedef enum {
    TTS_MF_F32 = 1,
    TTS_MF_I32 = 2,
    TTS_MF_U8 = 3,
    TTS_MF_F16 = 4, /* reserved: stored and read as raw 2-byte elements, no typed getter */
    TTS_MF_I8 = 5   /* signed bytes, read raw (the quantized parameters of nn/params_io.h) */
} tts_mf_dtype;

typedef enum {
    TTS_MF_STR = 1,
    TTS_MF_I64 = 2,
    TTS_MF_F64 = 3
} tts_mf_type;

/* Size in bytes of one element of dtype, 0 if dtype is unknown. */
size_t tts_mf_dtype_size(int dtype);
/* "f32", "i32", "u8", "f16", "i8" or "unknown". */
const char *tts_mf_dtype_name(int dtype);

/* XXH64 of data (the file checksum's hash; matches `xxhsum -H1` for seed 0). */
uint64_t tts_mf_xxh64(const void *data, size_t len, uint64_t seed);

/* ─────────────────────────────────── Writer ─────────────────────────────────────── */

typedef struct tts_mf_writer tts_mf_writer;

/* New, empty writer; NULL when out of memory. */
tts_mf_writer *tts_mf_writer_new(void);
/* Frees the writer and every copy it holds (NULL is fine). Referenced data is untouched. */
void tts_mf_writer_free(tts_mf_writer *w);

/*
 * Metadata. The key and string value are copied. Setting a key again replaces its value
 * (and type). Each returns 0 or a negative tts_status; the first failure (bad key, NUL in
 * a key, out of memory, ...) is also remembered and tts_mf_write() reports it with a
 * message, so a caller may check only tts_mf_write()'s result.
 */
int tts_mf_set_str(tts_mf_writer *w, const char *key, const char *value);
int tts_mf_set_i64(tts_mf_writer *w, const char *key, int64_t value);
int tts_mf_set_f64(tts_mf_writer *w, const char *key, double value);

/*
 * Tensors, written in the order added. shape has ndim (0..4) entries >= 0; data holds
 * product(shape) elements of dtype (may be NULL when that product is 0).
 * tts_mf_add_tensor COPIES data now; tts_mf_add_tensor_ref only REFERENCES it: the
 * caller keeps it alive and unchanged until the last tts_mf_write() has returned
 * (use it for big parameter blocks, to avoid a second copy). Same error rules as above;
 * a name added twice makes tts_mf_write fail (TTS_E_INVALID naming it).
 */
int tts_mf_add_tensor(tts_mf_writer *w, const char *name, tts_mf_dtype dtype, int ndim,
                      const int64_t *shape, const void *data);
int tts_mf_add_tensor_ref(tts_mf_writer *w, const char *name, tts_mf_dtype dtype,
                          int ndim, const int64_t *shape, const void *data);

/*
 * Writes everything to path: to "<path>.tmp" first, then fsync, rename over path, and
 * fsync of the directory, so a crash never leaves a half-written file under the real
 * name (an old file at path stays intact until the rename). On failure "<path>.tmp" is
 * removed. Errors: TTS_E_IO naming the path and strerror (full disk, no directory, ...),
 * or the remembered set/add failure. The writer stays usable and may write again.
 */
int tts_mf_write(tts_mf_writer *w, const char *path, tts_err *err);

/* ─────────────────────────────────── Reader ─────────────────────────────────────── */

typedef struct tts_mf tts_mf;

typedef struct {
    const char *name;           /* NUL-terminated, inside the file */
    tts_mf_dtype dtype;
    int ndim;                   /* 0..4 */
    int64_t shape[TTS_MF_MAX_DIMS]; /* unused dimensions are 0 */
    int64_t count;              /* number of elements, product of shape (1 if ndim is 0) */
    size_t nbytes;              /* count × tts_mf_dtype_size(dtype) */
    const void *data;           /* 64-byte aligned, read-only, valid until tts_mf_close */
} tts_mf_tensor;

/* Flags for the *_ex openers. */
#define TTS_MF_NO_CHECKSUM 1u   /* skip the checksum (huge files); structure still checked */

/*
 * Opens and validates the model file at path (read-only mmap). Checksum verified.
 * Errors: TTS_E_IO (missing/unreadable file: message names path and strerror),
 * TTS_E_FORMAT (not a libtts model file, wrong version, truncated, checksum mismatch,
 * bad offsets, ...), TTS_E_NOMEM. On failure *out is NULL.
 * Do not truncate or rewrite a file in place while it is open (tts_mf_write replaces
 * files by rename, which is safe).
 */
int tts_mf_open(tts_mf **out, const char *path, tts_err *err);
int tts_mf_open_ex(tts_mf **out, const char *path, unsigned flags, tts_err *err);

/*
 * Same validation on an in-memory image of a file. The buffer is COPIED (into 64-byte
 * aligned memory), so the caller may free it at once. Messages name "<memory>".
 */
int tts_mf_open_memory(tts_mf **out, const void *buf, size_t len, tts_err *err);
int tts_mf_open_memory_ex(tts_mf **out, const void *buf, size_t len, unsigned flags,
                          tts_err *err);

/* Unmaps/frees everything; every pointer obtained from mf becomes invalid. NULL is fine. */
void tts_mf_close(tts_mf *mf);

/* Format version and stored checksum of the open file (the checksum identifies it). */
uint32_t tts_mf_version(const tts_mf *mf);
uint64_t tts_mf_stored_checksum(const tts_mf *mf);

/*
 * Metadata getters. Missing key, or a value of another type, → TTS_E_FORMAT with a
 * message naming the key. String values point into the file (NUL-terminated, valid
 * until tts_mf_close).
 */
int tts_mf_get_str(const tts_mf *mf, const char *key, const char **value, tts_err *err);
int tts_mf_get_i64(const tts_mf *mf, const char *key, int64_t *value, tts_err *err);
int tts_mf_get_f64(const tts_mf *mf, const char *key, double *value, tts_err *err);
/* 1 if key exists (of any type), 0 if not. */
int tts_mf_has(const tts_mf *mf, const char *key);
/* Number of metadata entries, and the i-th key (sorted by key, bytewise) and its type;
 * NULL if i is out of range. */
size_t tts_mf_meta_count(const tts_mf *mf);
const char *tts_mf_meta_key(const tts_mf *mf, size_t i, tts_mf_type *type);

/* Tensors: count, i-th in file order (NULL if out of range), lookup by name (NULL if none). */
size_t tts_mf_tensor_count(const tts_mf *mf);
const tts_mf_tensor *tts_mf_tensor_at(const tts_mf *mf, size_t i);
const tts_mf_tensor *tts_mf_find(const tts_mf *mf, const char *name);

/*
 * Checked getters: the tensor must exist, have this dtype, ndim dimensions and, when
 * expected_shape is not NULL, that shape (an entry of -1 matches any size). Every
 * failure is TTS_E_FORMAT with a message naming the tensor, what was expected and what
 * the file holds. On success *data points at its elements (64-byte aligned); if
 * tensor is not NULL it receives the record (for the actual shape).
 */
int tts_mf_get(const tts_mf *mf, const char *name, tts_mf_dtype dtype, int ndim,
               const int64_t *expected_shape, const tts_mf_tensor **tensor, tts_err *err);
int tts_mf_get_f32(const tts_mf *mf, const char *name, int ndim,
                   const int64_t *expected_shape, const float **data, tts_err *err);
int tts_mf_get_i32(const tts_mf *mf, const char *name, int ndim,
                   const int64_t *expected_shape, const int32_t **data, tts_err *err);
int tts_mf_get_u8(const tts_mf *mf, const char *name, int ndim,
                  const int64_t *expected_shape, const uint8_t **data, tts_err *err);

#endif
