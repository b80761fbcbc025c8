/*
 * fle.h — ZooKeeper's FastLeaderElection (3.8) as an event-driven state
 * machine: lookForLeader's loop and WorkerReceiver's reply rules, with no
 * sockets and no clock of its own.  Whatever it needs from outside (sending
 * a notification, one timer, the connection manager's two questions, the
 * server's vote) comes through struct fle_env, so t/unit/fle.c drives it
 * message by message.
 *
 * ZooKeeper's loop blocks on a queue with a timeout; here each arrival is one
 * call (fle_receive) and the timeout is the one timer (fle_timer_fired):
 *  - looking, waiting: the timer is notTimeout (200 ms doubling to 60 s,
 *    restarted by every notification, as each poll restarts it); when it
 *    fires, notifications are sent again (or the peers dialled);
 *  - looking, a quorum agrees with my proposal: finalizeWait (200 ms) per
 *    arrival; a better vote resumes the loop, anything else is dropped, and
 *    the timer firing decides;
 *  - leading / following / observing: no timer; LOOKING peers get my vote.
 * Messages to myself (ZooKeeper loops them back through its receive queue)
 * go through a small internal queue drained before each call returns.
 */
#ifndef FLE_FLE_H
#define FLE_FLE_H

#include <stdint.h>
#include "corral/quorum_view.h"
#include "wire.h"

/*
 * finalizeWait: how long a vote that has a quorum waits for a better one.
 * ZooKeeper's is 200 ms, fixed, and the first election of a process keeps
 * it: members started together come up over a few hundred ms, and the wait
 * lets the later ones (a higher sid, a longer log) be counted.  Any value
 * is safe (a quorum elects the leader either way; a late better vote costs
 * a new round at most), and once a member has run, an election starts when
 * the leader is lost, which every member sees within a millisecond or two
 * of the others on a LAN: later elections wait FLE_FINALIZE_WAIT_LATER_MS
 * (election.fle.finalizeWait), most of a failover before.
 */
#define FLE_FINALIZE_WAIT_MS 200
#define FLE_FINALIZE_WAIT_LATER_MS 50
#define FLE_MIN_NOTIFICATION_INTERVAL_MS 200
#define FLE_MAX_NOTIFICATION_INTERVAL_MS 60000

/* ZooKeeper's Vote: what a peer proposes or has settled on. */
struct fle_vote {
    int64_t leader, zxid, election_epoch, peer_epoch;
    int32_t state;              /* the sender's state (LOOKING for a proposal) */
    int32_t version;            /* the notification format it came in */
};

struct fle_env {
    void *arg;
    int64_t my_id;
    const struct corral_quorum_view *view;
    /* QuorumMaj.containsQuorum over voting members */
    int (*has_majority)(void *arg, const int64_t *sids, int n);
    /* this server's initial vote */
    int64_t (*last_logged_zxid)(void *arg);
    int64_t (*current_epoch)(void *arg);
    /* queue n for sid (never my own id: fle loops those back itself) */
    void (*send)(void *arg, int64_t sid, const struct fle_notification *n);
    /* arm the one timer for ms milliseconds (replacing it), or stop it (ms < 0) */
    void (*timer)(void *arg, int ms);
    /* QuorumCnxManager.haveDelivered / connectAll */
    int (*have_delivered)(void *arg);
    void (*connect_all)(void *arg);
    /* the state moved: LOOKING (v NULL) when an election starts, else decided on v */
    void (*decided)(void *arg, int state, const struct fle_vote *v);
    void (*log)(void *arg, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
};

struct fle_entry {
    int64_t sid;
    struct fle_vote v;
};

#define FLE_SELF_QUEUE 8

struct fle {
    struct fle_env env;
    int observer;               /* my server.N line says :observer */
    int state;                  /* enum corral_peer_state */
    int64_t logicalclock;
    int64_t prop_leader, prop_zxid, prop_epoch;     /* my proposal */
    struct fle_vote current;    /* ZooKeeper's currentVote: the last decided */
    struct fle_entry *recvset, *outofelection;      /* one entry per sid */
    int n_recv, n_out, cap;
    int not_timeout;
    int finalizing;             /* a quorum agrees: draining for finalizeWait */
    struct fle_vote self_queue[FLE_SELF_QUEUE];
    int self_head, self_len, draining;
    int min_interval, max_interval, finalize_wait;
    int finalize_wait_later;    /* finalize_wait from the second election on */
    int elections;              /* lookForLeader rounds started */
};

/* Set up (no message is sent until fle_look).  0, or -1 (out of memory). */
int fle_init(struct fle *f, const struct fle_env *env);
void fle_free(struct fle *f);
/* Start an election round (lookForLeader): logical clock + 1, send my vote. */
void fle_look(struct fle *f);
/* A frame's payload from sid. */
void fle_receive(struct fle *f, int64_t sid, const uint8_t *msg, size_t len);
void fle_timer_fired(struct fle *f);
/* The core's peer state (LOOKING: a new round; else only what peers are told). */
void fle_set_state(struct fle *f, int state);
/* updateElectionVote: my current vote carries this epoch from now on. */
void fle_set_vote_epoch(struct fle *f, int64_t epoch);

/* totalOrderPredicate: is (id, zxid, epoch) new better than cur? */
int fle_vote_beats(int64_t new_id, int64_t new_zxid, int64_t new_epoch, int64_t cur_id,
                   int64_t cur_zxid, int64_t cur_epoch);
/* Vote.equals, as the vote tracker counts */
int fle_vote_equal(const struct fle_vote *a, const struct fle_vote *b);

#endif
