/*
 * replysize.c — the size of a reply on ZooKeeper's wire, computed from the
 * core's response without encoding it.
 *
 * Why: a read's response only points into the tree, so building it costs
 * next to nothing; the transport's encoding is what copies the bytes.  A
 * 36 KB multiRead naming one 1 MB node 1900 times would make a 1.9 GB reply
 * that no client can read anyway (a ZooKeeper client drops the connection on
 * a frame longer than its jute.maxbuffer).  The pipeline measures the reply
 * here first and answers an error instead when it is over the limit.
 *
 * The measure is the zk transport's encoding (libzk: core/zk/reply.c,
 * zk_encode_reply), field for field, so a reply the limit lets through is
 * exactly one a ZooKeeper client accepts; t0250 checks the boundary to the
 * byte.  The protobuf transport's encoding of the same reply is within a few
 * bytes per field of it; there the limit is a bound on memory, not a promise
 * about the peer's reader.
 */
#include <string.h>
#include "replysize.h"
#include "corral/codes.h"

#define HEADER 16               /* ReplyHeader: xid, zxid, err */
#define MULTI_HEADER 9          /* MultiHeader: type, done, err */
#define STAT 68

static int64_t str_size(const char *s)
{
    return 4 + (s ? (int64_t)strlen(s) : 0);
}

static int64_t buf_size(const uint8_t *data, int32_t len)
{
    return 4 + (data && len > 0 ? len : 0);
}

static int64_t strings_size(const char *const *v, int32_t n)
{
    int64_t size = 4;
    for (int32_t i = 0; i < n; i++)
        size += str_size(v[i]);
    return size;
}

/* A multi member; failed: a multi that failed reports every member as an error. */
static int64_t member_size(const struct corral_response *m, int failed)
{
    if (failed || m->err != CORRAL_OK || m->op == CORRAL_OP_ERROR)
        return MULTI_HEADER + 4;       /* ErrorResult */
    switch (m->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
        return MULTI_HEADER + str_size(m->path);
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        return MULTI_HEADER + str_size(m->path) + STAT;
    case CORRAL_OP_SET_DATA:
        return MULTI_HEADER + STAT;
    case CORRAL_OP_GET_DATA:
        return MULTI_HEADER + buf_size(m->data, m->data_len) + STAT;
    case CORRAL_OP_GET_CHILDREN:
        return MULTI_HEADER + strings_size(m->children, m->n_children);
    default:
        return MULTI_HEADER;
    }
}

int64_t reply_member_size(const struct corral_response *m)
{
    return member_size(m, 0);
}

int64_t reply_multi_overhead(void)
{
    return HEADER + MULTI_HEADER;
}

static int64_t acl_size(const struct corral_acl *acl, int32_t n, int with_perms)
{
    int64_t size = 4;
    for (int32_t i = 0; i < n; i++)
        size += (with_perms ? 4 : 0) + str_size(acl[i].scheme) + str_size(acl[i].id);
    return size;
}

static int64_t body_size(const struct corral_response *rsp)
{
    switch (rsp->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_SYNC:
        return str_size(rsp->path);
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        return str_size(rsp->path) + STAT;
    case CORRAL_OP_EXISTS:
    case CORRAL_OP_SET_DATA:
    case CORRAL_OP_SET_ACL:
        return STAT;
    case CORRAL_OP_GET_DATA:
        return buf_size(rsp->data, rsp->data_len) + STAT;
    case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_EPHEMERALS:
        return strings_size(rsp->children, rsp->n_children);
    case CORRAL_OP_GET_CHILDREN2:
        return strings_size(rsp->children, rsp->n_children) + STAT;
    case CORRAL_OP_GET_ACL:
        return (rsp->n_acl < 0 ? 4 : acl_size(rsp->acl, rsp->n_acl, 1)) + STAT;
    case CORRAL_OP_GET_ALL_CHILDREN_NUMBER:
    case CORRAL_OP_ADD_WATCH:
        return 4;
    case CORRAL_OP_WHO_AM_I:
        return acl_size(rsp->acl, rsp->n_acl, 0);
    default:
        return 0;
    }
}

int64_t reply_size(const struct corral_response *rsp)
{
    int is_multi = rsp->op == CORRAL_OP_MULTI || rsp->op == CORRAL_OP_MULTI_READ;
    if (is_multi && (rsp->err == CORRAL_OK || rsp->n_results > 0)) {
        int failed = rsp->op == CORRAL_OP_MULTI && rsp->err != CORRAL_OK;
        int64_t size = reply_multi_overhead();
        for (int32_t i = 0; i < rsp->n_results; i++)
            size += member_size(&rsp->results[i], failed);
        return size;
    }
    return HEADER + (rsp->err == CORRAL_OK ? body_size(rsp) : 0);
}
