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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <uthash.h>
#include "zk.h"

struct zk_transport zk;


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

/* A new client connection (modules/common/listener.c accepted it), held to
 * maxClientCnxns per client address. */
static void on_client(int fd, const char *addr, int port, void *arg)
{
    struct zk_ip_count *ip = ip_acquire(addr);
    if (!ip) {
        close(fd);
        return;
    }
    if (zk.max_per_ip > 0 && ip->count >= zk.max_per_ip) {
        zk.core->log(CORRAL_LOG_WARN, ZK_WHO, "Too many connections from /%s - max is %lld", addr,
                     zk.max_per_ip);
        ip_drop_unused(ip);
        close(fd);
        return;
    }
    struct zk_conn *c = zk_conn_new(fd, addr, port);
    if (!c) {
        ip_drop_unused(ip);
        close(fd);
        return;
    }
    ip->count++;
    c->ip = ip;
}

/* ---- listening ---- */

static int zk_start(void)
{
    char err[160];
    if (listeners_open(zk.core, ZK_WHO, zk.address, zk.port, on_client, NULL, &zk.listeners, err,
                       sizeof err) < 0) {
        zk.core->log(CORRAL_LOG_ERROR, ZK_WHO, "cannot listen on %s:%d (clientPortAddress, clientPort): %s",
                     zk.address, zk.port, err);
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
    listeners_close(zk.listeners);
    zk.listeners = NULL;
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
    .size = sizeof(struct corral_transport_ops),
    .start = zk_start,
    .stop = zk_stop,
};

/* clientPort and friends are ZooKeeper keys the core already knows. */
static const struct corral_config_key zk_keys[] = {{NULL, NULL}};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_TRANSPORT,
    .name = "zk",
    .version = "1.0",
    .config_keys = zk_keys,
    .init = zk_init,
    .fini = zk_fini,
    .ops = &zk_ops,
};
