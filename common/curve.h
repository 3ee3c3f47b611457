/* curve.h - ZeroMQ CURVE for the replay socket: key files, the server side
 * with a ZAP handler that admits only listed client keys, and the client side.
 *
 * Key files hold one 40-character Z85 key (dqnlm-replay-keygen writes
 * NAME.key, the secret, mode 0600, and NAME.pub, the public key); whitespace
 * around it is ignored. The authorized-clients file holds Z85 public keys, one
 * a line (a line starting with '#' that is not a key is a comment).
 *
 * Server:
 *   curve_server_t *cs = curve_server_new(zctx, sock, cfg, why, sizeof why);
 *   // poll curve_server_socket(cs) with the ROUTER; on POLLIN:
 *   curve_server_handle(cs);              // answers one ZAP request
 *   curve_server_destroy(&cs);
 * CURVE_SERVER plus a secret key make the ROUTER refuse every peer that does
 * not complete the CURVE handshake with the server's public key; the ZAP
 * handler (bound at inproc://zeromq.zap.01 in the same context, before the
 * ROUTER binds) then refuses public keys not in replay.curve_clients. A
 * refused client gets no reply at all: its requests are never delivered.
 *
 * Client (actor, learner, tests):
 *   curve_client_setup(sock, cfg, why, sizeof why);   // before zmq_connect
 */
#ifndef DQ_CURVE_H
#define DQ_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CURVE_Z85_LEN 40

/* Reads a Z85 key file into z85 (41 bytes with the NUL). DQ_EIO / DQ_EFORMAT. */
int curve_read_key(const char *path, char z85[CURVE_Z85_LEN + 1], char *why, size_t whylen);
/* Writes a fresh key pair to prefix.key (0600) and prefix.pub. */
int curve_keygen(const char *prefix, char *why, size_t whylen);

typedef struct curve_server curve_server_t;

curve_server_t *curve_server_new(void *zctx, void *sock, const dq_config_t *cfg, char *why,
                                 size_t whylen);
void curve_server_destroy(curve_server_t **self_p);
void *curve_server_socket(curve_server_t *cs);
void curve_server_handle(curve_server_t *cs);
uint64_t curve_server_accepted(const curve_server_t *cs);
uint64_t curve_server_denied(const curve_server_t *cs);

/* Client side, before zmq_connect: the server's public key and this client's
 * secret key from files. curve_client_setup does it from replay.curve_* and
 * does nothing when replay.curve is off. */
int curve_client_keys(void *sock, const char *server_public, const char *client_secret, char *why,
                      size_t whylen);
int curve_client_setup(void *sock, const dq_config_t *cfg, char *why, size_t whylen);

#endif
