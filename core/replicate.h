/*
 * replicate.h — the write stage's "replicate" step, chosen by the server's
 * role (replicate.c).
 *
 * The write stage preps a write into a txn and hands it to the role's
 * replicate(), which calls committed(arg, 0) once the txn is committed, in
 * the order txns were handed to it, or committed(arg, err) when it cannot
 * be made durable.  Standalone, committed means durable here; a leader
 * proposes it and counts ACKs (quorum/broadcast.c).  A learner (follower,
 * observer) preps nothing: its forward() sends the write to the leader
 * instead, and the write comes back as a txn in the leader's COMMIT or
 * INFORM, which the learner applies with commit_apply and then hands the
 * answered session back here (write_stage_answered).
 */
#ifndef CORRAL_REPLICATE_H
#define CORRAL_REPLICATE_H

#include "corral/txn.h"

struct session;
struct pending;

/*
 * committed(arg, REPLICATE_ABANDONED): the role ended before the txn was
 * committed here (a leader that lost its quorum; quorum/broadcast.c).  The
 * txn is neither applied nor answered: it leaves the window and prep's
 * view, and its client, whose connection the role's end closed, is not
 * told.  Any other non-zero err is a storage failure.
 */
#define REPLICATE_ABANDONED (-1000)

struct replicator {
    const char *name;
    void (*replicate)(const struct corral_txn *txn, void (*committed)(void *arg, int err),
                      void *arg);
    /*
     * NULL: writes are prepped here and handed to replicate().  A learner's:
     * send s's next write p to the leader instead (REQUEST).  The write
     * stage marks p in flight first; it is answered when its txn is
     * committed here (commit_apply matches it by session id and cxid).  The
     * window (globalOutstandingLimit) does not count forwarded writes: the
     * leader's own window bounds the proposals they become.
     */
    void (*forward)(struct session *s, struct pending *p);
};

/*
 * A role applied a txn outside the write stage's own replicate step (a
 * learner's COMMIT or INFORM): move on the session commit_apply answered
 * (NULL: none) and run the write stage (write_stage.c).
 */
void write_stage_answered(struct session *s);

/* A standalone server: the storage module's append, nothing else. */
extern const struct replicator replicate_standalone;

#endif
