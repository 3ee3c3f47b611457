/* ckpt.h - the framing of replay-server checkpoint files: a streaming writer
 * over an atomic file and a streaming reader that verifies as it goes.
 *
 * A checkpoint is
 *     magic "DQRPLCKP" (8 bytes) | u32 version | u32 0x01020304 (byte order)
 *     | body (sections written by replay.c and table.c) | u64 FNV-1a of all
 *     bytes before it
 * Integers and floats are stored in host byte order; the byte-order word makes
 * a file from a host of the other order fail the header check. The writer goes
 * through dq_atomic_file_t (temporary, fsync, rename), so the path always holds
 * a complete old or new file. The reader hashes every byte it hands out and
 * ckpt_reader_finish compares the trailer and requires end of file, so a
 * truncated or corrupted file is detected before anything loaded from it is
 * used (the caller builds a fresh state and throws it away on error).
 *
 *   ckpt_writer_t w;
 *   if (ckpt_writer_open(&w, path, NULL, NULL) == DQ_OK) {
 *       ckpt_put_u64(&w, n); ckpt_put(&w, data, bytes);
 *       rc = ckpt_writer_commit(&w);          // w.err says why on failure
 *   }
 *   ckpt_reader_t r;
 *   if (ckpt_reader_open(&r, path) == DQ_OK) {
 *       uint64_t n = ckpt_get_u64(&r); ckpt_get(&r, data, bytes);
 *       rc = ckpt_reader_finish(&r);           // r.err says why on failure
 *   }
 */
#ifndef REPLAY_CKPT_H
#define REPLAY_CKPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fileio.h"

#define CKPT_MAGIC "DQRPLCKP"
#define CKPT_VERSION 4u     /* 3: counters stored by name; 4: + the log generation */
#define CKPT_VERSION_MIN 3u /* oldest version read */
#define CKPT_ERR_MAX 512

/* Called after every write with the bytes written so far (tests use it to
 * kill a writer half-way). */
typedef void (*ckpt_progress_fn)(uint64_t bytes, void *arg);

typedef struct {
    dq_atomic_file_t af;
    ckpt_progress_fn progress;
    void *progress_arg;
    int rc; /* first error, sticky */
    char err[CKPT_ERR_MAX];
} ckpt_writer_t;

typedef struct {
    FILE *f;
    const char *path;
    uint64_t hash, bytes, file_bytes;
    uint32_t version;
    int rc; /* first error, sticky; later gets return zeros */
    char err[CKPT_ERR_MAX];
} ckpt_reader_t;

/* Opens PATH.tmp.PID and writes the header. */
int ckpt_writer_open(ckpt_writer_t *w, const char *path, ckpt_progress_fn progress, void *arg);
void ckpt_put(ckpt_writer_t *w, const void *data, size_t n);
void ckpt_put_u32(ckpt_writer_t *w, uint32_t v);
void ckpt_put_u64(ckpt_writer_t *w, uint64_t v);
void ckpt_put_f64(ckpt_writer_t *w, double v);
/* Writes the trailer and renames the file into place; on any earlier error
 * removes the temporary and returns it (w->err). */
int ckpt_writer_commit(ckpt_writer_t *w);
void ckpt_writer_abort(ckpt_writer_t *w);

/* Opens path and checks magic, version and byte order: DQ_EIO (cannot open),
 * DQ_EFORMAT (not a checkpoint, other version or byte order), with r->err. */
int ckpt_reader_open(ckpt_reader_t *r, const char *path);
/* Reads n bytes; on a short read sets DQ_EFORMAT ("truncated") and zero-fills. */
void ckpt_get(ckpt_reader_t *r, void *data, size_t n);
uint32_t ckpt_get_u32(ckpt_reader_t *r);
uint64_t ckpt_get_u64(ckpt_reader_t *r);
double ckpt_get_f64(ckpt_reader_t *r);
/* Records a content error (first one wins) and returns code. */
int ckpt_reader_fail(ckpt_reader_t *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reads and compares the trailer, requires end of file, closes the file.
 * Returns the first error seen (DQ_EFORMAT, DQ_ECHECKSUM, ...) or DQ_OK. */
int ckpt_reader_finish(ckpt_reader_t *r);
/* Closes without checking (after an error). */
void ckpt_reader_close(ckpt_reader_t *r);

#endif
