/*
 * conn.c — one ZooKeeper client connection.
 *
 * Input: complete frames (4-byte big-endian length + payload) are handled
 * in order as modules/common/frame_io.c reads them, which also keeps an
 * incomplete tail.  The first frame is a ConnectRequest, unless the first
 * four bytes spell a four-letter word.  A length below 0 or above
 * jute.maxbuffer ends the connection, as does a ConnectRequest that does not
 * come within 10 s.
 *
 * Output: every reply, event and handshake answer is encoded straight into
 * the connection's one output buffer, and the connection is put on the flush
 * list.  An ev_prepare watcher (zk_flush_all) runs once per loop iteration
 * before libev blocks and writes each listed buffer with as few write(2)s as
 * it takes (frame_io_flush), so pipelined requests read in one go are
 * answered with one write.  What the socket does not take waits for
 * EV_WRITE.  While more than 8 MiB are queued the connection stops reading,
 * and the core holds the session's queued reads (cb_backlogged) until
 * everything is written (service: session_resume).
 *
 * Lifetime: the core may call close() from inside session_submit() (a
 * closeSession, a failed addauth), so a connection is never freed on the
 * core's stack: close() and errors only mark it, and zk_flush_all frees it
 * at top level.  When the socket goes first, the core hears
 * session_detach() exactly once; after the core's close() it hears nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include "zk.h"
#include "corral/zk_proto.h"

/* A connection without a session goes after this long (ZooKeeper: 10 s). */
#define HANDSHAKE_TIMEOUT 10.0
/* Time a closing connection gets to take what is queued for it. */
#define CLOSING_TIMEOUT 10.0

static void on_handshake_timeout(struct ev_loop *loop, ev_timer *w, int revents);
static const struct corral_conn_ops conn_ops;
static const struct frame_io_ops io_ops;

struct zk_conn *zk_conn_new(int fd, const char *addr, int port)
{
    struct zk_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->state = ZK_HANDSHAKE;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->port = port;
    jute_buf_init(&c->out);
    c->established_ms = zk.core->now_ms();
    c->io = (struct frame_io){.core = zk.core, .ops = &io_ops, .conn = c,
                              .addr = c->addr, .port = port,
                              .max_frame = (uint32_t)zk.max_buffer};
    frame_io_start(&c->io, fd);
    ev_timer_init(&c->handshake_timer, on_handshake_timeout, HANDSHAKE_TIMEOUT, 0.);
    c->handshake_timer.data = c;
    ev_timer_start(zk.core->loop, &c->handshake_timer);
    c->next = zk.conns;
    if (zk.conns)
        zk.conns->prev = c;
    zk.conns = c;
    zk.n_conns++;
    return c;
}

/* Free everything; the caller made sure c is not on the flush list. */
void zk_conn_destroy(struct zk_conn *c)
{
    frame_io_close(&c->io);
    ev_timer_stop(zk.core->loop, &c->handshake_timer);
    if (c->prev)
        c->prev->next = c->next;
    else
        zk.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    zk.n_conns--;
    if (c->ip)
        zk_ip_release(c->ip);
    jute_buf_free(&c->out);
    free(c);
}

void zk_conn_schedule(struct zk_conn *c)
{
    if (c->in_flush_list)
        return;
    c->in_flush_list = 1;
    c->flush_next = zk.flush_list;
    zk.flush_list = c;
}

/* The socket is finished (peer gone, error, bad input): no flush. */
static void conn_lost(void *conn)
{
    struct zk_conn *c = conn;
    if (c->state == ZK_DEAD)
        return;
    if (c->session && !c->core_done)
        zk.core->session_detach(c->session);
    c->core_done = 1;
    c->session = NULL;
    c->state = ZK_DEAD;
    frame_io_stop_reading(&c->io);
    zk_conn_schedule(c);
}

/* Flush what is queued, then close. */
static void conn_finish(struct zk_conn *c)
{
    if (c->state == ZK_DEAD || c->state == ZK_CLOSING)
        return;
    c->state = ZK_CLOSING;
    frame_io_stop_reading(&c->io);
    zk_conn_schedule(c);
    /* a peer that never reads its last answer does not keep us forever */
    ev_timer_stop(zk.core->loop, &c->handshake_timer);
    ev_timer_set(&c->handshake_timer, CLOSING_TIMEOUT, 0.);
    ev_timer_start(zk.core->loop, &c->handshake_timer);
}

size_t zk_frame_begin(struct zk_conn *c)
{
    size_t start = c->out.len;
    jute_put_int(&c->out, 0);
    return start;
}

void zk_frame_end(struct zk_conn *c, size_t start)
{
    jute_patch_int(&c->out, start, (int32_t)(c->out.len - start - 4));
    zk_conn_schedule(c);
}

/* ---- callbacks from the core ---- */

static void cb_connected(void *conn, const struct corral_connect_result *res)
{
    struct zk_conn *c = conn;
    size_t start = zk_frame_begin(c);
    zk_encode_connect_response(&c->out, res, c->sent_read_only);
    zk_frame_end(c, start);
    c->packets_sent++;
    zk.packets_sent++;
    if (res->err != CORRAL_OK) {
        /* the core keeps nothing of a refused connect */
        c->core_done = 1;
        c->session = NULL;
        conn_finish(c);
        return;
    }
    if (c->state == ZK_CONNECTING)
        c->state = ZK_ACTIVE;
}

/* ZooKeeper's Request.isValid: the opcodes it serves (auth and sasl aside). */
static int zk_op_known(int32_t op)
{
    switch (op) {
    case CORRAL_OP_CHECK: case CORRAL_OP_CLOSE_SESSION: case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2: case CORRAL_OP_CREATE_TTL: case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_SESSION: case CORRAL_OP_DELETE: case CORRAL_OP_DELETE_CONTAINER:
    case CORRAL_OP_EXISTS: case CORRAL_OP_GET_ACL: case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_ALL_CHILDREN_NUMBER: case CORRAL_OP_GET_CHILDREN2:
    case CORRAL_OP_GET_DATA: case CORRAL_OP_GET_EPHEMERALS: case CORRAL_OP_MULTI:
    case CORRAL_OP_MULTI_READ: case CORRAL_OP_PING: case CORRAL_OP_RECONFIG:
    case CORRAL_OP_SET_ACL: case CORRAL_OP_SET_DATA: case CORRAL_OP_SET_WATCHES:
    case CORRAL_OP_SET_WATCHES2: case CORRAL_OP_SYNC: case CORRAL_OP_CHECK_WATCHES:
    case CORRAL_OP_REMOVE_WATCHES: case CORRAL_OP_ADD_WATCH: case CORRAL_OP_WHO_AM_I:
    case CORRAL_OP_AUTH: case CORRAL_OP_SASL:
        return 1;
    default:
        return 0;
    }
}

/*
 * An op ZooKeeper does not know goes to its UnimplementedRequestProcessor:
 * ZUNIMPLEMENTED with the request's unset zxid (-1), then the connection is
 * closed (below).
 */
static void cb_reply(void *conn, const struct corral_response *rsp)
{
    struct zk_conn *c = conn;
    if (c->state == ZK_DEAD)
        return;
    int unknown = rsp->err == CORRAL_EUNIMPLEMENTED && !zk_op_known(rsp->op);
    size_t start = zk_frame_begin(c);
    if (unknown) {
        struct corral_response r = *rsp;
        r.zxid = -1;
        zk_encode_reply(&c->out, &r);
    } else {
        zk_encode_reply(&c->out, rsp);
    }
    zk_frame_end(c, start);
    c->packets_sent++;
    zk.packets_sent++;
    if (rsp->op != CORRAL_OP_PING) {    /* ZooKeeper sizes every reply but a ping's */
        int32_t size = (int32_t)(c->out.len - start - 4);
        zk.response_last = size;
        if (zk.response_min < 0 || size < zk.response_min)
            zk.response_min = size;
        if (size > zk.response_max)
            zk.response_max = size;
    }
    /* the loop's cached time: a clock read per reply shows in profiles */
    c->last_response_ms = (int64_t)(ev_now(zk.core->loop) * 1000.0);
    /*
     * ZooKeeper answers an op it does not know with ZUNIMPLEMENTED and then
     * drops the connection; the session lives on, as after any lost
     * connection.  The answer is flushed first; the session is detached when
     * the connection goes (not here, inside the core's callback).
     */
    if (unknown)        /* not createTTL without extendedTypesEnabled: that one stays */
        conn_finish(c);
}

static void cb_event(void *conn, const struct corral_watch_event *ev)
{
    struct zk_conn *c = conn;
    if (c->state == ZK_DEAD)
        return;
    size_t start = zk_frame_begin(c);
    zk_encode_event(&c->out, ev);
    zk_frame_end(c, start);
    c->packets_sent++;
    zk.packets_sent++;
}

/* Asked by the core before it answers a queued read: hold it while our output is backlogged. */
static int cb_backlogged(void *conn)
{
    struct zk_conn *c = conn;
    return frame_io_backlogged(&c->io, c->out.len);
}

static void cb_close(void *conn, int32_t reason)
{
    struct zk_conn *c = conn;
    c->core_done = 1;
    c->session = NULL;
    if (reason == CORRAL_ESESSIONMOVED)
        zk.core->log(CORRAL_LOG_INFO, ZK_WHO, "closing /%s:%d: session moved to another connection",
                     c->addr, c->port);
    conn_finish(c);
}

static const struct corral_conn_ops conn_ops = {
    .size = sizeof(struct corral_conn_ops),
    .connected = cb_connected,
    .reply = cb_reply,
    .event = cb_event,
    .close = cb_close,
    .backlogged = cb_backlogged,
};

/* ---- input ---- */

static int handle_connect(struct zk_conn *c, const uint8_t *frame, size_t len)
{
    struct zk_connect_request cr;
    if (zk_decode_connect(frame, len, &cr) < 0) {
        zk.core->log(CORRAL_LOG_WARN, ZK_WHO, "/%s:%d: malformed ConnectRequest; closing",
                     c->addr, c->port);
        return -1;
    }
    struct corral_connect_params p = {
        .protocol_version = cr.protocol_version,
        .last_zxid_seen = cr.last_zxid_seen,
        .timeout_ms = cr.timeout_ms,
        .session_id = cr.session_id,
        .passwd = cr.passwd,
        .passwd_len = cr.passwd_len,
        .read_only = cr.read_only,
        .remote_addr = c->addr,
        .remote_port = c->port,
    };
    c->sent_read_only = cr.has_read_only;
    c->state = ZK_CONNECTING;
    ev_timer_stop(zk.core->loop, &c->handshake_timer);
    struct corral_session *s = zk.core->session_connect(&p, &conn_ops, c);
    if (c->core_done)           /* refused (connected() already ran) */
        return 0;
    if (!s) {
        zk.core->log(CORRAL_LOG_WARN, ZK_WHO, "/%s:%d: no session; closing", c->addr, c->port);
        c->core_done = 1;
        conn_finish(c);
        return 0;
    }
    c->session = s;
    return 0;
}

static int32_t be32_at(const uint8_t *p);

/*
 * A frame whose RequestHeader reads but whose record does not is ZooKeeper's
 * MarshallingError: answered (in order, by the core) and the connection
 * kept.  A frame too short for the header itself ends the connection, and so
 * does a malformed auth packet: ZooKeeper reads that one on its I/O thread
 * (processPacket), where a bad record is an I/O error that drops the client.
 */
static int handle_request(struct zk_conn *c, const uint8_t *frame, size_t len)
{
    struct corral_request *req;
    if (zk_decode_request(frame, len, &req) < 0) {
        if (len < 8) {
            zk.core->log(CORRAL_LOG_WARN, ZK_WHO,
                         "/%s:%d: request of %zu bytes has no RequestHeader; closing", c->addr,
                         c->port, len);
            return -1;
        }
        if (be32_at(frame + 4) == CORRAL_OP_AUTH) {
            zk.core->log(CORRAL_LOG_WARN, ZK_WHO, "/%s:%d: malformed auth packet (%zu bytes); closing",
                         c->addr, c->port, len);
            return -1;
        }
        req = calloc(1, sizeof *req);
        if (!req)
            return -1;
        req->xid = be32_at(frame);
        req->op = be32_at(frame + 4);
        req->data_len = -1;
        req->malformed = 1;
        zk.core->log(CORRAL_LOG_INFO, ZK_WHO, "/%s:%d: malformed record for op %d (%zu bytes)",
                     c->addr, c->port, req->op, len);
    }
    c->packets_received++;
    zk.packets_received++;
    /*
     * Handed to the core, which frees it as request.h says; our decoder
     * allocates exactly the members core->request_free releases.
     */
    zk.core->session_submit(c->session, req);
    return 0;
}

static int32_t be32_at(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static int taking_input(void *conn)
{
    const struct zk_conn *c = conn;
    return c->state != ZK_CLOSING && c->state != ZK_DEAD;
}

/*
 * Handle the complete frames at the start of buf[0..len), in order, while the
 * connection still takes input; returns how many bytes were consumed.
 */
static size_t handle_frames(void *conn, const uint8_t *buf, size_t len)
{
    struct zk_conn *c = conn;
    size_t pos = 0;
    while (len - pos >= 4 && taking_input(c)) {
        if (frame_io_backlogged(&c->io, c->out.len))
            break;
        const uint8_t *p = buf + pos;
        if (c->state == ZK_HANDSHAKE && c->packets_received == 0) {
            int cmd = zk_fourlw_lookup(p);
            if (cmd >= 0) {
                c->packets_received++;
                zk.packets_received++;
                conn_finish(c);     /* first: the answer shows us not reading */
                zk_fourlw_run(c, cmd);
                break;
            }
        }
        int32_t flen = be32_at(p);
        if (flen < 0 || flen > zk.max_buffer) {
            zk.core->log(CORRAL_LOG_WARN, ZK_WHO,
                         "/%s:%d: frame length %d out of range (jute.maxbuffer %d); closing",
                         c->addr, c->port, flen, zk.max_buffer);
            conn_lost(c);
            break;
        }
        if (len - pos - 4 < (size_t)flen)
            break;
        int rc;
        if (c->state == ZK_HANDSHAKE) {
            c->packets_received++;
            zk.packets_received++;
            rc = handle_connect(c, p + 4, (size_t)flen);
        } else {
            rc = handle_request(c, p + 4, (size_t)flen);
        }
        pos += 4 + (size_t)flen;
        if (rc < 0) {
            conn_lost(c);
            break;
        }
    }
    return pos;
}

static void on_handshake_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct zk_conn *c = w->data;
    if (c->state == ZK_HANDSHAKE) {
        zk.core->log(CORRAL_LOG_INFO, ZK_WHO, "/%s:%d: no ConnectRequest within %.0f s; closing",
                     c->addr, c->port, HANDSHAKE_TIMEOUT);
        conn_lost(c);
    } else if (c->state == ZK_CLOSING) {
        conn_lost(c);   /* the core is already done with it: nothing to detach */
    }
}

/* modules/common/frame_io.c moves the bytes and calls these. */
static void schedule(void *conn)
{
    zk_conn_schedule(conn);
}

static const struct frame_io_ops io_ops = {
    .who = ZK_WHO,
    .frames = handle_frames,
    .taking_input = taking_input,
    .lost = conn_lost,
    .schedule = schedule,
};

/* ---- output ---- */

static void service(struct zk_conn *c)
{
    if (c->state == ZK_DEAD) {
        zk_conn_destroy(c);
        return;
    }
    int rc = c->out.oom ? -1 : frame_io_flush(&c->io, &c->out.data, &c->out.len, &c->out.cap);
    if (rc < 0) {
        conn_lost(c);           /* re-lists it: freed in the next round */
        return;
    }
    if (rc == 0)
        return;                 /* the rest waits for EV_WRITE */
    if (c->state == ZK_CLOSING) {
        if (c->session && !c->core_done)
            zk.core->session_detach(c->session);     /* closed by us, not by the core */
        zk_conn_destroy(c);
        return;
    }
    /* all written: the core answers what it held for the backlog (it may close c) */
    if (c->session && !c->core_done)
        zk.core->session_resume(c->session);
    if (taking_input(c))
        frame_io_resume(&c->io, c->out.len);
}

void zk_flush_all(struct ev_loop *loop, ev_prepare *w, int revents)
{
    while (zk.flush_list) {
        struct zk_conn *list = zk.flush_list;
        zk.flush_list = NULL;
        while (list) {
            struct zk_conn *c = list;
            list = c->flush_next;
            c->in_flush_list = 0;
            c->flush_next = NULL;
            service(c);
        }
    }
}
