/* wal.c - see wal.h. */
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "log.h"

#define REC_OVERHEAD 12u /* u32 length + u64 checksum */

struct wal {
    int fd;
    char *path;
    uint64_t gen;
    wal_fsync_t mode;
    uint64_t bytes, records, unsynced, syncs;
    unsigned char *buf; /* records appended, not yet written */
    size_t len, cap;
    dq_buf_t enc; /* scratch for the encoded INSERT */
    int failed;
};

int wal_fsync_parse(const char *s)
{
    if (!strcmp(s, "always")) return WAL_FSYNC_ALWAYS;
    if (!strcmp(s, "group")) return WAL_FSYNC_GROUP;
    if (!strcmp(s, "none")) return WAL_FSYNC_NONE;
    return -1;
}

static void header_bytes(unsigned char h[WAL_HEADER_BYTES], uint64_t gen)
{
    memcpy(h, WAL_MAGIC, 8);
    dq_put_le32(h + 8, WAL_VERSION);
    dq_put_le32(h + 12, 0);
    dq_put_le64(h + 16, gen);
    dq_put_le64(h + 24, dq_fnv1a64(h, 24, DQ_FNV1A64_INIT));
}

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* fsync of the folder holding path, so a rename in it is durable. */
static int sync_dir(const char *path)
{
    char dir[DQ_CONFIG_STR_MAX + 64];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static wal_t *wal_alloc(const char *path, uint64_t gen, wal_fsync_t mode)
{
    wal_t *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->fd = -1;
    w->path = strdup(path);
    w->gen = gen;
    w->mode = mode;
    if (!w->path) {
        free(w);
        return NULL;
    }
    return w;
}

wal_t *wal_create(const char *path, uint64_t gen, wal_fsync_t mode, char *why, size_t whylen)
{
    wal_t *w = wal_alloc(path, gen, mode);
    char tmp[DQ_CONFIG_STR_MAX + 64];
    if (!w) {
        snprintf(why, whylen, "log %s: out of memory", path);
        return NULL;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    unsigned char h[WAL_HEADER_BYTES];
    header_bytes(h, gen);
    w->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0 || write_all(w->fd, h, sizeof h) < 0 || fsync(w->fd) < 0 ||
        rename(tmp, path) < 0 || sync_dir(path) < 0) {
        snprintf(why, whylen, "log %s: cannot create it (via %s): %s", path, tmp, strerror(errno));
        unlink(tmp);
        wal_close(&w);
        return NULL;
    }
    w->bytes = WAL_HEADER_BYTES;
    return w;
}

wal_t *wal_open(const char *path, uint64_t gen, uint64_t good_bytes, wal_fsync_t mode, char *why,
                size_t whylen)
{
    wal_t *w = wal_alloc(path, gen, mode);
    if (!w) {
        snprintf(why, whylen, "log %s: out of memory", path);
        return NULL;
    }
    struct stat st;
    w->fd = open(path, O_WRONLY | O_CLOEXEC);
    if (w->fd < 0 || fstat(w->fd, &st) < 0) goto fail;
    if ((uint64_t)st.st_size != good_bytes &&
        (ftruncate(w->fd, (off_t)good_bytes) < 0 || fdatasync(w->fd) < 0))
        goto fail;
    if (lseek(w->fd, (off_t)good_bytes, SEEK_SET) < 0) goto fail;
    w->bytes = good_bytes;
    return w;
fail:
    snprintf(why, whylen, "log %s: cannot open it for appending: %s", path, strerror(errno));
    wal_close(&w);
    return NULL;
}

void wal_close(wal_t **self_p)
{
    if (!self_p || !*self_p) return;
    wal_t *w = *self_p;
    if (w->fd >= 0) close(w->fd);
    free(w->path);
    free(w->buf);
    dq_buf_free(&w->enc);
    free(w);
    *self_p = NULL;
}

static int fail_io(wal_t *w, const char *what, char *why, size_t whylen)
{
    w->failed = 1;
    snprintf(why, whylen, "log %s: %s: %s", w->path, what, strerror(errno));
    return DQ_EIO;
}

int wal_append(wal_t *w, const dq_insert_t *ins, char *why, size_t whylen)
{
    if (w->failed) return fail_io(w, "failed before", why, whylen);
    dq_msg_t m = {.type = DQ_MSG_INSERT, .u.insert = *ins};
    int rc = dq_msg_encode(&m, &w->enc);
    if (rc < 0) {
        snprintf(why, whylen, "log %s: cannot encode the insert: %s", w->path, dq_strerror(rc));
        return rc;
    }
    size_t n = w->enc.len, need = w->len + n + REC_OVERHEAD;
    if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 1 << 16;
        while (cap < need) cap *= 2;
        unsigned char *p = realloc(w->buf, cap);
        if (!p) {
            snprintf(why, whylen, "log %s: out of memory for %zu buffered bytes", w->path, need);
            return DQ_ENOMEM;
        }
        w->buf = p;
        w->cap = cap;
    }
    unsigned char *rec = w->buf + w->len;
    dq_put_le32(rec, (uint32_t)n);
    memcpy(rec + 4, w->enc.data, n);
    dq_put_le64(rec + 4 + n, dq_fnv1a64(rec, 4 + n, DQ_FNV1A64_INIT));
    w->len += n + REC_OVERHEAD;
    w->bytes += n + REC_OVERHEAD;
    w->records++;
    w->unsynced++;
    if (w->mode == WAL_FSYNC_NONE) return wal_sync(w, why, whylen);
    return DQ_OK;
}

int wal_sync(wal_t *w, char *why, size_t whylen)
{
    if (w->failed) return fail_io(w, "failed before", why, whylen);
    if (w->len > 0 && write_all(w->fd, w->buf, w->len) < 0) return fail_io(w, "write", why, whylen);
    w->len = 0;
    if (w->unsynced == 0) return DQ_OK;
    w->unsynced = 0;
    if (w->mode == WAL_FSYNC_NONE) return DQ_OK;
    if (fdatasync(w->fd) < 0) return fail_io(w, "fdatasync", why, whylen);
    w->syncs++;
    return DQ_OK;
}

uint64_t wal_generation(const wal_t *w) { return w->gen; }
uint64_t wal_bytes(const wal_t *w) { return w->bytes; }
uint64_t wal_records(const wal_t *w) { return w->records; }
uint64_t wal_unsynced(const wal_t *w) { return w->unsynced; }
uint64_t wal_syncs(const wal_t *w) { return w->syncs; }
wal_fsync_t wal_mode(const wal_t *w) { return w->mode; }

/* ---------------------------------------------------------------- reading */

static int read_header(FILE *f, const char *path, uint64_t *gen, char *why, size_t whylen)
{
    unsigned char h[WAL_HEADER_BYTES];
    if (fread(h, 1, sizeof h, f) != sizeof h || memcmp(h, WAL_MAGIC, 8) != 0) {
        snprintf(why, whylen, "log %s: not a dqnlm replay log (bad magic number or too short)",
                 path);
        return DQ_EFORMAT;
    }
    if (dq_get_le32(h + 8) != WAL_VERSION) {
        snprintf(why, whylen, "log %s: format version %u, this program reads version %u", path,
                 dq_get_le32(h + 8), WAL_VERSION);
        return DQ_EFORMAT;
    }
    if (dq_get_le64(h + 24) != dq_fnv1a64(h, 24, DQ_FNV1A64_INIT)) {
        snprintf(why, whylen, "log %s: header checksum mismatch: the file is corrupt", path);
        return DQ_ECHECKSUM;
    }
    *gen = dq_get_le64(h + 16);
    return DQ_OK;
}

int wal_peek_generation(const char *path, uint64_t *gen, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "log %s: cannot open: %s", path, strerror(errno));
        return DQ_EIO;
    }
    int rc = read_header(f, path, gen, why, whylen);
    fclose(f);
    return rc;
}

/* Whether every byte from the current position to the end is 0: 1, 0, or
 * -1 on a read error. */
static int zeros_to_end(FILE *f)
{
    unsigned char b[4096];
    size_t k;
    while ((k = fread(b, 1, sizeof b, f)) > 0)
        for (size_t i = 0; i < k; i++)
            if (b[i]) return 0;
    return ferror(f) ? -1 : 1;
}

typedef struct {
    FILE *f;
    const char *path;
    uint64_t off, size, index;
    unsigned char *buf;
    size_t cap;
} reader_t;

enum { REC_OK = 0, REC_TORN = 1, REC_BAD = 2 };

/* A short read inside the file (its size is known): the end of a torn record
 * only if the stream says EOF; a read error is DQ_EIO, never taken for a torn
 * tail (which would be cut off). */
static int short_read(reader_t *r, char *why, size_t whylen)
{
    if (!ferror(r->f)) return REC_TORN;
    snprintf(why, whylen, "a read error (%s)", strerror(errno ? errno : EIO));
    return DQ_EIO;
}

/* From r->off on, nothing but zeros (an extension never written): REC_TORN;
 * else REC_BAD with what in why; DQ_EIO on a read error. */
static int torn_if_zeros(reader_t *r, const char *what, char *why, size_t whylen)
{
    int z = fseeko(r->f, (off_t)r->off, SEEK_SET) == 0 ? zeros_to_end(r->f) : -1;
    if (z < 0) {
        snprintf(why, whylen, "a read error (%s)", strerror(errno ? errno : EIO));
        return DQ_EIO;
    }
    if (z == 1) return REC_TORN;
    snprintf(why, whylen, "%s", what);
    return REC_BAD;
}

/* Reads the record at r->off into r->buf (*n bytes): REC_OK, REC_TORN (the
 * file ends inside it, or nothing but zeros follow), REC_BAD (checksum or
 * length wrong with data behind it; the reason in why), or < 0 (DQ_EIO,
 * DQ_ENOMEM; the reason in why). A length no record can have is judged
 * before the file's end: a corrupt length field in the middle is corruption,
 * not a record cut short. */
static int read_record(reader_t *r, uint32_t *n, char *why, size_t whylen)
{
    uint64_t left = r->size - r->off;
    unsigned char len4[4], sum8[8];
    if (left < REC_OVERHEAD) return REC_TORN;
    if (fread(len4, 1, 4, r->f) != 4) return short_read(r, why, whylen);
    *n = dq_get_le32(len4);
    if (*n == 0 || *n > WAL_RECORD_MAX)
        return torn_if_zeros(r, "an impossible length", why, whylen);
    if (*n + (uint64_t)REC_OVERHEAD > left) return REC_TORN;
    if (*n > r->cap) {
        unsigned char *p = realloc(r->buf, *n);
        if (!p) {
            snprintf(why, whylen, "no memory for a record of %" PRIu32 " bytes", *n);
            return DQ_ENOMEM;
        }
        r->buf = p;
        r->cap = *n;
    }
    if (fread(r->buf, 1, *n, r->f) != *n || fread(sum8, 1, 8, r->f) != 8)
        return short_read(r, why, whylen);
    uint64_t h = dq_fnv1a64(len4, 4, DQ_FNV1A64_INIT);
    if (dq_get_le64(sum8) == dq_fnv1a64(r->buf, *n, h)) return REC_OK;
    if (r->off + REC_OVERHEAD + *n == r->size) return REC_TORN; /* the last one */
    return torn_if_zeros(r, "a checksum mismatch", why, whylen);
}

/* Decodes and applies the record in r->buf. */
static int apply_record(replay_t *rp, reader_t *r, uint32_t n, wal_scan_t *out, char *why,
                        size_t whylen)
{
    dq_msg_t m;
    char err[300];
    int rc = dq_msg_decode(r->buf, n, n, &m, err, sizeof err);
    if (rc == DQ_OK && m.type != DQ_MSG_INSERT) {
        snprintf(err, sizeof err, "a '%s' message, not an insert", dq_msg_type_name(m.type));
        dq_msg_clear(&m);
        rc = DQ_EFORMAT;
    }
    if (rc < 0) {
        snprintf(why, whylen, "log %s: record %" PRIu64 " at byte %" PRIu64 " does not decode: %s",
                 r->path, r->index, r->off, err);
        return DQ_EFORMAT;
    }
    dq_ack_t ack;
    rc = replay_apply_logged(rp, &m.u.insert, &ack, err, sizeof err);
    if (rc < 0) {
        snprintf(why, whylen,
                 "log %s: record %" PRIu64 " at byte %" PRIu64 " cannot be applied: %s", r->path,
                 r->index, r->off, err);
    } else if (ack.duplicate) {
        out->duplicates++;
    } else {
        out->records++;
        out->items += ack.count;
    }
    dq_msg_clear(&m);
    return rc;
}

/* Applies records from r->off to the end or a torn tail. */
static int apply_records(replay_t *rp, reader_t *r, wal_scan_t *out, char *why, size_t whylen)
{
    int rc = DQ_OK;
    while (r->off < r->size) {
        uint32_t n = 0;
        char what[128] = "";
        int k = read_record(r, &n, what, sizeof what);
        if (k < 0) {
            snprintf(why, whylen, "log %s: record %" PRIu64 " at byte %" PRIu64 ": %s", r->path,
                     r->index, r->off, what);
            rc = k;
            break;
        }
        if (k == REC_TORN) break;
        if (k == REC_BAD) {
            snprintf(why, whylen,
                     "log %s: record %" PRIu64 " at byte %" PRIu64 " has %s and %" PRIu64
                     " bytes follow it: the log is corrupt in the middle (move it aside to "
                     "start from the checkpoint alone, losing the inserts it holds)",
                     r->path, r->index, r->off, what, r->size - r->off);
            rc = DQ_ECHECKSUM;
            break;
        }
        if ((rc = apply_record(rp, r, n, out, why, whylen)) < 0) break;
        r->off += REC_OVERHEAD + n;
        r->index++;
    }
    out->good_bytes = r->off;
    out->dropped_bytes = rc == DQ_OK ? r->size - r->off : 0;
    return rc;
}

int wal_recover(replay_t *rp, const char *path, uint64_t expect_gen, wal_scan_t *out, char *why,
                size_t whylen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return DQ_OK;
        snprintf(why, whylen, "log %s: cannot open: %s", path, strerror(errno));
        return DQ_EIO;
    }
    out->found = 1;
    struct stat st = {0};
    reader_t r = {.f = f, .path = path, .off = WAL_HEADER_BYTES};
    int rc = fstat(fileno(f), &st) == 0 ? DQ_OK : DQ_EIO;
    if (rc == DQ_OK)
        rc = read_header(f, path, &out->generation, why, whylen);
    else
        snprintf(why, whylen, "log %s: cannot stat: %s", path, strerror(errno));
    out->file_bytes = r.size = (uint64_t)st.st_size;
    if (rc == DQ_OK && out->generation < expect_gen) {
        out->stale = 1;
    } else if (rc == DQ_OK && out->generation > expect_gen) {
        snprintf(why, whylen,
                 "log %s: generation %" PRIu64 " continues a newer checkpoint than the one "
                 "restored (generation %" PRIu64 "): the checkpoint was replaced or removed; "
                 "move the log aside to start from the checkpoint alone",
                 path, out->generation, expect_gen);
        rc = DQ_EFORMAT;
    } else if (rc == DQ_OK) {
        rc = apply_records(rp, &r, out, why, whylen);
    }
    free(r.buf);
    fclose(f);
    return rc;
}

/* ---------------------------------------------------------------- temporaries */

/* The PID of "BASE.tmp.PID" or "BASE.wal.tmp.PID", 0 if name is neither. */
static long temp_pid(const char *name, const char *base)
{
    size_t bl = strlen(base);
    if (strncmp(name, base, bl) != 0) return 0;
    const char *p = name + bl;
    if (!strncmp(p, ".tmp.", 5))
        p += 5;
    else if (!strncmp(p, ".wal.tmp.", 9))
        p += 9;
    else
        return 0;
    if (!*p) return 0;
    long pid = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || pid > 100000000) return 0;
        pid = pid * 10 + (*p - '0');
    }
    return pid;
}

int wal_remove_stale_temps(const char *ckpt_path)
{
    char dir[DQ_CONFIG_STR_MAX + 8];
    snprintf(dir, sizeof dir, "%s", ckpt_path);
    char *slash = strrchr(dir, '/');
    const char *base = ckpt_path;
    if (slash) {
        base = ckpt_path + (slash - dir) + 1;
        if (slash == dir)
            dir[1] = '\0';
        else
            *slash = '\0';
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = temp_pid(e->d_name, base);
        if (pid <= 0 || pid == (long)getpid()) continue;
        char p[2 * DQ_CONFIG_STR_MAX + 8];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (kill((pid_t)pid, 0) == 0 || errno == EPERM) {
            DQ_WARN("%s: left as it is: its writer, PID %ld, is still running", p, pid);
            continue;
        }
        if (unlink(p) == 0) {
            DQ_INFO("removed %s, the temporary of a writer that died (PID %ld)", p, pid);
            removed++;
        } else {
            DQ_WARN("cannot remove %s, the temporary of a dead writer: %s", p, strerror(errno));
        }
    }
    closedir(d);
    return removed;
}
