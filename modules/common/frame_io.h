/*
 * frame_io.h — the socket side of a client connection that speaks
 * length-prefixed frames (the zk and protobuf transports); see frame_io.c.
 * Not part of the module ABI: the source is compiled into each module that
 * uses it.
 */
#ifndef CORRAL_MODULES_FRAME_IO_H
#define CORRAL_MODULES_FRAME_IO_H

#include <stddef.h>
#include <stdint.h>
#include <ev.h>
#include "corral/module.h"

/* What frame_io needs from the transport; conn is the transport's connection. */
struct frame_io_ops {
    const char *who;                    /* the module, in log lines */
    /* Handle the complete frames at the start of buf[0..len), in order, while
     * the connection still takes input; return how many bytes were used. */
    size_t (*frames)(void *conn, const uint8_t *buf, size_t len);
    /* 0 once the connection is closing or dead: what is left of its input is dropped. */
    int (*taking_input)(void *conn);
    /* The socket is finished (peer gone, read error, out of memory): close without flushing. */
    void (*lost)(void *conn);
    /* The socket takes output again: put conn on the transport's flush list. */
    void (*schedule)(void *conn);
};

struct frame_io {
    /* These three first and in this order: zk.h gives them names of their own. */
    ev_io read_watcher, write_watcher;
    int reading;                        /* read_watcher started */
    int paused;                         /* stopped reading: output backlog */
    int fd;
    uint8_t *in;                        /* unparsed input (a partial frame) */
    size_t in_len, in_cap;
    size_t out_off;                     /* bytes of the output buffer already sent */

    /* Set by the transport before frame_io_start. */
    const struct corral_core *core;
    const struct frame_io_ops *ops;
    void *conn;
    const char *addr;                   /* the peer, for log lines */
    int port;
    uint32_t max_frame;                 /* the transport's limit: no room is made for more */
};

/* Own the non-blocking socket fd and start reading it. */
void frame_io_start(struct frame_io *io, int fd);
/* Stop both watchers, close the socket, free the input. */
void frame_io_close(struct frame_io *io);
/* Stop reading (closing, lost); nothing when already stopped. */
void frame_io_stop_reading(struct frame_io *io);
/*
 * For the transport's frame loop, and its conn_ops->backlogged (the core
 * asks before answering a queued read): 1 while more than 8 MiB of its output
 * (out_len bytes in all) wait to be written.  Reading stops until
 * frame_io_resume.
 */
int frame_io_backlogged(struct frame_io *io, size_t out_len);
/*
 * Write the transport's output buffer (data, len, cap: a jute_buf's or a
 * pb_buf's, malloc'd, not out of memory) from out_off on, as far as the
 * socket takes it: 1 all written (the buffer is emptied), 0 the rest waits for
 * EV_WRITE, -1 error.
 */
int frame_io_flush(struct frame_io *io, uint8_t **data, size_t *len, size_t *cap);
/*
 * After a complete flush and the core's session_resume (which may have
 * queued out_len bytes again): a connection paused for its backlog reads
 * again, unless that is a backlog already.
 */
void frame_io_resume(struct frame_io *io, size_t out_len);

/* The length prefix at p (4 bytes, big-endian). */
static inline uint32_t frame_io_len(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
