/* ckpt.c - see ckpt.h. */
#include "ckpt.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"

#define BYTE_ORDER_MARK 0x01020304u

static void w_fail(ckpt_writer_t *w, int rc, const char *why)
{
    if (w->rc) return;
    w->rc = rc;
    snprintf(w->err, sizeof w->err, "%s", why);
}

int ckpt_writer_open(ckpt_writer_t *w, const char *path, ckpt_progress_fn progress, void *arg)
{
    memset(w, 0, sizeof *w);
    w->progress = progress;
    w->progress_arg = arg;
    int rc = dq_atomic_open(&w->af, path);
    if (rc < 0) {
        w_fail(w, rc, w->af.err);
        return rc;
    }
    ckpt_put(w, CKPT_MAGIC, 8);
    ckpt_put_u32(w, CKPT_VERSION);
    ckpt_put_u32(w, BYTE_ORDER_MARK);
    return w->rc;
}

void ckpt_put(ckpt_writer_t *w, const void *data, size_t n)
{
    if (w->rc || n == 0) return;
    int rc = dq_atomic_write(&w->af, data, n);
    if (rc < 0) {
        w_fail(w, rc, w->af.err);
        return;
    }
    if (w->progress) w->progress(w->af.bytes, w->progress_arg);
}

void ckpt_put_u32(ckpt_writer_t *w, uint32_t v) { ckpt_put(w, &v, sizeof v); }
void ckpt_put_u64(ckpt_writer_t *w, uint64_t v) { ckpt_put(w, &v, sizeof v); }
void ckpt_put_f64(ckpt_writer_t *w, double v) { ckpt_put(w, &v, sizeof v); }

int ckpt_writer_commit(ckpt_writer_t *w)
{
    if (!w->rc) {
        uint64_t h = w->af.hash;
        ckpt_put_u64(w, h);
    }
    if (w->rc) {
        dq_atomic_abort(&w->af);
        return w->rc;
    }
    int rc = dq_atomic_commit(&w->af);
    if (rc < 0) w_fail(w, rc, w->af.err);
    return rc;
}

void ckpt_writer_abort(ckpt_writer_t *w) { dq_atomic_abort(&w->af); }

int ckpt_reader_fail(ckpt_reader_t *r, int code, const char *fmt, ...)
{
    if (r->rc) return code;
    r->rc = code;
    int n = snprintf(r->err, sizeof r->err, "checkpoint %s: ", r->path);
    if (n < 0 || (size_t)n >= sizeof r->err) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

int ckpt_reader_open(ckpt_reader_t *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->hash = DQ_FNV1A64_INIT;
    r->f = fopen(path, "rb");
    if (!r->f) return ckpt_reader_fail(r, DQ_EIO, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(r->f), &st) == 0) r->file_bytes = (uint64_t)st.st_size;
    char magic[8];
    ckpt_get(r, magic, sizeof magic);
    uint32_t version = ckpt_get_u32(r), order = ckpt_get_u32(r);
    if (r->rc || memcmp(magic, CKPT_MAGIC, 8) != 0) {
        r->rc = 0;
        return ckpt_reader_fail(r, DQ_EFORMAT, "not a dqnlm replay checkpoint (bad magic number)");
    }
    if (order != BYTE_ORDER_MARK)
        return ckpt_reader_fail(r, DQ_EFORMAT, "written on a host of the other byte order");
    if (version < CKPT_VERSION_MIN || version > CKPT_VERSION)
        return ckpt_reader_fail(r, DQ_EFORMAT,
                                "format version %u, this program reads versions %u to %u", version,
                                CKPT_VERSION_MIN, CKPT_VERSION);
    r->version = version;
    return DQ_OK;
}

void ckpt_get(ckpt_reader_t *r, void *data, size_t n)
{
    if (n == 0) return;
    if (r->rc || !r->f) {
        memset(data, 0, n);
        return;
    }
    size_t got = fread(data, 1, n, r->f);
    if (got < n) {
        memset((char *)data + got, 0, n - got);
        ckpt_reader_fail(r, DQ_EFORMAT, "truncated at byte %llu (file has %llu bytes)",
                         (unsigned long long)(r->bytes + got), (unsigned long long)r->file_bytes);
        return;
    }
    r->hash = dq_fnv1a64(data, n, r->hash);
    r->bytes += n;
}

uint32_t ckpt_get_u32(ckpt_reader_t *r)
{
    uint32_t v;
    ckpt_get(r, &v, sizeof v);
    return v;
}

uint64_t ckpt_get_u64(ckpt_reader_t *r)
{
    uint64_t v;
    ckpt_get(r, &v, sizeof v);
    return v;
}

double ckpt_get_f64(ckpt_reader_t *r)
{
    double v;
    ckpt_get(r, &v, sizeof v);
    return v;
}

int ckpt_reader_finish(ckpt_reader_t *r)
{
    if (!r->f) return r->rc ? r->rc : DQ_EIO;
    if (!r->rc) {
        uint64_t expect = r->hash, stored = ckpt_get_u64(r);
        if (!r->rc && stored != expect)
            ckpt_reader_fail(r, DQ_ECHECKSUM,
                             "checksum mismatch (stored %016llx, computed %016llx): the file is "
                             "corrupt",
                             (unsigned long long)stored, (unsigned long long)expect);
        if (!r->rc && fgetc(r->f) != EOF)
            ckpt_reader_fail(r, DQ_EFORMAT, "trailing bytes after the checksum");
    }
    ckpt_reader_close(r);
    return r->rc;
}

void ckpt_reader_close(ckpt_reader_t *r)
{
    if (r->f) fclose(r->f);
    r->f = NULL;
}
