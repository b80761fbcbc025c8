/*
 * proto_zk.c — the little of ZooKeeper's client protocol corral-bench needs
 * (--protocol zk, the default; what Apache ZooKeeper and corrald's zk
 * transport serve).
 *
 * A session starts with ConnectRequest {protocolVersion, lastZxidSeen,
 * timeOut, sessionId, passwd, readOnly} answered by ConnectResponse
 * {protocolVersion, timeOut, sessionId, passwd[, readOnly]}; after that each
 * request is a RequestHeader {xid, type} and a record, each reply a
 * ReplyHeader {xid, zxid, err} and a record.  Watch events come with xid -1,
 * pings with xid -2.  Field layouts: zookeeper.jute.
 */
#include <stdio.h>
#include "bench.h"
#include "corral/codes.h"

static void begin_request(struct jute_buf *b, int32_t xid, int32_t op, size_t *start)
{
    wire_begin_frame(b, start);
    jute_put_int(b, xid);
    jute_put_int(b, op);
}

static void zk_put_get_data(struct jute_buf *b, int32_t xid, const char *path)
{
    size_t start;
    begin_request(b, xid, CORRAL_OP_GET_DATA, &start);
    jute_put_string(b, path);
    jute_put_bool(b, 0);         /* no watch */
    wire_end_frame(b, start);
}

static void zk_put_set_data(struct jute_buf *b, int32_t xid, const char *path, const uint8_t *value, int32_t len)
{
    size_t start;
    begin_request(b, xid, CORRAL_OP_SET_DATA, &start);
    jute_put_string(b, path);
    jute_put_buffer(b, value, len);
    jute_put_int(b, -1);         /* any version */
    wire_end_frame(b, start);
}

static void zk_put_create(struct jute_buf *b, int32_t xid, const char *path, const uint8_t *value, int32_t len)
{
    static const struct corral_acl open_acl = {CORRAL_PERM_ALL, "world", "anyone"};
    size_t start;
    begin_request(b, xid, CORRAL_OP_CREATE, &start);
    jute_put_string(b, path);
    jute_put_buffer(b, value, len);
    jute_put_acl_vector(b, &open_acl, 1);
    jute_put_int(b, CORRAL_CREATE_PERSISTENT);
    wire_end_frame(b, start);
}

static void zk_put_delete(struct jute_buf *b, int32_t xid, const char *path)
{
    size_t start;
    begin_request(b, xid, CORRAL_OP_DELETE, &start);
    jute_put_string(b, path);
    jute_put_int(b, -1);
    wire_end_frame(b, start);
}

static void zk_put_close(struct jute_buf *b, int32_t xid)
{
    size_t start;
    begin_request(b, xid, CORRAL_OP_CLOSE_SESSION, &start);
    wire_end_frame(b, start);
}

static int zk_parse_reply(const uint8_t *payload, size_t len, int want_data, struct bench_reply *out)
{
    struct jute_reader r;
    jute_reader_init(&r, payload, len);
    out->id = jute_get_int(&r);
    (void)jute_get_long(&r);                      /* zxid */
    out->code = jute_get_int(&r);
    out->pushed = out->id == -1 || out->id == -2;
    out->data_len = -1;
    if (!r.err && want_data && out->code == 0 && !out->pushed) {
        const uint8_t *data;
        jute_get_buffer(&r, &data, &out->data_len);
    }
    return r.err ? -1 : 0;
}

static int zk_handshake(struct bench_session *s, const struct bench_config *cfg, char *err, size_t errlen)
{
    static const uint8_t zero_passwd[16];
    struct jute_buf b;
    size_t start;
    jute_buf_init(&b);
    wire_begin_frame(&b, &start);
    jute_put_int(&b, 0);                          /* protocolVersion */
    jute_put_long(&b, 0);                         /* lastZxidSeen */
    jute_put_int(&b, cfg->session_timeout_ms);    /* timeOut */
    jute_put_long(&b, 0);                         /* sessionId */
    jute_put_buffer(&b, zero_passwd, 16);         /* passwd */
    jute_put_bool(&b, 0);                         /* readOnly */
    wire_end_frame(&b, start);
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
    struct jute_reader r;
    jute_reader_init(&r, payload, (size_t)len);
    (void)jute_get_int(&r);                       /* protocolVersion */
    int32_t timeout = jute_get_int(&r);
    s->session_id = jute_get_long(&r);
    const uint8_t *pw;
    int32_t pwlen;
    jute_get_buffer(&r, &pw, &pwlen);
    wire_consume(s, consumed);
    if (r.err) {
        snprintf(err, errlen, "malformed ConnectResponse");
        return -1;
    }
    if (timeout <= 0) {
        snprintf(err, errlen, "server refused the session (timeOut %d)", timeout);
        return -1;
    }
    return 0;
}

const struct bench_protocol bench_protocol_zk = {
    .name = "zk",
    .handshake = zk_handshake,
    .put_get_data = zk_put_get_data,
    .put_set_data = zk_put_set_data,
    .put_create = zk_put_create,
    .put_delete = zk_put_delete,
    .put_close = zk_put_close,
    .parse_reply = zk_parse_reply,
};
