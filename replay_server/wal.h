/* wal.h - the replay server's write-ahead log: every INSERT it stores, in
 * order, so that a state restored from the last checkpoint plus its log is
 * the state the server had when it was killed (docs/replay.md, "Durability").
 *
 *   wal_t *w = wal_create("runs/x/replay.ckpt.wal", gen, WAL_FSYNC_GROUP, why, sizeof why);
 *   wal_append(w, &ins, why, sizeof why);     // after replay_insert stored it
 *   wal_sync(w, why, sizeof why);             // then its ACK may go out
 *   wal_close(&w);
 *
 *   wal_scan_t sc;                            // at start, after replay_load
 *   rc = wal_recover(r, path, replay_log_generation(r), &sc, why, sizeof why);
 *
 * File, little-endian:
 *   header  "DQRPLWAL" | u32 version (1) | u32 0 | u64 generation
 *           | u64 FNV-1a of the 24 bytes before
 *   record  u32 n | n bytes: the INSERT as its wire message (msgpack,
 *           docs/protocol.md §2.2) | u64 FNV-1a of the 4 + n bytes before
 *
 * Generations. A checkpoint records the generation of the log that continues
 * it (replay_log_generation). Checkpointing writes the state with generation
 * g + 1, and only once that file is in place replaces the log by an empty one
 * of generation g + 1 (written aside, fsync'ed, renamed). A restart applies the
 * log only when its generation equals the checkpoint's: a crash between the two
 * steps leaves a log of generation g, which the checkpoint already holds, and
 * it is skipped, never applied twice.
 *
 * Torn tails. A record cut short by a crash (the file ends inside it), or a
 * last record whose checksum fails, or zeros up to the end of the file (an
 * extension never written) is dropped and cut off; nothing of it is applied.
 * A record that fails its checksum with more data behind it is corruption in
 * the middle: recovery refuses with its offset rather than guess.
 */
#ifndef REPLAY_WAL_H
#define REPLAY_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "replay.h"

#define WAL_MAGIC "DQRPLWAL"
#define WAL_VERSION 1u
#define WAL_HEADER_BYTES 32
#define WAL_RECORD_MAX (1u << 30) /* a longer record length is corruption */

typedef enum {
    WAL_FSYNC_ALWAYS = 0, /* fdatasync after every record, before its ACK */
    WAL_FSYNC_GROUP,      /* records gathered, written and fdatasync'ed every few ms */
    WAL_FSYNC_NONE,       /* written at once, never fsync'ed: survives a killed process */
} wal_fsync_t;

/* "always", "group" or "none" (replay.fsync) -> the mode; -1 otherwise. */
int wal_fsync_parse(const char *s);

typedef struct wal wal_t;

/* A new empty log of generation gen at path, atomically (PATH.tmp.PID,
 * fsync, rename, fsync of the folder): path holds the old log or the new one. */
wal_t *wal_create(const char *path, uint64_t gen, wal_fsync_t mode, char *why, size_t whylen);
/* The log at path (of generation gen, its first good_bytes valid, as
 * wal_recover found them), opened for appending after cutting anything
 * behind good_bytes (a torn tail) and fsync'ing the cut. */
wal_t *wal_open(const char *path, uint64_t gen, uint64_t good_bytes, wal_fsync_t mode, char *why,
                size_t whylen);
void wal_close(wal_t **self_p);

/* Adds the record of ins. WAL_FSYNC_NONE writes it at once; the others keep
 * it buffered until wal_sync. DQ_EIO / DQ_ENOMEM with the reason. */
int wal_append(wal_t *w, const dq_insert_t *ins, char *why, size_t whylen);
/* Writes what is buffered and, unless the mode is WAL_FSYNC_NONE, fdatasyncs:
 * every record appended before is then durable. A failed log stays failed. */
int wal_sync(wal_t *w, char *why, size_t whylen);

uint64_t wal_generation(const wal_t *w);
uint64_t wal_bytes(const wal_t *w);    /* file size, records not yet written included */
uint64_t wal_records(const wal_t *w);  /* records appended through this handle */
uint64_t wal_unsynced(const wal_t *w); /* records appended since the last wal_sync */
uint64_t wal_syncs(const wal_t *w);    /* fdatasyncs done by wal_sync */
wal_fsync_t wal_mode(const wal_t *w);

typedef struct {
    int found;               /* a log exists at the path */
    int stale;               /* its generation is older than the checkpoint's: skipped */
    uint64_t generation;     /* from its header */
    uint64_t records, items; /* records applied, their transitions */
    uint64_t duplicates;     /* records already held by the checkpoint (dropped) */
    uint64_t good_bytes;     /* header + the records applied */
    uint64_t dropped_bytes;  /* a torn tail cut off (0 if none) */
    uint64_t file_bytes;
} wal_scan_t;

/* Applies the log at path to r (replay_apply_logged, record by record) when its
 * generation is expect_gen; a missing log is no error (found = 0), an older one
 * is skipped (stale = 1). DQ_EFORMAT / DQ_ECHECKSUM / DQ_EIO with a message
 * naming the file: not a log, a newer generation than the checkpoint's, a
 * record corrupt in the middle, a record that does not decode. On error r may
 * hold part of the log: throw it away. */
int wal_recover(replay_t *r, const char *path, uint64_t expect_gen, wal_scan_t *out, char *why,
                size_t whylen);
/* The generation in the header of the log at path: DQ_OK, DQ_EIO (no file)
 * or DQ_EFORMAT (not a log). */
int wal_peek_generation(const char *path, uint64_t *gen, char *why, size_t whylen);

/* Removes the temporaries a killed writer left beside ckpt_path
 * (CKPT.tmp.PID and CKPT.wal.tmp.PID, written by dq_atomic_open and
 * wal_create) whose process is gone; those of a live process are kept. Each
 * removal is logged; returns how many were removed. */
int wal_remove_stale_temps(const char *ckpt_path);

#endif
