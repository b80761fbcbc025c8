/*
 * wire.c — what both protocols corral-bench speaks have in common: a TCP
 * connection, frames of a 4-byte big-endian length and a payload, and
 * blocking helpers used outside the timed phases (connect, one call).
 *
 * Everything that depends on the protocol (the session handshake, request
 * encoders, reading a reply) is behind struct bench_protocol: proto_zk.c for
 * ZooKeeper's jute protocol, proto_pb.c for Corral's protobuf transport.
 *
 * wire_connect and wire_call poll with a timeout; the engine never calls
 * them while it measures.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include "bench.h"
#include "corral/codes.h"

/* A reply larger than this is treated as a protocol error. */
#define WIRE_MAX_FRAME (64 * 1024 * 1024)

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A frame's length is known only once its payload is written: reserve it,
 * then patch it. */
void wire_begin_frame(struct jute_buf *b, size_t *frame_start)
{
    *frame_start = b->len;
    jute_put_int(b, 0);
}

void wire_end_frame(struct jute_buf *b, size_t frame_start)
{
    jute_patch_int(b, frame_start, (int32_t)(b->len - frame_start - 4));
}

static int ensure_in_space(struct bench_session *s, size_t want)
{
    if (s->in_cap - s->in_len >= want)
        return 0;
    size_t cap = s->in_cap ? s->in_cap : 65536;
    while (cap - s->in_len < want)
        cap *= 2;
    uint8_t *p = realloc(s->in, cap);
    if (!p)
        return -1;
    s->in = p;
    s->in_cap = cap;
    return 0;
}

int wire_take_frame(struct bench_session *s, const uint8_t **payload, int32_t *len, size_t *consumed, char *err,
                    size_t errlen)
{
    if (s->in_len - *consumed < 4)
        return 0;
    const uint8_t *p = s->in + *consumed;
    int32_t n = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
    if (n < 0 || n > WIRE_MAX_FRAME) {
        snprintf(err, errlen, "bad frame length %d from server", n);
        return -1;
    }
    if (s->in_len - *consumed - 4 < (size_t)n)
        return 0;
    *payload = p + 4;
    *len = n;
    *consumed += 4 + (size_t)n;
    return 1;
}

void wire_consume(struct bench_session *s, size_t n)
{
    if (n == 0)
        return;
    memmove(s->in, s->in + n, s->in_len - n);
    s->in_len -= n;
}

/* Write all of b (from offset) with poll; -1 on error/timeout. */
int wire_write_all(int fd, const uint8_t *p, size_t len, uint64_t deadline_ns, char *err, size_t errlen)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, p + off, len - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(err, errlen, "send: %s", strerror(errno));
            return -1;
        }
        uint64_t now = now_ns();
        if (now >= deadline_ns) {
            snprintf(err, errlen, "timed out sending");
            return -1;
        }
        struct pollfd pfd = {fd, POLLOUT, 0};
        poll(&pfd, 1, (int)((deadline_ns - now) / 1000000u) + 1);
    }
    return 0;
}

/* Read until a whole frame is buffered; returns 1 with the frame, -1 on error. */
int wire_read_frame(struct bench_session *s, const uint8_t **payload, int32_t *len, size_t *consumed,
                      uint64_t deadline_ns, char *err, size_t errlen)
{
    for (;;) {
        *consumed = 0;
        int got = wire_take_frame(s, payload, len, consumed, err, errlen);
        if (got != 0)
            return got;
        if (ensure_in_space(s, 65536) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        ssize_t r = recv(s->fd, s->in + s->in_len, s->in_cap - s->in_len, 0);
        if (r > 0) {
            s->in_len += (size_t)r;
            continue;
        }
        if (r == 0) {
            snprintf(err, errlen, "connection closed by server");
            return -1;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(err, errlen, "recv: %s", strerror(errno));
            return -1;
        }
        uint64_t now = now_ns();
        if (now >= deadline_ns) {
            snprintf(err, errlen, "timed out waiting for the server");
            return -1;
        }
        struct pollfd pfd = {s->fd, POLLIN, 0};
        poll(&pfd, 1, (int)((deadline_ns - now) / 1000000u) + 1);
    }
}

int wire_connect(struct bench_session *s, const struct bench_config *cfg, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    int rc = getaddrinfo(cfg->host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", cfg->host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
        snprintf(err, errlen, "connect to %s:%d: %s", cfg->host, cfg->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    s->fd = fd;
    return cfg->protocol->handshake(s, cfg, err, errlen);
}

int wire_call(struct bench_session *s, struct jute_buf *b, int32_t xid, int timeout_ms, char *err, size_t errlen)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    if (b->oom) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    if (wire_write_all(s->fd, b->data, b->len, deadline, err, errlen) < 0)
        return 1;
    for (;;) {
        const uint8_t *payload;
        int32_t len;
        size_t consumed;
        if (wire_read_frame(s, &payload, &len, &consumed, deadline, err, errlen) < 0)
            return 1;
        struct bench_reply reply;
        int rc = s->protocol->parse_reply(payload, (size_t)len, 0, &reply);
        wire_consume(s, consumed);
        if (rc < 0) {
            snprintf(err, errlen, "malformed reply from the server");
            return 1;
        }
        if (reply.pushed)
            continue;                        /* a watch event or ping */
        if (reply.id == xid)
            return reply.code;
        snprintf(err, errlen, "reply id %d, expected %d", reply.id, xid);
        return 1;
    }
}
