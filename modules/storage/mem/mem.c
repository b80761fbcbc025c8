/*
 * mem.c — the in-memory storage module: nothing is persisted.
 *
 * For tests and caches.  append() reports a txn durable at once, so the
 * write path runs end to end without a disk; recover() finds nothing, so the
 * server starts with an empty tree every time.
 */
#include <stddef.h>
#include "corral/module.h"

static const struct corral_core *core;

static int mem_init(const struct corral_core *c)
{
    core = c;
    core->log(CORRAL_LOG_INFO, "mem", "in-memory storage: nothing survives a restart");
    return 0;
}

static int mem_recover(void) { return 0; }

static void mem_append(const struct corral_txn *txn, void (*done)(void *, int), void *arg)
{
    (void)txn;
    done(arg, 0);
}

static const struct corral_storage_ops mem_ops = {
    .recover = mem_recover,
    .append = mem_append,
};

static const struct corral_config_key mem_keys[] = {{NULL, NULL}};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .kind = CORRAL_MODULE_STORAGE,
    .name = "mem",
    .version = "1.0",
    .config_keys = mem_keys,
    .init = mem_init,
    .ops = &mem_ops,
};
