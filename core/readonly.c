/*
 * readonly.c — what a member cut off from its quorum does with requests
 * while it serves read-only clients (readonlymode.enabled=true; the mode
 * starts and ends in quorum/peer.c, the connect side is in connect.c).
 *
 * As ZooKeeper's ReadOnlyRequestProcessor: every request that would change
 * state, and sync (which needs the leader), is answered NotReadOnly with
 * the last applied zxid; reads are answered from the tree as it was when
 * the quorum was lost.  A read-only session is local (struct session.local):
 * no createSession txn made it, so its closeSession ends it here, answered,
 * without a txn — there is no leader to propose one to.
 *
 * Where this differs from ZooKeeper 3.8: its read-only server answers a new
 * session's createSession with NotReadOnly too unless localSessionsEnabled
 * is set, so a read-only client cannot connect at all in the default
 * configuration (seen: kazoo read_only=True gets a bare error header and
 * "invalid server response").  Here read-only sessions are always local,
 * which is what that mode is documented to do.
 */
#include <string.h>
#include "server.h"
#include "pipeline_internal.h"
#include "session_tracker.h"
#include "log.h"

static int changes_state(const struct corral_request *req)
{
    return goes_through_prep(req) || req->op == CORRAL_OP_SYNC;
}

int readonly_answer(struct session *s)
{
    struct pending *p = s->head;
    if (!p || p->in_flight || !changes_state(p->req))
        return 0;
    if (p->req->op == CORRAL_OP_CLOSE_SESSION && s->local) {
        const struct corral_conn_ops *ops = s->ops;
        void *conn = s->conn;
        struct corral_response rsp;
        memset(&rsp, 0, sizeof rsp);
        rsp.zxid = server.last_zxid;
        send_reply(s, p, &rsp);
        log_info("session 0x%llx closed (by client, read-only mode)", (unsigned long long)s->id);
        tracker_forget(s->id);
        s->ops = NULL;
        session_free(s);
        if (ops)
            ops->close(conn, CORRAL_OK);
        return -1;
    }
    reply_error(s, p, CORRAL_ENOTREADONLY);
    fifo_dequeue_head(s);
    return 1;
}
