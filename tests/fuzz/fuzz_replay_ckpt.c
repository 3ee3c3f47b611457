/* fuzz_replay_ckpt.c - libFuzzer target: the replay server's checkpoint
 * reader (replay_load: framing of ckpt.c, the table section of table.c, the
 * limiter, counters and actor sections of replay.c), fed through a scratch
 * file exactly as dqnlm-replay --restore reads one. The trailer is rewritten
 * to the checksum of the bytes before it (little-endian, the byte order of
 * the hosts this runs on), so mutations reach every check after the
 * checksum. The configuration is fuzz_replay_config's, with the sampler the
 * table section names, so both samplers' sections are parsed past the
 * "mismatched" checks. A state that loads must then take an insert and serve
 * a sample. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz_util.h"
#include "replay.h"

/* Offset of the table section's sampler word: header 16, tag 4, name 32,
 * capacity 8 (table.c replay_table_save). */
#define SAMPLER_OFFSET 60

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_state(replay_t *r)
{
    char why[512];
    dq_insert_t ins = {.actor = 1, .seq = 0, .run = 7};
    if (dq_batch_alloc(&ins.batch, 1, 2, 0) < 0) abort();
    memset(ins.batch.obs, 0, 2 * sizeof(float));
    memset(ins.batch.next_obs, 0, 2 * sizeof(float));
    ins.batch.action[0] = 0;
    ins.batch.reward[0] = ins.batch.discount[0] = ins.batch.epsilon[0] = 0.5f;
    ins.batch.version[0] = 1;
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
    static dq_config_t cfg[2];
    static const char *path;
    if (!path) {
        fuzz_replay_config(&cfg[0], 0);
        fuzz_replay_config(&cfg[1], 1);
        path = fuzz_scratch_path("replay_ckpt");
    }
    unsigned char *buf = malloc(size + 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    fuzz_fix_trailer(buf, size);
    uint32_t sampler = 0;
    if (size >= SAMPLER_OFFSET + 4) memcpy(&sampler, buf + SAMPLER_OFFSET, 4);
    fuzz_write_file(path, buf, size);
    free(buf);
    char why[512] = "";
    replay_t *r = replay_load(&cfg[sampler == 1], path, why, sizeof why);
    if (!r) {
        if (!strstr(why, path)) {
            fprintf(stderr, "fuzz_replay_ckpt: refusal does not name the file: '%s'\n", why);
            abort();
        }
        return 0;
    }
    use_state(r);
    replay_destroy(&r);
    return 0;
}
