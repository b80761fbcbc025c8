/*
 * histogram.c — log-bucket latency histogram (see histogram.h).
 *
 * Bucket index of a value v >= 128: with e the position of its highest set
 * bit, the octave is e - 7 and the sub-bucket the next 7 bits below it.
 * A quantile is reported as the middle of the bucket it falls in, which keeps
 * the error under half a bucket width (< 0.4%).
 */
#include <string.h>
#include "histogram.h"

static unsigned bucket_of(uint64_t ns)
{
    if (ns < HISTOGRAM_SUB_COUNT)
        return (unsigned)ns;
    unsigned exponent = 63u - (unsigned)__builtin_clzll(ns);
    if (exponent > HISTOGRAM_MAX_EXPONENT)
        return HISTOGRAM_BUCKETS - 1;
    unsigned sub = (unsigned)(ns >> (exponent - HISTOGRAM_SUB_BITS)) - HISTOGRAM_SUB_COUNT;
    return HISTOGRAM_SUB_COUNT + (exponent - HISTOGRAM_SUB_BITS) * HISTOGRAM_SUB_COUNT + sub;
}

/* The middle of a bucket's value range. */
static uint64_t bucket_value(unsigned index)
{
    if (index < HISTOGRAM_SUB_COUNT)
        return index;
    unsigned octave = (index - HISTOGRAM_SUB_COUNT) / HISTOGRAM_SUB_COUNT;
    unsigned sub = (index - HISTOGRAM_SUB_COUNT) % HISTOGRAM_SUB_COUNT;
    unsigned shift = octave;     /* width of a sub-bucket is 2^octave */
    uint64_t low = ((uint64_t)HISTOGRAM_SUB_COUNT + sub) << shift;
    return low + (((uint64_t)1 << shift) >> 1);
}

void histogram_reset(struct histogram *h) { memset(h, 0, sizeof *h); }

void histogram_record(struct histogram *h, uint64_t ns)
{
    h->buckets[bucket_of(ns)]++;
    h->count++;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

void histogram_merge(struct histogram *into, const struct histogram *from)
{
    for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
    into->count += from->count;
    if (from->max_ns > into->max_ns)
        into->max_ns = from->max_ns;
}

uint64_t histogram_quantile_ns(const struct histogram *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank >= h->count)
        return h->max_ns;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t v = bucket_value(i);
            return v > h->max_ns ? h->max_ns : v;
        }
    }
    return h->max_ns;
}
