/*
 * session_tracker.c — session expiry on the server in charge (see
 * session_tracker.h for who runs it and why it is tracked by id), and a
 * learner's collection of touches for its leader's PINGs.
 *
 * One item per tracked session, in a uthash by id and in the expiry queue;
 * one timer per tick polls the queue.  Due sessions are collected as ids
 * first and handed to expire one by one, looked up again each time:
 * expiring one can close another session at once (a storage that completes
 * inside append), which frees its item.
 */
#include <stdlib.h>
#include <stddef.h>
#include "server.h"
#include "session_table.h"
#include "session_tracker.h"
#include "expiry.h"
#include "log.h"

struct tracked {
    int64_t id;
    int32_t timeout_ms;
    struct expiry_item expiry;
    int touched;                /* collecting: heard from since the last take */
    UT_hash_handle hh;
};

static struct tracked *tracked;
static struct expiry_queue queue;
static ev_timer tick_timer;
static tracker_expire_fn expire_fn;     /* non-NULL while running */
static int collecting;                  /* a learner's: touches are gathered, nothing expires */

static struct tracked *find(int64_t id)
{
    struct tracked *t;
    HASH_FIND(hh, tracked, &id, sizeof id, t);
    return t;
}

static void arm(void)
{
    ev_timer_stop(server.loop, &tick_timer);
    double wait = (double)expiry_wait_ms(&queue, now_ms()) / 1000.0;
    ev_timer_set(&tick_timer, wait > 0 ? wait : 0.001, 0.);
    ev_timer_start(server.loop, &tick_timer);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    int64_t now = now_ms();
    int64_t *due = NULL;
    size_t n = 0, cap = 0;
    struct expiry_item *list;
    while ((list = expiry_poll(&queue, now))) {
        for (struct expiry_item *i = list; i; i = i->next) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                if (!(due = realloc(due, cap * sizeof *due)))
                    abort();
            }
            due[n++] = ((struct tracked *)((char *)i - offsetof(struct tracked, expiry)))->id;
        }
    }
    for (size_t k = 0; k < n && expire_fn; k++) {
        struct tracked *t = find(due[k]);
        if (!t)
            continue;
        log_info("session 0x%llx expired (timeout %d ms)", (unsigned long long)t->id,
                 t->timeout_ms);
        expire_fn(t->id);
    }
    free(due);
    if (expire_fn)
        arm();
}

/*
 * Recovery blocks the loop, and libev's time (what now_ms() reads) only
 * moves once per loop iteration: read afresh, so a restored session's
 * timeout starts now and not when recovery began.
 */
void tracker_start(tracker_expire_fn expire)
{
    tracker_collect_stop();
    if (expire_fn)
        tracker_stop();
    ev_now_update(server.loop);
    expiry_init(&queue, server.tick_time, now_ms());
    expire_fn = expire;
    for (struct session_entry *e = server.session_table; e; e = e->hh.next)
        tracker_add(e->id, e->timeout_ms);
    ev_init(&tick_timer, on_tick);
    arm();
}

void tracker_stop(void)
{
    if (!expire_fn)
        return;
    ev_timer_stop(server.loop, &tick_timer);
    struct tracked *t, *tmp;
    HASH_ITER(hh, tracked, t, tmp) {
        HASH_DEL(tracked, t);
        free(t);
    }
    expiry_destroy(&queue);
    expire_fn = NULL;
}

int tracker_running(void)
{
    return expire_fn != NULL;
}

static void forget_all(void)
{
    struct tracked *t, *tmp;
    HASH_ITER(hh, tracked, t, tmp) {
        HASH_DEL(tracked, t);
        free(t);
    }
}

void tracker_collect_start(void)
{
    tracker_stop();
    forget_all();
    collecting = 1;
}

void tracker_collect_stop(void)
{
    if (!collecting)
        return;
    forget_all();
    collecting = 0;
}

int tracker_take_touches(void (*fn)(void *arg, int64_t id, int32_t timeout_ms), void *arg)
{
    int n = 0;
    for (struct tracked *t = collecting ? tracked : NULL; t; t = t->hh.next) {
        if (!t->touched)
            continue;
        t->touched = 0;
        fn(arg, t->id, t->timeout_ms);
        n++;
    }
    return n;
}

/* Collecting: note id as heard from, with its timeout (the session table's when not given). */
static void collect(int64_t id, int32_t timeout_ms)
{
    struct tracked *t = find(id);
    if (!t) {
        if (timeout_ms <= 0) {
            const struct session_entry *e = session_table_find(id);
            if (!e)
                return;
            timeout_ms = e->timeout_ms;
        }
        if (!(t = calloc(1, sizeof *t)))
            abort();
        t->id = id;
        HASH_ADD(hh, tracked, id, sizeof t->id, t);
    }
    if (timeout_ms > 0)
        t->timeout_ms = timeout_ms;
    t->touched = 1;
}

void tracker_add(int64_t id, int32_t timeout_ms)
{
    if (collecting) {
        collect(id, timeout_ms);
        return;
    }
    if (!expire_fn)
        return;
    struct tracked *t = find(id);
    if (!t) {
        if (!(t = calloc(1, sizeof *t)))
            abort();
        t->id = id;
        HASH_ADD(hh, tracked, id, sizeof t->id, t);
    }
    t->timeout_ms = timeout_ms;
    expiry_update(&queue, &t->expiry, now_ms(), t->timeout_ms);
}

void tracker_touch(int64_t id)
{
    if (collecting) {
        collect(id, 0);
        return;
    }
    struct tracked *t = expire_fn ? find(id) : NULL;
    if (t)
        expiry_update(&queue, &t->expiry, now_ms(), t->timeout_ms);
}

int tracker_touch_timeout(int64_t id, int32_t timeout_ms)
{
    struct tracked *t = expire_fn ? find(id) : NULL;
    if (!t)
        return 0;
    expiry_update(&queue, &t->expiry, now_ms(), timeout_ms);
    return 1;
}

void tracker_pause(int64_t id)
{
    struct tracked *t = expire_fn ? find(id) : NULL;
    if (t)
        expiry_remove(&queue, &t->expiry);
}

void tracker_forget(int64_t id)
{
    if (collecting) {
        struct tracked *c = find(id);
        if (c) {
            HASH_DEL(tracked, c);
            free(c);
        }
        return;
    }
    struct tracked *t = expire_fn ? find(id) : NULL;
    if (!t)
        return;
    expiry_remove(&queue, &t->expiry);
    HASH_DEL(tracked, t);
    free(t);
}

int64_t tracker_deadline(int64_t id)
{
    struct tracked *t = expire_fn ? find(id) : NULL;
    return t ? t->expiry.when : 0;
}
