/*
 * histogram.h — latency histogram for corral-bench.
 *
 * A log-bucket histogram in the spirit of HdrHistogram: values (nanoseconds)
 * below 128 get a bucket each; above that every power of two is split into
 * 128 equal sub-buckets, so a reported percentile is within 1% of the true
 * sample.  Fixed size (no allocation while recording), cheap to record, and
 * per-thread histograms merge by adding counts.
 */
#ifndef CORRAL_BENCH_HISTOGRAM_H
#define CORRAL_BENCH_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_SUB_BITS 7
#define HISTOGRAM_SUB_COUNT (1u << HISTOGRAM_SUB_BITS)
/* Octaves 2^7 .. 2^43 ns (~2.4 hours) above the linear part. */
#define HISTOGRAM_MAX_EXPONENT 43
#define HISTOGRAM_BUCKETS \
    (HISTOGRAM_SUB_COUNT + (HISTOGRAM_MAX_EXPONENT - HISTOGRAM_SUB_BITS + 1) * HISTOGRAM_SUB_COUNT)

struct histogram {
    uint64_t count;
    uint64_t max_ns;
    uint64_t buckets[HISTOGRAM_BUCKETS];
};

void histogram_reset(struct histogram *h);
void histogram_record(struct histogram *h, uint64_t ns);
void histogram_merge(struct histogram *into, const struct histogram *from);
/* The value at quantile q (0 < q <= 1) in nanoseconds; 0 for an empty histogram. */
uint64_t histogram_quantile_ns(const struct histogram *h, double q);

#endif
