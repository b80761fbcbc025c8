/*
 * quorum_packet.c — ZooKeeper's QuorumPacket and the data of its broadcast
 * packets (zk_quorum.h).
 *
 * A QuorumPacket is written as a bare jute record, packets back to back on
 * the socket (ZK-QUORUM-PROTOCOL.md §2.1):
 *     int type | long zxid | buffer data (-1 null) | vector<Id{ustring scheme, ustring id}> authinfo
 * Nothing says how long a packet is, so the decoder walks the fields and
 * tells "not all here yet" (0) from "never a packet" (-1): every length is
 * checked for sign and bound before it is used, so a hostile or broken peer
 * gets an error, not a huge allocation or a read past the bytes.
 */
#include <stdlib.h>
#include <string.h>
#include "corral/zk_quorum.h"
#include "corral/zk_txn.h"
#include "corral/zk_proto.h"

static const char *const names[] = {
    [ZK_QP_REQUEST] = "REQUEST",       [ZK_QP_PROPOSAL] = "PROPOSAL",
    [ZK_QP_ACK] = "ACK",               [ZK_QP_COMMIT] = "COMMIT",
    [ZK_QP_PING] = "PING",             [ZK_QP_REVALIDATE] = "REVALIDATE",
    [ZK_QP_SYNC] = "SYNC",             [ZK_QP_INFORM] = "INFORM",
    [ZK_QP_COMMITANDACTIVATE] = "COMMITANDACTIVATE",
    [ZK_QP_NEWLEADER] = "NEWLEADER",   [ZK_QP_FOLLOWERINFO] = "FOLLOWERINFO",
    [ZK_QP_UPTODATE] = "UPTODATE",     [ZK_QP_DIFF] = "DIFF",
    [ZK_QP_TRUNC] = "TRUNC",           [ZK_QP_SNAP] = "SNAP",
    [ZK_QP_OBSERVERINFO] = "OBSERVERINFO", [ZK_QP_LEADERINFO] = "LEADERINFO",
    [ZK_QP_ACKEPOCH] = "ACKEPOCH",     [ZK_QP_INFORMANDACTIVATE] = "INFORMANDACTIVATE",
};

const char *zk_quorum_packet_name(int32_t type)
{
    if (type > 0 && (size_t)type < sizeof names / sizeof names[0] && names[type])
        return names[type];
    return "UNKNOWN";
}

void zk_quorum_packet_init(struct zk_quorum_packet *qp, int32_t type, int64_t zxid)
{
    memset(qp, 0, sizeof *qp);
    qp->type = type;
    qp->zxid = zxid;
    qp->data_len = -1;
    qp->n_authinfo = -1;
}

int zk_quorum_packet_encode(struct jute_buf *b, const struct zk_quorum_packet *qp)
{
    if (qp->data_len < -1 || (qp->data_len > 0 && !qp->data))
        return -1;
    jute_put_int(b, qp->type);
    jute_put_long(b, qp->zxid);
    jute_put_buffer(b, qp->data, qp->data_len);
    jute_put_int(b, qp->n_authinfo < 0 ? -1 : qp->n_authinfo);
    for (int32_t i = 0; i < qp->n_authinfo; i++) {
        jute_put_string(b, qp->authinfo[i].scheme);
        jute_put_string(b, qp->authinfo[i].id);
    }
    return b->oom ? -1 : 0;
}

void zk_quorum_packet_free(struct zk_quorum_packet *qp)
{
    for (int32_t i = 0; i < qp->n_authinfo; i++) {
        free(qp->authinfo[i].scheme);
        free(qp->authinfo[i].id);
    }
    free(qp->authinfo);
    zk_quorum_packet_init(qp, 0, 0);
}

/* ---- decoding, three-way: 1 read, 0 more bytes needed, -1 malformed ---- */

struct cursor {
    const uint8_t *p;
    size_t len, pos;
};

static int need(const struct cursor *c, size_t n) { return c->len - c->pos >= n; }

static int32_t be_int(struct cursor *c)
{
    const uint8_t *p = c->p + c->pos;
    c->pos += 4;
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* A length-prefixed field: *at its bytes, *n its length (-1 null). */
static int get_field(struct cursor *c, size_t max, const uint8_t **at, int32_t *n)
{
    if (!need(c, 4))
        return 0;
    *n = be_int(c);
    if (*n < -1 || (*n > 0 && (size_t)*n > max))
        return -1;
    if (*n <= 0) {
        *at = NULL;
        return 1;
    }
    if (!need(c, (size_t)*n))
        return 0;
    *at = c->p + c->pos;
    c->pos += (size_t)*n;
    return 1;
}

/* A ustring as a malloc'd C string (NULL for null); one holding a NUL is malformed. */
static int get_string(struct cursor *c, size_t max, char **out)
{
    const uint8_t *at;
    int32_t n;
    int rc = get_field(c, max, &at, &n);
    *out = NULL;
    if (rc <= 0 || n < 0)
        return rc;
    if (n > 0 && memchr(at, 0, (size_t)n))
        return -1;
    *out = malloc((size_t)n + 1);
    if (!*out)
        return -1;
    if (n)
        memcpy(*out, at, (size_t)n);
    (*out)[n] = 0;
    return 1;
}

static int get_authinfo(struct cursor *c, size_t max, struct zk_quorum_packet *out)
{
    if (!need(c, 4))
        return 0;
    int32_t n = be_int(c);
    if (n < -1)
        return -1;
    if (n <= 0) {
        out->n_authinfo = n;
        return 1;
    }
    /* an Id is at least two lengths: a count the bytes that could follow never hold is a lie */
    if ((size_t)n > max / 8 + 1)
        return -1;
    if (!need(c, (size_t)n * 8))
        return 0;                   /* nothing allocated for entries not yet received */
    out->authinfo = calloc((size_t)n, sizeof *out->authinfo);
    if (!out->authinfo)
        return -1;
    for (int32_t i = 0; i < n; i++) {
        struct zk_id *id = &out->authinfo[i];
        out->n_authinfo = i + 1;
        int rc = get_string(c, max, &id->scheme);
        if (rc > 0)
            rc = get_string(c, max, &id->id);
        if (rc <= 0)
            return rc;
    }
    return 1;
}

int zk_quorum_packet_decode(const uint8_t *p, size_t len, size_t max_data,
                            struct zk_quorum_packet *out, size_t *used)
{
    struct cursor c = {p, len, 0};
    zk_quorum_packet_init(out, 0, 0);
    if (!need(&c, 12))
        return 0;
    out->type = be_int(&c);
    uint32_t hi = (uint32_t)be_int(&c), lo = (uint32_t)be_int(&c);
    out->zxid = (int64_t)((uint64_t)hi << 32 | lo);
    int rc = get_field(&c, max_data, &out->data, &out->data_len);
    if (rc > 0)
        rc = get_authinfo(&c, max_data, out);
    if (rc <= 0) {
        zk_quorum_packet_free(out);
        return rc;
    }
    *used = c.pos;
    return 1;
}

/* ---- PROPOSAL / INFORM: a txn entry ---- */

int zk_quorum_txn_decode(const struct zk_quorum_packet *qp, struct corral_txn *t)
{
    memset(t, 0, sizeof *t);
    if ((qp->type != ZK_QP_PROPOSAL && qp->type != ZK_QP_INFORM) || qp->data_len <= 0)
        return -1;
    if (zk_txn_decode(qp->data, (size_t)qp->data_len, t) < 0)
        return -1;
    if (t->zxid != qp->zxid) {
        zk_txn_free(t);
        memset(t, 0, sizeof *t);
        return -1;
    }
    return 0;
}

/* ---- REQUEST: a forwarded client request ---- */

int zk_quorum_request_encode(struct jute_buf *b, int64_t session_id, const struct corral_request *req,
                             int32_t timeout)
{
    jute_put_long(b, session_id);
    jute_put_int(b, req->xid);
    jute_put_int(b, req->op);
    if (req->op == CORRAL_OP_CREATE_SESSION)
        jute_put_int(b, timeout);
    else if (!req->malformed && zk_encode_request_body(b, req) < 0)
        return -1;
    return b->oom ? -1 : 0;
}

int zk_quorum_request_decode(const uint8_t *data, size_t len, struct zk_quorum_request *out)
{
    struct jute_reader r;
    memset(out, 0, sizeof *out);
    jute_reader_init(&r, data, len);
    out->session_id = jute_get_long(&r);
    out->cxid = jute_get_int(&r);
    out->type = jute_get_int(&r);
    if (out->type == CORRAL_OP_CREATE_SESSION)
        out->timeout = jute_get_int(&r);
    if (r.err)
        return -1;
    if (out->type == CORRAL_OP_CREATE_SESSION)
        return zk_decode_request_body(out->cxid, out->type, NULL, 0, &out->req);
    return zk_decode_request_body(out->cxid, out->type, data + r.pos, len - r.pos, &out->req);
}
