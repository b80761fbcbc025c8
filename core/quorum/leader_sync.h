/*
 * leader_sync.h — what the leader role (quorum/leader.c) and its sync step
 * (quorum/leader_sync.c) share: one learner connection's state, and the
 * sync of one learner (ZooKeeper's LearnerHandler.syncFollower followed by
 * Leader.startForwarding).  Internal to the leader role.
 */
#ifndef CORRAL_QUORUM_LEADER_SYNC_H
#define CORRAL_QUORUM_LEADER_SYNC_H

#include <stdint.h>
#include "corral/jute.h"
#include "quorum/link.h"

/* Where a learner connection is in the handshake (ZK-QUORUM-PROTOCOL.md §2.3). */
enum learner_state {
    LH_INFO,            /* waiting for FOLLOWERINFO / OBSERVERINFO */
    LH_EPOCH,           /* told us its acceptedEpoch; the new epoch is not decided yet */
    LH_ACKEPOCH,        /* LEADERINFO sent; waiting for ACKEPOCH */
    LH_EPOCH_QUORUM,    /* acked the epoch; waiting for a quorum of epoch acks */
    LH_NEWLEADER,       /* synced and forwarded to, NEWLEADER sent; waiting for its ACK */
    LH_STARTUP,         /* acked NEWLEADER; waiting for the leader to serve */
    LH_SYNCED,          /* UPTODATE sent: the broadcast phase */
};

struct learner_handler {
    struct qlink *link;
    char name[112];             /* "server 1 (127.0.0.1:53012)", for log lines */
    int64_t sid;                /* -1 until FOLLOWERINFO */
    int observer;
    enum learner_state state;
    int64_t accepted_epoch;     /* FOLLOWERINFO's */
    int32_t current_epoch;      /* ACKEPOCH's (-1: it had accepted this epoch already) */
    int64_t last_zxid;          /* ACKEPOCH's: its lastLoggedZxid */
    int64_t deadline_ms;        /* synced while now <= this (§2.10) */
    int forwarding;             /* added to the broadcast (quorum_leader_add_learner) */
    const char *sync_mode;      /* "diff", "trunc", "snap" */
    /*
     * The broadcast's packets between NEWLEADER and UPTODATE, sent after
     * UPTODATE: a Java 3.8.0 follower dies on a COMMIT in that window
     * (ZOOKEEPER-4394: its syncWithLeader reads the head of an emptied
     * queue), and after UPTODATE the same packets are its broadcast phase.
     */
    struct jute_buf held;
    /*
     * ZooKeeper's SyncLimitCheck: the broadcast PROPOSALs sent to this
     * follower and not ACKed yet, oldest first, with when they were sent
     * (a ring).  A follower that still answers PINGs but has not ACKed its
     * oldest proposal within syncLimit ticks is dropped (leader.c on_ping),
     * as ZooKeeper's LearnerHandler.ping drops it ("transaction timeout"):
     * it counts towards no quorum, and keeping it would hide that.
     */
    struct unacked {
        int64_t zxid, sent_ms;
    } *unacked;
    size_t unacked_head, unacked_n, unacked_cap;
    struct learner_handler *next;
};

/*
 * Sync h (its ACKEPOCH is in): queue on its link DIFF / TRUNC with the
 * PROPOSAL+COMMIT pairs it lacks, or SNAP and the snapshot stream; then
 * the proposals not yet applied here (committed ones with their COMMIT,
 * uncommitted ones to followers only); then make it a broadcast target, so
 * that every later proposal reaches it — all in this one call, on the loop
 * thread, so none is missed or sent twice.  NEWLEADER is the caller's.
 * force_snap: forceSnapshotSync.  0, or -1 after logging why (the caller
 * drops the learner).
 */
int leader_sync_learner(struct learner_handler *h, int force_snap);

#endif
