/*
 * prep.c — turn a write request into a txn (DESIGN.md, "life of a write", 2).
 *
 * Prep decides everything: the zxid, the time, the final path of a sequential
 * node, the new versions, the expanded ACL.  Apply then only executes.  The
 * checks run in ZooKeeper's order (PrepRequestProcessor), so the same failing
 * request yields the same error code: e.g. for create, bad path, then invalid
 * ACL, then missing parent, then parent ACL, then existing node, then
 * ephemeral parent.
 *
 * A failed write still becomes a txn (type error, with the code), as in
 * ZooKeeper: it takes a zxid and is logged.  So does one whose txn would be
 * longer than the txn limit (txn_size.h), which the log could not be read
 * back with: it fails with MarshallingError before storage sees it.
 *
 * Prep runs ahead of the disk: many txns may be prepped while earlier ones
 * are still being made durable (group commit).  So prep reads a *view*: the
 * tree overlaid with the changes of every prepped-but-not-applied txn (the
 * "outstanding" layer, ZooKeeper's outstandingChanges), and each request
 * preps into a layer of its own above that, merged down only when the whole
 * request succeeds.  That is what makes a multi all-or-nothing ("create /a;
 * create /a/b" checks /a/b's parent against /a's pending creation, and a
 * failed member discards the layer).  When a txn is applied, its changes
 * leave the outstanding layer unless a later txn changed the same path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "path.h"
#include "corral/zk_txn.h"
#include "hooks.h"
#include "quota.h"
#include "log.h"
#include "txn_size.h"

/* A node as prep sees it. */
struct vnode {
    int exists;
    int32_t version, cversion, aversion;
    int64_t ephemeral_owner;
    int32_t num_children;
    struct acl_list *acl;       /* a reference is held while in the view */
};

struct change {
    char *path;
    struct vnode v;
    int64_t zxid;               /* the txn that made it (outstanding layer) */
    UT_hash_handle hh;
};

struct view {
    struct change *changes;
    struct view *below;         /* NULL: the tree */
};

/* Changes of prepped txns not yet applied. */
static struct view outstanding;

#define MAX_TTL ZNODE_TTL_MASK    /* the TTL lives below the marker bits */

/*
 * The write being prepped, when a learner forwarded it (prep_forwarded):
 * its session is checked as ZooKeeper's leader checks it, once, by the
 * first operation that asks (session_check).
 */
static struct {
    struct session *s;
    const struct forwarded *f;  /* NULL: this server's own client's write, never checked */
    int checked;
    int32_t err;
} fwd_check;

/*
 * ZooKeeper's SessionTracker.checkSession(id, owner) on the leader, which
 * PrepRequestProcessor calls first in delete, setData, setACL and check, and
 * in create after the mode and TTL checks (a multi: in each member, so the
 * first fails and the rest are RuntimeInconsistency): a session the leader
 * does not know is SessionExpired (UnknownSession becomes that when local
 * sessions are off, the default), one another learner owns is SessionMoved,
 * one no one owns yet (sessions carry no owner across an election) becomes
 * this learner's.  A session is known from its createSession's prep on
 * (ZooKeeper's trackSession), so one whose createSession is still in flight,
 * the head of its FIFO, is known already, owned by its sender.  A closing
 * session takes no more writes at all (pipeline_submit_forwarded).
 */
static int32_t session_check(void)
{
    if (!fwd_check.f)
        return CORRAL_OK;
    if (fwd_check.checked)
        return fwd_check.err;
    fwd_check.checked = 1;
    struct session *s = fwd_check.s;
    struct session_entry *e = session_table_find(s->id);
    const struct pending *h = s->head;
    int64_t owner;
    if (e) {
        if (!e->owner)
            e->owner = fwd_check.f->from;
        owner = e->owner;
    } else if (h && h->in_flight && h->req->op == CORRAL_OP_CREATE_SESSION) {
        owner = h->fwd ? h->fwd->from : server.my_id;
    } else {
        return fwd_check.err = CORRAL_ESESSIONEXPIRED;
    }
    return fwd_check.err = owner == fwd_check.f->from ? CORRAL_OK : CORRAL_ESESSIONMOVED;
}

static void view_get(struct view *v, const char *path, struct vnode *out)
{
    for (; v; v = v->below) {
        struct change *c;
        HASH_FIND_STR(v->changes, path, c);
        if (c) {
            *out = c->v;
            return;
        }
    }
    memset(out, 0, sizeof *out);
    struct znode *n = path_lookup(path);
    if (!n)
        return;
    struct znode_meta m;
    tree_get_meta(&server.tree, n, &m);
    out->exists = 1;
    out->version = m.version;
    out->cversion = m.cversion;
    out->aversion = m.aversion;
    out->ephemeral_owner = m.owner;
    out->num_children = tree_num_children(&server.tree, n);
    out->acl = tree_acl(n);
}

static void view_put(struct view *v, const char *path, const struct vnode *nv)
{
    struct change *c;
    HASH_FIND_STR(v->changes, path, c);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c || !(c->path = strdup(path)))
            abort();
        HASH_ADD_KEYPTR(hh, v->changes, c->path, strlen(c->path), c);
    } else if (c->v.acl) {
        acl_list_unref(c->v.acl);
    }
    c->v = *nv;
    if (c->v.acl)
        acl_list_ref(c->v.acl);
}

/* Move every change of `from` into `to`, tagged with zxid; empties `from`. */
static void view_merge(struct view *from, struct view *to, int64_t zxid)
{
    struct change *c, *tmp;
    HASH_ITER(hh, from->changes, c, tmp) {
        HASH_DEL(from->changes, c);
        struct change *old;
        HASH_FIND_STR(to->changes, c->path, old);
        if (old) {
            HASH_DEL(to->changes, old);
            if (old->v.acl)
                acl_list_unref(old->v.acl);
            free(old->path);
            free(old);
        }
        c->zxid = zxid;
        HASH_ADD_KEYPTR(hh, to->changes, c->path, strlen(c->path), c);
    }
}

static void view_free(struct view *v)
{
    struct change *c, *tmp;
    HASH_ITER(hh, v->changes, c, tmp) {
        HASH_DEL(v->changes, c);
        if (c->v.acl)
            acl_list_unref(c->v.acl);
        free(c->path);
        free(c);
    }
}

static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    char *p = malloc(len + 1);
    if (!p)
        abort();
    memcpy(p, path, len);
    p[len] = 0;
    return p;
}

static int is_special_path(const char *path)
{
    return !strcmp(path, "/") || !strcmp(path, "/zookeeper") ||
           !strcmp(path, "/zookeeper/quota") || !strcmp(path, "/zookeeper/config");
}

static int check_version(int32_t current, int32_t expected, int32_t *next)
{
    if (expected != -1 && expected != current)
        return CORRAL_EBADVERSION;
    *next = (int32_t)((uint32_t)current + 1);
    return CORRAL_OK;
}

/*
 * ZooKeeper's checks of a create's mode and TTL (CreateMode.fromFlag, then
 * validateCreateRequest): an unknown flag is BadArguments; a TTL mode needs
 * extendedTypesEnabled (else Unimplemented) and a TTL in 1..2^40-1; any other
 * mode refuses a TTL >= 0 (plain creates carry -1).  The op, not the mode,
 * then decides what is made: createContainer a container and createTTL a TTL
 * node whatever the mode says, and create/create2 with the container mode an
 * ordinary persistent node (ZooKeeper logs a plain CreateTxn for it).
 */
static int create_mode_valid(int32_t op, int32_t flags, int64_t ttl)
{
    if (flags < CORRAL_CREATE_PERSISTENT || flags > CORRAL_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL)
        return CORRAL_EBADARGUMENTS;
    if (op != CORRAL_OP_CREATE_TTL)
        ttl = -1;
    if (flags == CORRAL_CREATE_PERSISTENT_WITH_TTL ||
        flags == CORRAL_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL) {
        int enabled = 0;
        if (config_get_bool(&server.cfg, "extendedTypesEnabled", 0, &enabled) < 0 || !enabled)
            return CORRAL_EUNIMPLEMENTED;
        return ttl <= 0 || ttl > MAX_TTL ? CORRAL_EBADARGUMENTS : CORRAL_OK;
    }
    if (ttl >= 0)
        return CORRAL_EBADARGUMENTS;
    /* createTTL with a negative TTL and no TTL mode: ZooKeeper lets it through
     * to fail applying it; refused here instead */
    return op == CORRAL_OP_CREATE_TTL ? CORRAL_EBADARGUMENTS : CORRAL_OK;
}

static int prep_create(struct session *s, struct view *v, const struct corral_request *r,
                       struct corral_txn *t)
{
    int32_t flags = r->flags;
    int sequential = flags == CORRAL_CREATE_PERSISTENT_SEQUENTIAL ||
                     flags == CORRAL_CREATE_EPHEMERAL_SEQUENTIAL ||
                     flags == CORRAL_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL;
    int rc = create_mode_valid(r->op, flags, r->ttl);
    if (rc || (rc = session_check()))
        return rc;
    /*
     * ZooKeeper's order: only "has a '/'" here (validatePathForCreate), then
     * the ACL, the parent (NoNode for "/a//b": its parent "/a/" is no node),
     * and the full path check once the sequence suffix is on.
     */
    if (!r->path || !strchr(r->path, '/') || r->path_had_nul)
        return CORRAL_EBADARGUMENTS;
    struct corral_acl *acl;
    int32_t n_acl;
    if ((rc = acl_fixup(s, r->acl, r->n_acl, &acl, &n_acl)))
        return rc;
    char *parent = parent_of(r->path);
    struct vnode pv;
    view_get(v, parent, &pv);
    rc = CORRAL_ENONODE;
    if (!pv.exists)
        goto fail;
    rc = CORRAL_ENOAUTH;
    if (!acl_check(s, pv.acl, CORRAL_PERM_CREATE))
        goto fail;
    char *path;
    if (sequential) {
        size_t len = strlen(r->path);
        path = malloc(len + 16);
        if (!path)
            abort();
        snprintf(path, len + 16, "%s%010d", r->path, pv.cversion);
    } else {
        path = strdup(r->path);
    }
    rc = CORRAL_EBADARGUMENTS;
    if (!path_is_valid(path, 0)) {
        free(path);
        goto fail;
    }
    struct vnode nv;
    view_get(v, path, &nv);
    rc = CORRAL_ENODEEXISTS;
    if (nv.exists) {
        free(path);
        goto fail;
    }
    rc = CORRAL_ENOCHILDRENFOREPHEMERALS;
    if (znode_owner_is_session(pv.ephemeral_owner)) {
        free(path);
        goto fail;
    }
    if ((rc = quota_check_create(path, r->data_len))) {    /* ZooKeeper checks quotas last */
        free(path);
        goto fail;
    }
    int ephemeral_mode = flags == CORRAL_CREATE_EPHEMERAL || flags == CORRAL_CREATE_EPHEMERAL_SEQUENTIAL;
    int ephemeral = ephemeral_mode && (r->op == CORRAL_OP_CREATE || r->op == CORRAL_OP_CREATE2);
    t->type = r->op;   /* create2 stays create2, as ZooKeeper logs it */
    t->path = path;
    if (r->data_len > 0) {
        t->data = malloc((size_t)r->data_len);
        if (!t->data)
            abort();
        memcpy(t->data, r->data, (size_t)r->data_len);
    }
    t->data_len = r->data_len;
    t->acl = acl;
    t->n_acl = n_acl;
    t->ephemeral = ephemeral;
    /* int32 arithmetic that wraps, as Java's does: after 2^31 - 1 children
     * a parent's sequence numbers go negative, as in ZooKeeper */
    t->parent_cversion = (int32_t)((uint32_t)pv.cversion + 1);
    t->ttl = r->ttl;

    /* What later members of a multi see. */
    pv.cversion = t->parent_cversion;
    pv.num_children++;
    view_put(v, parent, &pv);
    /*
     * While in flight the node's owner is what its *mode* says, as in
     * ZooKeeper's change record (so a container-mode create is a container to
     * the rest of its multi); once applied, what the op made.
     */
    struct vnode created = {1, 0, 0, 0, 0, 0, NULL};
    created.ephemeral_owner = flags == CORRAL_CREATE_CONTAINER ? ZNODE_CONTAINER_OWNER
                              : r->op == CORRAL_OP_CREATE_TTL ? (ZNODE_TTL_OWNER_BITS | r->ttl)
                              : ephemeral_mode ? s->id
                                               : 0;
    created.acl = acl_cache_get(acl, n_acl);
    view_put(v, path, &created);
    acl_list_unref(created.acl);
    free(parent);
    return CORRAL_OK;
fail:
    free(parent);
    acl_free_list(acl, n_acl);
    return rc;
}

static int prep_delete(struct session *s, struct view *v, const struct corral_request *r,
                       struct corral_txn *t)
{
    int32_t err = session_check();
    if (err)
        return err;
    /* ZooKeeper's getParentPathAndValidate: the rest is NoNode by lookup */
    if (!r->path || !strchr(r->path, '/') || r->path_had_nul || is_special_path(r->path))
        return CORRAL_EBADARGUMENTS;
    char *parent = parent_of(r->path);
    struct vnode pv, nv;
    view_get(v, parent, &pv);
    int rc = CORRAL_ENONODE;
    if (!pv.exists)
        goto out;
    rc = CORRAL_ENOAUTH;
    if (!acl_check(s, pv.acl, CORRAL_PERM_DELETE))
        goto out;
    view_get(v, r->path, &nv);
    rc = CORRAL_ENONODE;
    if (!nv.exists)
        goto out;
    int32_t next;
    if ((rc = check_version(nv.version, r->version, &next)))
        goto out;
    rc = CORRAL_ENOTEMPTY;
    if (nv.num_children > 0)
        goto out;
    t->type = CORRAL_OP_DELETE;
    t->path = strdup(r->path);
    pv.num_children--;          /* the stored cversion counts creates only */
    view_put(v, parent, &pv);
    struct vnode gone = {0};
    view_put(v, r->path, &gone);
    rc = CORRAL_OK;
out:
    free(parent);
    return rc;
}

/*
 * The checks setData and check share, in ZooKeeper's order: a valid path, an
 * existing node, the permission, the expected version (-1: any).  On success
 * *nv is the node as prep sees it and *next its version plus one.
 */
static int check_node_version(struct session *s, struct view *v, const struct corral_request *r,
                              int32_t perm, struct vnode *nv, int32_t *next)
{
    int32_t err = session_check();
    if (err)
        return err;
    if (!path_is_valid(r->path, 0))
        return CORRAL_EBADARGUMENTS;
    view_get(v, r->path, nv);
    if (!nv->exists)
        return CORRAL_ENONODE;
    if (!acl_check(s, nv->acl, perm))
        return CORRAL_ENOAUTH;
    return check_version(nv->version, r->version, next);
}

static int prep_set_data(struct session *s, struct view *v, const struct corral_request *r,
                         struct corral_txn *t)
{
    struct vnode nv;
    int32_t next;
    int rc = check_node_version(s, v, r, CORRAL_PERM_WRITE, &nv, &next);
    int q = rc == 0 || rc == CORRAL_EBADVERSION ? quota_check_set(r->path, r->data_len) : 0;
    if (q || rc)    /* ZooKeeper checks the quota after the ACL, before the version */
        return q ? q : rc;
    t->type = CORRAL_OP_SET_DATA;
    t->path = strdup(r->path);
    if (r->data_len > 0) {
        t->data = malloc((size_t)r->data_len);
        if (!t->data)
            abort();
        memcpy(t->data, r->data, (size_t)r->data_len);
    }
    t->data_len = r->data_len;
    t->version = next;
    nv.version = next;
    view_put(v, r->path, &nv);
    return CORRAL_OK;
}

static int prep_set_acl(struct session *s, struct view *v, const struct corral_request *r,
                        struct corral_txn *t)
{
    int32_t err = session_check();
    if (err)
        return err;
    if (!path_is_valid(r->path, 0))
        return CORRAL_EBADARGUMENTS;
    struct corral_acl *acl;
    int32_t n_acl;
    int rc = acl_fixup(s, r->acl, r->n_acl, &acl, &n_acl);
    if (rc)
        return rc;
    struct vnode nv;
    view_get(v, r->path, &nv);
    int32_t next;
    if (!nv.exists)
        rc = CORRAL_ENONODE;
    else if (!acl_check(s, nv.acl, CORRAL_PERM_ADMIN))
        rc = CORRAL_ENOAUTH;
    else
        rc = check_version(nv.aversion, r->version, &next);
    if (rc) {
        acl_free_list(acl, n_acl);
        return rc;
    }
    t->type = CORRAL_OP_SET_ACL;
    t->path = strdup(r->path);
    t->acl = acl;
    t->n_acl = n_acl;
    t->version = next;
    nv.aversion = next;
    nv.acl = acl_cache_get(acl, n_acl);
    view_put(v, r->path, &nv);
    acl_list_unref(nv.acl);
    return CORRAL_OK;
}

static int prep_check(struct session *s, struct view *v, const struct corral_request *r,
                      struct corral_txn *t)
{
    struct vnode nv;
    int32_t next;
    int rc = check_node_version(s, v, r, CORRAL_PERM_READ, &nv, &next);
    if (rc)
        return rc;
    t->type = CORRAL_OP_CHECK;
    t->path = strdup(r->path);
    t->version = next;
    return CORRAL_OK;
}

/* deleteContainer: only the server asks; re-checked here since the node may have changed. */
static int prep_delete_container(struct view *v, const struct corral_request *r,
                                 struct corral_txn *t)
{
    if (!r->path || is_special_path(r->path) || !path_is_valid(r->path, 0))
        return CORRAL_EBADARGUMENTS;
    struct vnode nv;
    view_get(v, r->path, &nv);
    if (!nv.exists)
        return CORRAL_ENONODE;
    if (nv.num_children > 0)
        return CORRAL_ENOTEMPTY;
    if (!znode_owner_is_container(nv.ephemeral_owner) && !znode_owner_is_ttl(nv.ephemeral_owner))
        return CORRAL_EBADVERSION;
    t->type = CORRAL_OP_DELETE_CONTAINER;
    t->path = strdup(r->path);
    return CORRAL_OK;
}

static int prep_one(struct session *s, struct view *v, const struct corral_request *r,
                    struct corral_txn *t)
{
    switch (r->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        return prep_create(s, v, r, t);
    case CORRAL_OP_DELETE:
        return prep_delete(s, v, r, t);
    case CORRAL_OP_SET_DATA:
        return prep_set_data(s, v, r, t);
    case CORRAL_OP_SET_ACL:
        return prep_set_acl(s, v, r, t);
    case CORRAL_OP_CHECK:
        return prep_check(s, v, r, t);
    case CORRAL_OP_DELETE_CONTAINER:
        return prep_delete_container(v, r, t);
    case CORRAL_OP_RECONFIG:
        /* standalone: dynamic reconfiguration is disabled, as in ZooKeeper */
        return CORRAL_ERECONFIGDISABLED;
    default:
        return CORRAL_EBADARGUMENTS;
    }
}

static void make_error(struct corral_txn *t, int32_t err)
{
    txn_clear(t);
    t->type = CORRAL_OP_ERROR;
    t->err = err;
}

static void prep_multi(struct session *s, struct view *v, const struct corral_request *r,
                       struct corral_txn *t)
{
    t->type = CORRAL_OP_MULTI;
    t->n_subs = r->n_ops > 0 ? r->n_ops : 0;
    t->subs = calloc(t->n_subs ? (size_t)t->n_subs : 1, sizeof *t->subs);
    if (!t->subs)
        abort();
    int failed = 0;
    for (int32_t i = 0; i < t->n_subs; i++) {
        struct corral_txn *sub = &t->subs[i];
        if (failed) {
            make_error(sub, CORRAL_ERUNTIMEINCONSISTENCY);
            continue;
        }
        int rc = prep_one(s, v, &r->ops[i], sub);
        if (rc) {
            make_error(sub, rc);
            failed = 1;
        }
    }
    if (failed)
        view_free(v);    /* nothing of a failed multi is outstanding */
}

static void free_member(struct corral_request *m)
{
    free(m->path);
    free(m->data);
    acl_free_list(m->acl, m->n_acl);
}

/*
 * Plugins' before-write hooks may reject the request or add operations that
 * commit atomically with it: the request and the additions are then prepped
 * as one multi txn (the reply keeps the client's request shape; write_stage.c).
 */
static int prep_with_hooks(struct session *s, struct view *layer, const struct corral_request *r,
                           struct corral_txn *t)
{
    struct corral_request *extra = NULL;
    int32_t n_extra = 0;
    int rc = hooks_before_write(s->id, r, &extra, &n_extra);
    if (rc != CORRAL_OK) {
        make_error(t, rc);
    } else if (n_extra == 0) {
        if (r->op == CORRAL_OP_MULTI) {
            prep_multi(s, layer, r, t);
        } else if ((rc = prep_one(s, layer, r, t))) {
            make_error(t, rc);
            view_free(layer);
        }
    } else {
        /* one multi: the client's operation(s), then the additions */
        int32_t own = r->op == CORRAL_OP_MULTI ? r->n_ops : 1;
        struct corral_request combined = {0};
        combined.op = CORRAL_OP_MULTI;
        combined.xid = r->xid;
        combined.n_ops = own + n_extra;
        combined.ops = calloc((size_t)combined.n_ops, sizeof *combined.ops);
        if (!combined.ops)
            abort();
        if (r->op == CORRAL_OP_MULTI)
            memcpy(combined.ops, r->ops, (size_t)own * sizeof *r->ops);
        else
            combined.ops[0] = *r;
        memcpy(combined.ops + own, extra, (size_t)n_extra * sizeof *extra);
        prep_multi(s, layer, &combined, t);
        free(combined.ops);
        for (int32_t i = 0; i < t->n_subs; i++)
            if (t->subs[i].type == CORRAL_OP_ERROR && t->subs[i].err != CORRAL_ERUNTIMEINCONSISTENCY) {
                rc = t->subs[i].err;
                break;
            }
    }
    for (int32_t i = 0; i < n_extra; i++)
        free_member(&extra[i]);
    free(extra);
    return rc;
}

/*
 * closeSession names what it deletes (CloseSessionTxn), as ZooKeeper's prep
 * does: the session's applied ephemerals, plus its creates in flight, minus
 * the deletes in flight, in ZooKeeper's order (ephemeral_close_list), so a
 * server applying the txn, a ZooKeeper follower too, deletes the same nodes
 * in the same order whatever its own set holds.  The in-flight changes are
 * read from the outstanding layer in the order they were merged: a path's
 * latest change only (ZooKeeper walks every change record; the two differ
 * only in the order of a path deleted and re-created in flight, which then
 * keeps its old place).  For later preps the nodes are as good as gone.
 *
 * A list that would pass the txn limit is left out (n_close_paths -1), a
 * form ZooKeeper's reader accepts too: apply then deletes what the tree says
 * the session owns, the same set.  So a session with any number of
 * ephemerals can close and be logged; ZooKeeper writes the list whatever
 * its size, and cannot read its log back past ~2 MB of paths (t0571).
 */
static void prep_close_session(struct session *s, struct view *v, struct corral_txn *t)
{
    struct ephemeral_change *ch = malloc((HASH_COUNT(outstanding.changes) + 1) * sizeof *ch);
    if (!ch)
        abort();
    int32_t n_ch = 0;
    /* a node that is not the session's once the changes are in (deleted, or
     * deleted and made again by another) is out of the list */
    for (struct change *c = outstanding.changes; c; c = c->hh.next)
        ch[n_ch++] = (struct ephemeral_change){c->path,
                                               c->v.exists && c->v.ephemeral_owner == s->id};
    t->close_paths = ephemeral_close_list(ephemeral_find(s->id), ch, n_ch, &t->n_close_paths);
    free(ch);
    for (int32_t i = 0; i < t->n_close_paths; i++) {
        const char *path = t->close_paths[i];
        struct vnode nv, pv;
        view_get(v, path, &nv);
        if (!nv.exists)
            continue;
        char *parent = parent_of(path);
        view_get(v, parent, &pv);
        pv.num_children--;
        view_put(v, parent, &pv);
        free(parent);
        struct vnode gone = {0};
        view_put(v, path, &gone);
    }
    int64_t size = txn_encoded_size(t);
    if (size > server.max_txn_bytes) {
        log_info("closeSession of 0x%llx: its %d ephemeral paths take %lld bytes, more than the "
                 "txn limit of %lld; logging it without them (replay deletes the session's "
                 "ephemerals from the tree)", (unsigned long long)s->id, t->n_close_paths,
                 (long long)size, (long long)server.max_txn_bytes);
        txn_clear(t);
        t->n_close_paths = -1;
    }
}

/*
 * A txn longer than the txn limit could be logged but never read back (by
 * ZooKeeper or by us): refuse the write before it reaches storage, as an
 * error txn that changes nothing.  ZooKeeper answers a request it cannot
 * (de)serialize with MarshallingError; so does this.  Only a plugin's added
 * operations or a protobuf message larger than jute.maxbuffer get here: a
 * ZooKeeper client's frame is bounded by jute.maxbuffer already.
 */
static int refuse_oversized(struct session *s, const struct corral_request *r,
                            struct view *layer, struct corral_txn *t)
{
    const char *path = r->path ? r->path : r->n_ops > 0 && r->ops[0].path ? r->ops[0].path : "";
    log_warn("session 0x%llx: write (op %d, xid %d, path %.200s) refused with MarshallingError: "
             "its txn takes %lld bytes, more than the txn limit of %lld bytes (jute.maxbuffer %lld "
             "+ jute.maxbuffer.extrasize %lld) that the txn log can be read back with",
             (unsigned long long)s->id, r->op, r->xid, path, (long long)txn_encoded_size(t),
             (long long)server.max_txn_bytes, (long long)server.jute_max_buffer,
             (long long)server.jute_extra_size);
    view_free(layer);
    make_error(t, CORRAL_EMARSHALLINGERROR);
    return CORRAL_EMARSHALLINGERROR;
}

/*
 * The zxid allocator, ZooKeeper's layout: epoch << 32 | counter.  Opened
 * once recovery is done, before anything is prepped; apply only records
 * what it applied (server.last_zxid) and never moves the allocator, so a
 * server that applies txns it did not prep (recovery; later a follower)
 * leaves the allocator to whoever is in charge.
 *
 * In the epoch of the newest applied txn the counter continues after it:
 * that is a restarted standalone server, which ZooKeeper's standalone
 * server also continues from its last zxid (whatever currentEpoch says:
 * it never reads it).  In a newer epoch, a new leader's, the counter
 * starts again at 0, so its first txn is epoch << 32 | 1.  An older epoch
 * cannot be chosen (zxids only move forward); it continues as the same.
 * At 2^32 txns the counter carries into the epoch bits, as standalone
 * ZooKeeper's plain increment does; a leader must end its epoch before
 * that (ZooKeeper forces an election), which is the quorum code's to do.
 */
void prep_start(int64_t epoch)
{
    if (epoch > ZXID_EPOCH(server.last_zxid)) {
        server.next_zxid = ZXID_MAKE(epoch, 0);
        return;
    }
    if (epoch < ZXID_EPOCH(server.last_zxid))
        log_warn("zxid epoch %lld is older than the last applied zxid 0x%llx: continuing after it",
                 (long long)epoch, (unsigned long long)server.last_zxid);
    if (server.next_zxid < server.last_zxid)
        server.next_zxid = server.last_zxid;
}

int prep_write(struct session *s, const struct corral_request *r, struct corral_txn *t)
{
    struct view layer = {NULL, &outstanding};
    int rc = CORRAL_OK;
    memset(t, 0, sizeof *t);
    t->session_id = s->id;
    t->cxid = r->xid;
    t->zxid = ++server.next_zxid;
    t->time = now_ms();
    if (r->malformed) {         /* ZooKeeper: an error txn, MarshallingError */
        make_error(t, CORRAL_EMARSHALLINGERROR);
        return CORRAL_EMARSHALLINGERROR;
    }
    switch (r->op) {
    case CORRAL_OP_CREATE_SESSION:
        t->type = CORRAL_OP_CREATE_SESSION;
        t->timeout = s->timeout_ms;
        break;
    case CORRAL_OP_CLOSE_SESSION:
        t->type = CORRAL_OP_CLOSE_SESSION;
        prep_close_session(s, &layer, t);
        break;
    case CORRAL_OP_MULTI:
    default:
        if (hooks_any_before_write && s->id != 0) {
            rc = prep_with_hooks(s, &layer, r, t);
            break;
        }
        if (r->op == CORRAL_OP_MULTI) {
            prep_multi(s, &layer, r, t);
            break;
        }
        rc = prep_one(s, &layer, r, t);
        if (rc) {
            make_error(t, rc);
            view_free(&layer);
        }
        break;
    }
    if (txn_encoded_size(t) > server.max_txn_bytes)
        rc = refuse_oversized(s, r, &layer, t);
    view_merge(&layer, &outstanding, t->zxid);
    return rc;
}

/*
 * A learner's write, on the leader: prepped as its own client's would be,
 * with two differences ZooKeeper's leader makes.  The identities are the
 * REQUEST's (the client's connection is on the learner): the session's own
 * (a connection of the leader's for the same session has its own) are set
 * aside for the prep.  And the session is checked (session_check).
 */
int prep_forwarded(struct session *s, const struct pending *p, struct corral_txn *t)
{
    struct identity *own = s->ids;
    int n_own = s->n_ids;
    s->ids = p->fwd->ids;
    s->n_ids = p->fwd->n_ids;
    fwd_check.s = s;
    fwd_check.f = p->fwd;
    fwd_check.checked = 0;
    int rc = prep_write(s, p->req, t);
    memset(&fwd_check, 0, sizeof fwd_check);
    s->ids = own;
    s->n_ids = n_own;
    return rc;
}

void prep_applied(int64_t zxid)
{
    struct change *c, *tmp;
    HASH_ITER(hh, outstanding.changes, c, tmp) {
        if (c->zxid > zxid)
            continue;
        HASH_DEL(outstanding.changes, c);
        if (c->v.acl)
            acl_list_unref(c->v.acl);
        free(c->path);
        free(c);
    }
}

/* A txn's members go as libzk frees a decoded one: the layout is the same. */
void txn_clear(struct corral_txn *t)
{
    zk_txn_free(t);
}
