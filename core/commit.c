/*
 * commit.c — the one path a committed txn takes, whoever committed it.
 *
 * "Durable" and "committed" are separate events.  Durable is the storage
 * module's business (append, fsync); committed is the role's: standalone, a
 * txn is committed once it is durable here; a leader will commit once a
 * quorum's ACKs are in; a follower or observer when the leader's COMMIT or
 * INFORM arrives; recovery and a DIFF replay find txns committed already.
 * Every one of them ends here, in zxid order, and this file does the same
 * for all of them:
 *
 *   1. apply the txn to the tree (apply.c: the only writer of the tree);
 *   2. tell prep its changes are no longer outstanding (live txns);
 *   3. run the after-commit hooks (live txns; a replay writes nothing);
 *   4. answer the local client waiting for it, if there is one: the
 *      session is looked up by the txn's session id, and the request at the
 *      head of its FIFO answers to the txn when it is in flight and has the
 *      txn's cxid.  No pointer from the txn's origin is needed, so a txn
 *      that did not start in this process (a follower applying a COMMIT)
 *      reaches the client that is connected here all the same.
 *   5. a closeSession ends the local client of its session, whoever asked
 *      for it: the client that sent it is answered, one that is connected
 *      but did not ask (the session expired on the server in charge) has
 *      its connection closed, and one with no connection (recovery) goes.
 *
 * The caller gets back the session whose FIFO head was answered and may
 * move on; moving it on is the caller's (write_stage.c), which keeps this
 * file below the parts that decide what runs next.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "pipeline_internal.h"
#include "commit.h"
#include "log.h"
#include "hooks.h"

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

/*
 * The request of s that txn answers: the head of its FIFO, when it is in
 * flight.  Standalone, a head in flight with another cxid means txns are
 * committed out of the order they were handed on (storage broke its
 * promise): answering anything now would answer the wrong request.  In an
 * ensemble it is a session that moved (below).
 */
static struct pending *waiting_request(struct session *s, const struct corral_txn *txn)
{
    struct pending *p = s ? s->head : NULL;
    if (!p || !p->in_flight)
        return NULL;
    /*
     * A closeSession answers only the client's own.  On a learner the
     * leader may expire a session while a write of it is forwarded and in
     * flight: the leader's closeSession (cxid 0) is then not that write's
     * answer, and no commit broke its order; the session ends (step 5)
     * and the write goes unanswered with it.  Standalone the closeSession
     * is always the in-flight head itself.
     */
    if (txn->type == CORRAL_OP_CLOSE_SESSION &&
        (p->req->op != CORRAL_OP_CLOSE_SESSION || p->req->xid != txn->cxid))
        return NULL;
    if (p->req->xid != txn->cxid) {
        if (server.replicator) {
            /*
             * An ensemble member: the session moved to another member
             * (ZOOKEEPER-2684), whose client wrote through it, while this
             * member's old connection of the session still has a request
             * in flight.  That txn is not this request's answer; it is
             * applied as anyone's, and the request waits for its own
             * (the leader answers it, SessionMoved most likely), as
             * ZooKeeper's CommitProcessor does.
             */
            log_warn("txn 0x%llx (session 0x%llx, cxid %d) committed while this server's "
                     "request of the session in flight is xid %d: the session moved; not its "
                     "answer", (unsigned long long)txn->zxid,
                     (unsigned long long)txn->session_id, (int)txn->cxid, (int)p->req->xid);
            return NULL;
        }
        log_error("txn 0x%llx (session 0x%llx, cxid %d) committed while the session's oldest "
                  "request in flight is xid %d: commits out of order; stopping",
                  (unsigned long long)txn->zxid, (unsigned long long)txn->session_id,
                  (int)txn->cxid, (int)p->req->xid);
        abort();
    }
    return p;
}

/* closeSession committed: the local client of the session ends (its connection closed). */
static void end_local_client(struct session *s, int live)
{
    const struct corral_conn_ops *ops = s->ops;
    void *conn = s->conn;
    int32_t reason = s->closing ? s->close_reason : CORRAL_ESESSIONEXPIRED;
    if (live)
        log_info("session 0x%llx closed (%s)", (unsigned long long)s->id,
                 reason == CORRAL_ESESSIONEXPIRED ? "expired" : "by client");
    s->ops = NULL;
    if (live && hooks_any_session)
        hooks_session(s->id, 0);
    session_free(s);
    if (ops)
        ops->close(conn, reason);
}

/*
 * The session now in the table is owned by the server its client is on:
 * the learner that forwarded the createSession, else this one (ZooKeeper's
 * setOwner in the createSession's prep; only a leader looks at it).
 */
static void answer_create_session(struct session *s, struct pending *p, const struct corral_txn *t)
{
    struct session_entry *e = session_table_find(s->id);
    if (e)
        e->owner = p->fwd ? p->fwd->from : server.my_id;
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
    account_reply(s, p, t->zxid);
}

static void answer_write(struct session *s, struct pending *p, const struct corral_txn *t,
                         const struct apply_result *res, const struct apply_result *subs)
{
    struct corral_response rsp, *results = NULL;
    if (subs) {
        results = calloc(t->n_subs ? (size_t)t->n_subs : 1, sizeof *results);
        if (!results)
            abort();
    }
    build_write_reply(&rsp, t, p->req, res, subs, results);
    send_reply(s, p, &rsp);
    free(results);
}

struct session *commit_apply(const struct corral_txn *txn, enum commit_origin origin)
{
    int live = origin == COMMIT_LIVE;
    struct apply_result res, *subs = NULL;
    apply_txn(txn, &res, &subs);
    if (live) {
        prep_applied(txn->zxid);
        if (hooks_any_after_commit)
            hooks_after_commit(txn);
    }

    struct session *s = session_find(txn->session_id);
    struct pending *p = live ? waiting_request(s, txn) : NULL;
    struct session *moved_on = NULL;
    if (txn->type == CORRAL_OP_CLOSE_SESSION) {
        if (p) {
            struct corral_response rsp;
            memset(&rsp, 0, sizeof rsp);
            rsp.zxid = txn->zxid;
            send_reply(s, p, &rsp);
        }
        if (s)
            end_local_client(s, live);
    } else if (p) {
        if (txn->type == CORRAL_OP_CREATE_SESSION)
            answer_create_session(s, p, txn);
        else
            answer_write(s, p, txn, &res, subs);
        fifo_dequeue_head(s);
        moved_on = s;
    }
    apply_result_clear(&res, subs, txn->n_subs);
    return moved_on;
}
