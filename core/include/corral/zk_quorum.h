/*
 * zk_quorum.h — ZooKeeper 3.8's quorum-port packet (libzk: core/zk/
 * quorum_packet.c): QuorumPacket {int type, long zxid, buffer data,
 * vector<Id> authinfo} with Leader.java's type numbers, and the data of
 * the packets the broadcast phase carries (PROPOSAL / INFORM: a txn entry;
 * REQUEST: a forwarded client request).
 *
 * On the quorum port packets follow each other with no length prefix, so
 * the decoder says whether the bytes so far hold a whole packet, not yet,
 * or never will (malformed): the socket code of the next issue reads until
 * a packet is whole.  Pure codec, as zk_txn.h and zk_proto.h: no sockets,
 * no logging, no state.
 */
#ifndef CORRAL_ZK_QUORUM_H
#define CORRAL_ZK_QUORUM_H

#include <stdint.h>
#include <stddef.h>
#include "corral/jute.h"
#include "corral/txn.h"

/* Leader.java's packet types (ZK-QUORUM-PROTOCOL.md §2.2). */
enum zk_quorum_packet_type {
    ZK_QP_REQUEST = 1,
    ZK_QP_PROPOSAL = 2,
    ZK_QP_ACK = 3,
    ZK_QP_COMMIT = 4,
    ZK_QP_PING = 5,
    ZK_QP_REVALIDATE = 6,
    ZK_QP_SYNC = 7,
    ZK_QP_INFORM = 8,
    ZK_QP_COMMITANDACTIVATE = 9,
    ZK_QP_NEWLEADER = 10,
    ZK_QP_FOLLOWERINFO = 11,
    ZK_QP_UPTODATE = 12,
    ZK_QP_DIFF = 13,
    ZK_QP_TRUNC = 14,
    ZK_QP_SNAP = 15,
    ZK_QP_OBSERVERINFO = 16,
    ZK_QP_LEADERINFO = 17,
    ZK_QP_ACKEPOCH = 18,
    ZK_QP_INFORMANDACTIVATE = 19,
};

/* Its name ("PROPOSAL"), or "UNKNOWN", for log lines. */
const char *zk_quorum_packet_name(int32_t type);

/* An org.apache.zookeeper.data.Id: the client connection's auth, on REQUEST. */
struct zk_id {
    char *scheme;
    char *id;
};

struct zk_quorum_packet {
    int32_t type;
    int64_t zxid;
    const uint8_t *data;        /* decoded: points into the bytes decoded; NULL with -1 */
    int32_t data_len;           /* -1: null (what ACK, COMMIT and most others carry) */
    struct zk_id *authinfo;     /* decoded: malloc'd (zk_quorum_packet_free) */
    int32_t n_authinfo;         /* -1: null, as the leader sends everything */
};

/* A packet of type and zxid with null data and null authinfo (ACK, COMMIT, …). */
void zk_quorum_packet_init(struct zk_quorum_packet *qp, int32_t type, int64_t zxid);

/* Append qp's bytes to b.  0, or -1 on oom or a data_len the reader would refuse. */
int zk_quorum_packet_encode(struct jute_buf *b, const struct zk_quorum_packet *qp);

/*
 * Read one packet from the front of p[0..len).  Returns 1 with *out set and
 * *used the packet's length; 0 when the bytes end before the packet does
 * (read more, call again); -1 when they can never be a packet: a length
 * below -1, data longer than max_data (ZooKeeper's jute.maxbuffer + extra,
 * what a Java peer accepts), an Id string longer than max_data or holding a
 * NUL, more authinfo entries than bytes could hold.  On 0 and -1 *out is
 * left empty.  out->data points into p; free out with zk_quorum_packet_free.
 */
int zk_quorum_packet_decode(const uint8_t *p, size_t len, size_t max_data,
                            struct zk_quorum_packet *out, size_t *used);
void zk_quorum_packet_free(struct zk_quorum_packet *qp);

/*
 * PROPOSAL and INFORM data: the txn entry, TxnHeader + record, as a log
 * entry holds it (zk_txn_encode; Corral writes no TxnDigest, which a Java
 * follower accepts: it skips the comparison).  Decoding takes a digest tail
 * or none.  0, or -1 (type not PROPOSAL/INFORM, null data, a txn that does
 * not decode, or the header's zxid not the packet's); free with zk_txn_free.
 */
int zk_quorum_txn_decode(const struct zk_quorum_packet *qp, struct corral_txn *t);

/*
 * REQUEST data: long sessionId, int cxid, int type, then the request's
 * record as the client sent it (zk_encode_request_body), except
 * createSession, whose record is the negotiated int timeout, and
 * closeSession, which has none.  A request the transport could not read
 * (req->malformed) goes with an empty record: the leader cannot read it
 * either and answers it as it answers any malformed write.
 */
int zk_quorum_request_encode(struct jute_buf *b, int64_t session_id, const struct corral_request *req,
                             int32_t timeout);

struct zk_quorum_request {
    int64_t session_id;
    int32_t cxid;
    int32_t type;
    int32_t timeout;                /* createSession: the timeout its server negotiated */
    struct corral_request *req;     /* op = type, xid = cxid, the record decoded */
};

/* 0, or -1 when data is short or the record malformed; free out->req with zk_request_free. */
int zk_quorum_request_decode(const uint8_t *data, size_t len, struct zk_quorum_request *out);

#endif
