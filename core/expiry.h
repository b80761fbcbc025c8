/*
 * expiry.h — sessions expire by tick buckets, like ZooKeeper's ExpiryQueue.
 *
 * Instead of a timer per session, every session sits in the bucket of the
 * tick boundary after its deadline: when = (deadline / tick + 1) * tick.
 * Touching a session (any packet) moves it to a later bucket in O(1); once per
 * tick the whole due bucket is expired at once.  Rounding up means a session
 * lives at least its timeout and at most one tick longer.
 */
#ifndef CORRAL_EXPIRY_H
#define CORRAL_EXPIRY_H

#include <stdint.h>
#include <uthash.h>

struct expiry_item {
    int64_t when;                       /* bucket time; 0 when not queued */
    struct expiry_item *prev, *next;    /* within the bucket */
};

struct expiry_bucket {
    int64_t when;
    struct expiry_item *head;
    UT_hash_handle hh;
};

struct expiry_queue {
    int64_t interval;                   /* the tick, ms */
    int64_t next_expiration;            /* the next bucket time to process */
    struct expiry_bucket *buckets;      /* uthash keyed by when */
    int64_t count;
};

void expiry_init(struct expiry_queue *q, int64_t interval_ms, int64_t now_ms);
void expiry_destroy(struct expiry_queue *q);
/* Put (or move) item into the bucket for now + timeout.  Returns the bucket time. */
int64_t expiry_update(struct expiry_queue *q, struct expiry_item *item, int64_t now_ms,
                      int64_t timeout_ms);
void expiry_remove(struct expiry_queue *q, struct expiry_item *item);
/* Milliseconds until the next bucket is due (0 if it already is). */
int64_t expiry_wait_ms(const struct expiry_queue *q, int64_t now_ms);
/*
 * If the next bucket is due, detach it and return its items as a list linked
 * by ->next (each item's `when` reset to 0), advancing to the next bucket.
 * Returns NULL when nothing is due.
 */
struct expiry_item *expiry_poll(struct expiry_queue *q, int64_t now_ms);

#endif
