/* corpus.c - see corpus.h. */
#include "corpus.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"

struct corpus {
    char *paths;
    uint8_t *text; /* every record, back to back */
    size_t len, cap;
    size_t *starts; /* n_records + 1 offsets into text */
    size_t n_records, rec_cap;
};

struct corpus_slice {
    uint8_t *data[2];
    size_t len[2];
    size_t records[2];
};

/* ---- loading ------------------------------------------------------------ */

static int push_bytes(corpus_t *c, const uint8_t *p, size_t n)
{
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 1 << 16;
        while (cap < c->len + n) cap *= 2;
        uint8_t *t = realloc(c->text, cap);
        if (!t) return DQ_ENOMEM;
        c->text = t;
        c->cap = cap;
    }
    memcpy(c->text + c->len, p, n);
    c->len += n;
    return DQ_OK;
}

/* Closes the record that runs from starts[n_records] to len (if non-empty). */
static int end_record(corpus_t *c)
{
    if (c->len == c->starts[c->n_records]) return DQ_OK;
    if (c->n_records + 2 > c->rec_cap) {
        size_t cap = c->rec_cap * 2;
        size_t *t = realloc(c->starts, cap * sizeof *t);
        if (!t) return DQ_ENOMEM;
        c->starts = t;
        c->rec_cap = cap;
    }
    c->starts[++c->n_records] = c->len;
    return DQ_OK;
}

static int add_text(corpus_t *c, const uint8_t *buf, size_t n)
{
    int rc = DQ_OK;
    size_t i = 0;
    while (i < n && rc == DQ_OK) {
        const uint8_t *nl = memchr(buf + i, '\n', n - i);
        size_t line_end = nl ? (size_t)(nl - buf) + 1 : n; /* one past the '\n' */
        size_t body = line_end - i - (nl ? 1 : 0);
        if ((body == 1 && buf[i] == '%') || (body == 2 && buf[i] == '%' && buf[i + 1] == '\r')) {
            rc = end_record(c);
        } else {
            size_t cur = c->len - c->starts[c->n_records];
            if (cur > 0 && cur + (line_end - i) > CORPUS_MAX_RECORD) rc = end_record(c);
            /* A single line longer than a record is cut into pieces. */
            size_t j = i;
            while (rc == DQ_OK && line_end - j > CORPUS_MAX_RECORD) {
                rc = push_bytes(c, buf + j, CORPUS_MAX_RECORD);
                if (rc == DQ_OK) rc = end_record(c);
                j += CORPUS_MAX_RECORD;
            }
            if (rc == DQ_OK) rc = push_bytes(c, buf + j, line_end - j);
        }
        i = line_end;
    }
    if (rc == DQ_OK) rc = end_record(c); /* a file never continues into the next */
    return rc;
}

/* Whether buf looks like text: no NUL byte, and control characters other
 * than the whitespace ones (\t \n \v \f \r) are at most 1 in CORPUS_MAX_CONTROL
 * of the bytes (Debian's fortunes hold a few backspaces: 1 in 1,000 at most).
 * Bytes from 0x80 up count as text (UTF-8, Latin-1). Writes the reason. */
static int looks_like_text(const uint8_t *buf, size_t n, const char *path, char *why, size_t whylen)
{
    const uint8_t *nul = memchr(buf, 0, n);
    if (nul) {
        snprintf(why, whylen, "corpus: '%s' is not a text file (a NUL byte at offset %zu)", path,
                 (size_t)(nul - buf));
        return 0;
    }
    size_t control = 0;
    for (size_t i = 0; i < n; i++)
        control += (buf[i] < 0x20 && (buf[i] < '\t' || buf[i] > '\r')) || buf[i] == 0x7f;
    if (control * CORPUS_MAX_CONTROL > n) {
        snprintf(why, whylen,
                 "corpus: '%s' is not a text file (%zu of its %zu bytes are control "
                 "characters, more than 1 in %d)",
                 path, control, n, CORPUS_MAX_CONTROL);
        return 0;
    }
    return 1;
}

static int load_file(corpus_t *c, const char *path, int explicit_file, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "corpus: cannot open '%s': %s", path, strerror(errno));
        return DQ_EIO;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = DQ_OK;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *t = realloc(buf, cap);
            if (!t) {
                rc = DQ_ENOMEM;
                snprintf(why, whylen, "corpus: out of memory reading '%s'", path);
                goto done;
            }
            buf = t;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        rc = DQ_EIO;
        snprintf(why, whylen, "corpus: cannot read '%s': %s", path,
                 errno ? strerror(errno) : "read error");
        goto done;
    }
    if (n == 0) {
        if (explicit_file) {
            rc = DQ_EEMPTY;
            snprintf(why, whylen, "corpus: file '%s' is empty", path);
        }
        goto done;
    }
    if (!looks_like_text(buf, n, path, why, whylen)) {
        rc = DQ_EFORMAT;
        goto done;
    }
    rc = add_text(c, buf, n);
    if (rc < 0) snprintf(why, whylen, "corpus: out of memory reading '%s'", path);
done:
    free(buf);
    fclose(f);
    return rc;
}

static int wanted_name(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.') return 0;
    if (n >= 4 && !strcmp(name + n - 4, ".dat")) return 0;
    if (n >= 3 && !strcmp(name + n - 3, ".u8")) return 0;
    return 1;
}

static int load_path(corpus_t *c, const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(why, whylen, "corpus: cannot open '%s': %s", path, strerror(errno));
        return DQ_EIO;
    }
    if (!S_ISDIR(st.st_mode)) return load_file(c, path, 1, why, whylen);
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        snprintf(why, whylen, "corpus: cannot read folder '%s': %s", path, strerror(errno));
        return DQ_EIO;
    }
    int rc = DQ_OK, files = 0;
    size_t before = c->n_records;
    for (int i = 0; i < n; i++) {
        if (rc == DQ_OK && wanted_name(names[i]->d_name)) {
            char full[4096];
            snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
            if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
                rc = load_file(c, full, 0, why, whylen);
                files++;
            }
        }
        free(names[i]);
    }
    free(names);
    if (rc == DQ_OK && (files == 0 || c->n_records == before)) {
        snprintf(why, whylen, "corpus: folder '%s' holds no text files", path);
        rc = DQ_EEMPTY;
    }
    return rc;
}

int corpus_load(corpus_t **out, const char *paths, char *why, size_t whylen)
{
    *out = NULL;
    corpus_t *c = calloc(1, sizeof *c);
    if (!c) return DQ_ENOMEM;
    int rc = DQ_ENOMEM;
    c->rec_cap = 1024;
    c->starts = calloc(c->rec_cap, sizeof *c->starts);
    c->paths = strdup(paths);
    if (!c->starts || !c->paths) goto fail;
    char *list = strdup(paths);
    if (!list) goto fail;
    rc = DQ_OK;
    int n_paths = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && rc == DQ_OK;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        if (!*tok) continue;
        n_paths++;
        rc = load_path(c, tok, why, whylen);
    }
    free(list);
    if (rc < 0) goto fail;
    if (n_paths == 0) {
        snprintf(why, whylen, "corpus: no path given");
        rc = DQ_EINVAL;
        goto fail;
    }
    if (c->n_records == 0) {
        snprintf(why, whylen, "corpus '%s' holds no text", paths);
        rc = DQ_EEMPTY;
        goto fail;
    }
    *out = c;
    return DQ_OK;
fail:
    corpus_destroy(&c);
    return rc;
}

void corpus_destroy(corpus_t **cp)
{
    corpus_t *c = *cp;
    if (!c) return;
    free(c->paths);
    free(c->text);
    free(c->starts);
    free(c);
    *cp = NULL;
}

size_t corpus_records(const corpus_t *c) { return c->n_records; }
size_t corpus_bytes(const corpus_t *c) { return c->len; }
const char *corpus_paths(const corpus_t *c) { return c->paths; }

const uint8_t *corpus_record(const corpus_t *c, size_t r, size_t *len)
{
    *len = c->starts[r + 1] - c->starts[r];
    return c->text + c->starts[r];
}

/* ---- slices ------------------------------------------------------------- */

static double hash01(uint64_t seed, size_t r, uint64_t salt)
{
    return (double)(dq_rng_mix(seed, (uint64_t)r, salt) >> 11) * 0x1.0p-53;
}

int corpus_in_slice(uint64_t seed, size_t r, double lo, double hi)
{
    double u = hash01(seed, r, 0x51);
    return u >= lo && u < hi;
}

int corpus_is_val(uint64_t seed, size_t r, double val_fraction)
{
    return hash01(seed, r, 0xa1) < val_fraction;
}

int corpus_slice_new(corpus_slice_t **out, const corpus_t *c, double lo, double hi,
                     double val_fraction, uint64_t seed, size_t min_len, char *why, size_t whylen)
{
    *out = NULL;
    if (!(lo >= 0 && lo < hi && hi <= 1 && val_fraction > 0 && val_fraction < 1)) {
        snprintf(why, whylen, "corpus slice [%g, %g) with validation fraction %g is invalid", lo,
                 hi, val_fraction);
        return DQ_EINVAL;
    }
    corpus_slice_t *s = calloc(1, sizeof *s);
    if (!s) return DQ_ENOMEM;
    for (size_t r = 0; r < c->n_records; r++) {
        if (!corpus_in_slice(seed, r, lo, hi)) continue;
        int v = corpus_is_val(seed, r, val_fraction);
        s->len[v] += c->starts[r + 1] - c->starts[r];
        s->records[v]++;
    }
    static const char *const split_names[2] = {"training", "validation"};
    for (int v = 0; v < 2; v++) {
        if (s->len[v] < min_len) {
            snprintf(why, whylen,
                     "corpus '%s': the %s split of slice [%g, %g) holds %zu bytes, shorter "
                     "than one context window (%zu bytes)",
                     c->paths, split_names[v], lo, hi, s->len[v], min_len);
            corpus_slice_destroy(&s);
            return DQ_EEMPTY;
        }
        s->data[v] = malloc(s->len[v] ? s->len[v] : 1);
        if (!s->data[v]) {
            corpus_slice_destroy(&s);
            return DQ_ENOMEM;
        }
    }
    size_t pos[2] = {0, 0};
    for (size_t r = 0; r < c->n_records; r++) {
        if (!corpus_in_slice(seed, r, lo, hi)) continue;
        int v = corpus_is_val(seed, r, val_fraction);
        size_t n = c->starts[r + 1] - c->starts[r];
        memcpy(s->data[v] + pos[v], c->text + c->starts[r], n);
        pos[v] += n;
    }
    *out = s;
    return DQ_OK;
}

void corpus_slice_destroy(corpus_slice_t **sp)
{
    corpus_slice_t *s = *sp;
    if (!s) return;
    free(s->data[0]);
    free(s->data[1]);
    free(s);
    *sp = NULL;
}

const uint8_t *corpus_split_data(const corpus_slice_t *s, corpus_split_t split, size_t *len)
{
    *len = s->len[split];
    return s->data[split];
}

size_t corpus_split_records(const corpus_slice_t *s, corpus_split_t split)
{
    return s->records[split];
}

int corpus_sample(const corpus_slice_t *s, corpus_split_t split, dq_rng_t *rng, int B, int T,
                  uint8_t *out)
{
    size_t w = (size_t)T + 1, len = s->len[split];
    if (B < 1 || T < 1 || len < w) return DQ_EINVAL;
    for (int b = 0; b < B; b++) {
        size_t start = (size_t)dq_rng_below(rng, (uint64_t)(len - w + 1));
        memcpy(out + (size_t)b * w, s->data[split] + start, w);
    }
    return DQ_OK;
}

double corpus_unigram_entropy(const corpus_slice_t *s, corpus_split_t split)
{
    size_t counts[256] = {0}, n = s->len[split];
    for (size_t i = 0; i < n; i++) counts[s->data[split][i]]++;
    double h = 0.0;
    for (int k = 0; k < 256; k++)
        if (counts[k]) {
            double p = (double)counts[k] / (double)n;
            h -= p * log(p);
        }
    return h;
}
