/* net.c - see net.h. */
#include "net.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "err.h"
#include "fileio.h"

int dq_net_configure(void *sock, size_t max_bytes)
{
    int linger = 0;
    /* ZeroMQ drops frames above MAXMSGSIZE and disconnects the sender; keep that
     * as a guard well above the protocol limit so that a merely oversize
     * message still reaches the decoder and gets an ERROR reply. */
    int64_t guard = (int64_t)max_bytes * 2 + 4096;
    int reconnect = 100;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &guard, sizeof guard) != 0 ||
        zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect) != 0)
        return DQ_ENET;
    return DQ_OK;
}

int dq_net_bind(void *sock, const char *endpoint, const char *record_path, char *bound,
                size_t boundlen)
{
    if (zmq_bind(sock, endpoint) != 0) return DQ_ENET;
    size_t len = boundlen;
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, bound, &len) != 0) return DQ_ENET;
    if (record_path) {
        char line[300];
        int n = snprintf(line, sizeof line, "%s\n", bound);
        if (dq_file_write_atomic(record_path, line, (size_t)n) < 0) return DQ_EIO;
    }
    return DQ_OK;
}

static int map_errno(void)
{
    if (errno == EAGAIN) return DQ_ETIMEOUT;
    if (errno == EINTR) return DQ_EINTERRUPTED;
    return DQ_ENET;
}

int dq_net_send(void *sock, const dq_msg_t *m, dq_buf_t *buf, int zmq_flags)
{
    int rc = dq_msg_encode(m, buf);
    if (rc < 0) return rc;
    if (zmq_send(sock, buf->data, buf->len, zmq_flags) < 0) return map_errno();
    return DQ_OK;
}

int dq_net_send_routed(void *sock, const dq_peer_t *peer, const dq_msg_t *m, dq_buf_t *buf)
{
    int rc = dq_msg_encode(m, buf);
    if (rc < 0) return rc;
    /* A ROUTER drops messages to peers that are gone; that is not an error. */
    if (zmq_send(sock, peer->data, peer->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return map_errno();
    if (peer->envelope && zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return map_errno();
    if (zmq_send(sock, buf->data, buf->len, ZMQ_DONTWAIT) < 0) return map_errno();
    return DQ_OK;
}

/* Decodes a received frame, closes it, and drains any further frames of the
 * same message: the protocol is one frame per message. On a decode error *id
 * (may be NULL) gets the frame's id for the ERROR reply. */
static int decode_and_drain(void *sock, zmq_msg_t *frame, dq_msg_t *m, size_t max_bytes,
                            uint64_t *id, char *why, size_t whylen)
{
    int more = zmq_msg_more(frame);
    int rc = dq_msg_decode(zmq_msg_data(frame), zmq_msg_size(frame), max_bytes, m, why, whylen);
    if (rc < 0 && id) *id = dq_msg_peek_id(zmq_msg_data(frame), zmq_msg_size(frame), max_bytes);
    zmq_msg_close(frame);
    if (!more) return rc;
    while (more) {
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        more = zmq_msg_recv(&extra, sock, 0) >= 0 && zmq_msg_more(&extra);
        zmq_msg_close(&extra);
    }
    if (rc == DQ_OK) {
        dq_msg_clear(m);
        snprintf(why, whylen, "message has more than one frame");
        rc = DQ_EMALFORMED;
    }
    return rc;
}

static int recv_payload(void *sock, dq_msg_t *m, size_t max_bytes, int zmq_flags, uint64_t *id,
                        char *why, size_t whylen)
{
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, sock, zmq_flags) < 0) {
        int rc = map_errno();
        zmq_msg_close(&frame);
        return rc;
    }
    return decode_and_drain(sock, &frame, m, max_bytes, id, why, whylen);
}

int dq_net_recv(void *sock, dq_msg_t *m, size_t max_bytes, int zmq_flags, char *why, size_t whylen)
{
    return recv_payload(sock, m, max_bytes, zmq_flags, NULL, why, whylen);
}

static int rcvmore(void *sock)
{
    int more = 0;
    size_t sz = sizeof more;
    zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
    return more;
}

int dq_net_recv_routed(void *sock, dq_peer_t *peer, dq_msg_t *m, size_t max_bytes, uint64_t *id,
                       char *why, size_t whylen)
{
    if (id) *id = 0;
    int n = zmq_recv(sock, peer->data, sizeof peer->data, ZMQ_DONTWAIT);
    if (n < 0) return map_errno();
    peer->len = (size_t)n > sizeof peer->data ? sizeof peer->data : (size_t)n;
    peer->envelope = 0;
    if (!rcvmore(sock)) {
        snprintf(why, whylen, "empty message");
        return DQ_EMALFORMED;
    }
    /* A REQ peer puts an empty delimiter frame before the payload. */
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, sock, 0) < 0) {
        zmq_msg_close(&frame);
        return map_errno();
    }
    if (zmq_msg_size(&frame) == 0 && zmq_msg_more(&frame)) {
        zmq_msg_close(&frame);
        peer->envelope = 1;
        return recv_payload(sock, m, max_bytes, 0, id, why, whylen);
    }
    return decode_and_drain(sock, &frame, m, max_bytes, id, why, whylen);
}
