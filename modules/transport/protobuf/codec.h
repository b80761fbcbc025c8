/*
 * codec.h — the protobuf transport's messages, as it reads and writes them:
 * a ClientMessage (corral.proto) decoded into the core's neutral struct
 * corral_request (or connect parameters), and answers, watch events and
 * notices encoded as length-prefixed ServerMessages.
 *
 * Pure codec: no sockets, no libev, no core calls, so it can be driven on
 * its own.  Numbers (ops, create modes, error codes, event types) are
 * ZooKeeper's on both sides, so the mapping is field to field.
 */
#ifndef CORRAL_PB_CODEC_H
#define CORRAL_PB_CODEC_H

#include <stdint.h>
#include <stddef.h>
#include "corral/module.h"
#include "pbbuf.h"

/*
 * An op number the core does not know: a ClientMessage whose request is not
 * set (a newer client's request) is submitted as this, so the core answers
 * it UNIMPLEMENTED in its turn among the session's other answers.
 */
#define PB_OP_UNKNOWN (-1000)

enum pb_message_kind {
    PB_MSG_MALFORMED = -1,      /* not a ClientMessage */
    PB_MSG_CONNECT = 0,         /* *conn filled */
    PB_MSG_REQUEST = 1,         /* *req set (malloc'd; pb_request_free frees it) */
};

/* The `connect` message; passwd copied (the core reads only 16 bytes). */
struct pb_connect {
    int32_t protocol_version;
    int64_t last_zxid_seen;
    int32_t timeout_ms;
    int64_t session_id;
    uint8_t passwd[CORRAL_PASSWD_LEN];
    int32_t passwd_len;         /* as sent; only 16 can match */
    int read_only;
};

/*
 * Decode one message body (without its length prefix).  *id receives the
 * message's id (0 when absent or malformed).  A request comes back as a
 * malloc'd struct corral_request with xid = id, every pointer member
 * malloc'd as request.h asks.  Returns PB_MSG_MALFORMED when the bytes do not
 * parse or memory runs out.
 */
int pb_decode(const uint8_t *frame, size_t len, uint32_t *id, struct pb_connect *conn,
              struct corral_request **req);

/* Free what pb_decode built but was not submitted. */
void pb_request_free(struct corral_request *req);

/*
 * Append one framed ServerMessage (4-byte big-endian length + message) to b.
 * Failed allocations leave b->oom set.
 */
void pb_encode_connected(struct pb_buf *b, uint32_t id, const struct corral_connect_result *res);
void pb_encode_reply(struct pb_buf *b, const struct corral_response *rsp);
void pb_encode_event(struct pb_buf *b, const struct corral_watch_event *ev);
/* An answer with only id and err (protocol errors, refusals). */
void pb_encode_error(struct pb_buf *b, uint32_t id, int32_t err);
/* The notice sent before the server ends a connection for a session reason. */
void pb_encode_session_closed(struct pb_buf *b, int32_t reason);

#endif
