/*
 * conn.c — one protobuf client connection.
 *
 * Input: messages are a 4-byte big-endian length plus that many bytes of a
 * ClientMessage.  Complete messages are handled in order straight from the
 * read buffer; only an incomplete tail is kept in c->in.  The first message
 * must be `connect`.  A length above protobuf.maxMessageSize, a message that
 * does not parse, a request before `connect` or a second `connect` gets an
 * error answer (MARSHALLINGERROR or BADARGUMENTS), a log line, and the
 * connection is closed once that answer is written.  A connection that sends
 * no `connect` within 10 s is closed.
 *
 * Output: answers, events and notices are packed straight into the
 * connection's output buffer and the connection is put on the flush list;
 * an ev_prepare watcher (pb_flush_all) writes every listed buffer once per
 * loop iteration, so pipelined requests read together are answered with one
 * write.  What the socket does not take waits for EV_WRITE; while more than
 * OUTPUT_HIGH bytes wait the connection stops reading.
 *
 * Lifetime: the core may call close() from inside session_submit() or
 * session_connect() (a closeSession, a failed addauth, a session moving to
 * another connection), so a connection is never freed on the core's stack:
 * close() and errors only mark it, and pb_flush_all frees it at top level.
 * When the socket goes first, the core hears session_detach() exactly once;
 * after the core's close() it hears nothing more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "pb.h"
#include "codec.h"

#define READ_CHUNK (64 * 1024)
#define OUTPUT_HIGH (8u << 20)
#define OUTPUT_LOW (1u << 20)
#define HANDSHAKE_TIMEOUT 10.0
/* Time a closing connection gets to take what is queued for it. */
#define CLOSING_TIMEOUT 10.0

static void on_readable(struct ev_loop *loop, ev_io *w, int revents);
static void on_writable(struct ev_loop *loop, ev_io *w, int revents);
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents);
static const struct corral_conn_ops conn_ops;

struct pb_conn *pb_conn_new(int fd, const char *addr, int port)
{
    struct pb_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->state = PB_HANDSHAKE;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->port = port;
    ev_io_init(&c->read_watcher, on_readable, fd, EV_READ);
    ev_io_init(&c->write_watcher, on_writable, fd, EV_WRITE);
    ev_timer_init(&c->timer, on_timer, HANDSHAKE_TIMEOUT, 0.);
    c->read_watcher.data = c->write_watcher.data = c->timer.data = c;
    ev_io_start(pb.core->loop, &c->read_watcher);
    ev_timer_start(pb.core->loop, &c->timer);
    c->reading = 1;
    c->next = pb.conns;
    if (pb.conns)
        pb.conns->prev = c;
    pb.conns = c;
    return c;
}

/* Free everything; the caller made sure c is not on the flush list. */
static void conn_destroy(struct pb_conn *c)
{
    ev_io_stop(pb.core->loop, &c->read_watcher);
    ev_io_stop(pb.core->loop, &c->write_watcher);
    ev_timer_stop(pb.core->loop, &c->timer);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        pb.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->in);
    pb_buf_free(&c->out);
    free(c);
}

void pb_conn_drop(struct pb_conn *c)
{
    if (c->session && !c->core_done)
        pb.core->session_detach(c->session);
    conn_destroy(c);
}

static void schedule(struct pb_conn *c)
{
    if (c->in_flush_list)
        return;
    c->in_flush_list = 1;
    c->flush_next = pb.flush_list;
    pb.flush_list = c;
}

static void stop_reading(struct pb_conn *c)
{
    if (c->reading) {
        ev_io_stop(pb.core->loop, &c->read_watcher);
        c->reading = 0;
    }
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
static void conn_lost(struct pb_conn *c)
{
    if (c->state == PB_DEAD)
        return;
    detach(c);
    c->state = PB_DEAD;
    stop_reading(c);
    schedule(c);
}

/* Flush what is queued, then close. */
static void conn_finish(struct pb_conn *c)
{
    if (c->state == PB_DEAD || c->state == PB_CLOSING)
        return;
    c->state = PB_CLOSING;
    stop_reading(c);
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

static const struct corral_conn_ops conn_ops = {
    .connected = cb_connected,
    .reply = cb_reply,
    .event = cb_event,
    .close = cb_close,
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

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int ensure_input_room(struct pb_conn *c, size_t need)
{
    if (c->in_cap >= need)
        return 0;
    size_t cap = c->in_cap ? c->in_cap : 16 * 1024;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(c->in, cap);
    if (!p)
        return -1;
    c->in = p;
    c->in_cap = cap;
    return 0;
}

static int backlogged(const struct pb_conn *c)
{
    return c->out.len - c->out_off > OUTPUT_HIGH;
}

static int taking_input(const struct pb_conn *c)
{
    return c->state == PB_HANDSHAKE || c->state == PB_CONNECTING || c->state == PB_ACTIVE;
}

/*
 * Handle the complete messages at the start of buf[0..len), in order, while
 * the connection still takes input; returns how many bytes were consumed.
 */
static size_t handle_messages(struct pb_conn *c, const uint8_t *buf, size_t len)
{
    size_t pos = 0;
    while (len - pos >= 4 && taking_input(c)) {
        if (backlogged(c)) {
            if (!c->paused) {
                c->paused = 1;
                stop_reading(c);
            }
            break;
        }
        uint32_t mlen = be32_at(buf + pos);
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

/*
 * Keep the unconsumed tail rest[0..n) (in the scratch buffer or inside c->in)
 * as c->in, with room for the whole message it begins.  0, or -1 out of memory.
 */
static int keep_input(struct pb_conn *c, const uint8_t *rest, size_t n)
{
    if (!taking_input(c)) {
        c->in_len = 0;
        return 0;
    }
    if (n == 0) {
        c->in_len = 0;
        if (c->in_cap > 256 * 1024) {       /* an idle connection keeps no big buffer */
            free(c->in);
            c->in = NULL;
            c->in_cap = 0;
        }
        return 0;
    }
    size_t need = n;
    if (n >= 4) {
        uint32_t mlen = be32_at(rest);
        if (mlen <= pb.max_message && (size_t)mlen + 4 > need)
            need = (size_t)mlen + 4;
    }
    if (c->in && rest >= c->in && rest < c->in + c->in_cap) {
        if (rest != c->in)
            memmove(c->in, rest, n);
    } else {
        if (ensure_input_room(c, n) < 0)
            return -1;
        memcpy(c->in, rest, n);
    }
    c->in_len = n;
    return ensure_input_room(c, need);
}

static void process_input(struct pb_conn *c)
{
    size_t used = handle_messages(c, c->in, c->in_len);
    if (keep_input(c, c->in + used, c->in_len - used) < 0)
        conn_lost(c);
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

/*
 * Reads land in one shared scratch buffer when the connection has nothing
 * pending, and messages are handled straight from it; only a partial message
 * is kept in c->in, which then takes the following reads until it completes.
 */
static uint8_t scratch[READ_CHUNK];

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct pb_conn *c = w->data;
    for (int round = 0; round < 4; round++) {
        uint8_t *dst;
        size_t room;
        if (c->in_len == 0) {
            dst = scratch;
            room = sizeof scratch;
        } else {
            if (c->in_cap - c->in_len < 4096 &&
                ensure_input_room(c, c->in_len + READ_CHUNK / 4) < 0) {
                pb.core->log(CORRAL_LOG_ERROR, PB_WHO, "/%s:%d: out of memory", c->addr,
                             c->port);
                conn_lost(c);
                return;
            }
            dst = c->in + c->in_len;
            room = c->in_cap - c->in_len;
        }
        ssize_t n = read(c->fd, dst, room);
        if (n == 0) {
            conn_lost(c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_lost(c);
            return;
        }
        if (dst == scratch) {
            size_t used = handle_messages(c, scratch, (size_t)n);
            if (keep_input(c, scratch + used, (size_t)n - used) < 0)
                conn_lost(c);
        } else {
            c->in_len += (size_t)n;
            process_input(c);
        }
        if (!c->reading || (size_t)n < room)
            return;
    }
}

/* ---- output ---- */

/* Write what the socket takes: 1 all written, 0 some left, -1 error. */
static int flush_output(struct pb_conn *c)
{
    if (c->out.oom)
        return -1;
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return -1;
    }
    if (c->out_off == c->out.len) {
        c->out_off = 0;
        c->out.len = 0;
        if (c->out.cap > (4u << 20))      /* give back a burst's memory */
            pb_buf_free(&c->out);
        return 1;
    }
    if (c->out_off > c->out.len / 2) {    /* keep the buffer from creeping */
        memmove(c->out.data, c->out.data + c->out_off, c->out.len - c->out_off);
        c->out.len -= c->out_off;
        c->out_off = 0;
    }
    return 0;
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct pb_conn *c = w->data;
    ev_io_stop(loop, w);
    schedule(c);
}

static void service(struct pb_conn *c)
{
    if (c->state == PB_DEAD) {
        conn_destroy(c);
        return;
    }
    int rc = flush_output(c);
    if (rc < 0) {
        if (c->out.oom)
            pb.core->log(CORRAL_LOG_ERROR, PB_WHO, "/%s:%d: out of memory for output; closing",
                         c->addr, c->port);
        conn_lost(c);           /* re-lists it: freed in the next round */
        return;
    }
    if (rc == 0) {
        ev_io_start(pb.core->loop, &c->write_watcher);
        return;
    }
    if (c->state == PB_CLOSING) {
        conn_destroy(c);
        return;
    }
    if (c->paused && c->out.len - c->out_off < OUTPUT_LOW) {
        c->paused = 0;
        ev_io_start(pb.core->loop, &c->read_watcher);
        c->reading = 1;
        process_input(c);
    }
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
