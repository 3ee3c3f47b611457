/* fuzz_wal.c - libFuzzer target: the replay server's write-ahead log reader
 * (wal_recover: header, record framing, torn-tail detection, the INSERT
 * decoder and replay_apply_logged), fed through a scratch file as
 * dqnlm-replay reads one at start. The header's checksum and every complete
 * record's checksum are rewritten (wal.h's layout) so that mutations reach
 * the decoder and the replay state behind them; a mutated length still
 * exercises torn tails and corruption in the middle. The generation the
 * recovery expects is the header's, or one more or less (first input byte),
 * so the stale and the newer-log paths are taken too. A refusal must name
 * the file; a recovered state must take an insert and serve a sample. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "fuzz_util.h"
#include "replay.h"
#include "wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rewrites the checksums of the header and of every record that lies whole
 * inside buf. */
static void fix_checksums(unsigned char *buf, size_t size)
{
    if (size < WAL_HEADER_BYTES) return;
    dq_put_le64(buf + 24, dq_fnv1a64(buf, 24, DQ_FNV1A64_INIT));
    size_t at = WAL_HEADER_BYTES;
    while (size - at >= 4) {
        uint32_t n = dq_get_le32(buf + at);
        if (n > size - at - 4 || size - at - 4 - n < 8) return;
        dq_put_le64(buf + at + 4 + n, dq_fnv1a64(buf + at, 4 + (size_t)n, DQ_FNV1A64_INIT));
        at += 4 + (size_t)n + 8;
    }
}

static void use_state(replay_t *r)
{
    char why[512];
    dq_insert_t ins = {.actor = 1, .seq = 1000, .run = 7};
    if (dq_batch_alloc(&ins.batch, 1, 2, 0) < 0) abort();
    memset(ins.batch.obs, 0, 2 * sizeof(float));
    memset(ins.batch.next_obs, 0, 2 * sizeof(float));
    ins.batch.reward[0] = ins.batch.discount[0] = ins.batch.epsilon[0] = 0.5f;
    dq_ack_t ack;
    (void)replay_insert(r, &ins, &ack, why, sizeof why); /* may refuse: other obs_dim */
    dq_batch_free(&ins.batch);
    dq_msg_t items = {.type = DQ_MSG_ITEMS};
    dq_sample_t req = {.table = "main", .n = 4, .id = 1};
    (void)replay_sample(r, &req, &items.u.items, why, sizeof why); /* may be empty */
    dq_msg_clear(&items);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dq_config_t cfg;
    static const char *path;
    if (!path) {
        fuzz_replay_config(&cfg, 1);
        path = fuzz_scratch_path("wal");
    }
    unsigned char *buf = malloc(size + 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    fix_checksums(buf, size);
    uint64_t gen = size >= 24 ? dq_get_le64(buf + 16) : 0;
    if (size > 0 && buf[0] % 7 == 1) gen++; /* the log is older: skipped */
    if (size > 0 && buf[0] % 7 == 2) gen--; /* the log is newer: refused */
    fuzz_write_file(path, buf, size);
    free(buf);
    char why[512] = "";
    replay_t *r = replay_new(&cfg, why, sizeof why);
    if (!r) abort();
    wal_scan_t sc;
    if (wal_recover(r, path, gen, &sc, why, sizeof why) < 0) {
        if (!strstr(why, path)) {
            fprintf(stderr, "fuzz_wal: refusal does not name the file: '%s'\n", why);
            abort();
        }
    } else {
        if (sc.found && !sc.stale && sc.good_bytes + sc.dropped_bytes != sc.file_bytes) {
            fprintf(stderr, "fuzz_wal: %llu good + %llu dropped bytes of %llu\n",
                    (unsigned long long)sc.good_bytes, (unsigned long long)sc.dropped_bytes,
                    (unsigned long long)sc.file_bytes);
            abort();
        }
        use_state(r);
    }
    replay_destroy(&r);
    return 0;
}
