/* net.h - sending and receiving dq_msg_t over ZeroMQ sockets.
 *
 * One message = one frame holding one msgpack map (see wire.h). A ROUTER
 * socket adds the peer's routing id as a first frame; dq_net_recv_routed and
 * dq_net_send_routed handle it. Receives refuse frames above max_bytes before
 * decoding and never trust their content: a bad frame yields a negative
 * dq_err_t and a reason, and the caller answers with an ERROR.
 */
#ifndef DQ_NET_H
#define DQ_NET_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define DQ_ROUTING_ID_MAX 256

typedef struct {
    unsigned char data[DQ_ROUTING_ID_MAX];
    size_t len;
    int envelope; /* the peer is a REQ socket: replies carry an empty delimiter frame */
} dq_peer_t;

/* Common socket options: linger, a transport-level size guard above
 * max_bytes, and (for clients) reconnect interval. */
int dq_net_configure(void *sock, size_t max_bytes);

/* Binds sock to endpoint (a "tcp://127.0.0.1:*" wildcard port is allowed) and,
 * when record_path is not NULL, writes the endpoint actually bound into that
 * file (atomically), so launchers and tests can find a kernel-chosen port.
 * The bound endpoint is also copied to bound (size boundlen). */
int dq_net_bind(void *sock, const char *endpoint, const char *record_path, char *bound,
                size_t boundlen);

/* Encodes m into buf and sends it as one frame. Returns 0 or a dq_err_t
 * (DQ_ETIMEOUT when ZMQ_DONTWAIT and the queue is full). */
int dq_net_send(void *sock, const dq_msg_t *m, dq_buf_t *buf, int zmq_flags);
int dq_net_send_routed(void *sock, const dq_peer_t *peer, const dq_msg_t *m, dq_buf_t *buf);

/* Receives and decodes one frame. Returns 0, DQ_ETIMEOUT (nothing within the
 * socket's receive timeout / would block), DQ_EINTERRUPTED, DQ_ENET, or a
 * decode error with the reason in why. */
int dq_net_recv(void *sock, dq_msg_t *m, size_t max_bytes, int zmq_flags, char *why, size_t whylen);
/* Same for a ROUTER socket, without waiting (DQ_ETIMEOUT when nothing is
 * queued): the routing id, an optional empty delimiter (REQ peers, then
 * peer->envelope = 1), one payload frame. Fills *peer with the sender's
 * routing id, and on a decode error *id (may be NULL; else 0) with the
 * refused frame's seq or id (dq_msg_peek_id) for the ERROR reply. */
int dq_net_recv_routed(void *sock, dq_peer_t *peer, dq_msg_t *m, size_t max_bytes, uint64_t *id,
                       char *why, size_t whylen);

#endif
