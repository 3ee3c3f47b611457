/* fuzz_config.c - libFuzzer target: the INI configuration reader
 * (dq_config_load_file over the defaults, libinih underneath) through a
 * scratch file, as every program reads --config. A refusal must name the
 * file; an accepted file must survive the run folder's round trip: what
 * dq_config_write makes of it loads again, and writes the same text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *write_text(const dq_config_t *cfg, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f || dq_config_write(cfg, f) < 0 || fclose(f) != 0) abort();
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dq_config_t defaults, cfg, again;
    static const char *path;
    if (!path) {
        dq_config_defaults(&defaults); /* once: the same every time */
        path = fuzz_scratch_path("config");
    }
    fuzz_write_file(path, data, size);
    char err[512] = "";
    cfg = defaults;
    if (dq_config_load_file(&cfg, path, err, sizeof err) < 0) {
        if (strncmp(err, path, strlen(path)) != 0) {
            fprintf(stderr, "fuzz_config: refusal does not start with the file: '%s'\n", err);
            abort();
        }
        return 0;
    }
    size_t len1, len2;
    char *text1 = write_text(&cfg, &len1);
    fuzz_write_file(path, text1, len1);
    again = defaults;
    if (dq_config_load_file(&again, path, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_config: the written configuration does not load: %s\n", err);
        abort();
    }
    char *text2 = write_text(&again, &len2);
    if (len1 != len2 || memcmp(text1, text2, len1) != 0) {
        fprintf(stderr, "fuzz_config: write(load(write(c))) differs from write(c)\n");
        abort();
    }
    free(text1);
    free(text2);
    return 0;
}
