/* wire_internal.h - what the pieces of the wire codec share; internal, not part
 * of the public wire.h.
 *
 * Included only by common/wire.c (names, buffers, batches, validation) and
 * common/wire_decode.c; common/wire_encode.c needs nothing beyond wire.h. The
 * validator lives in wire.c and is run by the encoder (through dq_msg_validate)
 * and by the decoder, so both refuse the same messages with the same reasons.
 * Programs and tests use wire.h; nothing outside the codec includes this header.
 */
#ifndef DQ_WIRE_INTERNAL_H
#define DQ_WIRE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#if defined(__GNUC__)
#define DQ_PRINTF_(a, b) __attribute__((format(printf, a, b)))
#else
#define DQ_PRINTF_(a, b)
#endif

/* Wire names of the message types, indexed by dq_msg_type_t. */
extern const char *const wire_type_names[DQ_MSG_COUNT_];

/* The reason being built for a refusal. */
typedef struct {
    const char *msg; /* wire name of the message, prefix of every reason */
    char *why;
    size_t whylen;
} ctx_t;

/* Formats the reason into c->why (when given) and returns code. */
int wire_fail(ctx_t *c, int code, const char *fmt, ...) DQ_PRINTF_(3, 4);

/* malloc of n elements (at least one), NULL on overflow or failure. */
void *wire_alloc_n(size_t n, size_t size);

/* count in [1, DQ_WIRE_MAX_COUNT] and obs_dim in [1, DQ_WIRE_MAX_DIM]. */
int wire_check_dims(ctx_t *c, uint64_t count, uint64_t obs_dim);

/* Shapes, n_floats against the shapes, and every float of the blob. */
int wire_validate_weights(ctx_t *c, const dq_weights_t *w);

/* Every value of m, as dq_msg_validate, with the reason prefixed by c->msg. */
int wire_validate(ctx_t *c, const dq_msg_t *m);

#endif
