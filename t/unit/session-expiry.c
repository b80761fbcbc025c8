/*
 * session-expiry.c — unit tests of the tick-bucket expiry queue
 * (core/expiry.c): rounding up to the next tick, touching moves a session to
 * a later bucket, nothing expires early, everything due expires together.
 */
#include <stddef.h>
#include "tap.h"
#include "expiry.h"

static int count(struct expiry_item *l)
{
    int n = 0;
    for (; l; l = l->next)
        n++;
    return n;
}

int main(void)
{
    struct expiry_queue q;
    expiry_init(&q, 100, 1000);           /* tick 100 ms, now 1000 */
    ok(expiry_poll(&q, 1000) == NULL, "nothing due in an empty queue");

    struct expiry_item a = {0}, b = {0}, c = {0};
    is_int(expiry_update(&q, &a, 1000, 250), 1300, "deadline 1250 rounds up to bucket 1300");
    is_int(expiry_update(&q, &b, 1010, 240), 1300, "deadline 1250 from another start: same bucket");
    is_int(expiry_update(&q, &c, 1000, 300), 1400, "deadline 1300 goes to the next tick, 1400");
    is_int(q.count, 3, "three sessions queued");

    ok(expiry_poll(&q, 1299) == NULL, "nothing expires before its bucket");
    struct expiry_item *due = expiry_poll(&q, 1300);
    is_int(count(due), 2, "both sessions of bucket 1300 expire together");
    ok(a.when == 0 && b.when == 0, "expired items are marked unqueued");
    is_int(q.count, 1, "one session left");

    is_int(expiry_update(&q, &c, 1350, 300), 1700, "touching moves a session to a later bucket");
    ok(expiry_poll(&q, 1400) == NULL, "a touched session does not expire at its old bucket");
    is_int(expiry_wait_ms(&q, 1450), 50, "the timer waits until the next tick");
    due = expiry_poll(&q, 1800);
    ok(due == &c, "the touched session expires at its new bucket");

    struct expiry_item d = {0};
    expiry_update(&q, &d, 2000, 500);
    expiry_remove(&q, &d);
    is_int(q.count, 0, "a removed session is gone");
    ok(expiry_poll(&q, 5000) == NULL, "a removed session never expires");
    expiry_destroy(&q);
    return done_testing();
}
