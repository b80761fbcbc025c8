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
 * Writes run ahead of the disk: up to globalOutstandingLimit txns may be
 * prepped and handed to storage before the first is durable, so a storage
 * module can make a whole batch durable with one fsync (group commit).  Prep
 * sees the changes of those outstanding txns (prep.c).  Storage reports txns
 * durable in the order they were appended, which is zxid order, and they
 * are applied in that order.  Within a session, consecutive writes may all be
 * in flight; a read waits until every write before it is applied.
 *
 * Replies are measured before they go to the transport (replysize.c): one
 * that would be longer than jute.maxbuffer is answered MarshallingError
 * instead, with a log line, and sets no watch.
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
 * Session life: connect queues an internal createSession write; closeSession
 * (client) or expiry (server) queues a closeSession write whose apply removes
 * the ephemerals; then the connection is told to close and the session goes.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "path.h"
#include "log.h"
#include "hooks.h"
#include "replysize.h"
#include "corral/zk_proto.h"

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
static int is_write(const struct corral_request *req)
{
    return is_write_op(req->op) && !(req->malformed && req->op == CORRAL_OP_RECONFIG);
}

/* Requests are freed as libzk frees the ones it decodes: the layout is the same. */
void request_free(struct corral_request *req)
{
    zk_request_free(req);
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

/* Whether p's reply goes out: not internal, and the connection that sent it is still there. */
static int answered_to_conn(const struct session *s, const struct pending *p)
{
    return !p->internal && s->ops && p->conn_gen == s->conn_gen;
}

/* Send rsp for the head request p, if the connection that sent it is still there. */
static void send_reply(struct session *s, const struct pending *p, struct corral_response *rsp)
{
    account(s, p, rsp->zxid);
    if (!answered_to_conn(s, p))
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

static const char *read_op_name(int32_t op)
{
    switch (op) {
    case CORRAL_OP_GET_DATA: return "getData";
    case CORRAL_OP_GET_CHILDREN: return "getChildren";
    case CORRAL_OP_GET_CHILDREN2: return "getChildren2";
    case CORRAL_OP_GET_ACL: return "getACL";
    case CORRAL_OP_MULTI_READ: return "multiRead";
    case CORRAL_OP_GET_EPHEMERALS: return "getEphemerals";
    case CORRAL_OP_WHO_AM_I: return "whoAmI";
    default: return "read";
    }
}

/*
 * Whether a reply of `size` bytes (replysize.c; at least that many when
 * `partial`: measuring stopped there) to p may go out.  A larger
 * one would cost the transport that much memory to encode, only for the
 * client to drop the connection on reading its length ("Packet len ... is
 * out of range") and, typically, retry: it is refused instead, with an error
 * code the client surfaces as an exception and does not retry.  ZooKeeper
 * has no such code; MarshallingError ("the reply could not be marshalled")
 * is the one clients know that says it.
 */
static int64_t reply_limit(const struct session *s)
{
    int64_t (*max_reply)(void *) = s->ops ? CORRAL_FN(s->ops, max_reply) : NULL;
    int64_t own = max_reply ? max_reply(s->conn) : 0;
    return own > 0 ? own : server.max_reply;
}

static int reply_fits(const struct session *s, const struct pending *p, int64_t size,
                      int partial)
{
    int64_t limit = reply_limit(s);
    if (limit <= 0 || size <= limit)
        return 1;
    const char *path = p->req->path;
    log_warn("session 0x%llx: the reply to %s%s%s (xid %d) would be %s%lld bytes, more than "
             "%s (%lld): answered MarshallingError",
             (unsigned long long)s->id, read_op_name(p->req->op), path ? " " : "",
             path ? path : "", p->req->xid, partial ? "at least " : "", (long long)size,
             limit == server.max_reply ? "jute.maxbuffer" : "its transport's message limit",
             (long long)limit);
    return 0;
}

/* Send rsp if it fits the reply limit, else MarshallingError. */
static void send_if_fits(struct session *s, const struct pending *p, struct corral_response *rsp)
{
    if (reply_fits(s, p, reply_size(rsp), 0))
        send_reply(s, p, rsp);
    else
        reply_error(s, p, CORRAL_EMARSHALLINGERROR);
}

/* A copy of acl with each id as its scheme's module shows it to non-admins. */
static struct corral_acl *acl_redacted(const struct acl_list *acl)
{
    struct corral_acl *out = calloc(acl->n ? (size_t)acl->n : 1, sizeof *out);
    if (!out)
        abort();
    for (int32_t i = 0; i < acl->n; i++) {
        const struct corral_auth_ops *a = auth_find(acl->acl[i].scheme);
        out[i].perms = acl->acl[i].perms;
        out[i].scheme = strdup(acl->acl[i].scheme);
        out[i].id = a && CORRAL_FN(a, redact_id) ? a->redact_id(acl->acl[i].id) : NULL;
        if (!out[i].id)
            out[i].id = strdup(acl->acl[i].id);
    }
    return out;
}

/*
 * Answer one node read into rsp.  Like ZooKeeper, reads do not validate the
 * path: a path that cannot exist is simply not found.  *names receives an
 * array the caller frees after the reply is encoded.  The watch the request
 * asks for is set apart (read_watch), once the reply is known to go out.
 */
static void read_node(struct session *s, const struct corral_request *r,
                      struct corral_response *rsp, const char ***names,
                      struct corral_acl **redacted)
{
    memset(rsp, 0, sizeof *rsp);
    rsp->op = r->op;
    rsp->zxid = server.last_zxid;
    struct znode *n = path_lookup(r->path);
    switch (r->op) {
    case CORRAL_OP_EXISTS:
        /* exists checks no ACL; but first, as ZooKeeper's
         * FinalRequestProcessor, it refuses a NUL */
        if (r->path_had_nul) {
            rsp->err = CORRAL_EBADARGUMENTS;
            break;
        }
        if (!n)
            rsp->err = CORRAL_ENONODE;
        else
            tree_fill_stat(&server.tree, n, &rsp->stat);
        break;
    case CORRAL_OP_GET_DATA:
        if (!n)
            rsp->err = CORRAL_ENONODE;
        else if (!acl_check(s, tree_acl(n), CORRAL_PERM_READ))
            rsp->err = CORRAL_ENOAUTH;
        else {
            rsp->data = tree_data(&server.tree, n, &rsp->data_len);
            tree_fill_stat(&server.tree, n, &rsp->stat);
        }
        break;
    case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_CHILDREN2:
        if (!n)
            rsp->err = CORRAL_ENONODE;
        else if (!acl_check(s, tree_acl(n), CORRAL_PERM_READ))
            rsp->err = CORRAL_ENOAUTH;
        else {
            int32_t count = tree_num_children(&server.tree, n), i = 0;
            *names = malloc((count ? (size_t)count : 1) * sizeof **names);
            if (!*names)
                abort();
            TREE_FOREACH_CHILD(&server.tree, n, c)
                (*names)[i++] = c->name;
            rsp->children = *names;
            rsp->n_children = count;
            tree_fill_stat(&server.tree, n, &rsp->stat);
        }
        break;
    case CORRAL_OP_GET_ACL:
        /* READ or ADMIN may look; without ADMIN, secrets in ids are redacted */
        if (!n)
            rsp->err = CORRAL_ENONODE;
        else if (!acl_check(s, tree_acl(n), CORRAL_PERM_READ | CORRAL_PERM_ADMIN))
            rsp->err = CORRAL_ENOAUTH;
        else {
            struct acl_list *acl = tree_acl(n);
            rsp->acl = acl->acl;
            rsp->n_acl = acl->n;
            if (redacted && !acl_check(s, acl, CORRAL_PERM_ADMIN))
                rsp->acl = *redacted = acl_redacted(acl);
            tree_fill_stat(&server.tree, n, &rsp->stat);
        }
        break;
    case CORRAL_OP_SYNC:
        rsp->path = r->path;
        break;
    default:
        rsp->err = CORRAL_EBADARGUMENTS;
        break;
    }
}

/*
 * The watch r asks for, given its answer: getData and getChildren watch a
 * node they could read, exists also watches a missing node for its creation.
 */
static void read_watch(struct session *s, const struct corral_request *r,
                       const struct corral_response *rsp)
{
    if (!r->watch || !s->ops)
        return;
    switch (r->op) {
    case CORRAL_OP_EXISTS:
        if (rsp->err == CORRAL_OK || rsp->err == CORRAL_ENONODE)
            watch_add(s, r->path, 0, WATCH_STANDARD);
        break;
    case CORRAL_OP_GET_DATA:
        if (rsp->err == CORRAL_OK)
            watch_add(s, r->path, 0, WATCH_STANDARD);
        break;
    case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_CHILDREN2:
        if (rsp->err == CORRAL_OK)
            watch_add(s, r->path, 1, WATCH_STANDARD);
        break;
    default:
        break;
    }
}

static void read_node_op(struct session *s, const struct pending *p)
{
    struct corral_response rsp;
    const char **names = NULL;
    struct corral_acl *redacted = NULL;
    read_node(s, p->req, &rsp, &names, &redacted);
    if (reply_fits(s, p, reply_size(&rsp), 0)) {
        read_watch(s, p->req, &rsp);
        send_reply(s, p, &rsp);
    } else {
        reply_error(s, p, CORRAL_EMARSHALLINGERROR);
    }
    free(names);
    if (redacted)
        acl_free_list(redacted, rsp.n_acl);
}

/*
 * multiRead: every member answered on its own (getData/getChildren), no
 * atomicity.  The reply is measured as the members are read, and reading
 * stops once it is over the limit: the whole multiRead is then refused, and
 * none of its members' watches is set.
 */
static void multi_read(struct session *s, const struct pending *p)
{
    const struct corral_request *r = p->req;
    int32_t n = r->n_ops > 0 ? r->n_ops : 0, done = 0;
    struct corral_response rsp, *results = calloc(n ? (size_t)n : 1, sizeof *results);
    const char ***names = calloc(n ? (size_t)n : 1, sizeof *names);
    if (!results || !names)
        abort();
    int64_t size = reply_multi_overhead(), limit = reply_limit(s);
    for (; done < n && (limit <= 0 || size <= limit); done++) {
        const struct corral_request *m = &r->ops[done];
        if (m->op != CORRAL_OP_GET_DATA && m->op != CORRAL_OP_GET_CHILDREN) {
            memset(&results[done], 0, sizeof results[done]);
            results[done].err = CORRAL_EBADARGUMENTS;
        } else {
            read_node(s, m, &results[done], &names[done], NULL);
        }
        if (results[done].err)
            results[done].op = CORRAL_OP_ERROR;
        size += reply_member_size(&results[done]);
    }
    if (reply_fits(s, p, size, done < n)) {
        for (int32_t i = 0; i < n; i++)
            read_watch(s, &r->ops[i], &results[i]);
        memset(&rsp, 0, sizeof rsp);
        rsp.zxid = server.last_zxid;
        rsp.results = results;
        rsp.n_results = n;
        send_reply(s, p, &rsp);
    } else {
        reply_error(s, p, CORRAL_EMARSHALLINGERROR);
    }
    for (int32_t i = 0; i < done; i++)
        free(names[i]);
    free(names);
    free(results);
}

/* addWatch: PERSISTENT watches both tables, PERSISTENT_RECURSIVE the data table. */
static int add_watch(struct session *s, const struct corral_request *r)
{
    if (!r->path || !s->ops)
        return r->path ? CORRAL_OK : CORRAL_EBADARGUMENTS;
    if (r->mode == CORRAL_WATCH_MODE_PERSISTENT) {
        watch_add(s, r->path, 0, WATCH_PERSISTENT);
        watch_add(s, r->path, 1, WATCH_PERSISTENT);
    } else if (r->mode == CORRAL_WATCH_MODE_PERSISTENT_RECURSIVE) {
        watch_add(s, r->path, 0, WATCH_RECURSIVE);
    } else {
        return CORRAL_EBADARGUMENTS;   /* the zk transport answers ZooKeeper's MarshallingError itself */
    }
    return CORRAL_OK;
}

/*
 * removeWatches / checkWatches by watcher type; NoWatcher when there was none.
 * As ZooKeeper 3.9 (ZOOKEEPER-4466/4471): Children and Data mean one-shot
 * watches, Persistent (4) and PersistentRecursive (5) those modes, Any every
 * mode.  3.8 knew one mode per path and session, so there Children/Data also
 * took a persistent watch off, and it answers 4, 5 (like any other number)
 * MarshallingError; t0110 keeps its sequences clear of those differences.
 */
static int remove_or_check_watches(struct session *s, const struct corral_request *r, int remove)
{
    int data = 0, child = 0;
    unsigned modes = ~0u;
    switch (r->mode) {
    case CORRAL_WATCHER_CHILDREN: child = 1; modes = WATCH_STANDARD; break;
    case CORRAL_WATCHER_DATA: data = 1; modes = WATCH_STANDARD; break;
    case CORRAL_WATCHER_ANY: data = child = 1; break;
    case 4: data = child = 1; modes = WATCH_PERSISTENT; break;     /* Persistent */
    case 5: data = 1; modes = WATCH_RECURSIVE; break;              /* PersistentRecursive */
    default: return CORRAL_EBADARGUMENTS;     /* zk: MarshallingError, decided in the transport */
    }
    if (!r->path)
        return CORRAL_EBADARGUMENTS;
    unsigned found = 0;
    if (data)
        found |= remove ? watch_remove(s, r->path, 0, modes) : watch_modes(s, r->path, 0) & modes;
    if (child)
        found |= remove ? watch_remove(s, r->path, 1, modes) : watch_modes(s, r->path, 1) & modes;
    return found ? CORRAL_OK : CORRAL_ENOWATCHER;
}

/*
 * setWatches(2): a reconnecting client re-registers what it holds.  Whatever
 * changed since the zxid it last saw fires at once instead (ZooKeeper's rule):
 * data watches on nodes deleted or modified, exist watches on nodes created,
 * child watches on nodes deleted or whose children changed.
 */
static void set_watches(struct session *s, const struct corral_request *r)
{
    if (!s->ops)
        return;
    for (int k = 0; k < 5; k++) {
        for (int32_t i = 0; r->watch_paths[k] && i < r->n_watch_paths[k]; i++) {
            const char *path = r->watch_paths[k][i];
            struct znode *n = path_lookup(path);
            struct corral_watch_event ev = {0, CORRAL_STATE_SYNC_CONNECTED, path};
            switch (k) {
            case CORRAL_SETWATCH_DATA:
                if (!n)
                    ev.type = CORRAL_EVENT_NODE_DELETED;
                else if (tree_mzxid(&server.tree, n) > r->relative_zxid)
                    ev.type = CORRAL_EVENT_NODE_DATA_CHANGED;
                else
                    watch_add(s, path, 0, WATCH_STANDARD);
                break;
            case CORRAL_SETWATCH_EXIST:
                if (n)
                    ev.type = CORRAL_EVENT_NODE_CREATED;
                else
                    watch_add(s, path, 0, WATCH_STANDARD);
                break;
            case CORRAL_SETWATCH_CHILD:
                if (!n)
                    ev.type = CORRAL_EVENT_NODE_DELETED;
                else if (tree_pzxid(&server.tree, n) > r->relative_zxid)
                    ev.type = CORRAL_EVENT_NODE_CHILDREN_CHANGED;
                else
                    watch_add(s, path, 1, WATCH_STANDARD);
                break;
            case CORRAL_SETWATCH_PERSISTENT:
                watch_add(s, path, 0, WATCH_PERSISTENT);
                watch_add(s, path, 1, WATCH_PERSISTENT);
                break;
            case CORRAL_SETWATCH_PERSISTENT_RECURSIVE:
                watch_add(s, path, 0, WATCH_RECURSIVE);
                break;
            }
            if (ev.type)
                s->ops->event(s->conn, &ev);
        }
    }
}

static void get_ephemerals(struct session *s, const struct pending *p)
{
    const char *prefix = p->req->path;
    int all = !prefix || !*prefix || !strcmp(prefix, "/");
    int32_t n = 0, count;
    const char **paths = ephemeral_ordered(ephemeral_find(s->id), &count);  /* ZooKeeper's order */
    for (int32_t i = 0; i < count; i++)
        if (all || !strncmp(paths[i], prefix, strlen(prefix)))
            paths[n++] = paths[i];
    struct corral_response rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.zxid = server.last_zxid;
    rsp.op = CORRAL_OP_GET_EPHEMERALS;
    rsp.children = paths;
    rsp.n_children = n;
    send_if_fits(s, p, &rsp);
    free(paths);
}

static int32_t count_descendants(const struct znode *n)
{
    int32_t total = 0;
    TREE_FOREACH_CHILD(&server.tree, n, c)
        total += 1 + count_descendants(c);
    return total;
}

static void get_all_children_number(struct session *s, const struct pending *p)
{
    struct corral_response rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.zxid = server.last_zxid;
    struct znode *n = path_lookup(p->req->path);
    if (!n)
        rsp.err = CORRAL_ENONODE;
    else if (!acl_check(s, tree_acl(n), CORRAL_PERM_READ))
        rsp.err = CORRAL_ENOAUTH;
    else
        rsp.number = count_descendants(n);
    send_reply(s, p, &rsp);
}

/* whoAmI: the identities the connection holds, as (scheme, user name). */
static void who_am_i(struct session *s, const struct pending *p)
{
    struct corral_acl *ids = calloc(s->n_ids ? (size_t)s->n_ids : 1, sizeof *ids);
    char **users = calloc(s->n_ids ? (size_t)s->n_ids : 1, sizeof *users);
    if (!ids || !users)
        abort();
    int32_t n = 0;
    for (int i = 0; i < s->n_ids; i++) {
        const struct corral_auth_ops *a = auth_find(s->ids[i].scheme);
        if (a && (a->flags & CORRAL_AUTH_UNIVERSAL))
            continue;   /* everyone's identity (world:anyone) is not listed */
        const char *id = s->ids[i].id, *colon = strchr(id, ':');
        users[n] = colon ? strndup(id, (size_t)(colon - id)) : strdup(id);
        ids[n].scheme = s->ids[i].scheme;
        ids[n].id = users[n];
        n++;
    }
    struct corral_response rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.zxid = server.last_zxid;
    rsp.op = CORRAL_OP_WHO_AM_I;
    rsp.acl = ids;
    rsp.n_acl = n;
    send_if_fits(s, p, &rsp);
    for (int32_t i = 0; i < n; i++)
        free(users[i]);
    free(users);
    free(ids);
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
    if (p->req->malformed) {
        reply_error(s, p, CORRAL_EMARSHALLINGERROR);
        return;
    }
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
    case CORRAL_OP_MULTI_READ:
        multi_read(s, p);
        break;
    case CORRAL_OP_ADD_WATCH:
        reply_error(s, p, add_watch(s, p->req));
        break;
    case CORRAL_OP_REMOVE_WATCHES:
        reply_error(s, p, remove_or_check_watches(s, p->req, 1));
        break;
    case CORRAL_OP_CHECK_WATCHES:
        reply_error(s, p, remove_or_check_watches(s, p->req, 0));
        break;
    case CORRAL_OP_SET_WATCHES:
    case CORRAL_OP_SET_WATCHES2:
        set_watches(s, p->req);
        reply_error(s, p, CORRAL_OK);
        break;
    case CORRAL_OP_GET_EPHEMERALS:
        get_ephemerals(s, p);
        break;
    case CORRAL_OP_GET_ALL_CHILDREN_NUMBER:
        get_all_children_number(s, p);
        break;
    case CORRAL_OP_WHO_AM_I:
        who_am_i(s, p);
        break;
    default:
        /* the zk transport then closes the connection, as ZooKeeper does */
        reply_error(s, p, CORRAL_EUNIMPLEMENTED);
        break;
    }
}

/* The first pending of s not yet in flight, when it is a write and only in-flight writes precede it. */
static struct pending *next_preppable(const struct session *s)
{
    for (struct pending *p = s->head; p; p = p->next) {
        if (p->in_flight)
            continue;
        return is_write(p->req) ? p : NULL;
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

/*
 * A held session lives by its client's reading (the transport reads none of
 * its input meanwhile, so its pings are not seen): the clock restarts when
 * a closing session (a closeSession queued, its clock stopped) gets held and
 * whenever the output drained.
 */
static void held_clock(struct session *s)
{
    expiry_update(&server.expiry, &s->expiry, now_ms(), s->timeout_ms);
}

/*
 * Answer the reads at the head of s's FIFO, holding them while the
 * connection is backlogged; queue s on the write stage when a write can be
 * prepped.  Reads whose reply goes nowhere (from an earlier connection, or
 * none attached) are not held: they cost no output.
 */
static void session_pump(struct session *s)
{
    s->held = 0;
    while (s->head && !s->head->in_flight && !is_write(s->head->req)) {
        if (answered_to_conn(s, s->head) && CORRAL_FN(s->ops, backlogged) &&
            s->ops->backlogged(s->conn)) {
            s->held = 1;
            if (s->closing)
                held_clock(s);
            return;             /* a write behind the held read waits too */
        }
        do_read(s, s->head);
        dequeue_head(s);
    }
    if (next_preppable(s))
        write_queue_push(s);
}

/* ---- writes ---- */

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
        build_write_reply(&rsp, &w->txn, p->req, &res, subs, results);
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
        /*
         * ZooKeeper drops the session's current connection before it looks
         * at the password (ZooKeeperServer.processConnectRequest), so even a
         * refused attempt moves the client off it; done the same here.
         */
        if (s && s->ops && !s->closing) {
            const struct corral_conn_ops *old_ops = s->ops;
            void *old_conn = s->conn;
            pipeline_detach(s);
            old_ops->close(old_conn, CORRAL_ESESSIONMOVED);
        }
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
        /* reads held for the old connection's backlog: their replies go nowhere now */
        pipeline_resume(s);
        return s;
    }

    int64_t id = server.next_session_id++;
    struct session *s = session_new(id, timeout);
    if (!s) {
        res.err = CORRAL_ESYSTEMERROR;
        ops->connected(conn, &res);
        return NULL;
    }
    session_touch(s);       /* its clock runs from the connect, createSession in flight or not */
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
        enqueue(s, req, 1, 0);
    }
    session_pump(s);
    write_stage_drain();
}

void pipeline_submit_internal(struct session *s, struct corral_request *req)
{
    enqueue(s, req, 1, 0);
    session_pump(s);
    write_stage_drain();
}
