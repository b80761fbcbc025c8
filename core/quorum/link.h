/*
 * link.h — one quorum-port connection on the event loop (quorum/link.c):
 * ZooKeeper's QuorumPackets back to back over TCP, no length prefix
 * (ZK-QUORUM-PROTOCOL.md §2.1), in and out, for the leader's learner
 * handlers and for a learner's connection to its leader.
 *
 * What it does: dials (non-blocking, with a deadline) or takes an accepted
 * socket; reads until a packet is whole and hands each one to the owner;
 * queues what the owner sends and writes it once per loop iteration (so a
 * burst of PROPOSALs or COMMITs costs one write(), as group commit wants);
 * ends the connection when nothing arrived for the read timeout (ZooKeeper's
 * SO_TIMEOUT: initLimit ticks while syncing, syncLimit ticks after), when
 * the bytes can never be a packet, or when the peer goes.  What it does not:
 * any protocol; the owner decides what each packet means.
 *
 * The SNAP stream is not made of packets (§2.6): a learner that gets SNAP
 * reads the raw stream with qlink_read_raw from inside its packet callback,
 * and hands back what it read past the stream's end with qlink_unread; the
 * link then goes on parsing packets from there.
 *
 * Every callback runs on the loop thread.  A link the owner closes from
 * inside a callback (qlink_close) is freed once the callback returns.
 */
#ifndef CORRAL_QUORUM_LINK_H
#define CORRAL_QUORUM_LINK_H

#include <stdint.h>
#include <stddef.h>
#include "corral/zk_quorum.h"

struct qlink;

struct qlink_handler {
    /* The dial succeeded (dialled links only); may be NULL. */
    void (*connected)(struct qlink *l, void *arg);
    /*
     * A whole packet; qp and its bytes are valid during the call only.
     * Return 0, or -1 to end the link (the owner logs why first; closed is
     * not called then).
     */
    int (*packet)(struct qlink *l, const struct zk_quorum_packet *qp, void *arg);
    /*
     * The link ended by itself: why is "closed by the peer", "timed out",
     * a connect or read error, or "malformed packet".  The link is freed
     * when this returns.
     */
    void (*closed)(struct qlink *l, const char *why, void *arg);
};

/*
 * Take an accepted, connected socket (the leader's side).  peer names the
 * other end in log lines ("127.0.0.1:53012").  NULL on oom (fd is closed).
 */
struct qlink *qlink_adopt(int fd, const char *peer, const struct qlink_handler *h, void *arg);

/*
 * Dial host:port (a learner's side); connected() or closed() follows, the
 * latter after timeout_ms at most.  NULL when the address does not resolve
 * or no socket can be made (logged).
 */
struct qlink *qlink_dial(const char *host, int port, int timeout_ms, const struct qlink_handler *h,
                         void *arg);

/* Queue qp (written at the end of this loop iteration).  0, or -1 (oom, a closed link). */
int qlink_send(struct qlink *l, const struct zk_quorum_packet *qp);
/* Queue raw bytes (the SNAP stream).  0 or -1. */
int qlink_send_bytes(struct qlink *l, const void *p, size_t len);
/* Write what is queued now, blocking up to timeout_ms (before a big stream, at a close). 0 or -1. */
int qlink_flush(struct qlink *l, int timeout_ms);
/* Bytes queued and not yet written. */
size_t qlink_queued(const struct qlink *l);

/* End the link when nothing arrives for ms milliseconds (0: never). */
void qlink_set_read_timeout(struct qlink *l, int64_t ms);

/*
 * Inside a packet callback only: read up to len raw bytes that follow the
 * packet, what the link buffered first, then from the socket, waiting at
 * most timeout_ms for each chunk.  Returns how many (> 0), 0 when the peer
 * closed, -1 on error or timeout.  Blocks the loop: it is for a learner's
 * SNAP, which serves no one meanwhile (ZooKeeper's learner blocks its
 * thread there as well).
 */
ssize_t qlink_read_raw(struct qlink *l, void *buf, size_t len, int timeout_ms);
/* Inside a packet callback only: give back bytes read past the raw stream. 0 or -1 (oom). */
int qlink_unread(struct qlink *l, const void *p, size_t len);

/* "host:port" of the other end, for log lines. */
const char *qlink_peer(const struct qlink *l);
/* Close now: closed() is not called.  Safe inside the link's own callbacks. */
void qlink_close(struct qlink *l);

/*
 * A listening socket (the leader's quorum port): accepted(fd, peer, arg) per
 * connection, fd non-blocking, the callee's.  NULL when it cannot bind
 * (logged: address and errno).
 */
struct qlistener;
struct qlistener *qlink_listen(const char *host, int port,
                               void (*accepted)(int fd, const char *peer, void *arg), void *arg);
void qlink_listener_close(struct qlistener *ls);

#endif
