/*
 * writes.c — writes that scripts queue (corral.create/set/delete/write).
 *
 * A hook runs in the middle of the core's own work (prepping a write,
 * applying a txn, delivering an event), so submitting a new write right there
 * would re-enter the pipeline.  Scripts' writes wait in a FIFO instead and go
 * to core->submit_internal from an ev_prepare watcher, i.e. between loop
 * callbacks, in the order they were queued.  They then take the normal write
 * path (prepped, logged, replicated, applied) as the server's own session.
 *
 * Each queued write holds its bytes (lp_request_cost) against memoryLimit,
 * charged by api.c when it is queued and released here once the core has
 * it, so a script cannot pile up unbounded C copies of its data in one call.
 *
 * Only what was queued before a pass is submitted in that pass: a commit
 * hook that writes the node it watches makes one write per loop iteration,
 * not an endless loop inside one callback.  While writes wait, an idle
 * watcher keeps the loop from blocking so the next pass comes at once.
 */
#include <ev.h>
#include <stdlib.h>
#include "lua_plugin.h"

struct queued {
    struct corral_request *req;
    size_t cost;                /* held against memoryLimit until submitted */
    struct queued *next;
};

static struct queued *head, **tail = &head;
static ev_prepare flusher;
static ev_idle keep_awake;
static int started;

static void flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)w;
    (void)revents;
    struct queued *batch = head;
    head = NULL;
    tail = &head;
    while (batch) {
        struct queued *q = batch;
        batch = q->next;
        lp_core->submit_internal(q->req);     /* may queue more: next pass */
        lp_release(q->cost);
        free(q);
    }
    if (!head)
        ev_idle_stop(loop, &keep_awake);
}

static void idle_noop(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

void lp_writes_queue(struct corral_request *req, size_t cost)
{
    struct queued *q = malloc(sizeof *q);
    if (!q || !started) {
        lp_core->log(CORRAL_LOG_ERROR, LP_NAME, "a script's write to %s was dropped (%s)",
                     req->path ? req->path : "?", q ? "plugin stopped" : "out of memory");
        free(q);
        lp_core->request_free(req);
        lp_release(cost);
        return;
    }
    q->req = req;
    q->cost = cost;
    q->next = NULL;
    *tail = q;
    tail = &q->next;
    ev_idle_start(lp_core->loop, &keep_awake);
}

int lp_writes_start(void)
{
    ev_prepare_init(&flusher, flush);
    ev_prepare_start(lp_core->loop, &flusher);
    ev_idle_init(&keep_awake, idle_noop);
    started = 1;
    return 0;
}

/* Shutdown: the loop will not run again, so what is still queued is dropped. */
void lp_writes_stop(void)
{
    if (!started)
        return;
    int dropped = 0;
    while (head) {
        dropped++;
        struct queued *q = head;
        head = q->next;
        lp_core->request_free(q->req);
        lp_release(q->cost);
        free(q);
    }
    tail = &head;
    if (dropped)
        lp_core->log(CORRAL_LOG_WARN, LP_NAME, "%d queued script write(s) dropped at shutdown", dropped);
    ev_prepare_stop(lp_core->loop, &flusher);
    ev_idle_stop(lp_core->loop, &keep_awake);
    started = 0;
}
