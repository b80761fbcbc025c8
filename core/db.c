/*
 * db.c — the replicated database as a whole (db.h): clear it, stream it
 * out and in as ZooKeeper's SNAP sync does, reload it from storage, and the
 * loaders recovery uses.
 *
 * What "the database" is here is everything a snapshot plus the log
 * determine: server.tree, server.sessions (the table a snapshot lists), the
 * ephemeral sets, the container/TTL index and the quota roots rebuilt from
 * the tree, server.last_zxid.  Watches and connections belong to sessions
 * being served and go with them (db_drop_sessions).  Configuration,
 * statistics, modules, hooks and the session id counter are the server's,
 * not the database's, and stay.
 *
 * The stream is libzk's snapshot body (corral/zk_snapshot.h) followed by the
 * string "BenWasHere", which is what ZooKeeper's LearnerHandler writes after
 * a SNAP packet and its Learner checks (ZK-QUORUM-PROTOCOL.md 2.6): no
 * header, seal or digest, unlike a snapshot file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "server.h"
#include "session_table.h"
#include "session_tracker.h"
#include "db.h"
#include "path.h"
#include "quota.h"
#include "log.h"

/* ---- the recovery phase ---- */

/*
 * The recovery phase: set only while db_recover() runs the storage module's
 * recover().  The recovery-only entry points of the module API (core_api.c)
 * rebuild the tree as a log and snapshot say it was; at any other time they
 * would rewrite committed state behind the pipeline's back, so they refuse
 * outside it.  There is one at start-up (main) and one more each time the
 * database is reloaded at run time (db_reload, after db_clear emptied it);
 * never two at once.
 */
static int recovering;

int db_recovering(void)
{
    return recovering;
}

int db_recover(void)
{
    if (recovering) {
        log_error("recovery: asked to recover while already recovering; refusing");
        return -1;
    }
    recovering = 1;
    int rc = server.storage->recover();
    recovering = 0;
    return rc;
}

/* ---- clear ---- */

int db_close_connections(void)
{
    int closed = 0;
    for (struct session *s = server.clients; s; s = s->hh.next) {
        if (!s->ops)
            continue;
        const struct corral_conn_ops *ops = s->ops;
        void *conn = s->conn;
        pipeline_detach(s);
        ops->close(conn, CORRAL_ECONNECTIONLOSS);
        closed++;
    }
    return closed;
}

int db_drop_clients(void)
{
    /* connections first, while every client is still whole */
    int closed = db_close_connections();
    while (server.clients) {
        struct session *s = server.clients;
        tracker_forget(s->id);
        session_free(s);
    }
    /* the server's own writes not yet under way (container deletions) were for the old tree */
    write_queue_remove(&server.system_session);
    session_drop_requests(&server.system_session);
    return closed;
}

void db_drop_sessions(void)
{
    int closed = db_drop_clients();
    int64_t n = session_table_count();
    for (struct session_entry *e = server.session_table; e; e = e->hh.next)
        tracker_forget(e->id);
    session_table_clear();
    if (n || closed)
        log_info("database: dropped %lld session(s), closing %d client connection(s)",
                 (long long)n, closed);
}

int db_clear(void)
{
    if (server.txns_in_flight > 0 || server.draining) {
        log_error("database: cannot clear it while %d write(s) are being made durable",
                  server.txns_in_flight);
        return -1;
    }
    db_drop_sessions();
    prep_applied(INT64_MAX);    /* prep's view of writes not applied: none may be left */
    while (server.ephemerals)
        ephemeral_drop_owner(server.ephemerals->session_id);
    server.ephemeral_count = 0;
    containers_clear();
    quota_reset();
    if (server.data_watches || server.child_watches || server.watch_count)
        log_error("database: %lld watch(es) outlived their sessions", (long long)server.watch_count);
    tree_destroy(&server.tree);
    if (tree_init(&server.tree) < 0) {
        log_error("database: out of memory building a fresh tree");
        abort();
    }
    server.last_zxid = 0;
    server.next_zxid = 0;
    return 0;
}

/* ---- loaders (recovery and the SNAP stream) ---- */

int db_load_node(const char *path, const uint8_t *data, int32_t len,
                 const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    struct znode *n;
    if (!strcmp(path, "/") || !*path) {
        n = tree_set_data(&server.tree, "/", data, len);
    } else {
        const char *name;
        struct znode *parent = tree_lookup_parent(&server.tree, path, &name);
        if (!parent) {
            log_error("snapshot: node %s comes before its parent", path);
            return -1;
        }
        n = tree_child(&server.tree, parent, name);
        if (n)
            n = tree_set_node_data(&server.tree, parent, n, data, len);
        else {
            struct acl_list *tmp = acl_cache_get(acl, n_acl);
            n = tmp ? tree_add_child(&server.tree, parent, name, data, len, tmp) : NULL;
            acl_list_unref(tmp);
            if (!n)
                return -1;
        }
    }
    struct acl_list *l = acl_cache_get(acl, n_acl);
    if (!l)
        return -1;
    struct znode_meta m = {
        .czxid = st->czxid, .mzxid = st->mzxid, .pzxid = st->pzxid,
        .ctime = st->ctime, .mtime = st->mtime, .owner = st->ephemeral_owner,
        .version = st->version, .aversion = st->aversion, .cversion = st->cversion,
    };
    tree_set_acl(&server.tree, n, l, st->aversion);
    acl_list_unref(l);
    if (tree_set_meta(&server.tree, n, &m) < 0)
        return -1;
    if (znode_owner_is_session(m.owner))
        ephemeral_add(m.owner, path);
    else
        containers_track(path, m.owner);
    return 0;
}

/*
 * A restored session is a table entry only (no local client until its
 * client comes back).  Its clock is the tracker's: it starts when the duties
 * do, or now when this server is already in charge.
 */
int db_load_session(int64_t id, int32_t timeout_ms)
{
    struct session_entry *e = session_table_add(id, timeout_ms);
    if (!e)
        return -1;
    e->timeout_ms = timeout_ms;
    if (tracker_running())
        tracker_add(id, timeout_ms);
    return 0;
}

int db_loaded(int64_t zxid)
{
    server.last_zxid = zxid;
    quota_rebuild();
    return 0;
}

/* ---- walkers (snapshot writers) ---- */

static int walk_node(const struct znode *n, char *path, size_t len, size_t cap,
                     zk_snap_node_fn fn, void *arg)
{
    struct corral_stat st;
    struct znode_meta m;
    tree_fill_stat(&server.tree, n, &st);
    tree_get_meta(&server.tree, n, &m);
    /* snapshots keep what ZooKeeper persists: the container/TTL marker, creates-only cversion */
    st.ephemeral_owner = m.owner;
    st.cversion = m.cversion;
    int32_t dlen;
    const uint8_t *data = tree_data(&server.tree, n, &dlen);
    struct acl_list *acl = tree_acl(n);
    int rc = fn(arg, len ? path : "/", data, dlen, acl->acl, acl->n, &st);
    if (rc)
        return rc;
    TREE_FOREACH_CHILD(&server.tree, n, c) {
        size_t l = strlen(c->name);
        if (len + 1 + l + 1 > cap)
            return -1;
        path[len] = '/';
        memcpy(path + len + 1, c->name, l + 1);
        if ((rc = walk_node(c, path, len + 1 + l, cap, fn, arg)))
            return rc;
        path[len] = 0;
    }
    return 0;
}

int db_tree_walk(zk_snap_node_fn fn, void *arg)
{
    /* A path was part of a txn, so it is shorter than the txn limit. */
    size_t cap = server.max_txn_bytes > (1 << 20) ? (size_t)server.max_txn_bytes : 1 << 20;
    char *path = malloc(cap);
    if (!path)
        return -1;
    path[0] = 0;
    int rc = walk_node(server.tree.root, path, 0, cap, fn, arg);
    free(path);
    return rc;
}

void db_session_each(void (*fn)(void *arg, int64_t session_id, int32_t timeout_ms), void *arg)
{
    for (const struct session_entry *e = server.session_table; e; e = e->hh.next)
        fn(arg, e->id, e->timeout_ms);
}

static int add_digest(void *arg, const char *path, const uint8_t *data, int32_t len,
                      const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    (void)acl;
    (void)n_acl;
    int64_t *sum = arg;
    *sum = (int64_t)((uint64_t)*sum + (uint64_t)zk_node_digest(path, data, len, st));
    return 0;
}

int64_t db_digest(void)
{
    int64_t sum = 0;
    db_tree_walk(add_digest, &sum);
    return sum;
}

/* ---- the SNAP stream out ---- */

struct out {
    int (*write)(void *arg, const uint8_t *p, size_t len);
    void *arg;
};

static int out_flush(void *arg, struct jute_buf *b)
{
    struct out *o = arg;
    if (b->oom || o->write(o->arg, b->data, b->len) < 0)
        return -1;
    jute_buf_reset(b);
    return 0;
}

int db_snapshot_write_to(int (*write)(void *arg, const uint8_t *p, size_t len), void *arg,
                         int64_t *zxid_out, int64_t *digest_out)
{
    struct out o = {write, arg};
    struct jute_buf b;
    jute_buf_init(&b);
    const struct zk_snap_source src = {db_tree_walk, db_session_each};
    int64_t digest = 0, zxid = server.last_zxid;
    int rc = zk_snap_body_write(&src, &b, out_flush, &o, &digest);
    if (rc == 0) {
        jute_put_string(&b, ZK_SNAP_SIGNATURE);
        rc = out_flush(&o, &b);
    }
    jute_buf_free(&b);
    if (rc < 0) {
        log_error("database: streaming the snapshot at zxid 0x%llx failed",
                  (unsigned long long)zxid);
        return -1;
    }
    if (zxid_out)
        *zxid_out = zxid;
    if (digest_out)
        *digest_out = digest;
    return 0;
}

static int fd_write(void *arg, const uint8_t *p, size_t len)
{
    int fd = *(int *)arg;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_error("database: writing the snapshot stream: %s",
                      n < 0 ? strerror(errno) : "nothing written");
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int db_snapshot_write(int fd, int64_t *zxid_out)
{
    return db_snapshot_write_to(fd_write, &fd, zxid_out, NULL);
}

/* ---- the SNAP stream in ---- */

struct load_count {
    int64_t sessions;
};

static int stream_session(void *arg, int64_t id, int32_t timeout)
{
    ((struct load_count *)arg)->sessions++;
    return db_load_session(id, timeout);
}

/* Unlike a sealed snapshot file, a stream's paths are checked: "/a/" or
 * "/a//b" would make a node with an empty name. */
static int stream_node(void *arg, const char *path, const uint8_t *data, int32_t len,
                       const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    (void)arg;
    if (strcmp(path, "/") && !path_is_valid(path, 0)) {
        log_error("snapshot stream: node path \"%s\" is not a valid path", path);
        return -1;
    }
    return db_load_node(path, data, len, acl, n_acl, st);
}

int db_snapshot_load(const struct db_source *src, int64_t zxid)
{
    if (db_clear() < 0)
        return -1;
    /* ZooKeeper's reader takes a buffer or string up to its txn limit: a node is two of those */
    size_t limit = server.max_txn_bytes > 0 ? (size_t)server.max_txn_bytes : 0xfffff + 1024;
    struct zk_snap_stream st;
    zk_snap_stream_init(&st, src->read, src->arg, 2 * limit + 4096);
    struct load_count count = {0};
    const struct zk_snap_loader ld = {stream_session, stream_node, &count};
    int64_t nodes = 0;
    const char *why = NULL, *what = "body";
    int rc = zk_snap_body_read_stream(&st, &ld, &nodes, &why);
    if (rc < 0)
        why = "a session or node could not be loaded (logged above)";
    if (rc == 0) {
        what = "signature";
        rc = zk_snap_stream_expect(&st, ZK_SNAP_SIGNATURE, &why);
    }
    if (rc != 0) {
        log_error("snapshot stream for zxid 0x%llx: %s: %s near byte %llu; clearing what was "
                  "loaded of it", (unsigned long long)zxid, what, why,
                  (unsigned long long)zk_snap_stream_offset(&st));
        zk_snap_stream_free(&st);
        db_clear();
        return -1;
    }
    if (src->rest) {
        size_t n;
        const uint8_t *p = zk_snap_stream_unread(&st, &n);
        if (n)
            src->rest(src->arg, p, n);
    }
    uint64_t bytes = zk_snap_stream_offset(&st);
    zk_snap_stream_free(&st);
    db_loaded(zxid);
    server.next_zxid = zxid;
    log_info("snapshot stream: loaded %lld znodes and %lld sessions (%llu bytes) at zxid 0x%llx",
             (long long)nodes, (long long)count.sessions, (unsigned long long)bytes,
             (unsigned long long)zxid);
    return 0;
}

/*
 * A file descriptor is read only up to the signature: each read asks for
 * no more than the window has room for, and what is read past the
 * signature stays in the window and is dropped, so a caller whose stream
 * goes on after the signature uses db_snapshot_load with a rest callback.
 */
static ssize_t fd_read(void *arg, uint8_t *buf, size_t len)
{
    int fd = *(int *)arg;
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            log_error("database: reading the snapshot stream: %s", strerror(errno));
        return n;
    }
}

int db_snapshot_load_fd(int fd, int64_t zxid)
{
    const struct db_source src = {fd_read, &fd, NULL};
    return db_snapshot_load(&src, zxid);
}

/* ---- reload from storage ---- */

int db_reload(void)
{
    const struct corral_storage_ops *st = server.storage;
    if (!st || !CORRAL_HAS(st, flags) || !(st->flags & CORRAL_STORAGE_RECOVER_AGAIN)) {
        log_error("database: the storage module cannot recover a second time; not reloading");
        return -1;
    }
    if (db_clear() < 0)
        return -1;
    if (db_recover() < 0) {
        log_error("database: reloading from storage failed; the database is left empty");
        db_clear();
        return -1;
    }
    server.next_zxid = server.last_zxid;
    /* replayed createSessions come back with no clock (apply runs none) */
    if (tracker_running())
        for (const struct session_entry *e = server.session_table; e; e = e->hh.next)
            tracker_add(e->id, e->timeout_ms);
    log_info("database: reloaded from storage to zxid 0x%llx (%lld znodes, %lld sessions)",
             (unsigned long long)server.last_zxid, (long long)server.tree.node_count,
             (long long)session_table_count());
    return 0;
}
