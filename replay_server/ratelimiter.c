/* ratelimiter.c - the samples-per-insert rate limiter of ratelimiter.h. */
#include "ratelimiter.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "err.h"

static double max3(double a, double b, double c)
{
    double m = a > b ? a : b;
    return m > c ? m : c;
}

double ratelimiter_min_error_buffer(const ratelimiter_config_t *cfg)
{
    double spi = cfg->samples_per_insert;
    double n = (double)cfg->max_insert_batch, m = (double)cfg->max_sample_batch;
    return max3(spi > 1.0 ? spi : 1.0, (n * spi + m) / 2.0, (n - 1.0) * spi);
}

#define CONFIG_ERROR(...)                                   \
    do {                                                    \
        if (errlen > 0) snprintf(err, errlen, __VA_ARGS__); \
        return DQ_ECONFIG;                                  \
    } while (0)

int ratelimiter_check_config(const ratelimiter_config_t *cfg, char *err, size_t errlen)
{
    double spi = cfg->samples_per_insert, eb = cfg->error_buffer;
    if (!isfinite(spi) || !(spi > 0.0) || spi > 1e9)
        CONFIG_ERROR("rate limiter: samples_per_insert %g must be finite, > 0 and <= 1e9", spi);
    if (cfg->min_size_to_sample < 1)
        CONFIG_ERROR("rate limiter: min_size_to_sample must be at least 1");
    if (cfg->capacity < cfg->min_size_to_sample)
        CONFIG_ERROR("rate limiter: min_size_to_sample %" PRIu64 " exceeds the capacity %" PRIu64
                     "; sampling could never start",
                     cfg->min_size_to_sample, cfg->capacity);
    if (cfg->max_insert_batch < 1 || cfg->max_sample_batch < 1)
        CONFIG_ERROR("rate limiter: max_insert_batch and max_sample_batch must be at least 1");
    if (!isfinite(eb) || eb > 1e15)
        CONFIG_ERROR("rate limiter: error_buffer %g must be finite and <= 1e15", eb);
    double need = ratelimiter_min_error_buffer(cfg);
    if (eb < need)
        CONFIG_ERROR("rate limiter: error_buffer %g is too small for samples_per_insert %g, "
                     "insert batches of %" PRIu32 " and sample batches of %" PRIu32
                     "; an inserter and a sampler could both wait forever. It must be >= "
                     "max(1, SPI, (insert_batch * SPI + sample_batch) / 2, "
                     "(insert_batch - 1) * SPI) = %g",
                     eb, spi, cfg->max_insert_batch, cfg->max_sample_batch, need);
    return DQ_OK;
}

int ratelimiter_init(ratelimiter_t *rl, const ratelimiter_config_t *cfg, char *err, size_t errlen)
{
    int rc = ratelimiter_check_config(cfg, err, errlen);
    if (rc != DQ_OK) return rc;
    double centre = (double)cfg->min_size_to_sample * cfg->samples_per_insert;
    *rl = (ratelimiter_t){
        .cfg = *cfg,
        .min_diff = centre - cfg->error_buffer,
        .max_diff = centre + cfg->error_buffer,
    };
    return DQ_OK;
}

double ratelimiter_diff(const ratelimiter_t *rl)
{
    return (double)rl->inserts * rl->cfg.samples_per_insert - (double)rl->samples + rl->offset;
}

uint64_t ratelimiter_size(const ratelimiter_t *rl) { return rl->inserts - rl->deletes; }

/* Rounding slack for the comparisons: I * SPI is inexact for SPI like 0.1, and a
 * boundary case must not flip because of it. It is far below the spacing of the
 * values diff takes for any sane ratio, so it only settles exact ties. */
static double slack(const ratelimiter_t *rl, uint64_t extra_inserts)
{
    double mag = (double)(rl->inserts + extra_inserts) * rl->cfg.samples_per_insert +
                 (double)rl->samples + fabs(rl->offset) + 1.0;
    return 8.0 * DBL_EPSILON * mag;
}

bool ratelimiter_can_insert(const ratelimiter_t *rl, uint64_t n)
{
    if (n == 0 || n > rl->cfg.max_insert_batch) return false;
    if (!rl->cfg.enabled) return true;
    if (ratelimiter_size(rl) + n <= rl->cfg.min_size_to_sample) return true;
    double after = ratelimiter_diff(rl) + (double)n * rl->cfg.samples_per_insert;
    return after <= rl->max_diff + slack(rl, n);
}

bool ratelimiter_can_sample(const ratelimiter_t *rl, uint64_t n)
{
    if (n == 0 || n > rl->cfg.max_sample_batch) return false;
    if (!rl->cfg.enabled) return true;
    if (ratelimiter_size(rl) < rl->cfg.min_size_to_sample) return false;
    return ratelimiter_diff(rl) - (double)n >= rl->min_diff - slack(rl, 0);
}

int ratelimiter_insert(ratelimiter_t *rl, uint64_t n)
{
    if (n == 0 || n > rl->cfg.max_insert_batch) return DQ_ERANGE;
    if (!ratelimiter_can_insert(rl, n)) return DQ_EINVAL;
    rl->inserts += n;
    return DQ_OK;
}

int ratelimiter_sample(ratelimiter_t *rl, uint64_t n)
{
    if (n == 0 || n > rl->cfg.max_sample_batch) return DQ_ERANGE;
    if (!ratelimiter_can_sample(rl, n)) return DQ_EINVAL;
    rl->samples += n;
    return DQ_OK;
}

void ratelimiter_record_insert(ratelimiter_t *rl, uint64_t n) { rl->inserts += n; }

int ratelimiter_delete(ratelimiter_t *rl, uint64_t n)
{
    if (n > ratelimiter_size(rl)) return DQ_ERANGE;
    rl->deletes += n;
    return DQ_OK;
}

void ratelimiter_set_enabled(ratelimiter_t *rl, bool enabled)
{
    if (enabled && !rl->cfg.enabled) {
        uint64_t size = ratelimiter_size(rl);
        uint64_t warm = size < rl->cfg.min_size_to_sample ? size : rl->cfg.min_size_to_sample;
        double target = (double)warm * rl->cfg.samples_per_insert;
        rl->offset = 0.0;
        rl->offset = target - ratelimiter_diff(rl);
    }
    rl->cfg.enabled = enabled;
}
