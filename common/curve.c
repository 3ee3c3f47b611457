/* curve.c - see curve.h. */
#include "curve.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "err.h"
#include "fileio.h"
#include "log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define MAX_CLIENTS 4096

struct curve_server {
    void *zap;              /* REP at inproc://zeromq.zap.01 */
    uint8_t (*clients)[32]; /* authorized public keys, binary */
    size_t n_clients;
    int any_client; /* no list configured */
    uint64_t accepted, denied;
};

/* Copies the first whitespace-delimited token of s into out (cap bytes). */
static size_t token(const char *s, char *out, size_t cap)
{
    while (*s && isspace((unsigned char)*s)) s++;
    size_t n = 0;
    while (s[n] && !isspace((unsigned char)s[n])) {
        if (n + 1 < cap) out[n] = s[n];
        n++;
    }
    out[n < cap ? n : cap - 1] = '\0';
    return n;
}

int curve_read_key(const char *path, char z85[CURVE_Z85_LEN + 1], char *why, size_t whylen)
{
    void *data = NULL;
    size_t len = 0;
    int rc = dq_file_read_all(path, 4096, &data, &len, why, whylen);
    if (rc < 0) return rc;
    char tok[64];
    size_t n = token(data, tok, sizeof tok);
    free(data);
    uint8_t bin[32];
    if (n != CURVE_Z85_LEN || !zmq_z85_decode(bin, tok)) {
        snprintf(why, whylen, "%s: expected one 40-character Z85 CURVE key", path);
        return DQ_EFORMAT;
    }
    memcpy(z85, tok, CURVE_Z85_LEN + 1);
    return DQ_OK;
}

static int write_text(const char *path, const char *text, int mode, char *why, size_t whylen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(why, whylen, "cannot create %s: %s", path, strerror(errno));
        return DQ_EIO;
    }
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n && fchmod(fd, (mode_t)mode) == 0;
    if (close(fd) != 0) ok = 0;
    if (!ok) {
        snprintf(why, whylen, "cannot write %s: %s", path, strerror(errno));
        return DQ_EIO;
    }
    return DQ_OK;
}

int curve_keygen(const char *prefix, char *why, size_t whylen)
{
    char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1];
    if (zmq_curve_keypair(pub, sec) != 0) {
        snprintf(why, whylen, "zmq_curve_keypair: %s (is libzmq built with CURVE?)",
                 zmq_strerror(zmq_errno()));
        return DQ_EUNSUPPORTED;
    }
    char path[1024], line[64];
    snprintf(path, sizeof path, "%s.key", prefix);
    snprintf(line, sizeof line, "%s\n", sec);
    int rc = write_text(path, line, 0600, why, whylen);
    if (rc < 0) return rc;
    snprintf(path, sizeof path, "%s.pub", prefix);
    snprintf(line, sizeof line, "%s\n", pub);
    return write_text(path, line, 0644, why, whylen);
}

static int load_clients(curve_server_t *cs, const char *path, char *why, size_t whylen)
{
    void *data = NULL;
    size_t len = 0;
    int rc = dq_file_read_all(path, 1 << 20, &data, &len, why, whylen);
    if (rc < 0) return rc;
    cs->clients = malloc(MAX_CLIENTS * sizeof *cs->clients);
    if (!cs->clients) {
        free(data);
        snprintf(why, whylen, "out of memory");
        return DQ_ENOMEM;
    }
    char *save = NULL;
    int lineno = 0;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char tok[64];
        size_t n = token(line, tok, sizeof tok);
        if (n == 0) continue;
        /* '#' is a Z85 digit: a '#' line is a comment only if it is not a key. */
        uint8_t probe[32];
        if (tok[0] == '#' && (n != CURVE_Z85_LEN || !zmq_z85_decode(probe, tok))) continue;
        if (n != CURVE_Z85_LEN || cs->n_clients >= MAX_CLIENTS ||
            !zmq_z85_decode(cs->clients[cs->n_clients], tok)) {
            snprintf(why, whylen, "%s:%d: expected a 40-character Z85 public key (at most %d)",
                     path, lineno, MAX_CLIENTS);
            free(data);
            return DQ_EFORMAT;
        }
        cs->n_clients++;
    }
    free(data);
    if (cs->n_clients == 0) {
        snprintf(why, whylen, "%s lists no client keys: no client could connect", path);
        return DQ_ECONFIG;
    }
    return DQ_OK;
}

curve_server_t *curve_server_new(void *zctx, void *sock, const dq_config_t *cfg, char *why,
                                 size_t whylen)
{
    curve_server_t *cs = calloc(1, sizeof *cs);
    if (!cs) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (!zmq_has("curve")) {
        snprintf(why, whylen, "replay.curve is on but this libzmq has no CURVE support");
        goto fail;
    }
    if (!cfg->replay_curve_secret_key[0]) {
        snprintf(why, whylen,
                 "replay.curve is on: set replay.curve_secret_key (dqnlm-replay-keygen "
                 "writes one)");
        goto fail;
    }
    char sec[CURVE_Z85_LEN + 1];
    if (curve_read_key(cfg->replay_curve_secret_key, sec, why, whylen) < 0) goto fail;
    if (cfg->replay_curve_clients[0]) {
        if (load_clients(cs, cfg->replay_curve_clients, why, whylen) < 0) goto fail;
    } else {
        cs->any_client = 1;
    }
    cs->zap = zmq_socket(zctx, ZMQ_REP);
    int linger = 0;
    if (!cs->zap || zmq_setsockopt(cs->zap, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(cs->zap, ZAP_ENDPOINT) != 0) {
        snprintf(why, whylen, "cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, CURVE_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "dqnlm-replay", strlen("dqnlm-replay")) != 0) {
        snprintf(why, whylen, "cannot enable CURVE on the replay socket: %s",
                 zmq_strerror(zmq_errno()));
        goto fail;
    }
    return cs;
fail:
    curve_server_destroy(&cs);
    return NULL;
}

void curve_server_destroy(curve_server_t **self_p)
{
    if (!self_p || !*self_p) return;
    curve_server_t *cs = *self_p;
    if (cs->zap) zmq_close(cs->zap);
    free(cs->clients);
    free(cs);
    *self_p = NULL;
}

void *curve_server_socket(curve_server_t *cs) { return cs->zap; }
uint64_t curve_server_accepted(const curve_server_t *cs) { return cs->accepted; }
uint64_t curve_server_denied(const curve_server_t *cs) { return cs->denied; }

/* ZAP request (RFC 27): version, request id, domain, address, identity,
 * mechanism, then credentials (CURVE: the client's 32-byte public key). */
void curve_server_handle(curve_server_t *cs)
{
    enum { NF = 8 };
    zmq_msg_t f[NF];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, cs->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (n < NF)
            f[n++] = part;
        else
            zmq_msg_close(&part);
    }
    if (n < 2) {
        for (int i = 0; i < n; i++) zmq_msg_close(&f[i]);
        return;
    }
    int ok = 0;
    if (n >= 7 && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&f[6]) == 32) {
        const uint8_t *key = zmq_msg_data(&f[6]);
        ok = cs->any_client;
        for (size_t i = 0; !ok && i < cs->n_clients; i++) ok = memcmp(cs->clients[i], key, 32) == 0;
        char z85[CURVE_Z85_LEN + 1];
        zmq_z85_encode(z85, key, 32);
        if (ok)
            DQ_DEBUG("CURVE client %s admitted", z85);
        else
            DQ_WARN("CURVE client %s refused: not in replay.curve_clients", z85);
    }
    if (ok)
        cs->accepted++;
    else
        cs->denied++;
    const char *code = ok ? "200" : "400", *text = ok ? "OK" : "client key not authorized";
    zmq_send(cs->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(cs->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
    zmq_send(cs->zap, code, 3, ZMQ_SNDMORE);
    zmq_send(cs->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(cs->zap, "", 0, ZMQ_SNDMORE);
    zmq_send(cs->zap, "", 0, 0);
    for (int i = 0; i < n; i++) zmq_msg_close(&f[i]);
}

int curve_client_keys(void *sock, const char *server_public, const char *client_secret, char *why,
                      size_t whylen)
{
    char server_pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1], pub[CURVE_Z85_LEN + 1];
    int rc = curve_read_key(server_public, server_pub, why, whylen);
    if (rc == DQ_OK) rc = curve_read_key(client_secret, sec, why, whylen);
    if (rc < 0) return rc;
    if (zmq_curve_public(pub, sec) != 0) {
        snprintf(why, whylen, "%s: not a valid secret key", client_secret);
        return DQ_EFORMAT;
    }
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_pub, CURVE_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, CURVE_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, CURVE_Z85_LEN + 1) != 0) {
        snprintf(why, whylen, "cannot set CURVE keys: %s", zmq_strerror(zmq_errno()));
        return DQ_ENET;
    }
    return DQ_OK;
}

int curve_client_setup(void *sock, const dq_config_t *cfg, char *why, size_t whylen)
{
    if (!cfg->replay_curve) return DQ_OK;
    if (!cfg->replay_curve_public_key[0] || !cfg->replay_curve_client_key[0]) {
        snprintf(why, whylen,
                 "replay.curve is on: a client needs replay.curve_public_key (the "
                 "server's) and replay.curve_client_key (its own secret)");
        return DQ_ECONFIG;
    }
    return curve_client_keys(sock, cfg->replay_curve_public_key, cfg->replay_curve_client_key, why,
                             whylen);
}
