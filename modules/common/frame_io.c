/*
 * frame_io.c — moving bytes between a client socket and a transport, for the
 * transports whose messages are a 4-byte big-endian length plus a body (zk
 * speaks jute that way, protobuf its ClientMessages).  Both used to carry a
 * copy of this code; it lives here once because the I/O does not depend on
 * what the frames say.
 *
 * Input: reads land in one shared scratch buffer when the connection has
 * nothing pending, and the transport handles complete frames straight from
 * it, so idle connections hold no input memory and the common case copies
 * nothing.  Only a partial frame is kept, in io->in, sized for the whole
 * frame when its length is within the transport's limit; it then takes the
 * following reads until it completes.
 *
 * Output: the transport encodes into its own buffer; frame_io_flush writes
 * it with as few send(2)s as the socket allows and leaves the rest for
 * EV_WRITE.  While more than OUTPUT_HIGH bytes wait the connection stops
 * reading, so a client that pipelines requests without reading the answers
 * cannot grow our memory without bound; it reads again once all is written.
 * Requests already read but still queued in the core (reads behind a
 * write) are held back the same way: the transport's conn_ops->backlogged
 * is frame_io_backlogged, and once all is written the transport calls the
 * core's session_resume before frame_io_resume.
 *
 * What stays with the transport: decoding and dispatch, its frame limit and
 * what it answers to bad input, the connection's states, and when it is
 * freed (never on the core's stack: lost() and schedule() only put it on the
 * transport's flush list).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "frame_io.h"

#define READ_CHUNK (64 * 1024)
#define OUTPUT_HIGH (8u << 20)

static uint8_t scratch[READ_CHUNK];

static void on_readable(struct ev_loop *loop, ev_io *w, int revents);
static void on_writable(struct ev_loop *loop, ev_io *w, int revents);

void frame_io_start(struct frame_io *io, int fd)
{
    io->fd = fd;
    ev_io_init(&io->read_watcher, on_readable, fd, EV_READ);
    ev_io_init(&io->write_watcher, on_writable, fd, EV_WRITE);
    io->read_watcher.data = io->write_watcher.data = io;
    ev_io_start(io->core->loop, &io->read_watcher);
    io->reading = 1;
}

void frame_io_close(struct frame_io *io)
{
    ev_io_stop(io->core->loop, &io->read_watcher);
    ev_io_stop(io->core->loop, &io->write_watcher);
    close(io->fd);
    free(io->in);
    io->in = NULL;
    io->in_len = io->in_cap = 0;
}

void frame_io_stop_reading(struct frame_io *io)
{
    if (io->reading) {
        ev_io_stop(io->core->loop, &io->read_watcher);
        io->reading = 0;
    }
}

int frame_io_backlogged(struct frame_io *io, size_t out_len)
{
    if (out_len - io->out_off <= OUTPUT_HIGH)
        return 0;
    if (!io->paused) {
        io->paused = 1;
        frame_io_stop_reading(io);
    }
    return 1;
}

/* ---- input ---- */

static int ensure_input_room(struct frame_io *io, size_t need)
{
    if (io->in_cap >= need)
        return 0;
    size_t cap = io->in_cap ? io->in_cap : 16 * 1024;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(io->in, cap);
    if (!p)
        return -1;
    io->in = p;
    io->in_cap = cap;
    return 0;
}

/*
 * Keep the unconsumed tail rest[0..n) (in the scratch buffer or inside io->in)
 * as io->in, with room for the whole frame it begins.  0, or -1 out of memory.
 */
static int keep_input(struct frame_io *io, const uint8_t *rest, size_t n)
{
    if (!io->ops->taking_input(io->conn)) {
        io->in_len = 0;
        return 0;
    }
    if (n == 0) {
        io->in_len = 0;
        if (io->in_cap > 256 * 1024) {      /* an idle connection keeps no big buffer */
            free(io->in);
            io->in = NULL;
            io->in_cap = 0;
        }
        return 0;
    }
    size_t need = n;
    if (n >= 4) {
        uint32_t flen = frame_io_len(rest);
        if (flen <= io->max_frame && (size_t)flen + 4 > need)
            need = (size_t)flen + 4;
    }
    if (io->in && rest >= io->in && rest < io->in + io->in_cap) {
        if (rest != io->in)
            memmove(io->in, rest, n);
    } else {
        if (ensure_input_room(io, n) < 0)
            return -1;
        memcpy(io->in, rest, n);
    }
    io->in_len = n;
    return ensure_input_room(io, need);
}

/* Handle what waits in io->in (more was read, or a pause for backlog ended). */
static void process_input(struct frame_io *io)
{
    size_t used = io->ops->frames(io->conn, io->in, io->in_len);
    if (keep_input(io, io->in + used, io->in_len - used) < 0)
        io->ops->lost(io->conn);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct frame_io *io = w->data;
    for (int round = 0; round < 4; round++) {
        uint8_t *dst;
        size_t room;
        if (io->in_len == 0) {
            dst = scratch;
            room = sizeof scratch;
        } else {
            if (io->in_cap - io->in_len < 4096 &&
                ensure_input_room(io, io->in_len + READ_CHUNK / 4) < 0) {
                io->core->log(CORRAL_LOG_ERROR, io->ops->who, "/%s:%d: out of memory", io->addr,
                              io->port);
                io->ops->lost(io->conn);
                return;
            }
            dst = io->in + io->in_len;
            room = io->in_cap - io->in_len;
        }
        ssize_t n = read(io->fd, dst, room);
        if (n == 0) {
            io->ops->lost(io->conn);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                io->ops->lost(io->conn);
            return;
        }
        if (dst == scratch) {
            size_t used = io->ops->frames(io->conn, scratch, (size_t)n);
            if (keep_input(io, scratch + used, (size_t)n - used) < 0)
                io->ops->lost(io->conn);
        } else {
            io->in_len += (size_t)n;
            process_input(io);
        }
        if (!io->reading || (size_t)n < room)
            return;
    }
}

void frame_io_resume(struct frame_io *io, size_t out_len)
{
    if (!io->paused || out_len - io->out_off > OUTPUT_HIGH)
        return;
    io->paused = 0;
    ev_io_start(io->core->loop, &io->read_watcher);
    io->reading = 1;
    process_input(io);
}

/* ---- output ---- */

int frame_io_flush(struct frame_io *io, uint8_t **data, size_t *len, size_t *cap)
{
    while (io->out_off < *len) {
        ssize_t n = send(io->fd, *data + io->out_off, *len - io->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            io->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return -1;
    }
    if (io->out_off == *len) {
        io->out_off = 0;
        *len = 0;
        if (*cap > (4u << 20)) {            /* give back a burst's memory */
            free(*data);
            *data = NULL;
            *cap = 0;
        }
        return 1;
    }
    if (io->out_off > *len / 2) {           /* keep the buffer from creeping */
        memmove(*data, *data + io->out_off, *len - io->out_off);
        *len -= io->out_off;
        io->out_off = 0;
    }
    ev_io_start(io->core->loop, &io->write_watcher);
    return 0;
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct frame_io *io = w->data;
    ev_io_stop(loop, w);
    io->ops->schedule(io->conn);
}
