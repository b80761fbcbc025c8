/*
 * pipeline.c — from a submitted request to its reply: the entry points the
 * transports and the core call (submit, detach, resume, expire, the
 * server's own writes).
 *
 * Each session has a FIFO of submitted requests (fifo.c) and is answered
 * strictly in that order (ZooKeeper's per-session ordering).  A read at the
 * head of a FIFO is answered at once from the tree (reads.c).  A write at
 * the head moves the session onto the *write stage* (write_stage.c):
 * prepped, replicated by the role (standalone: made durable by the storage
 * module), then applied and answered by the one commit path (commit.c).
 * Reads queued behind a session's write wait for it, so a client always
 * reads its own writes; other sessions' reads are never held up.  A
 * connection arriving for a session, new or resumed, is connect.c.  The
 * layers and what they share are in pipeline_internal.h.
 *
 * Session life: connect queues an internal createSession write (connect.c);
 * closeSession (client) or expiry (server) queues a closeSession write whose
 * apply removes the ephemerals; once it is committed the connection is told
 * to close and the session goes (commit.c).
 *
 * On a leader, the writes its learners forward (REQUEST) come in here too
 * (pipeline_submit_forwarded), on a local client without a connection for
 * the remote session (a proxy, quorum/leader_requests.c): the same FIFO,
 * window, prep and commit path as a client of the leader's own, so that
 * ZooKeeper's leader-side checks (ACLs with the REQUEST's identities,
 * versions, the session's owner) are made once, in one place.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "pipeline_internal.h"
#include "session_tracker.h"
#include "log.h"

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

/* The transport let go of the connection: replies to it stop; what was held for it runs. */
void pipeline_detach(struct session *s)
{
    fifo_detach_conn(s);
    write_stage_resume(s);
}

void pipeline_resume(struct session *s)
{
    write_stage_resume(s);
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
        fifo_detach_conn(s);
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

/*
 * As pipeline_submit, for a learner's write: no touch (ZooKeeper's leader
 * hears of the session's life from the learner's PING), answered to no one
 * (internal: even when the leader has a connection of its own for the same
 * session, the reply is the learner's to give).  A session closing takes
 * nothing more, as for a local client: a write behind its closeSession
 * would otherwise be prepped while the close is in flight and outlive it
 * (ZooKeeper refuses it as SessionExpired; nobody waits for that answer:
 * the learner ends its client when the close commits).
 */
void pipeline_submit_forwarded(struct session *s, struct corral_request *req, struct forwarded *fwd)
{
    if (s->closing) {
        request_free(req);
        forwarded_free(fwd);
        return;
    }
    if (req->op == CORRAL_OP_CLOSE_SESSION) {
        s->closing = 1;
        s->close_reason = CORRAL_OK;
        tracker_pause(s->id);
    }
    fifo_enqueue(s, req, 1, 0);
    s->tail->fwd = fwd;
    session_pump(s);
    write_stage_drain();
}

/*
 * The leader's role ends: the learners' writes that took no zxid yet are
 * dropped, since no replicator may prep them after the role (their clients
 * reconnect to a member of the next one and resend).  Writes in flight are
 * the commit path's: durable ones are applied as the role settles.  A proxy
 * left with nothing queued goes.
 */
void pipeline_drop_forwarded(void)
{
    for (struct session *s = server.clients, *next; s; s = next) {
        next = s->hh.next;
        struct pending **pp = &s->head, *last = NULL;
        while (*pp) {
            struct pending *p = *pp;
            if (!p->fwd || p->in_flight) {
                last = p;
                pp = &p->next;
                continue;
            }
            *pp = p->next;
            request_free(p->req);
            forwarded_free(p->fwd);
            free(p);
            server.outstanding--;
        }
        s->tail = last;
        write_queue_remove(s);
        write_stage_offer(s);       /* back on the queue only with a write of its own to prep */
        session_release_if_idle(s);
    }
}
