/* qnet.c - the Q-network of qnet.h: a ReLU MLP whose matrix products go
 * through cblas_sgemm, its backward pass, gradient clipping, Adam, the WEIGHTS
 * message view and the versioned checkpoint file. */
#include "qnet.h"

#include "config.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"

#define ALIGN_FLOATS 16 /* 64 bytes */

/* The optimizer loops are compiled for AVX-512, AVX2 and baseline x86-64 and
 * picked at load time, as the LM kernels are (the build has no -march);
 * qnet.c is built without errno for libm (sqrtf in Adam then vectorises). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__)
#define QNET_VEC __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define QNET_VEC
#endif
#define QNET_LANES 16
#define QNET_BLOCK 512
#define QNET_FILE_MAX_BYTES ((size_t)1 << 31)

static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

static int check_sizes(const int *sizes, int n_layers, size_t *n_params)
{
    if (n_layers < 1 || n_layers > DQ_QNET_MAX_LAYERS) return DQ_EINVAL;
    size_t n = 0;
    for (int l = 0; l <= n_layers; l++)
        if (sizes[l] < 1 || sizes[l] > DQ_QNET_MAX_WIDTH) return DQ_EINVAL;
    for (int l = 0; l < n_layers; l++)
        n += (size_t)sizes[l] * (size_t)sizes[l + 1] + (size_t)sizes[l + 1];
    /* WEIGHTS carries n_floats as u32. With the width cap this cannot overflow. */
    if (n > UINT32_MAX) return DQ_EINVAL;
    *n_params = n;
    return DQ_OK;
}

/* Allocates params, grads, m, v (zeroed) and carves the per-layer views. */
static int qnet_alloc(dq_qnet_t *net, const int *sizes, int n_layers)
{
    memset(net, 0, sizeof *net);
    size_t n;
    int rc = check_sizes(sizes, n_layers, &n);
    if (rc < 0) return rc;
    size_t stride = round_up(n);
    size_t bytes = 4 * stride * sizeof(float);
    float *mem = aligned_alloc(64, bytes);
    if (!mem) return DQ_ENOMEM;
    memset(mem, 0, bytes);
    net->n_layers = n_layers;
    for (int l = 0; l <= n_layers; l++) net->sizes[l] = sizes[l];
    net->n_params = n;
    net->params = mem;
    net->grads = mem + stride;
    net->m = mem + 2 * stride;
    net->v = mem + 3 * stride;
    size_t off = 0;
    for (int l = 0; l < n_layers; l++) {
        size_t in = (size_t)sizes[l], out = (size_t)sizes[l + 1];
        net->W[l] = net->params + off;
        net->dW[l] = net->grads + off;
        off += in * out;
        net->b[l] = net->params + off;
        net->db[l] = net->grads + off;
        off += out;
    }
    return DQ_OK;
}

int dq_qnet_init(dq_qnet_t *net, const int *sizes, int n_layers, dq_rng_t *rng)
{
    int rc = qnet_alloc(net, sizes, n_layers);
    if (rc < 0) return rc;
    for (int l = 0; l < n_layers; l++) {
        size_t nw = (size_t)sizes[l] * (size_t)sizes[l + 1];
        double limit = sqrt(6.0 / sizes[l]);
        for (size_t i = 0; i < nw; i++)
            net->W[l][i] = (float)((2.0 * dq_rng_uniform(rng) - 1.0) * limit);
    }
    return DQ_OK;
}

void dq_qnet_free(dq_qnet_t *net)
{
    free(net->params);
    memset(net, 0, sizeof *net);
}

int dq_qnet_ws_init(dq_qnet_ws_t *ws, const dq_qnet_t *net, int max_batch)
{
    memset(ws, 0, sizeof *ws);
    if (max_batch < 1 || net->n_layers < 1) return DQ_EINVAL;
    size_t B = (size_t)max_batch, total = 0, width = 0;
    for (int l = 0; l <= net->n_layers; l++) {
        total += round_up(B * (size_t)net->sizes[l]);
        if ((size_t)net->sizes[l] > width) width = (size_t)net->sizes[l];
    }
    total += 2 * round_up(B * width);
    float *mem = aligned_alloc(64, total * sizeof(float));
    if (!mem) return DQ_ENOMEM;
    ws->mem = mem;
    ws->max_batch = max_batch;
    for (int l = 0; l <= net->n_layers; l++) {
        ws->act[l] = mem;
        mem += round_up(B * (size_t)net->sizes[l]);
    }
    ws->dact[0] = mem;
    ws->dact[1] = mem + round_up(B * width);
    return DQ_OK;
}

void dq_qnet_ws_free(dq_qnet_ws_t *ws)
{
    free(ws->mem);
    memset(ws, 0, sizeof *ws);
}

/* y (B, out) += b per row, then ReLU if relu. */
QNET_VEC
static void bias_act(float *restrict y, const float *restrict b, int B, int out, int relu)
{
    for (int i = 0; i < B; i++) {
        float *row = y + (size_t)i * out;
        if (relu)
            for (int j = 0; j < out; j++) {
                const float z = row[j] + b[j];
                row[j] = z > 0.0f ? z : 0.0f;
            }
        else
            for (int j = 0; j < out; j++) row[j] += b[j];
    }
}

int dq_qnet_forward(const dq_qnet_t *net, dq_qnet_ws_t *ws, const float *x, int B, float *q)
{
    if (B < 1 || B > ws->max_batch) return DQ_EINVAL;
    int L = net->n_layers;
    memcpy(ws->act[0], x, (size_t)B * (size_t)net->sizes[0] * sizeof(float));
    for (int l = 0; l < L; l++) {
        int in = net->sizes[l], out = net->sizes[l + 1];
        float *y = ws->act[l + 1];
        const float *b = net->b[l];
        /* y (B, out) = act (B, in) . W (in, out) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, out, in, 1.0f, ws->act[l], in,
                    net->W[l], out, 0.0f, y, out);
        bias_act(y, b, B, out, l < L - 1);
    }
    if (!net->dueling) {
        memcpy(q, ws->act[L], (size_t)B * (size_t)net->sizes[L] * sizeof(float));
        return DQ_OK;
    }
    /* Dueling head: outputs (V, A_1..A_n); Q_a = V + A_a - mean(A). */
    int A = net->sizes[L] - 1;
    for (int i = 0; i < B; i++) {
        const float *o = ws->act[L] + (size_t)i * (A + 1);
        float mean = 0.0f;
        for (int a = 0; a < A; a++) mean += o[1 + a];
        mean /= (float)A;
        for (int a = 0; a < A; a++) q[(size_t)i * A + a] = o[0] + o[1 + a] - mean;
    }
    return DQ_OK;
}

/* g[i] = 0 where the ReLU output a[i] is not positive: a select and a store
 * for every element (a branch per element mispredicts on ReLU patterns). */
QNET_VEC
static void relu_mask(float *restrict g, const float *restrict a, size_t n)
{
    for (size_t i = 0; i < n; i++) g[i] = a[i] > 0.0f ? g[i] : 0.0f;
}

/* db (out) += column sums of g (B, out). */
QNET_VEC
static void col_sums_add(float *restrict db, const float *restrict g, int B, int out)
{
    for (int i = 0; i < B; i++) {
        const float *row = g + (size_t)i * out;
        for (int j = 0; j < out; j++) db[j] += row[j];
    }
}

int dq_qnet_backward(dq_qnet_t *net, dq_qnet_ws_t *ws, const float *dq, int B)
{
    if (B < 1 || B > ws->max_batch) return DQ_EINVAL;
    /* g: dL/d(pre-activation output) of layer l, (B, sizes[l+1]). */
    const float *g = dq;
    int next = 0;
    if (net->dueling) {
        /* Back through Q_a = V + A_a - mean(A): dV = sum_a dQ_a,
         * dA_a = dQ_a - mean(dQ). */
        int A = net->sizes[net->n_layers] - 1;
        float *gh = ws->dact[next];
        next ^= 1;
        for (int i = 0; i < B; i++) {
            const float *d = dq + (size_t)i * A;
            float *o = gh + (size_t)i * (A + 1);
            float sum = 0.0f;
            for (int a = 0; a < A; a++) sum += d[a];
            o[0] = sum;
            for (int a = 0; a < A; a++) o[1 + a] = d[a] - sum / (float)A;
        }
        g = gh;
    }
    for (int l = net->n_layers - 1; l >= 0; l--) {
        int in = net->sizes[l], out = net->sizes[l + 1];
        /* dW (in, out) += act[l]^T (in, B) . g (B, out) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, B, 1.0f, ws->act[l], in, g,
                    out, 1.0f, net->dW[l], out);
        col_sums_add(net->db[l], g, B, out);
        if (l == 0) break;
        /* gin (B, in) = g (B, out) . W^T (out, in), then through the ReLU of
         * layer l-1, whose output act[l] is positive exactly where it passed. */
        float *gin = ws->dact[next];
        next ^= 1;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, in, out, 1.0f, g, out, net->W[l],
                    out, 0.0f, gin, in);
        relu_mask(gin, ws->act[l], (size_t)B * (size_t)in);
        g = gin;
    }
    return DQ_OK;
}

void dq_qnet_zero_grad(dq_qnet_t *net)
{
    if (net->grads) memset(net->grads, 0, net->n_params * sizeof(float));
}

/* sum of x^2 over n floats: float partial sums in QNET_LANES lanes over
 * blocks of QNET_BLOCK (so the loop vectorises), blocks added in double. */
QNET_VEC
static double sum_squares(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t j0 = 0; j0 < n; j0 += QNET_BLOCK) {
        const size_t len = n - j0 < QNET_BLOCK ? n - j0 : QNET_BLOCK;
        float acc[QNET_LANES] = {0};
        size_t i = 0;
        for (; i + QNET_LANES <= len; i += QNET_LANES)
            for (int l = 0; l < QNET_LANES; l++) acc[l] += x[j0 + i + l] * x[j0 + i + l];
        for (int l = 0; i < len; i++, l++) acc[l] += x[j0 + i] * x[j0 + i];
        float b = 0.0f;
        for (int l = 0; l < QNET_LANES; l++) b += acc[l];
        s += (double)b;
    }
    return s;
}

float dq_qnet_clip_grad(dq_qnet_t *net, float max_norm)
{
    double norm = sqrt(sum_squares(net->grads, net->n_params));
    if (max_norm > 0.0f && isfinite(norm) && norm > max_norm) {
        float scale = (float)(max_norm / norm);
        for (size_t i = 0; i < net->n_params; i++) net->grads[i] *= scale;
    }
    return (float)norm;
}

/* The four arrays are distinct (a network's parameter-shaped arrays). */
QNET_VEC
static void adam_loop(float *restrict params, const float *restrict grads, float *restrict m,
                      float *restrict v, size_t n, float b1, float b2, float c1, float c2, float lr,
                      float eps)
{
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        params[i] -= lr * (mi * c1) / (sqrtf(vi * c2) + eps);
    }
}

void dq_adam_step(float *params, const float *grads, float *m, float *v, size_t n,
                  const dq_adam_t *adam, uint64_t t)
{
    const float b1 = adam->beta1, b2 = adam->beta2, eps = adam->eps;
    double tt = (double)(t ? t : 1);
    const float c1 = (float)(1.0 / (1.0 - pow(b1, tt)));
    const float c2 = (float)(1.0 / (1.0 - pow(b2, tt)));
    adam_loop(params, grads, m, v, n, b1, b2, c1, c2, adam->lr, eps);
}

static int same_shape(const dq_qnet_t *a, const dq_qnet_t *b)
{
    if (a->n_layers != b->n_layers || a->n_params != b->n_params || a->dueling != b->dueling)
        return 0;
    for (int l = 0; l <= a->n_layers; l++)
        if (a->sizes[l] != b->sizes[l]) return 0;
    return 1;
}

int dq_qnet_copy_params(dq_qnet_t *dst, const dq_qnet_t *src)
{
    if (!same_shape(dst, src)) return DQ_ESHAPE;
    if (dst != src) memcpy(dst->params, src->params, src->n_params * sizeof(float));
    return DQ_OK;
}

void dq_qnet_to_weights(const dq_qnet_t *net, uint64_t version, uint64_t step, dq_weights_t *w)
{
    memset(w, 0, sizeof *w);
    w->version = version;
    w->step = step;
    w->n_layers = (uint32_t)net->n_layers;
    for (int l = 0; l < net->n_layers; l++) {
        w->shape[l][0] = (uint32_t)net->sizes[l];
        w->shape[l][1] = (uint32_t)net->sizes[l + 1];
    }
    w->n_floats = (uint32_t)net->n_params; /* init caps n_params at UINT32_MAX */
    w->blob = net->params;
}

int dq_qnet_from_weights(dq_qnet_t *net, const dq_weights_t *w)
{
    if (w->n_layers != (uint32_t)net->n_layers) return DQ_ESHAPE;
    for (int l = 0; l < net->n_layers; l++)
        if (w->shape[l][0] != (uint32_t)net->sizes[l] ||
            w->shape[l][1] != (uint32_t)net->sizes[l + 1])
            return DQ_ESHAPE;
    if ((size_t)w->n_floats != net->n_params) return DQ_ESHAPE;
    if (!w->blob) return DQ_EINVAL;
    memcpy(net->params, w->blob, net->n_params * sizeof(float));
    return DQ_OK;
}

/* ---- checkpoint file ---- */

size_t dq_qnet_shape_put(const dq_qnet_t *net, unsigned char *out)
{
    size_t h = 0;
    dq_put_le32(out + h, net->dueling ? DQ_QNET_FLAG_DUELING : 0u);
    h += 4;
    dq_put_le32(out + h, (uint32_t)net->n_layers);
    h += 4;
    for (int l = 0; l <= net->n_layers; l++, h += 4) dq_put_le32(out + h, (uint32_t)net->sizes[l]);
    dq_put_le64(out + h, (uint64_t)net->n_params);
    return h + 8;
}

/* The layer sizes of a shape block whose n_layers is valid and whose
 * len bytes hold them; checks each width and the parameter count. */
static int shape_sizes(const unsigned char *p, const char *where, dq_qnet_shape_t *s, char *why,
                       size_t whylen)
{
    for (int l = 0; l <= s->n_layers; l++) {
        uint32_t w = dq_get_le32(p + 8 + 4 * l);
        if (w < 1 || w > DQ_QNET_MAX_WIDTH) {
            snprintf(why, whylen, "%s: sizes inconsistent: sizes[%d] = %u (1 to %d allowed)", where,
                     l, (unsigned)w, DQ_QNET_MAX_WIDTH);
            return DQ_EFORMAT;
        }
        s->sizes[l] = (int)w;
    }
    if (check_sizes(s->sizes, s->n_layers, &s->n_params) < 0) {
        snprintf(why, whylen, "%s: sizes inconsistent: too many parameters", where);
        return DQ_EFORMAT;
    }
    uint64_t stored = dq_get_le64(p + s->bytes - 8);
    if (stored != s->n_params) {
        snprintf(why, whylen,
                 "%s: sizes inconsistent: n_params = %llu but the layer sizes need %zu", where,
                 (unsigned long long)stored, s->n_params);
        return DQ_EFORMAT;
    }
    if (s->dueling && s->sizes[s->n_layers] < 3) {
        snprintf(why, whylen, "%s: dueling head needs at least 3 outputs", where);
        return DQ_EFORMAT;
    }
    return DQ_OK;
}

int dq_qnet_shape_get(const unsigned char *p, size_t len, const char *where, dq_qnet_shape_t *s,
                      char *why, size_t whylen)
{
    memset(s, 0, sizeof *s);
    if (len < 8) {
        snprintf(why, whylen, "%s: truncated (shorter than the header)", where);
        return DQ_EFORMAT;
    }
    uint32_t flags = dq_get_le32(p), n_layers = dq_get_le32(p + 4);
    if (flags & ~DQ_QNET_FLAG_DUELING) {
        snprintf(why, whylen, "%s: unknown flags 0x%x", where, (unsigned)flags);
        return DQ_EFORMAT;
    }
    if (n_layers < 1 || n_layers > DQ_QNET_MAX_LAYERS) {
        snprintf(why, whylen, "%s: sizes inconsistent: %u layers (1 to %d allowed)", where,
                 (unsigned)n_layers, DQ_QNET_MAX_LAYERS);
        return DQ_EFORMAT;
    }
    s->dueling = (flags & DQ_QNET_FLAG_DUELING) != 0;
    s->n_layers = (int)n_layers;
    s->bytes = 8 + 4 * ((size_t)n_layers + 1) + 8;
    if (len < s->bytes) {
        snprintf(why, whylen, "%s: truncated (the shape header needs %zu bytes, %zu there)", where,
                 s->bytes, len);
        return DQ_EFORMAT;
    }
    return shape_sizes(p, where, s, why, whylen);
}

int dq_qnet_shape_matches(const dq_qnet_t *net, const dq_qnet_shape_t *s)
{
    if (s->n_layers != net->n_layers || s->dueling != net->dueling || s->n_params != net->n_params)
        return 0;
    for (int l = 0; l <= net->n_layers; l++)
        if (s->sizes[l] != net->sizes[l]) return 0;
    return 1;
}

int dq_qnet_save_desc(const dq_qnet_t *net, const char *desc, const char *path)
{
    size_t dlen = desc ? strlen(desc) : 0;
    if (dlen > DQ_QNET_DESC_MAX_BYTES) return DQ_ETOOBIG;
    unsigned char hdr[8 + 4 + DQ_QNET_SHAPE_MAX_BYTES], dl[4];
    memcpy(hdr, DQ_QNET_FILE_MAGIC, 8);
    dq_put_le32(hdr + 8, DQ_QNET_FILE_VERSION);
    size_t h = 12 + dq_qnet_shape_put(net, hdr + 12);
    dq_put_le32(dl, (uint32_t)dlen);

    dq_atomic_file_t af;
    int rc = dq_atomic_open(&af, path);
    if (rc < 0) return rc;
    rc = dq_atomic_write(&af, hdr, h);
    if (rc == DQ_OK) rc = dq_atomic_write_floats(&af, net->params, net->n_params);
    if (rc == DQ_OK) rc = dq_atomic_write(&af, dl, 4);
    if (rc == DQ_OK && dlen) rc = dq_atomic_write(&af, desc, dlen);
    if (rc < 0) {
        dq_atomic_abort(&af);
        return rc;
    }
    return dq_atomic_commit_hashed(&af);
}

int dq_qnet_save(const dq_qnet_t *net, const char *path)
{
    return dq_qnet_save_desc(net, NULL, path);
}

/* Where a version-3 file's description lies: *dlen bytes at *doff, after
 * the parameters and the u32 length that starts at off; the file's total
 * length in *total. */
static int desc_extent(const unsigned char *p, size_t len, size_t off, const char *path,
                       size_t *doff, size_t *dlen, size_t *total, char *why, size_t whylen)
{
    if (len < off + 4) {
        snprintf(why, whylen, "%s: truncated (%zu bytes, the description length needs %zu)", path,
                 len, off + 4);
        return DQ_EFORMAT;
    }
    uint32_t n = dq_get_le32(p + off);
    if (n > DQ_QNET_DESC_MAX_BYTES) {
        snprintf(why, whylen, "%s: description of %u bytes (at most %u allowed)", path, (unsigned)n,
                 (unsigned)DQ_QNET_DESC_MAX_BYTES);
        return DQ_EFORMAT;
    }
    *doff = off + 4;
    *dlen = n;
    *total = off + 4 + n + 8;
    return DQ_OK;
}

/* Magic, version, shape, length and checksum of a Q-network file's bytes;
 * the description's place (length 0 in a version-2 file). */
static int check_file(const unsigned char *p, size_t len, const char *path, dq_qnet_shape_t *s,
                      size_t *doff, size_t *dlen, char *why, size_t whylen)
{
    if (len < 20) {
        snprintf(why, whylen, "%s: truncated (%zu bytes, shorter than the header)", path, len);
        return DQ_EFORMAT;
    }
    if (memcmp(p, DQ_QNET_FILE_MAGIC, 8) != 0) {
        snprintf(why, whylen, "%s: bad magic, not a Q-network file (expected \"%s\")", path,
                 DQ_QNET_FILE_MAGIC);
        return DQ_EFORMAT;
    }
    uint32_t version = dq_get_le32(p + 8);
    if (version != DQ_QNET_FILE_VERSION && version != 2u) {
        snprintf(why, whylen, "%s: unsupported format version %u (this build reads 2 and %u)", path,
                 (unsigned)version, DQ_QNET_FILE_VERSION);
        return DQ_EFORMAT;
    }
    int rc = dq_qnet_shape_get(p + 12, len - 12, path, s, why, whylen);
    if (rc < 0) return rc;
    size_t params_end = 12 + s->bytes + 4 * s->n_params, total = params_end + 8;
    *doff = params_end;
    *dlen = 0;
    if (version == DQ_QNET_FILE_VERSION &&
        (rc = desc_extent(p, len, params_end, path, doff, dlen, &total, why, whylen)) < 0)
        return rc;
    if (len < total) {
        snprintf(why, whylen, "%s: truncated (%zu bytes, expected %zu)", path, len, total);
        return DQ_EFORMAT;
    }
    if (len > total) {
        snprintf(why, whylen, "%s: %zu trailing bytes after the checksum", path, len - total);
        return DQ_EFORMAT;
    }
    uint64_t stored = dq_get_le64(p + total - 8);
    uint64_t computed = dq_fnv1a64(p, total - 8, DQ_FNV1A64_INIT);
    if (stored != computed) {
        snprintf(why, whylen, "%s: checksum mismatch (stored %016llx, computed %016llx)", path,
                 (unsigned long long)stored, (unsigned long long)computed);
        return DQ_ECHECKSUM;
    }
    return DQ_OK;
}

/* A NUL-terminated copy of the n description bytes at p, NULL when n = 0. */
static int copy_desc(const unsigned char *p, size_t n, const char *path, char **desc, char *why,
                     size_t whylen)
{
    *desc = NULL;
    if (n == 0) return DQ_OK;
    if (memchr(p, '\0', n)) {
        snprintf(why, whylen, "%s: the description holds a NUL byte", path);
        return DQ_EFORMAT;
    }
    *desc = malloc(n + 1);
    if (!*desc) return DQ_ENOMEM;
    memcpy(*desc, p, n);
    (*desc)[n] = '\0';
    return DQ_OK;
}

int dq_qnet_load_desc(dq_qnet_t *net, const char *path, char **desc, char *why, size_t whylen)
{
    memset(net, 0, sizeof *net);
    if (desc) *desc = NULL;
    void *data = NULL;
    size_t len = 0, doff = 0, dlen = 0;
    int rc = dq_file_read_all(path, QNET_FILE_MAX_BYTES, &data, &len, why, whylen);
    if (rc < 0) return rc;
    dq_qnet_shape_t s;
    rc = check_file(data, len, path, &s, &doff, &dlen, why, whylen);
    char *d = NULL;
    if (rc == DQ_OK && desc)
        rc = copy_desc((const unsigned char *)data + doff, dlen, path, &d, why, whylen);
    dq_qnet_t tmp;
    if (rc == DQ_OK) {
        rc = qnet_alloc(&tmp, s.sizes, s.n_layers);
        if (rc < 0) snprintf(why, whylen, "%s: %s", path, dq_strerror(rc));
    }
    if (rc == DQ_OK) {
        dq_get_floats(tmp.params, (const unsigned char *)data + 12 + s.bytes, s.n_params);
        tmp.dueling = s.dueling; /* shape_get checked the >= 3 outputs it needs */
        *net = tmp;
        if (desc) *desc = d;
    } else {
        if (rc == DQ_ENOMEM && !why[0]) snprintf(why, whylen, "%s: out of memory", path);
        free(d);
    }
    free(data);
    return rc;
}

int dq_qnet_load(dq_qnet_t *net, const char *path, char *why, size_t whylen)
{
    return dq_qnet_load_desc(net, path, NULL, why, whylen);
}

int dq_qnet_sizes(const char *hidden, int obs_dim, int n_actions, int *sizes, int *n_layers)
{
    int widths[DQ_QNET_MAX_LAYERS], n_hidden;
    if (dq_config_parse_int_list(hidden, widths, DQ_QNET_MAX_LAYERS - 1, &n_hidden) < 0)
        return DQ_ECONFIG;
    sizes[0] = obs_dim;
    for (int i = 0; i < n_hidden; i++) sizes[i + 1] = widths[i];
    sizes[n_hidden + 1] = n_actions;
    *n_layers = n_hidden + 1;
    return DQ_OK;
}

int dq_qnet_set_dueling(dq_qnet_t *net, int on)
{
    if (on && net->sizes[net->n_layers] < 3) return DQ_EINVAL;
    net->dueling = on != 0;
    return DQ_OK;
}

int dq_qnet_n_actions(const dq_qnet_t *net)
{
    return net->sizes[net->n_layers] - (net->dueling ? 1 : 0);
}

int dq_qnet_build(dq_qnet_t *net, const char *hidden, int dueling, int obs_dim, int n_actions,
                  dq_rng_t *rng, char *why, size_t whylen)
{
    int sizes[DQ_QNET_MAX_LAYERS + 1], n_layers;
    if (dq_qnet_sizes(hidden, obs_dim, n_actions, sizes, &n_layers) < 0) {
        snprintf(why, whylen, "dqn.hidden = '%.64s' is not a list of at most %d positive widths",
                 hidden, DQ_QNET_MAX_LAYERS - 1);
        return DQ_ECONFIG;
    }
    if (dueling) sizes[n_layers]++; /* the value stream's output */
    int rc = dq_qnet_init(net, sizes, n_layers, rng);
    if (rc == DQ_OK && dueling) rc = dq_qnet_set_dueling(net, 1);
    if (rc < 0) {
        snprintf(why, whylen, "Q-network %d -> %.64s -> %d: %s", obs_dim, hidden, n_actions,
                 dq_strerror(rc));
        dq_qnet_free(net);
    }
    return rc;
}
