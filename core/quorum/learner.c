/*
 * learner.c — the follower and observer roles: ZooKeeper 3.8's Learner,
 * Follower and Observer on the learner's side of the quorum port
 * (ZK-QUORUM-PROTOCOL.md §2.3-§2.12), then the broadcast phase of
 * quorum/broadcast.c.
 *
 * One connection to the leader (quorum/link.c), one phase at a time:
 *
 *   DIALING     up to 8 tries within initLimit ticks, 10 ms apart at first,
 *               doubling to 100 ms (ZooKeeper: 5 tries 100 ms apart): a
 *               leader elected at the same moment as its followers opens
 *               its port a few ms after they first dial it;
 *   DISCOVERY   FOLLOWERINFO (OBSERVERINFO) sent; LEADERINFO accepted or
 *               refused against acceptedEpoch (written before ACKEPOCH);
 *   SYNC_WAIT   ACKEPOCH sent; DIFF, TRUNC (truncate the log, reload) or
 *               SNAP (the raw stream loaded, then the storage reset to it:
 *               reset_to_tree, so no txn of a diverged history survives a
 *               restart);
 *   SYNCING     PROPOSAL/COMMIT logged at once through broadcast.c, ACKs
 *               held; at NEWLEADER the read timeout drops to syncLimit;
 *   DURABLE     waiting until every txn received is durable here (what
 *               comes meanwhile waits: stash); then currentEpoch is
 *               written, the NEWLEADER ACK goes first of all ACKs
 *               (ZOOKEEPER-4685) and the held ACKs follow.  ZooKeeper 3.8.0
 *               ACKs before its txns are fsynced (3023/4646); this does not;
 *   SYNCED      an UPTODATE here (or one that came while DURABLE) starts
 *               serving, ACKs it, and updates the election vote's epoch;
 *   BROADCAST   PROPOSAL/COMMIT/INFORM to broadcast.c, PING answered with
 *               the touches collected since the last one, SYNC answering the
 *               oldest forwarded client sync once what came before it is
 *               applied, REVALIDATE answering a held reconnect.
 *
 * Anything else — the leader gone, a read timeout, bytes that are not the
 * protocol — ends the role with peer_lost (peer.c closes the clients and
 * looks again).  The role's own hooks into the pipeline are the replicator's
 * sync and revalidate (replicate.h): the pipeline calls down into them.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "log.h"
#include "db.h"
#include "replicate.h"
#include "session_tracker.h"
#include "quorum/broadcast.h"
#include "quorum/election.h"
#include "quorum/link.h"
#include "quorum/peer.h"
#include "quorum/view.h"

#define DIAL_TRIES 8
#define DIAL_FIRST_DELAY_MS 10
#define DIAL_MAX_DELAY_MS 100
#define PROTOCOL_VERSION 0x10000

enum phase { DIALING, DISCOVERY, SYNC_WAIT, SYNCING, DURABLE, SYNCED, BROADCAST };

/* A client sync forwarded to the leader, oldest first; target is set once its SYNC came. */
struct fwd_sync {
    int64_t session_id;
    int64_t target;             /* answered once server.last_zxid reaches it */
    int ready;
    struct fwd_sync *next;
};

/* A broadcast packet that came while the NEWLEADER ACK waited (replayed after it). */
struct stashed {
    int32_t type;
    int64_t zxid;
    uint8_t *data;
    int32_t len;                /* -1: null */
    struct stashed *next;
};

/* A reconnect held for the leader's REVALIDATE answer. */
struct held_connect {
    int64_t session_id;
    uint32_t conn_gen;
    struct held_connect *next;
};

static struct {
    int running;
    int observer;
    enum phase phase;
    int64_t leader_sid;
    char *host;
    int port;
    struct qlink *link;
    int tries;
    int64_t dial_deadline;
    ev_timer retry_timer;
    int64_t init_ms, sync_ms;   /* initLimit and syncLimit in ms */
    int64_t accepted_epoch, current_epoch, new_epoch;
    int sync_kind;              /* ZK_QP_DIFF / TRUNC / SNAP */
    int uptodate_pending;       /* UPTODATE came while the NEWLEADER ACK waited */
    struct fwd_sync *syncs, *syncs_tail;
    ev_prepare sync_watcher;
    struct held_connect *held;
    struct stashed *stash, *stash_tail;
} lr;

static void learner_stop(void);

/* ---- the link ---- */

static int link_send(int64_t peer_sid, const struct zk_quorum_packet *qp)
{
    (void)peer_sid;
    return lr.link ? qlink_send(lr.link, qp) : -1;
}

static const struct quorum_link_ops link_ops = {link_send, NULL};

static void send_simple(int32_t type, int64_t zxid, const uint8_t *data, int32_t len)
{
    struct zk_quorum_packet qp;
    zk_quorum_packet_init(&qp, type, zxid);
    qp.data = data;
    qp.data_len = data ? len : -1;
    if (link_send(lr.leader_sid, &qp) < 0)
        log_warn("learner: could not queue %s for the leader", zk_quorum_packet_name(type));
}

/* The role cannot go on: close the link now (outside its callbacks) and let peer.c end the role. */
static void lose(const char *why)
{
    log_warn("learner: dropping leader %" PRId64 ": %s", lr.leader_sid, why);
    if (lr.link) {
        qlink_close(lr.link);
        lr.link = NULL;
    }
    peer_lost(why);
}

static int64_t storage_epoch(int which, int64_t dflt)
{
    int (*get)(int, int64_t *) = server.storage ? CORRAL_FN(server.storage, epoch_get) : NULL;
    int64_t v;
    return get && get(which, &v) == 0 ? v : dflt;
}

static int storage_set_epoch(int which, int64_t v)
{
    int (*set)(int, int64_t) = server.storage ? CORRAL_FN(server.storage, epoch_set) : NULL;
    return set ? set(which, v) : 0;
}

static int64_t last_logged_zxid(void)
{
    return election_api_last_logged_zxid();
}

/* ---- discovery ---- */

static void on_connected(struct qlink *l, void *arg)
{
    (void)l, (void)arg;
    lr.phase = DISCOVERY;
    qlink_set_read_timeout(lr.link, lr.init_ms);
    /* LearnerInfo: long sid, int protocolVersion, long configVersion */
    struct jute_buf b;
    jute_buf_init(&b);
    jute_put_long(&b, server.my_id);
    jute_put_int(&b, PROTOCOL_VERSION);
    jute_put_long(&b, election_api_view()->version);
    send_simple(lr.observer ? ZK_QP_OBSERVERINFO : ZK_QP_FOLLOWERINFO,
                ZXID_MAKE(lr.accepted_epoch, 0), b.data, (int32_t)b.len);
    jute_buf_free(&b);
    log_info("learner: connected to leader %" PRId64 " at %s; %s sent (acceptedEpoch %" PRId64 ")",
             lr.leader_sid, qlink_peer(lr.link), lr.observer ? "OBSERVERINFO" : "FOLLOWERINFO",
             lr.accepted_epoch);
}

static int on_leaderinfo(const struct zk_quorum_packet *qp)
{
    if (qp->type != ZK_QP_LEADERINFO) {
        log_error("learner: expected LEADERINFO from leader %" PRId64 ", got %s (type %d)",
                  lr.leader_sid, zk_quorum_packet_name(qp->type), (int)qp->type);
        return -1;
    }
    if (qp->data_len < 4) {
        log_error("learner: LEADERINFO without its protocol version (%d data bytes)",
                  (int)qp->data_len);
        return -1;
    }
    struct jute_reader r;
    jute_reader_init(&r, qp->data, (size_t)qp->data_len);
    int32_t version = jute_get_int(&r);
    if (version < PROTOCOL_VERSION) {
        log_error("learner: leader speaks protocol 0x%x, older than Zab 1.0 (0x10000)", version);
        return -1;
    }
    int64_t epoch = ZXID_EPOCH(qp->zxid);
    int32_t reply;
    if (epoch > lr.accepted_epoch) {
        if (storage_set_epoch(CORRAL_EPOCH_ACCEPTED, epoch) < 0) {
            log_error("learner: acceptedEpoch %" PRId64 " could not be stored", epoch);
            return -1;
        }
        lr.accepted_epoch = epoch;
        reply = (int32_t)lr.current_epoch;
    } else if (epoch == lr.accepted_epoch) {
        reply = -1;             /* accepted already: "cannot ack again, but here is my zxid" */
    } else {
        log_error("learner: leader %" PRId64 " proposes epoch %" PRId64 ", older than the one "
                  "accepted here (%" PRId64 ")", lr.leader_sid, epoch, lr.accepted_epoch);
        return -1;
    }
    lr.new_epoch = epoch;
    uint8_t data[4] = {(uint8_t)((uint32_t)reply >> 24), (uint8_t)((uint32_t)reply >> 16),
                       (uint8_t)((uint32_t)reply >> 8), (uint8_t)reply};
    send_simple(ZK_QP_ACKEPOCH, last_logged_zxid(), data, 4);
    lr.phase = SYNC_WAIT;
    return 0;
}

/* ---- sync ---- */

static ssize_t snap_read(void *arg, uint8_t *buf, size_t len)
{
    (void)arg;
    return qlink_read_raw(lr.link, buf, len, (int)lr.init_ms);
}

static void snap_rest(void *arg, const uint8_t *p, size_t len)
{
    (void)arg;
    if (len && qlink_unread(lr.link, p, len) < 0)
        log_error("learner: out of memory handing back %zu bytes after the snapshot", len);
}

static int do_snap(const struct zk_quorum_packet *qp)
{
    int (*reset)(int64_t) = CORRAL_FN(server.storage, reset_to_tree);
    if (!reset) {
        log_error("learner: the leader sends a snapshot (SNAP 0x%" PRIx64 "), and storage module "
                  "cannot start afresh from one (no reset_to_tree): refusing the sync",
                  (uint64_t)qp->zxid);
        return -1;
    }
    struct db_source src = {snap_read, NULL, snap_rest};
    if (db_snapshot_load(&src, qp->zxid) < 0) {
        log_error("learner: the snapshot from leader %" PRId64 " (SNAP 0x%" PRIx64 ") did not load",
                  lr.leader_sid, (uint64_t)qp->zxid);
        return -1;
    }
    if (reset(qp->zxid) < 0) {
        log_error("learner: storage could not start afresh from the snapshot 0x%" PRIx64,
                  (uint64_t)qp->zxid);
        return -1;
    }
    log_info("learner: loaded the leader's snapshot at 0x%" PRIx64, (uint64_t)qp->zxid);
    return 0;
}

static int do_trunc(const struct zk_quorum_packet *qp)
{
    int (*truncate)(int64_t) = CORRAL_FN(server.storage, truncate);
    if (!truncate || truncate(qp->zxid) < 0) {
        log_error("learner: TRUNC to 0x%" PRIx64 " is impossible here (storage %s); this server "
                  "holds txns the leader does not and cannot drop them: refusing the sync",
                  (uint64_t)qp->zxid, truncate ? "refused" : "has no truncate");
        return -1;
    }
    if (db_reload() < 0) {
        log_error("learner: the tree could not be reloaded after TRUNC to 0x%" PRIx64,
                  (uint64_t)qp->zxid);
        return -1;
    }
    log_info("learner: truncated to 0x%" PRIx64 " and reloaded", (uint64_t)qp->zxid);
    return 0;
}

static const struct replicator learner_replicator;

static int on_sync_kind(const struct zk_quorum_packet *qp)
{
    int rc;
    switch (qp->type) {
    case ZK_QP_DIFF: rc = 0; break;
    case ZK_QP_TRUNC: rc = do_trunc(qp); break;
    case ZK_QP_SNAP: rc = do_snap(qp); break;
    default:
        log_error("learner: expected DIFF, TRUNC or SNAP from leader %" PRId64 ", got %s (type %d)",
                  lr.leader_sid, zk_quorum_packet_name(qp->type), (int)qp->type);
        return -1;
    }
    if (rc < 0)
        return -1;
    lr.sync_kind = qp->type;
    log_info("learner: %s sync from leader %" PRId64 " (zxid 0x%" PRIx64 "; here 0x%" PRIx64 ")",
             zk_quorum_packet_name(qp->type), lr.leader_sid, (uint64_t)qp->zxid,
             (uint64_t)server.last_zxid);
    if (quorum_learner_start_syncing(&link_ops, lr.leader_sid, lr.observer) < 0) {
        log_error("learner: the broadcast phase would not start (another role runs)");
        return -1;
    }
    server.replicator = &learner_replicator;
    lr.phase = SYNCING;
    return 0;
}

static void uptodate(void)
{
    quorum_learner_uptodate();
    tracker_collect_start();
    lr.phase = BROADCAST;
    peer_serving_begin();
    send_simple(ZK_QP_ACK, ZXID_MAKE(lr.new_epoch, 0), NULL, 0);
    election_set_vote_epoch(lr.new_epoch);
    log_info("learner: up to date with leader %" PRId64 " in epoch %" PRId64 " at 0x%" PRIx64,
             lr.leader_sid, lr.new_epoch, (uint64_t)server.last_zxid);
}

/*
 * While the NEWLEADER ACK waits for durability, the leader may already have
 * a quorum and propose in the new epoch.  Those packets wait here: a txn of
 * the new epoch must not be logged before currentEpoch says that epoch is
 * ours (a restart would find a logged zxid newer than currentEpoch and
 * refuse to start, ZOOKEEPER-4643's order: txns, currentEpoch, ACK).
 */
static void stash(const struct zk_quorum_packet *qp)
{
    struct stashed *st = calloc(1, sizeof *st);
    if (!st)
        abort();
    st->type = qp->type;
    st->zxid = qp->zxid;
    st->len = qp->data_len;
    if (qp->data_len > 0) {
        if (!(st->data = malloc((size_t)qp->data_len)))
            abort();
        memcpy(st->data, qp->data, (size_t)qp->data_len);
    }
    if (lr.stash_tail)
        lr.stash_tail->next = st;
    else
        lr.stash = st;
    lr.stash_tail = st;
}

static void stash_free(void)
{
    while (lr.stash) {
        struct stashed *st = lr.stash;
        lr.stash = st->next;
        free(st->data);
        free(st);
    }
    lr.stash_tail = NULL;
}

/* Hand the stashed packets to the broadcast phase, in order; -1 when one is refused. */
static int stash_replay(void)
{
    int rc = 0, n = 0;
    for (struct stashed *st = lr.stash; st; st = st->next)
        n++;
    if (n)
        log_info("learner: %d packet(s) came while the NEWLEADER ACK waited for the log; "
                 "taking them now", n);
    while (lr.stash && rc == 0) {
        struct stashed *st = lr.stash;
        lr.stash = st->next;
        if (!lr.stash)
            lr.stash_tail = NULL;
        struct zk_quorum_packet qp;
        zk_quorum_packet_init(&qp, st->type, st->zxid);
        qp.data = st->data;
        qp.data_len = st->len;
        rc = quorum_learner_receive(&qp);
        free(st->data);
        free(st);
    }
    stash_free();
    return rc;
}

/* Every txn received before NEWLEADER is durable: the epoch, then the ACK. */
static void newleader_durable(void)
{
    if (!lr.running || lr.phase != DURABLE)
        return;
    if (storage_set_epoch(CORRAL_EPOCH_CURRENT, lr.new_epoch) < 0) {
        lose("currentEpoch could not be stored");
        return;
    }
    lr.current_epoch = lr.new_epoch;
    send_simple(ZK_QP_ACK, ZXID_MAKE(lr.new_epoch, 0), NULL, 0);
    quorum_learner_synced();
    lr.phase = SYNCED;
    if (stash_replay() < 0) {
        lose("a packet received while the NEWLEADER ACK waited was refused");
        return;
    }
    if (lr.uptodate_pending)
        uptodate();
}

static int on_newleader(const struct zk_quorum_packet *qp)
{
    if (ZXID_EPOCH(qp->zxid) != lr.new_epoch) {
        log_error("learner: NEWLEADER 0x%" PRIx64 " is not of epoch %" PRId64,
                  (uint64_t)qp->zxid, lr.new_epoch);
        return -1;
    }
    qlink_set_read_timeout(lr.link, lr.sync_ms);
    if (lr.sync_kind == ZK_QP_TRUNC && server.storage->snapshot)
        server.storage->snapshot();     /* the log is truncated already: a later start is quicker */
    lr.phase = DURABLE;
    quorum_learner_when_durable(newleader_durable);
    return 0;
}

/* ---- broadcast: PING, SYNC, REVALIDATE ---- */

static void put_touch(void *arg, int64_t id, int32_t timeout_ms)
{
    jute_put_long(arg, id);
    jute_put_int(arg, timeout_ms);
}

static void on_ping(const struct zk_quorum_packet *qp)
{
    struct jute_buf b;
    jute_buf_init(&b);
    tracker_take_touches(put_touch, &b);
    struct zk_quorum_packet reply;
    zk_quorum_packet_init(&reply, ZK_QP_PING, qp->zxid);
    static const uint8_t none[1];
    reply.data = b.len ? b.data : none;
    reply.data_len = (int32_t)b.len;    /* an empty buffer when none, as ZooKeeper sends */
    if (link_send(lr.leader_sid, &reply) < 0)
        log_warn("learner: could not queue the PING reply");
    jute_buf_free(&b);
}

/* Answer, in order, the forwarded syncs whose SYNC came and whose txns are applied. */
static void answer_syncs(void)
{
    while (lr.syncs && lr.syncs->ready && server.last_zxid >= lr.syncs->target) {
        struct fwd_sync *f = lr.syncs;
        lr.syncs = f->next;
        if (!lr.syncs)
            lr.syncs_tail = NULL;
        struct session *s = session_find(f->session_id);
        free(f);
        if (s)
            write_stage_sync_done(s);
    }
    int waiting = lr.syncs && lr.syncs->ready;
    if (waiting && !ev_is_active(&lr.sync_watcher))
        ev_prepare_start(server.loop, &lr.sync_watcher);
    else if (!waiting && ev_is_active(&lr.sync_watcher))
        ev_prepare_stop(server.loop, &lr.sync_watcher);
}

static void on_sync_watch(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    answer_syncs();
}

static int on_sync(void)
{
    struct fwd_sync *f = lr.syncs;
    while (f && f->ready)
        f = f->next;
    if (!f) {
        log_error("learner: SYNC from the leader, and no client sync is forwarded");
        return -1;
    }
    f->ready = 1;
    f->target = quorum_learner_last_committed();
    answer_syncs();
    return 0;
}

static int on_revalidate(const struct zk_quorum_packet *qp)
{
    if (qp->data_len < 9) {
        log_error("learner: REVALIDATE answer of %d bytes (9 expected)", (int)qp->data_len);
        return -1;
    }
    struct jute_reader r;
    jute_reader_init(&r, qp->data, (size_t)qp->data_len);
    int64_t id = jute_get_long(&r);
    int valid = jute_get_bool(&r);
    struct held_connect **pp = &lr.held;
    while (*pp && (*pp)->session_id != id)
        pp = &(*pp)->next;
    if (!*pp) {
        log_warn("learner: REVALIDATE answer for session 0x%llx, which no connect waits for",
                 (unsigned long long)id);
        return 0;
    }
    struct held_connect *h = *pp;
    *pp = h->next;
    struct session *s = session_find(id);
    log_info("learner: the leader says session 0x%llx is %s", (unsigned long long)id,
             valid ? "valid" : "expired");
    if (s && s->ops && s->conn_gen == h->conn_gen)
        pipeline_revalidated(s, valid);
    else if (s)
        session_release_if_idle(s);
    free(h);
    return 0;
}

/* ---- the replicator's hooks ---- */

static int hook_sync(struct session *s, struct pending *p)
{
    struct fwd_sync *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->session_id = s->id;
    if (lr.syncs_tail)
        lr.syncs_tail->next = f;
    else
        lr.syncs = f;
    lr.syncs_tail = f;
    replicate_learner.forward(s, p);    /* REQUEST type 9, body: the path */
    return 1;
}

static void hook_revalidate(struct session *s, int32_t timeout_ms)
{
    struct held_connect *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    h->session_id = s->id;
    h->conn_gen = s->conn_gen;
    /* answers come in the order asked: the oldest held connect of an id is the one answered */
    struct held_connect **pp = &lr.held;
    while (*pp)
        pp = &(*pp)->next;
    *pp = h;
    uint8_t data[12];
    for (int i = 0; i < 8; i++)
        data[i] = (uint8_t)((uint64_t)s->id >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        data[8 + i] = (uint8_t)((uint32_t)timeout_ms >> (24 - 8 * i));
    send_simple(ZK_QP_REVALIDATE, -1, data, 12);
}

/* Writes go as broadcast.c forwards them. */
static void hook_forward(struct session *s, struct pending *p)
{
    replicate_learner.forward(s, p);
}

static const struct replicator learner_replicator = {
    .name = "learner",
    .replicate = NULL,
    .forward = hook_forward,
    .sync = hook_sync,
    .revalidate = hook_revalidate,
};

/* ---- packets ---- */

static int handle(const struct zk_quorum_packet *qp)
{
    switch (lr.phase) {
    case DISCOVERY:
        return on_leaderinfo(qp);
    case SYNC_WAIT:
        return on_sync_kind(qp);
    default:
        break;
    }
    switch (qp->type) {
    case ZK_QP_PROPOSAL:
    case ZK_QP_COMMIT:
    case ZK_QP_INFORM:
        if (lr.phase == DURABLE) {
            stash(qp);
            return 0;
        }
        return quorum_learner_receive(qp);
    case ZK_QP_NEWLEADER:
        if (lr.phase != SYNCING) {
            log_error("learner: a second NEWLEADER from leader %" PRId64, lr.leader_sid);
            return -1;
        }
        return on_newleader(qp);
    case ZK_QP_UPTODATE:
        if (lr.phase == SYNCING) {
            log_error("learner: UPTODATE before NEWLEADER (a pre-Zab-1.0 leader): not supported");
            return -1;
        }
        if (lr.phase == DURABLE) {
            lr.uptodate_pending = 1;
            return 0;
        }
        if (lr.phase == SYNCED) {
            uptodate();
            return 0;
        }
        log_error("learner: a second UPTODATE from leader %" PRId64, lr.leader_sid);
        return -1;
    case ZK_QP_PING:
        /* before the NEWLEADER ACK nothing else may go (the leader reads it as that ACK) */
        if (lr.phase == BROADCAST)
            on_ping(qp);
        return 0;
    case ZK_QP_SYNC:
        if (lr.phase != BROADCAST)
            break;
        return on_sync();
    case ZK_QP_REVALIDATE:
        return on_revalidate(qp);
    default:
        break;
    }
    log_error("learner: unexpected %s (type %d) from leader %" PRId64 " while %s",
              zk_quorum_packet_name(qp->type), (int)qp->type, lr.leader_sid,
              lr.phase == BROADCAST ? "broadcasting" : "syncing");
    return -1;
}

static int on_packet(struct qlink *l, const struct zk_quorum_packet *qp, void *arg)
{
    (void)l, (void)arg;
    if (handle(qp) == 0)
        return 0;
    lr.link = NULL;             /* the link ends as this returns */
    peer_lost("protocol error from the leader");
    return -1;
}

static void dial(void);

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    dial();
}

static void on_closed(struct qlink *l, const char *why, void *arg)
{
    (void)l, (void)arg;
    lr.link = NULL;
    int64_t delay_ms = DIAL_FIRST_DELAY_MS << (lr.tries < 4 ? lr.tries : 4);
    if (delay_ms > DIAL_MAX_DELAY_MS)
        delay_ms = DIAL_MAX_DELAY_MS;
    if (lr.phase == DIALING && ++lr.tries < DIAL_TRIES &&
        now_ms() + delay_ms < lr.dial_deadline) {
        log_info("learner: connecting to leader %" PRId64 " at %s:%d: %s; trying again in "
                 "%" PRId64 " ms", lr.leader_sid, lr.host, lr.port, why, delay_ms);
        ev_timer_init(&lr.retry_timer, on_retry, (double)delay_ms / 1000., 0.);
        ev_timer_start(server.loop, &lr.retry_timer);
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "connection to leader %" PRId64 ": %s", lr.leader_sid, why);
    log_warn("learner: %s", msg);
    peer_lost(msg);
}

static const struct qlink_handler handler = {on_connected, on_packet, on_closed};

static void dial(void)
{
    int64_t left = lr.dial_deadline - now_ms();
    if (left < 1)
        left = 1;
    lr.link = qlink_dial(lr.host, lr.port, (int)left, &handler, NULL);
    if (!lr.link)
        peer_lost("the leader's address does not resolve");
}

/* ---- the role ---- */

static int64_t limit_ms(const char *key, long long dflt)
{
    long long v = dflt;
    if (config_get_int(&server.cfg, key, dflt, 1, INT_MAX, &v) < 0)
        v = dflt;
    return (int64_t)v * server.tick_time;
}

static int learner_start_as(int64_t leader_sid, int observer)
{
    const struct corral_quorum_member *m = quorum_view_member(election_api_view(), leader_sid);
    if (!m) {
        log_error("learner: leader %" PRId64 " is not in the configuration", leader_sid);
        return -1;
    }
    learner_stop();
    memset(&lr, 0, sizeof lr);
    lr.running = 1;
    lr.observer = observer;
    lr.leader_sid = leader_sid;
    lr.host = strdup(m->host);
    lr.port = m->quorum_port;
    if (!lr.host)
        abort();
    lr.init_ms = limit_ms("initLimit", 10);
    lr.sync_ms = limit_ms("syncLimit", 5);
    lr.current_epoch = election_api_current_epoch();
    lr.accepted_epoch = storage_epoch(CORRAL_EPOCH_ACCEPTED, lr.current_epoch);
    ev_prepare_init(&lr.sync_watcher, on_sync_watch);
    ev_init(&lr.retry_timer, on_retry);
    lr.phase = DIALING;
    lr.dial_deadline = now_ms() + lr.init_ms;
    dial();
    return 0;
}

static int follower_start(int64_t leader_sid, int64_t election_epoch)
{
    (void)election_epoch;
    return learner_start_as(leader_sid, 0);
}

static int observer_start(int64_t leader_sid, int64_t election_epoch)
{
    (void)election_epoch;
    return learner_start_as(leader_sid, 1);
}

/*
 * Everything the role holds goes: the link, the timers, the forwarded syncs
 * and held reconnects (their connections were closed by peer.c before
 * this: nothing points at a session), the broadcast phase (txns received
 * and not applied: what of them is durable the peer applies when it
 * settles), the touches.
 */
static void learner_stop(void)
{
    if (!lr.running)
        return;
    lr.running = 0;
    if (lr.link) {
        qlink_close(lr.link);
        lr.link = NULL;
    }
    ev_timer_stop(server.loop, &lr.retry_timer);
    ev_prepare_stop(server.loop, &lr.sync_watcher);
    while (lr.syncs) {
        struct fwd_sync *f = lr.syncs;
        lr.syncs = f->next;
        free(f);
    }
    lr.syncs_tail = NULL;
    while (lr.held) {
        struct held_connect *h = lr.held;
        lr.held = h->next;
        free(h);
    }
    stash_free();
    quorum_learner_abandon();
    if (server.replicator == &learner_replicator || server.replicator == &replicate_learner)
        quorum_stop();
    tracker_collect_stop();
    free(lr.host);
    lr.host = NULL;
}

static void learner_stats(struct peer_stats *st)
{
    st->epoch = lr.phase >= SYNCED ? lr.new_epoch : 0;
    st->last_zxid = server.last_zxid;
}

const struct peer_role peer_role_follower = {"follower", follower_start, learner_stop,
                                             learner_stats};
const struct peer_role peer_role_observer = {"observer", observer_start, learner_stop,
                                             learner_stats};
