/*
 * replicate.h — the write stage's "replicate" step, chosen by the server's
 * role (replicate.c).
 *
 * The write stage preps a write into a txn and hands it to the role's
 * replicate(), which calls committed(arg, 0) once the txn is committed, in
 * the order txns were handed to it, or committed(arg, err) when it cannot
 * be made durable.  Standalone, committed means durable here.  A leader
 * will propose it and count ACKs; what a follower does instead of prepping
 * (forwarding to the leader) is a role choice of the same kind.
 */
#ifndef CORRAL_REPLICATE_H
#define CORRAL_REPLICATE_H

#include "corral/txn.h"

struct replicator {
    const char *name;
    void (*replicate)(const struct corral_txn *txn, void (*committed)(void *arg, int err),
                      void *arg);
};

/* A standalone server: the storage module's append, nothing else. */
extern const struct replicator replicate_standalone;

#endif
