/*
 * pipeline.c — from a submitted request to its reply.
 *
 * Each session has a FIFO of submitted requests and is answered strictly in
 * that order (ZooKeeper's per-session ordering).  A read at the head of a
 * FIFO is answered at once from the tree.  A write at the head moves the
 * session onto the *write stage*: writes are prepped (prep.c) in arrival
 * order, handed to the storage module to be made durable, and when storage
 * says so they are applied (apply.c) — firing watches — and answered.  Reads
 * queued behind a session's write wait for it, so a client always reads its
 * own writes; other sessions' reads are never held up.
 *
 * For now one txn is in flight at a time: prep sees the tree as committed.
 * Group commit will prep several txns ahead against prep's overlay view.
 *
 * Session life: connect queues an internal createSession write; closeSession
 * (client) or expiry (server) queues a closeSession write whose apply removes
 * the ephemerals; then the connection is told to close and the session goes.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "path.h"
#include "log.h"

static void write_stage_drain(void);

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
        return 1;
    default:
        return 0;
    }
}

void request_free(struct corral_request *req)
{
    if (!req)
        return;
    free(req->path);
    free(req->data);
    acl_free_list(req->acl, req->n_acl);
    for (int32_t i = 0; req->ops && i < req->n_ops; i++) {
        struct corral_request *m = &req->ops[i];
        free(m->path);
        free(m->data);
        acl_free_list(m->acl, m->n_acl);
    }
    free(req->ops);
    free(req);
}

static void enqueue(struct session *s, struct corral_request *req, int internal, int at_head)
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

static void dequeue_head(struct session *s)
{
    struct pending *p = s->head;
    s->head = p->next;
    if (!s->head)
        s->tail = NULL;
    request_free(p->req);
    free(p);
    server.outstanding--;
}

static void account(struct session *s, const struct pending *p, int64_t zxid)
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

/* Send rsp for the head request p, if the connection that sent it is still there. */
static void send_reply(struct session *s, const struct pending *p, struct corral_response *rsp)
{
    account(s, p, rsp->zxid);
    if (p->internal || !s->ops || p->conn_gen != s->conn_gen)
        return;
    rsp->op = p->req->op;
    rsp->xid = p->req->xid;
    s->ops->reply(s->conn, rsp);
}

static void reply_error(struct session *s, const struct pending *p, int32_t err)
{
    struct corral_response rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.zxid = server.last_zxid;
    rsp.err = err;
    send_reply(s, p, &rsp);
}

/* ---- reads ---- */

static void read_node_op(struct session *s, const struct pending *p)
{
    const struct corral_request *r = p->req;
    struct corral_response rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.zxid = server.last_zxid;
    if (!path_is_valid(r->path, 0)) {
        rsp.err = CORRAL_EBADARGUMENTS;
        send_reply(s, p, &rsp);
        return;
    }
    struct znode *n = tree_lookup(&server.tree, r->path);
    const char **names = NULL;
    switch (r->op) {
    case CORRAL_OP_EXISTS:
        /* exists checks no ACL, and watches a missing node for its creation */
        if (r->watch)
            watch_add(s, r->path, 0);
        if (!n)
            rsp.err = CORRAL_ENONODE;
        else
            tree_fill_stat(n, &rsp.stat);
        break;
    case CORRAL_OP_GET_DATA:
        if (!n)
            rsp.err = CORRAL_ENONODE;
        else if (!acl_check(s, n->acl, CORRAL_PERM_READ))
            rsp.err = CORRAL_ENOAUTH;
        else {
            if (r->watch)
                watch_add(s, r->path, 0);
            rsp.data = n->data;
            rsp.data_len = n->data_len;
            tree_fill_stat(n, &rsp.stat);
        }
        break;
    case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_CHILDREN2:
        if (!n)
            rsp.err = CORRAL_ENONODE;
        else if (!acl_check(s, n->acl, CORRAL_PERM_READ))
            rsp.err = CORRAL_ENOAUTH;
        else {
            if (r->watch)
                watch_add(s, r->path, 1);
            int32_t count = tree_num_children(n), i = 0;
            names = malloc((count ? (size_t)count : 1) * sizeof *names);
            if (!names)
                abort();
            for (struct znode *c = n->children; c; c = c->hh.next)
                names[i++] = c->name;
            rsp.children = names;
            rsp.n_children = count;
            tree_fill_stat(n, &rsp.stat);
        }
        break;
    case CORRAL_OP_GET_ACL:
        if (!n)
            rsp.err = CORRAL_ENONODE;
        else if (!acl_check(s, n->acl, CORRAL_PERM_READ | CORRAL_PERM_ADMIN))
            rsp.err = CORRAL_ENOAUTH;
        else {
            rsp.acl = n->acl->acl;
            rsp.n_acl = n->acl->n;
            tree_fill_stat(n, &rsp.stat);
        }
        break;
    case CORRAL_OP_SYNC:
        rsp.path = r->path;
        break;
    }
    send_reply(s, p, &rsp);
    free(names);
}

static void do_auth(struct session *s, const struct pending *p)
{
    const struct corral_request *r = p->req;
    const struct corral_auth_ops *a = r->path ? auth_find(r->path) : NULL;
    char *id = NULL;
    int rc = CORRAL_EAUTHFAILED;
    if (a && a->authenticate)
        rc = a->authenticate(r->data, r->data_len, s->remote_addr, &id);
    if (rc == CORRAL_OK && id) {
        session_add_identity(s, a->scheme, id, 1);
        free(id);
        /*
         * A superuser scheme (ZooKeeper's "super") is granted through another
         * scheme's credentials ("addauth digest super:secret"): offer them to
         * every superuser module too.
         */
        for (int i = 0; i < server.n_auth; i++) {
            const struct corral_auth_ops *su = server.auth[i];
            char *su_id = NULL;
            if (su == a || !(su->flags & CORRAL_AUTH_SUPERUSER) || !su->authenticate)
                continue;
            if (su->authenticate(r->data, r->data_len, s->remote_addr, &su_id) == CORRAL_OK &&
                su_id)
                session_add_identity(s, su->scheme, su_id, 0);
            free(su_id);
        }
        reply_error(s, p, CORRAL_OK);
        return;
    }
    free(id);
    log_info("session 0x%llx: authentication with scheme '%s' failed",
             (unsigned long long)s->id, r->path ? r->path : "(null)");
    reply_error(s, p, CORRAL_EAUTHFAILED);
    /* ZooKeeper ends the connection after a failed addauth (AUTH_FAILED) */
    if (s->ops && p->conn_gen == s->conn_gen) {
        const struct corral_conn_ops *ops = s->ops;
        void *conn = s->conn;
        pipeline_detach(s);
        ops->close(conn, CORRAL_EAUTHFAILED);
    }
}

static void do_read(struct session *s, const struct pending *p)
{
    switch (p->req->op) {
    case CORRAL_OP_EXISTS:
    case CORRAL_OP_GET_DATA:
    case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_CHILDREN2:
    case CORRAL_OP_GET_ACL:
    case CORRAL_OP_SYNC:
        read_node_op(s, p);
        break;
    case CORRAL_OP_PING:
        reply_error(s, p, CORRAL_OK);
        break;
    case CORRAL_OP_AUTH:
        do_auth(s, p);
        break;
    default:
        reply_error(s, p, CORRAL_EUNIMPLEMENTED);
        break;
    }
}

/* Answer what can be answered at the head of s's FIFO; park s on the write stage at a write. */
static void session_pump(struct session *s)
{
    while (s->head) {
        struct pending *p = s->head;
        if (is_write_op(p->req->op)) {
            if (!s->queued_for_write) {
                s->queued_for_write = 1;
                s->write_next = NULL;
                if (server.write_tail)
                    server.write_tail->write_next = s;
                else
                    server.write_head = s;
                server.write_tail = s;
            }
            return;
        }
        do_read(s, p);
        dequeue_head(s);
    }
}

/* ---- writes ---- */

struct write_ctx {
    struct session *s;
    struct corral_txn txn;
};

static void build_write_reply(struct corral_response *rsp, const struct corral_txn *t,
                              const struct apply_result *res, const struct apply_result *subs,
                              struct corral_response *results)
{
    memset(rsp, 0, sizeof *rsp);
    rsp->zxid = t->zxid;
    rsp->err = res->err;
    rsp->path = res->path;
    rsp->stat = res->stat;
    for (int32_t i = 0; subs && i < t->n_subs; i++) {
        memset(&results[i], 0, sizeof results[i]);
        results[i].op = subs[i].op;
        results[i].err = subs[i].err;
        results[i].path = subs[i].path;
        results[i].stat = subs[i].stat;
        results[i].zxid = t->zxid;
    }
    if (subs) {
        rsp->results = results;
        rsp->n_results = t->n_subs;
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
    server.txn_in_flight = 0;

    struct pending *p = s->head;
    if (w->txn.type == CORRAL_OP_CREATE_SESSION) {
        if (s->ops) {
            struct corral_connect_result cr;
            memset(&cr, 0, sizeof cr);
            cr.err = CORRAL_OK;
            cr.timeout_ms = s->timeout_ms;
            cr.session_id = s->id;
            memcpy(cr.passwd, s->passwd, sizeof cr.passwd);
            s->ops->connected(s->conn, &cr);
        }
        account(s, p, w->txn.zxid);
        dequeue_head(s);
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
        build_write_reply(&rsp, &w->txn, &res, subs, results);
        send_reply(s, p, &rsp);
        free(results);
        dequeue_head(s);
        session_pump(s);
    }
    apply_result_clear(&res, subs, w->txn.n_subs);
    txn_clear(&w->txn);
    free(w);
    write_stage_drain();
}

static void write_stage_drain(void)
{
    if (server.draining)
        return;
    server.draining = 1;
    while (!server.txn_in_flight && server.write_head) {
        struct session *s = server.write_head;
        server.write_head = s->write_next;
        if (!server.write_head)
            server.write_tail = NULL;
        s->queued_for_write = 0;
        s->write_next = NULL;
        struct write_ctx *w = calloc(1, sizeof *w);
        if (!w)
            abort();
        w->s = s;
        prep_write(s, s->head->req, &w->txn);
        server.txn_in_flight = 1;
        server.storage->append(&w->txn, write_done, w);
    }
    server.draining = 0;
}

/* ---- the transport-facing entry points ---- */

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

struct session *pipeline_connect(const struct corral_connect_params *p,
                                 const struct corral_conn_ops *ops, void *conn)
{
    struct corral_connect_result res;
    memset(&res, 0, sizeof res);
    int32_t timeout = session_negotiate_timeout(p->timeout_ms);

    if (p->session_id != 0) {
        struct session *s = session_find(p->session_id);
        if (!s || s->closing || !s->created || p->passwd_len != CORRAL_PASSWD_LEN ||
            memcmp(p->passwd, s->passwd, CORRAL_PASSWD_LEN) != 0) {
            log_info("refusing to resume session 0x%llx: %s", (unsigned long long)p->session_id,
                     !s || s->closing ? "expired or unknown" : "bad password");
            res.err = CORRAL_ESESSIONEXPIRED;
            ops->connected(conn, &res);
            return NULL;
        }
        if (s->ops) {
            const struct corral_conn_ops *old_ops = s->ops;
            void *old_conn = s->conn;
            pipeline_detach(s);
            old_ops->close(old_conn, CORRAL_ESESSIONMOVED);
        }
        attach(s, p, ops, conn);
        s->timeout_ms = timeout;
        session_touch(s);
        res.err = CORRAL_OK;
        res.timeout_ms = s->timeout_ms;
        res.session_id = s->id;
        memcpy(res.passwd, s->passwd, sizeof res.passwd);
        ops->connected(conn, &res);
        return s;
    }

    int64_t id = server.next_session_id++;
    struct session *s = session_new(id, timeout);
    if (!s) {
        res.err = CORRAL_ESYSTEMERROR;
        ops->connected(conn, &res);
        return NULL;
    }
    attach(s, p, ops, conn);
    struct corral_request *req = calloc(1, sizeof *req);
    if (!req)
        abort();
    req->op = CORRAL_OP_CREATE_SESSION;
    enqueue(s, req, 1, 1);
    session_pump(s);
    write_stage_drain();
    return s;
}

void pipeline_submit(struct session *s, struct corral_request *req)
{
    if (s->closing) {
        request_free(req);
        return;
    }
    session_touch(s);
    s->requests++;
    if (req->op == CORRAL_OP_CLOSE_SESSION) {
        s->closing = 1;
        s->close_reason = CORRAL_OK;
        expiry_remove(&server.expiry, &s->expiry);
    }
    enqueue(s, req, 0, 0);
    session_pump(s);
    write_stage_drain();
}

void pipeline_detach(struct session *s)
{
    s->ops = NULL;
    s->conn = NULL;
    watch_remove_session(s);
}

void pipeline_expire(struct session *s)
{
    if (s->closing)
        return;
    s->closing = 1;
    s->close_reason = CORRAL_ESESSIONEXPIRED;
    struct corral_request *req = calloc(1, sizeof *req);
    if (!req)
        abort();
    req->op = CORRAL_OP_CLOSE_SESSION;
    enqueue(s, req, 1, 0);
    session_pump(s);
    write_stage_drain();
}
