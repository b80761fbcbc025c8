/*
 * reply-size.c — core/replysize.c measures every reply exactly as the zk
 * transport encodes it (libzk: core/zk/reply.c): the pipeline refuses
 * replies longer than jute.maxbuffer by that measure, so a byte of
 * difference would let through a reply a ZooKeeper client drops the
 * connection on, or refuse one it reads.  Each response shape the core
 * builds is encoded and measured, successful and failed, empty and full.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "corral/jute.h"
#include "corral/zk_proto.h"
#include "../../core/replysize.c"

static void check(const struct corral_response *rsp, const char *what)
{
    struct jute_buf b;
    jute_buf_init(&b);
    zk_encode_reply(&b, rsp);
    is_int(reply_size(rsp), (int64_t)b.len, "%s", what);
    jute_buf_free(&b);
}

/* The same response as each op, successful and failed. */
static void check_ops(struct corral_response rsp, const int32_t *ops, size_t n, const char *what)
{
    char desc[128];
    for (size_t i = 0; i < n; i++) {
        rsp.op = ops[i];
        rsp.err = CORRAL_OK;
        snprintf(desc, sizeof desc, "%s, op %d", what, ops[i]);
        check(&rsp, desc);
        rsp.err = CORRAL_ENONODE;
        snprintf(desc, sizeof desc, "%s, op %d failed", what, ops[i]);
        check(&rsp, desc);
    }
}

static const int32_t all_ops[] = {
    CORRAL_OP_CREATE, CORRAL_OP_CREATE2, CORRAL_OP_CREATE_CONTAINER, CORRAL_OP_CREATE_TTL,
    CORRAL_OP_DELETE, CORRAL_OP_EXISTS, CORRAL_OP_GET_DATA, CORRAL_OP_SET_DATA,
    CORRAL_OP_GET_ACL, CORRAL_OP_SET_ACL, CORRAL_OP_GET_CHILDREN, CORRAL_OP_SYNC,
    CORRAL_OP_PING, CORRAL_OP_GET_CHILDREN2, CORRAL_OP_CHECK, CORRAL_OP_CHECK_WATCHES,
    CORRAL_OP_REMOVE_WATCHES, CORRAL_OP_AUTH, CORRAL_OP_SET_WATCHES, CORRAL_OP_GET_EPHEMERALS,
    CORRAL_OP_GET_ALL_CHILDREN_NUMBER, CORRAL_OP_ADD_WATCH, CORRAL_OP_WHO_AM_I,
    CORRAL_OP_CLOSE_SESSION, CORRAL_OP_MULTI, CORRAL_OP_MULTI_READ,
};

static void test_single(void)
{
    static const uint8_t data[] = "some data";
    const char *names[] = {"a", "", "a-longer-child-name", "ü"};
    struct corral_acl acl[] = {{31, "world", "anyone"}, {1, "digest", "u:hash="}, {3, "ip", ""}};
    struct corral_response rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.xid = 7;
    rsp.zxid = 0x100000002;
    rsp.path = "/a/b";
    rsp.data = data;
    rsp.data_len = (int32_t)sizeof data;
    rsp.stat.version = 3;
    rsp.children = names;
    rsp.n_children = 4;
    rsp.acl = acl;
    rsp.n_acl = 3;
    rsp.number = 12;
    check_ops(rsp, all_ops, sizeof all_ops / sizeof *all_ops, "full");

    memset(&rsp, 0, sizeof rsp);
    rsp.data_len = -1;                  /* null buffer, no children, no ACL, null path */
    check_ops(rsp, all_ops, sizeof all_ops / sizeof *all_ops, "empty");
    rsp.data_len = 0;
    rsp.data = data;
    check_ops(rsp, all_ops, sizeof all_ops / sizeof *all_ops, "zero-length data");
}

static void test_multi(void)
{
    static const uint8_t data[] = "member data";
    const char *names[] = {"x", "yy"};
    struct corral_response m[9];
    memset(m, 0, sizeof m);
    const int32_t member_ops[] = {CORRAL_OP_CREATE, CORRAL_OP_CREATE2, CORRAL_OP_CREATE_CONTAINER,
                                  CORRAL_OP_CREATE_TTL, CORRAL_OP_SET_DATA, CORRAL_OP_DELETE,
                                  CORRAL_OP_CHECK, CORRAL_OP_GET_DATA, CORRAL_OP_GET_CHILDREN};
    for (int i = 0; i < 9; i++) {
        m[i].op = member_ops[i];
        m[i].path = "/created";
        m[i].data = data;
        m[i].data_len = (int32_t)sizeof data;
        m[i].children = names;
        m[i].n_children = 2;
    }
    struct corral_response rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.results = m;
    rsp.n_results = 9;
    rsp.op = CORRAL_OP_MULTI;
    check(&rsp, "a multi of every member kind");
    rsp.err = CORRAL_EBADVERSION;
    check(&rsp, "a failed multi (every member an ErrorResult)");
    rsp.op = CORRAL_OP_MULTI_READ;
    rsp.err = CORRAL_OK;
    m[3].err = CORRAL_ENONODE;
    m[4].op = CORRAL_OP_ERROR;
    m[4].err = CORRAL_EBADARGUMENTS;
    m[7].data_len = -1;
    check(&rsp, "a multiRead with failed members and a null buffer");
    int64_t sum = reply_multi_overhead();
    for (int i = 0; i < 9; i++)
        sum += reply_member_size(&m[i]);
    is_int(sum, reply_size(&rsp), "overhead + member sizes is the multiRead's size");
    rsp.n_results = 0;
    check(&rsp, "an empty multiRead");
    rsp.err = CORRAL_EMARSHALLINGERROR;
    check(&rsp, "a refused multiRead: the header alone");
}

int main(void)
{
    test_single();
    test_multi();
    return done_testing();
}
