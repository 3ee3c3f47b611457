/* err.h - the one error enum of dqnlm and its strings.
 *
 * Library code returns these codes (0 = success, negative = error) and never
 * exits. The enum and the string tables are generated from DQ_ERRNO_MAP so they
 * cannot drift apart. Error codes travel in ERROR messages on the wire, so the
 * numeric values are part of the protocol: append new entries, never reorder.
 */
#ifndef DQ_ERR_H
#define DQ_ERR_H

/* clang-format off: one row per line, however long */
#define DQ_ERRNO_MAP(X)                              \
    X(NOMEM, 1, "out of memory")                     \
    X(INVAL, 2, "invalid argument")                  \
    X(IO, 3, "input/output error")                   \
    X(MALFORMED, 4, "malformed msgpack data")        \
    X(TYPE, 5, "field has the wrong type")           \
    X(MISSING, 6, "required field missing")          \
    X(RANGE, 7, "value out of range")                \
    X(NONFINITE, 8, "non-finite float value")        \
    X(TOOBIG, 9, "message exceeds the maximum size") \
    X(VERSION, 10, "unsupported protocol version")   \
    X(UNKNOWN_TYPE, 11, "unknown message type")      \
    X(LENGTH, 12, "vector length does not match")    \
    X(FORMAT, 13, "bad file format")                 \
    X(CHECKSUM, 14, "checksum mismatch")             \
    X(CONFIG, 15, "configuration error")             \
    X(EMPTY, 16, "not enough items")                 \
    X(TIMEOUT, 17, "timed out")                      \
    X(NET, 18, "network error")                      \
    X(UNSUPPORTED, 19, "operation not supported")    \
    X(INTERRUPTED, 20, "interrupted by signal")      \
    X(DIVERGED, 21, "training diverged")             \
    X(SHAPE, 22, "shape mismatch")
/* clang-format on */

typedef enum {
    DQ_OK = 0,
#define DQ_ERR_ENUM_(name, num, str) DQ_E##name = -(num),
    DQ_ERRNO_MAP(DQ_ERR_ENUM_)
#undef DQ_ERR_ENUM_
} dq_err_t;

/* "out of memory" etc.; never NULL, "unknown error" for codes not in the map. */
const char *dq_strerror(int err);
/* "NOMEM" etc.; the name used in ERROR messages and logs. */
const char *dq_errname(int err);

#endif
