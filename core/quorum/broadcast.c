/*
 * broadcast.c — Zab's broadcast phase as ZooKeeper 3.8 runs it
 * (ZK-QUORUM-PROTOCOL.md §2.7, §2.8, §2.12), for the leader and for its
 * learners, with packets in and out through a quorum_link_ops (broadcast.h).
 *
 * Two events per txn, kept apart as commit.c keeps them: *durable here*
 * (the storage module's append reported it) and *committed* (the leader saw
 * a quorum of ACKs; a learner got COMMIT or INFORM).  A txn is applied and
 * answered (commit_apply) only once it is both, on every role, and in zxid
 * order.  The reason for waiting for our own durability even when the
 * ensemble has committed without us: this server must never show a client
 * a change its own log could lose.  Were it applied first and the server
 * crashed before the fsync, it would come back without the change while a
 * client that read it here holds a later zxid than the server (and is
 * refused by it), and a snapshot written from the tree in between would
 * hold a txn that its log does not: recovery's "the log continues the
 * snapshot" would no longer hold.  Since storage reports appends in order
 * and commits come in order, "both" is a prefix of the queue.
 *
 * Leader (replicate_leader, the write stage's replicate step): the txn is
 * encoded once, sent as PROPOSAL to every synced follower, then appended
 * here; its durability is this server's ACK.  ACKs are counted per proposal
 * by QuorumMaj: committed when more than half of the voting members have
 * ACKed, and only after every earlier proposal is committed (a later
 * proposal's quorum waits).  On commit: COMMIT(zxid) to the followers,
 * INFORM(zxid, txn) to the observers.  The write stage's window
 * (globalOutstandingLimit) bounds the proposals in flight, since a txn
 * counts against it until committed() is called.
 *
 * Learner (replicate_learner): writes are forwarded, not prepped (forward()
 * sends REQUEST; the write stage marks them in flight).  A follower logs
 * each PROPOSAL and ACKs it once durable, in order; a COMMIT must name the
 * oldest proposal not yet committed; an observer logs each INFORM, which
 * is committed already.  Applying runs commit_apply(COMMIT_LIVE), which
 * answers a local client whose in-flight head has the txn's (session id,
 * cxid), or ends the local client of a committed closeSession; the
 * answered session then moves on (write_stage_answered).
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "log.h"
#include "commit.h"
#include "corral/zk_txn.h"
#include "quorum/broadcast.h"

enum role { ROLE_NONE, ROLE_LEADER, ROLE_LEARNER };
static enum role role;
static const struct quorum_link_ops *link_ops;

/* ---- leader ---- */

struct proposal {
    int64_t zxid;
    struct jute_buf entry;          /* the txn entry, encoded once: PROPOSAL, then INFORM */
    int64_t *acks;                  /* the voters that ACKed (sids), this server's once durable */
    int n_acks;
    int durable;                    /* appended here */
    int committed;                  /* quorum seen, COMMIT and INFORM sent */
    int abandoned;                  /* the role ended first: see quorum_stop */
    void (*done)(void *arg, int err);
    void *arg;
    struct proposal *next;
};

struct learner {
    int64_t sid;
    int observer;
};

static struct {
    int64_t my_sid;
    int64_t *voters;
    int n_voters;
    struct learner *learners;       /* the synced ones: they get the broadcast */
    int n_learners;
    struct proposal *head, *tail;   /* outstanding, in zxid order */
    int64_t last_committed;
    int committing;                 /* re-entry guard: see leader_advance */
    int refusing;                   /* the zxid counter ran out: nothing more is proposed */
    /* ZooKeeper's ProposalStats (mntr's zk_*_proposal_size): bytes of a PROPOSAL's txn, -1 none */
    int64_t size_last, size_min, size_max;
} leader;

/*
 * The committed-txn window (ZooKeeper's committedLog, zookeeper.commitLogCount):
 * the newest txns this leader applied, encoded as they were proposed, from
 * which a learner a little behind is synced by DIFF without reading the
 * log.  A ring, oldest first at `first`; contiguous by construction (every
 * txn applied while leading passes through leader_advance), and its newest
 * is always server.last_zxid.
 */
static struct {
    struct committed_txn {
        int64_t zxid;
        struct jute_buf entry;
    } e[QUORUM_COMMITTED_LOG_MAX];
    int first, n;
} committed_log;

/*
 * Proposals whose role ended before the storage made them durable: the
 * storage still holds a pointer to each, so each waits here for its
 * append's completion (leader_durable), which hands it back to the write
 * stage as abandoned.  A list only so that they stay reachable.
 */
static struct proposal *abandoned_head;

static int is_voter(int64_t sid)
{
    for (int i = 0; i < leader.n_voters; i++)
        if (leader.voters[i] == sid)
            return 1;
    return 0;
}

static struct learner *learner_find(int64_t sid)
{
    for (int i = 0; i < leader.n_learners; i++)
        if (leader.learners[i].sid == sid)
            return &leader.learners[i];
    return NULL;
}

/* ZooKeeper's QuorumMaj.containsQuorum: more than half of the voters. */
static int has_quorum(const struct proposal *p)
{
    return p->n_acks > leader.n_voters / 2;
}

static void add_ack(struct proposal *p, int64_t sid)
{
    for (int i = 0; i < p->n_acks; i++)
        if (p->acks[i] == sid)
            return;                 /* a set: a repeated ACK counts once */
    p->acks[p->n_acks++] = sid;     /* sid is a voter: there is room */
}

static void send_to(int64_t sid, const struct zk_quorum_packet *qp)
{
    if (link_ops->send(sid, qp) < 0)
        log_warn("quorum: no connection to server %lld for %s 0x%llx", (long long)sid,
                 zk_quorum_packet_name(qp->type), (unsigned long long)qp->zxid);
}

static void proposal_free(struct proposal *p)
{
    jute_buf_free(&p->entry);
    free(p->acks);
    free(p);
}

/* Told of each commit (quorum_leader_set_commit_hook); NULL: no one. */
static void (*commit_hook)(int64_t zxid);

/* p is applied: its entry moves into the committed-txn window (the oldest leaves it). */
static void committed_log_push(struct proposal *p)
{
    struct committed_txn *slot;
    if (committed_log.n == QUORUM_COMMITTED_LOG_MAX) {
        slot = &committed_log.e[committed_log.first];
        jute_buf_free(&slot->entry);
        committed_log.first = (committed_log.first + 1) % QUORUM_COMMITTED_LOG_MAX;
    } else {
        slot = &committed_log.e[(committed_log.first + committed_log.n) % QUORUM_COMMITTED_LOG_MAX];
        committed_log.n++;
    }
    slot->zxid = p->zxid;
    slot->entry = p->entry;
    jute_buf_init(&p->entry);
}

static void committed_log_clear(void)
{
    for (int i = 0; i < committed_log.n; i++)
        jute_buf_free(&committed_log.e[(committed_log.first + i) % QUORUM_COMMITTED_LOG_MAX].entry);
    committed_log.first = committed_log.n = 0;
}

/*
 * Commit what has its quorum, in zxid order (the first proposal without
 * one stops the walk), then hand back to the write stage what is committed
 * and durable here, in order.  The write stage's committed() may prep and
 * propose the next txns, whose appends may complete at once and call in
 * here again: the guard keeps one walk running, which sees them.
 */
static void leader_advance(void)
{
    if (leader.committing)
        return;
    leader.committing = 1;
    for (;;) {
        struct proposal *p = leader.head;
        while (p && p->committed)
            p = p->next;
        for (; p && has_quorum(p); p = p->next) {
            p->committed = 1;
            leader.last_committed = p->zxid;
            struct zk_quorum_packet commit, inform;
            zk_quorum_packet_init(&commit, ZK_QP_COMMIT, p->zxid);
            zk_quorum_packet_init(&inform, ZK_QP_INFORM, p->zxid);
            inform.data = p->entry.data;
            inform.data_len = (int32_t)p->entry.len;
            for (int i = 0; i < leader.n_learners; i++)
                send_to(leader.learners[i].sid, leader.learners[i].observer ? &inform : &commit);
            if (commit_hook)
                commit_hook(p->zxid);
        }
        struct proposal *ready = leader.head;
        if (!ready || !ready->committed || !ready->durable)
            break;
        leader.head = ready->next;
        if (!leader.head)
            leader.tail = NULL;
        ready->done(ready->arg, 0);
        committed_log_push(ready);
        proposal_free(ready);
    }
    leader.committing = 0;
}

static void leader_durable(void *arg, int err)
{
    struct proposal *p = arg;
    if (p->abandoned) {
        for (struct proposal **pp = &abandoned_head; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        p->done(p->arg, err ? err : REPLICATE_ABANDONED);
        proposal_free(p);
        return;
    }
    if (err) {
        p->done(p->arg, err);       /* the write stage stops the server: nothing may be acked */
        return;
    }
    p->durable = 1;
    if (is_voter(leader.my_sid))
        add_ack(p, leader.my_sid);
    leader_advance();
}

static void leader_replicate(const struct corral_txn *txn, void (*done)(void *arg, int err),
                             void *arg)
{
    /*
     * ZooKeeper's Leader.propose (ZOOKEEPER-1277): a zxid whose counter is
     * all ones is never proposed; the leader gives up its epoch so that an
     * election starts a new one.  Until the role ends nothing more is
     * proposed either (the next zxid would carry into the epoch bits).
     */
    if (leader.refusing || (txn->zxid & 0xffffffffLL) == 0xffffffffLL) {
        if (!leader.refusing) {
            leader.refusing = 1;
            log_warn("quorum: zxid 0x%llx: the lower 32 bits have rolled over; forcing a new "
                     "election, and therefore a new epoch", (unsigned long long)txn->zxid);
            if (link_ops->lost)
                link_ops->lost("zxid lower 32 bits have rolled over, forcing re-election, and "
                               "therefore new epoch start");
        }
        done(arg, REPLICATE_ABANDONED);
        return;
    }
    struct proposal *p = calloc(1, sizeof *p);
    if (!p || !(p->acks = calloc((size_t)leader.n_voters, sizeof *p->acks)))
        abort();
    p->zxid = txn->zxid;
    p->done = done;
    p->arg = arg;
    jute_buf_init(&p->entry);
    if (zk_txn_encode(&p->entry, txn) < 0) {
        log_error("quorum: txn 0x%llx (type %d) cannot be encoded for its PROPOSAL",
                  (unsigned long long)txn->zxid, (int)txn->type);
        proposal_free(p);
        done(arg, -1);
        return;
    }
    if (leader.tail)
        leader.tail->next = p;
    else
        leader.head = p;
    leader.tail = p;
    int64_t size = (int64_t)p->entry.len;
    leader.size_last = size;
    if (leader.size_min < 0 || size < leader.size_min)
        leader.size_min = size;
    if (size > leader.size_max)
        leader.size_max = size;
    struct zk_quorum_packet qp;
    zk_quorum_packet_init(&qp, ZK_QP_PROPOSAL, p->zxid);
    qp.data = p->entry.data;
    qp.data_len = (int32_t)p->entry.len;
    for (int i = 0; i < leader.n_learners; i++)
        if (!leader.learners[i].observer)
            send_to(leader.learners[i].sid, &qp);
    server.storage->append(txn, leader_durable, p);
}

/*
 * A sync of the leader's own client.  It is answered once every txn
 * proposed before it is committed *and applied here* — what a follower's
 * client gets through the leader's SYNC, which follows the COMMITs.  This
 * leader applies a txn only once its own log has it too (see the top), and
 * a quorum of followers may commit it first: a follower can then answer a
 * write that this leader has not applied yet, and a sync answered as a
 * plain read would let a second client, here, read past that acknowledged
 * write (t0880 saw it: an ephemeral still there after its session's close
 * was answered and a sync).  The answers go out from a prepare watcher,
 * not from inside the apply that allows them.
 */
struct local_sync {
    int64_t session_id, zxid;
};
static struct {
    struct local_sync *q;       /* in arrival order */
    int n, cap;
    ev_prepare watcher;
    int started;
} local_syncs;

static void answer_local_syncs(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    int done = 0;
    while (done < local_syncs.n && local_syncs.q[done].zxid <= server.last_zxid)
        done++;
    struct local_sync answer[done > 0 ? done : 1];
    memcpy(answer, local_syncs.q, (size_t)done * sizeof *answer);
    memmove(local_syncs.q, local_syncs.q + done, (size_t)(local_syncs.n - done) * sizeof *answer);
    local_syncs.n -= done;
    if (!local_syncs.n)
        ev_prepare_stop(server.loop, &local_syncs.watcher);
    for (int i = 0; i < done; i++) {
        struct session *s = session_find(answer[i].session_id);
        if (s)
            write_stage_sync_done(s);
    }
}

static int leader_sync(struct session *s, struct pending *p)
{
    (void)p;
    int64_t want = quorum_leader_last_proposed();
    if (want <= server.last_zxid)
        return 0;               /* nothing to wait for: answered as a read */
    if (local_syncs.n == local_syncs.cap) {
        local_syncs.cap = local_syncs.cap ? local_syncs.cap * 2 : 8;
        local_syncs.q = realloc(local_syncs.q, (size_t)local_syncs.cap * sizeof *local_syncs.q);
        if (!local_syncs.q)
            abort();
    }
    local_syncs.q[local_syncs.n++] = (struct local_sync){s->id, want};
    if (!local_syncs.started) {
        ev_prepare_init(&local_syncs.watcher, answer_local_syncs);
        local_syncs.started = 1;
    }
    ev_prepare_start(server.loop, &local_syncs.watcher);
    return 1;
}

const struct replicator replicate_leader = {
    .name = "leader",
    .replicate = leader_replicate,
    .sync = leader_sync,
};

int quorum_leader_start(const struct quorum_link_ops *link, int64_t my_sid, const int64_t *voters,
                        int n_voters)
{
    if (role != ROLE_NONE || !link || !link->send || n_voters < 1)
        return -1;
    memset(&leader, 0, sizeof leader);
    leader.voters = malloc((size_t)n_voters * sizeof *leader.voters);
    if (!leader.voters)
        return -1;
    leader.n_voters = 0;
    for (int i = 0; i < n_voters; i++)
        if (!is_voter(voters[i]))
            leader.voters[leader.n_voters++] = voters[i];
    leader.my_sid = my_sid;
    leader.last_committed = server.last_zxid;
    leader.size_last = leader.size_min = leader.size_max = -1;
    committed_log_clear();
    link_ops = link;
    role = ROLE_LEADER;
    server.replicator = &replicate_leader;
    return 0;
}

int quorum_leader_add_learner(int64_t sid, int observer)
{
    if (role != ROLE_LEADER || sid == leader.my_sid || learner_find(sid) ||
        (!observer && !is_voter(sid)) || (observer && is_voter(sid)))
        return -1;
    struct learner *l = realloc(leader.learners, (size_t)(leader.n_learners + 1) * sizeof *l);
    if (!l)
        return -1;
    leader.learners = l;
    leader.learners[leader.n_learners].sid = sid;
    leader.learners[leader.n_learners].observer = observer;
    leader.n_learners++;
    return 0;
}

void quorum_leader_remove_learner(int64_t sid)
{
    struct learner *l = role == ROLE_LEADER ? learner_find(sid) : NULL;
    if (!l)
        return;
    *l = leader.learners[--leader.n_learners];
}

/* Leader.processAck's filters, then the count. */
static void leader_ack(int64_t sid, int64_t zxid)
{
    if ((zxid & 0xffffffffLL) == 0)
        return;                     /* NEWLEADER's or UPTODATE's: the sync's, not a proposal's */
    if (!is_voter(sid)) {
        log_debug("quorum: ACK 0x%llx from server %lld, not a voter: not counted",
                  (unsigned long long)zxid, (long long)sid);
        return;
    }
    if (zxid <= leader.last_committed)
        return;                     /* committed without it */
    struct proposal *p = leader.head;
    while (p && p->zxid != zxid)
        p = p->next;
    if (!p) {
        log_warn("quorum: ACK 0x%llx from server %lld for no outstanding proposal",
                 (unsigned long long)zxid, (long long)sid);
        return;
    }
    add_ack(p, sid);
    leader_advance();
}

int quorum_leader_receive(int64_t sid, const struct zk_quorum_packet *qp)
{
    if (role != ROLE_LEADER)
        return -1;
    if (qp->type == ZK_QP_ACK) {
        leader_ack(sid, qp->zxid);
        return 0;
    }
    log_warn("quorum: %s from server %lld is not handled in the broadcast phase yet",
             zk_quorum_packet_name(qp->type), (long long)sid);
    return -1;
}

int quorum_leader_outstanding(void)
{
    int n = 0;
    for (struct proposal *p = role == ROLE_LEADER ? leader.head : NULL; p; p = p->next)
        n++;
    return n;
}

void quorum_leader_set_commit_hook(void (*fn)(int64_t zxid))
{
    commit_hook = fn;
}

void quorum_leader_proposal_sizes(int64_t *last, int64_t *min, int64_t *max)
{
    int on = role == ROLE_LEADER;
    *last = on ? leader.size_last : -1;
    *min = on ? leader.size_min : -1;
    *max = on ? leader.size_max : -1;
}

int64_t quorum_leader_last_proposed(void)
{
    return leader.tail ? leader.tail->zxid : leader.last_committed;
}

int64_t quorum_leader_last_committed(void)
{
    return leader.last_committed;
}

int quorum_leader_each_outstanding(int (*fn)(void *arg, int64_t zxid, const uint8_t *entry,
                                             size_t len, int committed),
                                   void *arg)
{
    for (struct proposal *p = role == ROLE_LEADER ? leader.head : NULL; p; p = p->next)
        if (fn(arg, p->zxid, p->entry.data, p->entry.len, p->committed))
            break;
    return 0;
}

int quorum_leader_committed_window(int64_t *min_zxid, int64_t *max_zxid)
{
    if (role != ROLE_LEADER || committed_log.n == 0)
        return 0;
    *min_zxid = committed_log.e[committed_log.first].zxid;
    *max_zxid = committed_log.e[(committed_log.first + committed_log.n - 1) %
                                QUORUM_COMMITTED_LOG_MAX].zxid;
    return committed_log.n;
}

int quorum_leader_committed_each(int (*fn)(void *arg, int64_t zxid, const uint8_t *entry,
                                           size_t len),
                                 void *arg)
{
    for (int i = 0; role == ROLE_LEADER && i < committed_log.n; i++) {
        const struct committed_txn *c = &committed_log.e[(committed_log.first + i) %
                                                         QUORUM_COMMITTED_LOG_MAX];
        if (fn(arg, c->zxid, c->entry.data, c->entry.len))
            break;
    }
    return 0;
}

/*
 * The leader's role ended with proposals outstanding: none of them is
 * applied or answered now (committed by the ensemble or not, this leader
 * can no longer tell its clients so).  A proposal durable here goes back
 * to the write stage as abandoned at once; one still on its way to disk
 * waits for its append's completion (leader_durable), so the write stage's
 * count of txns in flight stays up until the storage is done with it —
 * peer.c settles only then, and applies what the log holds.
 */
static void leader_abandon(void)
{
    struct proposal *p = leader.head;
    leader.head = leader.tail = NULL;
    int now = 0, later = 0;
    while (p) {
        struct proposal *next = p->next;
        p->abandoned = 1;
        if (p->durable) {
            p->done(p->arg, REPLICATE_ABANDONED);
            proposal_free(p);
            now++;
        } else {
            p->next = abandoned_head;
            abandoned_head = p;
            later++;
        }
        p = next;
    }
    if (now || later)
        log_info("quorum: the leader abandons %d outstanding proposal(s) (%d still on their way "
                 "to disk)", now + later, later);
}

/* ---- learner ---- */

struct learned {
    struct corral_txn txn;          /* decoded from the packet: libzk frees it */
    int durable, acked, committed;
    int orphaned;                   /* the role ended while its append was in flight */
    struct learned *next;
};

/* Received by a role that ended while their appends were in flight (quorum_learner_abandon). */
static struct learned *learner_orphans;

static struct {
    int64_t leader_sid;
    int observer;
    struct learned *head, *tail;    /* received, not yet applied, in zxid order */
    /*
     * Cursors into that queue, so that no packet costs a walk of it (a
     * learner behind a fast leader holds a long queue, and a walk per
     * COMMIT or per append made it fall further behind): the oldest entry
     * not yet committed, the oldest not yet ACKed, and how many are not
     * durable yet.  Applied entries are committed and durable, so neither
     * cursor ever points at one (learner_apply moves ack_next past it).
     */
    struct learned *commit_next, *ack_next;
    int not_durable;
    int64_t last_received;          /* the newest PROPOSAL's or INFORM's zxid */
    int64_t last_committed;         /* the newest zxid the leader said is committed */
    int applying;                   /* re-entry guard of learner_apply */
    /*
     * The sync phase (quorum_learner_start_syncing): PROPOSAL/COMMIT pairs
     * come to observers too, and no ACK may leave before the NEWLEADER ACK
     * (ZOOKEEPER-4685), so ACKs are held until quorum_learner_synced.
     */
    int syncing;
    int hold_acks;
    void (*when_durable)(void);     /* called once every received txn is durable */
} learner;

/* Every txn received so far is durable here. */
static int learner_all_durable(void)
{
    return learner.not_durable == 0;
}

static void learner_check_durable(void)
{
    if (learner.when_durable && learner_all_durable()) {
        void (*fn)(void) = learner.when_durable;
        learner.when_durable = NULL;
        fn();
    }
}

/* ACK, in zxid order, the durable prefix not ACKed yet (followers; never while held). */
static void learner_send_acks(void);

static void learner_send(int32_t type, int64_t zxid)
{
    struct zk_quorum_packet qp;
    zk_quorum_packet_init(&qp, type, zxid);
    if (link_ops->send(learner.leader_sid, &qp) < 0)
        log_warn("quorum: no connection to the leader for %s 0x%llx", zk_quorum_packet_name(type),
                 (unsigned long long)zxid);
}

/* Apply, in order, what is committed and durable here (see the top of the file for why both). */
static void learner_apply(void)
{
    if (learner.applying)
        return;
    learner.applying = 1;
    while (learner.head && learner.head->committed && learner.head->durable) {
        struct learned *e = learner.head;
        learner.head = e->next;
        if (!learner.head)
            learner.tail = NULL;
        if (learner.ack_next == e)  /* committed without our ACK (held, or an observer's) */
            learner.ack_next = e->next;
        struct session *s = commit_apply(&e->txn, COMMIT_LIVE);
        zk_txn_free(&e->txn);
        free(e);
        write_stage_answered(s);
    }
    learner.applying = 0;
}

static void learner_send_acks(void)
{
    if (learner.observer || learner.hold_acks)
        return;
    /* ACK in zxid order: the durable prefix (storage reports in order; this keeps it so) */
    for (struct learned *x = learner.ack_next; x && x->durable; x = learner.ack_next) {
        x->acked = 1;
        learner_send(ZK_QP_ACK, x->txn.zxid);
        learner.ack_next = x->next;
    }
}

static void learner_durable(void *arg, int err)
{
    struct learned *e = arg;
    if (err) {
        /* as the write stage does: acknowledging or applying it now could lose it */
        log_error("storage failed to make txn 0x%llx durable (error %d); stopping",
                  (unsigned long long)e->txn.zxid, err);
        exit(2);
    }
    server.txns_in_flight--;
    if (e->orphaned) {
        /* durable after its role ended: the peer's settling applies it from the log */
        for (struct learned **pp = &learner_orphans; *pp; pp = &(*pp)->next)
            if (*pp == e) {
                *pp = e->next;
                break;
            }
        zk_txn_free(&e->txn);
        free(e);
        return;
    }
    e->durable = 1;
    learner.not_durable--;
    learner_send_acks();
    learner_apply();
    learner_check_durable();
}

/* A PROPOSAL (follower) or INFORM (observer, committed already): decode, queue, log. */
static int learner_log(const struct zk_quorum_packet *qp, int committed)
{
    struct learned *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    if (zk_quorum_txn_decode(qp, &e->txn) < 0) {
        log_error("quorum: %s 0x%llx from the leader does not decode",
                  zk_quorum_packet_name(qp->type), (unsigned long long)qp->zxid);
        free(e);
        return -1;
    }
    if (e->txn.zxid <= learner.last_received) {
        log_error("quorum: %s 0x%llx arrived after 0x%llx: out of order",
                  zk_quorum_packet_name(qp->type), (unsigned long long)e->txn.zxid,
                  (unsigned long long)learner.last_received);
        zk_txn_free(&e->txn);
        free(e);
        return -1;
    }
    learner.last_received = e->txn.zxid;
    e->committed = committed;
    if (learner.tail)
        learner.tail->next = e;
    else
        learner.head = e;
    learner.tail = e;
    if (!learner.ack_next)
        learner.ack_next = e;
    if (!committed && !learner.commit_next)
        learner.commit_next = e;
    learner.not_durable++;
    if (committed)
        learner.last_committed = e->txn.zxid;
    /* counted as the write stage counts its own: the peer settles only once none is in flight */
    server.txns_in_flight++;
    server.storage->append(&e->txn, learner_durable, e);
    return 0;
}

/* COMMIT(zxid): the oldest proposal not yet committed, and no other. */
static int learner_commit(int64_t zxid)
{
    struct learned *e = learner.commit_next;
    if (!e || e->txn.zxid != zxid) {
        if (e)
            log_error("quorum: COMMIT for the wrong zxid 0x%llx: the oldest pending proposal is 0x%llx",
                      (unsigned long long)zxid, (unsigned long long)e->txn.zxid);
        else
            log_error("quorum: COMMIT for the wrong zxid 0x%llx: no proposal is pending",
                      (unsigned long long)zxid);
        return -1;
    }
    e->committed = 1;
    learner.last_committed = zxid;
    struct learned *n = e->next;
    while (n && n->committed)       /* an observer's INFORMs among a sync's PROPOSALs */
        n = n->next;
    learner.commit_next = n;
    learner_apply();
    return 0;
}

int quorum_learner_receive(const struct zk_quorum_packet *qp)
{
    if (role != ROLE_LEARNER)
        return -1;
    switch (qp->type) {
    case ZK_QP_PROPOSAL:
    case ZK_QP_COMMIT:
        if (learner.observer && !learner.syncing) {
            /* ZooKeeper's Observer ignores them too: it is told by INFORM */
            log_warn("quorum: observer ignores %s 0x%llx", zk_quorum_packet_name(qp->type),
                     (unsigned long long)qp->zxid);
            return 0;
        }
        return qp->type == ZK_QP_PROPOSAL ? learner_log(qp, 0) : learner_commit(qp->zxid);
    case ZK_QP_INFORM:
        if (!learner.observer) {
            log_error("quorum: a follower got INFORM 0x%llx", (unsigned long long)qp->zxid);
            return -1;
        }
        return learner_log(qp, 1);
    default:
        log_warn("quorum: %s from the leader is not handled in the broadcast phase yet",
                 zk_quorum_packet_name(qp->type));
        return -1;
    }
}

int quorum_learner_pending(void)
{
    int n = 0;
    for (struct learned *e = role == ROLE_LEARNER ? learner.head : NULL; e; e = e->next)
        n++;
    return n;
}

/*
 * The REQUEST a learner forwards: the client's request record, its
 * session's id and its cxid, and the connection's auth ids (ZooKeeper's
 * Learner.request sends cnxn.getAuthInfo; null on createSession, which has
 * no connection yet on the leader's side).  The universal world:anyone
 * every connection holds here is not one ZooKeeper lists.
 */
static void learner_forward(struct session *s, struct pending *p)
{
    struct jute_buf b;
    jute_buf_init(&b);
    if (zk_quorum_request_encode(&b, s->id, p->req, s->timeout_ms) < 0)
        abort();                    /* oom: the encoder refuses nothing else */
    struct zk_quorum_packet qp;
    zk_quorum_packet_init(&qp, ZK_QP_REQUEST, -1);
    qp.data = b.data;
    qp.data_len = (int32_t)b.len;
    struct zk_id *ids = NULL;
    if (p->req->op != CORRAL_OP_CREATE_SESSION) {
        ids = calloc(s->n_ids ? (size_t)s->n_ids : 1, sizeof *ids);
        if (!ids)
            abort();
        qp.authinfo = ids;
        qp.n_authinfo = 0;
        for (int i = 0; i < s->n_ids; i++) {
            const struct corral_auth_ops *a = auth_find(s->ids[i].scheme);
            if (a && (a->flags & CORRAL_AUTH_UNIVERSAL))
                continue;
            ids[qp.n_authinfo].scheme = s->ids[i].scheme;
            ids[qp.n_authinfo].id = s->ids[i].id;
            qp.n_authinfo++;
        }
    }
    if (link_ops->send(learner.leader_sid, &qp) < 0)
        log_warn("quorum: no connection to the leader: session 0x%llx's request %d waits",
                 (unsigned long long)s->id, (int)p->req->xid);
    free(ids);
    jute_buf_free(&b);
}

const struct replicator replicate_learner = {
    .name = "learner",
    .replicate = NULL,              /* never called: every write is forwarded */
    .forward = learner_forward,
};

int quorum_learner_start(const struct quorum_link_ops *link, int64_t leader_sid, int observer)
{
    if (role != ROLE_NONE || !link || !link->send)
        return -1;
    memset(&learner, 0, sizeof learner);
    learner.leader_sid = leader_sid;
    learner.observer = observer;
    learner.last_received = server.last_zxid;
    learner.last_committed = server.last_zxid;
    link_ops = link;
    role = ROLE_LEARNER;
    server.replicator = &replicate_learner;
    return 0;
}

int quorum_learner_start_syncing(const struct quorum_link_ops *link, int64_t leader_sid,
                                 int observer)
{
    if (quorum_learner_start(link, leader_sid, observer) < 0)
        return -1;
    learner.syncing = 1;
    learner.hold_acks = 1;
    return 0;
}

void quorum_learner_when_durable(void (*fn)(void))
{
    if (role != ROLE_LEARNER)
        return;
    learner.when_durable = fn;
    learner_check_durable();
}

void quorum_learner_synced(void)
{
    if (role != ROLE_LEARNER)
        return;
    learner.hold_acks = 0;
    learner_send_acks();
}

void quorum_learner_uptodate(void)
{
    if (role == ROLE_LEARNER)
        learner.syncing = 0;
}

int64_t quorum_learner_last_committed(void)
{
    return role == ROLE_LEARNER ? learner.last_committed : server.last_zxid;
}

void quorum_learner_abandon(void)
{
    if (role != ROLE_LEARNER)
        return;
    struct learned *e = learner.head, *next;
    for (; e; e = next) {
        next = e->next;
        if (e->durable) {
            zk_txn_free(&e->txn);
            free(e);
        } else {
            e->orphaned = 1;        /* freed by its append's completion */
            e->next = learner_orphans;
            learner_orphans = e;
        }
    }
    learner.head = learner.tail = NULL;
    learner.commit_next = learner.ack_next = NULL;
    learner.not_durable = 0;
    learner.when_durable = NULL;
}

void quorum_release_orphans(void)
{
    while (abandoned_head) {
        struct proposal *p = abandoned_head;
        abandoned_head = p->next;
        p->done(p->arg, REPLICATE_ABANDONED);
        proposal_free(p);
    }
    while (learner_orphans) {
        struct learned *e = learner_orphans;
        learner_orphans = e->next;
        zk_txn_free(&e->txn);
        free(e);
    }
}

int quorum_stop(void)
{
    if (role == ROLE_LEADER) {
        leader_abandon();
        committed_log_clear();
        if (local_syncs.started)
            ev_prepare_stop(server.loop, &local_syncs.watcher);
        free(local_syncs.q);
        memset(&local_syncs, 0, sizeof local_syncs);
        free(leader.voters);
        free(leader.learners);
        memset(&leader, 0, sizeof leader);
    } else if (role == ROLE_LEARNER) {
        if (learner.head)
            return -1;
        memset(&learner, 0, sizeof learner);
    }
    role = ROLE_NONE;
    link_ops = NULL;
    server.replicator = NULL;
    return 0;
}
