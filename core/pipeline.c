/*
 * pipeline.c — from a submitted request to its reply: the per-session FIFO
 * and the entry points the transports and the core call.
 *
 * Each session has a FIFO of submitted requests and is answered strictly in
 * that order (ZooKeeper's per-session ordering).  A read at the head of a
 * FIFO is answered at once from the tree (reads.c).  A write at the head
 * moves the session onto the *write stage* (write_stage.c): prepped, made
 * durable by the storage module, applied, answered.  Reads queued behind a
 * session's write wait for it, so a client always reads its own writes;
 * other sessions' reads are never held up.  A connection arriving for a
 * session, new or resumed, is connect.c.
 *
 * This file keeps what all of those share: the FIFO itself (enqueue,
 * dequeue, the reply accounting and sending), the pump that moves a
 * session's FIFO along, and the public entry points (submit, detach,
 * resume, expire).  The cross-file internals are pipeline_internal.h.
 *
 * Reads are also held for the connection's backlog.  The transports stop
 * reading a connection while more than 8 MiB of its output wait, but reads
 * queued behind a write were all answered the moment it completed: 200 of a
 * 1 MB node, a few KB of requests, became 200 MB of output.  So before each
 * read the core asks the transport whether the connection is backlogged
 * (conn_ops->backlogged) and, when it is, stops there with the session
 * `held`; the transport calls session_resume once its output has drained
 * and the core goes on, in order, until the next time.  A connection's
 * output is thereby bounded by the transport's mark plus one reply (at most
 * jute.maxbuffer), whatever its client pipelines.  What is not held: the
 * reply to a write completing (a write at the head is not behind a held
 * read, and its reply is about as large as the request) and watch events,
 * which go out as they fire, as before: an event therefore still precedes
 * the replies that were answered after its change, ZooKeeper's order.  A held
 * session's clock is its client's reading (its input waits meanwhile): when
 * the client reads nothing for the session timeout, the session expires and
 * its connection is closed at once, the held requests running unanswered.
 *
 * Session life: connect queues an internal createSession write (connect.c);
 * closeSession (client) or expiry (server) queues a closeSession write whose
 * apply removes the ephemerals; then the connection is told to close and the
 * session goes (write_stage.c).
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "pipeline_internal.h"
#include "session_tracker.h"
#include "log.h"
#include "corral/zk_proto.h"

int is_write_op(int32_t op)
{
    switch (op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
    case CORRAL_OP_DELETE:
    case CORRAL_OP_SET_DATA:
    case CORRAL_OP_SET_ACL:
    case CORRAL_OP_CHECK:
    case CORRAL_OP_MULTI:
    case CORRAL_OP_CREATE_SESSION:
    case CORRAL_OP_CLOSE_SESSION:
    case CORRAL_OP_DELETE_CONTAINER:
    case CORRAL_OP_RECONFIG:    /* refused in prep, but as a txn: it takes a zxid */
        return 1;
    default:
        return 0;
    }
}

/*
 * Whether req goes through prep (and takes a zxid).  A malformed record of a
 * write still does, as ZooKeeper logs an error txn once it has read the
 * header; reconfig is the exception: ZooKeeper reads its record first.
 */
int goes_through_prep(const struct corral_request *req)
{
    return is_write_op(req->op) && !(req->malformed && req->op == CORRAL_OP_RECONFIG);
}

/* Requests are freed as libzk frees the ones it decodes: the layout is the same. */
void request_free(struct corral_request *req)
{
    zk_request_free(req);
}

void fifo_enqueue(struct session *s, struct corral_request *req, int internal, int at_head)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->req = req;
    p->conn_gen = s->conn_gen;
    p->received_ms = now_ms();
    p->internal = internal;
    if (at_head) {
        p->next = s->head;
        s->head = p;
        if (!s->tail)
            s->tail = p;
    } else {
        if (s->tail)
            s->tail->next = p;
        else
            s->head = p;
        s->tail = p;
    }
    server.outstanding++;
}

void fifo_dequeue_head(struct session *s)
{
    struct pending *p = s->head;
    s->head = p->next;
    if (!s->head)
        s->tail = NULL;
    request_free(p->req);
    free(p);
    server.outstanding--;
}

void account_reply(struct session *s, const struct pending *p, int64_t zxid)
{
    int64_t lat = now_ms() - p->received_ms;
    s->replies++;
    s->last_zxid = zxid;
    s->last_op = p->req->op;
    s->last_xid = p->req->xid;
    s->last_latency_ms = lat;
    if (s->min_latency_ms < 0 || lat < s->min_latency_ms)
        s->min_latency_ms = lat;
    if (lat > s->max_latency_ms)
        s->max_latency_ms = lat;
    s->total_latency_ms += lat;
    server.requests++;
    if (server.min_latency_ms < 0 || lat < server.min_latency_ms)
        server.min_latency_ms = lat;
    if (lat > server.max_latency_ms)
        server.max_latency_ms = lat;
    server.total_latency_ms += lat;
}

/* Whether p's reply goes out: not internal, and the connection that sent it is still there. */
static int answered_to_conn(const struct session *s, const struct pending *p)
{
    return !p->internal && s->ops && p->conn_gen == s->conn_gen;
}

/* Send rsp for the head request p, if the connection that sent it is still there. */
void send_reply(struct session *s, const struct pending *p, struct corral_response *rsp)
{
    account_reply(s, p, rsp->zxid);
    if (!answered_to_conn(s, p))
        return;
    rsp->op = p->req->op;
    rsp->xid = p->req->xid;
    s->ops->reply(s->conn, rsp);
}

void reply_error(struct session *s, const struct pending *p, int32_t err)
{
    struct corral_response rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.zxid = server.last_zxid;
    rsp.err = err;
    send_reply(s, p, &rsp);
}

/*
 * A held session lives by its client's reading (the transport reads none of
 * its input meanwhile, so its pings are not seen): the clock restarts when
 * a closing session (a closeSession queued, its clock stopped) gets held and
 * whenever the output drained.
 */
static void held_clock(struct session *s)
{
    tracker_touch(s->id);
}

/*
 * Answer the reads at the head of s's FIFO, holding them while the
 * connection is backlogged; queue s on the write stage when a write can be
 * prepped.  Reads whose reply goes nowhere (from an earlier connection, or
 * none attached) are not held: they cost no output.
 */
void session_pump(struct session *s)
{
    s->held = 0;
    while (s->head && !s->head->in_flight && !goes_through_prep(s->head->req)) {
        if (answered_to_conn(s, s->head) && CORRAL_FN(s->ops, backlogged) &&
            s->ops->backlogged(s->conn)) {
            s->held = 1;
            if (s->closing)
                held_clock(s);
            return;             /* a write behind the held read waits too */
        }
        answer_read(s, s->head);
        fifo_dequeue_head(s);
    }
    write_stage_offer(s);
}

/* ---- the transport-facing entry points ---- */

void pipeline_submit(struct session *s, struct corral_request *req)
{
    if (s->closing) {
        request_free(req);
        return;
    }
    tracker_touch(s->id);
    s->requests++;
    if (req->op == CORRAL_OP_CLOSE_SESSION) {
        s->closing = 1;
        s->close_reason = CORRAL_OK;
        tracker_pause(s->id);
    }
    fifo_enqueue(s, req, 0, 0);
    session_pump(s);
    write_stage_drain();
}

void pipeline_detach(struct session *s)
{
    s->ops = NULL;
    s->conn = NULL;
    watch_remove_session(s);
}

void pipeline_resume(struct session *s)
{
    if (!s->held)
        return;
    held_clock(s);
    session_pump(s);
    write_stage_drain();
}

/*
 * The session's clock ran out: queue its closeSession.  A session closing
 * already gets here only when it was held (held_clock): its closeSession
 * waits behind the held reads.  A held session's client has not read for
 * its whole timeout, so the replies held for it could never go out and its
 * close would wait behind them: the connection is closed now (what it has
 * queued is still written) and the held requests run unanswered.
 */
void pipeline_expire(struct session *s)
{
    int close_queued = s->closing;
    if (!close_queued) {
        s->closing = 1;
        s->close_reason = CORRAL_ESESSIONEXPIRED;
    }
    if (s->held && s->ops) {
        const struct corral_conn_ops *ops = s->ops;
        void *conn = s->conn;
        log_info("session 0x%llx: its client read none of its replies for %d ms; closing its "
                 "connection", (unsigned long long)s->id, (int)s->timeout_ms);
        pipeline_detach(s);
        ops->close(conn, s->close_reason);
    }
    if (!close_queued) {
        struct corral_request *req = calloc(1, sizeof *req);
        if (!req)
            abort();
        req->op = CORRAL_OP_CLOSE_SESSION;
        fifo_enqueue(s, req, 1, 0);
    }
    session_pump(s);
    write_stage_drain();
}

void pipeline_submit_internal(struct session *s, struct corral_request *req)
{
    fifo_enqueue(s, req, 1, 0);
    session_pump(s);
    write_stage_drain();
}
