/*
 * apply.c — the one function that changes the data tree.
 *
 * Every server applies every committed txn through apply_txn, in zxid order:
 * in normal operation, on recovery from the log, and on sync with a leader.
 * It must therefore be deterministic: it uses only the txn and the tree (no
 * clock, no session table lookups beyond creating/removing entries the txn
 * names).  It owns the replicated session table (session_table.c): a
 * createSession adds its entry, a closeSession removes it, on every server.
 * Nor does it drive what only the server in charge runs: it starts no
 * session's expiry clock (the tracker does, from the connect or when it
 * starts: session_tracker.c), touches no local client (the pipeline frees
 * one once its close is answered) and leaves prep's zxid allocator alone
 * (prep_start sets it once recovery is done).
 * t0580 pins this: the txn log alone rebuilds the live tree.  Watches fire
 * here, while the change is made, so their events are queued before the
 * reply to the write.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "log.h"
#include "quota.h"


static char *parent_path(const char *path, char *buf, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, path, len);
    buf[len] = 0;
    return buf;
}

static int apply_create(const struct corral_txn *t, int64_t zxid, struct apply_result *res)
{
    const char *name;
    struct znode *parent = tree_lookup_parent(&server.tree, t->path, &name);
    if (!parent)
        return CORRAL_ENONODE;
    if (tree_child(&server.tree, parent, name))
        return CORRAL_ENODEEXISTS;
    struct acl_list *acl = acl_cache_get(t->acl, t->n_acl);
    if (!acl)
        abort();
    struct znode *n = tree_add_child(&server.tree, parent, name, t->data, t->data_len, acl);
    acl_list_unref(acl);
    struct znode_meta m = {.czxid = zxid, .mzxid = zxid, .pzxid = zxid,
                           .ctime = t->time, .mtime = t->time};
    if (t->ephemeral)
        m.owner = t->session_id;
    else if (t->type == CORRAL_OP_CREATE_CONTAINER)
        m.owner = ZNODE_CONTAINER_OWNER;
    else if (t->type == CORRAL_OP_CREATE_TTL)
        m.owner = ZNODE_TTL_OWNER_BITS | t->ttl;
    if (!n || tree_set_meta(&server.tree, n, &m) < 0)
        abort();
    /*
     * ZooKeeper's rule (DataTree.createNode): the parent's child counter only
     * moves up.  A txn replayed over a fuzzy snapshot that already counted it
     * changes nothing, and a counter at 2^31 - 1 stays there once the next
     * value wraps negative (so later sequential creates of the same name
     * find NodeExists, as in ZooKeeper).
     */
    struct znode_meta pm;
    tree_get_meta(&server.tree, parent, &pm);
    if (t->parent_cversion > pm.cversion)
        tree_set_child_counters(&server.tree, parent, t->parent_cversion, zxid);
    if (t->ephemeral)
        ephemeral_add(t->session_id, t->path);
    else
        containers_track(t->path, m.owner);
    struct acl_list *n_acl = tree_acl(n), *parent_acl = tree_acl(parent);
    /* quota stats writes may move nodes (tree_set_data): then look n up again */
    uint64_t moves = server.tree.moves;
    quota_node_created(t->path, t->data_len);
    if (server.tree.moves != moves)
        n = tree_lookup(&server.tree, t->path);
    res->path = strdup(t->path);
    tree_fill_stat(&server.tree, n, &res->stat);

    char pbuf[4096];
    watch_fire_created(t->path, n_acl);
    watch_fire_children_changed(parent_path(t->path, pbuf, sizeof pbuf), parent_acl);
    return CORRAL_OK;
}

static int delete_node(const char *path, int64_t zxid)
{
    struct znode *parent, *n = tree_find(&server.tree, path, &parent);
    if (!n || !parent)          /* the root cannot go */
        return CORRAL_ENONODE;
    if (tree_num_children(&server.tree, n))
        return CORRAL_ENOTEMPTY;
    int64_t owner = tree_owner(&server.tree, n);
    struct acl_list *acl = tree_acl(n);
    acl_list_ref(acl);          /* who may see the NodeDeleted event */
    struct acl_list *parent_acl = tree_acl(parent);
    int32_t len;
    tree_data(&server.tree, n, &len);
    uint64_t moves = server.tree.moves;
    quota_node_deleted(path, len);
    if (server.tree.moves != moves)
        n = tree_find(&server.tree, path, &parent);     /* a quota stats write moved nodes */
    tree_remove(&server.tree, parent, n);
    /* The stored cversion counts creates only; clients see creates + deletes
     * (tree_fill_stat derives it), as ZooKeeper's StatPersisted does. */
    struct znode_meta pm;
    tree_get_meta(&server.tree, parent, &pm);
    if (zxid > pm.pzxid)
        tree_set_child_counters(&server.tree, parent, pm.cversion, zxid);
    if (znode_owner_is_session(owner))
        ephemeral_remove(owner, path);
    else
        containers_untrack(path, owner);
    char pbuf[4096];
    watch_fire_deleted(path, acl);
    watch_fire_children_changed(parent_path(path, pbuf, sizeof pbuf), parent_acl);
    acl_list_unref(acl);
    return CORRAL_OK;
}

static int apply_set_data(const struct corral_txn *t, int64_t zxid, struct apply_result *res)
{
    struct znode *parent, *n = tree_find(&server.tree, t->path, &parent);
    if (!n)
        return CORRAL_ENONODE;
    int32_t old_len;
    tree_data(&server.tree, n, &old_len);
    n = tree_set_node_data(&server.tree, parent, n, t->data, t->data_len);
    tree_set_modified(&server.tree, n, t->version, zxid, t->time);
    uint64_t moves = server.tree.moves;
    quota_data_set(t->path, old_len, t->data_len);
    if (server.tree.moves != moves)
        n = tree_lookup(&server.tree, t->path);     /* a quota stats write moved nodes */
    tree_fill_stat(&server.tree, n, &res->stat);
    watch_fire_data_changed(t->path, tree_acl(n));
    return CORRAL_OK;
}

static int apply_set_acl(const struct corral_txn *t, struct apply_result *res)
{
    struct znode *n = tree_lookup(&server.tree, t->path);
    if (!n)
        return CORRAL_ENONODE;
    struct acl_list *acl = acl_cache_get(t->acl, t->n_acl);
    if (!acl)
        abort();
    tree_set_acl(&server.tree, n, acl, t->version);
    acl_list_unref(acl);
    tree_fill_stat(&server.tree, n, &res->stat);
    return CORRAL_OK;
}

/*
 * closeSession, as ZooKeeper's DataTree.killSession: first the paths the txn
 * names, in its order (prep chose them and their order, so every server
 * fires the same events), then whatever the tree still says the session
 * owns, in ZooKeeper's order (ephemeral.c): all of it for the bodiless form
 * (n_close_paths -1), and what a short list missed (ZooKeeper warns of such
 * "extra paths"; with a list prep wrote there are none), so no ephemeral
 * outlives its session.  Unlike ZooKeeper, a listed path is deleted only
 * while it is an ephemeral of this session: a list never names anything
 * else, so a damaged or foreign one cannot delete another node.
 */
static void kill_session(const struct corral_txn *t, int64_t zxid)
{
    for (int32_t i = 0; i < t->n_close_paths; i++) {
        struct znode *n = tree_lookup(&server.tree, t->close_paths[i]);
        if (n && tree_owner(&server.tree, n) == t->session_id)
            delete_node(t->close_paths[i], zxid);
    }
    int32_t n;
    const char **order = ephemeral_ordered(ephemeral_find(t->session_id), &n);
    char **rest = malloc((n ? (size_t)n : 1) * sizeof *rest);
    if (!rest)
        abort();
    for (int32_t i = 0; i < n; i++)     /* deleting frees the set's strings */
        if (!(rest[i] = strdup(order[i])))
            abort();
    free(order);
    for (int32_t i = 0; i < n; i++) {
        delete_node(rest[i], zxid);
        free(rest[i]);
    }
    free(rest);
    ephemeral_drop_owner(t->session_id);    /* stale entries, and the set itself */
}

static int apply_one(const struct corral_txn *t, int64_t zxid, struct apply_result *res)
{
    res->op = t->type;
    switch (t->type) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        return apply_create(t, zxid, res);
    case CORRAL_OP_DELETE:
    case CORRAL_OP_DELETE_CONTAINER:
        return delete_node(t->path, zxid);
    case CORRAL_OP_SET_DATA:
        return apply_set_data(t, zxid, res);
    case CORRAL_OP_SET_ACL:
        return apply_set_acl(t, res);
    case CORRAL_OP_CHECK:
        return CORRAL_OK;
    case CORRAL_OP_ERROR:
        return t->err;
    case CORRAL_OP_CREATE_SESSION:
        if (!session_table_add(t->session_id, t->timeout))
            abort();
        return CORRAL_OK;
    case CORRAL_OP_CLOSE_SESSION:
        kill_session(t, zxid);
        session_table_remove(t->session_id);
        return CORRAL_OK;
    default:
        log_warn("apply: txn 0x%llx has unknown type %d", (unsigned long long)zxid, t->type);
        return CORRAL_EUNIMPLEMENTED;
    }
}

int apply_txn(const struct corral_txn *t, struct apply_result *res, struct apply_result **subs)
{
    memset(res, 0, sizeof *res);
    if (subs)
        *subs = NULL;
    if (t->zxid > server.last_zxid)
        server.last_zxid = t->zxid;
    if (t->type != CORRAL_OP_MULTI) {
        res->err = apply_one(t, t->zxid, res);
        return res->err;
    }

    /* multi: all or nothing.  A member that failed in prep fails the whole. */
    res->op = CORRAL_OP_MULTI;
    struct apply_result *r = calloc(t->n_subs ? (size_t)t->n_subs : 1, sizeof *r);
    if (!r)
        abort();
    int failed = 0;
    for (int32_t i = 0; i < t->n_subs; i++)
        failed |= t->subs[i].type == CORRAL_OP_ERROR;
    int seen_error = 0;
    for (int32_t i = 0; i < t->n_subs; i++) {
        const struct corral_txn *sub = &t->subs[i];
        if (failed) {
            r[i].op = CORRAL_OP_ERROR;
            if (sub->type == CORRAL_OP_ERROR) {
                r[i].err = sub->err;
                seen_error = 1;
            } else {
                r[i].err = seen_error ? CORRAL_ERUNTIMEINCONSISTENCY : CORRAL_OK;
            }
            continue;
        }
        struct corral_txn member = *sub;
        member.session_id = t->session_id;
        member.time = t->time;
        member.zxid = t->zxid;
        r[i].err = apply_one(&member, t->zxid, &r[i]);
        r[i].op = sub->type;
    }
    res->err = CORRAL_OK;
    if (subs)
        *subs = r;
    else
        apply_result_clear(NULL, r, t->n_subs);
    return CORRAL_OK;
}

void apply_result_clear(struct apply_result *res, struct apply_result *subs, int n_subs)
{
    if (res) {
        free(res->path);
        res->path = NULL;
    }
    for (int i = 0; subs && i < n_subs; i++)
        free(subs[i].path);
    free(subs);
}
