/*
 * figures.c — gathering the figures ZooKeeper's monitoring commands show
 * (see figures.h).  Everything comes from the core (server_stats,
 * peer_info, quorum_view, session_info, watch_each, ephemeral_each,
 * config) or from this transport's own counters and connection list;
 * nothing here formats output.
 */
#include <dirent.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "corral/quorum_view.h"
#include "figures.h"

/* A double as Java prints it after ZooKeeper's rounding to 4 places: 0.0, 2.8, 1.2857. */
static void format_avg(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%.4f", v);
    char *dot = strchr(buf, '.');
    if (!dot)
        return;
    char *e = buf + strlen(buf) - 1;
    while (e > dot + 1 && *e == '0')
        *e-- = 0;
}

void zk_peer_info(struct corral_peer_info *p)
{
    memset(p, 0, sizeof *p);
    p->size = sizeof *p;
    if (CORRAL_HAS(zk.core, peer_info) && zk.core->peer_info)
        zk.core->peer_info(p);
    else
        p->serving = 1;
    if (!p->member)
        p->mode = "standalone";
    else if (!p->mode)
        p->mode = "looking";
}

int zk_not_serving(void)
{
    struct corral_peer_info p;
    zk_peer_info(&p);
    return p.member && !p.serving;
}

void zk_server_figures(struct zk_server_figures *f)
{
    memset(f, 0, sizeof *f);
    zk.core->server_stats(&f->st);
    zk_peer_info(&f->peer);
    f->version = zk.core->version_string();
    f->mode = f->peer.mode;
    /* QuorumPeer.getDetailedPeerState: state, then the Zab phase.  mntr is
     * answered only while serving, which is the broadcast phase. */
    int ps = f->peer.state;
    snprintf(f->peer_state, sizeof f->peer_state, "%s - broadcast",
             ps == CORRAL_PEER_LEADING ? "leading" : ps == CORRAL_PEER_FOLLOWING ? "following"
             : ps == CORRAL_PEER_OBSERVING ? "observing" : "looking");
    format_avg(f->avg_latency, sizeof f->avg_latency,
               f->st.requests ? (double)f->st.total_latency_ms / (double)f->st.requests : 0);
    f->packets_received = zk.packets_received;
    f->packets_sent = zk.packets_sent;
    f->response_last = zk.response_last;
    f->response_min = zk.response_min;
    f->response_max = zk.response_max;
    f->connections = zk.n_conns;
}

static long long count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;   /* the directory stream itself */
}

size_t zk_monitor_rows(const struct zk_server_figures *f, struct zk_row *r)
{
    struct rlimit rl;
    long long max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long long)rl.rlim_cur : -1;
    const struct corral_server_stats *st = &f->st;
    size_t n = 0;
#define ROW_INT(k, v) r[n++] = (struct zk_row){k, ZK_ROW_INT, (long long)(v), NULL}
#define ROW_STR(k, v) r[n++] = (struct zk_row){k, ZK_ROW_STRING, 0, v}
#define ROW_NUM(k, v) r[n++] = (struct zk_row){k, ZK_ROW_NUMBER_TEXT, 0, v}
    /*
     * ZooKeeper's order (its metrics map's), with a member's keys where its
     * mntr puts them: peer_state and quorum_size on every member, the
     * leader's own keys (LeaderZooKeeperServer's gauges) on the leader.
     */
    const struct corral_peer_info *p = &f->peer;
    int leader = p->member && p->state == CORRAL_PEER_LEADING;
    ROW_STR("version", f->version);
    ROW_STR("server_state", f->mode);
    if (p->member)
        ROW_STR("peer_state", f->peer_state);
    ROW_INT("ephemerals_count", st->ephemerals_count);
    ROW_INT("num_alive_connections", f->connections);
    ROW_NUM("avg_latency", f->avg_latency);
    if (leader)
        ROW_INT("min_proposal_size", p->proposal_size_min);
    ROW_INT("outstanding_requests", st->outstanding_requests);
    ROW_INT("znode_count", st->node_count);
    ROW_INT("global_sessions", st->session_count);
    ROW_INT("non_mtls_remote_conn_count", 0);
    ROW_INT("last_client_response_size", f->response_last);
    ROW_INT("packets_sent", f->packets_sent);
    ROW_INT("packets_received", f->packets_received);
    if (leader)
        ROW_INT("max_proposal_size", p->proposal_size_max);
    ROW_INT("max_client_response_size", f->response_max);
    if (leader)
        ROW_INT("synced_followers", p->synced_followers);
    ROW_NUM("connection_drop_probability", "0.0");
    ROW_INT("watch_count", st->watch_count);
    if (leader) {
        ROW_INT("synced_non_voting_followers", p->synced_non_voting_followers);
        ROW_INT("synced_observers", p->synced_observers);
    }
    ROW_INT("auth_failed_count", 0);
    ROW_INT("min_latency", st->min_latency_ms);
    ROW_INT("max_file_descriptor_count", max_fds);
    ROW_INT("approximate_data_size", st->approximate_data_size);
    ROW_INT("open_file_descriptor_count", count_open_fds());
    if (leader) {
        ROW_INT("last_proposal_size", p->proposal_size_last);
        ROW_INT("pending_syncs", p->pending_syncs);
        ROW_INT("leader_uptime", p->role_uptime_ms);
    }
    ROW_INT("local_sessions", 0);
    ROW_INT("uptime", st->uptime_ms);
    ROW_INT("max_latency", st->max_latency_ms);
    ROW_INT("outstanding_tls_handshake", 0);
    if (leader)
        ROW_INT("learners", p->learners);
    ROW_INT("min_client_response_size", f->response_min);
    ROW_INT("non_mtls_local_conn_count", 0);
    if (p->member)
        ROW_INT("quorum_size", p->quorum_size);
    ROW_INT("proposal_count", 0);
#undef ROW_INT
#undef ROW_STR
#undef ROW_NUM
    return n;
}

static const char *op_name(int32_t op)
{
    switch (op) {
    case CORRAL_OP_CREATE: case CORRAL_OP_CREATE2: case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL: return "CREA";
    case CORRAL_OP_DELETE: case CORRAL_OP_DELETE_CONTAINER: return "DELE";
    case CORRAL_OP_EXISTS: return "EXIS";
    case CORRAL_OP_GET_DATA: return "GETD";
    case CORRAL_OP_SET_DATA: return "SETD";
    case CORRAL_OP_GET_ACL: return "GETA";
    case CORRAL_OP_SET_ACL: return "SETA";
    case CORRAL_OP_GET_CHILDREN: case CORRAL_OP_GET_CHILDREN2: return "GETC";
    case CORRAL_OP_SYNC: return "SYNC";
    case CORRAL_OP_PING: return "PING";
    case CORRAL_OP_CHECK: return "CHEC";
    case CORRAL_OP_MULTI: return "MULT";
    case CORRAL_OP_MULTI_READ: return "MLTR";
    case CORRAL_OP_RECONFIG: return "RECO";
    case CORRAL_OP_CHECK_WATCHES: return "CHKW";
    case CORRAL_OP_REMOVE_WATCHES: return "REMW";
    case CORRAL_OP_SET_WATCHES: return "SETW";
    case CORRAL_OP_SET_WATCHES2: return "STW2";
    case CORRAL_OP_ADD_WATCH: return "ADDW";
    case CORRAL_OP_GET_EPHEMERALS: return "GETE";
    case CORRAL_OP_GET_ALL_CHILDREN_NUMBER: return "GETACN";
    case CORRAL_OP_WHO_AM_I: return "HOMI";
    case CORRAL_OP_CREATE_SESSION: return "SESS";
    case CORRAL_OP_CLOSE_SESSION: return "CLOS";
    default: return "NA";
    }
}

/* Where a connection's session figures stood at the last crst (see
 * zk_reset_connection_stats).  A connection is known by its address, session
 * and establishment time together, so a new connection reusing a freed
 * struct is never mistaken for an old one. */
struct stats_base {
    const struct zk_conn *conn;
    int64_t session_id, established_ms;
    int64_t replies, total_latency, min_latency, max_latency;
};
static struct stats_base *bases;
static size_t n_bases;

static const struct stats_base *find_base(const struct zk_conn *c, int64_t session_id)
{
    for (size_t i = 0; i < n_bases; i++)
        if (bases[i].conn == c && bases[i].session_id == session_id &&
            bases[i].established_ms == c->established_ms)
            return &bases[i];
    return NULL;
}

/* Session figures since a crst.  Nothing since: ZooKeeper's reset values
 * (lop NA, no lcxid, lzxid -1, zero latencies).  Otherwise the "last" figures
 * are the core's own and the average is exact; min and max are exact when
 * the core's extremes moved since the reset, else bounded by the samples we
 * know of (the last latency and the average). */
static void rebase(struct zk_conn_figures *f, const struct corral_session_info *si,
                   const struct stats_base *b)
{
    int64_t n = si->replies - b->replies;
    if (n <= 0) {
        f->last_operation = "NA";
        f->last_cxid = -1;
        f->last_zxid = -1;
        f->last_latency = f->min_latency = f->avg_latency = f->max_latency = 0;
        return;
    }
    f->avg_latency = (si->total_latency_ms - b->total_latency) / n;
    f->max_latency = si->max_latency_ms > b->max_latency ? si->max_latency_ms
                     : f->last_latency > f->avg_latency ? f->last_latency : f->avg_latency;
    f->min_latency = si->min_latency_ms < b->min_latency ? si->min_latency_ms
                     : f->last_latency < f->avg_latency ? f->last_latency : f->avg_latency;
}

void zk_conn_figures(const struct zk_conn *c, struct zk_conn_figures *f)
{
    struct corral_session_info si;
    memset(f, 0, sizeof *f);
    f->addr = c->addr;
    f->port = c->port;
    f->interest_ops = (c->io.reading ? 1 : 0) | (ev_is_active(&c->io.write_watcher) ? 4 : 0);
    f->packets_received = c->packets_received;
    f->packets_sent = c->packets_sent;
    f->established_ms = c->established_ms;
    f->last_response_ms = c->last_response_ms;
    f->last_operation = "NA";
    f->last_cxid = -1;
    f->last_zxid = -1;
    f->with_session = c->session && !c->core_done;
    if (!f->with_session)
        return;
    zk.core->session_info(c->session, &si);
    f->outstanding = si.outstanding;
    f->session_id = si.session_id;
    f->last_operation = si.replies ? op_name(si.last_op) : "NA";
    f->timeout_ms = si.timeout_ms;
    f->last_cxid = si.last_xid;
    f->last_zxid = si.last_zxid;
    f->last_latency = si.last_latency_ms;
    f->min_latency = si.min_latency_ms;
    f->avg_latency = si.replies ? si.total_latency_ms / si.replies : 0;
    f->max_latency = si.max_latency_ms;
    const struct stats_base *b = find_base(c, si.session_id);
    if (b)
        rebase(f, &si, b);
}

/* Bytes in the regular files directly under dir (ZooKeeper's dataDirSize). */
static long long dir_size(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    long long total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, 0) == 0 && S_ISREG(sb.st_mode))
            total += (long long)sb.st_size;
    }
    closedir(d);
    return total;
}

/* dataDir/version-2 and dataLogDir/version-2 (dataLogDir defaults to dataDir), absolute. */
static void version_dirs(char *data, char *log, size_t len)
{
    const char *dd = zk.core->config_get("dataDir");
    const char *ld = zk.core->config_get("dataLogDir");
    char cwd[2048] = "";
    if (!ld || !*ld)
        ld = dd;
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = 0;
    snprintf(data, len, "%s%s%s/version-2", dd && dd[0] != '/' ? cwd : "",
             dd && dd[0] != '/' ? "/" : "", dd ? dd : "");
    snprintf(log, len, "%s%s%s/version-2", ld && ld[0] != '/' ? cwd : "",
             ld && ld[0] != '/' ? "/" : "", ld ? ld : "");
}

/* A config value with surrounding blanks trimmed (as ZooKeeper parses it), or "" */
static void trimmed(const char *key, char *buf, size_t len)
{
    const char *v = zk.core->config_get(key);
    if (!v)
        v = "";
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    snprintf(buf, len, "%.*s", (int)n, v);
}

/* QuorumZooKeeperServer.dumpConf's lines: the limits, this member's ports, the membership. */
static void member_conf(struct zk_conf_figures *f)
{
    const struct corral_quorum_view *v =
        CORRAL_HAS(zk.core, quorum_view) && zk.core->quorum_view ? zk.core->quorum_view() : NULL;
    if (!v)
        return;
    f->member = 1;
    trimmed("initLimit", f->init_limit, sizeof f->init_limit);
    trimmed("syncLimit", f->sync_limit, sizeof f->sync_limit);
    for (int i = 0; i < v->n_members; i++)
        if (v->members[i].sid == v->my_id) {
            f->election_port = v->members[i].election_port;
            f->quorum_port = v->members[i].quorum_port;
            f->peer_type = v->members[i].observer ? 1 : 0;
        }
    f->membership = v->text ? v->text : "";
}

void zk_conf_figures(struct zk_conf_figures *f)
{
    struct corral_server_stats st;
    memset(f, 0, sizeof *f);
    zk.core->server_stats(&st);
    version_dirs(f->data_dir, f->data_log_dir, sizeof f->data_dir);
    const char *secure = zk.core->config_get("secureClientPort");
    f->client_port = zk.port;
    f->secure_client_port = secure && *secure ? secure : "-1";
    f->data_dir_size = dir_size(f->data_dir);
    f->data_log_size = dir_size(f->data_log_dir);
    f->tick_time = st.tick_time;
    f->max_client_cnxns = zk.max_per_ip;
    f->min_session_timeout = st.min_session_timeout;
    f->max_session_timeout = st.max_session_timeout;
    f->client_port_listen_backlog = -1;
    f->server_id = st.server_id;
    member_conf(f);
}

void zk_dir_sizes(long long *data_dir_size, long long *data_log_size)
{
    char data[4096], log[4096];
    version_dirs(data, log, sizeof data);
    *data_dir_size = dir_size(data);
    *data_log_size = dir_size(log);
}

void zk_env_figures(struct zk_env_figures *f)
{
    memset(f, 0, sizeof *f);
    struct passwd *pw = getpwuid(getuid());
    gethostname(f->host, sizeof f->host - 1);
    if (!getcwd(f->cwd, sizeof f->cwd))
        f->cwd[0] = 0;
    int have_un = uname(&f->un) == 0;
    snprintf(f->arch, sizeof f->arch, "%s", have_un ? f->un.machine : "");
    if (!strcmp(f->arch, "x86_64"))
        snprintf(f->arch, sizeof f->arch, "amd64");     /* the name Java reports */
    f->user = pw ? pw->pw_name : "";
    f->home = pw ? pw->pw_dir : "";
    size_t n = 0;
#define ENV(k, v) (f->names[n] = (k), f->values[n] = (v), n++)
    ENV("zookeeper.version", zk.core->version_string());
    ENV("host.name", f->host);
    ENV("os.name", have_un ? f->un.sysname : "");
    ENV("os.arch", f->arch);
    ENV("os.version", have_un ? f->un.release : "");
    ENV("user.name", f->user);
    ENV("user.home", f->home);
    ENV("user.dir", f->cwd);
#undef ENV
    f->n = n;
}

/* ---- (session, path) pairs ---- */

static void add_pair(struct zk_pairs *l, int64_t session_id, const char *path)
{
    if (l->failed)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct zk_pair *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->failed = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    char *p = strdup(path);
    if (!p) {
        l->failed = 1;
        return;
    }
    l->v[l->n].session_id = session_id;
    l->v[l->n].path = p;
    l->v[l->n].order = l->n;
    l->n++;
}

/* ZooKeeper's wchs/wchc/wchp list data watches only. */
static void collect_watch(void *arg, int64_t session_id, const char *path, int is_child)
{
    if (!is_child)
        add_pair(arg, session_id, path);
}

static void collect_ephemeral(void *arg, int64_t session_id, const char *path)
{
    add_pair(arg, session_id, path);
}

void zk_collect_watches(struct zk_pairs *l)
{
    memset(l, 0, sizeof *l);
    zk.core->watch_each(collect_watch, l);
}

void zk_collect_ephemerals(struct zk_pairs *l)
{
    memset(l, 0, sizeof *l);
    zk.core->ephemeral_each(collect_ephemeral, l);
}

void zk_pairs_free(struct zk_pairs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int by_session(const void *a, const void *b)
{
    const struct zk_pair *x = a, *y = b;
    if (x->session_id != y->session_id)
        return x->session_id < y->session_id ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int by_path(const void *a, const void *b)
{
    const struct zk_pair *x = a, *y = b;
    int d = strcmp(x->path, y->path);
    if (d)
        return d;
    return x->order < y->order ? -1 : x->order > y->order;
}

void zk_pairs_by_session(struct zk_pairs *l)
{
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, by_session);
}

void zk_pairs_by_path(struct zk_pairs *l)
{
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, by_path);
}

size_t zk_pairs_count_sessions(struct zk_pairs *l)
{
    size_t n = 0;
    zk_pairs_by_session(l);
    for (size_t i = 0; i < l->n; i++)
        n += i == 0 || l->v[i].session_id != l->v[i - 1].session_id;
    return n;
}

size_t zk_pairs_count_paths(struct zk_pairs *l)
{
    size_t n = 0;
    zk_pairs_by_path(l);
    for (size_t i = 0; i < l->n; i++)
        n += i == 0 || strcmp(l->v[i].path, l->v[i - 1].path) != 0;
    return n;
}

/* ---- resets ---- */

void zk_reset_connection_stats(void)
{
    size_t n = 0;
    for (struct zk_conn *o = zk.conns; o; o = o->next)
        n++;
    free(bases);
    bases = n ? calloc(n, sizeof *bases) : NULL;
    n_bases = 0;
    for (struct zk_conn *o = zk.conns; o; o = o->next) {
        o->packets_received = o->packets_sent = 0;
        o->last_response_ms = 0;
        if (!bases || !o->session || o->core_done)
            continue;
        struct corral_session_info si;
        zk.core->session_info(o->session, &si);
        bases[n_bases++] = (struct stats_base){
            .conn = o, .session_id = si.session_id, .established_ms = o->established_ms,
            .replies = si.replies, .total_latency = si.total_latency_ms,
            .min_latency = si.min_latency_ms, .max_latency = si.max_latency_ms,
        };
    }
}

/* ---- session expiry buckets ---- */

static void collect_expiry(void *arg, int64_t session_id, int32_t timeout_ms)
{
    struct zk_expiries *e = arg;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        struct zk_expiry *v = realloc(e->v, cap * sizeof *v);
        if (!v)
            return;
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n].at = ((e->now + timeout_ms) / e->tick + 1) * e->tick;
    e->v[e->n].session_id = session_id;
    e->n++;
}

static int by_expiry(const void *a, const void *b)
{
    const struct zk_expiry *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->session_id < y->session_id ? -1 : x->session_id > y->session_id;
}

void zk_collect_expiries(struct zk_expiries *e)
{
    struct corral_server_stats st;
    memset(e, 0, sizeof *e);
    zk.core->server_stats(&st);
    e->tick = st.tick_time > 0 ? st.tick_time : 1;
    e->now = zk.core->now_ms();
    zk.core->session_each(collect_expiry, e);
    if (e->n)
        qsort(e->v, e->n, sizeof *e->v, by_expiry);
}

void zk_expiries_free(struct zk_expiries *e)
{
    free(e->v);
    memset(e, 0, sizeof *e);
}

void zk_reset_server_stats(void)
{
    zk.core->reset_stats();
    zk.packets_received = zk.packets_sent = 0;
    zk.response_last = zk.response_min = zk.response_max = -1;
}

long long zk_trace_mask = 306;

/* A member cut off from its quorum serving read-only clients (core: readonly.c). */
int zk_read_only(void)
{
    struct corral_peer_info p;
    zk_peer_info(&p);
    return p.member && p.mode && !strcmp(p.mode, "read-only");
}
