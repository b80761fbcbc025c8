/*
 * zk.c — the ZooKeeper client transport module: configuration, listening
 * sockets, accept, and the per-client-IP connection limit.
 *
 * Listens on clientPortAddress:clientPort (default 0.0.0.0:2181) on the
 * core's libev loop.  Accepted sockets are non-blocking with Nagle off;
 * each becomes a struct zk_conn (conn.c).  maxClientCnxns (default 60, 0 for
 * no limit) caps connections per client IP as ZooKeeper does, refusing the
 * extra ones with a log line.  The AdminServer (admin.c) starts and stops
 * with the client listener.
 */
#define _GNU_SOURCE 1   /* accept4 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <uthash.h>
#include "zk.h"

struct zk_transport zk;

struct zk_listener {
    struct zk_listener *next;
    int fd;
    ev_io watcher;
    ev_timer retry;             /* re-arm after EMFILE */
};

struct zk_ip_count {
    char addr[64];
    int count;
    UT_hash_handle hh;
};

/* ---- per-IP counts ---- */

static struct zk_ip_count *ip_acquire(const char *addr)
{
    struct zk_ip_count *e;
    HASH_FIND_STR(zk.ip_counts, addr, e);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            return NULL;
        snprintf(e->addr, sizeof e->addr, "%s", addr);
        HASH_ADD_STR(zk.ip_counts, addr, e);
    }
    return e;
}

void zk_ip_release(struct zk_ip_count *e)
{
    if (--e->count <= 0) {
        HASH_DEL(zk.ip_counts, e);
        free(e);
    }
}

/* A looked-up entry that ended up with no connection. */
static void ip_drop_unused(struct zk_ip_count *e)
{
    if (e->count == 0) {
        HASH_DEL(zk.ip_counts, e);
        free(e);
    }
}

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
    struct zk_listener *l = w->data;
    ev_io_start(loop, &l->watcher);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct zk_listener *l = w->data;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                zk.core->log(CORRAL_LOG_WARN, ZK_WHO, "accept: %s; pausing accepts for 100 ms",
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
        struct zk_ip_count *ip = ip_acquire(addr);
        if (!ip) {
            close(fd);
            continue;
        }
        if (zk.max_per_ip > 0 && ip->count >= zk.max_per_ip) {
            zk.core->log(CORRAL_LOG_WARN, ZK_WHO,
                         "Too many connections from /%s - max is %lld", addr, zk.max_per_ip);
            ip_drop_unused(ip);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct zk_conn *c = zk_conn_new(fd, addr, port);
        if (!c) {
            ip_drop_unused(ip);
            close(fd);
            continue;
        }
        ip->count++;
        c->ip = ip;
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

static int zk_start(void)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%d", zk.port);
    int rc = getaddrinfo(zk.address, port, &hints, &res);
    if (rc != 0) {
        zk.core->log(CORRAL_LOG_ERROR, ZK_WHO, "clientPortAddress '%s': %s", zk.address,
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
        struct zk_listener *l = calloc(1, sizeof *l);
        if (!l) {
            close(fd);
            continue;
        }
        l->fd = fd;
        ev_io_init(&l->watcher, on_accept, fd, EV_READ);
        ev_timer_init(&l->retry, on_retry, 0.1, 0.);
        l->watcher.data = l->retry.data = l;
        ev_io_start(zk.core->loop, &l->watcher);
        l->next = zk.listeners;
        zk.listeners = l;
        n++;
    }
    freeaddrinfo(res);
    if (n == 0) {
        zk.core->log(CORRAL_LOG_ERROR, ZK_WHO, "cannot listen on %s:%d: %s", zk.address, zk.port,
                     strerror(last_errno));
        return -1;
    }
    ev_prepare_init(&zk.flush_watcher, zk_flush_all);
    ev_prepare_start(zk.core->loop, &zk.flush_watcher);
    zk.core->log(CORRAL_LOG_INFO, ZK_WHO, "listening for ZooKeeper clients on %s:%d", zk.address,
                 zk.port);
    zk_admin_start();
    return 0;
}

static void zk_stop(void)
{
    zk_admin_stop();
    while (zk.listeners) {
        struct zk_listener *l = zk.listeners;
        zk.listeners = l->next;
        ev_io_stop(zk.core->loop, &l->watcher);
        ev_timer_stop(zk.core->loop, &l->retry);
        close(l->fd);
        free(l);
    }
    zk.flush_list = NULL;
    while (zk.conns) {
        struct zk_conn *c = zk.conns;
        if (c->session && !c->core_done)
            zk.core->session_detach(c->session);
        zk_conn_destroy(c);
    }
    if (ev_is_active(&zk.flush_watcher))
        ev_prepare_stop(zk.core->loop, &zk.flush_watcher);
}

/* ---- module ---- */

static int zk_init(const struct corral_core *core)
{
    long long port, max_buffer;
    memset(&zk, 0, sizeof zk);
    zk.core = core;
    zk.start_ms = core->now_ms();
    zk.response_last = zk.response_min = zk.response_max = -1;
    if (core->config_int("clientPort", 2181, 0, 65535, &port) < 0 ||
        core->config_int("maxClientCnxns", 60, 0, 1 << 30, &zk.max_per_ip) < 0 ||
        core->config_int("jute.maxbuffer", 0xfffff, 1, INT32_MAX, &max_buffer) < 0)
        return -1;
    zk.port = (int)port;
    zk.max_buffer = (int32_t)max_buffer;
    const char *addr = core->config_get("clientPortAddress");
    zk.address = strdup(addr && *addr ? addr : "0.0.0.0");
    if (!zk.address)
        return -1;
    zk.fourlw_enabled = zk_fourlw_parse_whitelist(core->config_get("4lw.commands.whitelist"));
    if (zk_admin_init(core) < 0) {
        free(zk.address);
        zk.address = NULL;
        return -1;
    }
    return 0;
}

static void zk_fini(void)
{
    zk_admin_fini();
    free(zk.address);
    zk.address = NULL;
    struct zk_ip_count *e, *tmp;
    HASH_ITER(hh, zk.ip_counts, e, tmp) {
        HASH_DEL(zk.ip_counts, e);
        free(e);
    }
}

static const struct corral_transport_ops zk_ops = {
    .start = zk_start,
    .stop = zk_stop,
};

/* clientPort and friends are ZooKeeper keys the core already knows. */
static const struct corral_config_key zk_keys[] = {{NULL, NULL}};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .kind = CORRAL_MODULE_TRANSPORT,
    .name = "zk",
    .version = "1.0",
    .config_keys = zk_keys,
    .init = zk_init,
    .fini = zk_fini,
    .ops = &zk_ops,
};
