/*
 * mem.c — the in-memory storage module: nothing is persisted.
 *
 * For tests and caches.  recover() finds nothing, so the server starts with
 * an empty tree every time.  append() reports a txn durable at once — or, with
 * storage.mem.async=true, at the end of the current loop iteration, all the
 * txns appended in it together.  The asynchronous mode behaves like a disk
 * with group commit (many txns in flight, completions in order) without a
 * disk, which exercises the core's pipelined write path in tests and lets
 * corral-bench measure it.
 */
#include <stdlib.h>
#include <ev.h>
#include "corral/module.h"

static const struct corral_core *core;
static int async_mode;

struct completion {
    void (*done)(void *, int);
    void *arg;
};

static struct completion *queue;
static size_t queued, cap;
static ev_prepare flush_watcher;

static int mem_init(const struct corral_core *c)
{
    core = c;
    if (core->config_bool("storage.mem.async", 0, &async_mode) < 0)
        return -1;
    core->log(CORRAL_LOG_INFO, "mem", "in-memory storage%s: nothing survives a restart",
              async_mode ? " (asynchronous completions)" : "");
    return 0;
}

static void mem_fini(void)
{
    if (async_mode && core->loop)
        ev_prepare_stop(core->loop, &flush_watcher);
    free(queue);
    queue = NULL;
    queued = cap = 0;
}

/* Complete everything appended so far, in order.  More may be appended meanwhile. */
static void flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    size_t i = 0;
    while (i < queued) {
        struct completion c = queue[i++];
        c.done(c.arg, 0);
    }
    queued = 0;
    ev_prepare_stop(loop, w);
}

static int mem_recover(void)
{
    if (async_mode)
        ev_prepare_init(&flush_watcher, flush);
    return 0;
}

static void mem_append(const struct corral_txn *txn, void (*done)(void *, int), void *arg)
{
    (void)txn;
    if (!async_mode) {
        done(arg, 0);
        return;
    }
    if (queued == cap) {
        cap = cap ? cap * 2 : 256;
        struct completion *q = realloc(queue, cap * sizeof *q);
        if (!q) {
            done(arg, -1);
            return;
        }
        queue = q;
    }
    queue[queued].done = done;
    queue[queued].arg = arg;
    queued++;
    ev_prepare_start(core->loop, &flush_watcher);
}

static const struct corral_storage_ops mem_ops = {
    .recover = mem_recover,
    .append = mem_append,
};

static const struct corral_config_key mem_keys[] = {
    {"storage.mem.async", "complete appends at the end of the loop iteration (group-commit-like)"},
    {NULL, NULL},
};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .kind = CORRAL_MODULE_STORAGE,
    .name = "mem",
    .version = "1.1",
    .config_keys = mem_keys,
    .init = mem_init,
    .fini = mem_fini,
    .ops = &mem_ops,
};
