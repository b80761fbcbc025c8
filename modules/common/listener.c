/*
 * listener.c — the listening side of a TCP service inside a module: resolve
 * an address and port, listen on every address they name (IPv6 sockets are
 * v6-only so an IPv4 twin can bind beside them), and accept from the event
 * loop in batches of up to 64.  When the process is out of descriptors or
 * memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) the socket stays readable and
 * accept would fail at once forever: accepting pauses for 100 ms instead,
 * with a log line, so the loop keeps serving the connections it has.
 */
#define _GNU_SOURCE             /* accept4 */
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
#include "listener.h"

struct listener {
    struct listener *next;
    struct listeners *set;
    int fd;
    ev_io watcher;
    ev_timer retry;             /* re-arms the watcher after a pause */
};

struct listeners {
    const struct corral_core *core;
    const char *who;
    listener_accept_fn fn;
    void *arg;
    struct listener *head;
};

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
    struct listener *l = w->data;
    ev_io_start(loop, &l->watcher);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct listener *l = w->data;
    struct listeners *set = l->set;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                set->core->log(CORRAL_LOG_WARN, set->who, "accept: %s; pausing accepts for 100 ms",
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
        set->fn(fd, addr, port, set->arg);
    }
}

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

int listeners_open(const struct corral_core *core, const char *who, const char *address, int port,
                   listener_accept_fn fn, void *arg, struct listeners **out, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(address, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s", gai_strerror(rc));
        return -1;
    }
    struct listeners *set = calloc(1, sizeof *set);
    if (!set) {
        freeaddrinfo(res);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    set->core = core;
    set->who = who;
    set->fn = fn;
    set->arg = arg;
    int last_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = listen_on(ai);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        struct listener *l = calloc(1, sizeof *l);
        if (!l) {
            close(fd);
            last_errno = ENOMEM;
            continue;
        }
        l->set = set;
        l->fd = fd;
        ev_io_init(&l->watcher, on_accept, fd, EV_READ);
        ev_timer_init(&l->retry, on_retry, 0.1, 0.);
        l->watcher.data = l->retry.data = l;
        ev_io_start(core->loop, &l->watcher);
        l->next = set->head;
        set->head = l;
    }
    freeaddrinfo(res);
    if (!set->head) {
        free(set);
        snprintf(err, errlen, "%s", strerror(last_errno));
        return -1;
    }
    *out = set;
    return 0;
}

void listeners_close(struct listeners *set)
{
    if (!set)
        return;
    while (set->head) {
        struct listener *l = set->head;
        set->head = l->next;
        ev_io_stop(set->core->loop, &l->watcher);
        ev_timer_stop(set->core->loop, &l->retry);
        close(l->fd);
        free(l);
    }
    free(set);
}
