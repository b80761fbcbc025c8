/*
 * cnx.h — the election port's connections (ZooKeeper's QuorumCnxManager) on
 * libev: one listening socket, at most one live connection per peer, frames
 * of int length + bytes, and ZooKeeper's per-peer send queue of one message.
 *
 * Who keeps a connection is ZooKeeper's rule, so a Corral peer pairs with
 * Java peers: the dialer always writes the initial message first; a dialer
 * with the lower sid then closes (the higher sid will dial back); a listener
 * that hears from a lower sid closes and dials back.  So the one live
 * connection between two peers is always the one the higher sid dialled.
 *
 * Unlike Java 3.8 nothing here blocks: a peer that connects and says nothing
 * holds only its own socket (closed after the connect timeout), not the
 * accept path.  Dials are made only when there is something to send (or the
 * election asks, connectAll), each bounded by the connect timeout, and after
 * a failed one the next waits 100 ms doubling to 5 s.
 */
#ifndef FLE_CNX_H
#define FLE_CNX_H

#include <stddef.h>
#include <stdint.h>
#include "corral/quorum_view.h"

struct ev_loop;
struct cnx;

struct cnx_callbacks {
    void *arg;
    /* one frame's payload from sid */
    void (*message)(void *arg, int64_t sid, const uint8_t *msg, size_t len);
    void (*log)(void *arg, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
};

/*
 * Listen on my election address (server.<my_id>'s host and election port;
 * every address when listen_all, ZooKeeper's quorumListenOnAllIPs).  NULL
 * after logging why.
 */
struct cnx *cnx_start(struct ev_loop *loop, int64_t my_id, const struct corral_quorum_view *view,
                      int listen_all, int connect_timeout_ms, const struct cnx_callbacks *cb);
void cnx_stop(struct cnx *c);

/* Queue msg for sid (replacing an unsent one), dialling when not connected. */
void cnx_send(struct cnx *c, int64_t sid, const uint8_t *msg, size_t len);
/* QuorumCnxManager.haveDelivered: some peer's queue is empty. */
int cnx_have_delivered(const struct cnx *c);
/* QuorumCnxManager.connectAll: dial every peer sent to that is not connected. */
void cnx_connect_all(struct cnx *c);

#endif
