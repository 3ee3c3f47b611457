/* fuzz_wire.c - libFuzzer target: the wire decoder (dq_msg_decode) and the
 * id peek of ERROR replies (dq_msg_peek_id) on arbitrary bytes, as a peer
 * could send them. Beyond "no crash, no leak, no undefined behaviour" it
 * checks that a refusal names its reason, and that every accepted message
 * survives encode -> decode -> encode bit for bit (the encoder validates like
 * the decoder, so an accepted message must be encodable). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "wire.h"

#define MAX_BYTES ((size_t)64 << 20)

static void fail(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_wire: %s (%s)\n", what, why);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)dq_msg_peek_id(data, size, MAX_BYTES);
    dq_msg_t m, m2;
    char why[256] = "";
    if (dq_msg_decode(data, size, MAX_BYTES, &m, why, sizeof why) < 0) {
        if (!why[0]) fail("a refusal without a reason", "");
        return 0;
    }
    dq_buf_t a = {0}, b = {0};
    int rc = dq_msg_encode(&m, &a);
    if (rc < 0) {
        dq_msg_validate(&m, why, sizeof why);
        fail("an accepted message does not encode", why);
    }
    if (dq_msg_decode(a.data, a.len, MAX_BYTES, &m2, why, sizeof why) < 0)
        fail("a re-encoded message does not decode", why);
    if (dq_msg_encode(&m2, &b) < 0) fail("a decoded re-encoding does not encode", "");
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        fail("encode(decode(encode(m))) differs from encode(m)", dq_msg_type_name(m.type));
    if (m.type != m2.type) fail("the message type changed in a round trip", "");
    dq_msg_clear(&m);
    dq_msg_clear(&m2);
    dq_buf_free(&a);
    dq_buf_free(&b);
    return 0;
}
