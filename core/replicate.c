/*
 * replicate.c — the replicate step of a standalone server: a txn is
 * committed once the storage module has made it durable (append's done,
 * fsync included).  Storage reports txns in append order, which is the
 * commit order the write stage needs.  The ensemble's roles add their
 * replicators beside this one (replicate.h).
 */
#include "server.h"
#include "replicate.h"

static void standalone_replicate(const struct corral_txn *txn,
                                 void (*committed)(void *arg, int err), void *arg)
{
    server.storage->append(txn, committed, arg);
}

const struct replicator replicate_standalone = {
    .name = "standalone",
    .replicate = standalone_replicate,
};
