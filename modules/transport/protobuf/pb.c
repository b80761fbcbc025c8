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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "pb.h"

struct pb_transport pb;


/* ---- accept ---- */

/* A new client connection (modules/common/listener.c accepted it). */
static void on_client(int fd, const char *addr, int port, void *arg)
{
    if (!pb_conn_new(fd, addr, port))
        close(fd);
}

static int pb_start(void)
{
    char err[160];
    if (listeners_open(pb.core, PB_WHO, pb.address, pb.port, on_client, NULL, &pb.listeners, err,
                       sizeof err) < 0) {
        pb.core->log(CORRAL_LOG_ERROR, PB_WHO,
                     "cannot listen on %s:%d (protobufClientPortAddress, protobufClientPort): %s",
                     pb.address, pb.port, err);
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
    listeners_close(pb.listeners);
    pb.listeners = NULL;
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
    .size = sizeof(struct corral_transport_ops),
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
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_TRANSPORT,
    .name = "protobuf",
    .version = "1.0",
    .config_keys = pb_keys,
    .init = pb_init,
    .fini = pb_fini,
    .ops = &pb_ops,
};
