/*
 * pipeline_internal.h — what the four files of the request pipeline share,
 * and nothing else uses.
 *
 * The pipeline is split by idea, in layers that call only downwards:
 *
 *   pipeline.c, connect.c   entry points: submit, resume, expire; a connection arriving
 *   quorum/broadcast.c      entry point of the leader's packets (COMMIT, INFORM) on a
 *                           learner; the write stage reaches a role only through the
 *                           replicator's pointers (replicate.h), a callback upwards
 *   write_stage.c           what runs next: the pump, prep → replicate (replicate.h)
 *   commit.c, reads.c       a committed txn applied and answered; a read answered
 *   fifo.c                  the FIFO, replies and their accounting
 *
 * The public surface stays in server.h; this header is the minimum the
 * files need of one another.
 */
#ifndef CORRAL_PIPELINE_INTERNAL_H
#define CORRAL_PIPELINE_INTERNAL_H

#include "server.h"

/* ---- fifo.c ---- */

/* Whether req goes through prep and takes a zxid (is_write_op, less a malformed reconfig). */
int goes_through_prep(const struct corral_request *req);
/* Queue req on s's FIFO, at its head (createSession) or its tail; internal: answered to no one. */
void fifo_enqueue(struct session *s, struct corral_request *req, int internal, int at_head);
/* Drop s's head request, answered. */
void fifo_dequeue_head(struct session *s);
/* Count the answer to p (at zxid) in the session's and the server's stats. */
void account_reply(struct session *s, const struct pending *p, int64_t zxid);
/* Account and send rsp for the head request p, if the connection that sent it is still there. */
void send_reply(struct session *s, const struct pending *p, struct corral_response *rsp);
/* send_reply of an empty reply with error err (CORRAL_OK for a bare success). */
void reply_error(struct session *s, const struct pending *p, int32_t err);
/* Whether p's reply goes out: not internal, and the connection that sent it is still there. */
int fifo_answered_to_conn(const struct session *s, const struct pending *p);
/* The connection went away: replies to it stop, its watches go. */
void fifo_detach_conn(struct session *s);

/* ---- readonly.c ---- */

/*
 * Read-only mode: answer s's FIFO head NotReadOnly when it would change
 * state (or sync); a local session's closeSession ends the session.  0:
 * the head is not for it; 1: answered and dequeued; -1: s is gone.
 */
int readonly_answer(struct session *s);

/* ---- reads.c ---- */

/* Answer the read p at the head of s's FIFO (the caller dequeues it). */
void answer_read(struct session *s, const struct pending *p);

/* ---- write_stage.c ---- */

/* Answer the reads at s's head, unless held; offer s to the write stage. */
void session_pump(struct session *s);
/* The connection's output drained: restart a held session's clock and go on. */
void write_stage_resume(struct session *s);
/* Queue s on the write stage when its next request is a preppable write. */
void write_stage_offer(struct session *s);
/* Prep and hand to storage what the write window allows; a no-op when re-entered from inside. */
void write_stage_drain(void);

#endif
