/*
 * peer.c — the role state machine of an ensemble member, after ZooKeeper's
 * QuorumPeer.run loop: LOOKING → (election) → LEADING | FOLLOWING |
 * OBSERVING → (the role ends) → LOOKING.
 *
 * The election module decides; this file starts the role it decided and
 * owns what every role shares on the way out, so that no role does it
 * differently:
 *
 *   1. stop serving: clients are refused and every client connection is
 *      closed (ConnectionLoss: the session lives on in the ensemble, the
 *      client moves to another member), the duties stop;
 *   2. the role's stop(): its sockets, timers and whatever it held in
 *      flight;
 *   3. settle: wait until no append is in flight (a leader's own proposals
 *      may still be on their way to disk), then apply what is durable here
 *      but not applied (ZooKeeper's fastForwardDataBase on shutdown), so
 *      that the tree, the log and the vote agree again, and free the local
 *      clients;
 *   4. the election module looks again.
 *
 * A role reports the end with peer_lost, which may be called from deep in
 * its own callbacks (a packet handler, a link closing); the work runs from a
 * zero-delay timer at the next loop iteration, on a clean stack.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "log.h"
#include "commit.h"
#include "db.h"
#include "duties.h"
#include "quorum/election.h"
#include "quorum/peer.h"

/* How long settling waits for the storage's appends before it gives up (it never returns). */
#define SETTLE_POLL_S 0.005
#define SETTLE_LIMIT_MS 60000

static struct {
    const struct peer_role *roles[4];   /* by CORRAL_PEER_* state */
    int state;
    const struct peer_role *role;       /* running, or NULL */
    int64_t leader_sid;
    int64_t epoch;
    int64_t role_since_ms;      /* when the running role started (mntr's leader_uptime) */
    ev_timer lost_timer;
    int lost_pending;
    char lost_why[160];
    ev_timer settle_timer;
    int settling;
    int64_t settle_since;
    int tell_election;          /* after settling: the module is to look again (else it is looking) */
    int have_next;              /* a decision that came while the last role was ending */
    int next_state;
    int64_t next_leader, next_epoch;
    int shut;
    int read_only_enabled;      /* readonlymode.enabled */
    ev_timer ro_timer;          /* looking this long: serve read-only clients */
} peer;

static void end_role(const char *why, int tell_election);
static void start_role(int state, int64_t leader_sid, int64_t epoch);

static const char *state_name(int state)
{
    switch (state) {
    case CORRAL_PEER_LOOKING: return "looking";
    case CORRAL_PEER_FOLLOWING: return "following";
    case CORRAL_PEER_LEADING: return "leading";
    case CORRAL_PEER_OBSERVING: return "observing";
    default: return "?";
    }
}

void peer_set_roles(const struct peer_role *leader, const struct peer_role *follower,
                    const struct peer_role *observer)
{
    peer.roles[CORRAL_PEER_LEADING] = leader;
    peer.roles[CORRAL_PEER_FOLLOWING] = follower;
    peer.roles[CORRAL_PEER_OBSERVING] = observer;
}

int peer_setup(void)
{
    if (config_get_bool(&server.cfg, "readonlymode.enabled", 0, &peer.read_only_enabled) < 0)
        return -1;
    ev_init(&peer.ro_timer, NULL);
    return 0;
}

int peer_state(void) { return peer.state; }

const char *peer_mode(void)
{
    if (peer.role)
        return peer.role->name;
    return server.serving == SERVING_READ_ONLY ? "read-only" : NULL;
}

/*
 * Read-only mode (readonly.c), as ZooKeeper's QuorumPeer runs it: a member
 * that has been looking for max(2 s, tickTime) starts serving read-only
 * clients, and stops the moment a role starts (those clients' sessions are
 * local and end with it: every connection is closed).
 */
static void on_ro_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    if (peer.role || peer.settling || peer.lost_pending || peer.shut || server.serving)
        return;
    server.serving = SERVING_READ_ONLY;
    log_info("peer: no quorum for %d ms: serving read-only clients (readonlymode.enabled)",
             server.tick_time > 2000 ? server.tick_time : 2000);
}

static void looking_begins(void)
{
    if (!peer.read_only_enabled || peer.shut || ev_is_active(&peer.ro_timer))
        return;
    double after = (server.tick_time > 2000 ? server.tick_time : 2000) / 1000.0;
    ev_timer_init(&peer.ro_timer, on_ro_timer, after, 0.);
    ev_timer_start(server.loop, &peer.ro_timer);
}

static void read_only_ends(void)
{
    if (ev_is_active(&peer.ro_timer))
        ev_timer_stop(server.loop, &peer.ro_timer);
    if (server.serving != SERVING_READ_ONLY)
        return;
    server.serving = SERVING_NO;
    int closed = db_drop_clients();
    log_info("peer: read-only mode ends; closed %d read-only client connection(s)", closed);
}
int64_t peer_leader_sid(void) { return peer.role ? peer.leader_sid : 0; }
int64_t peer_election_epoch(void) { return peer.epoch; }
int64_t peer_role_uptime_ms(void) { return peer.role ? now_ms() - peer.role_since_ms : 0; }

int peer_stats(struct peer_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!peer.role)
        return -1;
    if (peer.role->stats)
        peer.role->stats(st);
    return 0;
}

void peer_decided(int state, int64_t leader_sid, int64_t epoch, int64_t zxid)
{
    if (state == CORRAL_PEER_LOOKING) {
        log_info("election: looking for a leader");
        peer.have_next = 0;
        /* the module found the leader gone before the role did: the role ends */
        if (peer.role && !peer.shut && !peer.lost_pending)
            end_role("the election module is looking for a leader again", 0);
        else if (!peer.role && !peer.settling && !peer.lost_pending)
            looking_begins();
        return;
    }
    log_info("election: leader is %" PRId64 " (epoch %" PRId64 ", zxid 0x%" PRIx64 "); this "
             "server is %s", leader_sid, epoch, (uint64_t)zxid, state_name(state));
    if (peer.shut)
        return;
    if (peer.role || peer.settling || peer.lost_pending) {
        /* the last role is still ending: this decision waits for it */
        peer.have_next = 1;
        peer.next_state = state;
        peer.next_leader = leader_sid;
        peer.next_epoch = epoch;
        if (peer.role && !peer.lost_pending)
            end_role("a new election was decided", 0);
        return;
    }
    start_role(state, leader_sid, epoch);
}

static void start_role(int state, int64_t leader_sid, int64_t epoch)
{
    read_only_ends();
    const struct peer_role *r = state >= 0 && state < 4 ? peer.roles[state] : NULL;
    if (!r) {
        log_error("peer: no role for state %s", state_name(state));
        election_look_again();
        return;
    }
    peer.state = state;
    peer.role = r;
    peer.leader_sid = leader_sid;
    peer.epoch = epoch;
    peer.role_since_ms = now_ms();
    if (r->start(leader_sid, epoch) < 0)
        peer_lost("the role did not start");
}

void peer_serving_begin(void)
{
    if (!peer.role || server.serving)
        return;
    server.serving = SERVING_YES;
    if (peer.state == CORRAL_PEER_LEADING && duties_start() < 0)
        log_error("peer: the leader's duties did not start (see above); serving without them");
    log_info("peer: serving clients as %s (leader %" PRId64 ")", peer.role->name, peer.leader_sid);
}

/* Refuse clients and close every client connection; the sessions stay in the table. */
static void stop_serving(void)
{
    int was = server.serving;
    server.serving = SERVING_NO;
    if (duties_active())
        duties_stop();
    int closed = db_close_connections();
    if (was || closed)
        log_info("peer: not serving; closed %d client connection(s)", closed);
}

/* read_txns callback: a txn durable here and not applied yet. */
static int fast_forward_one(void *arg, const uint8_t *raw, size_t len, const struct corral_txn *t)
{
    (void)raw, (void)len;
    int64_t *n = arg;
    if (t->zxid <= server.last_zxid)
        return 0;
    commit_apply(t, COMMIT_REPLAY);
    (*n)++;
    return 0;
}

static void settle_done(void)
{
    peer.settling = 0;
    ev_timer_stop(server.loop, &peer.settle_timer);
    int64_t applied = 0;
    int (*read_txns)(int64_t, int (*)(void *, const uint8_t *, size_t, const struct corral_txn *),
                     void *) = server.storage ? CORRAL_FN(server.storage, read_txns) : NULL;
    if (read_txns && read_txns(server.last_zxid, fast_forward_one, &applied) < 0) {
        /*
         * This server ACKed txns it cannot apply now.  Voting with its
         * logged zxid would claim what it does not have (a leader elected
         * so finds its followers "ahead" and never forms); dropping them
         * could lose a write a quorum of ACKs made committed.  Stop, as on
         * any storage failure, and say where.
         */
        log_error("peer: the txns logged after 0x%llx cannot be read back (see above); this "
                  "server acknowledged them and can neither vote for them nor drop them; "
                  "stopping", (unsigned long long)server.last_zxid);
        exit(2);
    }
    if (applied)
        log_info("peer: applied %lld logged txn(s) the role had not applied (to 0x%llx)",
                 (long long)applied, (unsigned long long)server.last_zxid);
    db_drop_clients();
    if (peer.shut)
        return;
    if (peer.have_next) {
        peer.have_next = 0;
        start_role(peer.next_state, peer.next_leader, peer.next_epoch);
    } else {
        if (peer.tell_election)
            election_look_again();
        looking_begins();
    }
}

static void on_settle(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    if (server.txns_in_flight > 0) {
        if (now_ms() - peer.settle_since > SETTLE_LIMIT_MS) {
            /* the storage never answered: nothing here can be trusted to vote with */
            log_error("peer: %d append(s) still in flight after %d s; stopping",
                      server.txns_in_flight, SETTLE_LIMIT_MS / 1000);
            exit(2);
        }
        return;
    }
    settle_done();
}

/*
 * Steps 1-3 (the file comment); at the end of 3 the election module is
 * told to look again, unless it is looking already (tell_election 0).
 */
static void end_role(const char *why, int tell_election)
{
    peer.tell_election = tell_election;
    if (peer.role)
        log_info("peer: %s role ends: %s", peer.role->name, why);
    stop_serving();
    const struct peer_role *r = peer.role;
    peer.role = NULL;
    peer.state = CORRAL_PEER_LOOKING;
    if (r)
        r->stop();
    peer.settling = 1;
    peer.settle_since = now_ms();
    if (server.txns_in_flight == 0 || peer.shut) {
        settle_done();
        return;
    }
    ev_timer_init(&peer.settle_timer, on_settle, SETTLE_POLL_S, SETTLE_POLL_S);
    ev_timer_start(server.loop, &peer.settle_timer);
}

static void on_lost(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    peer.lost_pending = 0;
    end_role(peer.lost_why, 1);
}

void peer_lost(const char *why)
{
    if (peer.lost_pending || peer.shut)
        return;
    peer.lost_pending = 1;
    snprintf(peer.lost_why, sizeof peer.lost_why, "%s", why ? why : "?");
    ev_timer_init(&peer.lost_timer, on_lost, 0., 0.);
    ev_timer_start(server.loop, &peer.lost_timer);
}

void peer_shutdown(void)
{
    if (peer.shut)
        return;
    peer.shut = 1;
    if (peer.lost_pending) {
        ev_timer_stop(server.loop, &peer.lost_timer);
        peer.lost_pending = 0;
    }
    ev_timer_stop(server.loop, &peer.settle_timer);
    if (ev_is_active(&peer.ro_timer))
        ev_timer_stop(server.loop, &peer.ro_timer);
    if (peer.role) {
        const struct peer_role *r = peer.role;
        peer.role = NULL;
        peer.state = CORRAL_PEER_LOOKING;
        server.serving = SERVING_NO;
        r->stop();
    }
}
