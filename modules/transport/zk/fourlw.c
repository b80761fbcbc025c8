/*
 * fourlw.c — ZooKeeper's four-letter words: a client sends four ASCII bytes
 * instead of a frame length, the server writes a text answer and closes.
 *
 * Output follows Apache ZooKeeper 3.8's text formats line for line (compared
 * against a running ZooKeeper), so monitoring scripts and `zkServer.sh
 * status`-style tools that parse them keep working.  Figures come from the
 * core (server_stats, session_info, watch_each, ephemeral_each); packet
 * counts and the connection list are this transport's own.
 *
 * 4lw.commands.whitelist is honoured like ZooKeeper: comma-separated names,
 * "*" for all; srvr is always allowed (ZooKeeper's default list is just srvr).
 */
#include <ctype.h>
#include <dirent.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include "zk.h"

enum {
    CMD_RUOK, CMD_SRVR, CMD_STAT, CMD_MNTR, CMD_CONF, CMD_CONS, CMD_ENVI, CMD_WCHS,
    CMD_ISRO, CMD_DUMP, CMD_WCHC, CMD_WCHP, CMD_CRST, CMD_SRST, CMD_DIRS, CMD_COUNT
};

static const char *const command_names[CMD_COUNT] = {
    "ruok", "srvr", "stat", "mntr", "conf", "cons", "envi", "wchs",
    "isro", "dump", "wchc", "wchp", "crst", "srst", "dirs",
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

static unsigned long long hex(int64_t v) { return (unsigned long long)v; }

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

static int has_session(const struct zk_conn *c)
{
    return c->session && !c->core_done;
}

/* Java's NIO interest ops: 1 read, 4 write. */
static int interest_ops(const struct zk_conn *c)
{
    return (c->reading ? 1 : 0) | (ev_is_active(&c->write_watcher) ? 4 : 0);
}

static void conn_line(struct zk_conn *self, const struct zk_conn *c, int full)
{
    struct corral_session_info si;
    int with_session = has_session(c);
    if (with_session)
        zk.core->session_info(c->session, &si);
    out(self, " /%s:%d[%d](queued=%d,recved=%lld,sent=%lld", c->addr, c->port, interest_ops(c),
        with_session ? si.outstanding : 0, (long long)c->packets_received,
        (long long)c->packets_sent);
    if (full && with_session) {
        out(self,
            ",sid=0x%llx,lop=%s,est=%lld,to=%d,lcxid=0x%llx,lzxid=0x%llx,lresp=%lld,llat=%lld,"
            "minlat=%lld,avglat=%lld,maxlat=%lld",
            hex(si.session_id), si.replies ? op_name(si.last_op) : "NA",
            (long long)c->established_ms, si.timeout_ms, hex(si.last_xid), hex(si.last_zxid),
            (long long)c->last_response_ms, (long long)si.last_latency_ms,
            (long long)si.min_latency_ms,
            (long long)(si.replies ? si.total_latency_ms / si.replies : 0),
            (long long)si.max_latency_ms);
    }
    out(self, ")\n");
}

static void server_summary(struct zk_conn *c, const struct corral_server_stats *st)
{
    char avg[64];
    format_avg(avg, sizeof avg, st->requests ? (double)st->total_latency_ms / (double)st->requests : 0);
    out(c, "Latency min/avg/max: %lld/%s/%lld\n", (long long)st->min_latency_ms, avg,
        (long long)st->max_latency_ms);
    out(c, "Received: %lld\n", (long long)zk.packets_received);
    out(c, "Sent: %lld\n", (long long)zk.packets_sent);
    out(c, "Connections: %d\n", zk.n_conns);
    out(c, "Outstanding: %lld\n", (long long)st->outstanding_requests);
    out(c, "Zxid: 0x%llx\n", hex(st->zxid));
    out(c, "Mode: %s\n", st->mode ? st->mode : "standalone");
    out(c, "Node count: %lld\n", (long long)st->node_count);
}

static void cmd_srvr_stat(struct zk_conn *c, int with_clients)
{
    struct corral_server_stats st;
    zk.core->server_stats(&st);
    out(c, "Zookeeper version: %s\n", zk.core->version_string());
    if (with_clients) {
        out(c, "Clients:\n");
        for (struct zk_conn *o = zk.conns; o; o = o->next)
            conn_line(c, o, 0);
        out(c, "\n");
    }
    server_summary(c, &st);
}

static void cmd_cons(struct zk_conn *c)
{
    for (struct zk_conn *o = zk.conns; o; o = o->next)
        conn_line(c, o, 1);
    out(c, "\n");
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

static void cmd_mntr(struct zk_conn *c)
{
    struct corral_server_stats st;
    struct rlimit rl;
    char avg[64];
    zk.core->server_stats(&st);
    format_avg(avg, sizeof avg, st.requests ? (double)st.total_latency_ms / (double)st.requests : 0);
    long long max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long long)rl.rlim_cur : -1;
    out(c, "zk_version\t%s\n", zk.core->version_string());
    out(c, "zk_server_state\t%s\n", st.mode ? st.mode : "standalone");
    out(c, "zk_ephemerals_count\t%lld\n", (long long)st.ephemerals_count);
    out(c, "zk_num_alive_connections\t%d\n", zk.n_conns);
    out(c, "zk_avg_latency\t%s\n", avg);
    out(c, "zk_outstanding_requests\t%lld\n", (long long)st.outstanding_requests);
    out(c, "zk_znode_count\t%lld\n", (long long)st.node_count);
    out(c, "zk_global_sessions\t%lld\n", (long long)st.session_count);
    out(c, "zk_non_mtls_remote_conn_count\t0\n");
    out(c, "zk_last_client_response_size\t-1\n");
    out(c, "zk_packets_sent\t%lld\n", (long long)zk.packets_sent);
    out(c, "zk_packets_received\t%lld\n", (long long)zk.packets_received);
    out(c, "zk_max_client_response_size\t-1\n");
    out(c, "zk_connection_drop_probability\t0.0\n");
    out(c, "zk_watch_count\t%lld\n", (long long)st.watch_count);
    out(c, "zk_auth_failed_count\t0\n");
    out(c, "zk_min_latency\t%lld\n", (long long)st.min_latency_ms);
    out(c, "zk_max_file_descriptor_count\t%lld\n", max_fds);
    out(c, "zk_approximate_data_size\t%lld\n", (long long)st.approximate_data_size);
    out(c, "zk_open_file_descriptor_count\t%lld\n", count_open_fds());
    out(c, "zk_local_sessions\t0\n");
    out(c, "zk_uptime\t%lld\n", (long long)st.uptime_ms);
    out(c, "zk_max_latency\t%lld\n", (long long)st.max_latency_ms);
    out(c, "zk_outstanding_tls_handshake\t0\n");
    out(c, "zk_min_client_response_size\t-1\n");
    out(c, "zk_non_mtls_local_conn_count\t0\n");
    out(c, "zk_proposal_count\t0\n");
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

static const char *const conf_shown[] = {
    "clientPort", "secureClientPort", "dataDir", "dataLogDir", "tickTime", "maxClientCnxns",
    "minSessionTimeout", "maxSessionTimeout", "clientPortListenBacklog", "4lw.commands.whitelist",
    NULL,
};

static void conf_extra(void *arg, const char *key, const char *value)
{
    for (int i = 0; conf_shown[i]; i++)
        if (!strcmp(conf_shown[i], key))
            return;
    out(arg, "%s=%s\n", key, value);
}

static void cmd_conf(struct zk_conn *c)
{
    struct corral_server_stats st;
    char data[4096], log[4096];
    zk.core->server_stats(&st);
    version_dirs(data, log, sizeof data);
    const char *secure = zk.core->config_get("secureClientPort");
    out(c, "clientPort=%d\n", zk.port);
    out(c, "secureClientPort=%s\n", secure && *secure ? secure : "-1");
    out(c, "dataDir=%s\n", data);
    out(c, "dataDirSize=%lld\n", dir_size(data));
    out(c, "dataLogDir=%s\n", log);
    out(c, "dataLogSize=%lld\n", dir_size(log));
    out(c, "tickTime=%d\n", st.tick_time);
    out(c, "maxClientCnxns=%lld\n", zk.max_per_ip);
    out(c, "minSessionTimeout=%d\n", st.min_session_timeout);
    out(c, "maxSessionTimeout=%d\n", st.max_session_timeout);
    out(c, "clientPortListenBacklog=-1\n");
    out(c, "serverId=%d\n", st.server_id);
    zk.core->config_each(conf_extra, c);
}

static void cmd_dirs(struct zk_conn *c)
{
    char data[4096], log[4096];
    version_dirs(data, log, sizeof data);
    out(c, "datadir_size: %lld\n", dir_size(data));
    out(c, "logdir_size: %lld\n", dir_size(log));
}

static void cmd_envi(struct zk_conn *c)
{
    char host[256] = "", cwd[2048] = "";
    struct utsname un;
    struct passwd *pw = getpwuid(getuid());
    gethostname(host, sizeof host - 1);
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = 0;
    int have_un = uname(&un) == 0;
    const char *arch = have_un ? un.machine : "";
    if (!strcmp(arch, "x86_64"))
        arch = "amd64";     /* the name Java reports */
    out(c, "Environment:\n");
    out(c, "zookeeper.version=%s\n", zk.core->version_string());
    out(c, "host.name=%s\n", host);
    out(c, "os.name=%s\n", have_un ? un.sysname : "");
    out(c, "os.arch=%s\n", arch);
    out(c, "os.version=%s\n", have_un ? un.release : "");
    out(c, "user.name=%s\n", pw ? pw->pw_name : "");
    out(c, "user.home=%s\n", pw ? pw->pw_dir : "");
    out(c, "user.dir=%s\n", cwd);
}

/* ---- watches (ZooKeeper's wchs/wchc/wchp list data watches) ---- */

struct watch_pair {
    int64_t session_id;
    char *path;
    size_t order;
};

struct watch_list {
    struct watch_pair *v;
    size_t n, cap;
    int failed;
};

static void collect_watch(void *arg, int64_t session_id, const char *path, int is_child)
{
    struct watch_list *l = arg;
    if (is_child || l->failed)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct watch_pair *v = realloc(l->v, cap * sizeof *v);
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

static void free_watches(struct watch_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
}

static int by_session(const void *a, const void *b)
{
    const struct watch_pair *x = a, *y = b;
    if (x->session_id != y->session_id)
        return x->session_id < y->session_id ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int by_path(const void *a, const void *b)
{
    const struct watch_pair *x = a, *y = b;
    int d = strcmp(x->path, y->path);
    if (d)
        return d;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void cmd_watches(struct zk_conn *c, int cmd)
{
    struct watch_list l = {0};
    zk.core->watch_each(collect_watch, &l);
    if (cmd == CMD_WCHS) {
        size_t sessions = 0, paths = 0;
        if (l.n)
            qsort(l.v, l.n, sizeof *l.v, by_session);
        for (size_t i = 0; i < l.n; i++)
            sessions += i == 0 || l.v[i].session_id != l.v[i - 1].session_id;
        if (l.n)
            qsort(l.v, l.n, sizeof *l.v, by_path);
        for (size_t i = 0; i < l.n; i++)
            paths += i == 0 || strcmp(l.v[i].path, l.v[i - 1].path) != 0;
        out(c, "%zu connections watching %zu paths\n", sessions, paths);
        out(c, "Total watches:%zu\n", l.n);
    } else if (cmd == CMD_WCHC) {
        if (l.n)
            qsort(l.v, l.n, sizeof *l.v, by_session);
        for (size_t i = 0; i < l.n; i++) {
            if (i == 0 || l.v[i].session_id != l.v[i - 1].session_id)
                out(c, "0x%llx\n", hex(l.v[i].session_id));
            out(c, "\t%s\n", l.v[i].path);
        }
        out(c, "\n");
    } else {
        if (l.n)
            qsort(l.v, l.n, sizeof *l.v, by_path);
        for (size_t i = 0; i < l.n; i++) {
            if (i == 0 || strcmp(l.v[i].path, l.v[i - 1].path) != 0)
                out(c, "%s\n", l.v[i].path);
            out(c, "\t0x%llx\n", hex(l.v[i].session_id));
        }
        out(c, "\n");
    }
    free_watches(&l);
}

/* ---- dump ---- */

static void collect_ephemeral(void *arg, int64_t session_id, const char *path)
{
    collect_watch(arg, session_id, path, 0);
}

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
    int sessions = 0;
    for (struct zk_conn *o = zk.conns; o; o = o->next)
        sessions += has_session(o);
    out(c, "SessionTracker dump:\n");
    out(c, "Session Sets (%d)/(%d):\n", sessions, sessions);
    for (struct zk_conn *o = zk.conns; o; o = o->next) {
        if (!has_session(o))
            continue;
        struct corral_session_info si;
        zk.core->session_info(o->session, &si);
        java_date(date, sizeof date, now + si.timeout_ms);
        out(c, "1 expire at %s:\n\t0x%llx\n", date, hex(si.session_id));
    }

    struct watch_list l = {0};
    zk.core->ephemeral_each(collect_ephemeral, &l);
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, by_session);
    size_t owners = 0;
    for (size_t i = 0; i < l.n; i++)
        owners += i == 0 || l.v[i].session_id != l.v[i - 1].session_id;
    out(c, "ephemeral nodes dump:\n");
    out(c, "Sessions with Ephemerals (%zu):\n", owners);
    for (size_t i = 0; i < l.n; i++) {
        if (i == 0 || l.v[i].session_id != l.v[i - 1].session_id)
            out(c, "0x%llx:\n", hex(l.v[i].session_id));
        out(c, "\t%s\n", l.v[i].path);
    }
    free_watches(&l);

    out(c, "Connections dump:\n");
    out(c, "Connections Sets (1)/(%d):\n", zk.n_conns);
    java_date(date, sizeof date, now);
    out(c, "%d expire at %s:\n", zk.n_conns, date);
    for (struct zk_conn *o = zk.conns; o; o = o->next) {
        int64_t sid = 0;
        if (has_session(o)) {
            struct corral_session_info si;
            zk.core->session_info(o->session, &si);
            sid = si.session_id;
        }
        out(c, "\tip: /%s:%d sessionId: 0x%llx\n", o->addr, o->port, hex(sid));
    }
}

static void run_command(struct zk_conn *c, int cmd);

void zk_fourlw_run(struct zk_conn *c, int cmd)
{
    if (cmd < 0 || cmd >= CMD_COUNT)
        return;
    if (!(zk.fourlw_enabled & (1u << cmd)))
        out(c, "%s is not executed because it is not in the whitelist.\n", command_names[cmd]);
    else
        run_command(c, cmd);
    c->packets_sent++;      /* after: our own line in stat/cons shows sent=0, as ZooKeeper's */
    zk.packets_sent++;
}

static void run_command(struct zk_conn *c, int cmd)
{
    switch (cmd) {
    case CMD_RUOK: out(c, "imok"); break;
    case CMD_ISRO: out(c, "rw"); break;
    case CMD_SRVR: cmd_srvr_stat(c, 0); break;
    case CMD_STAT: cmd_srvr_stat(c, 1); break;
    case CMD_CONS: cmd_cons(c); break;
    case CMD_MNTR: cmd_mntr(c); break;
    case CMD_CONF: cmd_conf(c); break;
    case CMD_ENVI: cmd_envi(c); break;
    case CMD_DIRS: cmd_dirs(c); break;
    case CMD_WCHS: case CMD_WCHC: case CMD_WCHP: cmd_watches(c, cmd); break;
    case CMD_DUMP: cmd_dump(c); break;
    case CMD_CRST:
        for (struct zk_conn *o = zk.conns; o; o = o->next)
            o->packets_received = o->packets_sent = 0;
        out(c, "Connection stats reset.\n");
        break;
    case CMD_SRST:
        zk.core->reset_stats();
        zk.packets_received = zk.packets_sent = 0;
        out(c, "Server stats reset.\n");
        break;
    }
}
