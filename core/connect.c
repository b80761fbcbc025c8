/*
 * connect.c — a connection arriving for a session: a new session, or an
 * existing one resumed on another connection.
 *
 * A new session gets its id, its local client and its clock here, and an
 * internal createSession write at the head of its FIFO; the client is told
 * it is connected once that write is durable and applied (write_stage.c), as
 * ZooKeeper does, and only then is the session in the session table.  A
 * resumed session is checked (in the session table, password, not closing)
 * and moved onto the new connection at once; a session without a local
 * client here (restored by recovery, or its client went away idle) gets one.
 * On a learner the leader decides whether a resumed session lives
 * (REVALIDATE, through the replicator's revalidate): the connect is held,
 * attached but unanswered, until pipeline_revalidated.
 * Either way the connection's identities are set afresh (attach), since they
 * belong to the connection and not to the session, and the session's clock
 * runs with the timeout negotiated now (the table keeps the createSession's,
 * as ZooKeeper's does).
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "pipeline_internal.h"
#include "session_tracker.h"
#include "replicate.h"
#include "log.h"

static void attach(struct session *s, const struct corral_connect_params *p,
                   const struct corral_conn_ops *ops, void *conn)
{
    s->ops = ops;
    s->conn = conn;
    s->conn_gen++;
    free(s->remote_addr);
    s->remote_addr = p->remote_addr ? strdup(p->remote_addr) : NULL;
    /* Identities belong to the connection: clients re-send addauth on reconnect. */
    for (int i = 0; i < s->n_ids; i++) {
        free(s->ids[i].scheme);
        free(s->ids[i].id);
    }
    s->n_ids = 0;
    for (int i = 0; i < server.n_auth; i++) {
        const struct corral_auth_ops *a = server.auth[i];
        if (!a->identify_connection)
            continue;
        char *id = a->identify_connection(s->remote_addr);
        if (id) {
            session_add_identity(s, a->scheme, id, 0);
            free(id);
        }
    }
}

/* The session moves to another connection: its current one is closed (SessionMoved). */
static void move_off_connection(struct session *s)
{
    if (!s->ops)
        return;
    const struct corral_conn_ops *old_ops = s->ops;
    void *old_conn = s->conn;
    fifo_detach_conn(s);
    old_ops->close(old_conn, CORRAL_ESESSIONMOVED);
}

/* Tell the client its session is (again) its own, and run what its FIFO holds. */
static void answer_attached(struct session *s, const struct corral_conn_ops *ops, void *conn,
                            int read_only)
{
    struct corral_connect_result res;
    memset(&res, 0, sizeof res);
    res.err = CORRAL_OK;
    res.timeout_ms = s->timeout_ms;
    res.session_id = s->id;
    res.read_only = read_only;
    memcpy(res.passwd, s->passwd, sizeof res.passwd);
    ops->connected(conn, &res);
    /* reads held for an old connection's backlog: their replies go nowhere now */
    pipeline_resume(s);
}

/*
 * Read-only mode (readonly.c): only clients that said they accept a
 * read-only server (ConnectRequest's readOnly), as ZooKeeper's
 * ReadOnlyZooKeeperServer; their sessions are local, known to this server
 * only, and told so (ConnectResponse readOnly).  A global session (in the
 * replicated table) is not resumed here: it belongs to the ensemble, which
 * this member cannot reach.
 */
static struct session *connect_read_only(const struct corral_connect_params *p,
                                         const struct corral_conn_ops *ops, void *conn,
                                         int32_t timeout)
{
    struct corral_connect_result res;
    memset(&res, 0, sizeof res);
    const char *who = p->remote_addr ? p->remote_addr : "?";
    if (!p->read_only) {
        log_info("refusing a session request from %s: not a read-only client, and this member "
                 "serves read-only clients only (no quorum)", who);
        return NULL;
    }
    struct session *s = NULL;
    if (p->session_id != 0) {
        s = session_find(p->session_id);
        if (session_table_find(p->session_id)) {
            log_info("refusing to resume global session 0x%llx from %s in read-only mode",
                     (unsigned long long)p->session_id, who);
            return NULL;
        }
        uint8_t passwd[CORRAL_PASSWD_LEN];
        session_make_passwd(p->session_id, passwd);
        if (!s || !s->local || s->closing || p->passwd_len != CORRAL_PASSWD_LEN ||
            memcmp(p->passwd, passwd, CORRAL_PASSWD_LEN) != 0) {
            res.err = CORRAL_ESESSIONEXPIRED;
            ops->connected(conn, &res);
            return NULL;
        }
        move_off_connection(s);
    } else {
        s = session_new(server.next_session_id++, timeout);
        if (!s) {
            res.err = CORRAL_ESYSTEMERROR;
            ops->connected(conn, &res);
            return NULL;
        }
        s->local = 1;
        log_info("session 0x%llx opened read-only (local) for %s", (unsigned long long)s->id, who);
    }
    attach(s, p, ops, conn);
    s->timeout_ms = timeout;
    answer_attached(s, ops, conn, 1);
    return s;
}

struct session *pipeline_connect(const struct corral_connect_params *p,
                                 const struct corral_conn_ops *ops, void *conn)
{
    struct corral_connect_result res;
    memset(&res, 0, sizeof res);
    int32_t timeout = session_negotiate_timeout(p->timeout_ms);

    /*
     * As ZooKeeper's server does, a connection gets no answer (the
     * transport closes it and the client tries the next server) while this
     * server is not serving (an ensemble member not synced with a quorum),
     * or when the client has seen a zxid this server has not applied.
     */
    if (!server.serving) {
        log_info("refusing a connection from %s: not serving (no quorum yet)",
                 p->remote_addr ? p->remote_addr : "?");
        return NULL;
    }
    if (p->last_zxid_seen > server.last_zxid) {
        log_info("refusing a connection from %s: it has seen zxid 0x%llx, our last zxid is "
                 "0x%llx; it must try another server", p->remote_addr ? p->remote_addr : "?",
                 (unsigned long long)p->last_zxid_seen, (unsigned long long)server.last_zxid);
        return NULL;
    }
    if (server.serving == SERVING_READ_ONLY)
        return connect_read_only(p, ops, conn, timeout);

    if (p->session_id != 0) {
        struct session *s = session_find(p->session_id);
        /*
         * ZooKeeper drops the session's current connection before it looks
         * at the password (ZooKeeperServer.processConnectRequest), so even a
         * refused attempt moves the client off it; done the same here.
         */
        if (s && !s->closing)
            move_off_connection(s);
        /* a learner asks the leader instead (below): the table here may lag behind it */
        int ask_leader = server.replicator && server.replicator->revalidate;
        int alive = (ask_leader || session_table_find(p->session_id)) && !(s && s->closing);
        uint8_t passwd[CORRAL_PASSWD_LEN];
        session_make_passwd(p->session_id, passwd);
        if (!alive || p->passwd_len != CORRAL_PASSWD_LEN ||
            memcmp(p->passwd, passwd, CORRAL_PASSWD_LEN) != 0) {
            log_info("refusing to resume session 0x%llx: %s", (unsigned long long)p->session_id,
                     !alive ? "expired or unknown" : "bad password");
            res.err = CORRAL_ESESSIONEXPIRED;
            ops->connected(conn, &res);
            if (s)
                session_release_if_idle(s);     /* moved off its connection above */
            return NULL;
        }
        if (!s && !(s = session_new(p->session_id, timeout))) {
            res.err = CORRAL_ESYSTEMERROR;
            ops->connected(conn, &res);
            return NULL;
        }
        move_off_connection(s);
        attach(s, p, ops, conn);
        s->timeout_ms = timeout;
        if (ask_leader) {
            /* held until the leader answers (pipeline_revalidated) */
            server.replicator->revalidate(s, timeout);
            return s;
        }
        tracker_add(s->id, timeout);
        /* its client is here now: on a leader, the learner that had it gets SessionMoved
         * (ZooKeeper's revalidateSession sets the owner to the leader's own) */
        session_table_find(s->id)->owner = server.my_id;
        answer_attached(s, ops, conn, 0);
        return s;
    }

    int64_t id = server.next_session_id++;
    struct session *s = session_new(id, timeout);
    if (!s) {
        res.err = CORRAL_ESYSTEMERROR;
        ops->connected(conn, &res);
        return NULL;
    }
    tracker_add(id, timeout);   /* its clock runs from the connect, createSession in flight or not */
    attach(s, p, ops, conn);
    struct corral_request *req = calloc(1, sizeof *req);
    if (!req)
        abort();
    req->op = CORRAL_OP_CREATE_SESSION;
    fifo_enqueue(s, req, 1, 1);
    session_pump(s);
    write_stage_drain();
    return s;
}

/*
 * A learner's revalidation came back (ZooKeeper's Learner.revalidate): the
 * held connect is answered as the local check above would have answered it.
 */
void pipeline_revalidated(struct session *s, int valid)
{
    struct corral_connect_result res;
    memset(&res, 0, sizeof res);
    const struct corral_conn_ops *ops = s->ops;
    void *conn = s->conn;
    if (!ops)
        return;
    if (!valid) {
        log_info("refusing to resume session 0x%llx: the leader says it is expired",
                 (unsigned long long)s->id);
        fifo_detach_conn(s);
        res.err = CORRAL_ESESSIONEXPIRED;
        ops->connected(conn, &res);
        session_release_if_idle(s);
        return;
    }
    tracker_add(s->id, s->timeout_ms);
    answer_attached(s, ops, conn, 0);
}
