/*
 * commit.h — the one post-commit path (commit.c), shared by every role and
 * by recovery.
 */
#ifndef CORRAL_COMMIT_H
#define CORRAL_COMMIT_H

#include "corral/txn.h"

struct session;

enum commit_origin {
    COMMIT_LIVE,        /* committed now: prep is told, hooks run, the waiting client answered */
    COMMIT_REPLAY,      /* committed before (recovery, a sync's replay): the tree only */
};

/*
 * Apply txn (committed, in zxid order) and answer what waits for it here.
 * Returns the session whose FIFO head it answered, for the caller to move
 * on (NULL: none, or the session ended).  The txn stays the caller's.
 */
struct session *commit_apply(const struct corral_txn *txn, enum commit_origin origin);

#endif
