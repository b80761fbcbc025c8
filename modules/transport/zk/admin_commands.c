/*
 * admin_commands.c — the AdminServer's commands: Apache ZooKeeper 3.8's
 * names and aliases (server_stats/srvr, monitor/mntr, ...), each answering a
 * JSON object shaped like ZooKeeper's, ending in "command" (the primary
 * name) and "error" (null on success).
 *
 * The figures are the four-letter words' own (figures.c), so the text and
 * JSON views of the server always agree.  Commands that only make sense in
 * an ensemble answer as a standalone ZooKeeper does when the server runs
 * standalone.  An unknown name answers 404 with {"command", "error"}.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "figures.h"
#include "json.h"

struct admin_command {
    const char *names[4];           /* primary name first, then aliases */
    /* Writes the members; sets *error_done after writing "error" itself. */
    void (*run)(struct json *j, const char *query, int *error_done);
    /*
     * Answers on a member not synced with a quorum (ZooKeeper's commands
     * with serverRequired false).  The rest answer ZK_NOT_SERVING then.
     * monitor is one of ZooKeeper's, but there it fails (HTTP 500, a
     * NullPointerException with no server to ask): here it answers
     * ZK_NOT_SERVING, like the four-letter mntr.
     */
    int unserved;
};

static void member_error(struct json *j, const char *msg, int *error_done)
{
    json_kv_string(j, "error", msg);
    *error_done = 1;
}

/* ---- helpers shared by several commands ---- */

static void server_stats_members(struct json *j)
{
    struct zk_server_figures f;
    long long data_size, log_size;
    zk_server_figures(&f);
    zk_dir_sizes(&data_size, &log_size);
    json_kv_string(j, "version", f.version);
    json_kv_bool(j, "read_only", zk_read_only());
    json_key(j, "server_stats");
    json_object_begin(j);
    json_kv_int(j, "packets_sent", f.packets_sent);
    json_kv_int(j, "packets_received", f.packets_received);
    json_kv_int(j, "fsync_threshold_exceed_count", 0);
    json_key(j, "client_response_stats");
    json_object_begin(j);
    json_kv_int(j, "last_buffer_size", f.response_last);
    json_kv_int(j, "min_buffer_size", f.response_min);
    json_kv_int(j, "max_buffer_size", f.response_max);
    json_object_end(j);
    json_kv_int(j, "data_dir_size", data_size);
    json_kv_int(j, "log_dir_size", log_size);
    json_kv_bool(j, "provider_null", 0);
    json_kv_string(j, "server_state", f.mode);
    json_kv_int(j, "last_processed_zxid", f.st.zxid);
    json_kv_int(j, "outstanding_requests", f.st.outstanding_requests);
    json_key(j, "avg_latency");
    json_number_text(j, f.avg_latency);
    json_kv_int(j, "max_latency", f.st.max_latency_ms);
    json_kv_int(j, "min_latency", f.st.min_latency_ms);
    json_kv_int(j, "num_alive_client_connections", f.connections);
    json_kv_int(j, "auth_failed_count", 0);
    json_kv_int(j, "non_mtlsremote_conn_count", 0);
    json_kv_int(j, "non_mtlslocal_conn_count", 0);
    json_kv_int(j, "uptime", f.st.uptime_ms);
    json_object_end(j);
    json_key(j, "client_response");
    json_object_begin(j);
    json_kv_int(j, "last_buffer_size", f.response_last);
    json_kv_int(j, "min_buffer_size", f.response_min);
    json_kv_int(j, "max_buffer_size", f.response_max);
    json_object_end(j);
    if (f.peer.member && f.peer.state == CORRAL_PEER_LEADING) {
        json_key(j, "proposal_stats");
        json_object_begin(j);
        json_kv_int(j, "last_buffer_size", f.peer.proposal_size_last);
        json_kv_int(j, "min_buffer_size", f.peer.proposal_size_min);
        json_kv_int(j, "max_buffer_size", f.peer.proposal_size_max);
        json_object_end(j);
    }
    json_kv_int(j, "node_count", f.st.node_count);
}

static void connection_object(struct json *j, const struct zk_conn *c, int brief)
{
    struct zk_conn_figures f;
    char remote[160];
    zk_conn_figures(c, &f);
    snprintf(remote, sizeof remote, strchr(f.addr, ':') ? "[%s]:%d" : "%s:%d", f.addr, f.port);
    json_object_begin(j);
    json_kv_string(j, "remote_socket_address", remote);
    json_kv_int(j, "interest_ops", f.interest_ops);
    json_kv_int(j, "outstanding_requests", f.outstanding);
    json_kv_int(j, "packets_received", f.packets_received);
    json_kv_int(j, "packets_sent", f.packets_sent);
    if (!brief) {
        json_kv_int(j, "session_id", f.session_id);
        json_kv_string(j, "last_operation", f.last_operation);
        json_kv_int(j, "established", f.established_ms);
        json_kv_int(j, "session_timeout", f.timeout_ms);
        json_kv_int(j, "last_cxid", f.last_cxid);
        json_kv_int(j, "last_zxid", f.last_zxid);
        json_kv_int(j, "last_response_time", f.last_response_ms);
        json_kv_int(j, "last_latency", f.last_latency);
        json_kv_int(j, "min_latency", f.min_latency);
        json_kv_int(j, "avg_latency", f.avg_latency);
        json_kv_int(j, "max_latency", f.max_latency);
    }
    json_object_end(j);
}

static void connections_members(struct json *j, int brief)
{
    json_key(j, "connections");
    json_array_begin(j);
    for (struct zk_conn *c = zk.conns; c; c = c->next)
        connection_object(j, c, brief);
    json_array_end(j);
    json_key(j, "secure_connections");
    json_array_begin(j);
    json_array_end(j);
}

static int is_standalone(void)
{
    struct corral_server_stats st;
    zk.core->server_stats(&st);
    return !st.mode || !strcmp(st.mode, "standalone");
}

/* ---- the commands, alphabetically by primary name (the /commands list) ---- */

static void cmd_configuration(struct json *j, const char *q, int *e)
{
    struct zk_conf_figures f;
    zk_conf_figures(&f);
    json_kv_int(j, "client_port", f.client_port);
    json_kv_string(j, "data_dir", f.data_dir);
    json_kv_string(j, "data_log_dir", f.data_log_dir);
    json_kv_int(j, "tick_time", f.tick_time);
    json_kv_int(j, "max_client_cnxns", f.max_client_cnxns);
    json_kv_int(j, "min_session_timeout", f.min_session_timeout);
    json_kv_int(j, "max_session_timeout", f.max_session_timeout);
    json_kv_int(j, "server_id", f.server_id);
    json_kv_int(j, "client_port_listen_backlog", f.client_port_listen_backlog);
}

static void cmd_connection_stat_reset(struct json *j, const char *q, int *e)
{
    zk_reset_connection_stats();
}

static void cmd_connections(struct json *j, const char *q, int *e)
{
    connections_members(j, 0);
}

static void cmd_dirs(struct json *j, const char *q, int *e)
{
    long long data_size, log_size;
    zk_dir_sizes(&data_size, &log_size);
    json_kv_int(j, "datadir_size", data_size);
    json_kv_int(j, "logdir_size", log_size);
}

/* {"<session id>": [paths...], ...} from pairs sorted by session. */
static void paths_by_session(struct json *j, const struct zk_pairs *l)
{
    json_object_begin(j);
    for (size_t i = 0; i < l->n; i++) {
        if (i == 0 || l->v[i].session_id != l->v[i - 1].session_id) {
            char key[32];
            if (i)
                json_array_end(j);
            snprintf(key, sizeof key, "%" PRId64, l->v[i].session_id);
            json_key(j, key);
            json_array_begin(j);
        }
        json_string(j, l->v[i].path);
    }
    if (l->n)
        json_array_end(j);
    json_object_end(j);
}

static void cmd_dump(struct json *j, const char *q, int *e)
{
    struct zk_expiries ex;
    zk_collect_expiries(&ex);
    struct zk_expiry *v = ex.v;
    size_t n = ex.n;
    json_key(j, "expiry_time_to_session_ids");
    json_object_begin(j);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || v[i].at != v[i - 1].at) {
            char key[32];
            if (i)
                json_array_end(j);
            snprintf(key, sizeof key, "%" PRId64, v[i].at);
            json_key(j, key);
            json_array_begin(j);
        }
        json_int(j, v[i].session_id);
    }
    if (n)
        json_array_end(j);
    json_object_end(j);
    zk_expiries_free(&ex);

    struct zk_pairs l;
    zk_collect_ephemerals(&l);
    zk_pairs_by_session(&l);
    json_key(j, "session_id_to_ephemeral_paths");
    paths_by_session(j, &l);
    zk_pairs_free(&l);
}

static void cmd_environment(struct json *j, const char *q, int *e)
{
    struct zk_env_figures f;
    zk_env_figures(&f);
    for (size_t i = 0; i < f.n; i++)
        json_kv_string(j, f.names[i], f.values[i]);
}

static void cmd_get_trace_mask(struct json *j, const char *q, int *e)
{
    json_kv_int(j, "tracemask", zk_trace_mask);
}

static void cmd_hash(struct json *j, const char *q, int *e)
{
    json_key(j, "digests");
    json_array_begin(j);
    json_array_end(j);
}

static void config_line(void *arg, const char *key, const char *value)
{
    struct jute_buf *b = arg;
    size_t kl = strlen(key), vl = strlen(value);
    uint8_t *p = jute_buf_reserve(b, kl + vl + 2);
    if (!p)
        return;
    memcpy(p, key, kl);
    p[kl] = '=';
    memcpy(p + kl + 1, value, vl);
    p[kl + 1 + vl] = '\n';
}

static void cmd_initial_configuration(struct json *j, const char *q, int *e)
{
    struct jute_buf text;
    jute_buf_init(&text);
    zk.core->config_each(config_line, &text);
    uint8_t *nul = jute_buf_reserve(&text, 1);
    if (nul) {
        *nul = 0;
        json_kv_string(j, "initial_configuration", (const char *)text.data);
    } else {
        json_kv_string(j, "initial_configuration", "");
    }
    jute_buf_free(&text);
}

static void cmd_is_read_only(struct json *j, const char *q, int *e)
{
    json_kv_bool(j, "read_only", zk_read_only());
}

/* The newest snapshot.<zxid> in the data dir: ZooKeeper's last snapshot info. */
static void cmd_last_snapshot(struct json *j, const char *q, int *e)
{
    struct zk_conf_figures f;
    zk_conf_figures(&f);
    int64_t best = -1;
    long long when = -1;
    DIR *d = opendir(f.data_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, "snapshot.", 9) != 0)
            continue;
        char *end;
        errno = 0;
        unsigned long long z = strtoull(de->d_name + 9, &end, 16);
        struct stat sb;
        if (errno || end == de->d_name + 9 || *end || (int64_t)z < best)
            continue;
        if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
            continue;
        best = (int64_t)z;
        when = (long long)sb.st_mtime;
    }
    if (d)
        closedir(d);
    char hex[32];
    snprintf(hex, sizeof hex, "%llx", (unsigned long long)best);
    json_kv_string(j, "zxid", hex);
    json_kv_int(j, "timestamp", when);
}

/* The host part of a server.N value ("host:2888:3888[:role][;client]"). */
static void server_host(int32_t id, char *host, size_t len)
{
    char key[32];
    snprintf(key, sizeof key, "server.%d", id);
    const char *v = zk.core->config_get(key);
    host[0] = 0;
    if (!v)
        return;
    const char *end = v[0] == '[' ? strchr(v, ']') : strchr(v, ':');
    if (v[0] == '[' && end)
        snprintf(host, len, "%.*s", (int)(end - v - 1), v + 1);
    else
        snprintf(host, len, "%.*s", end ? (int)(end - v) : (int)strlen(v), v);
}

/* ZooKeeper's answer names the leader on every serving member, the leader itself included. */
static void cmd_leader(struct json *j, const char *q, int *e)
{
    struct corral_peer_info p;
    zk_peer_info(&p);
    if (!p.member) {
        member_error(j, "server is not initialized", e);
        return;
    }
    json_kv_bool(j, "is_leader", p.state == CORRAL_PEER_LEADING);
    if (p.leader_sid > 0) {
        char host[256];
        server_host((int32_t)p.leader_sid, host, sizeof host);
        json_kv_int(j, "leader_id", p.leader_sid);
        json_kv_string(j, "leader_ip", host);
    }
}

static void cmd_monitor(struct json *j, const char *q, int *e)
{
    struct zk_server_figures f;
    struct zk_row rows[ZK_MONITOR_ROWS];
    zk_server_figures(&f);
    size_t n = zk_monitor_rows(&f, rows);
    for (size_t i = 0; i < n; i++) {
        json_key(j, rows[i].key);
        if (rows[i].kind == ZK_ROW_INT)
            json_int(j, rows[i].i);
        else if (rows[i].kind == ZK_ROW_STRING)
            json_string(j, rows[i].s);
        else
            json_number_text(j, rows[i].s);
    }
}

static void cmd_observer_connection_stat_reset(struct json *j, const char *q, int *e)
{
}

static void cmd_observers(struct json *j, const char *q, int *e)
{
    json_kv_int(j, "synced_observers", 0);
    json_key(j, "observers");
    json_array_begin(j);
    json_array_end(j);
}

static void cmd_ruok(struct json *j, const char *q, int *e)
{
}

static void cmd_server_stats(struct json *j, const char *q, int *e)
{
    server_stats_members(j);
}

/* The value of name in a query string ("a=1&b=2"), copied into buf; NULL if absent. */
static const char *query_value(const char *query, const char *name, char *buf, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            snprintf(buf, len, "%.*s", (int)(seg - nl - 1), p + nl + 1);
            return buf;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void cmd_set_trace_mask(struct json *j, const char *q, int *e)
{
    char buf[32];
    const char *v = query_value(q, "traceMask", buf, sizeof buf);
    char *end;
    errno = 0;
    long long mask = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || errno || *end) {
        member_error(j, "setTraceMask requires long traceMask argument", e);
        return;
    }
    zk_trace_mask = mask;
    json_kv_int(j, "tracemask", zk_trace_mask);
}

static void cmd_stat_reset(struct json *j, const char *q, int *e)
{
    zk_reset_server_stats();
}

static void cmd_stats(struct json *j, const char *q, int *e)
{
    server_stats_members(j);
    connections_members(j, 1);
}

static void cmd_system_properties(struct json *j, const char *q, int *e)
{
    /* Corral is no JVM: the environment's figures are the closest thing */
    struct zk_env_figures f;
    zk_env_figures(&f);
    for (size_t i = 0; i < f.n; i++)
        if (strncmp(f.names[i], "os.", 3) == 0 || strncmp(f.names[i], "user.", 5) == 0)
            json_kv_string(j, f.names[i], f.values[i]);
    json_kv_string(j, "file.separator", "/");
    json_kv_string(j, "line.separator", "\n");
    json_kv_string(j, "path.separator", ":");
}

static void voting_member(void *arg, const char *key, const char *value)
{
    if (strncmp(key, "server.", 7) != 0 || !key[7])
        return;
    json_kv_string(arg, key + 7, value);
}

static void cmd_voting_view(struct json *j, const char *q, int *e)
{
    json_key(j, "current_config");
    json_object_begin(j);
    if (!is_standalone())
        zk.core->config_each(voting_member, j);
    json_object_end(j);
}

static void cmd_watch_summary(struct json *j, const char *q, int *e)
{
    struct zk_pairs l;
    zk_collect_watches(&l);
    json_kv_int(j, "num_connections", (long long)zk_pairs_count_sessions(&l));
    json_kv_int(j, "num_paths", (long long)zk_pairs_count_paths(&l));
    json_kv_int(j, "num_total_watches", (long long)l.n);
    zk_pairs_free(&l);
}

static void cmd_watches(struct json *j, const char *q, int *e)
{
    struct zk_pairs l;
    zk_collect_watches(&l);
    zk_pairs_by_session(&l);
    json_key(j, "session_id_to_watched_paths");
    paths_by_session(j, &l);
    zk_pairs_free(&l);
}

static void cmd_watches_by_path(struct json *j, const char *q, int *e)
{
    struct zk_pairs l;
    zk_collect_watches(&l);
    zk_pairs_by_path(&l);
    json_key(j, "path_to_session_ids");
    json_object_begin(j);
    for (size_t i = 0; i < l.n; i++) {
        if (i == 0 || strcmp(l.v[i].path, l.v[i - 1].path) != 0) {
            if (i)
                json_array_end(j);
            json_key(j, l.v[i].path);
            json_array_begin(j);
        }
        json_int(j, l.v[i].session_id);
    }
    if (l.n)
        json_array_end(j);
    json_object_end(j);
    zk_pairs_free(&l);
}

static void cmd_zabstate(struct json *j, const char *q, int *e)
{
    struct corral_server_stats st;
    zk.core->server_stats(&st);
    /* a member not serving has no ZooKeeperServer to ask: ZooKeeper's answer is a standalone's */
    int standalone = !st.mode || !strcmp(st.mode, "standalone") || zk_not_serving();
    json_kv_bool(j, "voting", !standalone && strcmp(st.mode, "observer") != 0);
    json_kv_string(j, "zabstate", standalone ? "" : "BROADCAST");
}

static const struct admin_command commands[] = {
    {{"configuration", "conf", "config"}, cmd_configuration, 0},
    {{"connection_stat_reset", "crst"}, cmd_connection_stat_reset, 0},
    {{"connections", "cons"}, cmd_connections, 0},
    {{"dirs"}, cmd_dirs, 0},
    {{"dump"}, cmd_dump, 0},
    {{"environment", "env", "envi"}, cmd_environment, 1},
    {{"get_trace_mask", "gtmk"}, cmd_get_trace_mask, 1},
    {{"hash"}, cmd_hash, 0},
    {{"initial_configuration", "icfg"}, cmd_initial_configuration, 0},
    {{"is_read_only", "isro"}, cmd_is_read_only, 0},
    {{"last_snapshot", "lsnp"}, cmd_last_snapshot, 0},
    {{"leader", "lead"}, cmd_leader, 0},
    {{"monitor", "mntr"}, cmd_monitor, 0},
    {{"observer_connection_stat_reset", "orst"}, cmd_observer_connection_stat_reset, 0},
    {{"observers", "obsr"}, cmd_observers, 0},
    {{"ruok"}, cmd_ruok, 0},
    {{"server_stats", "srvr"}, cmd_server_stats, 0},
    {{"set_trace_mask", "stmk"}, cmd_set_trace_mask, 1},
    {{"stat_reset", "srst"}, cmd_stat_reset, 0},
    {{"stats", "stat"}, cmd_stats, 0},
    {{"system_properties", "sysp"}, cmd_system_properties, 1},
    {{"voting_view"}, cmd_voting_view, 0},
    {{"watch_summary", "wchs"}, cmd_watch_summary, 0},
    {{"watches", "wchc"}, cmd_watches, 0},
    {{"watches_by_path", "wchp"}, cmd_watches_by_path, 0},
    {{"zabstate"}, cmd_zabstate, 1},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct admin_command *lookup(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        for (size_t k = 0; k < 4 && commands[i].names[k]; k++)
            if (!strcmp(commands[i].names[k], name))
                return &commands[i];
    return NULL;
}

int zk_admin_run(const char *name, const char *query, struct jute_buf *out)
{
    struct json j;
    json_init(&j, out);
    json_object_begin(&j);
    const struct admin_command *cmd = lookup(name);
    if (!cmd) {
        /* name is bounded by the request size (admin.c) */
        size_t len = strlen(name) + sizeof "Unknown command: ";
        char *msg = malloc(len);
        if (msg)
            snprintf(msg, len, "Unknown command: %s", name);
        json_kv_string(&j, "command", name);
        json_kv_string(&j, "error", msg ? msg : "Unknown command");
        json_object_end(&j);
        free(msg);
        return 404;
    }
    if (!cmd->unserved && zk_not_serving()) {
        /* ZooKeeper names the command as asked for here, alias or not */
        json_kv_string(&j, "command", name);
        json_kv_string(&j, "error", ZK_NOT_SERVING);
        json_object_end(&j);
        return 200;
    }
    int error_done = 0;
    cmd->run(&j, query, &error_done);
    json_kv_string(&j, "command", cmd->names[0]);
    if (!error_done)
        json_kv_null(&j, "error");
    json_object_end(&j);
    return 200;
}

void zk_admin_list(const char *url, struct jute_buf *out)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *name = commands[i].names[0];
        size_t need = 2 * strlen(url) + 2 * strlen(name) + 32;
        uint8_t *p = jute_buf_reserve(out, need);
        if (!p)
            return;
        int n = snprintf((char *)p, need, "<a href=\"%s/%s\">%s</a>\n<br/>\n", url, name, name);
        out->len -= need - (size_t)(n > 0 ? n : 0);
    }
}
