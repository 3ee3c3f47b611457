/* server.h - the replay server: one ROUTER socket, tables, counters.
 *
 *   replay_server_t *srv = replay_server_new(&cfg, why, sizeof why);
 *   replay_server_run(srv);          // until dq_cli_stop_requested()
 *   replay_server_destroy(&srv);
 *
 * Single-threaded: a zmq_poll loop reads one request at a time and answers it
 * (INSERT -> ACK, SAMPLE -> ITEMS, STATS -> STATS_REPLY, anything bad -> ERROR).
 * Nothing a peer sends can stop the loop: every decode or handling error is
 * answered with an ERROR and counted.
 */
#ifndef REPLAY_SERVER_H
#define REPLAY_SERVER_H

#include <stddef.h>

#include "config.h"

typedef struct replay_server replay_server_t;

replay_server_t *replay_server_new(const dq_config_t *cfg, char *why, size_t whylen);
void replay_server_destroy(replay_server_t **self_p);
/* Serves until a stop signal; returns 0 or a dq_err_t for a fatal socket error. */
int replay_server_run(replay_server_t *srv);

#endif
