/*
 * fle.c — FastLeaderElection's decision loop and reply rules (see fle.h),
 * following ZooKeeper 3.8's FastLeaderElection.lookForLeader and
 * WorkerReceiver step by step, because a peer in a mixed ensemble must
 * reach the same decision from the same notifications as the Java servers:
 *
 *  - the vote order is (peerEpoch, zxid, sid), and a zero-weight id never
 *    wins (with majority quorums every id weighs 1; observers are kept out by
 *    the voter checks instead);
 *  - votes are counted with Vote.equals: all four numbers while either side
 *    is LOOKING, only (leader, peerEpoch) between settled peers, only the
 *    leader when exactly one of them is a version-0 (pre-3.4.6) vote;
 *  - a settled ensemble is joined on a quorum of FOLLOWING/LEADING votes plus
 *    the leader's own LEADING one (checkLeader), at once, without
 *    finalizeWait;
 *  - observers propose Long.MIN_VALUE for everything, send only to voters,
 *    and their notifications are answered but never counted.
 */
#include <stdlib.h>
#include <string.h>
#include "fle.h"
#include "corral/module.h"

int fle_vote_beats(int64_t new_id, int64_t new_zxid, int64_t new_epoch, int64_t cur_id,
                   int64_t cur_zxid, int64_t cur_epoch)
{
    /* QuorumMaj.getWeight is 1 for every id: nothing is refused here */
    return new_epoch > cur_epoch ||
           (new_epoch == cur_epoch && (new_zxid > cur_zxid ||
                                       (new_zxid == cur_zxid && new_id > cur_id)));
}

int fle_vote_equal(const struct fle_vote *a, const struct fle_vote *b)
{
    if (a->state == CORRAL_PEER_LOOKING || b->state == CORRAL_PEER_LOOKING)
        return a->leader == b->leader && a->zxid == b->zxid &&
               a->election_epoch == b->election_epoch && a->peer_epoch == b->peer_epoch;
    if ((a->version > 0) != (b->version > 0))
        return a->leader == b->leader;
    return a->leader == b->leader && a->peer_epoch == b->peer_epoch;
}

static int is_voter(const struct fle *f, int64_t sid)
{
    const struct corral_quorum_view *v = f->env.view;
    for (int i = 0; i < v->n_members; i++)
        if (v->members[i].sid == sid)
            return !v->members[i].observer;
    return 0;
}

/* getInitId / getInitLastLoggedZxid / getPeerEpoch */
static int64_t init_id(const struct fle *f) { return f->observer ? INT64_MIN : f->env.my_id; }

static int64_t init_zxid(const struct fle *f)
{
    return f->observer ? INT64_MIN : f->env.last_logged_zxid(f->env.arg);
}

static int64_t init_epoch(const struct fle *f)
{
    return f->observer ? INT64_MIN : f->env.current_epoch(f->env.arg);
}

int fle_init(struct fle *f, const struct fle_env *env)
{
    memset(f, 0, sizeof *f);
    f->env = *env;
    const struct corral_quorum_view *v = env->view;
    f->observer = !is_voter(f, env->my_id);
    f->cap = v->n_members > 0 ? v->n_members : 1;
    f->recvset = calloc((size_t)f->cap, sizeof *f->recvset);
    f->outofelection = calloc((size_t)f->cap, sizeof *f->outofelection);
    if (!f->recvset || !f->outofelection) {
        fle_free(f);
        return -1;
    }
    f->state = CORRAL_PEER_LOOKING;
    f->min_interval = FLE_MIN_NOTIFICATION_INTERVAL_MS;
    f->max_interval = FLE_MAX_NOTIFICATION_INTERVAL_MS;
    f->finalize_wait = f->finalize_wait_later = FLE_FINALIZE_WAIT_MS;
    f->not_timeout = f->min_interval;
    /* QuorumPeer starts with currentVote = (myid, lastLoggedZxid, currentEpoch) */
    f->current.leader = env->my_id;
    f->current.zxid = env->last_logged_zxid(env->arg);
    f->current.peer_epoch = env->current_epoch(env->arg);
    f->current.state = CORRAL_PEER_LOOKING;
    return 0;
}

void fle_free(struct fle *f)
{
    free(f->recvset);
    free(f->outofelection);
    f->recvset = f->outofelection = NULL;
}

/* recvset / outofelection: one vote per sid, the newest (a HashMap put). */
static void put_vote(struct fle_entry *set, int *n, int cap, int64_t sid, const struct fle_vote *v)
{
    for (int i = 0; i < *n; i++)
        if (set[i].sid == sid) {
            set[i].v = *v;
            return;
        }
    if (*n < cap) {
        set[*n].sid = sid;
        set[*n].v = *v;
        (*n)++;
    }
}

static const struct fle_vote *get_vote(const struct fle_entry *set, int n, int64_t sid)
{
    for (int i = 0; i < n; i++)
        if (set[i].sid == sid)
            return &set[i].v;
    return NULL;
}

/* getVoteTracker + hasAllQuorums: do the votes equal to target form a quorum? */
static int quorum_agrees(const struct fle *f, const struct fle_entry *set, int n,
                         const struct fle_vote *target)
{
    int64_t acks[n > 0 ? n : 1];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (fle_vote_equal(target, &set[i].v))
            acks[k++] = set[i].sid;
    return f->env.has_majority(f->env.arg, acks, k);
}

/* checkLeader: a leader other than me must have told me itself that it leads. */
static int check_leader(const struct fle *f, const struct fle_entry *set, int n, int64_t leader,
                        int64_t election_epoch)
{
    if (leader != f->env.my_id) {
        const struct fle_vote *v = get_vote(set, n, leader);
        return v && v->state == CORRAL_PEER_LEADING;
    }
    return f->logicalclock == election_epoch;
}

static void send_vote(struct fle *f, int64_t to, int state, int64_t leader, int64_t zxid,
                      int64_t election_epoch, int64_t peer_epoch)
{
    if (to == f->env.my_id) {
        /* loopback: ZooKeeper puts it on its own receive queue */
        if (f->self_len == FLE_SELF_QUEUE) {       /* full: the oldest goes, as there */
            f->self_head = (f->self_head + 1) % FLE_SELF_QUEUE;
            f->self_len--;
        }
        struct fle_vote *q = &f->self_queue[(f->self_head + f->self_len++) % FLE_SELF_QUEUE];
        *q = (struct fle_vote){leader, zxid, election_epoch, peer_epoch, state,
                               FLE_NOTIFICATION_VERSION};
        return;
    }
    struct fle_notification n = {
        .state = state, .leader = leader, .zxid = zxid, .election_epoch = election_epoch,
        .peer_epoch = peer_epoch, .version = FLE_NOTIFICATION_VERSION,
        .config = (const uint8_t *)f->env.view->text, .config_len = f->env.view->text_len,
    };
    f->env.send(f->env.arg, to, &n);
}

/* sendNotifications: my proposal, LOOKING, to every voter (myself included). */
static void send_notifications(struct fle *f)
{
    const struct corral_quorum_view *v = f->env.view;
    for (int i = 0; i < v->n_members; i++)
        if (!v->members[i].observer)
            send_vote(f, v->members[i].sid, CORRAL_PEER_LOOKING, f->prop_leader, f->prop_zxid,
                      f->logicalclock, f->prop_epoch);
}

static void update_proposal(struct fle *f, int64_t leader, int64_t zxid, int64_t epoch)
{
    f->prop_leader = leader;
    f->prop_zxid = zxid;
    f->prop_epoch = epoch;
}

/* setPeerState + leaveInstance: the election is over. */
static void decide(struct fle *f, int64_t leader, int64_t zxid, int64_t election_epoch,
                   int64_t peer_epoch)
{
    f->state = leader == f->env.my_id ? CORRAL_PEER_LEADING
               : f->observer          ? CORRAL_PEER_OBSERVING
                                      : CORRAL_PEER_FOLLOWING;
    f->current = (struct fle_vote){leader, zxid, election_epoch, peer_epoch,
                                   CORRAL_PEER_LOOKING, 0};
    f->finalizing = 0;
    f->self_len = 0;            /* leaveInstance clears the receive queue */
    f->env.timer(f->env.arg, -1);
    f->env.decided(f->env.arg, f->state, &f->current);
}

static void drain_self(struct fle *f);

/* lookForLeader's start: a new round with my own vote. */
static void look_start(struct fle *f)
{
    f->state = CORRAL_PEER_LOOKING;
    f->n_recv = f->n_out = 0;
    f->finalizing = 0;
    f->self_len = 0;
    f->not_timeout = f->min_interval;
    if (f->elections++ > 0)
        f->finalize_wait = f->finalize_wait_later;
    f->logicalclock++;
    update_proposal(f, init_id(f), init_zxid(f), init_epoch(f));
    f->env.decided(f->env.arg, CORRAL_PEER_LOOKING, NULL);
    send_notifications(f);
    f->env.timer(f->env.arg, f->not_timeout);
}

/* A FOLLOWING or LEADING notification (receivedFollowingNotification). */
static void settled_vote(struct fle *f, int64_t sid, const struct fle_vote *n)
{
    if (n->election_epoch == f->logicalclock) {
        put_vote(f->recvset, &f->n_recv, f->cap, sid, n);
        if (quorum_agrees(f, f->recvset, f->n_recv, n) &&
            check_leader(f, f->recvset, f->n_recv, n->leader, n->election_epoch)) {
            decide(f, n->leader, n->zxid, n->election_epoch, n->peer_epoch);
            return;
        }
    }
    /* a quorum of peers out of the election (it ended before I joined) */
    put_vote(f->outofelection, &f->n_out, f->cap, sid, n);
    if (quorum_agrees(f, f->outofelection, f->n_out, n) &&
        check_leader(f, f->outofelection, f->n_out, n->leader, n->election_epoch)) {
        f->logicalclock = n->election_epoch;
        decide(f, n->leader, n->zxid, n->election_epoch, n->peer_epoch);
    }
}

/* One turn of lookForLeader's loop for a notification from a voter. */
static void look_step(struct fle *f, int64_t sid, const struct fle_vote *n)
{
    if (f->finalizing) {
        /* the finalizeWait drain: only a better vote matters */
        if (!fle_vote_beats(n->leader, n->zxid, n->peer_epoch, f->prop_leader, f->prop_zxid,
                            f->prop_epoch)) {
            f->env.timer(f->env.arg, f->finalize_wait);
            return;
        }
        f->finalizing = 0;      /* put back and go round the loop again */
    }
    if (!is_voter(f, sid) || !is_voter(f, n->leader)) {
        f->env.log(f->env.arg, CORRAL_LOG_DEBUG, "ignoring a vote for %lld from %lld: not both "
                   "voters", (long long)n->leader, (long long)sid);
        f->env.timer(f->env.arg, f->not_timeout);
        return;
    }
    switch (n->state) {
    case CORRAL_PEER_LOOKING: {
        if (init_zxid(f) == -1 || n->zxid == -1)
            break;
        if (n->election_epoch > f->logicalclock) {
            f->logicalclock = n->election_epoch;
            f->n_recv = 0;
            if (fle_vote_beats(n->leader, n->zxid, n->peer_epoch, init_id(f), init_zxid(f),
                               init_epoch(f)))
                update_proposal(f, n->leader, n->zxid, n->peer_epoch);
            else
                update_proposal(f, init_id(f), init_zxid(f), init_epoch(f));
            send_notifications(f);
        } else if (n->election_epoch < f->logicalclock) {
            break;
        } else if (fle_vote_beats(n->leader, n->zxid, n->peer_epoch, f->prop_leader,
                                  f->prop_zxid, f->prop_epoch)) {
            update_proposal(f, n->leader, n->zxid, n->peer_epoch);
            send_notifications(f);
        } else if (!f->observer && (n->leader != f->prop_leader || n->zxid != f->prop_zxid ||
                                    n->peer_epoch != f->prop_epoch)) {
            /*
             * A worse proposal in my round: ZooKeeper stays silent, and
             * the sender learns mine only when it re-sends (200 ms on).
             * That is the usual case after a leader is lost: the peer
             * whose notification reached me while I still followed was
             * answered with my old vote, and mine, sent when I began to
             * look, is worse than its own.  Telling it mine now only
             * raises its proposal, so this ends after one reply.  Not
             * from an observer: voters answer each of its notifications.
             */
            send_vote(f, sid, CORRAL_PEER_LOOKING, f->prop_leader, f->prop_zxid,
                      f->logicalclock, f->prop_epoch);
        }
        struct fle_vote v = {n->leader, n->zxid, n->election_epoch, n->peer_epoch,
                             CORRAL_PEER_LOOKING, 0};
        put_vote(f->recvset, &f->n_recv, f->cap, sid, &v);
        struct fle_vote mine = {f->prop_leader, f->prop_zxid, f->logicalclock, f->prop_epoch,
                                CORRAL_PEER_LOOKING, 0};
        if (quorum_agrees(f, f->recvset, f->n_recv, &mine)) {
            f->finalizing = 1;
            f->env.timer(f->env.arg, f->finalize_wait);
            return;
        }
        break;
    }
    case CORRAL_PEER_FOLLOWING:
    case CORRAL_PEER_LEADING:
        settled_vote(f, sid, n);
        if (f->state != CORRAL_PEER_LOOKING)
            return;
        break;
    default:                    /* OBSERVING */
        break;
    }
    f->env.timer(f->env.arg, f->not_timeout);
}

/*
 * WorkerReceiver's rules for one decoded notification, then (LOOKING) the
 * loop's turn.
 */
static void on_vote(struct fle *f, int64_t sid, const struct fle_vote *n)
{
    if (!is_voter(f, sid)) {
        /* an observer (or an unknown id): answer at once, never count it */
        send_vote(f, sid, f->state, f->current.leader, f->current.zxid, f->logicalclock,
                  f->current.peer_epoch);
        return;
    }
    if (n->state < CORRAL_PEER_LOOKING || n->state > CORRAL_PEER_OBSERVING)
        return;
    if (f->state == CORRAL_PEER_LOOKING) {
        if (n->state == CORRAL_PEER_LOOKING && n->election_epoch < f->logicalclock)
            send_vote(f, sid, CORRAL_PEER_LOOKING, f->prop_leader, f->prop_zxid,
                      f->logicalclock, f->prop_epoch);
        look_step(f, sid, n);
    } else if (n->state == CORRAL_PEER_LOOKING) {
        /* settled: tell a looking peer what we settled on */
        send_vote(f, sid, f->state, f->current.leader, f->current.zxid,
                  f->current.election_epoch, f->current.peer_epoch);
    }
}

/* Deliver what I sent myself, oldest first (bounded: the queue is small and
 * every turn drains it). */
static void drain_self(struct fle *f)
{
    if (f->draining)
        return;
    f->draining = 1;
    for (int turns = 0; f->self_len > 0 && turns < 64; turns++) {
        struct fle_vote v = f->self_queue[f->self_head];
        f->self_head = (f->self_head + 1) % FLE_SELF_QUEUE;
        f->self_len--;
        on_vote(f, f->env.my_id, &v);
    }
    f->draining = 0;
}

void fle_receive(struct fle *f, int64_t sid, const uint8_t *msg, size_t len)
{
    struct fle_notification n;
    const char *why = NULL;
    if (fle_notification_decode(msg, len, &n, &why) < 0) {
        f->env.log(f->env.arg, CORRAL_LOG_WARN, "notification from %lld (%zu bytes) skipped: %s",
                   (long long)sid, len, why);
        return;
    }
    if (n.version > 1 && f->state == CORRAL_PEER_LOOKING &&
        (n.config_len != f->env.view->text_len ||
         memcmp(n.config, f->env.view->text, (size_t)n.config_len)))
        f->env.log(f->env.arg, CORRAL_LOG_DEBUG, "notification from %lld: its config differs "
                   "from mine (reconfig is not supported; static configs carry version 0)",
                   (long long)sid);
    struct fle_vote v = {n.leader, n.zxid, n.election_epoch, n.peer_epoch, n.state, n.version};
    on_vote(f, sid, &v);
    drain_self(f);
}

void fle_timer_fired(struct fle *f)
{
    if (f->state != CORRAL_PEER_LOOKING)
        return;
    if (f->finalizing) {
        /* finalizeWait passed with nothing better: decide */
        decide(f, f->prop_leader, f->prop_zxid, f->logicalclock, f->prop_epoch);
        return;
    }
    if (f->env.have_delivered(f->env.arg))
        send_notifications(f);
    else
        f->env.connect_all(f->env.arg);
    f->not_timeout = f->not_timeout * 2 > f->max_interval ? f->max_interval : f->not_timeout * 2;
    f->env.timer(f->env.arg, f->not_timeout);
    drain_self(f);
}

void fle_look(struct fle *f)
{
    look_start(f);
    drain_self(f);
}

void fle_set_state(struct fle *f, int state)
{
    if (state == CORRAL_PEER_LOOKING) {
        fle_look(f);
    } else if (state >= CORRAL_PEER_FOLLOWING && state <= CORRAL_PEER_OBSERVING) {
        f->state = state;
    }
}

void fle_set_vote_epoch(struct fle *f, int64_t epoch)
{
    f->current.peer_epoch = epoch;
}
