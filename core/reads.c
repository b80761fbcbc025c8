/*
 * reads.c — answering the reads at the head of a session's FIFO.
 *
 * A read is answered at once from the tree, in the session's order
 * (pipeline.c calls answer_read for the request at the head; it is never
 * queued anywhere else).  Everything here reads server state and, at most,
 * sets watches or identities on the session: no read changes the tree, so
 * none goes through prep, storage or apply.  In an ensemble each server
 * answers its own clients' reads from its own tree, still after the
 * session's earlier writes (the FIFO rule READINESS.md §2 says to keep), so
 * this file is the same for every role.
 *
 * Replies are measured before they go to the transport (replysize.c): one
 * that would be longer than jute.maxbuffer is answered MarshallingError
 * instead, with a log line, and sets no watch.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "pipeline_internal.h"
#include "path.h"
#include "log.h"
#include "replysize.h"

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
        fifo_detach_conn(s);
        ops->close(conn, CORRAL_EAUTHFAILED);
    }
}

void answer_read(struct session *s, const struct pending *p)
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
