/*
 * reply.c — the ZooKeeper client protocol's server-side records:
 * ConnectRequest in, ConnectResponse out, ReplyHeader plus each op's
 * response record out (from struct corral_response), watch notifications.
 *
 * Record layouts follow zookeeper.jute, facts about the wire format.  Three
 * behaviours worth knowing, all checked against Apache ZooKeeper 3.8:
 *   - a multi is always answered with its MultiResponse and ReplyHeader err 0;
 *     when it failed, every member comes back as an ErrorResult (type -1)
 *     carrying its own code (0 before the failing member, the failure, then
 *     RUNTIMEINCONSISTENCY);
 *   - any other failed request is the ReplyHeader alone (exists on a missing
 *     node: err -101, no body);
 *   - the answer to auth carries zxid 0.
 * Inside a multi, create and create2 results are reported as create (path
 * only) and createContainer/createTTL ones as create2 (path + Stat), as
 * ZooKeeper 3.8 does.  core/replysize.c measures these replies field for
 * field (t/unit/reply-size.c holds the two together).
 */
#include <stdlib.h>
#include <string.h>
#include "corral/zk_proto.h"

/* ---- connect ---- */

int zk_decode_connect(const uint8_t *frame, size_t len, struct zk_connect_request *out)
{
    struct jute_reader r;
    jute_reader_init(&r, frame, len);
    memset(out, 0, sizeof *out);
    out->protocol_version = jute_get_int(&r);
    out->last_zxid_seen = jute_get_long(&r);
    out->timeout_ms = jute_get_int(&r);
    out->session_id = jute_get_long(&r);
    jute_get_buffer(&r, &out->passwd, &out->passwd_len);
    if (r.err)
        return -1;
    if (jute_remaining(&r) >= 1) {
        out->has_read_only = 1;
        out->read_only = jute_get_bool(&r);
    }
    return 0;
}

void zk_encode_connect_response(struct jute_buf *b, const struct corral_connect_result *res,
                                int with_read_only)
{
    static const uint8_t zero_passwd[CORRAL_PASSWD_LEN];
    int ok = res->err == CORRAL_OK;
    jute_put_int(b, 0);
    jute_put_int(b, ok ? res->timeout_ms : 0);
    jute_put_long(b, ok ? res->session_id : 0);
    jute_put_buffer(b, ok ? res->passwd : zero_passwd, CORRAL_PASSWD_LEN);
    if (with_read_only)
        jute_put_bool(b, ok ? res->read_only : 0);
}

/* ---- replies ---- */

/*
 * The hot path writes fixed-size pieces with one reservation each instead of
 * one per field (the ReplyHeader and a Stat are most of a read's reply).
 */
static inline uint8_t *be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static inline uint8_t *be64_put(uint8_t *p, uint64_t v)
{
    return be32_put(be32_put(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

static void put_reply_header(struct jute_buf *b, int32_t xid, int64_t zxid, int32_t err)
{
    uint8_t *p = jute_buf_reserve(b, 16);
    if (p)
        be32_put(be64_put(be32_put(p, (uint32_t)xid), (uint64_t)zxid), (uint32_t)err);
}

static void put_stat(struct jute_buf *b, const struct corral_stat *st)
{
    uint8_t *p = jute_buf_reserve(b, 68);
    if (!p)
        return;
    p = be64_put(p, (uint64_t)st->czxid);
    p = be64_put(p, (uint64_t)st->mzxid);
    p = be64_put(p, (uint64_t)st->ctime);
    p = be64_put(p, (uint64_t)st->mtime);
    p = be32_put(p, (uint32_t)st->version);
    p = be32_put(p, (uint32_t)st->cversion);
    p = be32_put(p, (uint32_t)st->aversion);
    p = be64_put(p, (uint64_t)st->ephemeral_owner);
    p = be32_put(p, (uint32_t)st->data_length);
    p = be32_put(p, (uint32_t)st->num_children);
    be64_put(p, (uint64_t)st->pzxid);
}

static void put_string_vector(struct jute_buf *b, const char *const *v, int32_t n)
{
    jute_put_int(b, n);
    for (int32_t i = 0; i < n; i++)
        jute_put_string(b, v[i]);
}

static void put_multi_header(struct jute_buf *b, int32_t type, int done, int32_t err)
{
    jute_put_int(b, type);
    jute_put_bool(b, done);
    jute_put_int(b, err);
}

static void put_multi_result(struct jute_buf *b, const struct corral_response *res, int failed)
{
    if (failed || res->err != CORRAL_OK || res->op == CORRAL_OP_ERROR) {
        put_multi_header(b, CORRAL_OP_ERROR, 0, res->err);
        jute_put_int(b, res->err);  /* ErrorResult */
        return;
    }
    switch (res->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:     /* ZooKeeper answers create2 in a multi as create */
        put_multi_header(b, CORRAL_OP_CREATE, 0, 0);
        jute_put_string(b, res->path);
        break;
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        put_multi_header(b, CORRAL_OP_CREATE2, 0, 0);
        jute_put_string(b, res->path);
        put_stat(b, &res->stat);
        break;
    case CORRAL_OP_SET_DATA:
        put_multi_header(b, CORRAL_OP_SET_DATA, 0, 0);
        put_stat(b, &res->stat);
        break;
    case CORRAL_OP_GET_DATA:
        put_multi_header(b, CORRAL_OP_GET_DATA, 0, 0);
        jute_put_buffer(b, res->data, res->data_len);
        put_stat(b, &res->stat);
        break;
    case CORRAL_OP_GET_CHILDREN:
        put_multi_header(b, CORRAL_OP_GET_CHILDREN, 0, 0);
        put_string_vector(b, res->children, res->n_children);
        break;
    default:                    /* delete, check: no record */
        put_multi_header(b, res->op, 0, 0);
        break;
    }
}

static void put_body(struct jute_buf *b, const struct corral_response *rsp)
{
    switch (rsp->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_SYNC:
        jute_put_string(b, rsp->path);
        break;
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        jute_put_string(b, rsp->path);
        put_stat(b, &rsp->stat);
        break;
    case CORRAL_OP_EXISTS:
    case CORRAL_OP_SET_DATA:
    case CORRAL_OP_SET_ACL:
        put_stat(b, &rsp->stat);
        break;
    case CORRAL_OP_GET_DATA:
        jute_put_buffer(b, rsp->data, rsp->data_len);
        put_stat(b, &rsp->stat);
        break;
    case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_EPHEMERALS:
        put_string_vector(b, rsp->children, rsp->n_children);
        break;
    case CORRAL_OP_GET_CHILDREN2:
        put_string_vector(b, rsp->children, rsp->n_children);
        put_stat(b, &rsp->stat);
        break;
    case CORRAL_OP_GET_ACL:
        jute_put_acl_vector(b, rsp->acl, rsp->n_acl);
        put_stat(b, &rsp->stat);
        break;
    case CORRAL_OP_GET_ALL_CHILDREN_NUMBER:
        jute_put_int(b, rsp->number);
        break;
    case CORRAL_OP_ADD_WATCH:       /* ZooKeeper answers an ErrorResponse{err 0} */
        jute_put_int(b, 0);
        break;
    case CORRAL_OP_WHO_AM_I:        /* vector<ClientInfo{authScheme, user}> */
        jute_put_int(b, rsp->n_acl);
        for (int32_t i = 0; i < rsp->n_acl; i++) {
            jute_put_string(b, rsp->acl[i].scheme);
            jute_put_string(b, rsp->acl[i].id);
        }
        break;
    default:                        /* delete, check, ping, auth, closeSession, ... */
        break;
    }
}

void zk_encode_reply(struct jute_buf *b, const struct corral_response *rsp)
{
    int is_multi = rsp->op == CORRAL_OP_MULTI || rsp->op == CORRAL_OP_MULTI_READ;
    /* A multi that produced per-member results reports them; its header says OK. */
    int multi_body = is_multi && (rsp->err == CORRAL_OK || rsp->n_results > 0);
    put_reply_header(b, rsp->xid, rsp->op == CORRAL_OP_AUTH ? 0 : rsp->zxid,  /* as ZooKeeper */
                     multi_body ? CORRAL_OK : rsp->err);
    if (multi_body) {
        int failed = rsp->op == CORRAL_OP_MULTI && rsp->err != CORRAL_OK;
        for (int32_t i = 0; i < rsp->n_results; i++)
            put_multi_result(b, &rsp->results[i], failed);
        put_multi_header(b, -1, 1, -1);
    } else if (rsp->err == CORRAL_OK) {
        put_body(b, rsp);
    }
}

void zk_encode_event(struct jute_buf *b, const struct corral_watch_event *ev)
{
    put_reply_header(b, ZK_XID_NOTIFICATION, -1, CORRAL_OK);
    jute_put_int(b, ev->type);
    jute_put_int(b, ev->state);
    jute_put_string(b, ev->path);
}
