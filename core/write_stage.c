/*
 * write_stage.c — prep → storage → apply → reply, for the writes at the
 * heads of the sessions' FIFOs.
 *
 * A session whose FIFO head is a write is queued here (write_stage_offer).
 * Writes are prepped (prep.c) in arrival order, round robin between the
 * sessions, handed to the storage module to be made durable, and when
 * storage says so they are applied (apply.c) — firing watches — and
 * answered; then the session's FIFO moves on (session_pump).
 *
 * Writes run ahead of the disk: up to globalOutstandingLimit txns may be
 * prepped and handed to storage before the first is durable, so a storage
 * module can make a whole batch durable with one fsync (group commit).  Prep
 * sees the changes of those outstanding txns (prep.c).  Storage reports txns
 * durable in the order they were appended, which is zxid order, and they
 * are applied in that order.  Within a session, consecutive writes may all be
 * in flight; a read waits until every write before it is applied.
 *
 * This file is the seam where the ensemble's "replicate" step goes
 * (/work/shared/ensemble/READINESS.md §5): the storage->append call in
 * write_stage_drain becomes a role-chosen replicate (a leader proposes and
 * counts ACKs, a follower forwards instead of prepping), and write_done
 * becomes the one post-commit path (commit_apply) every role shares, with
 * the "completed out of order" abort turning into "a COMMIT for the wrong
 * zxid".  It is kept apart from the FIFO and the reads so that change stays
 * in one file.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "pipeline_internal.h"
#include "log.h"
#include "hooks.h"

/* The first pending of s not yet in flight, when it is a write and only in-flight writes precede it. */
static struct pending *next_preppable(const struct session *s)
{
    for (struct pending *p = s->head; p; p = p->next) {
        if (p->in_flight)
            continue;
        return goes_through_prep(p->req) ? p : NULL;
    }
    return NULL;
}

static void write_queue_push(struct session *s)
{
    if (s->queued_for_write)
        return;
    s->queued_for_write = 1;
    s->write_next = NULL;
    if (server.write_tail)
        server.write_tail->write_next = s;
    else
        server.write_head = s;
    server.write_tail = s;
}

void write_queue_remove(struct session *s)
{
    if (!s->queued_for_write)
        return;
    struct session **pp = &server.write_head, *prev = NULL;
    while (*pp && *pp != s) {
        prev = *pp;
        pp = &(*pp)->write_next;
    }
    if (*pp) {
        *pp = s->write_next;
        if (server.write_tail == s)
            server.write_tail = prev;
    }
    s->queued_for_write = 0;
    s->write_next = NULL;
}

/* Queue s on the write stage when the next request of its FIFO is a write that can be prepped. */
void write_stage_offer(struct session *s)
{
    if (next_preppable(s))
        write_queue_push(s);
}

struct write_ctx {
    struct session *s;
    struct pending *p;
    struct corral_txn txn;
};

static void build_write_reply(struct corral_response *rsp, const struct corral_txn *t,
                              const struct corral_request *req, const struct apply_result *res,
                              const struct apply_result *subs, struct corral_response *results)
{
    memset(rsp, 0, sizeof *rsp);
    rsp->zxid = t->zxid;
    rsp->err = res->err;
    rsp->path = res->path;
    rsp->stat = res->stat;
    int32_t n = t->n_subs;
    if (subs && req->op != CORRAL_OP_MULTI) {
        /* a single write that plugins turned into a multi: answer as the write */
        rsp->err = subs[0].err;
        for (int32_t i = 0; i < n && rsp->err == CORRAL_OK; i++)
            if (subs[i].err != CORRAL_OK && subs[i].err != CORRAL_ERUNTIMEINCONSISTENCY)
                rsp->err = subs[i].err;
        rsp->path = subs[0].path;
        rsp->stat = subs[0].stat;
        return;
    }
    if (subs && req->n_ops < n)
        n = req->n_ops;         /* plugins' additions are not the client's business */
    for (int32_t i = 0; subs && i < n; i++) {
        memset(&results[i], 0, sizeof results[i]);
        results[i].op = subs[i].op;
        results[i].err = subs[i].err;
        results[i].path = subs[i].path;
        results[i].stat = subs[i].stat;
        results[i].zxid = t->zxid;
    }
    if (subs) {
        rsp->results = results;
        rsp->n_results = n;
    }
}

static void finish_close(struct session *s)
{
    const struct corral_conn_ops *ops = s->ops;
    void *conn = s->conn;
    int32_t reason = s->close_reason;
    log_info("session 0x%llx closed (%s)", (unsigned long long)s->id,
             reason == CORRAL_ESESSIONEXPIRED ? "expired" : "by client");
    s->ops = NULL;
    if (hooks_any_session)
        hooks_session(s->id, 0);
    session_free(s);
    if (ops)
        ops->close(conn, reason);
}

static void write_done(void *arg, int err)
{
    struct write_ctx *w = arg;
    struct session *s = w->s;
    if (err) {
        /* Durability failed: acknowledging anything now could lose it. */
        log_error("storage failed to make txn 0x%llx durable (error %d); stopping",
                  (unsigned long long)w->txn.zxid, err);
        exit(2);
    }
    struct apply_result res, *subs = NULL;
    apply_txn(&w->txn, &res, &subs);
    prep_applied(w->txn.zxid);
    if (hooks_any_after_commit)
        hooks_after_commit(&w->txn);
    server.txns_in_flight--;

    struct pending *p = s->head;
    if (p != w->p) {
        /* Storage broke its promise to report txns in append order. */
        log_error("txn 0x%llx completed out of order; stopping", (unsigned long long)w->txn.zxid);
        abort();
    }
    if (w->txn.type == CORRAL_OP_CREATE_SESSION) {
        if (hooks_any_session)
            hooks_session(s->id, 1);
        if (s->ops) {
            struct corral_connect_result cr;
            memset(&cr, 0, sizeof cr);
            cr.err = CORRAL_OK;
            cr.timeout_ms = s->timeout_ms;
            cr.session_id = s->id;
            memcpy(cr.passwd, s->passwd, sizeof cr.passwd);
            s->ops->connected(s->conn, &cr);
        }
        account_reply(s, p, w->txn.zxid);
        fifo_dequeue_head(s);
        session_pump(s);
    } else if (w->txn.type == CORRAL_OP_CLOSE_SESSION) {
        struct corral_response rsp;
        memset(&rsp, 0, sizeof rsp);
        rsp.zxid = w->txn.zxid;
        send_reply(s, p, &rsp);
        finish_close(s);
    } else {
        struct corral_response rsp, *results = NULL;
        if (subs) {
            results = calloc(w->txn.n_subs ? (size_t)w->txn.n_subs : 1, sizeof *results);
            if (!results)
                abort();
        }
        build_write_reply(&rsp, &w->txn, p->req, &res, subs, results);
        send_reply(s, p, &rsp);
        free(results);
        fifo_dequeue_head(s);
        session_pump(s);
    }
    apply_result_clear(&res, subs, w->txn.n_subs);
    txn_clear(&w->txn);
    free(w);
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
        struct write_ctx *w = calloc(1, sizeof *w);
        if (!w)
            abort();
        w->s = s;
        w->p = p;
        prep_write(s, p->req, &w->txn);
        p->in_flight = 1;
        server.txns_in_flight++;
        if (next_preppable(s))      /* round robin: its next write goes to the back */
            write_queue_push(s);
        server.storage->append(&w->txn, write_done, w);
    }
    server.draining = 0;
}
