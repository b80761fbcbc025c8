/*
 * listener.h — TCP listening sockets for the modules that accept connections
 * (the zk and protobuf transports, the AdminServer); see listener.c.  Not
 * part of the module ABI: the source is compiled into each module that uses
 * it.
 */
#ifndef CORRAL_MODULES_LISTENER_H
#define CORRAL_MODULES_LISTENER_H

#include <stddef.h>
#include <ev.h>
#include "corral/module.h"

/* A new connection: a non-blocking, close-on-exec socket with TCP_NODELAY,
 * and the peer's address (IPv4-mapped IPv6 shown as IPv4) and port.  The
 * callback owns fd. */
typedef void (*listener_accept_fn)(int fd, const char *addr, int port, void *arg);

struct listeners;

/*
 * Listen on every address `address`:`port` resolves to and accept from the
 * event loop.  0 with *out, or -1 with the reason in err (the resolver's
 * message, or the last bind/listen error), nothing left open.  `who` names
 * the module in log lines.
 */
int listeners_open(const struct corral_core *core, const char *who, const char *address, int port,
                   listener_accept_fn fn, void *arg, struct listeners **out, char *err, size_t errlen);
/* Stop accepting and close every socket; NULL is fine. */
void listeners_close(struct listeners *ls);

#endif
