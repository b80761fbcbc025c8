/*
 * zk_proto.h — the ZooKeeper client protocol's records (libzk: core/zk/
 * request.c, reply.c): ConnectRequest/ConnectResponse, RequestHeader plus
 * each operation's request record (to and from the core's neutral struct
 * corral_request), ReplyHeader plus each operation's response record
 * (encoded from struct corral_response), and watch notifications.
 *
 * The zk transport reads and answers clients with it; the quorum code needs
 * the request records too (a follower forwards a client's request to the
 * leader in ZooKeeper's REQUEST packet), hence a shared library.
 *
 * Pure codec on top of corral/jute.h: no sockets, no libev, no core calls,
 * so the unit test (t/unit/jute.c) can drive it directly.  Frame lengths are
 * the caller's business: the encoders append a record to a jute_buf.
 */
#ifndef CORRAL_ZK_PROTO_H
#define CORRAL_ZK_PROTO_H

#include <stdint.h>
#include <stddef.h>
#include "corral/jute.h"
#include "corral/module.h"

/* ConnectRequest; passwd points into the decoded frame. */
struct zk_connect_request {
    int32_t protocol_version;
    int64_t last_zxid_seen;
    int32_t timeout_ms;
    int64_t session_id;
    const uint8_t *passwd;
    int32_t passwd_len;     /* -1: null buffer */
    int has_read_only;      /* the client sent the optional readOnly flag */
    int read_only;
};

/* 0, or -1 when the frame is too short or a length is bad. */
int zk_decode_connect(const uint8_t *frame, size_t len, struct zk_connect_request *out);

/*
 * ConnectResponse.  A failed result (err != 0) is written as ZooKeeper writes
 * a refused session: timeout 0, session 0, sixteen zero bytes of password.
 */
void zk_encode_connect_response(struct jute_buf *b, const struct corral_connect_result *res,
                                int with_read_only);

/*
 * RequestHeader + body → a malloc'd request (free with zk_request_free).
 * Returns 0 with *out set; an op this decoder does not know comes back with
 * only op and xid filled (the core answers it ZUNIMPLEMENTED).  Returns -1,
 * *out NULL, when the frame is malformed: too short for the header or its
 * record, a bad length, an invalid multi member.  Trailing bytes are ignored,
 * as ZooKeeper ignores them.
 */
int zk_decode_request(const uint8_t *frame, size_t len, struct corral_request **out);
/* The same for a record alone, its xid and op known (a REQUEST packet's). */
int zk_decode_request_body(int32_t xid, int32_t op, const uint8_t *p, size_t len,
                           struct corral_request **out);
void zk_request_free(struct corral_request *req);

/*
 * The inverse: RequestHeader + record as a client sends it (no frame
 * length), or the record alone.  zk_decode_request reads back the same
 * request, with one exception: a reconfig's record is not kept by the
 * decoder, so it goes out empty.  -1 for a malformed request (it has no
 * record to send) or on oom.
 */
int zk_encode_request(struct jute_buf *b, const struct corral_request *req);
int zk_encode_request_body(struct jute_buf *b, const struct corral_request *req);

/* ReplyHeader + the op's response record (see request.h for which). */
void zk_encode_reply(struct jute_buf *b, const struct corral_response *rsp);

/* ReplyHeader{xid -1, zxid -1, err 0} + WatcherEvent. */
void zk_encode_event(struct jute_buf *b, const struct corral_watch_event *ev);

/* The xids ZooKeeper reserves. */
#define ZK_XID_NOTIFICATION (-1)
#define ZK_XID_PING (-2)
#define ZK_XID_AUTH (-4)
#define ZK_XID_SET_WATCHES (-8)

#endif
