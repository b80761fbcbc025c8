/*
 * leader.c — the leader role: Zab's discovery and sync on the leader's side
 * and the glue of the broadcast phase (ZK-QUORUM-PROTOCOL.md §2.3-§2.7,
 * §2.10, §2.12), as ZooKeeper 3.8's Leader and LearnerHandler run them, so
 * that Java followers and observers follow a Corral leader.
 *
 * ZooKeeper runs one thread per learner that blocks in each wait
 * (getEpochToPropose, waitForEpochAck, waitForNewLeaderAck); here every
 * learner connection is a small state machine (enum learner_state) on the
 * loop, and the leader moves through phases when a quorum is in:
 *
 *   EPOCH      listen on my quorum port; collect FOLLOWERINFO/OBSERVERINFO
 *              until a quorum of participants (me included) told their
 *              acceptedEpoch; newEpoch = max + 1, written as acceptedEpoch;
 *              LEADERINFO to every learner.
 *   EPOCH_ACK  collect ACKEPOCH until a quorum of participants acked (a
 *              currentEpoch of -1 or a last zxid of -1 does not count; one
 *              ahead of me is dropped); write currentEpoch; lead the
 *              broadcast (quorum_leader_start); sync every learner.
 *   NEWLEADER  each synced learner got NEWLEADER; wait for a quorum of
 *              voters to ACK it; then zxids start at newEpoch << 32
 *              (prep_start), UPTODATE to those that acked, serve clients.
 *   SERVING    learners that come later (a restarted follower, an
 *              observer) go through the same steps at once: LEADERINFO,
 *              sync, NEWLEADER, its ACK, UPTODATE.  PING every tickTime/2;
 *              every tickTime, if the voters heard from within syncLimit
 *              ticks (me included) are no quorum, the role ends; a
 *              follower whose oldest unACKed proposal is syncLimit ticks
 *              old is dropped (SyncLimitCheck, leader_sync.h).
 *
 * Each phase has initLimit ticks; a phase that runs out ends the role with
 * ZooKeeper's reason.  Sync itself (DIFF / TRUNC / SNAP) is
 * quorum/leader_sync.c; what the learners' client traffic means (REQUEST,
 * REVALIDATE, the session touches in PING replies) is
 * quorum/leader_requests.c.  The loop being single-threaded is what makes
 * "sync, then forward" atomic: a learner is synced and becomes a broadcast
 * target in the same call, so it gets every proposal after its sync point,
 * none twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "server.h"
#include "log.h"
#include "config.h"
#include "quorum/broadcast.h"
#include "quorum/election.h"
#include "quorum/leader_sync.h"
#include "quorum/link.h"
#include "quorum/peer.h"
#include "quorum/view.h"

#include "quorum/leader_requests.h"

enum phase { PH_EPOCH, PH_EPOCH_ACK, PH_NEWLEADER, PH_SERVING };

static struct {
    int running;
    enum phase phase;
    const struct corral_quorum_view *view;
    struct qlistener *listener;
    struct learner_handler *learners;
    int64_t tick_ms, init_ms, sync_ms;
    int force_snap;
    /* my state summary at the start (ZooKeeper's leaderStateSummary) */
    int64_t my_accepted, my_current, my_last_zxid;
    int64_t epoch;                  /* the epoch proposed: max acceptedEpoch + 1 */
    /* the sets of participants counted in each wait (me included) */
    int64_t *connecting, *electing, *newleader_acked;
    int n_connecting, n_electing, n_newleader_acked;
    ev_timer phase_timer, ping_timer;
    int tick_skip;                  /* the quorum check runs every other ping (every tick) */
    int broadcasting, requests_started;
    struct quorum_link_ops link_ops;
} L;

static int is_voter(int64_t sid) { return quorum_view_is_voter(L.view, sid); }

static void set_add(int64_t *set, int *n, int64_t sid)
{
    for (int i = 0; i < *n; i++)
        if (set[i] == sid)
            return;
    set[(*n)++] = sid;          /* sized for every member */
}

static int has_majority(const int64_t *set, int n) { return quorum_view_has_majority(L.view, set, n); }

static struct learner_handler *find_sid(int64_t sid)
{
    for (struct learner_handler *h = L.learners; h; h = h->next)
        if (h->sid == sid)
            return h;
    return NULL;
}

/* "[ [3, 1] ]", as ZooKeeper's SyncedLearnerTracker.ackSetsToString prints one verifier's set. */
static void set_text(char *buf, size_t cap, const int64_t *set, int n)
{
    size_t len = (size_t)snprintf(buf, cap, "[ [");
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)set[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "] ]");
}

static void send_packet(struct learner_handler *h, int32_t type, int64_t zxid, const void *data,
                        int32_t len)
{
    struct zk_quorum_packet qp;
    zk_quorum_packet_init(&qp, type, zxid);
    if (data) {
        qp.data = data;
        qp.data_len = len;
    }
    if (qlink_send(h->link, &qp) < 0)
        log_warn("quorum: %s: %s could not be queued", h->name, zk_quorum_packet_name(type));
}

/* SyncLimitCheck (leader_sync.h): a PROPOSAL sent to h.  -1 when the ring cannot grow. */
static int unacked_push(struct learner_handler *h, int64_t zxid)
{
    if (h->unacked_n == h->unacked_cap) {
        size_t cap = h->unacked_cap ? h->unacked_cap * 2 : 256;
        struct unacked *u = malloc(cap * sizeof *u);
        if (!u)
            return -1;
        for (size_t i = 0; i < h->unacked_n; i++)
            u[i] = h->unacked[(h->unacked_head + i) % h->unacked_cap];
        free(h->unacked);
        h->unacked = u;
        h->unacked_cap = cap;
        h->unacked_head = 0;
    }
    h->unacked[(h->unacked_head + h->unacked_n++) % h->unacked_cap] =
        (struct unacked){zxid, now_ms()};
    return 0;
}

/* ACKs come in zxid order: one for zxid covers every proposal up to it. */
static void unacked_ack(struct learner_handler *h, int64_t zxid)
{
    while (h->unacked_n && h->unacked[h->unacked_head].zxid <= zxid) {
        h->unacked_head = (h->unacked_head + 1) % h->unacked_cap;
        h->unacked_n--;
    }
}

/* The broadcast's and leader_requests' way out: the synced connection of sid. */
static int send_to_sid(int64_t sid, const struct zk_quorum_packet *qp)
{
    struct learner_handler *h = find_sid(sid);
    if (!h || !h->forwarding)
        return -1;
    if (qp->type == ZK_QP_PROPOSAL && !h->observer && unacked_push(h, qp->zxid) < 0)
        return -1;
    if (h->state == LH_NEWLEADER || h->state == LH_STARTUP)
        return zk_quorum_packet_encode(&h->held, qp);     /* sent after UPTODATE (leader_sync.h) */
    return qlink_send(h->link, qp);
}

/* The learner leaves (its link is closed by the caller or is closing): forget it everywhere. */
static void forget(struct learner_handler *h)
{
    for (struct learner_handler **pp = &L.learners; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    if (h->forwarding)
        quorum_leader_remove_learner(h->sid);
    if (h->sid >= 0 && L.requests_started)
        leader_requests_learner_gone(h->sid);
    jute_buf_free(&h->held);
    free(h->unacked);
    free(h);
}

static void restart_phase_timer(void)
{
    ev_timer_stop(server.loop, &L.phase_timer);
    ev_timer_set(&L.phase_timer, (double)L.init_ms / 1000., 0.);
    ev_timer_start(server.loop, &L.phase_timer);
}

/* ---- phase changes ---- */

static int sync_learner(struct learner_handler *h);
static void start_serving(void);

static void send_leaderinfo(struct learner_handler *h)
{
    uint8_t ver[4] = {0x00, 0x01, 0x00, 0x00};      /* protocolVersion 0x10000 */
    send_packet(h, ZK_QP_LEADERINFO, ZXID_MAKE(L.epoch, 0), ver, 4);
    h->state = LH_ACKEPOCH;
}

static int epoch_store(int which, int64_t value)
{
    int (*set)(int, int64_t) = server.storage ? CORRAL_FN(server.storage, epoch_set) : NULL;
    if (set && set(which, value) < 0) {
        peer_lost(which == CORRAL_EPOCH_ACCEPTED ? "the acceptedEpoch could not be written"
                                                 : "the currentEpoch could not be written");
        return -1;
    }
    return 0;
}

/* getEpochToPropose's end: a quorum of participants told their acceptedEpoch. */
static void check_epoch_quorum(void)
{
    if (L.phase != PH_EPOCH || !has_majority(L.connecting, L.n_connecting))
        return;
    if (epoch_store(CORRAL_EPOCH_ACCEPTED, L.epoch) < 0)
        return;
    log_info("quorum: leader: epoch 0x%llx proposed to %d learner(s)", (unsigned long long)L.epoch,
             L.n_connecting - 1);
    L.phase = PH_EPOCH_ACK;
    restart_phase_timer();
    for (struct learner_handler *h = L.learners; h; h = h->next)
        if (h->state == LH_EPOCH)
            send_leaderinfo(h);
}

/* waitForEpochAck's end: a quorum acked the epoch; lead the broadcast and sync everyone. */
static void check_epoch_ack_quorum(void)
{
    if (L.phase != PH_EPOCH_ACK || !has_majority(L.electing, L.n_electing))
        return;
    if (epoch_store(CORRAL_EPOCH_CURRENT, L.epoch) < 0)
        return;
    int64_t voters[L.view->n_members];
    int n = 0;
    for (int i = 0; i < L.view->n_members; i++)
        if (!L.view->members[i].observer)
            voters[n++] = L.view->members[i].sid;
    if (quorum_leader_start(&L.link_ops, server.my_id, voters, n) < 0) {
        peer_lost("the broadcast phase did not start");
        return;
    }
    L.broadcasting = 1;
    L.phase = PH_NEWLEADER;
    restart_phase_timer();
    struct learner_handler *h = L.learners, *next;
    for (; h; h = next) {
        next = h->next;
        if (h->state == LH_EPOCH_QUORUM && sync_learner(h) < 0) {
            qlink_close(h->link);
            forget(h);
        }
    }
}

static void check_newleader_quorum(void)
{
    if (L.phase != PH_NEWLEADER || !has_majority(L.newleader_acked, L.n_newleader_acked))
        return;
    start_serving();
}

/* Sync h and send NEWLEADER.  0, or -1 (logged): the caller drops h. */
static int sync_learner(struct learner_handler *h)
{
    if (leader_sync_learner(h, L.force_snap) < 0)
        return -1;
    send_packet(h, ZK_QP_NEWLEADER, ZXID_MAKE(L.epoch, 0), L.view->text, L.view->text_len);
    h->state = LH_NEWLEADER;
    return 0;
}

static void send_uptodate(struct learner_handler *h)
{
    send_packet(h, ZK_QP_UPTODATE, -1, NULL, 0);
    h->state = LH_SYNCED;
    if (h->held.len && qlink_send_bytes(h->link, h->held.data, h->held.len) < 0)
        log_warn("quorum: %s: the proposals held for it could not be queued", h->name);
    jute_buf_free(&h->held);
    h->deadline_ms = now_ms() + L.sync_ms;
    log_info("quorum: %s is synced (%s) and up to date", h->name, h->sync_mode);
}

static void on_ping(struct ev_loop *loop, ev_timer *w, int revents);

/* startZkServer: the epoch is established with a quorum. */
static void start_serving(void)
{
    ev_timer_stop(server.loop, &L.phase_timer);
    L.phase = PH_SERVING;
    prep_start(L.epoch);
    if (leader_requests_start(send_to_sid) < 0) {
        peer_lost("the learner request handling did not start");
        return;
    }
    L.requests_started = 1;
    char acked[256];
    set_text(acked, sizeof acked, L.newleader_acked, L.n_newleader_acked);
    log_info("quorum: leader: epoch 0x%llx established; NEWLEADER acked by sids: %s",
             (unsigned long long)L.epoch, acked);
    for (struct learner_handler *h = L.learners; h; h = h->next)
        if (h->state == LH_STARTUP)
            send_uptodate(h);
    peer_serving_begin();
    election_set_vote_epoch(L.epoch);
    L.tick_skip = 1;
    ev_timer_init(&L.ping_timer, on_ping, (double)L.tick_ms / 2000., (double)L.tick_ms / 2000.);
    ev_timer_start(server.loop, &L.ping_timer);
}

static void on_phase_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    char buf[320];
    switch (L.phase) {
    case PH_EPOCH:
        peer_lost("timeout while waiting for epoch from quorum");
        break;
    case PH_EPOCH_ACK:
        peer_lost("timeout while waiting for epoch to be acked by quorum");
        break;
    case PH_NEWLEADER: {
        char acked[256];
        set_text(acked, sizeof acked, L.newleader_acked, L.n_newleader_acked);
        snprintf(buf, sizeof buf, "waiting for a quorum of followers, only synced with sids: %s",
                 acked);
        peer_lost(buf);
        break;
    }
    case PH_SERVING:
        break;
    }
}

/*
 * Leader.lead's loop: PING every synced learner each tickTime/2 (zxid: the
 * last proposed); each tickTime, the voters heard from recently (me
 * included) must be a quorum.
 */
static void on_ping(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    if (!L.tick_skip) {
        int64_t now = now_ms();
        int64_t synced[L.view->n_members + 1];
        int n = 0;
        synced[n++] = server.my_id;
        for (struct learner_handler *h = L.learners; h; h = h->next)
            if (h->sid >= 0 && !h->observer && is_voter(h->sid) && now <= h->deadline_ms &&
                n < L.view->n_members + 1)
                set_add(synced, &n, h->sid);
        if (!has_majority(synced, n)) {
            char buf[320], set[256];
            set_text(set, sizeof set, synced, n);
            snprintf(buf, sizeof buf, "not sufficient followers synced, only synced with sids: %s",
                     set);
            ev_timer_stop(server.loop, &L.ping_timer);
            peer_lost(buf);
            return;
        }
    }
    L.tick_skip = !L.tick_skip;
    int64_t now = now_ms();
    struct learner_handler *h, *next;
    for (h = L.learners; h; h = next) {
        next = h->next;
        if (h->state != LH_SYNCED)
            continue;
        if (h->unacked_n && now - h->unacked[h->unacked_head].sent_ms >= L.sync_ms) {
            log_warn("quorum: %s: no ACK of proposal 0x%llx within syncLimit (%lld ms): closing "
                     "the connection (ZooKeeper: transaction timeout)", h->name,
                     (unsigned long long)h->unacked[h->unacked_head].zxid,
                     (long long)L.sync_ms);
            qlink_close(h->link);
            forget(h);
            continue;
        }
        send_packet(h, ZK_QP_PING, server.next_zxid, NULL, 0);
    }
}

/* ---- one learner's packets ---- */

/* FOLLOWERINFO / OBSERVERINFO: LearnerInfo {long sid; int protocolVersion; long configVersion}. */
static int on_learner_info(struct learner_handler *h, const struct zk_quorum_packet *qp)
{
    if (qp->type != ZK_QP_FOLLOWERINFO && qp->type != ZK_QP_OBSERVERINFO) {
        log_warn("quorum: %s: first packet %s (type %d) is not FOLLOWERINFO or OBSERVERINFO; "
                 "closing", h->name, zk_quorum_packet_name(qp->type), (int)qp->type);
        return -1;
    }
    if (!qp->data || qp->data_len < 8) {
        log_warn("quorum: %s: %s with a LearnerInfo of %d byte(s) (at least 8: the server id); "
                 "closing", h->name, zk_quorum_packet_name(qp->type), (int)qp->data_len);
        return -1;
    }
    const uint8_t *d = qp->data;
    int64_t sid = 0;
    for (int i = 0; i < 8; i++)
        sid = (int64_t)((uint64_t)sid << 8 | d[i]);
    if (qp->data_len >= 20) {
        int64_t config_version = 0;
        for (int i = 12; i < 20; i++)
            config_version = (int64_t)((uint64_t)config_version << 8 | d[i]);
        if (config_version > L.view->version) {
            log_warn("quorum: %s: follower is ahead of the leader (has a later activated "
                     "configuration: version 0x%llx); closing", h->name,
                     (unsigned long long)config_version);
            return -1;
        }
    }
    int observer = qp->type == ZK_QP_OBSERVERINFO;
    const struct corral_quorum_member *m = quorum_view_member(L.view, sid);
    if (!m || sid == server.my_id || (!observer && m->observer) || (observer && !m->observer)) {
        log_warn("quorum: %s: %s from server %lld, which is %s; closing", h->name,
                 zk_quorum_packet_name(qp->type), (long long)sid,
                 !m ? "not in the configuration" : sid == server.my_id ? "this server"
                 : observer ? "a participant" : "an observer");
        return -1;
    }
    struct learner_handler *old = find_sid(sid);
    if (old) {
        log_info("quorum: server %lld connected again (%s); closing its old connection",
                 (long long)sid, qlink_peer(h->link));
        qlink_close(old->link);
        forget(old);
    }
    h->sid = sid;
    h->observer = observer;
    h->accepted_epoch = ZXID_EPOCH(qp->zxid);
    snprintf(h->name, sizeof h->name, "server %lld (%s)", (long long)sid, qlink_peer(h->link));
    log_info("quorum: %s: %s, acceptedEpoch 0x%llx", h->name, zk_quorum_packet_name(qp->type),
             (unsigned long long)h->accepted_epoch);
    if (L.phase == PH_EPOCH) {
        if (h->accepted_epoch >= L.epoch)
            L.epoch = h->accepted_epoch + 1;
        if (!observer)
            set_add(L.connecting, &L.n_connecting, sid);
        h->state = LH_EPOCH;
        check_epoch_quorum();
    } else {
        send_leaderinfo(h);
    }
    return 0;
}

/* ACKEPOCH: data int currentEpoch (-1: already accepted), zxid its last logged zxid. */
static int on_ackepoch(struct learner_handler *h, const struct zk_quorum_packet *qp)
{
    if (qp->type != ZK_QP_ACKEPOCH) {
        log_warn("quorum: %s: %s is not ACKEPOCH; closing", h->name, zk_quorum_packet_name(qp->type));
        return -1;
    }
    if (!qp->data || qp->data_len < 4) {
        log_warn("quorum: %s: ACKEPOCH with %d byte(s) of data (4: the currentEpoch); closing",
                 h->name, (int)qp->data_len);
        return -1;
    }
    const uint8_t *d = qp->data;
    h->current_epoch = (int32_t)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
    h->last_zxid = qp->zxid;
    if (L.phase == PH_EPOCH_ACK) {
        if (h->current_epoch != -1) {
            if (h->current_epoch > L.my_current ||
                (h->current_epoch == L.my_current && h->last_zxid > L.my_last_zxid)) {
                log_warn("quorum: %s: follower is ahead of the leader, leader summary: %lld "
                         "(current epoch), 0x%llx (last zxid); its: %d, 0x%llx; closing", h->name,
                         (long long)L.my_current, (unsigned long long)L.my_last_zxid,
                         (int)h->current_epoch, (unsigned long long)h->last_zxid);
                return -1;
            }
            if (h->last_zxid != -1 && !h->observer)
                set_add(L.electing, &L.n_electing, h->sid);
        }
        h->state = LH_EPOCH_QUORUM;
        check_epoch_ack_quorum();
        return 0;
    }
    /* the epoch is established (or being synced): this learner is synced now */
    h->state = LH_EPOCH_QUORUM;
    return sync_learner(h);
}

/* The first packet after the sync must be the ACK of NEWLEADER. */
static int on_newleader_ack(struct learner_handler *h, const struct zk_quorum_packet *qp)
{
    if (qp->type != ZK_QP_ACK) {
        log_warn("quorum: %s: next packet was supposed to be an ACK (of NEWLEADER), but received "
                 "%s; closing", h->name, zk_quorum_packet_name(qp->type));
        return -1;
    }
    qlink_set_read_timeout(h->link, L.sync_ms);
    h->deadline_ms = now_ms() + L.sync_ms;
    if (qp->zxid != ZXID_MAKE(L.epoch, 0)) {
        /* ZooKeeper counts it not, but lets the learner on (waitForNewLeaderAck) */
        log_error("quorum: NEWLEADER ACK from sid: %lld is from a different epoch - current "
                  "0x%llx received 0x%llx", (long long)h->sid,
                  (unsigned long long)ZXID_MAKE(L.epoch, 0), (unsigned long long)qp->zxid);
        /*
         * A Java 3.8.0 follower acks the proposals it logged at NEWLEADER
         * asynchronously, sometimes before NEWLEADER itself
         * (ZOOKEEPER-4685): that ACK still counts for its proposal (it is
         * durable there), which ZooKeeper's leader forgets.
         */
        if (ZXID_EPOCH(qp->zxid) == L.epoch && h->forwarding && !h->observer)
            quorum_leader_receive(h->sid, qp);
    } else if (L.phase == PH_NEWLEADER && !h->observer) {
        set_add(L.newleader_acked, &L.n_newleader_acked, h->sid);
    }
    h->state = LH_STARTUP;
    if (L.phase == PH_SERVING)
        send_uptodate(h);
    else
        check_newleader_quorum();
    return 0;
}

/* The broadcast phase: ACKs are counted, the rest is the learners' client traffic. */
static int on_broadcast_packet(struct learner_handler *h, const struct zk_quorum_packet *qp)
{
    h->deadline_ms = now_ms() + L.sync_ms;
    switch (qp->type) {
    case ZK_QP_ACK:
        if (h->observer) {
            log_debug("quorum: ACK from observer %lld", (long long)h->sid);
            return 0;
        }
        unacked_ack(h, qp->zxid);
        quorum_leader_receive(h->sid, qp);
        return 0;
    case ZK_QP_PING:
    case ZK_QP_REQUEST:
    case ZK_QP_REVALIDATE:
        if (leader_requests_receive(h->sid, qp) < 0) {
            log_warn("quorum: %s: its %s cannot be handled; closing", h->name,
                     zk_quorum_packet_name(qp->type));
            return -1;
        }
        return 0;
    default:
        log_warn("quorum: %s: unexpected quorum packet, type: %s (%d)", h->name,
                 zk_quorum_packet_name(qp->type), (int)qp->type);
        return 0;
    }
}

static int on_packet(struct qlink *l, const struct zk_quorum_packet *qp, void *arg)
{
    (void)l;
    struct learner_handler *h = arg;
    int rc;
    switch (h->state) {
    case LH_INFO:
        rc = on_learner_info(h, qp);
        break;
    case LH_EPOCH:
    case LH_EPOCH_QUORUM:
        log_warn("quorum: %s: %s while it waits for the epoch's quorum; closing", h->name,
                 zk_quorum_packet_name(qp->type));
        rc = -1;
        break;
    case LH_ACKEPOCH:
        rc = on_ackepoch(h, qp);
        break;
    case LH_NEWLEADER:
        rc = on_newleader_ack(h, qp);
        break;
    default:
        rc = on_broadcast_packet(h, qp);
        break;
    }
    if (rc < 0)
        forget(h);              /* the link ends when this returns */
    return rc;
}

static void on_closed(struct qlink *l, const char *why, void *arg)
{
    (void)l;
    struct learner_handler *h = arg;
    log_warn("quorum: %s: goodbye: %s", h->name, why);
    forget(h);
}

static const struct qlink_handler learner_link = {NULL, on_packet, on_closed};

static void on_accepted(int fd, const char *peer, void *arg)
{
    (void)arg;
    struct learner_handler *h = calloc(1, sizeof *h);
    if (!h) {
        close(fd);
        return;
    }
    h->sid = -1;
    h->state = LH_INFO;
    jute_buf_init(&h->held);
    snprintf(h->name, sizeof h->name, "learner %s", peer);
    h->link = qlink_adopt(fd, peer, &learner_link, h);
    if (!h->link) {
        free(h);
        return;
    }
    qlink_set_read_timeout(h->link, L.init_ms);
    h->deadline_ms = now_ms() + L.init_ms + L.sync_ms;
    h->next = L.learners;
    L.learners = h;
}

/* ---- the role ---- */

static int64_t epoch_or(int which, int64_t fallback)
{
    int (*get)(int, int64_t *) = server.storage ? CORRAL_FN(server.storage, epoch_get) : NULL;
    int64_t v;
    return get && get(which, &v) == 0 ? v : fallback;
}

/* zookeeper.forceSnapshotSync (zoo.cfg: forceSnapshotSync or zookeeper.forceSnapshotSync), Java's Boolean.getBoolean. */
static int force_snapshot_sync(void)
{
    const char *v = config_value(&server.cfg, "zookeeper.forceSnapshotSync");
    if (!v)
        v = config_value(&server.cfg, "forceSnapshotSync");
    return v && strcasecmp(v, "true") == 0;
}

static void leader_stop(void);

static int leader_start(int64_t leader_sid, int64_t election_epoch)
{
    (void)leader_sid, (void)election_epoch;
    memset(&L, 0, sizeof L);
    L.view = election_api_view();
    const struct corral_quorum_member *me = L.view ? quorum_view_member(L.view, server.my_id) : NULL;
    if (!me) {
        log_error("quorum: leader: this server is not in the ensemble view");
        return -1;
    }
    long long init_limit, sync_limit;
    if (config_get_int(&server.cfg, "initLimit", 10, 1, INT32_MAX, &init_limit) < 0 ||
        config_get_int(&server.cfg, "syncLimit", 5, 1, INT32_MAX, &sync_limit) < 0)
        return -1;
    L.running = 1;
    L.tick_ms = server.tick_time > 0 ? server.tick_time : 1;
    L.init_ms = init_limit * L.tick_ms;
    L.sync_ms = sync_limit * L.tick_ms;
    L.force_snap = force_snapshot_sync();
    L.link_ops.send = send_to_sid;
    L.link_ops.lost = peer_lost;
    int n = L.view->n_members + 1;
    L.connecting = calloc((size_t)n, sizeof *L.connecting);
    L.electing = calloc((size_t)n, sizeof *L.electing);
    L.newleader_acked = calloc((size_t)n, sizeof *L.newleader_acked);
    if (!L.connecting || !L.electing || !L.newleader_acked) {
        leader_stop();
        return -1;
    }
    L.my_last_zxid = server.last_zxid;
    L.my_current = epoch_or(CORRAL_EPOCH_CURRENT, ZXID_EPOCH(server.last_zxid));
    L.my_accepted = epoch_or(CORRAL_EPOCH_ACCEPTED, L.my_current);
    L.epoch = L.my_accepted + 1;
    set_add(L.connecting, &L.n_connecting, server.my_id);
    set_add(L.electing, &L.n_electing, server.my_id);
    set_add(L.newleader_acked, &L.n_newleader_acked, server.my_id);
    L.listener = qlink_listen(me->host, me->quorum_port, on_accepted, NULL);
    if (!L.listener) {
        leader_stop();
        return -1;
    }
    ev_timer_init(&L.phase_timer, on_phase_timeout, 0., 0.);
    restart_phase_timer();
    log_info("quorum: leading: listening on %s:%d for learners (acceptedEpoch %lld, currentEpoch "
             "%lld, last zxid 0x%llx%s)", me->host, me->quorum_port, (long long)L.my_accepted,
             (long long)L.my_current, (unsigned long long)L.my_last_zxid,
             L.force_snap ? ", forceSnapshotSync" : "");
    L.phase = PH_EPOCH;
    check_epoch_quorum();
    return 0;
}

static void leader_stop(void)
{
    if (!L.running)
        return;
    ev_timer_stop(server.loop, &L.phase_timer);
    ev_timer_stop(server.loop, &L.ping_timer);
    qlink_listener_close(L.listener);
    if (L.requests_started)
        leader_requests_stop();
    L.requests_started = 0;
    while (L.learners) {
        struct learner_handler *h = L.learners;
        L.learners = h->next;
        qlink_close(h->link);
        jute_buf_free(&h->held);
        free(h->unacked);
        free(h);
    }
    if (L.broadcasting)
        quorum_stop();
    free(L.connecting);
    free(L.electing);
    free(L.newleader_acked);
    memset(&L, 0, sizeof L);
}

static void leader_stats(struct peer_stats *st)
{
    if (!L.running)
        return;
    st->epoch = L.phase == PH_SERVING ? L.epoch : 0;
    quorum_leader_proposal_sizes(&st->proposal_size_last, &st->proposal_size_min,
                                 &st->proposal_size_max);
    for (struct learner_handler *h = L.learners; h; h = h->next) {
        if (h->sid < 0)
            continue;
        st->learners++;
        if (h->state == LH_SYNCED) {
            if (h->observer)
                st->synced_observers++;
            else
                st->synced_followers++;
        } else if (h->state >= LH_NEWLEADER) {
            st->pending_syncs++;
        }
    }
    st->last_proposed = L.phase == PH_SERVING ? server.next_zxid : 0;
}

const struct peer_role peer_role_leader = {"leader", leader_start, leader_stop, leader_stats};
