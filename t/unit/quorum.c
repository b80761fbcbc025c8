/*
 * quorum.c — the fake-quorum harness: ZooKeeper's broadcast phase
 * (core/quorum/broadcast.c) driven without sockets.  The core runs as in
 * t/unit/pipeline.c (a fake transport recording what clients are sent, a
 * storage whose appends complete when the test releases them); the quorum
 * link is a fake too (fake_link.h): every packet the core sends is encoded to bytes,
 * kept, and decoded again for the checks, and the packets the test feeds
 * in go through the decoder first, ZooKeeper's own bytes where the trace
 * has them (zk-trace-packets.h).
 *
 * Follower (leader sid 3): a client connecting here is forwarded as
 * ZooKeeper's REQUEST, byte for byte; a PROPOSAL is ACKed only once the
 * held storage completes (ZooKeeper's ACK bytes); a COMMIT before local
 * durability waits for it; the client is answered only when the COMMIT
 * of its txn arrives (matched by session id and cxid), and a read behind
 * its write waits too; a COMMIT for the wrong zxid, or with nothing
 * pending, is refused; a PROPOSAL out of order is refused; proposals made
 * durable one at a time are ACKed and applied one at a time; a committed
 * closeSession that the connected client did not ask for (the leader
 * expired it) closes the connection with SessionExpired, also while the
 * session's own write is in flight.  Observer: INFORM applied once
 * durable, no ACK, PROPOSAL ignored.
 *
 * Leader (sid 1; followers 2, 3; observer 4): a write is answered only
 * with a quorum of own fsync plus one follower's ACK; PROPOSAL goes to the
 * followers only, COMMIT to the followers and INFORM (the full txn) to the
 * observer; ACKs from the observer, an unknown sid, or repeated ones do not
 * count; ACKs out of order still commit in zxid order; a quorum of
 * followers commits the txn for the ensemble but the client waits for the
 * leader's own fsync, and so does another client's sync; globalOutstandingLimit
 * bounds the proposals in flight.
 */
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "tap.h"
#include "server.h"
#include "core_fixture.h"
#include "session_table.h"
#include "corral/zk_txn.h"
#include "corral/zk_proto.h"
#include "quorum/broadcast.h"
#include "zk-trace-packets.h"
#include "fake_link.h"

/* ---- a fake transport: what the core sends to clients ---- */
#define MAX_LOG 256
struct record {
    char kind;                  /* 'c' connected, 'r' reply, 'x' close */
    void *conn;
    int32_t xid, err;
    int64_t session_id;
    char path[64];
    char data[64];
    struct corral_stat stat;
};
static struct record log_[MAX_LOG];
static int n_log;

static struct record *add(char kind, void *conn)
{
    struct record *r = &log_[n_log < MAX_LOG - 1 ? n_log++ : n_log];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->conn = conn;
    return r;
}

static void on_connected(void *conn, const struct corral_connect_result *res)
{
    struct record *r = add('c', conn);
    r->err = res->err;
    r->session_id = res->session_id;
}

static void on_reply(void *conn, const struct corral_response *rsp)
{
    struct record *r = add('r', conn);
    r->xid = rsp->xid;
    r->err = rsp->err;
    r->stat = rsp->stat;
    if (rsp->path)
        snprintf(r->path, sizeof r->path, "%s", rsp->path);
    if (rsp->data && rsp->data_len > 0)
        snprintf(r->data, sizeof r->data, "%.*s", (int)rsp->data_len, (const char *)rsp->data);
}

static void on_event(void *conn, const struct corral_watch_event *ev) { (void)conn, (void)ev; }

static void on_close(void *conn, int32_t reason)
{
    struct record *r = add('x', conn);
    r->err = reason;
}

static const struct corral_conn_ops conn_ops = {.size = sizeof conn_ops, .connected = on_connected,
                                                .reply = on_reply, .event = on_event,
                                                .close = on_close};

static const struct record *find(char kind, int32_t xid)
{
    for (int i = 0; i < n_log; i++)
        if (log_[i].kind == kind && (kind != 'r' || log_[i].xid == xid))
            return &log_[i];
    return NULL;
}

/* ---- a storage whose completions wait until released ---- */
struct waiting {
    void (*done)(void *, int);
    void *arg;
};
static struct waiting held[256];
static int n_held, hold, n_appended;

static int st_recover(void) { return 0; }
static void st_append(const struct corral_txn *t, void (*done)(void *, int), void *arg)
{
    (void)t;
    n_appended++;
    if (!hold) {
        done(arg, 0);
        return;
    }
    held[n_held].done = done;
    held[n_held].arg = arg;
    n_held++;
}
/* Complete the first n held appends, in order (n < 0: all). */
static void release(int n)
{
    if (n < 0 || n > n_held)
        n = n_held;
    struct waiting now[256];
    memcpy(now, held, (size_t)n * sizeof *now);
    memmove(held, held + n, (size_t)(n_held - n) * sizeof *held);
    n_held -= n;
    for (int i = 0; i < n; i++)
        now[i].done(now[i].arg, 0);
}
static const struct corral_storage_ops storage = {.size = sizeof storage, .recover = st_recover,
                                                  .append = st_append};

/* ---- auth: world (every connection) and ip, as the modules have them ---- */
static const struct corral_auth_ops *auths[] = {&fixture_world, &fixture_ip};

/* ---- feeding packets in: bytes through the decoder, as a socket would ---- */
static int feed_learner(const uint8_t *p, size_t n)
{
    struct zk_quorum_packet qp;
    size_t used;
    if (zk_quorum_packet_decode(p, n, MAX_DATA, &qp, &used) != 1 || used != n)
        return -99;
    int rc = quorum_learner_receive(&qp);
    zk_quorum_packet_free(&qp);
    return rc;
}

static int feed_packet(int32_t type, int64_t zxid, const struct corral_txn *t)
{
    struct jute_buf data, pk;
    jute_buf_init(&data);
    jute_buf_init(&pk);
    struct zk_quorum_packet qp;
    zk_quorum_packet_init(&qp, type, zxid);
    if (t) {
        if (zk_txn_encode(&data, t) < 0)
            abort();
        qp.data = data.data;
        qp.data_len = (int32_t)data.len;
    }
    if (zk_quorum_packet_encode(&pk, &qp) < 0)
        abort();
    int rc = feed_learner(pk.data, pk.len);
    jute_buf_free(&data);
    jute_buf_free(&pk);
    return rc;
}

static int commit(int64_t zxid) { return feed_packet(ZK_QP_COMMIT, zxid, NULL); }

static int ack(int64_t from, int64_t zxid)
{
    struct zk_quorum_packet qp;
    zk_quorum_packet_init(&qp, ZK_QP_ACK, zxid);
    return quorum_leader_receive(from, &qp);
}

/* ---- requests and sessions ---- */
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

static struct corral_request *create(int32_t xid, const char *path, const char *data)
{
    struct corral_request *r = req(CORRAL_OP_CREATE, xid, path);
    if (data) {
        r->data_len = (int32_t)strlen(data);
        r->data = (uint8_t *)strdup(data);
    }
    r->acl = calloc(1, sizeof *r->acl);
    r->acl->perms = CORRAL_PERM_ALL;
    r->acl->scheme = strdup("world");
    r->acl->id = strdup("anyone");
    r->n_acl = 1;
    return r;
}

static struct session *connect_session(int32_t timeout_ms, void *conn)
{
    struct corral_connect_params p;
    memset(&p, 0, sizeof p);
    p.timeout_ms = timeout_ms;
    p.remote_addr = "127.0.0.1";
    return pipeline_connect(&p, &conn_ops, conn);
}

/* ---- follower ---- */
static int conn_a, conn_b, conn_c;

static void test_follower(void)
{
    ok(quorum_learner_start(&link_ops, 3, 0) == 0, "follow the leader, sid 3");
    ok(server.replicator == &replicate_learner, "the write stage's replicator is the learner's");
    hold = 1;

    /* a client connects here: its createSession goes to the leader */
    server.next_session_id = TRACE_SESSION;
    struct session *a = connect_session(6000, &conn_a);
    ok(a && a->id == TRACE_SESSION, "a client connects; the session id is this server's");
    ok(n_sent == 1 && sent_is(find_sent(ZK_QP_REQUEST, 3, -1), trace_req_cs, sizeof trace_req_cs),
       "its createSession is forwarded as ZooKeeper's REQUEST, byte for byte");
    ok(n_log == 0 && n_appended == 0, "nothing is prepped, logged or answered here");

    /* the leader's PROPOSAL, then its COMMIT, before our own log is durable */
    is_int(feed_learner(trace_prop_cs, sizeof trace_prop_cs), 0, "ZooKeeper's PROPOSAL is taken");
    ok(n_held == 1 && count_sent(ZK_QP_ACK, 0) == 0, "it is logged; no ACK before it is durable");
    is_int(feed_learner(trace_commit_1, sizeof trace_commit_1), 0,
           "ZooKeeper's COMMIT for it arrives before our fsync");
    ok(n_log == 0 && !session_table_find(TRACE_SESSION), "committed but not durable here: not applied, not answered");
    release(-1);
    ok(sent_is(find_sent(ZK_QP_ACK, 3, 0x100000001LL), trace_ack_1, sizeof trace_ack_1),
       "once durable, the ACK goes out: ZooKeeper's bytes");
    ok(n_log == 1 && log_[0].kind == 'c' && log_[0].session_id == TRACE_SESSION && session_table_find(TRACE_SESSION),
       "and the txn is applied: the client is connected");
    ok(server.last_zxid == 0x100000001LL, "applied at the leader's zxid");
    n_log = 0;
    sent_clear();

    /* its write goes to the leader, and waits for the leader's COMMIT */
    pipeline_submit(a, create(1, "/cap", "hello"));
    pipeline_submit(a, req(CORRAL_OP_GET_DATA, 2, "/cap"));
    ok(n_sent == 1 && sent_is(find_sent(ZK_QP_REQUEST, 3, -1), trace_req_create, sizeof trace_req_create),
       "a create is forwarded as ZooKeeper's REQUEST, authinfo ip:127.0.0.1 (world:anyone not listed)");
    ok(a->head && a->head->in_flight, "the forwarded write is in flight");
    is_int(feed_learner(trace_prop_create, sizeof trace_prop_create), 0, "its PROPOSAL arrives");
    release(-1);
    ok(count_sent(ZK_QP_ACK, 3) == 1 && find_sent(ZK_QP_ACK, 3, 0x100000002LL),
       "it is ACKed once durable");
    ok(n_log == 0 && !tree_lookup(&server.tree, "/cap"), "not committed yet: not applied, not answered");
    is_int(commit(0x100000003LL), -1, "a COMMIT for the wrong zxid is refused");
    ok(n_log == 0 && !tree_lookup(&server.tree, "/cap"), "and changes nothing");
    is_int(feed_learner(trace_prop_cs, sizeof trace_prop_cs), -1,
           "a PROPOSAL for a zxid already seen is refused");
    is_int(commit(0x100000002LL), 0, "the right COMMIT is taken");
    const struct record *r1 = find('r', 1), *r2 = find('r', 2);
    ok(r1 && r1->err == CORRAL_OK && !strcmp(r1->path, "/cap"),
       "the client's create is answered when its COMMIT is applied (session id + cxid)");
    ok(r2 && !strcmp(r2->data, "hello") && r2->stat.czxid == 0x100000002LL &&
           r2->stat.ctime == TRACE_TIME_CREATE,
       "the read behind it then, seeing the leader's zxid and time");
    ok(r1 < r2, "in order");
    is_int(commit(0x100000003LL), -1, "a COMMIT with nothing pending is refused");
    n_log = 0;
    sent_clear();

    /* another client; the leader expires it: its connection is closed */
    struct session *b = connect_session(10000, &conn_b);
    int64_t bid = b->id;
    const struct sent *rq = find_sent(ZK_QP_REQUEST, 3, -1);
    struct zk_quorum_request fr;
    ok(rq && zk_quorum_request_decode(rq->qp.data, (size_t)rq->qp.data_len, &fr) == 0 &&
           fr.session_id == bid && fr.type == CORRAL_OP_CREATE_SESSION && fr.timeout == 10000,
       "a second client's createSession goes with its own session and timeout");
    zk_request_free(fr.req);
    struct corral_txn t = {.session_id = bid, .zxid = 0x100000003LL, .time = 5,
                           .type = CORRAL_OP_CREATE_SESSION, .timeout = 10000};
    hold = 0;
    ok(feed_packet(ZK_QP_PROPOSAL, t.zxid, &t) == 0 && commit(t.zxid) == 0 && find('c', 0),
       "(it is connected once the leader commits it)");
    n_log = 0;
    struct corral_txn close = {.session_id = bid, .cxid = 0, .zxid = 0x100000004LL, .time = 6,
                               .type = CORRAL_OP_CLOSE_SESSION, .n_close_paths = 0};
    ok(feed_packet(ZK_QP_PROPOSAL, close.zxid, &close) == 0 && commit(close.zxid) == 0,
       "the leader's closeSession for it (it expired there) is committed");
    ok(n_log == 1 && log_[0].kind == 'x' && log_[0].conn == &conn_b &&
           log_[0].err == CORRAL_ESESSIONEXPIRED,
       "the client that did not ask has its connection closed with SessionExpired");
    ok(!session_find(bid), "and the session is gone here");
    n_log = 0;
    sent_clear();

    /* the same while the session's own write is in flight at the leader */
    struct session *c = connect_session(10000, &conn_c);
    int64_t cid = c->id;
    t.session_id = cid;
    t.zxid = 0x100000005LL;
    ok(feed_packet(ZK_QP_PROPOSAL, t.zxid, &t) == 0 && commit(t.zxid) == 0, "(a third client)");
    pipeline_submit(c, req(CORRAL_OP_SET_DATA, 7, "/cap"));
    ok(count_sent(ZK_QP_REQUEST, 3) == 2 && c->head && c->head->in_flight, "(its setData is forwarded)");
    n_log = 0;
    close.session_id = cid;
    close.zxid = 0x100000006LL;
    ok(feed_packet(ZK_QP_PROPOSAL, close.zxid, &close) == 0 && commit(close.zxid) == 0,
       "a closeSession of the leader's commits while the session's setData is in flight");
    ok(n_log == 1 && log_[0].kind == 'x' && log_[0].err == CORRAL_ESESSIONEXPIRED && !session_find(cid),
       "its connection is closed with SessionExpired, not mistaken for the answer to the setData");
    struct corral_txn late = {.session_id = cid, .cxid = 7, .zxid = 0x100000007LL, .time = 7,
                              .type = CORRAL_OP_ERROR, .err = CORRAL_ESESSIONEXPIRED};
    n_log = 0;
    ok(feed_packet(ZK_QP_PROPOSAL, late.zxid, &late) == 0 && commit(late.zxid) == 0 && n_log == 0,
       "the leader's error txn for the setData then finds no one to answer");
    /* two proposals, made durable one at a time: ACKed one at a time, in order */
    hold = 1;
    sent_clear();
    struct corral_txn e1 = {.zxid = 0x100000008LL, .time = 8, .type = CORRAL_OP_ERROR, .err = -101};
    struct corral_txn e2 = {.zxid = 0x100000009LL, .time = 9, .type = CORRAL_OP_ERROR, .err = -101};
    ok(feed_packet(ZK_QP_PROPOSAL, e1.zxid, &e1) == 0 && feed_packet(ZK_QP_PROPOSAL, e2.zxid, &e2) == 0 &&
           n_held == 2 && !count_sent(ZK_QP_ACK, 0),
       "two PROPOSALs logged, neither ACKed");
    release(1);
    ok(count_sent(ZK_QP_ACK, 3) == 1 && find_sent(ZK_QP_ACK, 3, e1.zxid), "the first durable: its ACK alone");
    ok(commit(e1.zxid) == 0 && commit(e2.zxid) == 0 && server.last_zxid == e1.zxid,
       "both committed: the first applied, the second waits for its fsync");
    release(-1);
    ok(count_sent(ZK_QP_ACK, 3) == 2 && sent[n_sent - 1].qp.zxid == e2.zxid && server.last_zxid == e2.zxid,
       "then the second's ACK, and it is applied");
    hold = 0;

    /*
     * ZOOKEEPER-2684: a session moved to another member and wrote through
     * it, while its old connection here still has a write in flight: the
     * other member's commit (another cxid) is applied, not taken for this
     * write's answer, and the write is answered by its own txn (the
     * leader's SessionMoved).  This used to stop the server.
     */
    struct session *d = connect_session(10000, &conn_c);
    int64_t did = d->id;
    t.session_id = did;
    t.zxid = 0x10000000aLL;
    ok(feed_packet(ZK_QP_PROPOSAL, t.zxid, &t) == 0 && commit(t.zxid) == 0, "(a fourth client)");
    pipeline_submit(d, req(CORRAL_OP_SET_DATA, 7, "/cap"));
    n_log = 0;
    struct corral_txn moved = {.session_id = did, .cxid = 9, .zxid = 0x10000000bLL, .time = 11,
                               .type = CORRAL_OP_SET_DATA, .path = "/cap",
                               .data = (uint8_t *)"hello", .data_len = 5, .version = 3};
    ok(feed_packet(ZK_QP_PROPOSAL, moved.zxid, &moved) == 0 && commit(moved.zxid) == 0 &&
           server.last_zxid == moved.zxid && n_log == 0 && session_find(did),
       "a commit of the session with another cxid while its write is in flight here: applied, "
       "not answered, the server goes on");
    struct corral_txn answer = {.session_id = did, .cxid = 7, .zxid = 0x10000000cLL, .time = 12,
                                .type = CORRAL_OP_ERROR, .err = CORRAL_ESESSIONMOVED};
    ok(feed_packet(ZK_QP_PROPOSAL, answer.zxid, &answer) == 0 && commit(answer.zxid) == 0 &&
           find('r', 7) && find('r', 7)->err == CORRAL_ESESSIONMOVED,
       "the write in flight is answered by its own txn (SessionMoved)");
    is_int(quorum_learner_pending(), 0, "nothing is left pending");
    ok(quorum_stop() == 0 && !server.replicator, "back to standalone");
    sent_clear();
}

static void test_observer(void)
{
    ok(quorum_learner_start(&link_ops, 3, 1) == 0, "observe the leader, sid 3");
    hold = 1;
    struct corral_txn t = {.session_id = TRACE_SESSION, .cxid = 3, .zxid = 0x10000000dLL, .time = 10,
                           .type = CORRAL_OP_SET_DATA, .path = "/cap", .data = (uint8_t *)"world",
                           .data_len = 5, .version = 4};
    int before = n_appended;
    is_int(feed_packet(ZK_QP_PROPOSAL, t.zxid, &t), 0, "an observer ignores a PROPOSAL");
    ok(n_appended == before, "and logs nothing for it");
    is_int(feed_packet(ZK_QP_INFORM, t.zxid, &t), 0, "an INFORM is taken");
    struct znode *cap = tree_lookup(&server.tree, "/cap");
    int32_t len = 0;
    const uint8_t *d = tree_data(&server.tree, cap, &len);
    ok(n_held == 1 && len == 5 && !memcmp(d, "hello", 5), "logged, not applied before it is durable");
    release(-1);
    d = tree_data(&server.tree, cap, &len);
    ok(len == 5 && !memcmp(d, "world", 5) && server.last_zxid == t.zxid, "applied once durable");
    ok(count_sent(ZK_QP_ACK, 0) == 0, "an observer sends no ACK");
    ok(quorum_stop() == 0, "(stop observing)");
    hold = 0;
    sent_clear();
}

/* ---- leader ---- */

static int64_t proposed(int i)
{
    int k = 0;
    for (int j = 0; j < n_sent; j++)
        if (sent[j].qp.type == ZK_QP_PROPOSAL && sent[j].to == 2 && k++ == i)
            return sent[j].qp.zxid;
    return -1;
}

static void test_leader(void)
{
    const int64_t voters[] = {1, 2, 3};
    prep_start(ZXID_EPOCH(server.last_zxid) + 1);
    ok(quorum_leader_start(&link_ops, 1, voters, 3) == 0, "lead: voters 1, 2, 3");
    ok(quorum_leader_add_learner(2, 0) == 0 && quorum_leader_add_learner(3, 0) == 0 &&
           quorum_leader_add_learner(4, 1) == 0,
       "followers 2 and 3, observer 4 synced");
    ok(quorum_leader_add_learner(5, 0) == -1 && quorum_leader_add_learner(3, 1) == -1,
       "a follower that is not a voter, or a voter as observer, is refused");
    hold = 1;
    n_log = 0;

    /* a new session: proposed, and answered with own fsync + one ACK */
    struct session *s = connect_session(10000, &conn_a);
    int64_t z = proposed(0);
    ok(z == ZXID_MAKE(ZXID_EPOCH(server.last_zxid) + 1, 1) && find_sent(ZK_QP_PROPOSAL, 3, z) &&
           !find_sent(ZK_QP_PROPOSAL, 4, -2),
       "the createSession is proposed to both followers (the new epoch's first zxid), not the observer");
    const struct sent *pr = find_sent(ZK_QP_PROPOSAL, 2, z);
    struct corral_txn t;
    ok(pr && zk_quorum_txn_decode(&pr->qp, &t) == 0 && t.type == CORRAL_OP_CREATE_SESSION &&
           t.session_id == s->id && t.timeout == 10000,
       "its data is the txn");
    zk_txn_free(&t);
    ok(n_held == 1, "and it is logged here");
    ack(2, z);
    ok(n_log == 0 && !count_sent(ZK_QP_COMMIT, 0), "one follower's ACK alone is no quorum");
    release(-1);
    ok(n_log == 1 && log_[0].kind == 'c', "with the leader's own fsync it is: the client is connected");
    const struct sent *c2 = find_sent(ZK_QP_COMMIT, 2, z), *c3 = find_sent(ZK_QP_COMMIT, 3, z);
    ok(c2 && c3 && c2->len == 20 && c2->qp.data_len == -1, "COMMIT (20 bytes) to both followers");
    const struct sent *in = find_sent(ZK_QP_INFORM, 4, z);
    ok(in && zk_quorum_txn_decode(&in->qp, &t) == 0 && t.type == CORRAL_OP_CREATE_SESSION &&
           t.session_id == s->id && t.zxid == z,
       "INFORM with the whole txn to the observer");
    zk_txn_free(&t);
    ok(!find_sent(ZK_QP_COMMIT, 4, -2) && !find_sent(ZK_QP_INFORM, 2, -2),
       "no COMMIT to the observer, no INFORM to a follower");
    ack(3, z);
    ok(n_log == 1, "a late ACK for a committed proposal changes nothing");
    n_log = 0;
    sent_clear();

    /* own fsync alone is no quorum; the observer's or a stranger's ACK counts for nothing */
    pipeline_submit(s, create(10, "/l1", "one"));
    z = proposed(0);
    release(-1);
    ok(n_log == 0, "durable here alone: not answered");
    ack(4, z);
    ack(9, z);
    ack(1, z);
    ok(n_log == 0 && !count_sent(ZK_QP_COMMIT, 0),
       "ACKs from the observer, an unknown sid, or the leader's own sid again: no quorum");
    ack(3, z);
    ok(find('r', 10) && find('r', 10)->err == CORRAL_OK, "a follower's ACK makes it: answered");
    in = find_sent(ZK_QP_INFORM, 4, z);
    ok(in && zk_quorum_txn_decode(&in->qp, &t) == 0 && t.type == CORRAL_OP_CREATE &&
           !strcmp(t.path, "/l1") && t.data_len == 3 && !memcmp(t.data, "one", 3) && t.zxid == z,
       "the INFORM decodes to the create");
    zk_txn_free(&t);
    n_log = 0;
    sent_clear();

    /* a repeated ACK counts once */
    pipeline_submit(s, create(11, "/l2", NULL));
    z = proposed(0);
    ack(2, z);
    ack(2, z);
    ok(n_log == 0 && !count_sent(ZK_QP_COMMIT, 0), "the same follower's ACK twice is one ACK");
    release(-1);
    ok(find('r', 11) != NULL, "(with the leader's own it commits)");
    n_log = 0;
    sent_clear();

    /* ACKs out of order: commits in zxid order */
    pipeline_submit(s, create(12, "/l3", NULL));
    pipeline_submit(s, create(13, "/l4", NULL));
    int64_t z3 = proposed(0), z4 = proposed(1);
    ok(z4 == z3 + 1 && quorum_leader_outstanding() == 2, "two proposals outstanding");
    release(-1);
    ack(2, z4);
    ok(n_log == 0 && !count_sent(ZK_QP_COMMIT, 0),
       "the later one has its quorum first: it waits for the earlier one");
    ack(3, z3);
    const struct sent *k3 = find_sent(ZK_QP_COMMIT, 2, z3), *k4 = find_sent(ZK_QP_COMMIT, 2, z4);
    ok(k3 && k4 && k3 < k4, "then both commit, COMMITs in zxid order");
    ok(n_log == 2 && log_[0].xid == 12 && log_[1].xid == 13, "and the replies in order");
    n_log = 0;
    sent_clear();

    /* the followers commit it for the ensemble; the client waits for our fsync */
    pipeline_submit(s, create(14, "/l5", NULL));
    z = proposed(0);
    ack(2, z);
    ack(3, z);
    ok(find_sent(ZK_QP_COMMIT, 2, z) && find_sent(ZK_QP_INFORM, 4, z),
       "two followers' ACKs are a quorum: COMMIT and INFORM go out");
    ok(n_log == 0 && !tree_lookup(&server.tree, "/l5"),
       "but it is not applied or answered before it is durable here");
    release(-1);
    ok(find('r', 14) && tree_lookup(&server.tree, "/l5"), "once durable it is");
    n_log = 0;
    sent_clear();

    /*
     * The same, with a second client's sync meanwhile: the followers may
     * have answered their client's write already, so the sync here waits
     * until this leader has applied it (a read past an acknowledged write
     * otherwise).
     */
    struct session *b = connect_session(10000, &conn_b);
    int64_t zb = proposed(0);
    release(-1);
    ack(2, zb);
    ok(b && find('c', -1) != NULL, "(a second client connects)");
    n_log = 0;
    sent_clear();
    pipeline_submit(s, create(15, "/l5b", NULL));
    z = proposed(0);
    ack(2, z);
    ack(3, z);
    pipeline_submit(b, req(CORRAL_OP_SYNC, 40, "/"));
    run_for(5);
    ok(find_sent(ZK_QP_COMMIT, 2, z) && !find('r', 40),
       "a sync here while a txn the followers committed is not durable here: not answered");
    release(-1);
    run_for(5);
    ok(find('r', 15) && find('r', 40) && tree_lookup(&server.tree, "/l5b"),
       "answered once the txn is applied here");
    pipeline_submit(b, req(CORRAL_OP_SYNC, 41, "/"));
    ok(find('r', 41) != NULL, "with nothing outstanding a sync is answered at once");
    n_log = 0;
    sent_clear();

    /* the window bounds the proposals in flight */
    server.max_txns_in_flight = 2;
    for (int i = 0; i < 3; i++) {
        char path[16];
        snprintf(path, sizeof path, "/w%d", i);
        pipeline_submit(s, create(20 + i, path, NULL));
    }
    ok(count_sent(ZK_QP_PROPOSAL, 2) == 2 && quorum_leader_outstanding() == 2,
       "globalOutstandingLimit 2: two of three writes proposed");
    z = proposed(0);
    release(1);
    ack(2, z);
    ok(find('r', 20) && count_sent(ZK_QP_PROPOSAL, 2) == 3, "the first committed, the third is proposed");
    release(-1);
    ack(3, proposed(1));
    ack(3, proposed(2));
    ok(find('r', 21) && find('r', 22) && quorum_leader_outstanding() == 0, "(the rest commit)");
    server.max_txns_in_flight = 1000;
    n_log = 0;
    sent_clear();

    /* a learner that leaves gets nothing more */
    quorum_leader_remove_learner(3);
    pipeline_submit(s, create(30, "/l6", NULL));
    z = proposed(0);
    ok(find_sent(ZK_QP_PROPOSAL, 2, z) && !find_sent(ZK_QP_PROPOSAL, 3, -2),
       "after follower 3 left, proposals go to 2 only");
    release(-1);
    ack(2, z);
    ok(find('r', 30) != NULL, "and 1 + 2 are still a quorum of 3");
    struct zk_quorum_packet ping;
    zk_quorum_packet_init(&ping, ZK_QP_PING, 0);
    is_int(quorum_leader_receive(2, &ping), -1, "a packet of another phase is not taken");
    ok(quorum_stop() == 0, "(stop leading)");
    hold = 0;
    sent_clear();
}

/*
 * The leader's role ends with proposals outstanding (quorum/leader.c's stop):
 * none is applied or answered; one durable here leaves the write stage at
 * once, one still on its way to disk when its append completes.  And the
 * zxid counter's last value is never proposed (ZOOKEEPER-1277): the role is
 * told to end, and nothing after it is proposed either.
 */
static int n_lost;
static void on_lost(const char *why) { (void)why; n_lost++; }
static const struct quorum_link_ops link_ops_lost = {.send = link_send, .lost = on_lost};

static void test_leader_abandon(void)
{
    const int64_t voters[] = {1, 2, 3};
    int64_t epoch = ZXID_EPOCH(server.last_zxid) + 1;
    prep_start(epoch);
    ok(quorum_leader_start(&link_ops_lost, 1, voters, 3) == 0 &&
           quorum_leader_add_learner(2, 0) == 0, "lead again, follower 2 synced");
    hold = 1;
    n_log = 0;
    struct session *s = connect_session(10000, &conn_b);
    ack(2, proposed(0));
    release(-1);
    int64_t lo = 0, hi = 0;
    ok(n_log == 1 && quorum_leader_committed_window(&lo, &hi) == 1 && lo == hi &&
           hi == server.last_zxid,
       "the applied createSession is the committed-txn window's one txn, ending at the last zxid");
    n_log = 0;
    sent_clear();
    pipeline_submit(s, create(40, "/ab1", NULL));
    pipeline_submit(s, create(41, "/ab2", NULL));
    release(1);
    is_int(server.txns_in_flight, 2, "two proposals outstanding, the first durable here");
    ok(quorum_stop() == 0, "the role ends with them outstanding");
    is_int(server.txns_in_flight, 1, "the durable one left the write stage at once");
    release(-1);
    is_int(server.txns_in_flight, 0, "the other once its append completed");
    ok(n_log == 0 && !tree_lookup(&server.tree, "/ab1") && !tree_lookup(&server.tree, "/ab2"),
       "neither is applied or answered");

    /* the counter's last value */
    prep_start(epoch + 1);
    ok(quorum_leader_start(&link_ops_lost, 1, voters, 3) == 0 &&
           quorum_leader_add_learner(2, 0) == 0, "(lead in epoch %lld)", (long long)(epoch + 1));
    server.next_zxid = ZXID_MAKE(epoch + 1, 0xfffffffe);
    sent_clear();
    struct session *s2 = connect_session(10000, &conn_c);
    ok(n_lost == 1 && !count_sent(ZK_QP_PROPOSAL, 0) && server.txns_in_flight == 0,
       "a txn whose zxid counter is 0xffffffff is not proposed; the role is told to end");
    pipeline_submit(s2, create(50, "/ab3", NULL));
    ok(n_lost == 1 && !count_sent(ZK_QP_PROPOSAL, 0) && server.txns_in_flight == 0,
       "nor is anything after it");
    ok(quorum_stop() == 0, "(stop leading)");
    hold = 0;
    sent_clear();
}

int main(void)
{
    fixture_server_init(&storage, auths, 2);
    /* a learner is not in charge: no session tracker runs here (duties.c) */

    test_follower();
    test_observer();
    test_leader();
    test_leader_abandon();
    return done_testing();
}
