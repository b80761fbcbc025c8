/*
 * peer.h — this server's part in the ensemble once an election has decided
 * (quorum/peer.c): which role runs (leader, follower, observer), whether
 * clients are served, and the way back to LOOKING.
 *
 * The roles themselves are quorum/leader.c and quorum/learner.c (the Zab
 * discovery and sync phases over sockets, then the broadcast phase of
 * quorum/broadcast.c).  They come in through struct peer_role and report
 * back through peer_serving_begin and peer_lost; everything that is the
 * same for every role (stopping service, settling the database, telling the
 * election module) is here, once.
 */
#ifndef CORRAL_QUORUM_PEER_H
#define CORRAL_QUORUM_PEER_H

#include <stdint.h>

/*
 * A role.  start: begin (the leader listens and waits for its quorum; a
 * learner dials leader_sid); 0, or -1 after logging why (the peer goes
 * back to LOOKING).  stop: end everything the role holds — sockets,
 * timers, proposals and forwarded writes still in flight (answered or
 * dropped, never left pointing at a session) — and return; the peer then
 * settles the database (peer.c).
 */
/* What mntr and srvr show of a role (ZooKeeper's leader-only mntr keys among them). */
struct peer_stats {
    int64_t epoch;              /* the epoch the role established (0 until it has) */
    int learners;               /* leader: learner connections (zk_learners) */
    int synced_followers;       /* leader: followers synced (zk_synced_followers) */
    int synced_non_voting_followers;
    int synced_observers;       /* zk_synced_observers */
    int pending_syncs;          /* leader: learners in the sync phase (zk_pending_syncs) */
    int64_t last_proposed;      /* leader: the newest zxid proposed */
    int64_t last_zxid;          /* learner: the newest zxid applied here */
    int64_t proposal_size_last, proposal_size_min, proposal_size_max;   /* leader; -1: none */
};

struct peer_role {
    const char *name;           /* "leader", "follower", "observer": srvr's Mode */
    int (*start)(int64_t leader_sid, int64_t election_epoch);
    void (*stop)(void);
    /* May be NULL: fill what the role knows (*st is zeroed first). */
    void (*stats)(struct peer_stats *st);
};

extern const struct peer_role peer_role_leader;     /* quorum/leader.c */
extern const struct peer_role peer_role_follower;   /* quorum/learner.c */
extern const struct peer_role peer_role_observer;   /* quorum/learner.c */

/*
 * main.c hands the roles in: the roles call down into peer.c (serving,
 * lost), so peer.c must not call up into them by name (t0005: the core's
 * files call in one direction).
 */
void peer_set_roles(const struct peer_role *leader, const struct peer_role *follower,
                    const struct peer_role *observer);

/* Read the peer's settings (readonlymode.enabled).  0, or -1 after logging why. */
int peer_setup(void);

/* The election module decided (corral_core.election_decided): log it, start the role. */
void peer_decided(int state, int64_t leader_sid, int64_t epoch, int64_t zxid);

/*
 * The role is synced with a quorum (a leader: a quorum acked NEWLEADER; a
 * learner: UPTODATE arrived): clients are served from now on, and a leader
 * takes on the duties (expiry, reaping, plugin writes; duties.h).
 */
void peer_serving_begin(void);

/*
 * The role cannot go on (leader gone, quorum lost, a protocol error); why
 * is for the log.  Safe from inside any role callback: the work is done at
 * the next loop iteration — stop serving (every client connection closed:
 * clients move to another member), the role's stop(), the database
 * settled (txns durable here but not applied are applied, as ZooKeeper's
 * fastForwardDataBase does, so the next election votes with what is
 * logged), then the election module looks again.
 */
void peer_lost(const char *why);

/* Shutdown: stop the role now, without a new election. */
void peer_shutdown(void);

/* What runs: CORRAL_PEER_LOOKING / LEADING / FOLLOWING / OBSERVING. */
int peer_state(void);
/* The role's name ("leader", …), "read-only" while serving read-only clients, or NULL. */
const char *peer_mode(void);
/* The leader this server follows or is (0 while looking). */
int64_t peer_leader_sid(void);
/* The epoch the last election decided. */
int64_t peer_election_epoch(void);
/* Milliseconds since the running role started (0 while looking): mntr's leader_uptime. */
int64_t peer_role_uptime_ms(void);
/* The running role's figures (zeroed while looking).  0, or -1 while no role runs. */
int peer_stats(struct peer_stats *st);

#endif
