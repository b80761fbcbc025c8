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
    /*
     * NULL: a client's sync is answered here as a read.  Else s's sync p
     * (at its FIFO's head, marked in flight) is the role's when this
     * returns 1: a learner's sends it to the leader (REQUEST type 9) and
     * answers it with write_stage_sync_done once the leader's SYNC came and
     * everything before it is applied (ZK-QUORUM-PROTOCOL.md §2.11); a
     * leader's once everything proposed before it is applied here.  Nothing
     * of s moves on meanwhile.  0: nothing to wait for, answer it as a read.
     */
    int (*sync)(struct session *s, struct pending *p);
    /*
     * NULL: a resumed session is checked against the local table.  A
     * learner's: ask the leader (REVALIDATE) whether session s, attached to
     * its new connection but not told so yet, is alive; the role answers
     * with pipeline_revalidated.
     */
    void (*revalidate)(struct session *s, int32_t timeout_ms);
};

/* A forwarded sync is answered: s's in-flight head sync is answered and s moves on. */
void write_stage_sync_done(struct session *s);
/*
 * The leader's answer to a revalidate (connect.c): valid, the client is
 * told it is connected; else SessionExpired and the connection goes.  s
 * must still be on the connection revalidate() was asked for (the caller
 * checks conn_gen).
 */
void pipeline_revalidated(struct session *s, int valid);

/*
 * A role applied a txn outside the write stage's own replicate step (a
 * learner's COMMIT or INFORM): move on the session commit_apply answered
 * (NULL: none) and run the write stage (write_stage.c).
 */
void write_stage_answered(struct session *s);

/* A standalone server: the storage module's append, nothing else. */
extern const struct replicator replicate_standalone;

#endif
