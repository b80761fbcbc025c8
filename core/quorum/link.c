/*
 * link.c — a quorum-port connection: framing, buffering and deadlines
 * (interface and contract in link.h).
 *
 * Input is one growing buffer: bytes are appended as they arrive and whole
 * packets are cut from its front (zk_quorum_packet_decode says whole, not
 * yet, or never).  A packet callback may read raw bytes past the packet
 * (SNAP), give some back, or close the link; the parse loop re-reads the
 * buffer's bounds after each callback, and a close inside a callback only
 * marks the link, which is freed when the callback has returned.
 *
 * Output is queued and written by one ev_prepare watcher shared by every
 * link, which runs just before the loop blocks: everything the loop
 * iteration queued (a batch of PROPOSALs, the COMMITs of a group commit)
 * leaves in one write() per link.  What the socket does not take waits for
 * EV_WRITE.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "server.h"
#include "log.h"
#include "quorum/link.h"

struct qlink {
    int fd;
    char peer[80];
    const struct qlink_handler *h;
    void *arg;
    ev_io rio, wio;
    ev_timer deadline;          /* connect deadline, then the read timeout */
    int64_t read_timeout_ms;
    int connecting;
    int connect_err;            /* a connect() that failed at once, reported at the next iteration */
    int in_callback;
    int dead;                   /* closed inside a callback: freed after it */
    uint8_t *in;
    size_t in_start, in_end, in_cap;
    struct jute_buf out;
    size_t out_sent;            /* bytes of out already written */
    struct qlink *dirty_next;   /* on the flush list */
    int dirty;
};

struct qlistener {
    int fd;
    ev_io io;
    void (*accepted)(int fd, const char *peer, void *arg);
    void *arg;
};

static struct qlink *dirty_head;
static ev_prepare flusher;
static int flusher_started;

static size_t max_packet_data(void)
{
    return (size_t)(server.jute_max_buffer + server.jute_extra_size);
}

static void link_free(struct qlink *l)
{
    ev_io_stop(server.loop, &l->rio);
    ev_io_stop(server.loop, &l->wio);
    ev_timer_stop(server.loop, &l->deadline);
    if (l->dirty) {
        for (struct qlink **pp = &dirty_head; *pp; pp = &(*pp)->dirty_next)
            if (*pp == l) {
                *pp = l->dirty_next;
                break;
            }
    }
    if (l->fd >= 0)
        close(l->fd);
    free(l->in);
    jute_buf_free(&l->out);
    free(l);
}

/* The link ended by itself: tell the owner (unless it closed it), free it. */
static void link_end(struct qlink *l, const char *why)
{
    if (l->dead)
        return;
    l->dead = 1;
    if (l->h->closed) {
        l->in_callback++;
        l->h->closed(l, why, l->arg);
        l->in_callback--;
    }
    if (!l->in_callback)
        link_free(l);
}

void qlink_close(struct qlink *l)
{
    if (!l || l->dead)
        return;
    l->dead = 1;
    if (!l->in_callback)
        link_free(l);
}

const char *qlink_peer(const struct qlink *l)
{
    return l->peer;
}

/* ---- output ---- */

/* Write what the socket takes now.  0 (all written or the rest waits for EV_WRITE), -1 on error. */
static int write_some(struct qlink *l)
{
    while (l->out_sent < l->out.len) {
        ssize_t n = write(l->fd, l->out.data + l->out_sent, l->out.len - l->out_sent);
        if (n > 0) {
            l->out_sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(server.loop, &l->wio);
            return 0;
        }
        return -1;
    }
    jute_buf_reset(&l->out);
    l->out_sent = 0;
    ev_io_stop(server.loop, &l->wio);
    return 0;
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    while (dirty_head) {
        struct qlink *l = dirty_head;
        dirty_head = l->dirty_next;
        l->dirty = 0;
        if (!l->dead && !l->connecting && write_some(l) < 0)
            link_end(l, strerror(errno));
    }
}

static void mark_dirty(struct qlink *l)
{
    if (l->dirty)
        return;
    if (!flusher_started) {
        ev_prepare_init(&flusher, on_prepare);
        ev_prepare_start(server.loop, &flusher);
        ev_unref(server.loop);     /* pending output alone does not keep the loop running */
        flusher_started = 1;
    }
    l->dirty = 1;
    l->dirty_next = dirty_head;
    dirty_head = l;
}

int qlink_send(struct qlink *l, const struct zk_quorum_packet *qp)
{
    if (l->dead || zk_quorum_packet_encode(&l->out, qp) < 0)
        return -1;
    mark_dirty(l);
    return 0;
}

int qlink_send_bytes(struct qlink *l, const void *p, size_t len)
{
    uint8_t *dst = l->dead ? NULL : jute_buf_reserve(&l->out, len);
    if (!dst)
        return -1;
    memcpy(dst, p, len);
    mark_dirty(l);
    return 0;
}

size_t qlink_queued(const struct qlink *l)
{
    return l->out.len - l->out_sent;
}

int qlink_flush(struct qlink *l, int timeout_ms)
{
    if (l->dead)
        return -1;
    int64_t end = now_ms() + timeout_ms;
    while (qlink_queued(l) > 0) {
        if (write_some(l) < 0)
            return -1;
        if (qlink_queued(l) == 0)
            break;
        int left = (int)(end - now_ms());
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = l->fd, .events = POLLOUT};
        if (poll(&pfd, 1, left) < 0 && errno != EINTR)
            return -1;
    }
    return 0;
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    struct qlink *l = w->data;
    if (l->connecting) {
        int err = 0;
        socklen_t elen = sizeof err;
        if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        if (err) {
            link_end(l, strerror(err));
            return;
        }
        l->connecting = 0;
        ev_io_stop(server.loop, &l->wio);
        ev_timer_stop(server.loop, &l->deadline);
        ev_io_start(server.loop, &l->rio);
        if (l->read_timeout_ms > 0) {
            ev_timer_set(&l->deadline, 0., (double)l->read_timeout_ms / 1000.);
            ev_timer_again(server.loop, &l->deadline);
        }
        if (l->h->connected) {
            l->in_callback++;
            l->h->connected(l, l->arg);
            l->in_callback--;
            if (l->dead) {
                link_free(l);
                return;
            }
        }
        if (qlink_queued(l) > 0)
            mark_dirty(l);
        return;
    }
    if (write_some(l) < 0)
        link_end(l, strerror(errno));
}

/* ---- input ---- */

static int in_reserve(struct qlink *l, size_t more)
{
    if (l->in_start > 0 && l->in_start == l->in_end)
        l->in_start = l->in_end = 0;
    if (l->in_end + more <= l->in_cap)
        return 0;
    if (l->in_start > 0) {          /* slide the unparsed bytes to the front */
        memmove(l->in, l->in + l->in_start, l->in_end - l->in_start);
        l->in_end -= l->in_start;
        l->in_start = 0;
        if (l->in_end + more <= l->in_cap)
            return 0;
    }
    size_t cap = l->in_cap ? l->in_cap : 64 * 1024;
    while (cap < l->in_end + more)
        cap *= 2;
    uint8_t *n = realloc(l->in, cap);
    if (!n)
        return -1;
    l->in = n;
    l->in_cap = cap;
    return 0;
}

/* Hand every whole packet in the buffer to the owner.  0, or -1 when the link ended. */
static int parse(struct qlink *l)
{
    while (!l->dead && l->in_end > l->in_start) {
        struct zk_quorum_packet qp;
        size_t used = 0;
        int rc = zk_quorum_packet_decode(l->in + l->in_start, l->in_end - l->in_start,
                                         max_packet_data(), &qp, &used);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            log_warn("quorum: %s: malformed packet (type %d); closing", l->peer,
                     l->in_end - l->in_start >= 4 ? (int)(int32_t)((uint32_t)l->in[l->in_start] << 24 |
                                                           (uint32_t)l->in[l->in_start + 1] << 16 |
                                                           (uint32_t)l->in[l->in_start + 2] << 8 |
                                                           l->in[l->in_start + 3])
                                                : -1);
            link_end(l, "malformed packet");
            return -1;
        }
        /*
         * The packet points into the buffer: copy it out before the owner
         * may read raw bytes or unread (both move the buffer).
         */
        uint8_t *copy = NULL;
        if (qp.data && qp.data_len > 0) {
            copy = malloc((size_t)qp.data_len);
            if (!copy) {
                zk_quorum_packet_free(&qp);
                link_end(l, "out of memory");
                return -1;
            }
            memcpy(copy, qp.data, (size_t)qp.data_len);
            qp.data = copy;
        }
        l->in_start += used;
        l->in_callback++;
        rc = l->h->packet(l, &qp, l->arg);
        l->in_callback--;
        zk_quorum_packet_free(&qp);
        free(copy);
        if (rc < 0 && !l->dead)
            l->dead = 1;
        if (l->dead) {
            if (!l->in_callback)
                link_free(l);
            return -1;
        }
    }
    return 0;
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    struct qlink *l = w->data;
    for (int rounds = 0; rounds < 16; rounds++) {
        if (in_reserve(l, 64 * 1024) < 0) {
            link_end(l, "out of memory");
            return;
        }
        ssize_t n = read(l->fd, l->in + l->in_end, l->in_cap - l->in_end);
        if (n == 0) {
            link_end(l, "closed by the peer");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            link_end(l, strerror(errno));
            return;
        }
        l->in_end += (size_t)n;
        if (l->read_timeout_ms > 0)
            ev_timer_again(server.loop, &l->deadline);
        if (parse(l) < 0)
            return;
        if ((size_t)n < 64 * 1024)
            return;
    }
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    struct qlink *l = w->data;
    link_end(l, l->connect_err ? strerror(l->connect_err)
                : l->connecting ? "connect timed out" : "timed out");
}

void qlink_set_read_timeout(struct qlink *l, int64_t ms)
{
    l->read_timeout_ms = ms;
    if (l->connecting)
        return;
    if (ms <= 0) {
        ev_timer_stop(server.loop, &l->deadline);
        return;
    }
    ev_timer_set(&l->deadline, 0., (double)ms / 1000.);
    ev_timer_again(server.loop, &l->deadline);
}

ssize_t qlink_read_raw(struct qlink *l, void *buf, size_t len, int timeout_ms)
{
    if (len == 0)
        return 0;
    if (l->in_end > l->in_start) {
        size_t n = l->in_end - l->in_start;
        if (n > len)
            n = len;
        memcpy(buf, l->in + l->in_start, n);
        l->in_start += n;
        return (ssize_t)n;
    }
    for (;;) {
        ssize_t n = read(l->fd, buf, len);
        if (n >= 0) {
            if (n > 0 && l->read_timeout_ms > 0)
                ev_timer_again(server.loop, &l->deadline);
            return n;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
        int rc = poll(&pfd, 1, timeout_ms);
        if (rc == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

int qlink_unread(struct qlink *l, const void *p, size_t len)
{
    if (len == 0)
        return 0;
    if (l->in_start >= len) {
        l->in_start -= len;
        memcpy(l->in + l->in_start, p, len);
        return 0;
    }
    size_t have = l->in_end - l->in_start;
    if (in_reserve(l, len) < 0)
        return -1;
    /* in_reserve slid the unparsed bytes to the front when it had to grow */
    memmove(l->in + l->in_start + len, l->in + l->in_start, have);
    memcpy(l->in + l->in_start, p, len);
    l->in_end = l->in_start + len + have;
    return 0;
}

/* ---- sockets ---- */

static void tune(int fd)
{
    int one = 1;
    /* ZooKeeper's leader.nodelay / follower.nodelay default */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static struct qlink *link_new(int fd, const char *peer, const struct qlink_handler *h, void *arg)
{
    struct qlink *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->fd = fd;
    snprintf(l->peer, sizeof l->peer, "%s", peer);
    l->h = h;
    l->arg = arg;
    ev_io_init(&l->rio, on_readable, fd, EV_READ);
    ev_io_init(&l->wio, on_writable, fd, EV_WRITE);
    ev_init(&l->deadline, on_deadline);
    l->rio.data = l->wio.data = l->deadline.data = l;
    return l;
}

struct qlink *qlink_adopt(int fd, const char *peer, const struct qlink_handler *h, void *arg)
{
    tune(fd);
    struct qlink *l = link_new(fd, peer, h, arg);
    if (!l) {
        close(fd);
        return NULL;
    }
    ev_io_start(server.loop, &l->rio);
    return l;
}

static int resolve(const char *host, int port, int passive, struct addrinfo **out)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (passive)
        hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(host, service, &hints, out);
    if (rc != 0) {
        log_error("quorum: cannot resolve %s:%d: %s", host, port, gai_strerror(rc));
        return -1;
    }
    return 0;
}

struct qlink *qlink_dial(const char *host, int port, int timeout_ms, const struct qlink_handler *h,
                         void *arg)
{
    struct addrinfo *ai;
    if (resolve(host, port, 0, &ai) < 0)
        return NULL;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0) {
        log_error("quorum: socket: %s", strerror(errno));
        freeaddrinfo(ai);
        return NULL;
    }
    tune(fd);
    char peer[80];
    snprintf(peer, sizeof peer, "%s:%d", host, port);
    struct qlink *l = link_new(fd, peer, h, arg);
    if (!l) {
        close(fd);
        freeaddrinfo(ai);
        return NULL;
    }
    l->connecting = 1;
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0 && errno != EINPROGRESS) {
        /* reported through closed(), as a connect that fails later is */
        l->connect_err = errno;
        ev_timer_set(&l->deadline, 0., 0.);
        ev_timer_start(server.loop, &l->deadline);
        return l;
    }
    ev_io_start(server.loop, &l->wio);  /* writable: connected, or failed (SO_ERROR) */
    ev_timer_set(&l->deadline, (double)timeout_ms / 1000., 0.);
    ev_timer_start(server.loop, &l->deadline);
    return l;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    struct qlistener *ls = w->data;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage sa;
        socklen_t slen = sizeof sa;
        int fd = accept(ls->fd, (struct sockaddr *)&sa, &slen);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("quorum: accept: %s", strerror(errno));
            return;
        }
        char host[INET6_ADDRSTRLEN] = "?", peer[80];
        int port = 0;
        if (sa.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            port = ntohs(in->sin_port);
        } else if (sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            port = ntohs(in6->sin6_port);
        }
        snprintf(peer, sizeof peer, "%s:%d", host, port);
        tune(fd);
        ls->accepted(fd, peer, ls->arg);
    }
}

struct qlistener *qlink_listen(const char *host, int port,
                               void (*accepted)(int fd, const char *peer, void *arg), void *arg)
{
    struct addrinfo *ai;
    if (resolve(host, port, 1, &ai) < 0)
        return NULL;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
        log_error("quorum: cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return NULL;
    }
    freeaddrinfo(ai);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    struct qlistener *ls = calloc(1, sizeof *ls);
    if (!ls) {
        close(fd);
        return NULL;
    }
    ls->fd = fd;
    ls->accepted = accepted;
    ls->arg = arg;
    ev_io_init(&ls->io, on_accept, fd, EV_READ);
    ls->io.data = ls;
    ev_io_start(server.loop, &ls->io);
    return ls;
}

void qlink_listener_close(struct qlistener *ls)
{
    if (!ls)
        return;
    ev_io_stop(server.loop, &ls->io);
    close(ls->fd);
    free(ls);
}
