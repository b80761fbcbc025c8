/*
 * leader-requests.c — the leader's side of its learners' client traffic
 * (core/quorum/leader_requests.c) over the fake quorum link (fake_link.h):
 * server 3 leads voters 1, 2, 3 (observer 4), as in ZooKeeper's wire trace,
 * whose REQUEST, REVALIDATE and PING bytes are fed in where it has them.
 *
 * REQUEST: ZooKeeper's createSession and create become PROPOSALs of the
 * same txns (session id, cxid, timeout, path, data, ACL, parentCVersion);
 * the session's owner is the learner that created it; a write the
 * REQUEST's identities may not make is ErrorTxn NoAuth (and one they may is
 * made); a version mismatch ErrorTxn BadVersion; setData on a missing node
 * ErrorTxn NoNode as ZooKeeper proposes it; a write from a learner that is
 * not the session's owner SessionMoved (a multi: its first member, the rest
 * RuntimeInconsistency); a write of a session the leader does not know
 * SessionExpired; a write behind a createSession still in flight is made;
 * closeSession names the session's ephemerals.  SYNC: at once with nothing
 * outstanding, else after the COMMIT of the last proposal, and not to a
 * learner that went away.  REVALIDATE: ZooKeeper's reply bytes, valid and
 * invalid; a valid one moves the owner (the old owner's writes then
 * SessionMoved) and closes the leader's own connection for the session.
 * PING touches keep sessions alive on a real loop (ticks of 10 ms); an
 * untouched proxied session expires as a closeSession proposal.  stop
 * drops the forwarded writes that took no zxid.
 */
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "tap.h"
#include "server.h"
#include "core_fixture.h"
#include "session_table.h"
#include "session_tracker.h"
#include "duties.h"
#include "db.h"
#include "corral/zk_txn.h"
#include "corral/zk_proto.h"
#include "quorum/broadcast.h"
#include "quorum/leader_requests.h"
#include "zk-trace-packets.h"
#include "fake_link.h"

/* ---- a storage durable at once: the leader's own ACK is immediate ---- */
static int st_recover(void) { return 0; }
static void st_append(const struct corral_txn *t, void (*done)(void *, int), void *arg)
{
    (void)t;
    done(arg, 0);
}
static const struct corral_storage_ops storage = {.size = sizeof storage, .recover = st_recover,
                                                  .append = st_append};

/* ---- auth: world and ip, as the modules have them ---- */
static const struct corral_auth_ops *auths[] = {&fixture_world, &fixture_ip};

/* ---- a client of the leader's own (for REVALIDATE) ---- */
static int closed_with, connected;
static void on_connected(void *conn, const struct corral_connect_result *res)
{
    (void)conn;
    connected += res->err == CORRAL_OK;
}
static void on_reply(void *conn, const struct corral_response *rsp) { (void)conn, (void)rsp; }
static void on_event(void *conn, const struct corral_watch_event *ev) { (void)conn, (void)ev; }
static void on_close(void *conn, int32_t reason)
{
    (void)conn;
    closed_with = reason;
}
static const struct corral_conn_ops conn_ops = {.size = sizeof conn_ops, .connected = on_connected,
                                                .reply = on_reply, .event = on_event,
                                                .close = on_close};

/* ---- feeding packets: bytes through the decoder, as the leader's socket would ---- */
static int feed_bytes(int64_t from, const uint8_t *p, size_t n)
{
    struct zk_quorum_packet qp;
    size_t used;
    if (zk_quorum_packet_decode(p, n, MAX_DATA, &qp, &used) != 1 || used != n)
        return -99;
    int rc = leader_requests_receive(from, &qp);
    zk_quorum_packet_free(&qp);
    return rc;
}

static int feed(int64_t from, int32_t type, int64_t zxid, const uint8_t *data, int32_t len,
                const char *ip_id)
{
    struct zk_id id = {"ip", (char *)ip_id};
    struct zk_quorum_packet qp;
    zk_quorum_packet_init(&qp, type, zxid);
    qp.data = data;
    qp.data_len = len;
    if (ip_id) {
        qp.authinfo = &id;
        qp.n_authinfo = 1;
    }
    struct jute_buf b;
    jute_buf_init(&b);
    if (zk_quorum_packet_encode(&b, &qp) < 0)
        abort();
    int rc = feed_bytes(from, b.data, b.len);
    jute_buf_free(&b);
    return rc;
}

/* A REQUEST as a learner forwards it (its own encoder), from the client at ip_id. */
static int forward(int64_t from, int64_t session, struct corral_request *r, int32_t timeout,
                   const char *ip_id)
{
    struct jute_buf b;
    jute_buf_init(&b);
    if (zk_quorum_request_encode(&b, session, r, timeout) < 0)
        abort();
    int rc = feed(from, ZK_QP_REQUEST, -1, b.data, (int32_t)b.len, ip_id);
    jute_buf_free(&b);
    zk_request_free(r);
    return rc;
}

static struct corral_request *req(int32_t op, int32_t xid, const char *path)
{
    struct corral_request *r = calloc(1, sizeof *r);
    r->op = op;
    r->xid = xid;
    r->path = path ? strdup(path) : NULL;
    r->data_len = -1;
    r->version = -1;
    return r;
}

static struct corral_request *create(int32_t xid, const char *path, const char *scheme,
                                     const char *id, int32_t flags)
{
    struct corral_request *r = req(CORRAL_OP_CREATE, xid, path);
    r->acl = calloc(1, sizeof *r->acl);
    r->acl->perms = CORRAL_PERM_ALL;
    r->acl->scheme = strdup(scheme);
    r->acl->id = strdup(id);
    r->n_acl = 1;
    r->flags = flags;
    return r;
}

static struct corral_request *set_data(int32_t xid, const char *path, int32_t version)
{
    struct corral_request *r = req(CORRAL_OP_SET_DATA, xid, path);
    r->data = (uint8_t *)strdup("x");
    r->data_len = 1;
    r->version = version;
    return r;
}

static int create_session(int64_t from, int64_t session, int32_t timeout)
{
    return forward(from, session, req(CORRAL_OP_CREATE_SESSION, 0, NULL), timeout, NULL);
}

/* ---- what the leader proposed ---- */

/* The txn of the newest PROPOSAL to follower 1 (decoded into *t; free with zk_txn_free). */
static int last_proposal(struct corral_txn *t)
{
    for (int i = n_sent - 1; i >= 0; i--)
        if (sent[i].qp.type == ZK_QP_PROPOSAL && sent[i].to == 1)
            return zk_quorum_txn_decode(&sent[i].qp, t);
    return -1;
}

/* Whether the newest proposal is an error txn for (session, cxid) with code err. */
static int proposed_error(int64_t session, int32_t cxid, int32_t err)
{
    struct corral_txn t;
    if (last_proposal(&t) < 0)
        return 0;
    int yes = t.type == CORRAL_OP_ERROR && t.err == err && t.session_id == session && t.cxid == cxid;
    zk_txn_free(&t);
    return yes;
}

/* Follower 1 ACKs every proposal so far: with the leader's own, each commits. */
static void ack_all(void)
{
    for (int i = 0; i < n_sent; i++)
        if (sent[i].qp.type == ZK_QP_PROPOSAL && sent[i].to == 1) {
            struct zk_quorum_packet a;
            zk_quorum_packet_init(&a, ZK_QP_ACK, sent[i].qp.zxid);
            quorum_leader_receive(1, &a);
        }
}

/* The index in sent[] of the first packet of type to peer (-1: none). */
static int sent_index(int32_t type, int64_t peer)
{
    for (int i = 0; i < n_sent; i++)
        if (sent[i].qp.type == type && sent[i].to == peer)
            return i;
    return -1;
}

/* A proposal of a closeSession for session among those sent. */
static int close_proposed(int64_t session)
{
    for (int i = 0; i < n_sent; i++) {
        struct corral_txn t;
        if (sent[i].qp.type != ZK_QP_PROPOSAL || sent[i].to != 1 ||
            zk_quorum_txn_decode(&sent[i].qp, &t) < 0)
            continue;
        int yes = t.type == CORRAL_OP_CLOSE_SESSION && t.session_id == session;
        zk_txn_free(&t);
        if (yes)
            return 1;
    }
    return 0;
}

/* ---- the tests ---- */

#define MOVED_SESSION 0x10000286ca70000LL   /* the trace's second run: moved by REVALIDATE */

static void test_requests(void)
{
    struct corral_txn t, want;

    /* createSession: ZooKeeper's REQUEST, proposed as ZooKeeper proposed it */
    is_int(feed_bytes(1, trace_req_cs, sizeof trace_req_cs), 0, "ZooKeeper's createSession REQUEST is taken");
    struct zk_quorum_packet wq;
    size_t used;
    ok(zk_quorum_packet_decode(trace_prop_cs, sizeof trace_prop_cs, MAX_DATA, &wq, &used) == 1 &&
           zk_quorum_txn_decode(&wq, &want) == 0, "(the trace's PROPOSAL decodes)");
    zk_quorum_packet_free(&wq);
    ok(last_proposal(&t) == 0 && t.type == want.type && t.session_id == want.session_id &&
           t.cxid == want.cxid && t.zxid == want.zxid && t.timeout == want.timeout,
       "proposed: createSession 0x10000260bb60000, cxid 0, zxid 0x100000001, timeOut 6000, as in the trace");
    zk_txn_free(&t);
    zk_txn_free(&want);
    ok(find_sent(ZK_QP_PROPOSAL, 2, 0x100000001LL) && !find_sent(ZK_QP_PROPOSAL, 3, -2) &&
           !find_sent(ZK_QP_PROPOSAL, 4, -2),
       "to both followers (not to itself, not to the observer)");
    ok(tracker_deadline(TRACE_SESSION) > 0, "the session's clock runs on the leader from now");
    ack_all();
    const struct session_entry *e = session_table_find(TRACE_SESSION);
    ok(e && e->timeout_ms == 6000 && e->owner == 1,
       "committed: the session is in the table, timeout 6000, owned by learner 1");
    ok(!session_find(TRACE_SESSION), "its proxy went with nothing left to do");
    ok(!find_sent(ZK_QP_REQUEST, 1, -2) && count_sent(ZK_QP_COMMIT, 1) == 1,
       "nothing but the COMMIT goes back: the learner answers its client");
    sent_clear();

    /* create: ZooKeeper's REQUEST (authinfo ip:127.0.0.1) */
    is_int(feed_bytes(1, trace_req_create, sizeof trace_req_create), 0, "ZooKeeper's create REQUEST is taken");
    ok(zk_quorum_packet_decode(trace_prop_create, sizeof trace_prop_create, MAX_DATA, &wq, &used) == 1 &&
           zk_quorum_txn_decode(&wq, &want) == 0, "(the trace's PROPOSAL decodes)");
    zk_quorum_packet_free(&wq);
    ok(last_proposal(&t) == 0 && t.type == CORRAL_OP_CREATE && t.session_id == want.session_id &&
           t.cxid == 1 && t.zxid == want.zxid && !strcmp(t.path, "/cap") && t.data_len == 5 &&
           !memcmp(t.data, "hello", 5) && t.n_acl == 1 && t.acl[0].perms == 31 &&
           !strcmp(t.acl[0].scheme, "world") && !strcmp(t.acl[0].id, "anyone") && !t.ephemeral &&
           t.parent_cversion == want.parent_cversion,
       "proposed: CreateTxn /cap \"hello\" world:anyone parentCVersion 1, session and cxid 1, as in the trace");
    zk_txn_free(&t);
    zk_txn_free(&want);
    ack_all();
    ok(tree_lookup(&server.tree, "/cap") != NULL, "committed and applied on the leader");
    sent_clear();

    /* setData on a missing node: ZooKeeper proposes ErrorTxn -101 */
    forward(1, TRACE_SESSION, set_data(3, "/nothing", -1), 0, "127.0.0.1");
    ok(proposed_error(TRACE_SESSION, 3, CORRAL_ENONODE), "setData of a missing node: ErrorTxn NoNode (-101), as the trace");
    ok(zk_quorum_packet_decode(trace_prop_err, sizeof trace_prop_err, MAX_DATA, &wq, &used) == 1 &&
           zk_quorum_txn_decode(&wq, &want) == 0 && last_proposal(&t) == 0 &&
           t.type == want.type && t.err == want.err,
       "the same type and code as ZooKeeper's PROPOSAL");
    zk_quorum_packet_free(&wq);
    zk_txn_free(&want);
    zk_txn_free(&t);

    /* version mismatch */
    forward(1, TRACE_SESSION, set_data(4, "/cap", 7), 0, "127.0.0.1");
    ok(proposed_error(TRACE_SESSION, 4, CORRAL_EBADVERSION), "setData /cap at version 7 (it is 0): ErrorTxn BadVersion (-103)");
    forward(1, TRACE_SESSION, set_data(5, "/cap", 0), 0, "127.0.0.1");
    ok(last_proposal(&t) == 0 && t.type == CORRAL_OP_SET_DATA && t.version == 1 && t.cxid == 5,
       "at version 0: SetDataTxn, version 1");
    zk_txn_free(&t);

    /* ACLs checked with the REQUEST's identities */
    forward(1, TRACE_SESSION, create(6, "/locked", "ip", "10.9.9.9", 0), 0, "127.0.0.1");
    ok(last_proposal(&t) == 0 && t.type == CORRAL_OP_CREATE && !strcmp(t.path, "/locked"),
       "(create /locked, ACL ip:10.9.9.9)");
    zk_txn_free(&t);
    forward(1, TRACE_SESSION, set_data(7, "/locked", -1), 0, "127.0.0.1");
    ok(proposed_error(TRACE_SESSION, 7, CORRAL_ENOAUTH), "setData /locked from ip:127.0.0.1: ErrorTxn NoAuth (-102)");
    forward(1, TRACE_SESSION, create(8, "/locked/child", "world", "anyone", 0), 0, "127.0.0.1");
    ok(proposed_error(TRACE_SESSION, 8, CORRAL_ENOAUTH), "a create under it too");
    forward(1, TRACE_SESSION, set_data(9, "/locked", -1), 0, "10.9.9.9");
    ok(last_proposal(&t) == 0 && t.type == CORRAL_OP_SET_DATA && t.cxid == 9,
       "from a client at ip:10.9.9.9 (the REQUEST's authinfo) it is made");
    zk_txn_free(&t);
    forward(1, TRACE_SESSION, create(10, "/cap/eph", "world", "anyone", CORRAL_CREATE_EPHEMERAL), 0, "127.0.0.1");
    ack_all();
    ok(tree_lookup(&server.tree, "/cap/eph") != NULL, "(an ephemeral of the session)");
    sent_clear();

    /* a session another learner created: learner 1 writes for it */
    const int64_t b = 0x2000000000000001LL;
    create_session(2, b, 10000);
    ack_all();
    ok(session_table_find(b) && session_table_find(b)->owner == 2, "a session created through learner 2 is owned by it");
    forward(1, b, set_data(1, "/cap", -1), 0, "127.0.0.1");
    ok(proposed_error(b, 1, CORRAL_ESESSIONMOVED), "a write for it from learner 1: ErrorTxn SessionMoved (-118)");
    struct corral_request *m = req(CORRAL_OP_MULTI, 2, NULL);
    m->n_ops = 2;
    m->ops = calloc(2, sizeof *m->ops);
    m->ops[0].op = m->ops[1].op = CORRAL_OP_SET_DATA;
    m->ops[0].path = strdup("/cap");
    m->ops[1].path = strdup("/locked");
    m->ops[0].version = m->ops[1].version = -1;
    m->ops[0].data_len = m->ops[1].data_len = -1;
    forward(1, b, m, 0, "127.0.0.1");
    ok(last_proposal(&t) == 0 && t.type == CORRAL_OP_MULTI && t.n_subs == 2 &&
           t.subs[0].type == CORRAL_OP_ERROR && t.subs[0].err == CORRAL_ESESSIONMOVED &&
           t.subs[1].type == CORRAL_OP_ERROR && t.subs[1].err == CORRAL_ERUNTIMEINCONSISTENCY,
       "a multi: MultiTxn, its first member SessionMoved, the next RuntimeInconsistency (ZooKeeper's per-op check)");
    zk_txn_free(&t);
    forward(2, b, set_data(3, "/cap", -1), 0, "127.0.0.1");
    ok(last_proposal(&t) == 0 && t.type == CORRAL_OP_SET_DATA && t.session_id == b,
       "from its owner it is made");
    zk_txn_free(&t);

    /* a session the leader does not know */
    forward(1, 0x100000000000abcLL, set_data(1, "/cap", -1), 0, "127.0.0.1");
    ok(proposed_error(0x100000000000abcLL, 1, CORRAL_ESESSIONEXPIRED),
       "a write of a session not in the table: ErrorTxn SessionExpired (-112)");
    ack_all();
    ok(!session_find(0x100000000000abcLL) && !session_table_find(0x100000000000abcLL),
       "and nothing stays of it");
    sent_clear();

    /* a write behind a createSession still in flight */
    const int64_t c = 0x2000000000000002LL;
    create_session(2, c, 10000);
    forward(2, c, create(1, "/c-node", "world", "anyone", 0), 0, "127.0.0.1");
    ok(last_proposal(&t) == 0 && t.type == CORRAL_OP_CREATE && t.session_id == c,
       "a write while its session's createSession is not yet committed: made (the session is known from its prep)");
    zk_txn_free(&t);
    forward(1, c, set_data(2, "/c-node", -1), 0, "127.0.0.1");
    ok(proposed_error(c, 2, CORRAL_ESESSIONMOVED), "but not from another learner");
    ack_all();
    ok(session_table_find(c) && session_table_find(c)->owner == 2 && tree_lookup(&server.tree, "/c-node"),
       "(all committed)");
    sent_clear();

    /* closeSession: ZooKeeper's REQUEST; the txn names the session's ephemeral */
    is_int(feed_bytes(1, trace_req_close, sizeof trace_req_close), 0, "ZooKeeper's closeSession REQUEST is taken");
    ok(last_proposal(&t) == 0 && t.type == CORRAL_OP_CLOSE_SESSION && t.session_id == TRACE_SESSION &&
           t.cxid == 6 && t.n_close_paths == 1 && !strcmp(t.close_paths[0], "/cap/eph"),
       "proposed: CloseSessionTxn paths2Delete [/cap/eph], cxid 6, as in the trace");
    zk_txn_free(&t);
    forward(1, TRACE_SESSION, set_data(7, "/cap", -1), 0, "127.0.0.1");
    ok(last_proposal(&t) == 0 && t.type == CORRAL_OP_CLOSE_SESSION, "a write behind the close is not proposed");
    zk_txn_free(&t);
    ack_all();
    ok(!session_table_find(TRACE_SESSION) && !tree_lookup(&server.tree, "/cap/eph") &&
           !session_find(TRACE_SESSION) && !tracker_deadline(TRACE_SESSION),
       "committed: the session, its ephemeral, its proxy and its clock are gone");
    sent_clear();

    /* malformed */
    static const uint8_t short_req[] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
    is_int(feed(1, ZK_QP_REQUEST, -1, short_req, sizeof short_req, NULL), -1,
           "a REQUEST shorter than its header: the learner is dropped");
    /* session c, cxid 9, setData, then a path of length -16 */
    uint8_t bad[24] = {0x20, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xf0};
    is_int(feed(2, ZK_QP_REQUEST, -1, bad, sizeof bad, NULL), 0, "a setData whose record does not decode is taken");
    ok(proposed_error(c, 9, CORRAL_EMARSHALLINGERROR), "as ErrorTxn MarshallingError (-5)");
    ack_all();
    sent_clear();
}

static const uint8_t sync_bytes[] = {0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff};

static int sync_request(int64_t from, int64_t session, int32_t cxid)
{
    return forward(from, session, req(CORRAL_OP_SYNC, cxid, "/cap"), 0, "127.0.0.1");
}

static void test_sync(void)
{
    const int64_t c = 0x2000000000000002LL;
    is_int(sync_request(2, c, 20), 0, "a sync REQUEST is taken");
    ok(n_sent == 1 && sent_is(find_sent(ZK_QP_SYNC, 2, 0), sync_bytes, sizeof sync_bytes),
       "nothing outstanding: SYNC (zxid 0, ZooKeeper's bytes) to that learner at once, no proposal");
    sent_clear();

    forward(2, c, set_data(21, "/cap", -1), 0, "127.0.0.1");
    sync_request(1, c, 22);
    sync_request(2, c, 23);
    ok(!count_sent(ZK_QP_SYNC, 0), "a proposal outstanding: no SYNC yet");
    leader_requests_learner_gone(2);
    ack_all();
    int commit = sent_index(ZK_QP_COMMIT, 1), sync = sent_index(ZK_QP_SYNC, 1);
    ok(commit >= 0 && sync > commit, "once it commits, SYNC to learner 1, after the COMMIT");
    ok(!find_sent(ZK_QP_SYNC, 2, -2), "none to learner 2, which went away meanwhile");
    sent_clear();
}

static void test_revalidate(void)
{
    /* the trace's second run: a session of learner 1 moves to learner 2 */
    create_session(1, MOVED_SESSION, 6000);
    ack_all();
    sent_clear();
    static const uint8_t reval[] = {0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0, 0, 0, 0x0c, 0x01, 0, 0, 0x28, 0x6c, 0xa7, 0, 0,
                                    0, 0, 0x17, 0x70, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t valid[] = {0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0, 0, 0, 0x09, 0x01, 0, 0, 0x28, 0x6c, 0xa7, 0, 0,
                                    0x01, 0xff, 0xff, 0xff, 0xff};
    is_int(feed_bytes(2, reval, sizeof reval), 0, "ZooKeeper's REVALIDATE from learner 2 is taken");
    ok(n_sent == 1 && sent_is(find_sent(ZK_QP_REVALIDATE, 2, -1), valid, sizeof valid),
       "the reply is ZooKeeper's, byte for byte: zxid -1, the session, valid");
    ok(session_table_find(MOVED_SESSION)->owner == 2, "learner 2 owns the session now");
    forward(1, MOVED_SESSION, set_data(10, "/cap", -1), 0, "127.0.0.1");
    ok(proposed_error(MOVED_SESSION, 10, CORRAL_ESESSIONMOVED), "the old owner's write: SessionMoved");
    forward(2, MOVED_SESSION, set_data(11, "/cap", -1), 0, "127.0.0.1");
    struct corral_txn t;
    ok(last_proposal(&t) == 0 && t.type == CORRAL_OP_SET_DATA && t.cxid == 11, "the new owner's is made");
    zk_txn_free(&t);
    ack_all();
    sent_clear();

    uint8_t unknown[12] = {0x01, 0, 0, 0x28, 0, 0, 0, 0x99, 0, 0, 0x17, 0x70};
    is_int(feed(2, ZK_QP_REVALIDATE, -1, unknown, sizeof unknown, NULL), 0, "a REVALIDATE of an unknown session");
    static const uint8_t invalid[] = {0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0, 0, 0, 0x09, 0x01, 0, 0, 0x28, 0, 0, 0, 0x99,
                                      0x00, 0xff, 0xff, 0xff, 0xff};
    ok(n_sent == 1 && sent_is(find_sent(ZK_QP_REVALIDATE, 2, -1), invalid, sizeof invalid),
       "is answered invalid (boolean 0)");
    ok(!session_table_find(0x0100002800000099LL) && !tracker_deadline(0x0100002800000099LL),
       "and is not made a session");
    is_int(feed(2, ZK_QP_REVALIDATE, -1, unknown, 11, NULL), -1, "a REVALIDATE too short: the learner is dropped");
    sent_clear();

    /* a session with a connection on the leader itself moves to learner 2 */
    struct corral_connect_params p;
    memset(&p, 0, sizeof p);
    p.timeout_ms = 10000;
    p.remote_addr = "127.0.0.1";
    struct session *s = pipeline_connect(&p, &conn_ops, &closed_with);
    int64_t sid = s->id;
    ack_all();
    ok(connected == 1 && session_table_find(sid)->owner == 3, "a client of the leader's own: owned by the leader (3)");
    forward(1, sid, set_data(1, "/cap", -1), 0, "127.0.0.1");
    ok(proposed_error(sid, 1, CORRAL_ESESSIONMOVED), "a learner's write for it: SessionMoved");
    ack_all();
    sent_clear();
    uint8_t mine[12];
    for (int i = 0; i < 8; i++)
        mine[i] = (uint8_t)((uint64_t)sid >> (56 - 8 * i));
    memcpy(mine + 8, "\0\0\x27\x10", 4);
    feed(2, ZK_QP_REVALIDATE, -1, mine, sizeof mine, NULL);
    ok(count_sent(ZK_QP_REVALIDATE, 2) == 1 && sent[0].qp.data[8] == 1, "REVALIDATE of it from learner 2: valid");
    ok(closed_with == CORRAL_ESESSIONMOVED && session_table_find(sid)->owner == 2 && !session_find(sid),
       "the leader's connection for it is closed (SessionMoved), learner 2 owns it");
    sent_clear();
}

static void put_touch(uint8_t *p, int64_t id, int32_t timeout)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)((uint64_t)id >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        p[8 + i] = (uint8_t)((uint32_t)timeout >> (24 - 8 * i));
}

static void test_touches(void)
{
    /* ZooKeeper's PING reply with one touch (6000 ms) */
    ev_now_update(server.loop);
    int64_t before = tracker_deadline(MOVED_SESSION);
    run_for(30);
    is_int(feed_bytes(2, trace_ping_touches, sizeof trace_ping_touches), 0, "ZooKeeper's PING with a touch is taken");
    ok(tracker_deadline(MOVED_SESSION) > before && tracker_deadline(MOVED_SESSION) >= now_ms() + 6000,
       "the session's clock starts again with the learner's timeout");

    /* two proxied sessions of 200 ms: one touched every 20 ms, one not */
    const int64_t kept = 0x2000000000000010LL, left = 0x2000000000000011LL;
    ev_now_update(server.loop);
    create_session(2, kept, 200);
    create_session(2, left, 200);
    ack_all();
    sent_clear();
    uint8_t touches[24];
    put_touch(touches, kept, 200);
    put_touch(touches + 12, 0x2000000000000099LL, 200);
    for (int i = 0; i < 30; i++) {
        run_for(20);
        is_int(feed(2, ZK_QP_PING, 0, touches, sizeof touches, NULL), 0, "(a PING reply with touches)");
        ack_all();
    }
    ok(close_proposed(left) && !session_table_find(left),
       "the untouched session expired on the leader: its closeSession proposed and committed");
    ok(!close_proposed(kept) && session_table_find(kept), "the touched one lives after 600 ms (3 timeouts)");
    ok(!tracker_deadline(0x2000000000000099LL), "a touch of an unknown session is ignored");
    is_int(feed(2, ZK_QP_PING, 0, touches, 13, NULL), -1, "touches that end inside one: the learner is dropped");
    is_int(feed(2, ZK_QP_PING, 0, NULL, -1, NULL), 0, "a PING with no data is taken");
    sent_clear();
    for (int i = 0; i < 50 && !close_proposed(kept); i++) {
        run_for(20);
        ack_all();
    }
    ok(close_proposed(kept), "untouched now, it expires too");
    ack_all();
    ok(!session_table_find(kept) && !session_find(kept), "(its close committed)");
    sent_clear();
}

static void test_stop(void)
{
    const int64_t c = 0x2000000000000002LL;
    server.max_txns_in_flight = 1;
    forward(2, c, set_data(30, "/cap", -1), 0, "127.0.0.1");
    forward(2, c, set_data(31, "/cap", -1), 0, "127.0.0.1");
    sync_request(2, c, 32);
    ok(count_sent(ZK_QP_PROPOSAL, 1) == 1 && server.outstanding == 2,
       "a window of 1: one write proposed, one queued");
    leader_requests_stop();
    ok(server.outstanding == 1, "stop: the queued one is dropped, the one in flight stays");
    is_int(feed_bytes(2, trace_req_cs, sizeof trace_req_cs), -1, "after stop nothing is taken");
    ack_all();
    ok(count_sent(ZK_QP_PROPOSAL, 1) == 1 && !count_sent(ZK_QP_SYNC, 0) && server.outstanding == 0,
       "the one in flight commits; nothing more is proposed, no SYNC goes out");
    ok(!session_find(c), "no proxy is left");
    server.max_txns_in_flight = 1000;
    sent_clear();
}

int main(void)
{
    fixture_server_init(&storage, auths, 2);
    server.tick_time = 10;
    server.my_id = 3;
    config_parse(&server.cfg, "leader-requests-test", "znode.container.checkIntervalMs=100000\n");
    const int64_t voters[] = {1, 2, 3};
    prep_start(1);
    ok(quorum_leader_start(&link_ops, 3, voters, 3) == 0 && quorum_leader_add_learner(1, 0) == 0 &&
           quorum_leader_add_learner(2, 0) == 0 && quorum_leader_add_learner(4, 1) == 0,
       "lead (sid 3): followers 1 and 2, observer 4");
    ok(duties_start() == 0, "in charge: sessions expire here");
    ok(leader_requests_start(link_send) == 0, "leader_requests_start");

    test_requests();
    test_sync();
    test_revalidate();
    test_touches();
    test_stop();

    duties_stop();
    ok(quorum_stop() == 0, "(stop leading)");
    db_drop_clients();
    config_free(&server.cfg);
    return done_testing();
}
