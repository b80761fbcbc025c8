/*
 * fourlw.c — ZooKeeper's four-letter words: a client sends four ASCII bytes
 * instead of a frame length, the server writes a text answer and closes.
 *
 * Output follows Apache ZooKeeper 3.8's text formats line for line (compared
 * against a running ZooKeeper), so monitoring scripts and `zkServer.sh
 * status`-style tools that parse them keep working.  The figures come from
 * figures.c, which the AdminServer's JSON answers (admin_commands.c) share;
 * this file only lays them out as text.
 *
 * 4lw.commands.whitelist is honoured like ZooKeeper: comma-separated names,
 * "*" for all; srvr is always allowed (ZooKeeper's default list is just srvr).
 *
 * An ensemble member that is not synced with a quorum answers as a
 * ZooKeeper member does then (checked against one started alone from a
 * 3-server config): ruok, envi and gtmk as ever, isro "null", every other
 * ZooKeeper word ZK_NOT_SERVING.  Corral's own words (snap, rlod, peer)
 * answer regardless: `corral status` needs peer most while the ensemble
 * is electing.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "figures.h"

enum {
    CMD_RUOK, CMD_SRVR, CMD_STAT, CMD_MNTR, CMD_CONF, CMD_CONS, CMD_ENVI, CMD_WCHS,
    CMD_ISRO, CMD_DUMP, CMD_WCHC, CMD_WCHP, CMD_CRST, CMD_SRST, CMD_DIRS, CMD_GTMK,
    CMD_SNAP,   /* Corral's own: take a snapshot now (`corral snapshot`) */
    CMD_RLOD,   /* Corral's own: reload plugins, as SIGHUP (`corral reload`) */
    CMD_PEER,   /* Corral's own: this server's part in the ensemble (`corral status`) */
    CMD_COUNT
};

static const char *const command_names[CMD_COUNT] = {
    "ruok", "srvr", "stat", "mntr", "conf", "cons", "envi", "wchs",
    "isro", "dump", "wchc", "wchp", "crst", "srst", "dirs", "gtmk", "snap", "rlod", "peer",
};

int zk_fourlw_lookup(const uint8_t cmd[4])
{
    for (int i = 0; i < CMD_COUNT; i++)
        if (!memcmp(cmd, command_names[i], 4))
            return i;
    return -1;
}

uint32_t zk_fourlw_parse_whitelist(const char *list)
{
    uint32_t mask = 1u << CMD_SRVR;
    if (!list)
        return mask;
    const char *p = list;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        size_t n = (size_t)(end - start);
        if (n == 1 && *start == '*')
            return (1u << CMD_COUNT) - 1;
        for (int i = 0; i < CMD_COUNT; i++)
            if (n == 4 && !memcmp(start, command_names[i], 4))
                mask |= 1u << i;
    }
    return mask;
}

/* ---- text output ---- */

static void out(struct zk_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct zk_conn *c, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    uint8_t *p = jute_buf_reserve(&c->out, (size_t)n + 1);
    if (!p)
        return;
    if ((size_t)n < sizeof small) {
        memcpy(p, small, (size_t)n);
    } else {
        va_start(ap, fmt);
        vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    c->out.len--;   /* drop the NUL */
}

static unsigned long long hex(int64_t v) { return (unsigned long long)v; }

static void conn_line(struct zk_conn *self, const struct zk_conn *c, int full)
{
    struct zk_conn_figures f;
    zk_conn_figures(c, &f);
    out(self, " /%s:%d[%d](queued=%d,recved=%lld,sent=%lld", f.addr, f.port, f.interest_ops,
        f.outstanding, (long long)f.packets_received, (long long)f.packets_sent);
    if (full && f.with_session) {
        out(self, ",sid=0x%llx,lop=%s,est=%lld,to=%d", hex(f.session_id), f.last_operation,
            (long long)f.established_ms, f.timeout_ms);
        if (f.last_cxid >= 0)   /* ZooKeeper leaves it out when there is none (after crst) */
            out(self, ",lcxid=0x%llx", hex(f.last_cxid));
        out(self, ",lzxid=0x%llx,lresp=%lld,llat=%lld,minlat=%lld,avglat=%lld,maxlat=%lld",
            hex(f.last_zxid), (long long)f.last_response_ms, (long long)f.last_latency,
            (long long)f.min_latency, (long long)f.avg_latency, (long long)f.max_latency);
    }
    out(self, ")\n");
}

static void cmd_srvr_stat(struct zk_conn *c, int with_clients)
{
    struct zk_server_figures f;
    zk_server_figures(&f);
    out(c, "Zookeeper version: %s\n", f.version);
    if (with_clients) {
        out(c, "Clients:\n");
        for (struct zk_conn *o = zk.conns; o; o = o->next)
            conn_line(c, o, 0);
        out(c, "\n");
    }
    out(c, "Latency min/avg/max: %lld/%s/%lld\n", (long long)f.st.min_latency_ms, f.avg_latency,
        (long long)f.st.max_latency_ms);
    out(c, "Received: %lld\n", (long long)f.packets_received);
    out(c, "Sent: %lld\n", (long long)f.packets_sent);
    out(c, "Connections: %d\n", f.connections);
    out(c, "Outstanding: %lld\n", (long long)f.st.outstanding_requests);
    out(c, "Zxid: 0x%llx\n", hex(f.st.zxid));
    out(c, "Mode: %s\n", f.mode);
    out(c, "Node count: %lld\n", (long long)f.st.node_count);
    if (f.peer.member && f.peer.state == CORRAL_PEER_LEADING)
        out(c, "Proposal sizes last/min/max: %lld/%lld/%lld\n",
            (long long)f.peer.proposal_size_last, (long long)f.peer.proposal_size_min,
            (long long)f.peer.proposal_size_max);
}

/*
 * Corral's own word: the peer state as `corral status` prints it, answered
 * whether or not the member serves ("Key: value" lines, like srvr's).
 */
static void cmd_peer(struct zk_conn *c)
{
    struct corral_peer_info p;
    zk_peer_info(&p);
    static const char *const states[] = {"looking", "following", "leading", "observing"};
    out(c, "State: %s\n", !p.member ? "standalone"
        : p.state >= 0 && p.state < 4 ? states[p.state] : "?");
    out(c, "Mode: %s\n", p.mode);
    out(c, "Serving: %s\n", p.serving ? "yes" : "no");
    if (!p.member)
        return;
    out(c, "Server id: %lld\n", (long long)p.my_id);
    out(c, "Leader: %lld\n", (long long)p.leader_sid);
    /* the epoch the role established, or until it has one the decided vote's */
    out(c, "Epoch: %lld\n", (long long)(p.epoch ? p.epoch : p.election_epoch));
    out(c, "Established: %s\n", p.epoch ? "yes" : "no");
    out(c, "Quorum size: %d\n", p.quorum_size);
}

static void cmd_cons(struct zk_conn *c)
{
    for (struct zk_conn *o = zk.conns; o; o = o->next)
        conn_line(c, o, 1);
    out(c, "\n");
}

static void cmd_mntr(struct zk_conn *c)
{
    struct zk_server_figures f;
    struct zk_row rows[ZK_MONITOR_ROWS];
    zk_server_figures(&f);
    size_t n = zk_monitor_rows(&f, rows);
    for (size_t i = 0; i < n; i++) {
        if (rows[i].kind == ZK_ROW_INT)
            out(c, "zk_%s\t%lld\n", rows[i].key, rows[i].i);
        else
            out(c, "zk_%s\t%s\n", rows[i].key, rows[i].s);
    }
}

static void cmd_conf(struct zk_conn *c)
{
    struct zk_conf_figures f;
    zk_conf_figures(&f);
    out(c, "clientPort=%d\n", f.client_port);
    out(c, "secureClientPort=%s\n", f.secure_client_port);
    out(c, "dataDir=%s\n", f.data_dir);
    out(c, "dataDirSize=%lld\n", f.data_dir_size);
    out(c, "dataLogDir=%s\n", f.data_log_dir);
    out(c, "dataLogSize=%lld\n", f.data_log_size);
    out(c, "tickTime=%d\n", f.tick_time);
    out(c, "maxClientCnxns=%lld\n", f.max_client_cnxns);
    out(c, "minSessionTimeout=%d\n", f.min_session_timeout);
    out(c, "maxSessionTimeout=%d\n", f.max_session_timeout);
    out(c, "clientPortListenBacklog=%d\n", f.client_port_listen_backlog);
    out(c, "serverId=%d\n", f.server_id);
    /* ZooKeeper's standalone set ends here: the whole configuration is the
     * AdminServer's initial_configuration.  A member adds its quorum lines,
     * the membership last without a final newline (ZooKeeper's own). */
    if (!f.member)
        return;
    out(c, "initLimit=%s\n", f.init_limit);
    out(c, "syncLimit=%s\n", f.sync_limit);
    out(c, "electionAlg=3\n");
    out(c, "electionPort=%d\n", f.election_port);
    out(c, "quorumPort=%d\n", f.quorum_port);
    out(c, "peerType=%d\n", f.peer_type);
    out(c, "membership: \n");
    out(c, "%s", f.membership);
}

static void cmd_dirs(struct zk_conn *c)
{
    long long data, log;
    zk_dir_sizes(&data, &log);
    out(c, "datadir_size: %lld\n", data);
    out(c, "logdir_size: %lld\n", log);
}

static void cmd_envi(struct zk_conn *c)
{
    struct zk_env_figures f;
    zk_env_figures(&f);
    out(c, "Environment:\n");
    for (size_t i = 0; i < f.n; i++)
        out(c, "%s=%s\n", f.names[i], f.values[i]);
}

/* ---- watches (ZooKeeper's wchs/wchc/wchp list data watches) ---- */

static void cmd_watches(struct zk_conn *c, int cmd)
{
    struct zk_pairs l;
    zk_collect_watches(&l);
    if (cmd == CMD_WCHS) {
        size_t sessions = zk_pairs_count_sessions(&l);
        size_t paths = zk_pairs_count_paths(&l);
        out(c, "%zu connections watching %zu paths\n", sessions, paths);
        out(c, "Total watches:%zu\n", l.n);
    } else if (cmd == CMD_WCHC) {
        zk_pairs_by_session(&l);
        for (size_t i = 0; i < l.n; i++) {
            if (i == 0 || l.v[i].session_id != l.v[i - 1].session_id)
                out(c, "0x%llx\n", hex(l.v[i].session_id));
            out(c, "\t%s\n", l.v[i].path);
        }
        out(c, "\n");
    } else {
        zk_pairs_by_path(&l);
        for (size_t i = 0; i < l.n; i++) {
            if (i == 0 || strcmp(l.v[i].path, l.v[i - 1].path) != 0)
                out(c, "%s\n", l.v[i].path);
            out(c, "\t0x%llx\n", hex(l.v[i].session_id));
        }
        out(c, "\n");
    }
    zk_pairs_free(&l);
}

/* ---- dump ---- */

static void java_date(char *buf, size_t len, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%a %b %d %H:%M:%S %Z %Y", &tm);
}

static void cmd_dump(struct zk_conn *c)
{
    char date[64];
    int64_t now = zk.core->now_ms();
    struct zk_conn_figures f;

    /* ZooKeeper's ExpiryQueue.dump: "Sets (buckets)/(sessions)", then each
     * bucket (sessions expiring at the same tick) in time order */
    struct zk_expiries ex;
    zk_collect_expiries(&ex);
    size_t buckets = 0;
    for (size_t i = 0; i < ex.n; i++)
        buckets += i == 0 || ex.v[i].at != ex.v[i - 1].at;
    out(c, "SessionTracker dump:\n");
    out(c, "Session Sets (%zu)/(%zu):\n", buckets, ex.n);
    for (size_t i = 0; i < ex.n;) {
        size_t k = i;
        while (k < ex.n && ex.v[k].at == ex.v[i].at)
            k++;
        java_date(date, sizeof date, ex.v[i].at);
        out(c, "%zu expire at %s:\n", k - i, date);
        for (; i < k; i++)
            out(c, "\t0x%llx\n", hex(ex.v[i].session_id));
    }
    zk_expiries_free(&ex);

    struct zk_pairs l;
    zk_collect_ephemerals(&l);
    size_t owners = zk_pairs_count_sessions(&l);
    out(c, "ephemeral nodes dump:\n");
    out(c, "Sessions with Ephemerals (%zu):\n", owners);
    for (size_t i = 0; i < l.n; i++) {
        if (i == 0 || l.v[i].session_id != l.v[i - 1].session_id)
            out(c, "0x%llx:\n", hex(l.v[i].session_id));
        out(c, "\t%s\n", l.v[i].path);
    }
    zk_pairs_free(&l);

    out(c, "Connections dump:\n");
    out(c, "Connections Sets (1)/(%d):\n", zk.n_conns);
    java_date(date, sizeof date, now);
    out(c, "%d expire at %s:\n", zk.n_conns, date);
    for (struct zk_conn *o = zk.conns; o; o = o->next) {
        zk_conn_figures(o, &f);
        out(c, "\tip: /%s:%d sessionId: 0x%llx\n", f.addr, f.port,
            hex(f.with_session ? f.session_id : 0));
    }
}

static void run_command(struct zk_conn *c, int cmd);

/* The words a member not synced with a quorum still answers as usual (see the top). */
static int answers_unserved(int cmd)
{
    return cmd == CMD_RUOK || cmd == CMD_ENVI || cmd == CMD_GTMK || cmd == CMD_SNAP ||
           cmd == CMD_RLOD || cmd == CMD_PEER;
}

void zk_fourlw_run(struct zk_conn *c, int cmd)
{
    if (cmd < 0 || cmd >= CMD_COUNT)
        return;
    if (!(zk.fourlw_enabled & (1u << cmd)))
        out(c, "%s is not executed because it is not in the whitelist.\n", command_names[cmd]);
    else if (!answers_unserved(cmd) && zk_not_serving())
        out(c, cmd == CMD_ISRO ? "null" : ZK_NOT_SERVING "\n");
    else
        run_command(c, cmd);
    c->packets_sent++;      /* after: our own line in stat/cons shows sent=0, as ZooKeeper's */
    zk.packets_sent++;
}

static void run_command(struct zk_conn *c, int cmd)
{
    switch (cmd) {
    case CMD_RUOK: out(c, "imok"); break;
    case CMD_ISRO: out(c, zk_read_only() ? "ro" : "rw"); break;
    case CMD_SRVR: cmd_srvr_stat(c, 0); break;
    case CMD_STAT: cmd_srvr_stat(c, 1); break;
    case CMD_CONS: cmd_cons(c); break;
    case CMD_MNTR: cmd_mntr(c); break;
    case CMD_CONF: cmd_conf(c); break;
    case CMD_ENVI: cmd_envi(c); break;
    case CMD_DIRS: cmd_dirs(c); break;
    case CMD_GTMK: out(c, "%lld", zk_trace_mask); break;     /* no newline, as ZooKeeper */
    case CMD_PEER: cmd_peer(c); break;
    case CMD_RLOD:
        zk.core->reload_plugins();
        out(c, "Plugins reloaded\n");
        break;
    case CMD_SNAP: {
        int rc = zk.core->snapshot_now();
        out(c, rc == CORRAL_OK ? "Snapshot started\n"
               : rc == CORRAL_EUNIMPLEMENTED ? "This server's storage keeps no snapshots\n"
               : "No snapshot now: one is still being written\n");
        break;
    }
    case CMD_WCHS: case CMD_WCHC: case CMD_WCHP: cmd_watches(c, cmd); break;
    case CMD_DUMP: cmd_dump(c); break;
    case CMD_CRST:
        zk_reset_connection_stats();
        out(c, "Connection stats reset.\n");
        break;
    case CMD_SRST:
        zk_reset_server_stats();
        out(c, "Server stats reset.\n");
        break;
    }
}
