/*
 * zk.h — the zk transport's internal declarations, shared by its files:
 *   zk.c      the module entry, configuration, listening sockets, accept,
 *             per-client-IP connection limits;
 *   conn.c    one client connection: its frames, the output buffer and its
 *             batched flushing, the callbacks the core calls (the socket I/O
 *             itself: modules/common/frame_io.c);
 *   fourlw.c  the four-letter words (ruok, srvr, mntr, ...) as text;
 *   figures.c the figures those words and the AdminServer show (figures.h);
 *   admin.c   the AdminServer: HTTP on admin.serverPort;
 *   admin_commands.c  its commands, as JSON (writer: json.c);
 *   the jute records themselves are libzk's (corral/zk_proto.h).
 * Everything runs on the core's event-loop thread.
 */
#ifndef CORRAL_ZK_H
#define CORRAL_ZK_H

#include <stdint.h>
#include <stddef.h>
#include <ev.h>
#include "corral/module.h"
#include "listener.h"
#include "frame_io.h"
#include "corral/jute.h"

#define ZK_WHO "zk"

enum zk_conn_state {
    ZK_HANDSHAKE,       /* waiting for ConnectRequest (or a four-letter word) */
    ZK_CONNECTING,      /* session_connect called, connected() not yet */
    ZK_ACTIVE,          /* requests flow */
    ZK_CLOSING,         /* flush what is queued, then close; input ignored */
    ZK_DEAD,            /* close without flushing */
};

struct zk_ip_count;

struct zk_conn {
    struct zk_conn *prev, *next;        /* every connection, for cons/stat */
    struct zk_conn *flush_next;         /* pending flush/close work */
    int in_flush_list;

    struct frame_io io;                 /* socket, watchers, unparsed input (modules/common/frame_io.c) */
    ev_timer handshake_timer;           /* no ConnectRequest (or closing stuck): close */
    enum zk_conn_state state;

    struct corral_session *session;
    int core_done;                      /* the core is finished with us: never call it again */
    int sent_read_only;                 /* client's ConnectRequest had readOnly */

    char addr[64];                      /* numeric peer address */
    int port;
    struct zk_ip_count *ip;

    struct jute_buf out;                /* encoded frames; io.out_off bytes already written */

    int64_t established_ms, last_response_ms;
    int64_t packets_received, packets_sent;
};

/* The transport's state (one per process). */
struct zk_transport {
    const struct corral_core *core;
    int32_t max_buffer;                 /* jute.maxbuffer */
    long long max_per_ip;               /* maxClientCnxns; 0 = unlimited */
    int port;
    char *address;
    uint32_t fourlw_enabled;            /* bit per command (fourlw.c) */

    struct listeners *listeners;        /* modules/common/listener.c */
    struct zk_conn *conns;
    int n_conns;
    struct zk_conn *flush_list;
    ev_prepare flush_watcher;
    struct zk_ip_count *ip_counts;

    int64_t packets_received, packets_sent;
    int64_t start_ms;
    /* Sizes of the replies to requests (ZooKeeper's clientResponseStats:
     * the frame length, pings excluded); -1 until the first, and after srst. */
    int32_t response_last, response_min, response_max;
};

extern struct zk_transport zk;

/* conn.c */
struct zk_conn *zk_conn_new(int fd, const char *addr, int port);
void zk_conn_destroy(struct zk_conn *c);
void zk_conn_schedule(struct zk_conn *c);
void zk_flush_all(struct ev_loop *loop, ev_prepare *w, int revents);
/* Append one frame: reserve the length, let the caller encode, back-fill it. */
size_t zk_frame_begin(struct zk_conn *c);
void zk_frame_end(struct zk_conn *c, size_t start);
/* Hook for zk.c: drop the per-IP count of a connection going away. */
void zk_ip_release(struct zk_ip_count *ip);

/* fourlw.c */
/* Index of the four-letter word in the first four bytes, or -1. */
int zk_fourlw_lookup(const uint8_t cmd[4]);
/* Parse 4lw.commands.whitelist (NULL: ZooKeeper's default, srvr only). */
uint32_t zk_fourlw_parse_whitelist(const char *list);
/* Answer the command into c->out (unframed text). */
void zk_fourlw_run(struct zk_conn *c, int cmd);

/* admin.c: the AdminServer (HTTP/JSON).  A failure to listen is only a WARN. */
int zk_admin_init(const struct corral_core *core);
void zk_admin_start(void);
void zk_admin_stop(void);
void zk_admin_fini(void);

/* admin_commands.c */
struct jute_buf;
/* Append command `name`'s JSON answer to out; returns the HTTP status (200 or 404). */
int zk_admin_run(const char *name, const char *query, struct jute_buf *out);
/* Append the HTML list of commands, linked under url. */
void zk_admin_list(const char *url, struct jute_buf *out);

#endif
