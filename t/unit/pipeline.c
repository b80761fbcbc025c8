/*
 * pipeline.c — unit tests of the core's request pipeline (core/pipeline.c,
 * reads.c, write_stage.c, connect.c, prep.c, apply.c, watch.c) through a
 * fake transport and a storage whose completions the test releases by hand.
 * Checks: session creation only after the createSession txn is durable,
 * replies strictly in submission order, a session reads its own writes,
 * watch events before the reply of the write that fired them, sequential
 * names from the parent's cversion, multi all-or-nothing with ZooKeeper's
 * per-member codes, ephemerals removed on close, many txns in flight with
 * completion in order, and reads held while the connection is backlogged (in
 * order, events not held, what becomes of held reads when the session moves,
 * detaches or expires).
 */
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "tap.h"
#include "server.h"
#include "core_fixture.h"
#include "db.h"
#include "hooks.h"
#include "session_tracker.h"

/* ---- a fake transport: records what the core sends ---- */
#define MAX_LOG 256
struct record {
    char kind;                  /* 'c' connected, 'r' reply, 'e' event, 'x' close */
    void *conn;
    int32_t xid, err, type;
    int64_t session_id;
    char path[128];
    struct corral_stat stat;
    int32_t n_results;
    int32_t result_err[8];
    int32_t n_children;
    char data[64];
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

/* The fake connection is backlogged once it has taken `room` more replies (-1: never). */
static int room = -1;

static void on_connected(void *conn, const struct corral_connect_result *res)
{
    struct record *r = add('c', conn);
    r->err = res->err;
    r->session_id = res->session_id;
}

static void on_reply(void *conn, const struct corral_response *rsp)
{
    struct record *r = add('r', conn);
    if (room > 0)
        room--;
    r->xid = rsp->xid;
    r->err = rsp->err;
    r->stat = rsp->stat;
    if (rsp->path)
        snprintf(r->path, sizeof r->path, "%s", rsp->path);
    if (rsp->data && rsp->data_len > 0)
        snprintf(r->data, sizeof r->data, "%.*s", (int)rsp->data_len, (const char *)rsp->data);
    r->n_children = rsp->n_children;
    r->n_results = rsp->n_results;
    for (int i = 0; i < rsp->n_results && i < 8; i++)
        r->result_err[i] = rsp->results[i].err;
}

static void on_event(void *conn, const struct corral_watch_event *ev)
{
    struct record *r = add('e', conn);
    r->type = ev->type;
    snprintf(r->path, sizeof r->path, "%s", ev->path);
}

static void on_close(void *conn, int32_t reason)
{
    struct record *r = add('x', conn);
    r->err = reason;
}

static int on_backlogged(void *conn) { return room == 0; }

static const struct corral_conn_ops conn_ops = {.size = sizeof conn_ops, .connected = on_connected, .reply = on_reply,
                                                .event = on_event, .close = on_close,
                                                .backlogged = on_backlogged};

/*
 * The same table as an older transport would build it, before backlogged and
 * max_reply were appended: its size ends at close, so the core must not read
 * what lies beyond (here a backlogged that would hold every read).
 */
static const struct corral_conn_ops old_conn_ops = {
    .size = CORRAL_SIZE_UPTO(struct corral_conn_ops, close), .connected = on_connected,
    .reply = on_reply, .event = on_event, .close = on_close, .backlogged = on_backlogged};
/* and one too short to have close at all */
static const struct corral_conn_ops stub_conn_ops = {
    .size = CORRAL_SIZE_UPTO(struct corral_conn_ops, event), .connected = on_connected,
    .reply = on_reply, .event = on_event, .close = on_close};

/* ---- a storage whose completions wait until released ---- */
struct waiting {
    void (*done)(void *, int);
    void *arg;
};
static struct waiting held[4096];
static int n_held, hold;

static int st_recover(void) { return 0; }
static void st_append(const struct corral_txn *t, void (*done)(void *, int), void *arg)
{
    if (!hold) {
        done(arg, 0);
        return;
    }
    held[n_held].done = done;
    held[n_held].arg = arg;
    n_held++;
}
static void release_all(void)
{
    for (int i = 0; i < n_held; i++)
        held[i].done(held[i].arg, 0);
    n_held = 0;
}
static const struct corral_storage_ops storage = {.size = sizeof storage, .recover = st_recover, .append = st_append};

/* A recover() that tries the recovery-only entry points as storage and as another module. */
static int in_phase_storage, in_phase_other;
static int st_recover_probe(void)
{
    const struct corral_core *other = core_api_for(CORRAL_MODULE_PLUGIN);
    in_phase_storage = core_api_for(CORRAL_MODULE_STORAGE)->load_session(0x7701, 5000);
    in_phase_other = other->load_session(0x7702, 5000) + other->set_last_zxid(1);
    return 0;
}
static const struct corral_storage_ops probe_storage = {
    .size = sizeof probe_storage, .recover = st_recover_probe, .append = st_append};

/* ---- the world scheme, as the module has it (core_fixture.h) ---- */
static const struct corral_auth_ops *auths[] = {&fixture_world};

/* ---- request builders ---- */
static struct corral_acl *open_acl(int32_t *n)
{
    struct corral_acl *a = calloc(1, sizeof *a);
    a->perms = CORRAL_PERM_ALL;
    a->scheme = strdup("world");
    a->id = strdup("anyone");
    *n = 1;
    return a;
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

static struct corral_request *create(int32_t xid, const char *path, const char *data, int flags)
{
    struct corral_request *r = req(CORRAL_OP_CREATE, xid, path);
    if (data) {
        r->data_len = (int32_t)strlen(data);
        r->data = (uint8_t *)strdup(data);
    }
    r->flags = flags;
    r->acl = open_acl(&r->n_acl);
    return r;
}

static void fill_member(struct corral_request *m, int32_t op, const char *path, int32_t version)
{
    memset(m, 0, sizeof *m);
    m->op = op;
    m->path = strdup(path);
    m->version = version;
    m->data_len = -1;
    if (op == CORRAL_OP_CREATE)
        m->acl = open_acl(&m->n_acl);
}

static struct session *connect_session(void)
{
    struct corral_connect_params p;
    memset(&p, 0, sizeof p);
    p.timeout_ms = 10000;
    p.remote_addr = "127.0.0.1";
    return pipeline_connect(&p, &conn_ops, NULL);
}

static const struct record *find(char kind, int32_t xid)
{
    for (int i = 0; i < n_log; i++)
        if (log_[i].kind == kind && (kind != 'r' || log_[i].xid == xid))
            return &log_[i];
    return NULL;
}

static int index_of(char kind, int32_t xid)
{
    for (int i = 0; i < n_log; i++)
        if (log_[i].kind == kind && (kind != 'r' || log_[i].xid == xid))
            return i;
    return -1;
}

/* ---- plugin hooks used by the last part ---- */
static int commits_seen;
static int opened_seen, closed_seen;

static int reject_or_audit(void *arg, int64_t sid, const struct corral_request *op,
                           struct corral_request **extra, int32_t *n_extra)
{
    if (!strcmp(op->path, "/cfg/forbidden"))
        return CORRAL_EBADARGUMENTS;
    if (op->op == CORRAL_OP_CREATE && !strncmp(op->path, "/cfg/", 5)) {
        /* a trigger: every create under /cfg also bumps /cfg's data atomically */
        *extra = calloc(1, sizeof **extra);
        (*extra)->op = CORRAL_OP_SET_DATA;
        (*extra)->path = strdup("/cfg");
        (*extra)->data = (uint8_t *)strdup("bumped");
        (*extra)->data_len = 6;
        (*extra)->version = -1;
        *n_extra = 1;
    }
    return CORRAL_OK;
}

static void count_commit(void *arg, const struct corral_txn *t) { commits_seen++; }
static void count_session(void *arg, int64_t sid, int opened)
{
    if (opened)
        opened_seen++;
    else
        closed_seen++;
}
static int drop_quiet(void *arg, int64_t sid, const struct corral_watch_event *ev)
{
    return strcmp(ev->path, "/quiet") != 0;
}

/* The tracker runs (its timer never fires: the loop does not run); the test
 * expires sessions itself with pipeline_expire. */
static void no_expiry(int64_t sid) { (void)sid; }

int main(void)
{
    fixture_server_init(&storage, auths, 1);
    tracker_start(no_expiry);

    /* session creation waits for the createSession txn */
    hold = 1;
    struct session *s = connect_session();
    ok(s != NULL, "connect returns a session");
    is_int(n_log, 0, "nothing is answered before the createSession txn is durable");
    release_all();
    is_int(n_log, 1, "connected once durable");
    is_int(log_[0].kind, 'c', "the answer is a connect result");
    is_int(log_[0].err, CORRAL_OK, "connect succeeded");
    ok(log_[0].session_id == 0x1000, "session id assigned from the server's counter");
    ok(s->timeout_ms == 10000, "timeout within bounds kept");
    n_log = 0;

    /* writes in flight, reads behind them wait, replies in order */
    pipeline_submit(s, create(1, "/a", "one", CORRAL_CREATE_PERSISTENT));
    pipeline_submit(s, create(2, "/a/b", NULL, CORRAL_CREATE_PERSISTENT));
    struct corral_request *g = req(CORRAL_OP_GET_DATA, 3, "/a");
    pipeline_submit(s, g);
    is_int(n_held, 2, "two writes of one session in flight at once");
    is_int(n_log, 0, "the read waits behind the writes");
    ok(server.tree.node_count == 4, "nothing applied before storage says durable");
    release_all();
    is_int(n_log, 3, "three replies after release");
    ok(log_[0].xid == 1 && log_[1].xid == 2 && log_[2].xid == 3, "replies in submission order");
    is_str(log_[0].path, "/a", "create answers the path");
    is_int(log_[1].err, CORRAL_OK, "child create prepped against the parent still in flight");
    is_str(log_[2].data, "one", "the session reads its own write");
    is_int(log_[2].stat.num_children, 1, "stat sees the child");
    n_log = 0;
    hold = 0;

    /* error codes, in ZooKeeper's order of checks */
    pipeline_submit(s, create(10, "/a", NULL, 0));
    pipeline_submit(s, create(11, "/nope/x", NULL, 0));
    pipeline_submit(s, create(12, "/a/", NULL, 0));   /* its parent exists: the path is checked */
    struct corral_request *d = req(CORRAL_OP_DELETE, 13, "/a");
    pipeline_submit(s, d);
    struct corral_request *sd = req(CORRAL_OP_SET_DATA, 14, "/a");
    sd->version = 7;
    pipeline_submit(s, sd);
    pipeline_submit(s, req(CORRAL_OP_GET_DATA, 15, "/zz"));
    pipeline_submit(s, req(CORRAL_OP_DELETE, 16, "/zookeeper"));
    pipeline_submit(s, req(4242, 17, NULL));
    is_int(find('r', 10)->err, CORRAL_ENODEEXISTS, "create of an existing node: NodeExists");
    is_int(find('r', 11)->err, CORRAL_ENONODE, "create under a missing parent: NoNode");
    is_int(find('r', 12)->err, CORRAL_EBADARGUMENTS, "create of a bad path: BadArguments");
    is_int(find('r', 13)->err, CORRAL_ENOTEMPTY, "delete of a node with children: NotEmpty");
    is_int(find('r', 14)->err, CORRAL_EBADVERSION, "setData with a wrong version: BadVersion");
    is_int(find('r', 15)->err, CORRAL_ENONODE, "getData of a missing node: NoNode");
    is_int(find('r', 16)->err, CORRAL_EBADARGUMENTS, "delete of /zookeeper: BadArguments");
    is_int(find('r', 17)->err, CORRAL_EUNIMPLEMENTED, "an unknown opcode: Unimplemented");
    n_log = 0;

    /* sequential names come from the parent's cversion */
    pipeline_submit(s, create(20, "/q", NULL, 0));
    pipeline_submit(s, create(21, "/q/n-", NULL, CORRAL_CREATE_PERSISTENT_SEQUENTIAL));
    pipeline_submit(s, create(22, "/q/x", NULL, 0));
    pipeline_submit(s, req(CORRAL_OP_DELETE, 23, "/q/x"));
    pipeline_submit(s, create(24, "/q/n-", NULL, CORRAL_CREATE_EPHEMERAL_SEQUENTIAL));
    is_str(find('r', 21)->path, "/q/n-0000000000", "first sequential child is 0000000000");
    is_str(find('r', 24)->path, "/q/n-0000000002", "sequence numbers count creates, not deletes (as ZooKeeper)");
    n_log = 0;

    /* watches fire before the reply of the write that fired them */
    struct corral_request *w = req(CORRAL_OP_GET_DATA, 30, "/a");
    w->watch = 1;
    pipeline_submit(s, w);
    struct corral_request *cw = req(CORRAL_OP_GET_CHILDREN, 31, "/a");
    cw->watch = 1;
    pipeline_submit(s, cw);
    struct corral_request *ew = req(CORRAL_OP_EXISTS, 32, "/a/new");
    ew->watch = 1;
    pipeline_submit(s, ew);
    is_int(find('r', 32)->err, CORRAL_ENONODE, "exists on a missing node answers NoNode");
    struct corral_request *set = req(CORRAL_OP_SET_DATA, 33, "/a");
    set->data = (uint8_t *)strdup("two");
    set->data_len = 3;
    pipeline_submit(s, set);
    int ev = index_of('e', 0), rep = index_of('r', 33);
    ok(ev >= 0 && rep > ev, "data watch event comes before the setData reply");
    is_int(log_[ev].type, CORRAL_EVENT_NODE_DATA_CHANGED, "event is NodeDataChanged");
    is_int(find('r', 33)->stat.version, 1, "setData bumps the version");
    n_log = 0;
    struct corral_request *set2 = req(CORRAL_OP_SET_DATA, 34, "/a");
    pipeline_submit(s, set2);
    is_int(index_of('e', 0), -1, "a one-shot watch fires only once");
    n_log = 0;
    pipeline_submit(s, create(35, "/a/new", NULL, 0));
    int created = -1, children = -1;
    for (int i = 0; i < n_log; i++) {
        if (log_[i].kind == 'e' && log_[i].type == CORRAL_EVENT_NODE_CREATED)
            created = i;
        if (log_[i].kind == 'e' && log_[i].type == CORRAL_EVENT_NODE_CHILDREN_CHANGED)
            children = i;
    }
    ok(created >= 0 && !strcmp(log_[created].path, "/a/new"), "exists watch fires NodeCreated");
    ok(children >= 0 && !strcmp(log_[children].path, "/a"), "child watch fires NodeChildrenChanged on the parent");
    ok(created < index_of('r', 35) && children < index_of('r', 35), "both before the reply");
    n_log = 0;

    /* multi: all or nothing, with ZooKeeper's member codes */
    struct corral_request *m = req(CORRAL_OP_MULTI, 40, NULL);
    m->n_ops = 3;
    m->ops = calloc(3, sizeof *m->ops);
    fill_member(&m->ops[0], CORRAL_OP_CREATE, "/m1", -1);
    fill_member(&m->ops[1], CORRAL_OP_DELETE, "/does-not-exist", -1);
    fill_member(&m->ops[2], CORRAL_OP_CREATE, "/m2", -1);
    pipeline_submit(s, m);
    const struct record *mr = find('r', 40);
    is_int(mr->n_results, 3, "failed multi answers every member");
    ok(mr->result_err[0] == CORRAL_OK && mr->result_err[1] == CORRAL_ENONODE &&
           mr->result_err[2] == CORRAL_ERUNTIMEINCONSISTENCY,
       "members: Ok before, NoNode at, RuntimeInconsistency after the failure");
    ok(!tree_lookup(&server.tree, "/m1"), "nothing of a failed multi is applied");
    struct corral_request *m2 = req(CORRAL_OP_MULTI, 41, NULL);
    m2->n_ops = 2;
    m2->ops = calloc(2, sizeof *m2->ops);
    fill_member(&m2->ops[0], CORRAL_OP_CREATE, "/m1", -1);
    fill_member(&m2->ops[1], CORRAL_OP_CREATE, "/m1/child", -1);
    pipeline_submit(s, m2);
    ok(find('r', 41)->err == CORRAL_OK && tree_lookup(&server.tree, "/m1/child"),
       "a multi member sees the members before it");
    n_log = 0;

    /* ephemerals go with their session */
    struct session *s2 = connect_session();
    pipeline_submit(s2, create(50, "/eph", NULL, CORRAL_CREATE_EPHEMERAL));
    pipeline_submit(s2, create(51, "/eph/child", NULL, 0));
    is_int(find('r', 51)->err, CORRAL_ENOCHILDRENFOREPHEMERALS, "no children under an ephemeral");
    ok(tree_lookup(&server.tree, "/eph") != NULL, "ephemeral exists while its session lives");
    struct corral_request *ex = req(CORRAL_OP_EXISTS, 52, "/eph");
    ex->watch = 1;
    pipeline_submit(s, ex);
    n_log = 0;
    pipeline_submit(s2, req(CORRAL_OP_CLOSE_SESSION, 53, NULL));
    ok(!tree_lookup(&server.tree, "/eph"), "closing the session removes its ephemeral");
    ok(index_of('e', 0) >= 0 && log_[index_of('e', 0)].type == CORRAL_EVENT_NODE_DELETED,
       "the other session's watch sees NodeDeleted");
    ok(index_of('x', 0) > index_of('r', 53), "close reply then connection close");
    n_log = 0;

    /* expiry: a session whose clock runs out loses its ephemerals */
    struct session *s3 = connect_session();
    pipeline_submit(s3, create(60, "/eph3", NULL, CORRAL_CREATE_EPHEMERAL));
    pipeline_expire(s3);
    ok(!tree_lookup(&server.tree, "/eph3"), "expiry removes the session's ephemeral");
    ok(index_of('x', 0) >= 0 && log_[index_of('x', 0)].err == CORRAL_ESESSIONEXPIRED,
       "the connection is closed with SessionExpired");
    n_log = 0;

    /* many txns in flight complete in order */
    hold = 1;
    for (int i = 0; i < 100; i++) {
        char path[32];
        snprintf(path, sizeof path, "/bulk%d", i);
        pipeline_submit(s, create(100 + i, path, NULL, 0));
    }
    pipeline_submit(s, create(200, "/bulk0", NULL, 0));  /* sees /bulk0 in flight */
    is_int(n_held, 101, "101 txns in flight at once");
    release_all();
    int in_order = n_log == 101;
    for (int i = 0; i < n_log && in_order; i++)
        in_order = log_[i].xid == 100 + i || (i == 100 && log_[i].xid == 200);
    ok(in_order, "their replies come in order");
    is_int(find('r', 200)->err, CORRAL_ENODEEXISTS, "prep saw a create still in flight");
    hold = 0;

    /* reads behind a write are held while the connection is backlogged */
    pipeline_submit(s, create(500, "/h", NULL, 0));
    pipeline_submit(s, create(501, "/hw", NULL, 0));
    struct corral_request *hw = req(CORRAL_OP_GET_DATA, 502, "/h");
    hw->watch = 1;
    pipeline_submit(s, hw);
    int64_t outstanding = server.outstanding;
    n_log = 0;
    hold = 1;
    struct corral_request *hs = req(CORRAL_OP_SET_DATA, 510, "/hw");
    pipeline_submit(s, hs);
    for (int i = 0; i < 6; i++)
        pipeline_submit(s, req(CORRAL_OP_GET_DATA, 511 + i, "/h"));
    pipeline_submit(s, create(520, "/h2", NULL, 0));
    pipeline_submit(s, req(CORRAL_OP_GET_DATA, 521, "/h2"));
    room = 3;
    release_all();
    hold = 0;
    ok(n_log == 3 && log_[0].xid == 510 && log_[1].xid == 511 && log_[2].xid == 512,
       "room for three replies: the write's and two reads' go out");
    ok(s->held, "the other reads are held");
    ok(n_held == 0 && !tree_lookup(&server.tree, "/h2"), "the write behind them waits too");
    struct session *s5 = connect_session();
    struct corral_request *hset = req(CORRAL_OP_SET_DATA, 530, "/h");
    pipeline_submit(s5, hset);
    ok(n_log >= 5 && log_[3].kind == 'c' && log_[n_log - 2].kind == 'e' &&
           log_[n_log - 2].conn == NULL,
       "an event for the held session goes out at once");
    int before = n_log;
    room = -1;
    pipeline_resume(s);
    int order = n_log == before + 6;
    const int32_t want[] = {513, 514, 515, 516, 520, 521};
    for (int i = 0; i < 6 && order; i++)
        order = log_[before + i].kind == 'r' && log_[before + i].xid == want[i];
    ok(order, "once drained the held reads are answered, in order, then the write behind them");
    ok(find('r', 511)->stat.version == 0 && find('r', 513)->stat.version == 1,
       "the reads answered after the event see its change");
    ok(!s->held && server.outstanding == outstanding, "nothing is left held");
    n_log = 0;
    pipeline_resume(s);
    is_int(n_log, 0, "resuming a session that holds nothing does nothing");

    /* held reads whose connection goes: moved, detached, expired */
    struct session *s6 = connect_session();
    n_log = 0;
    room = 0;
    for (int i = 0; i < 3; i++)
        pipeline_submit(s6, req(CORRAL_OP_GET_DATA, 600 + i, "/h"));
    ok(n_log == 0 && s6->held, "a read arriving on a backlogged connection is held");
    struct corral_connect_params mp;
    memset(&mp, 0, sizeof mp);
    mp.timeout_ms = 10000;
    mp.session_id = s6->id;
    uint8_t pw6[CORRAL_PASSWD_LEN];
    memcpy(pw6, s6->passwd, sizeof pw6);
    mp.passwd = pw6;
    mp.passwd_len = CORRAL_PASSWD_LEN;
    int dummy;
    ok(pipeline_connect(&mp, &conn_ops, &dummy) == s6, "the session moves to another connection");
    ok(n_log == 2 && log_[0].kind == 'x' && log_[0].err == CORRAL_ESESSIONMOVED &&
           log_[1].kind == 'c' && log_[1].conn == &dummy,
       "the old connection is closed, the new one connected, and no held reply goes to it");
    ok(!s6->held && !s6->head, "the old connection's held reads are gone");
    n_log = 0;
    pipeline_submit(s6, req(CORRAL_OP_GET_DATA, 610, "/h"));
    ok(s6->held, "(held again on the new connection)");
    int64_t sid6 = s6->id;
    core_api.session_detach((struct corral_session *)s6);
    ok(n_log == 0 && !session_find(sid6) && session_table_find(sid6) && tracker_deadline(sid6),
       "a detached session's held reads run unanswered, and its idle local client goes; the "
       "session stays, its clock running");
    mp.session_id = sid6;
    ok(pipeline_connect(&mp, &conn_ops, &dummy) != NULL && n_log == 1 && log_[0].kind == 'c' &&
           log_[0].err == CORRAL_OK && session_find(sid6),
       "a session without a local client is resumed: it gets a new one");
    n_log = 0;
    uint8_t wrong[CORRAL_PASSWD_LEN] = {0};
    mp.passwd = wrong;
    ok(pipeline_connect(&mp, &conn_ops, NULL) == NULL && n_log == 2 && log_[0].kind == 'x' &&
           log_[0].err == CORRAL_ESESSIONMOVED && log_[1].kind == 'c' &&
           log_[1].err == CORRAL_ESESSIONEXPIRED,
       "a resume with a bad password is refused, the session's connection moved off all the same");
    ok(!session_find(sid6) && session_table_find(sid6),
       "and its client, left idle, goes (the session stays)");
    n_log = 0;
    int64_t sid7;
    struct session *s7 = connect_session();
    sid7 = s7->id;
    n_log = 0;
    pipeline_submit(s7, req(CORRAL_OP_GET_DATA, 620, "/h"));
    pipeline_expire(s7);
    ok(n_log == 1 && log_[0].kind == 'x' && log_[0].err == CORRAL_ESESSIONEXPIRED,
       "a held session that expires: its connection is closed, the held reply dropped");
    ok(!session_find(sid7) && !session_table_find(sid7) && !tracker_deadline(sid7),
       "and the session is closed: no local client, no table entry, no clock");
    struct session *s8 = connect_session();
    int64_t sid8 = s8->id;
    n_log = 0;
    pipeline_submit(s8, req(CORRAL_OP_GET_DATA, 630, "/h"));
    pipeline_submit(s8, req(CORRAL_OP_CLOSE_SESSION, 631, NULL));
    ok(session_find(sid8) && s8->held && tracker_deadline(sid8),
       "a closeSession behind held reads waits, with the session's clock running");
    pipeline_expire(s8);
    ok(n_log == 1 && log_[0].kind == 'x' && !session_find(sid8),
       "when the clock runs out the connection is closed and the session goes");
    room = -1;
    ok(server.outstanding == outstanding, "no request is left behind");

    /* a transport table from an older minor: members past its size are absent */
    struct corral_connect_params op;
    memset(&op, 0, sizeof op);
    op.timeout_ms = 10000;
    op.remote_addr = "127.0.0.1";
    struct session *so = pipeline_connect(&op, &old_conn_ops, NULL);
    n_log = 0;
    room = 0;
    for (int i = 0; i < 3; i++)
        pipeline_submit(so, req(CORRAL_OP_GET_DATA, 640 + i, "/h"));
    ok(n_log == 3 && !so->held,
       "a conn_ops table too short for backlogged is never backlogged (its stale pointer unread)");
    room = -1;
    ok(core_api.session_connect(&op, &stub_conn_ops, NULL) == NULL,
       "a conn_ops table too short for close gets no session");

    /* the recovery-only entry points */
    struct corral_stat zst;
    memset(&zst, 0, sizeof zst);
    int64_t zxid_before = server.last_zxid;
    ok(core_api.load_node("/loaded", NULL, 0, NULL, 0, &zst) == -1 &&
           !tree_lookup(&server.tree, "/loaded"),
       "load_node outside recovery fails and adds nothing");
    ok(core_api.load_session(0x7703, 5000) == -1 && !session_table_find(0x7703),
       "load_session outside recovery fails and adds nothing");
    ok(core_api.set_last_zxid(zxid_before + 1000) == -1 && server.last_zxid == zxid_before,
       "set_last_zxid outside recovery fails and changes nothing");
    struct corral_txn late = {.type = CORRAL_OP_CREATE_SESSION, .session_id = 0x7704,
                              .timeout = 5000, .zxid = zxid_before + 1, .time = 1};
    ok(core_api.apply_txn(&late) == -1 && !session_table_find(0x7704) &&
           server.last_zxid == zxid_before,
       "apply_txn outside recovery fails and applies nothing");
    server.storage = &probe_storage;
    ok(db_recover() == 0, "(recover runs)");
    server.storage = &storage;
    ok(in_phase_storage == 0 && session_table_find(0x7701) && !session_find(0x7701),
       "during recover() the storage module's load_session works");
    ok(in_phase_other == -2 && !session_table_find(0x7702) && server.last_zxid == zxid_before,
       "during recover() another module's calls fail and change nothing");
    ok(core_api_for(CORRAL_MODULE_PLUGIN)->node_get == core_api.node_get,
       "another module's table is the core's otherwise");

    /* plugin hooks */
    n_log = 0;
    hooks_add_before_write("/cfg/*", reject_or_audit, NULL);
    hooks_add_after_commit("/cfg*", count_commit, NULL);
    hooks_add_session(count_session, NULL);
    hooks_add_watch(NULL, drop_quiet, NULL);
    pipeline_submit(s, create(300, "/cfg", NULL, 0));
    is_int(commits_seen, 1, "after-commit hook sees a matching txn");
    pipeline_submit(s, create(301, "/cfg/forbidden", NULL, 0));
    is_int(find('r', 301)->err, CORRAL_EBADARGUMENTS, "a before-write hook rejects with its code");
    ok(!tree_lookup(&server.tree, "/cfg/forbidden"), "the rejected write is not applied");
    pipeline_submit(s, create(302, "/cfg/a", NULL, 0));
    is_str(find('r', 302)->path, "/cfg/a", "a write with trigger additions answers as itself");
    struct znode *cfg = tree_lookup(&server.tree, "/cfg");
    int32_t cfg_len = 0;
    const uint8_t *cfg_data = cfg ? tree_data(&server.tree, cfg, &cfg_len) : NULL;
    ok(cfg_len == 6 && !memcmp(cfg_data, "bumped", 6),
       "the trigger's addition committed with it");
    pipeline_submit(s, create(303, "/quiet", NULL, 0));
    struct corral_request *qw = req(CORRAL_OP_GET_DATA, 304, "/quiet");
    qw->watch = 1;
    pipeline_submit(s, qw);
    n_log = 0;
    pipeline_submit(s, req(CORRAL_OP_DELETE, 305, "/quiet"));
    is_int(index_of('e', 0), -1, "a watch hook can drop an event");
    struct session *s4 = connect_session();
    pipeline_submit(s4, req(CORRAL_OP_CLOSE_SESSION, 306, NULL));
    ok(opened_seen == 1 && closed_seen == 1, "session hooks see open and close");
    hooks_clear();
    ok(!hooks_any_before_write && !hooks_any_watch, "with hooks cleared nothing is called");

    /* apply runs no clock and no allocator: what it does for a txn it did
     * not prep (recovery, later a follower) is the table entry only */
    int64_t next = server.next_zxid;
    struct corral_txn replayed = {.type = CORRAL_OP_CREATE_SESSION, .session_id = 0x7700,
                                  .timeout = 5000, .zxid = next + 100, .time = 1};
    struct apply_result ar;
    apply_txn(&replayed, &ar, NULL);
    const struct session_entry *rs = session_table_find(0x7700);
    ok(rs && rs->timeout_ms == 5000 && !tracker_deadline(0x7700) && !session_find(0x7700),
       "a replayed createSession enters the session table, without a clock or a local client");
    ok(server.next_zxid == next && server.last_zxid == next + 100,
       "apply records the applied zxid and leaves prep's zxid allocator alone");
    prep_start(ZXID_EPOCH(server.last_zxid));
    hold = 0;
    n_log = 0;
    pipeline_submit(s, create(400, "/after-replay", NULL, 0));
    const struct record *ra = find('r', 400);
    ok(ra && ra->err == CORRAL_OK && ra->stat.czxid == next + 101,
       "once prep_start has run in the applied txns' epoch, zxids continue after them");

    /* a newer epoch (a new leader's) restarts the counter: epoch << 32 | 1 */
    prep_start(ZXID_EPOCH(server.last_zxid) + 2);
    pipeline_submit(s, create(401, "/new-epoch", NULL, 0));
    ra = find('r', 401);
    ok(ra && ra->err == CORRAL_OK && ra->stat.czxid == ((ZXID_EPOCH(next + 101) + 2) << 32 | 1),
       "in a newer epoch the first zxid is epoch << 32 | 1");
    prep_start(ZXID_EPOCH(server.last_zxid));
    pipeline_submit(s, create(402, "/same-epoch", NULL, 0));
    ra = find('r', 402);
    ok(ra && ra->stat.czxid == ((ZXID_EPOCH(next + 101) + 2) << 32 | 2),
       "opened again in the same epoch, the counter goes on");
    tracker_stop();
    return done_testing();
}
