/* config_keys.h - every configuration key of dqnlm, in one list.
 *
 * X(section, key, kind, default, min, max, doc)
 *   kind     INT (long), REAL (double), BOOL (int 0/1), STR (char[256])
 *   default  always a string, parsed and validated like user input
 *   min/max  inclusive range for INT and REAL; for STR, min > 0 means the
 *            value must be one of the '|'-separated words in doc's first
 *            bracket, e.g. "[chain|lm]"
 * The struct dq_config_t, the parser, --help-config and the docs check in
 * tests/test_config.c are all generated from this list; docs/config.md must
 * describe every key.
 */
#ifndef DQ_CONFIG_KEYS_H
#define DQ_CONFIG_KEYS_H

/* clang-format off: one row per line, however long */
#define DQ_CONFIG_KEYS(X)                                                                          \
    /* [run] the whole job */                                                                      \
    X(run, seed, INT, "1", 0, 4294967295.0,                                                        \
      "base seed; every actor, env and rank derives its own stream")                               \
    X(run, dir, STR, "runs/latest", 0, 0, "run folder: metrics CSVs, logs, checkpoints")           \
    X(run, log_level, STR, "info", 1, 0, "[debug|info|warn|error] log threshold")                  \
    X(run, max_message_bytes, INT, "67108864", 1024, 1073741824.0,                                 \
      "largest message any program accepts or sends")                                              \
    /* [env] the environment actors step */                                                        \
    X(env, name, STR, "chain", 1, 0,                                                               \
      "[chain|lm] environment: the known-optimum chain or the LM-training env")                    \
    X(env, chain_length, INT, "8", 2, 1000,                                                        \
      "chain: number of states; reward 1 for stepping right off the last")                         \
    X(env, chain_max_steps, INT, "40", 1, 100000, "chain: steps before an episode is truncated")   \
    /* [dqn] the agent, shared by actors and learners */                                           \
    X(dqn, gamma, REAL, "0.9", 0, 1, "discount factor")                                            \
    X(dqn, n_step, INT, "1", 1, 64, "length of the n-step returns assembled by actors")            \
    X(dqn, hidden, STR, "64,64", 0, 0, "Q-network hidden layer widths, comma-separated (ReLU)")    \
    X(dqn, dueling, BOOL, "false", 0, 0, "dueling head: Q = V + A - mean(A)")                      \
    /* [lm] the LM-training environment (docs/lmenv.md) */                                         \
    X(lm, corpus, STR, "/usr/share/games/fortunes", 0, 0,                                          \
      "text corpus: comma-separated files or folders (a folder's regular files, not .dat/.u8, "    \
      "not subfolders)")                                                                           \
    X(lm, finetune_corpus, STR, "", 0, 0, "corpus finetune mode trains on; empty = lm.corpus")     \
    X(lm, split_seed, INT, "0", 0, 4294967295.0,                                                   \
      "seed of the record hash that assigns corpus slices and the validation split")               \
    X(lm, val_fraction, REAL, "0.1", 0.01, 0.9,                                                    \
      "fraction of records held out for validation (per slice)")                                   \
    X(lm, heldout_fraction, REAL, "0.3", 0.05, 0.95,                                               \
      "fraction of records in the held-out instances' corpus slice")                               \
    X(lm, instance_set, STR, "train", 1, 0,                                                        \
      "[train|heldout] instance set programs draw from (dqnlm-lmtrain, evaluation)")               \
    X(lm, mode, STR, "pretrain", 1, 0,                                                             \
      "[pretrain|finetune] random init, or start from lm.checkpoint")                              \
    X(lm, checkpoint, STR, "", 0, 0, "LM checkpoint finetune mode starts from")                    \
    X(lm, sizes, STR, "1x32x4x32,2x32x4x32,1x48x4x32", 0, 0,                                       \
      "training instances' model sizes LAYERSxWIDTHxHEADSxCONTEXT, comma-separated")               \
    X(lm, heldout_sizes, STR, "2x48x4x32", 0, 0, "held-out instances' model sizes, same grammar")  \
    X(lm, batch_sizes, STR, "8,16", 0, 0, "batch sizes instances draw from, comma-separated")      \
    X(lm, lr_init_min, REAL, "1e-4", 1e-9, 10, "initial LR: lower end of the log-uniform range")   \
    X(lm, lr_init_max, REAL, "3e-2", 1e-9, 10, "initial LR: upper end of the log-uniform range")   \
    X(lm, lr, REAL, "0", 0, 100,                                                                   \
      "if > 0, every instance starts at this LR instead of a sampled one")                         \
    X(lm, lr_min, REAL, "1e-5", 1e-12, 100, "the LR is clamped to [lm.lr_min, lm.lr_max]")         \
    X(lm, lr_max, REAL, "0.1", 1e-12, 100, "upper LR clamp")                                       \
    X(lm, actions, STR, "0.5,1,2", 0, 0,                                                           \
      "LR multipliers, one per discrete action, comma-separated")                                  \
    X(lm, action_kind, STR, "multiply", 1, 0,                                                      \
      "[multiply|set] an action multiplies the LR by its lm.actions entry, or sets the LR to it "  \
      "(a bandit over absolute LRs)")                                                              \
    X(lm, opt_steps, INT, "128", 1, 100000, "K: AdamW steps per environment step")                 \
    X(lm, episode_steps, INT, "16", 1, 1000000,                                                    \
      "T_env: environment steps per run (the budget; terminal)")                                   \
    X(lm, val_batches, INT, "8", 1, 1024, "batches in the fixed validation set of an episode")     \
    X(lm, val_batch_size, INT, "16", 1, 4096, "sequences per validation batch")                    \
    X(lm, diverge_factor, REAL, "2", 1.01, 1000,                                                   \
      "divergence: a loss above this multiple of the initial validation loss")                     \
    X(lm, diverge_penalty, REAL, "1", 0, 1000,                                                     \
      "extra negative reward on divergence (see docs/lmenv.md)")                                   \
    X(lm, grad_clip, REAL, "1", 0, 1e9, "global gradient-norm clip; 0 = off")                      \
    X(lm, weight_decay, REAL, "0.1", 0, 10, "AdamW decoupled weight decay (matrices only)")        \
    X(lm, adam_beta1, REAL, "0.9", 0, 0.999999, "AdamW first-moment decay")                        \
    X(lm, adam_beta2, REAL, "0.95", 0, 0.99999999, "AdamW second-moment decay")                    \
    X(lm, schedule, STR, "constant", 0, 0,                                                         \
      "dqnlm-lmtrain baseline LR schedule, e.g. cosine:warmup=0.05 (docs/lmenv.md)")               \
    X(lm, action_seq, STR, "", 0, 0,                                                               \
      "dqnlm-lmtrain: fixed action indices, comma-separated, last one repeated")                   \
    X(lm, curve, STR, "", 0, 0, "dqnlm-lmtrain loss-curve CSV; empty = RUN_DIR/lmtrain.csv")       \
    X(lm, instance_seed, INT, "-1", -1, 4294967295.0,                                              \
      "dqnlm-lmtrain: train this instance seed (from dqnlm-eval's episodes.csv); -1 = draw one")   \
    X(lm, save, STR, "", 0, 0,                                                                     \
      "dqnlm-lmtrain: write the trained LM checkpoint here (for finetune)")                        \
    /* [replay] the replay server */                                                               \
    X(replay, endpoint, STR, "tcp://127.0.0.1:5555", 0, 0,                                         \
      "ZeroMQ endpoint the server binds and clients connect to")                                   \
    X(replay, capacity, INT, "100000", 1, 1e9,                                                     \
      "transitions held; the oldest is evicted first (FIFO)")                                      \
    X(replay, sampler, STR, "uniform", 1, 0,                                                       \
      "[uniform|prioritized] how SAMPLE draws items (prioritized: sum-tree)")                      \
    X(replay, alpha, REAL, "0.6", 0, 1,                                                            \
      "priority exponent: item i is drawn with probability (p_i + eps)^alpha / sum")               \
    X(replay, priority_eps, REAL, "1e-6", 0, 1e6,                                                  \
      "added to every priority before the exponent, so none is starved")                           \
    X(replay, max_actors, INT, "65536", 1, 1048576,                                                \
      "actor ids accepted: 0 .. max_actors-1 (per-actor state is kept for each)")                  \
    X(replay, rate_limit, BOOL, "false", 0, 0, "enable the samples-per-insert rate limiter")       \
    X(replay, samples_per_insert, REAL, "1", 1e-6, 1e6,                                            \
      "rate limiter: target sampled items per inserted item")                                      \
    X(replay, min_size_to_sample, INT, "1", 1, 1e9,                                                \
      "rate limiter: no sampling below this many items")                                           \
    X(replay, error_buffer, REAL, "0", 0, 1e15,                                                    \
      "rate limiter: allowed distance from the target ratio, in samples; 0 = the smallest value "  \
      "that cannot deadlock")                                                                      \
    X(replay, prefill, INT, "0", 0, 1e9,                                                           \
      "rate limiter stays off until the table holds this many items (pre-filling)")                \
    X(replay, max_insert_batch, INT, "4096", 1, 65536,                                             \
      "largest INSERT count accepted (bounds the rate limiter's no-deadlock condition)")           \
    X(replay, max_sample_batch, INT, "4096", 1, 65536, "largest SAMPLE n accepted")                \
    X(replay, wait_timeout_ms, INT, "10000", 1, 86400000,                                          \
      "a request deferred by the rate limiter longer than this gets ERROR TIMEOUT")                \
    X(replay, max_waiting, INT, "1024", 1, 1048576,                                                \
      "deferred requests held at once; more are answered ERROR TIMEOUT at once")                   \
    X(replay, stop_grace, REAL, "10", 0, 3600,                                                     \
      "at SIGTERM/SIGINT, seconds the server keeps storing INSERTs (no longer held by the rate "   \
      "limiter) before its final checkpoint, so that actors stopped with it can drain; ends "      \
      "earlier after stop_quiet s without an INSERT; 0 = stop at once")                            \
    X(replay, stop_quiet, REAL, "1", 0.01, 3600,                                                   \
      "the stop grace ends once no INSERT has arrived for this many seconds")                      \
    X(replay, checkpoint, STR, "", 0, 0,                                                           \
      "checkpoint file; empty = no checkpoints. Written on CHECKPOINT, every checkpoint_every s "  \
      "and at SIGTERM/SIGINT")                                                                     \
    X(replay, checkpoint_every, REAL, "0", 0, 1e9,                                                 \
      "seconds between periodic checkpoints; 0 = only on request and at stop")                     \
    X(replay, restore, BOOL, "false", 0, 0,                                                        \
      "at start, restore from replay.checkpoint if it exists (a bad file stops the server)")       \
    X(replay, log, BOOL, "true", 0, 0,                                                             \
      "with replay.checkpoint: also keep a write-ahead log of inserts (CHECKPOINT.wal), so an "    \
      "acknowledged insert survives SIGKILL")                                                      \
    X(replay, fsync, STR, "group", 1, 0,                                                           \
      "[always|group|none] when an insert is durable before its ACK: fdatasync per insert, "       \
      "per group_commit_ms, or written but never fsync'ed (survives a killed process only)")       \
    X(replay, group_commit_ms, INT, "2", 1, 10000,                                                 \
      "fsync = group: longest an ACK waits for the fdatasync of its group")                        \
    X(replay, log_max_mb, INT, "0", 0, 1e9,                                                        \
      "a log larger than this (MiB) triggers a checkpoint, which empties it; 0 = the size of a "   \
      "full table")                                                                                \
    X(replay, curve, BOOL, "false", 0, 0,                                                          \
      "ZeroMQ CURVE encryption and authentication on the replay socket")                           \
    X(replay, curve_secret_key, STR, "", 0, 0,                                                     \
      "server: file with the server's Z85 secret key (from dqnlm-replay-keygen)")                  \
    X(replay, curve_public_key, STR, "", 0, 0, "clients: file with the server's Z85 public key")   \
    X(replay, curve_clients, STR, "", 0, 0,                                                        \
      "server: file of authorized client public keys (Z85, one a line); empty = any client "       \
      "holding the server's public key")                                                           \
    X(replay, curve_client_key, STR, "", 0, 0, "clients: file with this client's Z85 secret key")  \
    /* [actor] the exploring processes */                                                          \
    X(actor, id, INT, "0", 0, 1e6, "index of this actor (set per process by the launcher)")        \
    X(actor, count, INT, "2", 1, 4096, "number of actor processes in the job")                     \
    X(actor, envs, INT, "1", 1, 1024, "environments stepped round-robin by one actor")             \
    X(actor, max_steps, INT, "0", 0, 1e15,                                                         \
      "env steps per actor before it exits; 0 = until stopped")                                    \
    X(actor, exploration, STR, "ladder:eps=0.4,alpha=7", 0, 0,                                     \
      "exploration schedule, e.g. 0.1, linear:start=1,end=0.05,steps=20000, ez:0.1, "              \
      "boltzmann:0.5 (docs/exploration.md)")                                                       \
    X(actor, batch, INT, "64", 1, 65536, "transitions per INSERT message")                         \
    X(actor, max_unacked, INT, "8", 1, 1024,                                                       \
      "INSERTs kept until acknowledged (resent after a reconnect); a full buffer makes the actor " \
      "wait")                                                                                      \
    X(actor, metrics_every, INT, "200", 1, 1e9, "env steps between metric rows")                   \
    X(actor, resume, BOOL, "false", 0, 0,                                                          \
      "continue RUN_DIR/actor-ID.csv and actor-ID-episodes.csv from their last rows (time_s, "     \
      "env steps, episodes, counters)")                                                            \
    X(actor, send, BOOL, "true", 0, 0,                                                             \
      "false: assemble transitions but send nothing (benchmarks of the networking cost)")          \
    X(actor, priorities, BOOL, "false", 0, 0,                                                      \
      "send initial priorities |n-step TD error| from the local Q-network")                        \
    X(actor, ack_timeout, REAL, "30", 0.1, 86400,                                                  \
      "seconds without any reply, INSERTs outstanding, before reconnecting and resending")         \
    X(actor, drain_timeout, REAL, "15", 0, 86400,                                                  \
      "seconds a stopping actor waits for its last transitions to be acknowledged")                \
    /* [learner] the MPI learner group */                                                          \
    X(learner, weights_endpoint, STR, "tcp://127.0.0.1:5556", 0, 0,                                \
      "ZeroMQ PUB endpoint rank 0 binds for weights")                                              \
    X(learner, batch, INT, "64", 1, 65536, "transitions per update, split across ranks")           \
    X(learner, lr, REAL, "0.001", 0, 10, "Adam learning rate")                                     \
    X(learner, adam_beta1, REAL, "0.9", 0, 0.999999, "Adam first-moment decay")                    \
    X(learner, adam_beta2, REAL, "0.999", 0, 0.99999999, "Adam second-moment decay")               \
    X(learner, adam_eps, REAL, "1e-8", 0, 1, "Adam epsilon")                                       \
    X(learner, grad_clip, REAL, "10", 0, 1e9, "global gradient-norm clip; 0 = off")                \
    X(learner, huber_delta, REAL, "1", 0, 1e9, "Huber loss threshold")                             \
    X(learner, updates, INT, "0", 0, 1e15, "updates before the group exits; 0 = until stopped")    \
    X(learner, min_replay, INT, "500", 1, 1e9, "replay size before the first update")              \
    X(learner, replay_timeout, REAL, "600", 0, 1e9,                                                \
      "seconds without any reply from the replay server before the group gives up (exit 1); "      \
      "0 = wait forever")                                                                          \
    X(learner, target_sync, INT, "100", 1, 1e9, "updates between target-network copies")           \
    X(learner, publish_every, INT, "10", 1, 1e9, "updates between weight publications")            \
    X(learner, inflight, INT, "2", 1, 64, "SAMPLE requests each rank keeps in flight")             \
    X(learner, metrics_every, INT, "100", 1, 1e9,                                                  \
      "updates between metric rows and progress lines")                                            \
    X(learner, per_beta, REAL, "0.4", 0, 1,                                                        \
      "importance-weight exponent for prioritized samples (0 = no correction)")                    \
    X(learner, priority_eps, REAL, "0.001", 0, 1e9,                                                \
      "new priority of an item = |TD error| + priority_eps")                                       \
    X(learner, target_tau, REAL, "0", 0, 1,                                                        \
      "Polyak averaging of the target per update; 0 = copy every target_sync updates")             \
    X(learner, checkpoint_every, INT, "0", 0, 1e15,                                                \
      "updates between learner checkpoints (0 = only at the end)")                                 \
    X(learner, resume, BOOL, "false", 0, 0, "resume from RUN_DIR/learner.ckpt if it exists")       \
    X(learner, deterministic, BOOL, "false", 0, 0,                                                 \
      "rank 0 samples every whole batch, on demand, and scatters it (reproducible runs)")          \
    X(learner, linger, BOOL, "false", 0, 0,                                                        \
      "after learner.updates, write RUN_DIR/learner.done and keep sampling, without updates, "     \
      "until stopped (the launchers set it, so stopping actors can drain)")                        \
    /* [eval] dqnlm-eval: the greedy controller against the baselines */                           \
    X(eval, qnet, STR, "", 0, 0, "Q-network file to evaluate; empty = RUN_DIR/qnet.bin")           \
    X(eval, instances, INT, "8", 1, 10000, "held-out LM instances every method is run on")         \
    X(eval, seed, INT, "1000", 0, 4294967295.0,                                                    \
      "seed that draws the held-out (and tuning) instances")                                       \
    X(eval, baselines, STR, "constant cosine:warmup=0.05 step invsqrt plateau", 0, 0,              \
      "baseline LR schedules, space-separated (docs/lmenv.md grammar)")                            \
    X(eval, lr_grid, STR, "0.001,0.003,0.01,0.03", 0, 0,                                           \
      "LRs each baseline is tuned over on training instances, comma-separated")                    \
    X(eval, tune_instances, INT, "3", 0, 10000,                                                    \
      "training instances per grid point when tuning baseline LRs; 0 = no tuning")                 \
    X(eval, workers, INT, "2", 1, 256, "worker processes running episodes in parallel")            \
    X(eval, boot, INT, "2000", 10, 1000000, "bootstrap resamples for the confidence intervals")    \
    X(eval, out, STR, "", 0, 0, "output folder; empty = RUN_DIR/eval")                             \
    X(eval, set, STR, "heldout", 1, 0,                                                             \
      "[heldout|train] instances evaluated on: held-out sizes and seeds, or fresh seeds of the "   \
      "training sizes")                                                                            \
    X(eval, tie, REAL, "0.01", 0, 10,                                                              \
      "final bits/byte differences up to this count as a tie (one half) in P(controller better)")  \
    X(eval, gnuplot, STR, "gnuplot", 0, 0,                                                         \
      "gnuplot program for the trajectory figures; empty = write data and scripts only")           \
    /* [ablation] dqnlm-report: statistics and figures of an ablation (docs/exploration.md) */     \
    X(ablation, dir, STR, "", 0, 0,                                                                \
      "folder dqnlm-report reads: an ablation (manifest.tsv) or one run (config.ini)")             \
    X(ablation, out, STR, "", 0, 0, "report folder; empty = DIR/report")                           \
    X(ablation, efficiency, REAL, "0.9", 0.01, 1,                                                  \
      "sample efficiency: env steps until a run's return curve reaches this fraction of the best " \
      "final return")                                                                              \
    X(ablation, window, REAL, "0.1", 0.01, 1,                                                      \
      "share of a run's env steps averaged into its return curve and its final return")            \
    X(ablation, grid, INT, "50", 2, 10000,                                                         \
      "env-step grid points the learning curves are interpolated onto")                            \
    X(ablation, boot, INT, "2000", 10, 1000000,                                                    \
      "bootstrap resamples for the confidence intervals and bands")                                \
    X(ablation, seed, INT, "1", 0, 4294967295.0, "seed of the bootstrap resampling")               \
    X(ablation, gnuplot, STR, "gnuplot", 0, 0,                                                     \
      "gnuplot program for the figures; empty = write data and scripts only")                      \
    X(ablation, snapshot, STR, "", 0, 0,                                                           \
      "dqnlm-report: convert this learner checkpoint into the Q-network file "                     \
      "ablation.snapshot_qnet and exit")                                                           \
    X(ablation, snapshot_qnet, STR, "", 0, 0, "where ablation.snapshot's Q-network is written")
/* clang-format on */

#endif
