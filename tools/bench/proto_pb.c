/*
 * proto_pb.c — Corral's protobuf transport for corral-bench (--protocol
 * protobuf), so the two transports of one corrald can be measured side by
 * side with the same engine and workloads.
 *
 * The messages are modules/transport/protobuf/corral.proto, compiled by
 * protoc-c at build time (as the server's module is): a ClientMessage with
 * the request id and one request, answered by a ServerMessage echoing the id
 * with an error code and one response.  Pushed messages (watch events,
 * pings, a session's end) carry id 0; requests here are numbered from 1.
 * Framing is the same 4-byte length prefix as ZooKeeper's (wire.c).
 *
 * Encoding packs straight into the engine's output buffer; decoding uses
 * protobuf-c's own unpacker (it allocates per reply — a cost the generator
 * pays, not the server, and one a real generated client pays too).
 */
#include <stdio.h>
#include "bench.h"
#include "corral/codes.h"
#include "corral.pb-c.h"

/* Pack msg as one frame at the end of b. */
static void put_message(struct jute_buf *b, const Corral__ClientMessage *msg)
{
    size_t start;
    wire_begin_frame(b, &start);
    size_t n = corral__client_message__get_packed_size(msg);
    uint8_t *p = jute_buf_reserve(b, n);
    if (!p)
        return;                                   /* b->oom is set */
    corral__client_message__pack(msg, p);
    wire_end_frame(b, start);
}

static void pb_put_get_data(struct jute_buf *b, int32_t xid, const char *path)
{
    Corral__PathWatchRequest req = CORRAL__PATH_WATCH_REQUEST__INIT;
    Corral__ClientMessage msg = CORRAL__CLIENT_MESSAGE__INIT;
    req.path = (char *)path;
    msg.has_id = 1;
    msg.id = (uint32_t)xid;
    msg.request_case = CORRAL__CLIENT_MESSAGE__REQUEST_GET_DATA;
    msg.get_data = &req;
    put_message(b, &msg);
}

static void pb_put_set_data(struct jute_buf *b, int32_t xid, const char *path, const uint8_t *value, int32_t len)
{
    Corral__SetDataRequest req = CORRAL__SET_DATA_REQUEST__INIT;
    Corral__ClientMessage msg = CORRAL__CLIENT_MESSAGE__INIT;
    req.path = (char *)path;
    req.has_data = 1;
    req.data.data = (uint8_t *)value;
    req.data.len = (size_t)len;
    msg.has_id = 1;
    msg.id = (uint32_t)xid;
    msg.request_case = CORRAL__CLIENT_MESSAGE__REQUEST_SET_DATA;
    msg.set_data = &req;
    put_message(b, &msg);
}

static void pb_put_create(struct jute_buf *b, int32_t xid, const char *path, const uint8_t *value, int32_t len)
{
    Corral__ACL open_acl = CORRAL__ACL__INIT;
    Corral__ACL *acls[1] = {&open_acl};
    Corral__CreateRequest req = CORRAL__CREATE_REQUEST__INIT;
    Corral__ClientMessage msg = CORRAL__CLIENT_MESSAGE__INIT;
    open_acl.has_perms = 1;
    open_acl.perms = CORRAL_PERM_ALL;
    open_acl.scheme = "world";
    open_acl.id = "anyone";
    req.path = (char *)path;
    req.has_data = 1;
    req.data.data = (uint8_t *)value;
    req.data.len = (size_t)len;
    req.n_acl = 1;
    req.acl = acls;
    req.has_mode = 1;
    req.mode = CORRAL__CREATE_MODE__PERSISTENT;
    msg.has_id = 1;
    msg.id = (uint32_t)xid;
    msg.request_case = CORRAL__CLIENT_MESSAGE__REQUEST_CREATE;
    msg.create = &req;
    put_message(b, &msg);
}

static void pb_put_delete(struct jute_buf *b, int32_t xid, const char *path)
{
    Corral__DeleteRequest req = CORRAL__DELETE_REQUEST__INIT;
    Corral__ClientMessage msg = CORRAL__CLIENT_MESSAGE__INIT;
    req.path = (char *)path;
    msg.has_id = 1;
    msg.id = (uint32_t)xid;
    msg.request_case = CORRAL__CLIENT_MESSAGE__REQUEST_DELETE;
    msg.delete_ = &req;
    put_message(b, &msg);
}

static void pb_put_close(struct jute_buf *b, int32_t xid)
{
    Corral__Empty empty = CORRAL__EMPTY__INIT;
    Corral__ClientMessage msg = CORRAL__CLIENT_MESSAGE__INIT;
    msg.has_id = 1;
    msg.id = (uint32_t)xid;
    msg.request_case = CORRAL__CLIENT_MESSAGE__REQUEST_CLOSE;
    msg.close = &empty;
    put_message(b, &msg);
}

static int pb_parse_reply(const uint8_t *payload, size_t len, int want_data, struct bench_reply *out)
{
    Corral__ServerMessage *msg = corral__server_message__unpack(NULL, len, payload);
    if (!msg)
        return -1;
    out->id = (int32_t)msg->id;
    out->pushed = msg->id == 0;
    out->code = msg->has_err ? msg->err : 0;
    out->data_len = -1;
    if (want_data && out->code == 0 && msg->response_case == CORRAL__SERVER_MESSAGE__RESPONSE_DATA &&
        msg->data->has_data)
        out->data_len = (int32_t)msg->data->data.len;
    corral__server_message__free_unpacked(msg, NULL);
    return 0;
}

static int pb_handshake(struct bench_session *s, const struct bench_config *cfg, char *err, size_t errlen)
{
    Corral__ConnectRequest req = CORRAL__CONNECT_REQUEST__INIT;
    Corral__ClientMessage msg = CORRAL__CLIENT_MESSAGE__INIT;
    req.has_timeout_ms = 1;
    req.timeout_ms = cfg->session_timeout_ms;
    msg.request_case = CORRAL__CLIENT_MESSAGE__REQUEST_CONNECT;
    msg.connect = &req;
    struct jute_buf b;
    jute_buf_init(&b);
    put_message(&b, &msg);
    uint64_t deadline = now_ns() + 5000000000ull;
    int rc = b.oom ? -1 : wire_write_all(s->fd, b.data, b.len, deadline, err, errlen);
    jute_buf_free(&b);
    if (rc < 0)
        return -1;

    const uint8_t *payload;
    int32_t len;
    size_t consumed;
    if (wire_read_frame(s, &payload, &len, &consumed, deadline, err, errlen) < 0)
        return -1;
    Corral__ServerMessage *reply = corral__server_message__unpack(NULL, (size_t)len, payload);
    wire_consume(s, consumed);
    if (!reply) {
        snprintf(err, errlen, "malformed answer to connect");
        return -1;
    }
    rc = 0;
    if (reply->response_case != CORRAL__SERVER_MESSAGE__RESPONSE_CONNECTED || (reply->has_err && reply->err)) {
        snprintf(err, errlen, "server refused the session (err %d)", reply->has_err ? reply->err : 0);
        rc = -1;
    } else {
        s->session_id = reply->connected->session_id;
    }
    corral__server_message__free_unpacked(reply, NULL);
    return rc;
}

const struct bench_protocol bench_protocol_pb = {
    .name = "protobuf",
    .handshake = pb_handshake,
    .put_get_data = pb_put_get_data,
    .put_set_data = pb_put_set_data,
    .put_create = pb_put_create,
    .put_delete = pb_put_delete,
    .put_close = pb_put_close,
    .parse_reply = pb_parse_reply,
};
