/*
 * core_api.c — the function table modules get (struct corral_core).
 * Thin wrappers: each entry forwards to the part of the core that owns the
 * state, so modules never see struct server.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "log.h"
#include "hooks.h"
#include "commit.h"
#include "db.h"
#include "duties.h"
#include "build-config.h"
#include "quorum/election.h"
#include "quorum/peer.h"

static void api_log(int level, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vline(level, who, fmt, ap);
    va_end(ap);
}

static const char *api_config_get(const char *key) { return config_value(&server.cfg, key); }

static int api_config_int(const char *key, long long def, long long min, long long max,
                          long long *out)
{
    return config_get_int(&server.cfg, key, def, min, max, out);
}

static int api_config_bool(const char *key, int def, int *out)
{
    return config_get_bool(&server.cfg, key, def, out);
}

static void api_config_each(void (*fn)(void *, const char *, const char *), void *arg)
{
    for (int i = 0; i < server.cfg.n_entries; i++)
        fn(arg, server.cfg.entries[i].key, server.cfg.entries[i].value);
}

static void api_session_info(struct corral_session *cs, struct corral_session_info *out)
{
    struct session *s = (struct session *)cs;
    memset(out, 0, sizeof *out);
    out->session_id = s->id;
    out->timeout_ms = s->timeout_ms;
    out->last_zxid = s->last_zxid;
    out->last_op = s->last_op;
    out->last_xid = s->last_xid;
    out->requests = s->requests;
    out->replies = s->replies;
    int n = 0;
    for (struct pending *p = s->head; p; p = p->next)
        n++;
    out->outstanding = n;
    out->last_latency_ms = s->last_latency_ms;
    out->min_latency_ms = s->min_latency_ms < 0 ? 0 : s->min_latency_ms;
    out->max_latency_ms = s->max_latency_ms;
    out->total_latency_ms = s->total_latency_ms;
    out->watches = (int32_t)HASH_COUNT(s->watches);
}

static void api_server_stats(struct corral_server_stats *out)
{
    memset(out, 0, sizeof *out);
    out->mode = "standalone";
    if (election_is_ensemble())
        out->mode = peer_mode() ? peer_mode() : "looking";
    out->zxid = server.last_zxid;
    /* ZooKeeper counts its root twice (as "" and "/"); tools compare these figures. */
    out->node_count = server.tree.node_count + 1;
    out->approximate_data_size = server.tree.data_size;
    out->ephemerals_count = server.ephemeral_count;
    out->session_count = session_table_count();
    out->watch_count = server.watch_count;
    out->watched_paths = HASH_COUNT(server.data_watches) + HASH_COUNT(server.child_watches);
    int64_t watching = 0;
    for (struct session *s = server.clients; s; s = s->hh.next)
        watching += s->watches != NULL;
    out->watching_sessions = watching;
    out->outstanding_requests = server.outstanding;
    out->requests = server.requests;
    out->min_latency_ms = server.min_latency_ms < 0 ? 0 : server.min_latency_ms;
    out->max_latency_ms = server.max_latency_ms;
    out->total_latency_ms = server.total_latency_ms;
    out->uptime_ms = now_ms() - server.start_ms;
    out->tick_time = server.tick_time;
    out->min_session_timeout = server.min_session_timeout;
    out->max_session_timeout = server.max_session_timeout;
    out->server_id = server.server_id;
}

/*
 * corral_core.peer_info: the caller's struct may be shorter than ours (a
 * module built against an older minor) — fill ours, copy what fits.
 */
static void api_peer_info(struct corral_peer_info *info)
{
    struct corral_peer_info p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.mode = "standalone";
    p.serving = server.serving;
    p.state = CORRAL_PEER_LOOKING;
    const struct corral_quorum_view *v = election_api_view();
    if (election_is_ensemble() && v) {
        struct peer_stats st;
        p.member = 1;
        p.state = peer_state();
        p.mode = peer_mode();
        p.my_id = v->my_id;
        p.quorum_size = v->n_voting;
        p.leader_sid = peer_leader_sid();
        p.election_epoch = peer_election_epoch();
        p.role_uptime_ms = peer_role_uptime_ms();
        p.proposal_size_last = p.proposal_size_min = p.proposal_size_max = -1;
        if (peer_stats(&st) == 0) {
            p.epoch = st.epoch;
            p.learners = st.learners;
            p.synced_followers = st.synced_followers;
            p.synced_non_voting_followers = st.synced_non_voting_followers;
            p.synced_observers = st.synced_observers;
            p.pending_syncs = st.pending_syncs;
            p.last_proposed = st.last_proposed;
            if (p.state == CORRAL_PEER_LEADING) {
                p.proposal_size_last = st.proposal_size_last;
                p.proposal_size_min = st.proposal_size_min;
                p.proposal_size_max = st.proposal_size_max;
            }
        }
    }
    size_t n = info->size < sizeof p ? info->size : sizeof p;
    if (n < sizeof info->size)
        return;
    memcpy((char *)info + sizeof info->size, (char *)&p + sizeof p.size, n - sizeof p.size);
}

static void api_reset_stats(void)
{
    server.requests = 0;
    server.min_latency_ms = -1;
    server.max_latency_ms = 0;
    server.total_latency_ms = 0;
    for (struct session *s = server.clients; s; s = s->hh.next) {
        s->min_latency_ms = -1;
        s->max_latency_ms = s->total_latency_ms = 0;
        s->requests = s->replies = 0;
    }
}

static void api_watch_each(void (*fn)(void *, int64_t, const char *, int), void *arg)
{
    for (int child = 0; child < 2; child++)
        for (struct watch_entry *e = child ? server.child_watches : server.data_watches; e;
             e = e->hh.next)
            for (int i = 0; i < e->n; i++)
                fn(arg, e->watchers[i]->id, e->path, child);
}

static void api_ephemeral_each(void (*fn)(void *, int64_t, const char *), void *arg)
{
    for (struct ephemeral_owner *o = server.ephemerals; o; o = o->hh.next)
        for (struct ephemeral_path *p = o->paths; p; p = p->hh.next)
            fn(arg, o->session_id, p->path);
}

static const char *api_version_string(void)
{
    /* Clients and tools parse the ZooKeeper version out of srvr/envi output. */
    return "3.8.0-corral-" PACKAGE_VERSION ", built on " __DATE__;
}

/* The recovery-only entry points work only inside db_recover's phase (db.c). */
static int recovery_only(const char *what)
{
    if (db_recovering())
        return 0;
    log_error("module API: %s refused: it is for the storage module's recover() only", what);
    return -1;
}

/* Recovery: a logged txn is committed already; the one commit path, as a replay. */
static int api_apply_txn(const struct corral_txn *txn)
{
    if (recovery_only("apply_txn") < 0)
        return -1;
    commit_apply(txn, COMMIT_REPLAY);
    return 0;
}

static int64_t api_last_zxid(void) { return server.last_zxid; }

static int api_load_node(const char *path, const uint8_t *data, int32_t len,
                         const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    if (recovery_only("load_node") < 0)
        return -1;
    return db_load_node(path, data, len, acl, n_acl, st);
}

static int api_load_session(int64_t id, int32_t timeout_ms)
{
    if (recovery_only("load_session") < 0)
        return -1;
    return db_load_session(id, timeout_ms);
}

/* The end of a snapshot load: ZooKeeper's deserialize ends with setupQuota. */
static int api_set_last_zxid(int64_t zxid)
{
    if (recovery_only("set_last_zxid") < 0)
        return -1;
    return db_loaded(zxid);
}

static int api_node_get(const char *path, const uint8_t **data, int32_t *len,
                        struct corral_stat *st)
{
    struct znode *n = path ? tree_lookup(&server.tree, path) : NULL;
    if (!n)
        return CORRAL_ENONODE;
    int32_t l;
    const uint8_t *d = tree_data(&server.tree, n, &l);
    if (data)
        *data = d;
    if (len)
        *len = l;
    if (st)
        tree_fill_stat(&server.tree, n, st);
    return CORRAL_OK;
}

static int api_node_children(const char *path, void (*fn)(void *, const char *), void *arg)
{
    struct znode *n = path ? tree_lookup(&server.tree, path) : NULL;
    if (!n)
        return CORRAL_ENONODE;
    TREE_FOREACH_CHILD(&server.tree, n, c)
        fn(arg, c->name);
    return CORRAL_OK;
}

static int api_snapshot_now(void)
{
    int (*snapshot)(void) = CORRAL_FN(server.storage, snapshot);
    if (!snapshot)
        return CORRAL_EUNIMPLEMENTED;
    return snapshot() == 0 ? CORRAL_OK : CORRAL_ESYSTEMERROR;
}

static int64_t api_max_txn_bytes(void) { return server.max_txn_bytes; }

static void api_submit_internal(struct corral_request *req)
{
    duties_submit_plugin_write(req);
}

static struct corral_session *api_connect(const struct corral_connect_params *p,
                                          const struct corral_conn_ops *ops, void *conn)
{
    /* a table too short for close() cannot be told when to let go: no session */
    if (!ops || ops->size < CORRAL_CONN_OPS_MIN) {
        log_error("module API: session_connect refused: the transport's conn_ops table is %zu "
                  "bytes, shorter than the %zu this server needs", ops ? ops->size : 0,
                  (size_t)CORRAL_CONN_OPS_MIN);
        return NULL;
    }
    return (struct corral_session *)pipeline_connect(p, ops, conn);
}

static void api_submit(struct corral_session *s, struct corral_request *req)
{
    pipeline_submit((struct session *)s, req);
}

/*
 * The connection is gone: what was held for its backlog runs now,
 * unanswered, and a client left with nothing to do goes (the session stays
 * in the table).  A closing one is freed once its close is done, which may
 * be before pipeline_detach returns: it is not looked at after.
 */
static void api_detach(struct corral_session *cs)
{
    struct session *s = (struct session *)cs;
    int closing = s->closing;
    pipeline_detach(s);
    if (!closing)
        session_release_if_idle(s);
}

static void api_resume(struct corral_session *s) { pipeline_resume((struct session *)s); }

struct corral_core core_api = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_core),
    .log = api_log,
    .config_get = api_config_get,
    .config_int = api_config_int,
    .config_bool = api_config_bool,
    .config_each = api_config_each,
    .loop = NULL,               /* set by main once the loop exists */
    .now_ms = now_ms,
    .session_connect = api_connect,
    .session_submit = api_submit,
    .session_detach = api_detach,
    .session_info = api_session_info,
    .server_stats = api_server_stats,
    .reset_stats = api_reset_stats,
    .watch_each = api_watch_each,
    .ephemeral_each = api_ephemeral_each,
    .version_string = api_version_string,
    .apply_txn = api_apply_txn,
    .last_zxid = api_last_zxid,
    .request_free = request_free,
    .load_node = api_load_node,
    .load_session = api_load_session,
    .set_last_zxid = api_set_last_zxid,
    .tree_walk = db_tree_walk,
    .session_each = db_session_each,
    .hook_before_write = hooks_add_before_write,
    .hook_after_commit = hooks_add_after_commit,
    .hook_session = hooks_add_session,
    .hook_watch = hooks_add_watch,
    .hooks_remove = hooks_remove,
    .node_get = api_node_get,
    .node_children = api_node_children,
    .submit_internal = api_submit_internal,
    .snapshot_now = api_snapshot_now,
    .reload_plugins = modules_reload,
    .max_txn_bytes = api_max_txn_bytes,
    .session_resume = api_resume,
    .in_charge = duties_active,
    .quorum_view = election_api_view,
    .quorum_has_majority = election_api_has_majority,
    .last_logged_zxid = election_api_last_logged_zxid,
    .current_epoch = election_api_current_epoch,
    .election_decided = peer_decided,
    .peer_info = api_peer_info,
};

/*
 * What a module calls with the recovery-only entry points when it is not the
 * storage module: they would rebuild the tree under a running server.  The
 * recovery phase alone does not rule that out (a module's own thread, or a
 * plugin hook the storage's recover() triggers), so such modules get a copy
 * of the table with these refusing instead.
 */
static int refuse_from(const char *what)
{
    log_error("module API: %s refused: only the storage module may call it", what);
    return -1;
}

static int deny_apply_txn(const struct corral_txn *t)
{
    (void)t;
    return refuse_from("apply_txn");
}

static int deny_load_node(const char *path, const uint8_t *data, int32_t len,
                          const struct corral_acl *acl, int32_t n_acl,
                          const struct corral_stat *st)
{
    (void)path, (void)data, (void)len, (void)acl, (void)n_acl, (void)st;
    return refuse_from("load_node");
}

static int deny_load_session(int64_t id, int32_t timeout_ms)
{
    (void)id, (void)timeout_ms;
    return refuse_from("load_session");
}

static int deny_set_last_zxid(int64_t zxid)
{
    (void)zxid;
    return refuse_from("set_last_zxid");
}

const struct corral_core *core_api_for(int kind)
{
    static struct corral_core limited;
    if (kind == CORRAL_MODULE_STORAGE)
        return &core_api;
    limited = core_api;         /* after main set .loop; nothing changes core_api later */
    limited.apply_txn = deny_apply_txn;
    limited.load_node = deny_load_node;
    limited.load_session = deny_load_session;
    limited.set_last_zxid = deny_set_last_zxid;
    return &limited;
}
