/* fuzz_util.c - see fuzz_util.h. */
#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

static char scratch[512];

static void remove_scratch(void)
{
    if (scratch[0]) unlink(scratch);
}

const char *fuzz_scratch_path(const char *target)
{
    if (scratch[0]) return scratch;
    const char *dir = getenv("TMPDIR");
    if (!dir || !dir[0] || access(dir, W_OK) != 0)
        dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(scratch, sizeof scratch, "%s/dqnlm-fuzz-%s-%ld", dir, target, (long)getpid());
    atexit(remove_scratch);
    return scratch;
}

void fuzz_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

void fuzz_fix_trailer(unsigned char *buf, size_t len)
{
    if (len < 8) return;
    dq_put_le64(buf + len - 8, dq_fnv1a64(buf, len - 8, DQ_FNV1A64_INIT));
}

void fuzz_replay_config(dq_config_t *cfg, int prioritized)
{
    char err[512];
    dq_config_defaults(cfg);
    char set[8][64];
    snprintf(set[0], sizeof set[0], "replay.capacity=%d", FUZZ_REPLAY_CAPACITY);
    snprintf(set[1], sizeof set[1], "replay.max_actors=%d", FUZZ_REPLAY_MAX_ACTORS);
    snprintf(set[2], sizeof set[2], "replay.sampler=%s", prioritized ? "prioritized" : "uniform");
    snprintf(set[3], sizeof set[3], "replay.rate_limit=true");
    snprintf(set[4], sizeof set[4], "replay.samples_per_insert=2");
    snprintf(set[5], sizeof set[5], "replay.max_insert_batch=8");
    snprintf(set[6], sizeof set[6], "replay.max_sample_batch=8");
    for (size_t i = 0; i < 7; i++)
        if (dq_config_set(cfg, set[i], "fuzz", err, sizeof err) < 0) {
            fprintf(stderr, "fuzz_replay_config: %s\n", err);
            abort();
        }
}
