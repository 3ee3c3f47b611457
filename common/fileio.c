/* fileio.c - atomic file writing (temporary, fsync, rename, fsync of the
 * directory), whole-file reading with a size cap, and 64-bit FNV-1a. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

uint64_t dq_fnv1a64(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void set_err(dq_atomic_file_t *af, const char *what, const char *name, int e)
{
    snprintf(af->err, sizeof af->err, "%s %s: %s", what, name, strerror(e));
}

static void release(dq_atomic_file_t *af)
{
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    af->f = NULL;
}

int dq_atomic_open(dq_atomic_file_t *af, const char *path)
{
    memset(af, 0, sizeof *af);
    if (!path || !*path) {
        snprintf(af->err, sizeof af->err, "empty path");
        return DQ_EINVAL;
    }
    size_t n = strlen(path);
    int fd = -1;
    af->hash = DQ_FNV1A64_INIT;
    af->path = malloc(n + 1);
    af->tmp = malloc(n + 32);
    if (!af->path || !af->tmp) {
        snprintf(af->err, sizeof af->err, "out of memory");
        release(af);
        return DQ_ENOMEM;
    }
    memcpy(af->path, path, n + 1);
    snprintf(af->tmp, n + 32, "%s.tmp.%ld", path, (long)getpid());
    fd = open(af->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        set_err(af, "cannot create", af->tmp, errno);
        release(af);
        return DQ_EIO;
    }
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        set_err(af, "cannot open", af->tmp, errno);
        close(fd);
        unlink(af->tmp);
        release(af);
        return DQ_EIO;
    }
    return DQ_OK;
}

int dq_atomic_write(dq_atomic_file_t *af, const void *data, size_t n)
{
    if (!af->f || af->failed) return DQ_EIO;
    if (n == 0) return DQ_OK;
    if (fwrite(data, 1, n, af->f) != n) {
        set_err(af, "cannot write", af->tmp, errno);
        af->failed = 1;
        return DQ_EIO;
    }
    af->hash = dq_fnv1a64(data, n, af->hash);
    af->bytes += n;
    return DQ_OK;
}

void dq_atomic_abort(dq_atomic_file_t *af)
{
    if (af->f) {
        fclose(af->f);
        unlink(af->tmp);
    }
    release(af);
}

/* fsync of the directory holding path, so the rename itself is durable. */
static int fsync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) {
        dir = strdup(".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        dir = malloc(n + 1);
        if (dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
        }
    }
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    /* Some file systems cannot fsync a directory; that is not a write failure. */
    return rc < 0 && errno != EINVAL && errno != ENOTSUP ? -1 : 0;
}

int dq_atomic_commit_hashed(dq_atomic_file_t *af)
{
    unsigned char sum[8];
    dq_put_le64(sum, af->hash);
    dq_atomic_write(af, sum, 8); /* a failed write makes the commit refuse */
    return dq_atomic_commit(af);
}

int dq_atomic_commit(dq_atomic_file_t *af)
{
    if (!af->f) {
        snprintf(af->err, sizeof af->err, "commit of a file that is not open");
        return DQ_EINVAL;
    }
    if (af->failed) {
        dq_atomic_abort(af);
        return DQ_EIO;
    }
    FILE *f = af->f;
    af->f = NULL;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        set_err(af, "cannot flush", af->tmp, errno);
        fclose(f);
        goto fail;
    }
    if (fclose(f) != 0) {
        set_err(af, "cannot close", af->tmp, errno);
        goto fail;
    }
    if (rename(af->tmp, af->path) != 0) {
        set_err(af, "cannot rename to", af->path, errno);
        goto fail;
    }
    if (fsync_dir(af->path) != 0) {
        /* The new content is in place; only its durability is in doubt. */
        set_err(af, "cannot fsync the directory of", af->path, errno);
        release(af);
        return DQ_EIO;
    }
    release(af);
    return DQ_OK;
fail:
    unlink(af->tmp);
    release(af);
    return DQ_EIO;
}

int dq_file_write_atomic(const char *path, const void *data, size_t n)
{
    dq_atomic_file_t af;
    int rc = dq_atomic_open(&af, path);
    if (rc < 0) return rc;
    rc = dq_atomic_write(&af, data, n);
    if (rc < 0) {
        dq_atomic_abort(&af);
        return rc;
    }
    return dq_atomic_commit(&af);
}

int dq_file_read_all(const char *path, size_t max_bytes, void **data, size_t *len, char *why,
                     size_t whylen)
{
    int rc = DQ_EIO;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
        return DQ_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if ((uint64_t)st.st_size > max_bytes) {
            snprintf(why, whylen, "%s is %lld bytes, more than the limit of %zu", path,
                     (long long)st.st_size, max_bytes);
            rc = DQ_ETOOBIG;
            goto fail;
        }
        cap = (size_t)st.st_size;
    }
    if (cap < 4096) cap = 4096;
    if (cap > max_bytes) cap = max_bytes;
    buf = malloc(cap + 1);
    if (!buf) goto nomem;
    for (;;) {
        if (n == cap) {
            /* Grown since fstat, or not a regular file: one byte more than the
             * cap tells a file that is too large. */
            if (cap >= max_bytes) {
                char extra;
                ssize_t r = read(fd, &extra, 1);
                if (r == 0) break;
                if (r < 0 && errno == EINTR) continue;
                if (r < 0) goto ioerr;
                snprintf(why, whylen, "%s is larger than the limit of %zu bytes", path, max_bytes);
                rc = DQ_ETOOBIG;
                goto fail;
            }
            size_t ncap = cap > max_bytes / 2 ? max_bytes : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) goto nomem;
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r == 0) break;
        if (r < 0) {
            if (errno == EINTR) continue;
            goto ioerr;
        }
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return DQ_OK;
ioerr:
    snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
    rc = DQ_EIO;
    goto fail;
nomem:
    snprintf(why, whylen, "out of memory reading %s", path);
    rc = DQ_ENOMEM;
fail:
    free(buf);
    close(fd);
    return rc;
}

void dq_put_le32(unsigned char *p, uint32_t x)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(x >> (8 * i));
}

void dq_put_le64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(x >> (8 * i));
}

uint32_t dq_get_le32(const unsigned char *p)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x |= (uint32_t)p[i] << (8 * i);
    return x;
}

uint64_t dq_get_le64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x |= (uint64_t)p[i] << (8 * i);
    return x;
}

int dq_atomic_write_floats(dq_atomic_file_t *af, const float *x, size_t n)
{
    unsigned char chunk[4096];
    int rc = DQ_OK;
    for (size_t i = 0; rc == DQ_OK && i < n;) {
        size_t k = 0;
        for (; k < sizeof chunk / 4 && i < n; k++, i++) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            dq_put_le32(chunk + 4 * k, u);
        }
        rc = dq_atomic_write(af, chunk, 4 * k);
    }
    return rc;
}

void dq_get_floats(float *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = dq_get_le32(src + 4 * i);
        memcpy(&dst[i], &u, 4);
    }
}
