/*
 * zk-quorum-packet.c — libzk's QuorumPacket codec (core/zk/quorum_packet.c)
 * against ZooKeeper 3.8.0's own bytes (zk-trace-packets.h):
 *   - ACK, COMMIT, FOLLOWERINFO, PING decode to the fields the trace names
 *     and encode back to the same bytes;
 *   - REQUEST data (createSession, create, closeSession) decodes to the
 *     session, cxid, type and request, and Corral's encoder of a forwarded
 *     request writes ZooKeeper's bytes exactly, authinfo included;
 *   - PROPOSAL data decodes to the txn with a TxnDigest tail or without,
 *     and Corral's PROPOSAL of the same txn is ZooKeeper's bytes without
 *     the digest (exactly ZooKeeper's when it sent none);
 *   - the stream decoder: packets back to back, every proper prefix of a
 *     packet "incomplete" (never malformed, never a read past the end), and
 *     malformed lengths (negative, oversize, absurd counts, a NUL in an Id)
 *     an error, not a crash or an allocation the size of the lie.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "corral/zk_quorum.h"
#include "corral/zk_txn.h"
#include "corral/zk_proto.h"
#include "zk-trace-packets.h"

#define MAX_DATA (2 * 0xfffff)      /* jute.maxbuffer + extrasize, ZooKeeper's defaults */

static int same_bytes(const struct jute_buf *b, const uint8_t *want, size_t n)
{
    return b->len == n && !memcmp(b->data, want, n);
}

/* Decode a whole packet that must be exactly these bytes. */
static int decode_whole(const uint8_t *p, size_t n, struct zk_quorum_packet *qp)
{
    size_t used = 0;
    int rc = zk_quorum_packet_decode(p, n, MAX_DATA, qp, &used);
    return rc == 1 && used == n;
}

/* Every proper prefix of p is "more bytes needed"; the whole is one packet. */
static int prefixes_incomplete(const uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1);     /* exactly k bytes: ASan sees any over-read */
        memcpy(copy, p, k);
        struct zk_quorum_packet qp;
        size_t used = 0;
        int rc = zk_quorum_packet_decode(copy, k, MAX_DATA, &qp, &used);
        free(copy);
        if (rc != 0)
            return 0;
    }
    return 1;
}

static int roundtrip(const uint8_t *p, size_t n)
{
    struct zk_quorum_packet qp;
    if (!decode_whole(p, n, &qp))
        return 0;
    struct jute_buf b;
    jute_buf_init(&b);
    int same = zk_quorum_packet_encode(&b, &qp) == 0 && same_bytes(&b, p, n);
    jute_buf_free(&b);
    zk_quorum_packet_free(&qp);
    return same;
}

static void test_simple_packets(void)
{
    struct zk_quorum_packet qp;
    ok(decode_whole(trace_commit_1, sizeof trace_commit_1, &qp), "COMMIT: one 20-byte packet");
    ok(qp.type == ZK_QP_COMMIT && qp.zxid == 0x100000001LL && qp.data_len == -1 && !qp.data &&
           qp.n_authinfo == -1,
       "COMMIT: type 4, the zxid, null data, null authinfo");
    zk_quorum_packet_free(&qp);

    struct jute_buf b;
    jute_buf_init(&b);
    zk_quorum_packet_init(&qp, ZK_QP_COMMIT, 0x100000001LL);
    ok(zk_quorum_packet_encode(&b, &qp) == 0 && same_bytes(&b, trace_commit_1, sizeof trace_commit_1),
       "a COMMIT Corral writes is ZooKeeper's bytes");
    jute_buf_reset(&b);
    zk_quorum_packet_init(&qp, ZK_QP_ACK, 0x100000001LL);
    ok(zk_quorum_packet_encode(&b, &qp) == 0 && same_bytes(&b, trace_ack_1, sizeof trace_ack_1),
       "an ACK Corral writes is ZooKeeper's bytes");
    jute_buf_free(&b);

    ok(decode_whole(trace_followerinfo, sizeof trace_followerinfo, &qp) &&
           qp.type == ZK_QP_FOLLOWERINFO && qp.data_len == 20,
       "FOLLOWERINFO: 20 bytes of LearnerInfo");
    zk_quorum_packet_free(&qp);
    ok(decode_whole(trace_ping_touches, sizeof trace_ping_touches, &qp) && qp.type == ZK_QP_PING &&
           qp.zxid == 0x300000002LL && qp.data_len == 12,
       "PING with one touch: 12 bytes of data");
    zk_quorum_packet_free(&qp);
    ok(roundtrip(trace_commit_1, sizeof trace_commit_1) &&
           roundtrip(trace_followerinfo, sizeof trace_followerinfo) &&
           roundtrip(trace_ping_touches, sizeof trace_ping_touches) &&
           roundtrip(trace_req_create, sizeof trace_req_create),
       "decoded packets encode back to the same bytes");
    is_str(zk_quorum_packet_name(ZK_QP_INFORM), "INFORM", "type names for the log");
    is_str(zk_quorum_packet_name(99), "UNKNOWN", "an unknown type has a name too");
}

static void test_requests(void)
{
    struct zk_quorum_packet qp;
    struct zk_quorum_request r;
    struct jute_buf b;
    jute_buf_init(&b);

    /* createSession: the negotiated timeout is its record */
    ok(decode_whole(trace_req_cs, sizeof trace_req_cs, &qp) && qp.type == ZK_QP_REQUEST &&
           qp.zxid == -1 && qp.n_authinfo == -1,
       "REQUEST createSession: zxid -1, authinfo null");
    ok(zk_quorum_request_decode(qp.data, (size_t)qp.data_len, &r) == 0 &&
           r.session_id == TRACE_SESSION && r.cxid == 0 && r.type == CORRAL_OP_CREATE_SESSION &&
           r.timeout == 6000 && r.req && r.req->op == CORRAL_OP_CREATE_SESSION,
       "its data: session, cxid 0, type -10, timeout 6000");
    zk_request_free(r.req);
    zk_quorum_packet_free(&qp);
    struct corral_request cs = {.op = CORRAL_OP_CREATE_SESSION, .xid = 0, .data_len = -1};
    ok(zk_quorum_request_encode(&b, TRACE_SESSION, &cs, 6000) == 0, "(encode a createSession)");
    zk_quorum_packet_init(&qp, ZK_QP_REQUEST, -1);
    qp.data = b.data;
    qp.data_len = (int32_t)b.len;
    struct jute_buf pk;
    jute_buf_init(&pk);
    ok(zk_quorum_packet_encode(&pk, &qp) == 0 && same_bytes(&pk, trace_req_cs, sizeof trace_req_cs),
       "Corral's forwarded createSession is ZooKeeper's REQUEST, byte for byte");

    /* create /cap: the client's record, the connection's auth */
    ok(decode_whole(trace_req_create, sizeof trace_req_create, &qp), "REQUEST create: one packet");
    ok(qp.n_authinfo == 1 && !strcmp(qp.authinfo[0].scheme, "ip") &&
           !strcmp(qp.authinfo[0].id, "127.0.0.1"),
       "its authinfo is the connection's ip:127.0.0.1");
    ok(zk_quorum_request_decode(qp.data, (size_t)qp.data_len, &r) == 0 && r.cxid == 1 &&
           r.type == CORRAL_OP_CREATE && r.req && !strcmp(r.req->path, "/cap") &&
           r.req->data_len == 5 && !memcmp(r.req->data, "hello", 5) && r.req->n_acl == 1 &&
           r.req->acl[0].perms == 31 && !strcmp(r.req->acl[0].scheme, "world") &&
           r.req->flags == 0,
       "its data: cxid 1, create /cap \"hello\" world:anyone, persistent");
    jute_buf_reset(&b);
    jute_buf_reset(&pk);
    ok(zk_quorum_request_encode(&b, r.session_id, r.req, 0) == 0, "(encode it again)");
    struct zk_quorum_packet again = qp;
    again.data = b.data;
    again.data_len = (int32_t)b.len;
    ok(zk_quorum_packet_encode(&pk, &again) == 0 &&
           same_bytes(&pk, trace_req_create, sizeof trace_req_create),
       "and Corral writes the same REQUEST");
    zk_request_free(r.req);
    zk_quorum_packet_free(&qp);

    /* closeSession: no record */
    ok(decode_whole(trace_req_close, sizeof trace_req_close, &qp) &&
           zk_quorum_request_decode(qp.data, (size_t)qp.data_len, &r) == 0 && r.cxid == 6 &&
           r.type == CORRAL_OP_CLOSE_SESSION && qp.data_len == 16,
       "REQUEST closeSession: 16 bytes, no record");
    zk_request_free(r.req);
    zk_quorum_packet_free(&qp);

    /* a malformed request goes with no record; short data does not decode */
    struct corral_request bad = {.op = CORRAL_OP_SET_DATA, .xid = 9, .malformed = 1, .data_len = -1};
    jute_buf_reset(&b);
    ok(zk_quorum_request_encode(&b, 7, &bad, 0) == 0 && b.len == 16,
       "a request the transport could not read is forwarded with an empty record");
    ok(zk_quorum_request_decode(trace_req_cs + 16, 10, &r) == -1 && !r.req,
       "REQUEST data shorter than its header: an error");
    uint8_t lie[] = {0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 5, 0x7f, 0xff, 0xff, 0xff};
    ok(zk_quorum_request_decode(lie, sizeof lie, &r) == -1 && !r.req,
       "a setData record whose path length overruns: an error");
    jute_buf_free(&b);
    jute_buf_free(&pk);
}

static void test_proposals(void)
{
    struct zk_quorum_packet qp;
    struct corral_txn t;
    struct jute_buf b;
    jute_buf_init(&b);

    ok(decode_whole(trace_prop_cs, sizeof trace_prop_cs, &qp) && qp.type == ZK_QP_PROPOSAL &&
           qp.zxid == 0x100000001LL && qp.data_len == 48,
       "PROPOSAL createSession: 48 bytes of txn entry");
    ok(zk_quorum_txn_decode(&qp, &t) == 0 && t.session_id == TRACE_SESSION && t.cxid == 0 &&
           t.zxid == 0x100000001LL && t.time == TRACE_TIME_CS &&
           t.type == CORRAL_OP_CREATE_SESSION && t.timeout == 6000,
       "its txn: header and CreateSessionTxn, the digest tail skipped");
    ok(zk_txn_encode(&b, &t) == 0 && same_bytes(&b, qp.data, 36),
       "Corral's entry for it is ZooKeeper's without the TxnDigest");
    zk_txn_free(&t);
    zk_quorum_packet_free(&qp);

    ok(decode_whole(trace_prop_create, sizeof trace_prop_create, &qp) &&
           zk_quorum_txn_decode(&qp, &t) == 0 && t.type == CORRAL_OP_CREATE && t.cxid == 1 &&
           !strcmp(t.path, "/cap") && t.data_len == 5 && !memcmp(t.data, "hello", 5) &&
           t.n_acl == 1 && t.acl[0].perms == 31 && !t.ephemeral && t.parent_cversion == 1,
       "PROPOSAL create: CreateTxn /cap \"hello\" world:anyone, parentCVersion 1");
    zk_txn_free(&t);
    zk_quorum_packet_free(&qp);

    ok(decode_whole(trace_prop_close, sizeof trace_prop_close, &qp) &&
           zk_quorum_txn_decode(&qp, &t) == 0 && t.type == CORRAL_OP_CLOSE_SESSION &&
           t.n_close_paths == 1 && !strcmp(t.close_paths[0], "/cap/eph"),
       "PROPOSAL closeSession: paths2Delete [/cap/eph] before the digest");
    zk_txn_free(&t);
    zk_quorum_packet_free(&qp);

    ok(decode_whole(trace_prop_err, sizeof trace_prop_err, &qp) &&
           zk_quorum_txn_decode(&qp, &t) == 0 && t.type == CORRAL_OP_ERROR && t.err == -101,
       "PROPOSAL error txn without a digest: ErrorTxn -101");
    jute_buf_reset(&b);
    ok(zk_txn_encode(&b, &t) == 0, "(encode its txn)");
    struct zk_quorum_packet mine;
    zk_quorum_packet_init(&mine, ZK_QP_PROPOSAL, t.zxid);
    mine.data = b.data;
    mine.data_len = (int32_t)b.len;
    struct jute_buf pk;
    jute_buf_init(&pk);
    ok(zk_quorum_packet_encode(&pk, &mine) == 0 &&
           same_bytes(&pk, trace_prop_err, sizeof trace_prop_err),
       "Corral's PROPOSAL of it is ZooKeeper's, byte for byte");
    zk_txn_free(&t);

    /* what a txn decode refuses */
    struct zk_quorum_packet wrong = qp;
    wrong.zxid = 0x100000008LL;
    ok(zk_quorum_txn_decode(&wrong, &t) == -1, "a packet zxid other than its header's: an error");
    wrong = qp;
    wrong.type = ZK_QP_COMMIT;
    ok(zk_quorum_txn_decode(&wrong, &t) == -1, "a COMMIT carries no txn");
    wrong = qp;
    wrong.data_len = 30;
    ok(zk_quorum_txn_decode(&wrong, &t) == -1, "a txn entry cut short: an error");
    zk_quorum_packet_free(&qp);
    jute_buf_free(&b);
    jute_buf_free(&pk);
}

/* A packet's bytes with the int at offset replaced. */
static int decode_patched(const uint8_t *p, size_t n, size_t offset, int32_t v, size_t max)
{
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    copy[offset] = (uint8_t)((uint32_t)v >> 24);
    copy[offset + 1] = (uint8_t)((uint32_t)v >> 16);
    copy[offset + 2] = (uint8_t)((uint32_t)v >> 8);
    copy[offset + 3] = (uint8_t)v;
    struct zk_quorum_packet qp;
    size_t used = 0;
    int rc = zk_quorum_packet_decode(copy, n, max, &qp, &used);
    if (rc == 1)
        zk_quorum_packet_free(&qp);
    free(copy);
    return rc;
}

static void test_stream_and_malformed(void)
{
    /* back to back, as on the socket */
    size_t n1 = sizeof trace_prop_create, n2 = sizeof trace_commit_1;
    uint8_t stream[sizeof trace_prop_create + sizeof trace_commit_1];
    memcpy(stream, trace_prop_create, n1);
    memcpy(stream + n1, trace_commit_1, n2);
    struct zk_quorum_packet qp;
    size_t used = 0;
    int first = zk_quorum_packet_decode(stream, sizeof stream, MAX_DATA, &qp, &used);
    ok(first == 1 && used == n1 && qp.type == ZK_QP_PROPOSAL, "a stream: the first packet, its length");
    zk_quorum_packet_free(&qp);
    size_t used2 = 0;
    ok(zk_quorum_packet_decode(stream + used, sizeof stream - used, MAX_DATA, &qp, &used2) == 1 &&
           used2 == n2 && qp.type == ZK_QP_COMMIT,
       "then the next one from where it ended");
    zk_quorum_packet_free(&qp);

    ok(prefixes_incomplete(trace_prop_create, n1) && prefixes_incomplete(trace_req_create, sizeof trace_req_create) &&
           prefixes_incomplete(trace_commit_1, n2),
       "every proper prefix of a packet is incomplete, never malformed");

    ok(decode_patched(trace_prop_create, n1, 12, -2, MAX_DATA) == -1, "data length -2: malformed");
    ok(decode_patched(trace_prop_create, n1, 12, INT32_MIN, MAX_DATA) == -1,
       "data length INT_MIN: malformed");
    ok(decode_patched(trace_prop_create, n1, 12, MAX_DATA + 1, MAX_DATA) == -1,
       "data longer than jute.maxbuffer + extra: malformed at once, not waited for");
    ok(decode_patched(trace_prop_create, n1, 12, 0x7fffffff, MAX_DATA) == -1,
       "data length INT_MAX: malformed");
    ok(decode_patched(trace_prop_create, n1, 12, 50, 49) == -1, "the bound is the caller's");
    ok(decode_patched(trace_commit_1, n2, 16, -7, MAX_DATA) == -1, "authinfo count -7: malformed");
    ok(decode_patched(trace_commit_1, n2, 16, 0x7fffffff, MAX_DATA) == -1,
       "authinfo count INT_MAX: malformed, nothing that size allocated");
    ok(decode_patched(trace_commit_1, n2, 16, 1000, MAX_DATA) == 0,
       "authinfo count 1000 with no entries yet: incomplete (nothing allocated for them)");
    size_t nr = sizeof trace_req_create;
    size_t id_len_at = nr - 9 - 4;              /* the id string's length */
    ok(decode_patched(trace_req_create, nr, id_len_at, -3, MAX_DATA) == -1, "an Id length -3: malformed");
    ok(decode_patched(trace_req_create, nr, id_len_at, 0x7fffffff, MAX_DATA) == -1,
       "an Id length INT_MAX: malformed");
    ok(decode_patched(trace_req_create, nr, id_len_at, 200, MAX_DATA) == 0,
       "an Id longer than the bytes so far: incomplete");
    uint8_t nul[sizeof trace_req_create];
    memcpy(nul, trace_req_create, nr);
    nul[nr - 4] = 0;                            /* "127.\0.0.1" */
    ok(zk_quorum_packet_decode(nul, nr, MAX_DATA, &qp, &used) == -1, "an Id holding a NUL: malformed");
    uint8_t null_id[] = {0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
                         0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    ok(zk_quorum_packet_decode(null_id, sizeof null_id, MAX_DATA, &qp, &used) == 1 &&
           qp.n_authinfo == 1 && !qp.authinfo[0].scheme && !qp.authinfo[0].id,
       "an Id of two null strings reads as nulls");
    zk_quorum_packet_free(&qp);

    struct jute_buf b;
    jute_buf_init(&b);
    struct zk_quorum_packet bad;
    zk_quorum_packet_init(&bad, ZK_QP_PROPOSAL, 1);
    bad.data_len = -2;
    ok(zk_quorum_packet_encode(&b, &bad) == -1, "encoding a data length below -1 is refused");
    bad.data_len = 3;
    ok(zk_quorum_packet_encode(&b, &bad) == -1, "and data with a length but no bytes");
    jute_buf_free(&b);
}

int main(void)
{
    test_simple_packets();
    test_requests();
    test_proposals();
    test_stream_and_malformed();
    return done_testing();
}
