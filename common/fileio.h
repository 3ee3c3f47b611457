/* fileio.h - crash-safe file writing, whole-file reading and a checksum,
 * shared by the Q-network, replay-server and learner checkpoints.
 *
 * A file is written to PATH.tmp.PID, flushed and fsync'ed, renamed over PATH
 * and the directory fsync'ed, so PATH holds either the old or the new content,
 * never a mix, even if the process or the machine dies half-way:
 *
 *   dq_atomic_file_t af;
 *   if (dq_atomic_open(&af, path) < 0) log(af.err);
 *   dq_atomic_write(&af, header, n);          // af.hash: FNV-1a of all bytes so far
 *   dq_atomic_write(&af, &af.hash, 8);        // e.g. a trailing checksum
 *   if (dq_atomic_commit(&af) < 0) log(af.err);   // or dq_atomic_abort(&af)
 *
 * The checksum is 64-bit FNV-1a, computed in software (no zlib).
 */
#ifndef DQ_FILEIO_H
#define DQ_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DQ_FNV1A64_INIT 0xcbf29ce484222325ULL

/* 64-bit FNV-1a of n bytes, continuing from h (DQ_FNV1A64_INIT to start), so
 * dq_fnv1a64(b, nb, dq_fnv1a64(a, na, DQ_FNV1A64_INIT)) is the hash of a then b. */
uint64_t dq_fnv1a64(const void *data, size_t n, uint64_t h);

typedef struct {
    FILE *f;        /* the temporary file; NULL once committed or aborted */
    char *path;     /* final path */
    char *tmp;      /* PATH.tmp.PID */
    uint64_t hash;  /* FNV-1a of every byte written so far */
    uint64_t bytes; /* bytes written so far */
    int failed;     /* a write failed: commit refuses */
    char err[256];  /* the reason of the last failure, with strerror(errno) */
} dq_atomic_file_t;

/* Creates PATH.tmp.PID (truncating a stale one). DQ_EIO, DQ_ENOMEM or DQ_EINVAL
 * with af->err set; on failure nothing needs to be freed. */
int dq_atomic_open(dq_atomic_file_t *af, const char *path);
/* Appends n bytes and updates af->hash. DQ_EIO on failure; a failed file can
 * only be aborted (commit returns DQ_EIO and removes the temporary). */
int dq_atomic_write(dq_atomic_file_t *af, const void *data, size_t n);
/* fflush, fsync, close, rename over the final path, fsync of the directory.
 * Always releases af; on failure the temporary is removed and the old file at
 * the final path, if any, is untouched. */
int dq_atomic_commit(dq_atomic_file_t *af);
/* Appends the FNV-1a of every byte written so far as a little-endian u64 (the
 * trailer of the project's checksummed formats), then commits. */
int dq_atomic_commit_hashed(dq_atomic_file_t *af);
/* Closes and removes the temporary, leaving the final path untouched; safe to
 * call after commit or after a failed open (it is then a no-op). */
void dq_atomic_abort(dq_atomic_file_t *af);

/* The whole of data written atomically to path. */
int dq_file_write_atomic(const char *path, const void *data, size_t n);

/* Reads the whole file into a fresh allocation (*data, *len; one zero byte is
 * appended after the content, not counted in *len; free() it). Refuses files
 * larger than max_bytes with DQ_ETOOBIG; DQ_EIO if it cannot be opened or
 * read, DQ_ENOMEM; the reason goes into why. On failure *data is NULL. */
int dq_file_read_all(const char *path, size_t max_bytes, void **data, size_t *len, char *why,
                     size_t whylen);

/* Little-endian encoding for file formats, independent of the host. */
void dq_put_le32(unsigned char *p, uint32_t x);
void dq_put_le64(unsigned char *p, uint64_t x);
uint32_t dq_get_le32(const unsigned char *p);
uint64_t dq_get_le64(const unsigned char *p);
/* Writes n floats as little-endian float32 (in chunks). */
int dq_atomic_write_floats(dq_atomic_file_t *af, const float *x, size_t n);
/* Reads n little-endian float32 from src. */
void dq_get_floats(float *dst, const unsigned char *src, size_t n);

#endif
