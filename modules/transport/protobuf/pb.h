/*
 * pb.h — the protobuf transport's internal declarations, shared by its files:
 *   pb.c      the module entry, configuration, listening sockets, accept;
 *   conn.c    one client connection: its messages, the output buffer and
 *             its batched flushing, the callbacks the core calls (the socket
 *             I/O itself: modules/common/frame_io.c);
 *   codec.c   ClientMessage → struct corral_request and struct
 *             corral_response / events → ServerMessage (codec.h).
 * The messages are defined in corral.proto beside these files; protoc-c turns
 * it into corral.pb-c.c/.h at build time.  Everything runs on the core's
 * event-loop thread.
 */
#ifndef CORRAL_PB_H
#define CORRAL_PB_H

#include <stdint.h>
#include <stddef.h>
#include <ev.h>
#include "corral/module.h"
#include "listener.h"
#include "frame_io.h"
#include "pbbuf.h"

#define PB_WHO "protobuf"

enum pb_conn_state {
    PB_HANDSHAKE,       /* waiting for the `connect` message */
    PB_CONNECTING,      /* session_connect called, connected() not yet */
    PB_ACTIVE,          /* requests flow */
    PB_CLOSING,         /* flush what is queued, then close; input ignored */
    PB_DEAD,            /* close without flushing */
};

struct pb_conn {
    struct pb_conn *prev, *next;        /* every connection (shutdown) */
    struct pb_conn *flush_next;         /* pending flush/close work */
    int in_flush_list;

    struct frame_io io;                 /* the socket, its watchers, unparsed input */
    ev_timer timer;                     /* handshake deadline, then closing deadline */
    enum pb_conn_state state;

    struct corral_session *session;
    int core_done;                      /* the core is finished with us: never call it again */
    uint32_t connect_id;                /* the connect message's id, echoed in `connected` */

    char addr[64];                      /* numeric peer address */
    int port;

    struct pb_buf out;                  /* framed messages; io.out_off bytes already sent */
};

/* The transport's state (one per process). */
struct pb_transport {
    const struct corral_core *core;
    int port;
    char *address;
    uint32_t max_message;               /* protobuf.maxMessageSize (default jute.maxbuffer) */

    struct listeners *listeners;        /* modules/common/listener.c */
    struct pb_conn *conns;
    struct pb_conn *flush_list;
    ev_prepare flush_watcher;
};

extern struct pb_transport pb;

/* conn.c */
struct pb_conn *pb_conn_new(int fd, const char *addr, int port);
/* Shutdown: detach from the core if need be and free, without flushing. */
void pb_conn_drop(struct pb_conn *c);
void pb_flush_all(struct ev_loop *loop, ev_prepare *w, int revents);

#endif
