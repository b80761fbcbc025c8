/*
 * cnx.c — the election port's connections (see cnx.h for the rules).
 *
 * Per peer: the live connection (fd, read buffer, the bytes being written),
 * a dial in progress (its own fd until the initial message is out), the one
 * queued message, the last message sent (re-sent when a connection comes up
 * with nothing queued, as ZooKeeper's SendWorker does: receivers are
 * idempotent), and the dial back-off.  Connections accepted but not yet
 * identified wait in a list with their own timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <ev.h>
#include "cnx.h"
#include "wire.h"
#include "corral/module.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define HEADER_MAX (20 + FLE_MAX_ADDRESS)

struct buf {
    uint8_t *data;
    size_t len, off, cap;
};

struct peer {
    struct cnx *c;
    int64_t sid;
    const struct corral_quorum_member *m;   /* NULL: not in the view (incoming only) */
    /* the live connection */
    int fd;
    ev_io rio, wio;
    struct buf in, out;
    /* a dial in progress */
    int dial_fd;
    ev_io dio;
    ev_timer dial_timer;
    struct buf dial_out;
    int dial_connected;
    /* the send queue of one, and the last message sent (frames, length included) */
    uint8_t *queued, *last;
    size_t queued_len, last_len;
    int sent_to;                /* ever queued for: ZooKeeper's queueSendMap has it */
    ev_tstamp next_dial;
    int backoff_ms;
};

struct pending {
    struct cnx *c;
    int fd;
    ev_io io;
    ev_timer timer;
    uint8_t buf[HEADER_MAX];
    size_t len;
    struct pending *next;
};

struct cnx {
    struct ev_loop *loop;
    int64_t my_id;
    const struct corral_quorum_view *view;
    struct cnx_callbacks cb;
    int connect_timeout_ms;
    int listen_fd;
    ev_io lio;
    char my_address[300];       /* "ip:port" of my election address, for the initial message */
    struct peer **peers;
    int n_peers;
    struct pending *pending;
};

#define LOG(c, level, ...) ((c)->cb.log((c)->cb.arg, (level), __VA_ARGS__))

static void buf_free(struct buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void buf_put(struct buf *b, const uint8_t *p, size_t n)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data)
            abort();
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static struct peer *find_peer(const struct cnx *c, int64_t sid)
{
    for (int i = 0; i < c->n_peers; i++)
        if (c->peers[i]->sid == sid)
            return c->peers[i];
    return NULL;
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents);
static void on_write(struct ev_loop *loop, ev_io *w, int revents);
static void on_dial(struct ev_loop *loop, ev_io *w, int revents);
static void on_dial_timeout(struct ev_loop *loop, ev_timer *w, int revents);

static struct peer *add_peer(struct cnx *c, int64_t sid, const struct corral_quorum_member *m)
{
    struct peer *p = calloc(1, sizeof *p);
    struct peer **grown = realloc(c->peers, (size_t)(c->n_peers + 1) * sizeof *grown);
    if (!p || !grown)
        abort();
    c->peers = grown;
    c->peers[c->n_peers++] = p;
    p->c = c;
    p->sid = sid;
    p->m = m;
    p->fd = p->dial_fd = -1;
    ev_io_init(&p->rio, on_read, -1, EV_READ);
    ev_io_init(&p->wio, on_write, -1, EV_WRITE);
    ev_io_init(&p->dio, on_dial, -1, EV_WRITE);
    ev_timer_init(&p->dial_timer, on_dial_timeout, 0., 0.);
    p->rio.data = p->wio.data = p->dio.data = p->dial_timer.data = p;
    return p;
}

/* Close the live connection. */
static void close_conn(struct peer *p)
{
    if (p->fd < 0)
        return;
    struct cnx *c = p->c;
    ev_io_stop(c->loop, &p->rio);
    ev_io_stop(c->loop, &p->wio);
    close(p->fd);
    p->fd = -1;
    buf_free(&p->in);
    buf_free(&p->out);
}

static void close_dial(struct peer *p)
{
    if (p->dial_fd < 0)
        return;
    ev_io_stop(p->c->loop, &p->dio);
    ev_timer_stop(p->c->loop, &p->dial_timer);
    close(p->dial_fd);
    p->dial_fd = -1;
    p->dial_connected = 0;
    buf_free(&p->dial_out);
}

/* Write what is buffered; 0, or -1 when the connection broke (closed). */
static int flush_out(struct peer *p)
{
    struct cnx *c = p->c;
    while (p->out.off < p->out.len) {
        ssize_t n = send(p->fd, p->out.data + p->out.off, p->out.len - p->out.off, MSG_NOSIGNAL);
        if (n > 0) {
            p->out.off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(c->loop, &p->wio);
            return 0;
        }
        if (n < 0 && errno == EINTR)
            continue;
        LOG(c, CORRAL_LOG_INFO, "connection with %lld: write failed: %s", (long long)p->sid,
            strerror(errno));
        close_conn(p);
        return -1;
    }
    ev_io_stop(c->loop, &p->wio);
    p->out.off = p->out.len = 0;
    return 0;
}

/* SendWorker: when nothing is being written, write the queued message. */
static void pump(struct peer *p)
{
    if (p->fd < 0 || p->out.len > p->out.off || !p->queued)
        return;
    buf_put(&p->out, p->queued, p->queued_len);
    free(p->last);
    p->last = p->queued;
    p->last_len = p->queued_len;
    p->queued = NULL;
    p->queued_len = 0;
    flush_out(p);
}

/* A live connection with p: fd (initial message done), and bytes already read. */
static void connection_up(struct peer *p, int fd, const uint8_t *extra, size_t n_extra)
{
    struct cnx *c = p->c;
    close_conn(p);           /* a newer connection replaces the old (SendWorker.finish) */
    p->fd = fd;
    p->backoff_ms = 0;
    p->next_dial = 0;
    ev_io_set(&p->rio, fd, EV_READ);
    ev_io_set(&p->wio, fd, EV_WRITE);
    ev_io_start(c->loop, &p->rio);
    if (!p->queued && p->last) {
        /* ZooKeeper re-sends the last message when a connection starts idle */
        p->queued = malloc(p->last_len);
        if (!p->queued)
            abort();
        memcpy(p->queued, p->last, p->last_len);
        p->queued_len = p->last_len;
    }
    LOG(c, CORRAL_LOG_DEBUG, "connection with %lld up", (long long)p->sid);
    if (p->fd == fd && n_extra)
        buf_put(&p->in, extra, n_extra);
    if (p->fd == fd)
        pump(p);
    if (p->fd == fd && n_extra)
        on_read(c->loop, &p->rio, EV_CUSTOM);   /* frames that came with the header */
}

static void dial_failed(struct peer *p, const char *why)
{
    struct cnx *c = p->c;
    close_dial(p);
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (p->backoff_ms > BACKOFF_MAX_MS)
        p->backoff_ms = BACKOFF_MAX_MS;
    p->next_dial = ev_now(c->loop) + p->backoff_ms / 1000.0;
    LOG(c, CORRAL_LOG_DEBUG, "dial to %lld failed: %s (next after %d ms)", (long long)p->sid, why,
        p->backoff_ms);
}

/* connectOne: dial p's election address (asynchronously) unless connected or dialling. */
static void dial(struct peer *p, int force)
{
    struct cnx *c = p->c;
    if (!p->m || p->fd >= 0 || p->dial_fd >= 0)
        return;
    if (!force && ev_now(c->loop) < p->next_dial)
        return;
    char port[16];
    snprintf(port, sizeof port, "%d", p->m->election_port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    int gai = getaddrinfo(p->m->host, port, &hints, &ai);
    if (gai || !ai) {
        if (ai)
            freeaddrinfo(ai);
        dial_failed(p, gai ? gai_strerror(gai) : "no address");
        return;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        dial_failed(p, strerror(errno));
        return;
    }
    set_nonblock(fd);
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        dial_failed(p, strerror(e));
        return;
    }
    p->dial_fd = fd;
    p->dial_connected = 0;
    uint8_t hdr[HEADER_MAX];
    size_t n = fle_initial_encode(hdr, sizeof hdr, c->my_id, c->my_address);
    buf_put(&p->dial_out, hdr, n);
    ev_io_set(&p->dio, fd, EV_WRITE);
    ev_io_start(c->loop, &p->dio);
    ev_timer_set(&p->dial_timer, c->connect_timeout_ms / 1000.0, 0.);
    ev_timer_start(c->loop, &p->dial_timer);
}

static void on_dial_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    dial_failed(w->data, "connect timed out");
}

/* The dial connected (or failed): write the initial message in one go, then
 * keep the socket (peer has the lower sid) or close it (it will call back). */
static void on_dial(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    struct peer *p = w->data;
    struct cnx *c = p->c;
    if (!p->dial_connected) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(p->dial_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            dial_failed(p, strerror(err));
            return;
        }
        p->dial_connected = 1;
    }
    struct buf *b = &p->dial_out;
    while (b->off < b->len) {
        ssize_t n = send(p->dial_fd, b->data + b->off, b->len - b->off, MSG_NOSIGNAL);
        if (n > 0)
            b->off += (size_t)n;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        else if (n < 0 && errno == EINTR)
            continue;
        else {
            dial_failed(p, n < 0 ? strerror(errno) : "closed");
            return;
        }
    }
    int fd = p->dial_fd;
    ev_io_stop(c->loop, &p->dio);
    ev_timer_stop(c->loop, &p->dial_timer);
    buf_free(&p->dial_out);
    p->dial_fd = -1;
    p->dial_connected = 0;
    p->backoff_ms = 0;
    p->next_dial = 0;
    if (p->sid > c->my_id) {
        /* "have smaller server identifier, so dropping the connection" */
        close(fd);
        return;
    }
    connection_up(p, fd, NULL, 0);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    struct peer *p = w->data;
    if (flush_out(p) == 0)
        pump(p);
}

/* RecvWorker: frames of int length (1..512 KiB) + payload; anything else ends the connection. */
static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct peer *p = w->data;
    struct cnx *c = p->c;
    int64_t sid = p->sid;
    int fd = p->fd;
    if (revents & EV_READ) {
        uint8_t tmp[16384];
        for (int reads = 0; reads < 64; reads++) {
            ssize_t n = recv(fd, tmp, sizeof tmp, 0);
            if (n > 0) {
                buf_put(&p->in, tmp, (size_t)n);
                if (p->in.len - p->in.off > 4 + FLE_MAX_FRAME)
                    break;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n < 0 && errno == EINTR)
                continue;
            LOG(c, CORRAL_LOG_INFO, "connection with %lld closed%s%s", (long long)sid,
                n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
            /* deliver what came whole before the end, then report */
            fd = -2;
            break;
        }
    }
    while (p->fd >= 0 && p->in.len - p->in.off >= 4) {
        const uint8_t *h = p->in.data + p->in.off;
        int32_t len = (int32_t)((uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
                                (uint32_t)h[2] << 8 | h[3]);
        if (!fle_frame_length_ok(len)) {
            LOG(c, CORRAL_LOG_WARN, "connection with %lld: invalid frame length %d; closing",
                (long long)sid, len);
            close_conn(p);
            return;
        }
        if (p->in.len - p->in.off < 4 + (size_t)len)
            break;
        size_t at = p->in.off + 4;
        p->in.off += 4 + (size_t)len;
        /* the callback may close or replace this connection: copy the payload */
        uint8_t *msg = malloc((size_t)len);
        if (!msg)
            abort();
        memcpy(msg, p->in.data + at, (size_t)len);
        int before = p->fd;
        c->cb.message(c->cb.arg, sid, msg, (size_t)len);
        free(msg);
        if (p->fd != before)
            return;
    }
    if (fd == -2 && p->fd >= 0)
        close_conn(p);
}

static void pending_free(struct pending *pe, int close_fd)
{
    struct cnx *c = pe->c;
    for (struct pending **pp = &c->pending; *pp; pp = &(*pp)->next)
        if (*pp == pe) {
            *pp = pe->next;
            break;
        }
    ev_io_stop(c->loop, &pe->io);
    ev_timer_stop(c->loop, &pe->timer);
    if (close_fd)
        close(pe->fd);
    free(pe);
}

static void on_pending_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    struct pending *pe = w->data;
    LOG(pe->c, CORRAL_LOG_WARN, "election connection said nothing whole in %d ms; closing",
        pe->c->connect_timeout_ms);
    pending_free(pe, 1);
}

/* handleConnection: read the initial message, then keep, drop or call back. */
static void on_pending_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    struct pending *pe = w->data;
    struct cnx *c = pe->c;
    int ended = 0;
    for (;;) {
        ssize_t n = recv(pe->fd, pe->buf + pe->len, sizeof pe->buf - pe->len, 0);
        if (n > 0) {
            pe->len += (size_t)n;
            if (pe->len == sizeof pe->buf)
                break;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        ended = 1;              /* a lower id writes its message and closes: still read it */
        break;
    }
    struct fle_initial init;
    const char *why = NULL;
    int used = fle_initial_decode(pe->buf, pe->len, &init, &why);
    if (used == 0 && ended) {
        LOG(c, CORRAL_LOG_INFO, "election connection closed before its initial message");
        pending_free(pe, 1);
        return;
    }
    if (used == 0)
        return;                 /* more to come (the timer bounds the wait) */
    if (used < 0) {
        LOG(c, CORRAL_LOG_WARN, "election connection refused: initial message: %s", why);
        pending_free(pe, 1);
        return;
    }
    int64_t sid = init.sid;
    if (sid == FLE_OBSERVER_ID)
        sid = INT64_MIN;        /* ZooKeeper gives it a fresh negative id: below mine */
    int fd = pe->fd;
    uint8_t extra[HEADER_MAX];
    size_t n_extra = pe->len - (size_t)used;
    memcpy(extra, pe->buf + used, n_extra);
    pending_free(pe, 0);
    if (sid == c->my_id) {
        LOG(c, CORRAL_LOG_WARN, "election connection from a server with my own id %lld: "
            "a configuration error?", (long long)sid);
        close(fd);
        return;
    }
    struct peer *p = find_peer(c, sid);
    if (sid < c->my_id) {
        /* the lower id called: drop it and call it back (the kept connection is mine) */
        close(fd);
        if (!p || !p->m) {
            LOG(c, CORRAL_LOG_DEBUG, "election connection from %lld, not in my view: not "
                "calling back", (long long)sid);
            return;
        }
        close_conn(p);
        dial(p, 1);
        return;
    }
    if (ended) {
        close(fd);              /* a higher id that left at once: nothing to keep */
        return;
    }
    if (!p)
        p = add_peer(c, sid, NULL);
    connection_up(p, fd, extra, n_extra);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct cnx *c = w->data;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return;
        set_nonblock(fd);
        struct pending *pe = calloc(1, sizeof *pe);
        if (!pe)
            abort();
        pe->c = c;
        pe->fd = fd;
        pe->next = c->pending;
        c->pending = pe;
        ev_io_init(&pe->io, on_pending_read, fd, EV_READ);
        ev_timer_init(&pe->timer, on_pending_timeout, c->connect_timeout_ms / 1000.0, 0.);
        pe->io.data = pe->timer.data = pe;
        ev_io_start(loop, &pe->io);
        ev_timer_start(loop, &pe->timer);
    }
}

/* NetUtils.formatInetAddr of my election address: the resolved IP, v6 in brackets. */
static int format_my_address(struct cnx *c, const struct corral_quorum_member *me)
{
    char port[16], host[256];
    snprintf(port, sizeof port, "%d", me->election_port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    if (getaddrinfo(me->host, port, &hints, &ai) || !ai ||
        getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST)) {
        if (ai)
            freeaddrinfo(ai);
        return -1;
    }
    int v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    snprintf(c->my_address, sizeof c->my_address, v6 ? "[%s]:%d" : "%s:%d", host,
             me->election_port);
    return 0;
}

static int open_listener(struct cnx *c, const struct corral_quorum_member *me, int listen_all)
{
    char port[16];
    snprintf(port, sizeof port, "%d", me->election_port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE},
                    *ai = NULL;
    int gai = getaddrinfo(listen_all ? NULL : me->host, port, &hints, &ai);
    if (gai || !ai) {
        LOG(c, CORRAL_LOG_ERROR, "election address %s:%d: %s", me->host, me->election_port,
            gai ? gai_strerror(gai) : "no address");
        if (ai)
            freeaddrinfo(ai);
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 50) < 0) {
        LOG(c, CORRAL_LOG_ERROR, "election port %s:%d: cannot listen: %s",
            listen_all ? "*" : me->host, me->election_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->listen_fd = fd;
    ev_io_init(&c->lio, on_accept, fd, EV_READ);
    c->lio.data = c;
    ev_io_start(c->loop, &c->lio);
    return 0;
}

struct cnx *cnx_start(struct ev_loop *loop, int64_t my_id, const struct corral_quorum_view *view,
                      int listen_all, int connect_timeout_ms, const struct cnx_callbacks *cb)
{
    struct cnx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = loop;
    c->my_id = my_id;
    c->view = view;
    c->cb = *cb;
    c->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 5000;
    c->listen_fd = -1;
    const struct corral_quorum_member *me = NULL;
    for (int i = 0; i < view->n_members; i++) {
        if (view->members[i].sid == my_id)
            me = &view->members[i];
        else
            add_peer(c, view->members[i].sid, &view->members[i]);
    }
    if (!me || format_my_address(c, me) < 0) {
        LOG(c, CORRAL_LOG_ERROR, "my election address (server.%lld) does not resolve",
            (long long)my_id);
        cnx_stop(c);
        return NULL;
    }
    if (open_listener(c, me, listen_all) < 0) {
        cnx_stop(c);
        return NULL;
    }
    LOG(c, CORRAL_LOG_INFO, "election port %s:%d open (I am %s)", listen_all ? "*" : me->host,
        me->election_port, c->my_address);
    return c;
}

void cnx_stop(struct cnx *c)
{
    if (!c)
        return;
    while (c->pending)
        pending_free(c->pending, 1);
    for (int i = 0; i < c->n_peers; i++) {
        struct peer *p = c->peers[i];
        close_conn(p);
        close_dial(p);
        free(p->queued);
        free(p->last);
        free(p);
    }
    free(c->peers);
    if (c->listen_fd >= 0) {
        ev_io_stop(c->loop, &c->lio);
        close(c->listen_fd);
    }
    free(c);
}

void cnx_send(struct cnx *c, int64_t sid, const uint8_t *msg, size_t len)
{
    struct peer *p = find_peer(c, sid);
    if (!p || len > FLE_MAX_FRAME)
        return;
    uint8_t *frame = malloc(4 + len);
    if (!frame)
        abort();
    frame[0] = (uint8_t)(len >> 24), frame[1] = (uint8_t)(len >> 16),
    frame[2] = (uint8_t)(len >> 8), frame[3] = (uint8_t)len;
    memcpy(frame + 4, msg, len);
    free(p->queued);            /* a newer message replaces an unsent one */
    p->queued = frame;
    p->queued_len = 4 + len;
    p->sent_to = 1;
    if (p->fd >= 0)
        pump(p);
    else
        dial(p, 0);
}

int cnx_have_delivered(const struct cnx *c)
{
    for (int i = 0; i < c->n_peers; i++)
        if (c->peers[i]->sent_to && !c->peers[i]->queued)
            return 1;
    return 0;
}

void cnx_connect_all(struct cnx *c)
{
    for (int i = 0; i < c->n_peers; i++)
        if (c->peers[i]->sent_to)
            dial(c->peers[i], 0);
}

