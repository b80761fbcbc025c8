/*
 * conn.c — one protobuf client connection.
 *
 * Input: messages are a 4-byte big-endian length plus that many bytes of a
 * ClientMessage.  Complete messages are handled in order as
 * modules/common/frame_io.c reads them, which also keeps an incomplete tail.
 * The first message must be `connect`.  A length above
 * protobuf.maxMessageSize, a message that does not parse, a request before
 * `connect` or a second `connect` gets an error answer (MARSHALLINGERROR or
 * BADARGUMENTS), a log line, and the connection is closed once that answer
 * is written.  A connection that sends no `connect` within 10 s is closed.
 *
 * Output: answers, events and notices are packed straight into the
 * connection's output buffer and the connection is put on the flush list;
 * an ev_prepare watcher (pb_flush_all) writes every listed buffer once per
 * loop iteration (frame_io_flush), so pipelined requests read together are
 * answered with one write.  What the socket does not take waits for
 * EV_WRITE; while more than 8 MiB wait the connection stops reading, and
 * the core holds the session's queued reads (cb_backlogged) until everything
 * is written (service: session_resume).
 *
 * Lifetime: the core may call close() from inside session_submit() or
 * session_connect() (a closeSession, a failed addauth, a session moving to
 * another connection), so a connection is never freed on the core's stack:
 * close() and errors only mark it, and pb_flush_all frees it at top level.
 * When the socket goes first, the core hears session_detach() exactly once;
 * after the core's close() it hears nothing more.
 */
#include <stdio.h>
#include <stdlib.h>
#include "pb.h"
#include "codec.h"

#define HANDSHAKE_TIMEOUT 10.0
/* Time a closing connection gets to take what is queued for it. */
#define CLOSING_TIMEOUT 10.0

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents);
static const struct corral_conn_ops conn_ops;
static const struct frame_io_ops io_ops;

struct pb_conn *pb_conn_new(int fd, const char *addr, int port)
{
    struct pb_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->state = PB_HANDSHAKE;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->port = port;
    c->io = (struct frame_io){.core = pb.core, .ops = &io_ops, .conn = c,
                              .addr = c->addr, .port = port, .max_frame = pb.max_message};
    frame_io_start(&c->io, fd);
    ev_timer_init(&c->timer, on_timer, HANDSHAKE_TIMEOUT, 0.);
    c->timer.data = c;
    ev_timer_start(pb.core->loop, &c->timer);
    c->next = pb.conns;
    if (pb.conns)
        pb.conns->prev = c;
    pb.conns = c;
    return c;
}

/* Free everything; the caller made sure c is not on the flush list. */
static void conn_destroy(struct pb_conn *c)
{
    frame_io_close(&c->io);
    ev_timer_stop(pb.core->loop, &c->timer);
    if (c->prev)
        c->prev->next = c->next;
    else
        pb.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pb_buf_free(&c->out);
    free(c);
}

void pb_conn_drop(struct pb_conn *c)
{
    if (c->session && !c->core_done)
        pb.core->session_detach(c->session);
    conn_destroy(c);
}

static void schedule(void *conn)
{
    struct pb_conn *c = conn;
    if (c->in_flush_list)
        return;
    c->in_flush_list = 1;
    c->flush_next = pb.flush_list;
    pb.flush_list = c;
}

/* Let go of the session (if the core still has us) without closing the socket yet. */
static void detach(struct pb_conn *c)
{
    if (c->session && !c->core_done)
        pb.core->session_detach(c->session);
    c->core_done = 1;
    c->session = NULL;
}

/* The socket is finished (peer gone, error): no flush. */
static void conn_lost(void *conn)
{
    struct pb_conn *c = conn;
    if (c->state == PB_DEAD)
        return;
    detach(c);
    c->state = PB_DEAD;
    frame_io_stop_reading(&c->io);
    schedule(c);
}

/* Flush what is queued, then close. */
static void conn_finish(struct pb_conn *c)
{
    if (c->state == PB_DEAD || c->state == PB_CLOSING)
        return;
    c->state = PB_CLOSING;
    frame_io_stop_reading(&c->io);
    schedule(c);
    /* a peer that never reads its last answer does not keep us forever */
    ev_timer_stop(pb.core->loop, &c->timer);
    ev_timer_set(&c->timer, CLOSING_TIMEOUT, 0.);
    ev_timer_start(pb.core->loop, &c->timer);
}

/* A protocol error: answer err to id, let go of the session, close after the flush. */
static void protocol_error(struct pb_conn *c, uint32_t id, int32_t err, const char *why)
{
    pb.core->log(CORRAL_LOG_WARN, PB_WHO, "/%s:%d: %s; closing the connection", c->addr, c->port,
                 why);
    detach(c);
    pb_encode_error(&c->out, id, err);
    conn_finish(c);
}

/* ---- callbacks from the core ---- */

static void cb_connected(void *conn, const struct corral_connect_result *res)
{
    struct pb_conn *c = conn;
    if (c->state == PB_DEAD)
        return;
    pb_encode_connected(&c->out, c->connect_id, res);
    schedule(c);
    if (res->err != CORRAL_OK) {
        /* the core keeps nothing of a refused connect */
        c->core_done = 1;
        c->session = NULL;
        conn_finish(c);
        return;
    }
    if (c->state == PB_CONNECTING)
        c->state = PB_ACTIVE;
}

static void cb_reply(void *conn, const struct corral_response *rsp)
{
    struct pb_conn *c = conn;
    if (c->state == PB_DEAD)
        return;
    pb_encode_reply(&c->out, rsp);
    schedule(c);
}

static void cb_event(void *conn, const struct corral_watch_event *ev)
{
    struct pb_conn *c = conn;
    if (c->state == PB_DEAD)
        return;
    pb_encode_event(&c->out, ev);
    schedule(c);
}

/* Asked by the core before it answers a queued read: hold it while our output is backlogged. */
static int cb_backlogged(void *conn)
{
    struct pb_conn *c = conn;
    return frame_io_backlogged(&c->io, c->out.len);
}

static void cb_close(void *conn, int32_t reason)
{
    struct pb_conn *c = conn;
    c->core_done = 1;
    c->session = NULL;
    if (c->state == PB_DEAD)
        return;
    if (reason == CORRAL_ESESSIONMOVED)
        pb.core->log(CORRAL_LOG_INFO, PB_WHO,
                     "closing /%s:%d: session moved to another connection", c->addr, c->port);
    pb_encode_session_closed(&c->out, reason);
    conn_finish(c);
}

/* Our clients read messages up to protobuf.maxMessageSize, as they send them. */
static int64_t cb_max_reply(void *conn)
{
    (void)conn;
    return pb.max_message;
}

static const struct corral_conn_ops conn_ops = {
    .size = sizeof(struct corral_conn_ops),
    .connected = cb_connected,
    .reply = cb_reply,
    .event = cb_event,
    .close = cb_close,
    .backlogged = cb_backlogged,
    .max_reply = cb_max_reply,
};

/* ---- input ---- */

static void handle_connect(struct pb_conn *c, uint32_t id, const struct pb_connect *cr)
{
    struct corral_connect_params p = {
        .protocol_version = cr->protocol_version,
        .last_zxid_seen = cr->last_zxid_seen,
        .timeout_ms = cr->timeout_ms,
        .session_id = cr->session_id,
        .passwd = cr->passwd,
        .passwd_len = cr->passwd_len,
        .read_only = cr->read_only,
        .remote_addr = c->addr,
        .remote_port = c->port,
    };
    c->connect_id = id;
    c->state = PB_CONNECTING;
    ev_timer_stop(pb.core->loop, &c->timer);
    struct corral_session *s = pb.core->session_connect(&p, &conn_ops, c);
    if (c->core_done)           /* refused (connected() already ran) */
        return;
    if (!s) {
        pb.core->log(CORRAL_LOG_WARN, PB_WHO, "/%s:%d: no session; closing", c->addr, c->port);
        c->core_done = 1;
        conn_finish(c);
        return;
    }
    c->session = s;
}

/* One complete message body. */
static void handle_message(struct pb_conn *c, const uint8_t *msg, size_t len)
{
    uint32_t id;
    struct pb_connect cr;
    struct corral_request *req;
    char why[96];
    int kind = pb_decode(msg, len, &id, &cr, &req);
    switch (kind) {
    case PB_MSG_CONNECT:
        if (c->state != PB_HANDSHAKE) {
            protocol_error(c, id, CORRAL_EBADARGUMENTS, "a second connect message");
            return;
        }
        handle_connect(c, id, &cr);
        return;
    case PB_MSG_REQUEST:
        if (c->state == PB_HANDSHAKE) {
            pb_request_free(req);
            protocol_error(c, id, CORRAL_EBADARGUMENTS, "a request before connect");
            return;
        }
        if (c->core_done || !c->session) {  /* refused connect: nothing to submit to */
            pb_request_free(req);
            return;
        }
        /* the core frees it as request.h says: every member was malloc'd */
        pb.core->session_submit(c->session, req);
        return;
    default:
        snprintf(why, sizeof why, "malformed message (%zu bytes)", len);
        protocol_error(c, id, CORRAL_EMARSHALLINGERROR, why);
        return;
    }
}

static int taking_input(void *conn)
{
    const struct pb_conn *c = conn;
    return c->state == PB_HANDSHAKE || c->state == PB_CONNECTING || c->state == PB_ACTIVE;
}

/*
 * Handle the complete messages at the start of buf[0..len), in order, while
 * the connection still takes input; returns how many bytes were consumed.
 */
static size_t handle_messages(void *conn, const uint8_t *buf, size_t len)
{
    struct pb_conn *c = conn;
    size_t pos = 0;
    while (len - pos >= 4 && taking_input(c)) {
        if (frame_io_backlogged(&c->io, c->out.len))
            break;
        uint32_t mlen = frame_io_len(buf + pos);
        if (mlen > pb.max_message) {
            char why[96];
            snprintf(why, sizeof why, "message length %u over the limit (%u)", mlen,
                     pb.max_message);
            protocol_error(c, 0, CORRAL_EMARSHALLINGERROR, why);
            break;
        }
        if (len - pos - 4 < mlen)
            break;
        handle_message(c, buf + pos + 4, mlen);
        pos += 4 + (size_t)mlen;
    }
    return pos;
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct pb_conn *c = w->data;
    if (c->state == PB_HANDSHAKE) {
        pb.core->log(CORRAL_LOG_INFO, PB_WHO, "/%s:%d: no connect message within %.0f s; closing",
                     c->addr, c->port, HANDSHAKE_TIMEOUT);
        conn_lost(c);
    } else if (c->state == PB_CLOSING) {
        conn_lost(c);   /* the core is already done with it: nothing to detach */
    }
}

/* modules/common/frame_io.c moves the bytes and calls these. */
static const struct frame_io_ops io_ops = {
    .who = PB_WHO,
    .frames = handle_messages,
    .taking_input = taking_input,
    .lost = conn_lost,
    .schedule = schedule,
};

/* ---- output ---- */

static void service(struct pb_conn *c)
{
    if (c->state == PB_DEAD) {
        conn_destroy(c);
        return;
    }
    int rc = c->out.oom ? -1 : frame_io_flush(&c->io, &c->out.data, &c->out.len, &c->out.cap);
    if (rc < 0) {
        if (c->out.oom)
            pb.core->log(CORRAL_LOG_ERROR, PB_WHO, "/%s:%d: out of memory for output; closing",
                         c->addr, c->port);
        conn_lost(c);           /* re-lists it: freed in the next round */
        return;
    }
    if (rc == 0)
        return;                 /* the rest waits for EV_WRITE */
    if (c->state == PB_CLOSING) {
        conn_destroy(c);
        return;
    }
    /* all written: the core answers what it held for the backlog (it may close c) */
    if (c->session && !c->core_done)
        pb.core->session_resume(c->session);
    if (taking_input(c))
        frame_io_resume(&c->io, c->out.len);
}

void pb_flush_all(struct ev_loop *loop, ev_prepare *w, int revents)
{
    while (pb.flush_list) {
        struct pb_conn *list = pb.flush_list;
        pb.flush_list = NULL;
        while (list) {
            struct pb_conn *c = list;
            list = c->flush_next;
            c->in_flush_list = 0;
            c->flush_next = NULL;
            service(c);
        }
    }
}
