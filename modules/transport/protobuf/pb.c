/*
 * pb.c — the protobuf client transport module: configuration, listening
 * sockets and accept.
 *
 * Serves the whole client operation set (sessions, reads, writes, multi,
 * watches, auth) over length-prefixed protobuf messages defined in
 * corral.proto, on protobufClientPortAddress:protobufClientPort, through the
 * same core API as the ZooKeeper transport: a session opened here sees the
 * same tree, ACLs and watches as one opened on the ZooKeeper port.
 *
 * Keys (declared below so the core accepts them):
 *   protobufClientPort         the port (required: there is no customary one)
 *   protobufClientPortAddress  the address to bind (default 0.0.0.0)
 *   protobuf.maxMessageSize    the largest message accepted, in bytes
 *                              (default: jute.maxbuffer, itself 0xfffff)
 * Accepted sockets are non-blocking with Nagle off; each becomes a struct
 * pb_conn (conn.c).
 */
#define _GNU_SOURCE 1   /* accept4 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "pb.h"

struct pb_transport pb;

struct pb_listener {
    struct pb_listener *next;
    int fd;
    ev_io watcher;
    ev_timer retry;             /* re-arm after EMFILE */
};

/* ---- accept ---- */

static void peer_name(const struct sockaddr_storage *ss, char *addr, size_t len, int *port)
{
    addr[0] = 0;
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, addr, (socklen_t)len);
        *port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
            inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], addr, (socklen_t)len);
        else
            inet_ntop(AF_INET6, &sin6->sin6_addr, addr, (socklen_t)len);
        *port = ntohs(sin6->sin6_port);
    }
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct pb_listener *l = w->data;
    ev_io_start(loop, &l->watcher);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct pb_listener *l = w->data;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                pb.core->log(CORRAL_LOG_WARN, PB_WHO, "accept: %s; pausing accepts for 100 ms",
                             strerror(errno));
                ev_io_stop(loop, &l->watcher);
                ev_timer_set(&l->retry, 0.1, 0.);
                ev_timer_start(loop, &l->retry);
            }
            return;
        }
        char addr[64];
        int port;
        peer_name(&ss, addr, sizeof addr, &port);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!pb_conn_new(fd, addr, port))
            close(fd);
    }
}

/* ---- listening ---- */

static int listen_on(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int pb_start(void)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%d", pb.port);
    int rc = getaddrinfo(pb.address, port, &hints, &res);
    if (rc != 0) {
        pb.core->log(CORRAL_LOG_ERROR, PB_WHO, "protobufClientPortAddress '%s': %s", pb.address,
                     gai_strerror(rc));
        return -1;
    }
    int n = 0, last_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = listen_on(ai);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        struct pb_listener *l = calloc(1, sizeof *l);
        if (!l) {
            close(fd);
            continue;
        }
        l->fd = fd;
        ev_io_init(&l->watcher, on_accept, fd, EV_READ);
        ev_timer_init(&l->retry, on_retry, 0.1, 0.);
        l->watcher.data = l->retry.data = l;
        ev_io_start(pb.core->loop, &l->watcher);
        l->next = pb.listeners;
        pb.listeners = l;
        n++;
    }
    freeaddrinfo(res);
    if (n == 0) {
        pb.core->log(CORRAL_LOG_ERROR, PB_WHO, "cannot listen on %s:%d: %s", pb.address, pb.port,
                     strerror(last_errno));
        return -1;
    }
    ev_prepare_init(&pb.flush_watcher, pb_flush_all);
    ev_prepare_start(pb.core->loop, &pb.flush_watcher);
    pb.core->log(CORRAL_LOG_INFO, PB_WHO, "listening for protobuf clients on %s:%d", pb.address,
                 pb.port);
    return 0;
}

static void pb_stop(void)
{
    while (pb.listeners) {
        struct pb_listener *l = pb.listeners;
        pb.listeners = l->next;
        ev_io_stop(pb.core->loop, &l->watcher);
        ev_timer_stop(pb.core->loop, &l->retry);
        close(l->fd);
        free(l);
    }
    /* flush-listed connections are dropped below; forget the list first */
    for (struct pb_conn *c = pb.flush_list; c; ) {
        struct pb_conn *next = c->flush_next;
        c->in_flush_list = 0;
        c->flush_next = NULL;
        c = next;
    }
    pb.flush_list = NULL;
    while (pb.conns)
        pb_conn_drop(pb.conns);
    if (ev_is_active(&pb.flush_watcher))
        ev_prepare_stop(pb.core->loop, &pb.flush_watcher);
}

/* ---- module ---- */

static int pb_init(const struct corral_core *core)
{
    long long port, max_buffer, max_message;
    memset(&pb, 0, sizeof pb);
    pb.core = core;
    if (core->config_int("protobufClientPort", 0, 0, 65535, &port) < 0 ||
        core->config_int("jute.maxbuffer", 0xfffff, 1, INT32_MAX, &max_buffer) < 0 ||
        core->config_int("protobuf.maxMessageSize", max_buffer, 1, INT32_MAX, &max_message) < 0)
        return -1;
    if (!core->config_get("protobufClientPort")) {
        core->log(CORRAL_LOG_ERROR, PB_WHO,
                  "the protobuf transport needs protobufClientPort (the port it listens on)");
        return -1;
    }
    pb.port = (int)port;
    pb.max_message = (uint32_t)max_message;
    const char *addr = core->config_get("protobufClientPortAddress");
    pb.address = strdup(addr && *addr ? addr : "0.0.0.0");
    if (!pb.address)
        return -1;
    return 0;
}

static void pb_fini(void)
{
    free(pb.address);
    pb.address = NULL;
}

static const struct corral_transport_ops pb_ops = {
    .start = pb_start,
    .stop = pb_stop,
};

static const struct corral_config_key pb_keys[] = {
    {"protobufClientPort", "port of the protobuf client protocol (corral.proto)"},
    {"protobufClientPortAddress", "address the protobuf client port binds to (default 0.0.0.0)"},
    {"protobuf.maxMessageSize", "largest protobuf message accepted, bytes (default jute.maxbuffer)"},
    {NULL, NULL},
};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .kind = CORRAL_MODULE_TRANSPORT,
    .name = "protobuf",
    .version = "1.0",
    .config_keys = pb_keys,
    .init = pb_init,
    .fini = pb_fini,
    .ops = &pb_ops,
};
