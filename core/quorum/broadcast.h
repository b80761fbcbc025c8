/*
 * broadcast.h — ZooKeeper's broadcast phase (Zab phase 3) for each role,
 * without sockets (quorum/broadcast.c).
 *
 * What it covers: the leader proposes each txn the write stage preps,
 * counts ACKs by ZooKeeper's QuorumMaj (its own durability is its own ACK)
 * and commits in zxid order, COMMIT to followers and INFORM to observers; a
 * follower logs PROPOSALs, ACKs what is durable, applies what is both
 * committed and durable; an observer logs and applies INFORMs; a learner
 * forwards its clients' writes to the leader as REQUEST packets.  What it
 * does not: election, the learner handshake and sync, PING, SYNC,
 * REVALIDATE, the leader's handling of REQUESTs — the next issue's, which
 * also brings the sockets.
 *
 * Packets leave through the quorum_link_ops the caller gives (the unit
 * harness records them; the next issue's code writes them to the learner
 * connections) and arrive through the *_receive calls.  Starting a role
 * makes it the write stage's replicator; only one role runs at a time.
 */
#ifndef CORRAL_QUORUM_BROADCAST_H
#define CORRAL_QUORUM_BROADCAST_H

#include <stdint.h>
#include "corral/zk_quorum.h"
#include "replicate.h"

struct quorum_link_ops {
    /*
     * Queue qp on the connection to server peer_sid; qp and its bytes are
     * the caller's again when send returns.  0, or -1 when that peer has no
     * connection (the packet is dropped: a peer that comes back is synced
     * afresh, which is the next issue's business).
     */
    int (*send)(int64_t peer_sid, const struct zk_quorum_packet *qp);
    /*
     * Leader, may be NULL: the role cannot go on (the zxid counter ran
     * out, ZOOKEEPER-1277); called once, from inside the write stage, so
     * the callee only schedules the end (peer_lost does).
     */
    void (*lost)(const char *why);
};

/* ---- leader ---- */

/*
 * Lead: voters are the sids of the voting members of the configuration,
 * this server's (my_sid) among them.  A proposal is committed once more
 * than half of them have ACKed it.  0, or -1 (bad arguments, another role
 * running).
 */
int quorum_leader_start(const struct quorum_link_ops *link, int64_t my_sid, const int64_t *voters,
                        int n_voters);
/*
 * Learner sid is synced: it gets every proposal from the next one on
 * (PROPOSAL and COMMIT as a follower, INFORM as an observer).  0, or -1 when
 * it is there already or a follower is not a voter.
 */
int quorum_leader_add_learner(int64_t sid, int observer);
void quorum_leader_remove_learner(int64_t sid);
/*
 * A packet from learner sid.  ACK is counted (or ignored as ZooKeeper
 * ignores it: from a non-voter, for an epoch's first zxid, for a proposal
 * committed or unknown).  0, or -1 for a packet this phase does not handle.
 */
int quorum_leader_receive(int64_t sid, const struct zk_quorum_packet *qp);
/* Proposals still waiting for their quorum. */
int quorum_leader_outstanding(void);
/*
 * fn(zxid) is called as each proposal commits (a quorum's ACKs in, COMMIT
 * and INFORM sent; before it is applied here): what waits for a commit on
 * the leader's side, a learner's SYNC (quorum/leader_requests.c).  NULL:
 * no one.
 */
void quorum_leader_set_commit_hook(void (*fn)(int64_t zxid));
/* The newest zxid proposed, and the newest committed; equal when nothing is outstanding. */
int64_t quorum_leader_last_proposed(void);
/* ZooKeeper's ProposalStats: bytes of the last, smallest and largest PROPOSAL since this
 * leadership began (-1 when none, or not leading). */
void quorum_leader_proposal_sizes(int64_t *last, int64_t *min, int64_t *max);
int64_t quorum_leader_last_committed(void);
/*
 * For a learner's sync (ZooKeeper's startForwarding): fn for each proposal
 * not yet applied here, in zxid order — its txn entry (PROPOSAL's data)
 * and whether it is committed (a quorum acked it; it waits for this
 * server's own durability).  fn returns non-zero to stop.
 */
int quorum_leader_each_outstanding(int (*fn)(void *arg, int64_t zxid, const uint8_t *entry,
                                             size_t len, int committed),
                                   void *arg);
/*
 * The committed-txn window (ZooKeeper's committedLog): the newest
 * QUORUM_COMMITTED_LOG_MAX txns applied while leading, contiguous, the
 * newest being server.last_zxid.  _window: how many, and (when any) the
 * oldest's and newest's zxids; _each: fn for each, oldest first, until fn
 * returns non-zero.
 */
#define QUORUM_COMMITTED_LOG_MAX 500
int quorum_leader_committed_window(int64_t *min_zxid, int64_t *max_zxid);
int quorum_leader_committed_each(int (*fn)(void *arg, int64_t zxid, const uint8_t *entry,
                                           size_t len),
                                 void *arg);

/* ---- learner (follower or observer) ---- */

/* Follow (or observe) leader_sid.  0, or -1 (another role running). */
int quorum_learner_start(const struct quorum_link_ops *link, int64_t leader_sid, int observer);
/*
 * A packet from the leader: PROPOSAL, COMMIT (follower), INFORM (observer).
 * 0; -1 when it is wrong (a COMMIT for the wrong zxid, a PROPOSAL out of
 * order or undecodable, a type this phase does not handle): the caller
 * drops the leader, as ZooKeeper's learner does.
 */
int quorum_learner_receive(const struct zk_quorum_packet *qp);
/* Txns received and not yet applied. */
int quorum_learner_pending(void);

/*
 * The learner role's sync phase (quorum/learner.c, ZK-QUORUM-PROTOCOL.md
 * §2.3): started with quorum_learner_start_syncing once DIFF/TRUNC/SNAP is
 * done, so PROPOSAL/COMMIT pairs before and after NEWLEADER are logged at
 * once (an observer takes them too while syncing) but no ACK leaves:
 * quorum_learner_synced releases them, after the NEWLEADER ACK went first
 * (ZOOKEEPER-4685).  quorum_learner_when_durable(fn) calls fn (once) when
 * every txn received so far is durable here — at once if that holds now —
 * which is what the NEWLEADER ACK waits for (ZOOKEEPER-3023/4646).
 * quorum_learner_uptodate ends the sync phase (an observer then takes
 * INFORM only).  last_committed: the newest zxid the leader said is
 * committed (what a SYNC from the leader covers, §2.11).
 */
int quorum_learner_start_syncing(const struct quorum_link_ops *link, int64_t leader_sid,
                                 int observer);
void quorum_learner_when_durable(void (*fn)(void));
void quorum_learner_synced(void);
void quorum_learner_uptodate(void);
int64_t quorum_learner_last_committed(void);
/*
 * The role ends: what is received and not applied is dropped (what is
 * durable of it the peer applies from the log when it settles); txns whose
 * append is still in flight are freed when it completes (they stay counted
 * in server.txns_in_flight until then).  quorum_stop may follow at once.
 */
void quorum_learner_abandon(void);

/*
 * Back to standalone (the write stage preps and logs alone).  A leader's
 * outstanding proposals are abandoned: each goes back to the write stage
 * as REPLICATE_ABANDONED (replicate.h), not applied — at once when durable
 * here, else when its append completes, so server.txns_in_flight falls to
 * 0 only once the storage is done with them.  A learner: only with nothing
 * pending, -1 otherwise.
 */
int quorum_stop(void);

/*
 * Shutdown, once the storage module is unloaded (no append completes any
 * more): free what ended roles left waiting for an append's completion.
 */
void quorum_release_orphans(void);

/* The replicators the roles install (server.replicator). */
extern const struct replicator replicate_leader;
extern const struct replicator replicate_learner;

#endif
