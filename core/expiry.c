/*
 * expiry.c — tick-bucket expiry queue (see expiry.h for the idea).
 */
#include <stdlib.h>
#include "expiry.h"

static int64_t round_up(const struct expiry_queue *q, int64_t t)
{
    return (t / q->interval + 1) * q->interval;
}

void expiry_init(struct expiry_queue *q, int64_t interval_ms, int64_t now_ms)
{
    q->interval = interval_ms > 0 ? interval_ms : 1;
    q->next_expiration = round_up(q, now_ms);
    q->buckets = NULL;
    q->count = 0;
}

void expiry_destroy(struct expiry_queue *q)
{
    struct expiry_bucket *b, *tmp;
    HASH_ITER(hh, q->buckets, b, tmp) {
        HASH_DEL(q->buckets, b);
        free(b);
    }
    q->count = 0;
}

void expiry_remove(struct expiry_queue *q, struct expiry_item *item)
{
    if (!item->when)
        return;
    struct expiry_bucket *b;
    HASH_FIND(hh, q->buckets, &item->when, sizeof item->when, b);
    if (b) {
        if (item->prev)
            item->prev->next = item->next;
        else
            b->head = item->next;
        if (item->next)
            item->next->prev = item->prev;
        if (!b->head) {
            HASH_DEL(q->buckets, b);
            free(b);
        }
    }
    item->when = 0;
    item->prev = item->next = NULL;
    q->count--;
}

int64_t expiry_update(struct expiry_queue *q, struct expiry_item *item, int64_t now_ms,
                      int64_t timeout_ms)
{
    int64_t when = round_up(q, now_ms + timeout_ms);
    if (item->when == when)
        return when;
    expiry_remove(q, item);
    struct expiry_bucket *b;
    HASH_FIND(hh, q->buckets, &when, sizeof when, b);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b)
            abort();
        b->when = when;
        HASH_ADD(hh, q->buckets, when, sizeof b->when, b);
    }
    item->when = when;
    item->prev = NULL;
    item->next = b->head;
    if (b->head)
        b->head->prev = item;
    b->head = item;
    q->count++;
    return when;
}

int64_t expiry_wait_ms(const struct expiry_queue *q, int64_t now_ms)
{
    return now_ms >= q->next_expiration ? 0 : q->next_expiration - now_ms;
}

struct expiry_item *expiry_poll(struct expiry_queue *q, int64_t now_ms)
{
    while (now_ms >= q->next_expiration) {
        int64_t when = q->next_expiration;
        q->next_expiration += q->interval;
        struct expiry_bucket *b;
        HASH_FIND(hh, q->buckets, &when, sizeof when, b);
        if (!b)
            continue;
        HASH_DEL(q->buckets, b);
        struct expiry_item *list = b->head;
        free(b);
        for (struct expiry_item *i = list; i; i = i->next) {
            i->when = 0;
            q->count--;
        }
        return list;
    }
    return NULL;
}
