/*
 * zk-codec.c — libzk's encoders against its decoders, linked as the modules
 * link it:
 *   - the request encoder (what the quorum code forwards a client's request
 *     with) for every op: encode, decode, the same request comes back, field
 *     for field, and encodes to the same bytes again; the record alone
 *     (a REQUEST packet's) the same way; the exact bytes of one CreateRequest
 *     as zookeeper.jute lays it out;
 *   - the snapshot body (what a file holds between header and seal, and a
 *     SNAP sync sends): a tree written through a fake source reads back
 *     node for node with ACLs shared as in the tree, across several flushes,
 *     the digest is the sum of the node digests, a check-only read calls
 *     nothing, a body cut anywhere is refused, and the exact bytes of a
 *     one-session, root-only body as ZooKeeper's SerializeUtils writes it.
 * The byte-exact tests against ZooKeeper's own bytes (txns, replies) are in
 * t/unit/storage-file-format.c and t/unit/jute.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "corral/zk_proto.h"
#include "corral/zk_snapshot.h"

/* ---- requests ---- */

static int same_str(const char *a, const char *b)
{
    return a && b ? !strcmp(a, b) : a == b;
}

static int same_acl(const struct corral_acl *a, int32_t na, const struct corral_acl *b, int32_t nb)
{
    if (na != nb)
        return 0;
    for (int32_t i = 0; i < na; i++)
        if (a[i].perms != b[i].perms || !same_str(a[i].scheme, b[i].scheme) ||
            !same_str(a[i].id, b[i].id))
            return 0;
    return 1;
}

/* Every field a request record carries (xid/op included), members too. */
static int same_request(const struct corral_request *a, const struct corral_request *b)
{
    if (a->op != b->op || a->xid != b->xid || !same_str(a->path, b->path) ||
        a->data_len != b->data_len || (a->data == NULL) != (b->data == NULL) ||
        (a->data && a->data_len > 0 && memcmp(a->data, b->data, (size_t)a->data_len)) ||
        a->version != b->version || a->flags != b->flags || a->ttl != b->ttl ||
        a->watch != b->watch || !same_acl(a->acl, a->n_acl, b->acl, b->n_acl) ||
        a->n_ops != b->n_ops || a->mode != b->mode || a->relative_zxid != b->relative_zxid ||
        a->path_had_nul != b->path_had_nul)
        return 0;
    for (int32_t i = 0; i < a->n_ops; i++)
        if (!same_request(&a->ops[i], &b->ops[i]))
            return 0;
    for (int k = 0; k < 5; k++) {
        if (a->n_watch_paths[k] != b->n_watch_paths[k])
            return 0;
        for (int32_t i = 0; i < a->n_watch_paths[k]; i++)
            if (!same_str(a->watch_paths[k][i], b->watch_paths[k][i]))
                return 0;
    }
    return 1;
}

static struct corral_acl acls[] = {
    {CORRAL_PERM_ALL, "world", "anyone"},
    {CORRAL_PERM_READ, "digest", "u:hash="},
};
static char *watches[] = {"/w1", "/w2", "/w3"};

static struct corral_request base(int32_t op)
{
    struct corral_request r;
    memset(&r, 0, sizeof r);
    r.op = op;
    r.xid = 40 + op;
    r.data_len = -1;
    return r;
}

static void check_round_trip(const struct corral_request *req, const char *what)
{
    struct jute_buf b, again;
    jute_buf_init(&b);
    jute_buf_init(&again);
    struct corral_request *back = NULL;
    int enc = zk_encode_request(&b, req);
    int dec = enc == 0 ? zk_decode_request(b.data, b.len, &back) : -1;
    ok(enc == 0 && dec == 0 && back && same_request(req, back), "%s: encodes and decodes back", what);
    ok(back && zk_encode_request(&again, back) == 0 && again.len == b.len &&
           !memcmp(again.data, b.data, b.len),
       "%s: the decoded request encodes to the same bytes", what);
    zk_request_free(back);
    back = NULL;

    /* the record alone, as a REQUEST packet carries it after sessionId, cxid, type */
    jute_buf_reset(&again);
    ok(zk_encode_request_body(&again, req) == 0 && again.len == b.len - 8 &&
           !memcmp(again.data, b.data + 8, again.len) &&
           zk_decode_request_body(req->xid, req->op, again.data, again.len, &back) == 0 &&
           same_request(req, back),
       "%s: the record alone round-trips", what);
    zk_request_free(back);
    jute_buf_free(&b);
    jute_buf_free(&again);
}

static void test_requests(void)
{
    static const int32_t create_ops[] = {CORRAL_OP_CREATE, CORRAL_OP_CREATE2,
                                         CORRAL_OP_CREATE_CONTAINER, CORRAL_OP_CREATE_TTL};
    char what[64];
    for (size_t i = 0; i < sizeof create_ops / sizeof *create_ops; i++) {
        struct corral_request r = base(create_ops[i]);
        r.path = "/c";
        r.data = (uint8_t *)"payload";
        r.data_len = 7;
        r.acl = acls;
        r.n_acl = 2;
        r.flags = create_ops[i] == CORRAL_OP_CREATE_TTL ? CORRAL_CREATE_PERSISTENT_WITH_TTL
                                                        : CORRAL_CREATE_EPHEMERAL_SEQUENTIAL;
        r.ttl = create_ops[i] == CORRAL_OP_CREATE_TTL ? 60000 : 0;
        snprintf(what, sizeof what, "create op %d", create_ops[i]);
        check_round_trip(&r, what);
    }
    struct corral_request r = base(CORRAL_OP_CREATE);
    r.path = "/null-data";
    check_round_trip(&r, "create with a null buffer and no ACL");
    r.data = (uint8_t *)"";
    r.data_len = 0;
    check_round_trip(&r, "create with an empty buffer");

    static const int32_t path_version[] = {CORRAL_OP_DELETE, CORRAL_OP_CHECK};
    for (size_t i = 0; i < 2; i++) {
        r = base(path_version[i]);
        r.path = "/pv";
        r.version = 17;
        snprintf(what, sizeof what, "op %d (path, version)", path_version[i]);
        check_round_trip(&r, what);
    }
    static const int32_t path_watch[] = {CORRAL_OP_EXISTS, CORRAL_OP_GET_DATA,
                                         CORRAL_OP_GET_CHILDREN, CORRAL_OP_GET_CHILDREN2};
    for (size_t i = 0; i < 4; i++) {
        r = base(path_watch[i]);
        r.path = "/pw";
        r.watch = 1;
        snprintf(what, sizeof what, "op %d (path, watch)", path_watch[i]);
        check_round_trip(&r, what);
    }
    static const int32_t path_only[] = {CORRAL_OP_GET_ACL, CORRAL_OP_SYNC, CORRAL_OP_GET_EPHEMERALS,
                                        CORRAL_OP_GET_ALL_CHILDREN_NUMBER,
                                        CORRAL_OP_DELETE_CONTAINER};
    for (size_t i = 0; i < 5; i++) {
        r = base(path_only[i]);
        r.path = "/p";
        snprintf(what, sizeof what, "op %d (path)", path_only[i]);
        check_round_trip(&r, what);
    }
    r = base(CORRAL_OP_SET_DATA);
    r.path = "/s";
    r.data = (uint8_t *)"\0\1\2";
    r.data_len = 3;
    r.version = -1;
    check_round_trip(&r, "setData");
    r = base(CORRAL_OP_SET_ACL);
    r.path = "/s";
    r.acl = acls;
    r.n_acl = 2;
    r.version = 3;
    check_round_trip(&r, "setACL");

    /* multi: every member kind; multiRead: the read members */
    struct corral_request members[5];
    members[0] = base(CORRAL_OP_CREATE);
    members[0].path = "/m";
    members[0].data = (uint8_t *)"d";
    members[0].data_len = 1;
    members[0].acl = acls;
    members[0].n_acl = 1;
    members[1] = base(CORRAL_OP_CREATE_TTL);
    members[1].path = "/m/ttl";
    members[1].acl = acls;
    members[1].n_acl = 1;
    members[1].flags = CORRAL_CREATE_PERSISTENT_WITH_TTL;
    members[1].ttl = 5;
    members[2] = base(CORRAL_OP_CHECK);
    members[2].path = "/m";
    members[2].version = 0;
    members[3] = base(CORRAL_OP_SET_DATA);
    members[3].path = "/m";
    members[3].data = (uint8_t *)"e";
    members[3].data_len = 1;
    members[3].version = 0;
    members[4] = base(CORRAL_OP_DELETE);
    members[4].path = "/m/ttl";
    members[4].version = -1;
    r = base(CORRAL_OP_MULTI);
    for (int i = 0; i < 5; i++)
        members[i].xid = r.xid;     /* the decoder gives members the request's xid */
    r.ops = members;
    r.n_ops = 5;
    check_round_trip(&r, "multi");
    r.n_ops = 0;
    check_round_trip(&r, "empty multi");
    struct corral_request reads[2];
    reads[0] = base(CORRAL_OP_GET_DATA);
    reads[0].path = "/r1";
    reads[1] = base(CORRAL_OP_GET_CHILDREN);
    reads[1].path = "/r2";
    r = base(CORRAL_OP_MULTI_READ);
    reads[0].xid = reads[1].xid = r.xid;
    r.ops = reads;
    r.n_ops = 2;
    check_round_trip(&r, "multiRead");

    r = base(CORRAL_OP_AUTH);
    r.xid = ZK_XID_AUTH;
    r.path = "digest";
    r.data = (uint8_t *)"u:p";
    r.data_len = 3;
    check_round_trip(&r, "auth");

    r = base(CORRAL_OP_SET_WATCHES);
    r.xid = ZK_XID_SET_WATCHES;
    r.relative_zxid = 0x1234;
    r.watch_paths[0] = watches;
    r.n_watch_paths[0] = 2;
    r.watch_paths[2] = watches + 2;
    r.n_watch_paths[2] = 1;
    check_round_trip(&r, "setWatches");
    r.op = CORRAL_OP_SET_WATCHES2;
    r.watch_paths[4] = watches;
    r.n_watch_paths[4] = 3;
    check_round_trip(&r, "setWatches2");

    r = base(CORRAL_OP_ADD_WATCH);
    r.path = "/aw";
    r.mode = CORRAL_WATCH_MODE_PERSISTENT_RECURSIVE;
    check_round_trip(&r, "addWatch");
    static const int32_t watcher_ops[] = {CORRAL_OP_REMOVE_WATCHES, CORRAL_OP_CHECK_WATCHES};
    for (size_t i = 0; i < 2; i++) {
        r = base(watcher_ops[i]);
        r.path = "/rw";
        r.mode = CORRAL_WATCHER_DATA;
        snprintf(what, sizeof what, "op %d (path, watcher type)", watcher_ops[i]);
        check_round_trip(&r, what);
    }
    r = base(CORRAL_OP_RECONFIG);
    check_round_trip(&r, "reconfig (its record is not kept: sent empty)");
    static const int32_t no_record[] = {CORRAL_OP_PING, CORRAL_OP_CLOSE_SESSION,
                                        CORRAL_OP_WHO_AM_I};
    for (size_t i = 0; i < 3; i++) {
        r = base(no_record[i]);
        snprintf(what, sizeof what, "op %d (no record)", no_record[i]);
        check_round_trip(&r, what);
    }

    /* a NUL in a path (read as U+0001, request marked) goes back out as the NUL */
    struct jute_buf b;
    jute_buf_init(&b);
    r = base(CORRAL_OP_GET_DATA);
    r.path = "/a\x01" "b";
    r.path_had_nul = 1;
    ok(zk_encode_request(&b, &r) == 0 && b.len == 8 + 4 + 4 + 1 && b.data[14] == 0,
       "a path read with a NUL is written with the NUL");
    check_round_trip(&r, "getData of a path with a NUL");

    /* a malformed request has no record to send */
    r = base(CORRAL_OP_CREATE);
    r.malformed = 1;
    jute_buf_reset(&b);
    ok(zk_encode_request(&b, &r) < 0 && zk_encode_request_body(&b, &r) < 0,
       "a malformed request is not encoded");

    /* CreateRequest as zookeeper.jute lays it out, to the byte */
    r = base(CORRAL_OP_CREATE);
    r.xid = 7;
    r.path = "/a";
    r.data = (uint8_t *)"xyz";
    r.data_len = 3;
    r.acl = acls;
    r.n_acl = 1;
    r.flags = CORRAL_CREATE_EPHEMERAL_SEQUENTIAL;
    jute_buf_reset(&b);
    zk_encode_request(&b, &r);
    char *hex = tap_hex(b.data, b.len);
    is_str(hex,
           "00000007" "00000001"                    /* RequestHeader {xid, type} */
           "00000002" "2f61"                        /* path */
           "00000003" "78797a"                      /* data */
           "00000001" "0000001f" "00000005" "776f726c64" "00000006" "616e796f6e65"
           "00000003",                              /* flags: EPHEMERAL_SEQUENTIAL */
           "CreateRequest: ZooKeeper's exact bytes");
    free(hex);
    jute_buf_free(&b);
}

/* ---- snapshot body ---- */

struct fake_node {
    const char *path;
    const uint8_t *data;
    int32_t len;
    const struct corral_acl *acl;
    int32_t n_acl;
    struct corral_stat st;
};

static uint8_t *big;
#define BIG_LEN (1500 * 1000)
static struct corral_acl secret[] = {{CORRAL_PERM_READ | CORRAL_PERM_WRITE, "digest", "x:y="}};
static struct fake_node tree[4];
static size_t n_tree;

static void make_tree(void)
{
    big = malloc(BIG_LEN);
    for (size_t i = 0; i < BIG_LEN; i++)
        big[i] = (uint8_t)(i * 7);
    struct corral_stat st = {0};
    tree[0] = (struct fake_node){"/", NULL, 0, acls, 1, st};
    st.czxid = 2;
    st.mzxid = 3;
    st.ctime = 1700000000000;
    st.mtime = 1700000000001;
    st.version = 4;
    st.pzxid = 5;
    tree[1] = (struct fake_node){"/a", (const uint8_t *)"hello", 5, secret, 1, st};
    st.ephemeral_owner = 0x100000001;
    tree[2] = (struct fake_node){"/a/b", big, BIG_LEN, secret, 1, st};   /* the same list */
    st.ephemeral_owner = 0;
    tree[3] = (struct fake_node){"/zookeeper", NULL, 0, acls, 1, st};
    n_tree = 4;
}

static int walk(zk_snap_node_fn fn, void *arg)
{
    for (size_t i = 0; i < n_tree; i++) {
        int rc = fn(arg, tree[i].path, tree[i].data, tree[i].len, tree[i].acl, tree[i].n_acl,
                    &tree[i].st);
        if (rc)
            return rc;
    }
    return 0;
}

static int64_t session_ids[] = {0x100000001, 0x100000002};
static int32_t session_timeouts[] = {30000, 4000};
static size_t n_sessions = 2;

static void each_session(void (*fn)(void *, int64_t, int32_t), void *arg)
{
    for (size_t i = 0; i < n_sessions; i++)
        fn(arg, session_ids[i], session_timeouts[i]);
}

/* The "socket": everything flushed, appended; counts the flushes. */
struct sink {
    struct jute_buf all;
    int flushes;
};

static int to_sink(void *arg, struct jute_buf *b)
{
    struct sink *s = arg;
    uint8_t *p = jute_buf_reserve(&s->all, b->len);
    if (!p)
        return -1;
    memcpy(p, b->data, b->len);
    s->flushes++;
    jute_buf_reset(b);
    return 0;
}

struct loaded {
    int sessions, nodes, bad;
    const struct corral_acl *secret_acl;   /* as the reader passed /a's list */
};

static int load_session(void *arg, int64_t id, int32_t timeout)
{
    struct loaded *l = arg;
    if ((size_t)l->sessions >= n_sessions || id != session_ids[l->sessions] ||
        timeout != session_timeouts[l->sessions])
        l->bad = 1;
    l->sessions++;
    return 0;
}

static int load_node(void *arg, const char *path, const uint8_t *data, int32_t len,
                     const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    struct loaded *l = arg;
    const struct fake_node *want = (size_t)l->nodes < n_tree ? &tree[l->nodes] : NULL;
    const struct corral_stat *ws = want ? &want->st : NULL;
    if (!want || strcmp(path, want->path) || len != want->len ||
        (len && memcmp(data, want->data, (size_t)len)) ||
        !same_acl(acl, n_acl, want->acl, want->n_acl) || st->czxid != ws->czxid ||
        st->mzxid != ws->mzxid || st->ctime != ws->ctime || st->mtime != ws->mtime ||
        st->version != ws->version || st->cversion != ws->cversion ||
        st->aversion != ws->aversion || st->ephemeral_owner != ws->ephemeral_owner ||
        st->pzxid != ws->pzxid || st->data_length != want->len || st->num_children != 0)
        l->bad = 1;
    /* /a and /a/b shared one list in the tree: one ACL-cache entry, one list read back */
    if (want && want->acl == secret) {
        if (!l->secret_acl)
            l->secret_acl = acl;
        else if (l->secret_acl != acl)
            l->bad = 1;
    }
    l->nodes++;
    return 0;
}

static int refuse_node(void *arg, const char *path, const uint8_t *data, int32_t len,
                       const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    (void)arg; (void)path; (void)data; (void)len; (void)acl; (void)n_acl; (void)st;
    return -1;
}

static void test_snapshot_body(void)
{
    make_tree();
    const struct zk_snap_source src = {walk, each_session};
    struct sink s = {0};
    struct jute_buf b;
    jute_buf_init(&b);
    jute_buf_init(&s.all);
    jute_put_int(&b, 0x5a4b534e);      /* what the caller put first goes out first */
    int64_t digest = 0;
    ok(zk_snap_body_write(&src, &b, to_sink, &s, &digest) == 0 && b.len == 0,
       "body writes, everything flushed");
    ok(s.flushes >= 2, "a body over a megabyte goes out in more than one flush (%d)", s.flushes);
    int64_t want_digest = 0;
    for (size_t i = 0; i < n_tree; i++)
        want_digest = (int64_t)((uint64_t)want_digest +
                                (uint64_t)zk_node_digest(tree[i].path, tree[i].data, tree[i].len,
                                                         &tree[i].st));
    is_int(digest, want_digest, "the digest is the sum of the node digests");
    ok(s.all.len > 4 && s.all.data[0] == 0x5a && s.all.data[3] == 0x4e, "header bytes first");

    struct jute_reader r;
    const char *why = NULL;
    int64_t nodes = -1;
    const struct zk_snap_loader check = {NULL, NULL, NULL};
    jute_reader_init(&r, s.all.data + 4, s.all.len - 4);
    jute_put_int(&s.all, 0x0b0b);      /* a trailer the body reader must stop before */
    r.len += 4;
    ok(zk_snap_body_read(&r, &check, &nodes, &why) == 0 && nodes == (int64_t)n_tree &&
           jute_remaining(&r) == 4 && jute_get_int(&r) == 0x0b0b,
       "check-only read: the whole body, stopping after its '/'");

    struct loaded l = {0};
    const struct zk_snap_loader load = {load_session, load_node, &l};
    jute_reader_init(&r, s.all.data + 4, s.all.len - 4);
    ok(zk_snap_body_read(&r, &load, &nodes, &why) == 0 && l.sessions == 2 &&
           l.nodes == (int) n_tree && !l.bad,
       "load: sessions and nodes come back as written, shared ACL list kept shared");

    l = (struct loaded){0};
    const struct zk_snap_loader refuse = {load_session, refuse_node, &l};
    jute_reader_init(&r, s.all.data + 4, s.all.len - 4);
    is_int(zk_snap_body_read(&r, &refuse, &nodes, &why), -1, "a failing callback is -1");

    /* a small body cut anywhere is not a body */
    n_tree = 2;
    n_sessions = 1;
    jute_buf_reset(&s.all);
    zk_snap_body_write(&src, &b, to_sink, &s, &digest);
    int refused = 1;
    for (size_t cut = 0; cut < s.all.len; cut++) {
        jute_reader_init(&r, s.all.data, cut);
        why = NULL;
        if (zk_snap_body_read(&r, &check, &nodes, &why) != 1 || !why)
            refused = 0;
    }
    ok(refused, "the body cut at each of its %zu lengths is refused, saying why", s.all.len);

    /* a node naming an ACL the table lacks */
    size_t idx_at = s.all.len - 5 - 60 - 8;    /* /a's acl index: before its stat and the "/" */
    s.all.data[idx_at + 7] = 9;
    jute_reader_init(&r, s.all.data, s.all.len);
    ok(zk_snap_body_read(&r, &check, &nodes, &why) == 1 && !strcmp(why, "node refers to a missing ACL"),
       "a node naming a missing ACL is refused");

    /* one session, the root alone: SerializeUtils.serializeSnapshot's bytes */
    n_tree = 1;
    session_ids[0] = 0x10;
    session_timeouts[0] = 30000;
    jute_buf_reset(&s.all);
    zk_snap_body_write(&src, &b, to_sink, &s, &digest);
    char *hex = tap_hex(s.all.data, s.all.len);
    is_str(hex,
           "00000001" "0000000000000010" "00007530"             /* sessions */
           "00000001" "0000000000000001"                        /* ACL cache: index 1 */
           "00000001" "0000001f" "00000005" "776f726c64" "00000006" "616e796f6e65"
           "00000000" "00000000" "0000000000000001"             /* "", no data, ACL 1 */
           "0000000000000000" "0000000000000000" "0000000000000000" "0000000000000000"
           "00000000" "00000000" "00000000" "0000000000000000" "0000000000000000"
           "00000001" "2f",                                     /* the end: "/" */
           "root-only body: ZooKeeper's layout to the byte");
    free(hex);
    jute_buf_free(&b);
    jute_buf_free(&s.all);
    free(big);
}

int main(void)
{
    test_requests();
    test_snapshot_body();
    return done_testing();
}
