/*
 * write_stage.c — what runs next for each session: the reads at the head of
 * its FIFO (reads.c), and its writes through prep → replicate → commit.
 *
 * A session's FIFO moves along here (session_pump): reads at its head are
 * answered at once; when the head is a write the session is queued on the
 * write stage (write_stage_offer).  Writes are prepped (prep.c) in arrival
 * order, round robin between the sessions, and handed to the role's
 * replicate step (replicate.h: standalone, the storage module makes the txn
 * durable).  When the role says a txn is committed, commit_apply (commit.c)
 * applies it and answers it, and the session's FIFO moves on.  A learner
 * forwards its writes to the leader instead of prepping them (the role's
 * forward()), and moves a session on when the leader's COMMIT answered it
 * (write_stage_answered).  A leader preps its learners' forwarded writes
 * here as its own clients' (prep_forwarded: their identities and their
 * session's owner checked as ZooKeeper's leader does).
 *
 * Writes run ahead of the disk: up to globalOutstandingLimit txns may be
 * prepped and replicating before the first is committed, so a storage
 * module can make a whole batch durable with one fsync (group commit).  Prep
 * sees the changes of those outstanding txns (prep.c).  Txns are committed
 * in the order they were handed on, which is zxid order, and applied in that
 * order.  Within a session, consecutive writes may all be in flight; a read
 * waits until every write before it is applied.
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
 */
#include <stdlib.h>
#include "server.h"
#include "pipeline_internal.h"
#include "log.h"
#include "commit.h"
#include "replicate.h"
#include "session_tracker.h"

/* The first pending of s not yet in flight, when it is a write and only in-flight writes precede it. */
static struct pending *next_preppable(const struct session *s)
{
    for (struct pending *p = s->head; p; p = p->next) {
        if (p->in_flight) {
            /* a forwarded sync: what follows waits for its answer (replicate.h) */
            if (!goes_through_prep(p->req))
                return NULL;
            continue;
        }
        return goes_through_prep(p->req) ? p : NULL;
    }
    return NULL;
}

/* Queue s on the write stage when the next request of its FIFO is a write that can be prepped. */
void write_stage_offer(struct session *s)
{
    if (next_preppable(s))
        write_queue_push(s);
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
    if (server.serving == SERVING_READ_ONLY) {
        int rc;
        while ((rc = readonly_answer(s)) != 0)
            if (rc < 0)
                return;             /* a local session closed */
    }
    while (s->head && !s->head->in_flight && !goes_through_prep(s->head->req)) {
        if (s->head->req->op == CORRAL_OP_SYNC && !s->head->req->malformed &&
            server.replicator && server.replicator->sync) {
            /* the role answers it (write_stage_sync_done), or says it may go as a read */
            s->head->in_flight = 1;
            if (server.replicator->sync(s, s->head))
                return;
            s->head->in_flight = 0;
        }
        if (fifo_answered_to_conn(s, s->head) && CORRAL_FN(s->ops, backlogged) &&
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

void write_stage_resume(struct session *s)
{
    if (!s->held)
        return;
    held_clock(s);
    session_pump(s);
    write_stage_drain();
}

/*
 * A session whose head was answered goes on; a local client with no
 * connection left with nothing to do serves no one and goes (its session
 * lives on in the table): a leader's proxy for a learner's session once
 * its writes are done, a client that went away with writes in flight.
 */
static void move_on(struct session *s)
{
    session_pump(s);
    if (!s->ops)
        session_release_if_idle(s);
}

/* A txn on its way through the replicate step: the write stage owns it until it is committed. */
struct write_ctx {
    struct corral_txn txn;
};

static void write_committed(void *arg, int err)
{
    struct write_ctx *w = arg;
    if (err == REPLICATE_ABANDONED) {
        /*
         * Not applied (replicate.h).  No drain either: the role has ended,
         * and what is queued must not be prepped for a replicate step that
         * is no longer the role's (peer.c settles once none is in flight).
         */
        server.txns_in_flight--;
        prep_applied(w->txn.zxid);
        txn_clear(&w->txn);
        free(w);
        return;
    }
    if (err) {
        /* Durability failed: acknowledging anything now could lose it. */
        log_error("storage failed to make txn 0x%llx durable (error %d); stopping",
                  (unsigned long long)w->txn.zxid, err);
        exit(2);
    }
    server.txns_in_flight--;
    struct session *s = commit_apply(&w->txn, COMMIT_LIVE);
    if (s)
        move_on(s);
    txn_clear(&w->txn);
    free(w);
    write_stage_drain();
}

static const struct replicator *replicator(void)
{
    return server.replicator ? server.replicator : &replicate_standalone;
}

void write_stage_sync_done(struct session *s)
{
    struct pending *p = s->head;
    if (!p || !p->in_flight || p->req->op != CORRAL_OP_SYNC)
        return;
    answer_read(s, p);
    fifo_dequeue_head(s);
    session_pump(s);
    write_stage_drain();
}

void write_stage_answered(struct session *s)
{
    if (s)
        move_on(s);
    write_stage_drain();
}

void write_stage_drain(void)
{
    if (server.draining)
        return;
    server.draining = 1;
    while (server.txns_in_flight < server.max_txns_in_flight && server.write_head) {
        struct session *s = server.write_head;
        server.write_head = s->write_next;
        if (!server.write_head)
            server.write_tail = NULL;
        s->queued_for_write = 0;
        s->write_next = NULL;
        struct pending *p = next_preppable(s);
        if (!p)
            continue;
        if (replicator()->forward) {
            /* a learner: the leader preps it; it waits in flight for its COMMIT (replicate.h) */
            p->in_flight = 1;
            if (next_preppable(s))
                write_queue_push(s);
            replicator()->forward(s, p);
            continue;
        }
        struct write_ctx *w = calloc(1, sizeof *w);
        if (!w)
            abort();
        if (p->fwd)
            prep_forwarded(s, p, &w->txn);
        else
            prep_write(s, p->req, &w->txn);
        p->in_flight = 1;
        server.txns_in_flight++;
        if (next_preppable(s))      /* round robin: its next write goes to the back */
            write_queue_push(s);
        replicator()->replicate(&w->txn, write_committed, w);
    }
    server.draining = 0;
}
