/* server.h - the replay server: one ROUTER socket in front of a replay_t.
 *
 *   replay_server_t *srv = replay_server_new(&cfg, why, sizeof why);
 *   replay_server_run(srv);          // until dq_cli_stop_requested()
 *   replay_server_destroy(&srv);     // writes the final checkpoint if configured
 *
 * Single-threaded: a zmq_poll loop reads one request at a time and answers it
 * (INSERT -> ACK, SAMPLE -> ITEMS, UPDATE_PRIORITIES -> ACK, STATS ->
 * STATS_REPLY, CHECKPOINT -> ACK, anything bad -> ERROR, counted by code).
 * Nothing a peer sends can stop the loop.
 *
 * Waiting. An INSERT or SAMPLE the rate limiter does not allow yet is kept as
 * a deferred reply in a FIFO (one for inserts, one for samples); after every
 * served request the heads are retried, and a request still waiting after
 * replay.wait_timeout_ms is answered ERROR TIMEOUT with its seq / id. Inserts
 * are served strictly in arrival order (a new INSERT queues behind waiting
 * ones), so one actor's inserts are stored in the order it sent them. At
 * most replay.max_waiting requests wait per FIFO; beyond that they are
 * answered TIMEOUT at once.
 *
 * Stop grace (replay.stop_grace > 0). At SIGTERM/SIGINT the loop does not
 * end at once: the inserts waiting for the rate limiter are stored, the
 * limiter holds no insert back from then on (replay_set_stopping), and
 * INSERTs are taken (and acknowledged once durable, as always) until none
 * has come for replay.stop_quiet s, replay.stop_grace is over, or a second
 * stop signal comes more than 1 s after the first. Then waiting samples
 * are answered TIMEOUT and the final checkpoint follows.
 *
 * Checkpoints (replay.checkpoint set): on a CHECKPOINT request, every
 * replay.checkpoint_every seconds, when the log exceeds replay.log_max_mb,
 * and when the loop stops (SIGTERM/SIGINT, after the stop grace). With replay.restore the server
 * starts from the file when it exists; a corrupt or mismatched file stops it
 * with the reason.
 *
 * Durability (replay.checkpoint and replay.log): every stored INSERT is
 * appended to CHECKPOINT.wal (wal.h) and its ACK is held until the record is
 * durable under replay.fsync (group: one fdatasync per replay.group_commit_ms
 * for all held ACKs); replies to later INSERTs queue behind, a SAMPLE that
 * would hand out the key of an item not yet durable, STATS and every
 * checkpoint sync first. At start: stale temporaries removed, checkpoint
 * loaded, log applied (its torn tail cut off). A failing log stops the loop
 * (replay_server_run returns DQ_EIO) without acknowledging anything unlogged.
 */
#ifndef REPLAY_SERVER_H
#define REPLAY_SERVER_H

#include <stddef.h>

#include "config.h"

typedef struct replay_server replay_server_t;

replay_server_t *replay_server_new(const dq_config_t *cfg, char *why, size_t whylen);
/* Writes the final checkpoint (when configured and the loop ran) and frees
 * everything. Returns DQ_OK, or the checkpoint's error (logged as ERROR). */
int replay_server_destroy(replay_server_t **self_p);
/* Serves until a stop signal; returns 0 or a dq_err_t for a fatal socket or
 * log error. */
int replay_server_run(replay_server_t *srv);

#endif
