/*
 * leader_requests.c — the leader's side of its learners' client traffic, as
 * ZooKeeper 3.8's LearnerHandler and Leader do it (ZK-QUORUM-PROTOCOL.md
 * §2.8-§2.11).
 *
 * REQUEST (a write a learner's client sent): the leader preps it as if a
 * client of its own had sent it, because the checks ZooKeeper makes on the
 * leader (ACLs with the REQUEST's authinfo as the identities, versions, the
 * session's owner, plugins' hooks) must be made once, in zxid order, on the
 * state every earlier txn left.  So the request goes into the pipeline on a
 * *proxy*: the local client (struct session) of the remote session, with no
 * connection, made when a REQUEST for it arrives and gone when it has
 * nothing left to do (write_stage.c) or its close is applied (commit.c).
 * Per-session FIFO order, the write window, prep and the commit path stay
 * one code path; a failed write becomes an ErrorTxn as on a standalone
 * server, a request of a session the leader does not know one of
 * SessionExpired, of a session another learner owns one of SessionMoved
 * (prep.c's session_check).  Replies go nowhere here: the learner answers
 * its client when it applies the COMMIT.  createSession brings the
 * timeout its server negotiated, and the session's clock starts here, the
 * one place sessions expire (session_tracker.h); its expiry is the
 * closeSession the duties queue on the proxy (duties.c), as for a client of
 * the leader's own.
 *
 * sync (REQUEST type 9): no txn.  The learner must see every txn proposed
 * before it; ZooKeeper's Leader.processSync sends SYNC at once when no
 * proposal is outstanding, else when the last one proposed commits
 * (broadcast.c's commit hook), on the same connection as the COMMITs, so
 * the learner has them all first.
 *
 * PING replies carry the sessions the learner's clients touched: their
 * clocks start again here (a session the leader does not know is ignored,
 * as ZooKeeper's touchSession ignores it).  REVALIDATE (a client moved to
 * that learner with its session): valid when the session exists and is not
 * closing; then the learner becomes its owner, its clock starts again, and
 * a connection the leader itself had for the session is closed (its later
 * writes would be SessionMoved in ZooKeeper; here the client has gone
 * anyway).
 *
 * Where this differs from ZooKeeper, no client can tell: a write that
 * arrives behind its session's closeSession is dropped, not proposed as a
 * SessionExpired error txn (nobody waits for it: the learner ends its
 * client when the close commits); and writes already queued when a session
 * expires here are still prepped before its closeSession (ZooKeeper marks
 * the session closing at once and fails them).
 *
 * What is held here: the SYNCs waiting for a commit, by learner sid and
 * zxid.  No pointer to a proxy is kept (they are found by session id), so
 * the local clients may be freed at any time by the pipeline or by peer.c.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "log.h"
#include "session_table.h"
#include "session_tracker.h"
#include "corral/jute.h"
#include "corral/zk_proto.h"
#include "quorum/broadcast.h"
#include "quorum/leader_requests.h"

struct pending_sync {
    int64_t sid;
    int64_t zxid;               /* answered once this is committed */
};

static struct {
    int (*send)(int64_t sid, const struct zk_quorum_packet *qp);
    struct pending_sync *syncs;     /* in arrival order */
    int n_syncs, cap_syncs;
} lr;

static void send_to(int64_t sid, const struct zk_quorum_packet *qp)
{
    if (lr.send(sid, qp) < 0)
        log_warn("quorum: no connection to server %lld for %s", (long long)sid,
                 zk_quorum_packet_name(qp->type));
}

/* ---- sync ---- */

static void send_sync(int64_t sid)
{
    struct zk_quorum_packet qp;
    zk_quorum_packet_init(&qp, ZK_QP_SYNC, 0);
    send_to(sid, &qp);
}

static void on_sync(int64_t sid)
{
    int64_t last = quorum_leader_last_proposed();
    if (last <= quorum_leader_last_committed()) {
        send_sync(sid);
        return;
    }
    if (lr.n_syncs == lr.cap_syncs) {
        lr.cap_syncs = lr.cap_syncs ? lr.cap_syncs * 2 : 8;
        lr.syncs = realloc(lr.syncs, (size_t)lr.cap_syncs * sizeof *lr.syncs);
        if (!lr.syncs)
            abort();
    }
    lr.syncs[lr.n_syncs++] = (struct pending_sync){sid, last};
}

/* broadcast.c's commit hook: the SYNCs waiting for zxid (or an earlier one) go out. */
static void on_commit(int64_t zxid)
{
    int kept = 0;
    for (int i = 0; i < lr.n_syncs; i++) {
        if (lr.syncs[i].zxid <= zxid)
            send_sync(lr.syncs[i].sid);
        else
            lr.syncs[kept++] = lr.syncs[i];
    }
    lr.n_syncs = kept;
}

/* ---- REQUEST ---- */

/*
 * Whether an Id of this scheme counts for the "auth" ACL scheme.  ZooKeeper
 * asks its provider (isAuthenticated: digest and the like yes, ip no); here,
 * a scheme whose identities come only from addauth, which is not the
 * superuser's (ZooKeeper's "super" has no provider of its own).
 */
static int scheme_authenticates(const char *scheme)
{
    const struct corral_auth_ops *a = auth_find(scheme);
    return a && a->authenticate && !a->identify_connection && !(a->flags & CORRAL_AUTH_SUPERUSER);
}

static void add_identity(struct forwarded *f, const char *scheme, const char *id, int authenticated)
{
    for (int i = 0; i < f->n_ids; i++)
        if (!strcmp(f->ids[i].scheme, scheme) && !strcmp(f->ids[i].id, id))
            return;
    struct identity *ids = realloc(f->ids, (size_t)(f->n_ids + 1) * sizeof *ids);
    if (!ids)
        abort();
    f->ids = ids;
    ids[f->n_ids].scheme = strdup(scheme);
    ids[f->n_ids].id = strdup(id);
    ids[f->n_ids].authenticated = authenticated;
    if (!ids[f->n_ids].scheme || !ids[f->n_ids].id)
        abort();
    f->n_ids++;
}

/*
 * The REQUEST's authinfo as identities, plus the universal ones (world:
 * anyone), which every connection holds and which learners do not list
 * (ZooKeeper grants world:anyone without looking for it).
 */
static struct forwarded *forwarded_new(int64_t sid, const struct zk_quorum_packet *qp)
{
    struct forwarded *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->from = sid;
    for (int32_t i = 0; i < qp->n_authinfo; i++) {
        const struct zk_id *id = &qp->authinfo[i];
        if (id->scheme && id->id)
            add_identity(f, id->scheme, id->id, scheme_authenticates(id->scheme));
    }
    for (int i = 0; i < server.n_auth; i++) {
        const struct corral_auth_ops *a = server.auth[i];
        if (!(a->flags & CORRAL_AUTH_UNIVERSAL) || !a->identify_connection)
            continue;
        char *id = a->identify_connection(NULL);
        if (id)
            add_identity(f, a->scheme, id, 0);
        free(id);
    }
    return f;
}

/* A write whose record does not decode: ZooKeeper's prep answers it with MarshallingError. */
static struct corral_request *malformed_request(int32_t type, int32_t cxid)
{
    struct corral_request *req = calloc(1, sizeof *req);
    if (!req)
        abort();
    req->op = type;
    req->xid = cxid;
    req->data_len = -1;
    req->malformed = 1;
    return req;
}

static int on_request(int64_t sid, const struct zk_quorum_packet *qp)
{
    struct jute_reader r;
    jute_reader_init(&r, qp->data, qp->data_len > 0 ? (size_t)qp->data_len : 0);
    int64_t session_id = jute_get_long(&r);
    int32_t cxid = jute_get_int(&r);
    int32_t type = jute_get_int(&r);
    if (r.err) {
        log_warn("quorum: a REQUEST from server %lld is too short for its header (%d bytes)",
                 (long long)sid, (int)qp->data_len);
        return -1;
    }
    if (type == CORRAL_OP_SYNC) {
        on_sync(sid);
        return 0;
    }
    if (!is_write_op(type)) {
        /* ZooKeeper's prep only checks the session of such a request: nothing to propose */
        log_debug("quorum: server %lld forwarded op %d (session 0x%llx); not a write: ignored",
                  (long long)sid, (int)type, (unsigned long long)session_id);
        return 0;
    }
    if (session_id == 0) {
        /* the server's own session (server.system_session): no learner's client has it */
        log_warn("quorum: server %lld forwarded op %d for session 0; ignored", (long long)sid,
                 (int)type);
        return 0;
    }
    struct zk_quorum_request fr;
    struct corral_request *req;
    if (zk_quorum_request_decode(qp->data, (size_t)qp->data_len, &fr) == 0) {
        req = fr.req;
    } else {
        req = malformed_request(type, cxid);
        fr.timeout = -1;
    }
    struct session *s = session_find(session_id);
    if (!s) {
        const struct session_entry *e = session_table_find(session_id);
        if (!(s = session_new(session_id, e ? e->timeout_ms : fr.timeout))) {
            log_error("quorum: no memory for session 0x%llx's request from server %lld",
                      (unsigned long long)session_id, (long long)sid);
            request_free(req);
            return 0;
        }
    }
    if (type == CORRAL_OP_CREATE_SESSION && !req->malformed) {
        /* the timeout the learner negotiated is the txn's; the clock runs from now */
        s->timeout_ms = fr.timeout;
        tracker_add(session_id, fr.timeout);
    }
    pipeline_submit_forwarded(s, req, forwarded_new(sid, qp));
    return 0;       /* s may be gone already: the write may have completed */
}

/* ---- REVALIDATE and touches ---- */

/* The session exists for ZooKeeper's tracker: in the table, or its createSession under way. */
static int session_known(int64_t id, const struct session *s)
{
    return session_table_find(id) ||
           (s && s->head && s->head->req->op == CORRAL_OP_CREATE_SESSION);
}

static int on_revalidate(int64_t sid, const struct zk_quorum_packet *qp)
{
    struct jute_reader r;
    jute_reader_init(&r, qp->data, qp->data_len > 0 ? (size_t)qp->data_len : 0);
    int64_t id = jute_get_long(&r);
    int32_t timeout = jute_get_int(&r);
    if (r.err) {
        log_warn("quorum: a REVALIDATE from server %lld is too short (%d bytes)", (long long)sid,
                 (int)qp->data_len);
        return -1;
    }
    struct session *s = session_find(id);
    int valid = session_known(id, s) && !(s && s->closing);
    if (valid) {
        struct session_entry *e = session_table_find(id);
        if (e)
            e->owner = sid;
        else if (s->head->fwd)
            s->head->fwd->from = sid;   /* recorded when its createSession is applied */
        tracker_touch_timeout(id, timeout);
        if (s && s->ops) {
            /* the leader's own connection for it: the client is on sid now */
            const struct corral_conn_ops *ops = s->ops;
            void *conn = s->conn;
            pipeline_detach(s);
            ops->close(conn, CORRAL_ESESSIONMOVED);
            session_release_if_idle(s);
        }
    }
    log_debug("quorum: server %lld revalidates session 0x%llx: %s", (long long)sid,
              (unsigned long long)id, valid ? "valid" : "invalid");
    struct jute_buf b;
    jute_buf_init(&b);
    jute_put_long(&b, id);
    jute_put_bool(&b, valid);
    if (b.oom)
        abort();
    struct zk_quorum_packet reply;
    zk_quorum_packet_init(&reply, ZK_QP_REVALIDATE, qp->zxid);
    reply.data = b.data;
    reply.data_len = (int32_t)b.len;
    send_to(sid, &reply);
    jute_buf_free(&b);
    return 0;
}

/* A PING reply: (long sessionId, int timeout)* — each session's clock starts again. */
static int on_ping(int64_t sid, const struct zk_quorum_packet *qp)
{
    struct jute_reader r;
    jute_reader_init(&r, qp->data, qp->data_len > 0 ? (size_t)qp->data_len : 0);
    while (jute_remaining(&r) > 0) {
        int64_t id = jute_get_long(&r);
        int32_t timeout = jute_get_int(&r);
        if (r.err) {
            /* ZooKeeper's readLong/readInt fail there, and the handler ends */
            log_warn("quorum: the touches in a PING from server %lld end inside one (%d bytes)",
                     (long long)sid, (int)qp->data_len);
            return -1;
        }
        const struct session *s = session_find(id);
        if (s && s->closing)
            continue;           /* touchSession leaves a closing session alone */
        tracker_touch_timeout(id, timeout);
    }
    return 0;
}

/* ---- the interface ---- */

int leader_requests_start(int (*send)(int64_t sid, const struct zk_quorum_packet *qp))
{
    if (!send)
        return -1;
    memset(&lr, 0, sizeof lr);
    lr.send = send;
    /* a new leader knows no owners (ZooKeeper's tracker starts without); the first learner to
     * write for a session, or to revalidate it, becomes its owner */
    for (struct session_entry *e = server.session_table; e; e = e->hh.next)
        e->owner = 0;
    quorum_leader_set_commit_hook(on_commit);
    return 0;
}

void leader_requests_stop(void)
{
    if (!lr.send)
        return;
    quorum_leader_set_commit_hook(NULL);
    pipeline_drop_forwarded();
    free(lr.syncs);
    memset(&lr, 0, sizeof lr);
}

int leader_requests_receive(int64_t sid, const struct zk_quorum_packet *qp)
{
    if (!lr.send)
        return -1;
    switch (qp->type) {
    case ZK_QP_REQUEST:
        return on_request(sid, qp);
    case ZK_QP_REVALIDATE:
        return on_revalidate(sid, qp);
    case ZK_QP_PING:
        return on_ping(sid, qp);
    default:
        log_warn("quorum: %s from server %lld is not a learner's request",
                 zk_quorum_packet_name(qp->type), (long long)sid);
        return -1;
    }
}

void leader_requests_learner_gone(int64_t sid)
{
    int kept = 0;
    for (int i = 0; i < lr.n_syncs; i++)
        if (lr.syncs[i].sid != sid)
            lr.syncs[kept++] = lr.syncs[i];
    lr.n_syncs = kept;
}
