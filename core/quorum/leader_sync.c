/*
 * leader_sync.c — bringing one learner up to the leader's history
 * (ZK-QUORUM-PROTOCOL.md §2.5, §2.6), as ZooKeeper 3.8's
 * LearnerHandler.syncFollower and Leader.startForwarding decide it, so a
 * Java follower reads the same packets from a Corral leader as from its own.
 *
 * The inputs: the learner's last logged zxid (peer, from ACKEPOCH), this
 * server's last applied zxid (L), the committed-txn window of the last
 * 500 txns applied while leading (broadcast.c) and, for a learner further
 * behind, the storage's logged txns (read_txns).  In ZooKeeper's order:
 *
 *   forceSnapshotSync          → SNAP
 *   peer == L                  → empty DIFF(L)
 *   peer > window max, not an epoch's first zxid → TRUNC(window max)
 *   window min <= peer <= max  → walk the window (below)
 *   peer < window min          → walk the storage's log from peer on
 *   anything else              → SNAP
 *
 * The walk (queueCommittedProposals): the first txn at or after peer
 * decides — equal to peer: DIFF; peer is an epoch's first zxid: DIFF; the
 * peer has a txn this leader never had: TRUNC to the txn before it, unless
 * that crosses an epoch (then SNAP); then every later txn up to L as
 * PROPOSAL + COMMIT.  A walk that cannot decide (the log does not reach
 * back to the peer, or ends before L, or would queue more than
 * SYNC_DIFF_MAX_BYTES) falls back to SNAP, which is always right.
 *
 * Everything is encoded into one buffer first and handed to the link in
 * one piece, so a walk that gives up has sent nothing.  The SNAP stream is
 * the live tree, written on the loop thread, so it is the database exactly
 * at L; proposals beyond L follow it (startForwarding), then the caller's
 * NEWLEADER.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "log.h"
#include "db.h"
#include "quorum/broadcast.h"
#include "quorum/leader_sync.h"

/* A DIFF larger than this is sent as a snapshot instead (ZooKeeper bounds it by snapshot size). */
#define SYNC_DIFF_MAX_BYTES (64u << 20)

static int new_epoch_zxid(int64_t z) { return (z & 0xffffffffLL) == 0; }

static int put(struct jute_buf *b, int32_t type, int64_t zxid, const uint8_t *data, size_t len)
{
    struct zk_quorum_packet qp;
    zk_quorum_packet_init(&qp, type, zxid);
    if (data) {
        qp.data = data;
        qp.data_len = (int32_t)len;
    }
    return zk_quorum_packet_encode(b, &qp);
}

/* One walk of queueCommittedProposals over the window or the log. */
struct walk {
    const struct learner_handler *h;
    struct jute_buf *out;
    int64_t peer;               /* the learner's last zxid */
    int64_t upto;               /* L: txns after it are outstanding, forwarded later */
    int64_t diff_zxid;          /* DIFF's zxid: the newest committed (L) */
    int64_t prev;               /* the txn before the current one (-1: not seen) */
    int64_t queued;             /* the newest txn queued */
    int need_op;                /* DIFF / TRUNC not decided yet */
    int give_up;                /* SNAP instead */
    const char *mode;
};

static int walk_one(void *arg, int64_t zxid, const uint8_t *entry, size_t len)
{
    struct walk *w = arg;
    if (zxid > w->upto)
        return 1;
    if (zxid < w->peer) {
        w->prev = zxid;
        return 0;
    }
    if (w->need_op) {
        if (zxid == w->peer) {
            log_info("quorum: sending DIFF zxid=0x%llx for peer sid: %lld",
                     (unsigned long long)w->diff_zxid, (long long)w->h->sid);
            put(w->out, ZK_QP_DIFF, w->diff_zxid, NULL, 0);
            w->need_op = 0;
            w->mode = "diff";
            w->prev = zxid;
            return 0;
        }
        if (new_epoch_zxid(w->peer)) {
            log_info("quorum: sending DIFF zxid=0x%llx for peer sid: %lld",
                     (unsigned long long)w->diff_zxid, (long long)w->h->sid);
            put(w->out, ZK_QP_DIFF, w->diff_zxid, NULL, 0);
            w->need_op = 0;
            w->mode = "diff";
        } else {
            /* the peer has a txn this leader never had: it was a leader of an epoch that lost */
            if (w->prev < 0 || ZXID_EPOCH(zxid) != ZXID_EPOCH(w->peer)) {
                log_warn("quorum: cannot send TRUNC to peer sid: %lld: peer zxid 0x%llx is from a "
                         "different epoch", (long long)w->h->sid, (unsigned long long)w->peer);
                w->give_up = 1;
                return 1;
            }
            log_info("quorum: sending TRUNC zxid=0x%llx for peer sid: %lld",
                     (unsigned long long)w->prev, (long long)w->h->sid);
            put(w->out, ZK_QP_TRUNC, w->prev, NULL, 0);
            w->need_op = 0;
            w->mode = "trunc";
        }
    }
    if (zxid <= w->queued)
        return 0;
    if (put(w->out, ZK_QP_PROPOSAL, zxid, entry, len) < 0 ||
        put(w->out, ZK_QP_COMMIT, zxid, NULL, 0) < 0 || w->out->len > SYNC_DIFF_MAX_BYTES) {
        w->give_up = 1;
        return 1;
    }
    w->queued = zxid;
    w->prev = zxid;
    return 0;
}

static int walk_logged(void *arg, const uint8_t *raw, size_t len, const struct corral_txn *t)
{
    return walk_one(arg, t->zxid, raw, len);
}

/* Start-forwarding's packets: what is proposed beyond what the sync sent. */
struct forward {
    const struct learner_handler *h;
    struct jute_buf *out;
    int64_t after;
    int n;
};

static int forward_one(void *arg, int64_t zxid, const uint8_t *entry, size_t len, int committed)
{
    struct forward *f = arg;
    if (zxid <= f->after)
        return 0;
    if (committed) {
        put(f->out, ZK_QP_PROPOSAL, zxid, entry, len);
        put(f->out, ZK_QP_COMMIT, zxid, NULL, 0);
        f->n++;
    } else if (!f->h->observer) {
        put(f->out, ZK_QP_PROPOSAL, zxid, entry, len);
        f->n++;
    }
    return 0;
}

static int snap_write(void *arg, const uint8_t *p, size_t len)
{
    uint8_t *dst = jute_buf_reserve(arg, len);
    if (!dst)
        return -1;
    memcpy(dst, p, len);
    return 0;
}

int leader_sync_learner(struct learner_handler *h, int force_snap)
{
    int64_t last = server.last_zxid, peer = h->last_zxid;
    int64_t min_c = last, max_c = last;
    if (quorum_leader_committed_window(&min_c, &max_c) > 0 && max_c != last) {
        /* cannot happen (the window ends at what is applied); a snapshot is right regardless */
        log_warn("quorum: the committed-txn window ends at 0x%llx, not at 0x%llx; not using it",
                 (unsigned long long)max_c, (unsigned long long)last);
        force_snap = 1;
    }
    log_info("quorum: synchronizing with learner sid: %lld maxCommittedLog=0x%llx "
             "minCommittedLog=0x%llx lastProcessedZxid=0x%llx peerLastZxid=0x%llx",
             (long long)h->sid, (unsigned long long)max_c, (unsigned long long)min_c,
             (unsigned long long)last, (unsigned long long)peer);
    struct jute_buf out;
    jute_buf_init(&out);
    int snap = 1;
    int64_t current = peer;             /* the newest zxid the learner will have from the sync */
    struct walk w = {.h = h, .out = &out, .peer = peer, .upto = last, .diff_zxid = max_c,
                     .prev = -1, .queued = peer, .need_op = 1};
    if (force_snap) {
        log_warn("quorum: forcing snapshot sync for peer sid: %lld (forceSnapshotSync)",
                 (long long)h->sid);
    } else if (last == peer) {
        log_info("quorum: sending DIFF zxid=0x%llx for peer sid: %lld", (unsigned long long)peer,
                 (long long)h->sid);
        put(&out, ZK_QP_DIFF, peer, NULL, 0);
        snap = 0;
        h->sync_mode = "diff";
    } else if (peer > max_c && !new_epoch_zxid(peer)) {
        log_info("quorum: sending TRUNC zxid=0x%llx for peer sid: %lld", (unsigned long long)max_c,
                 (long long)h->sid);
        put(&out, ZK_QP_TRUNC, max_c, NULL, 0);
        current = max_c;
        snap = 0;
        h->sync_mode = "trunc";
    } else if (min_c <= peer && peer <= max_c) {
        log_info("quorum: using the committed-txn window for peer sid: %lld", (long long)h->sid);
        quorum_leader_committed_each(walk_one, &w);
        if (w.need_op && new_epoch_zxid(peer)) {
            put(&out, ZK_QP_DIFF, max_c, NULL, 0);
            w.need_op = 0;
            w.mode = "diff";
        }
        if (!w.give_up && !w.need_op) {
            snap = 0;
            current = w.queued;
            h->sync_mode = w.mode;
        }
    } else if (peer < min_c && server.storage && CORRAL_FN(server.storage, read_txns)) {
        int (*read_txns)(int64_t, int (*)(void *, const uint8_t *, size_t,
                                          const struct corral_txn *), void *) =
            CORRAL_FN(server.storage, read_txns);
        int64_t after = peer > 0 ? peer - 1 : -1;
        if (read_txns(after, walk_logged, &w) == 0 && !w.give_up) {
            if (w.need_op && new_epoch_zxid(peer) && w.queued == peer) {
                put(&out, ZK_QP_DIFF, max_c, NULL, 0);
                w.need_op = 0;
                w.mode = "diff";
            }
            if (!w.need_op && w.queued == last) {
                log_info("quorum: used the txn log for peer sid: %lld", (long long)h->sid);
                snap = 0;
                current = w.queued;
                h->sync_mode = w.mode;
            } else if (!w.need_op) {
                log_info("quorum: the txn log ends at 0x%llx, before 0x%llx: a snapshot for peer "
                         "sid: %lld", (unsigned long long)w.queued, (unsigned long long)last,
                         (long long)h->sid);
            }
        }
    }
    if (snap) {
        jute_buf_reset(&out);
        log_info("quorum: sending snapshot: last zxid of peer is 0x%llx, zxid of leader is 0x%llx "
                 "(peer sid: %lld)", (unsigned long long)peer, (unsigned long long)last,
                 (long long)h->sid);
        put(&out, ZK_QP_SNAP, last, NULL, 0);
        int64_t at = 0;
        if (db_snapshot_write_to(snap_write, &out, &at, NULL) < 0) {
            jute_buf_free(&out);
            log_error("quorum: the snapshot for peer sid %lld could not be written", (long long)h->sid);
            return -1;
        }
        current = at;
        h->sync_mode = "snap";
    }
    struct forward f = {.h = h, .out = &out, .after = current};
    quorum_leader_each_outstanding(forward_one, &f);
    int rc = qlink_send_bytes(h->link, out.data, out.len);
    jute_buf_free(&out);
    if (rc < 0) {
        log_error("quorum: %s: the sync could not be queued", h->name);
        return -1;
    }
    if (quorum_leader_add_learner(h->sid, h->observer) < 0) {
        log_error("quorum: %s cannot be a broadcast target", h->name);
        return -1;
    }
    h->forwarding = 1;
    if (f.n)
        log_info("quorum: %s also gets %d proposal(s) not yet applied here", h->name, f.n);
    return 0;
}
