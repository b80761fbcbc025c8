/*
 * figures.h — the figures behind ZooKeeper's monitoring commands, gathered
 * once and shown two ways: as four-letter-word text (fourlw.c) and as the
 * AdminServer's JSON (admin_commands.c).  Keeping one source means `mntr`
 * and `/commands/monitor` can never disagree about what the server is doing.
 */
#ifndef CORRAL_ZK_FIGURES_H
#define CORRAL_ZK_FIGURES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/utsname.h>
#include "zk.h"

/*
 * This server's part in an ensemble (corral_core.peer_info; a core too old
 * to have it is standalone).  mode is never NULL here: "looking" between
 * roles.
 */
void zk_peer_info(struct corral_peer_info *p);

/*
 * An ensemble member not synced with a quorum: ZooKeeper answers most
 * monitoring commands with ZK_NOT_SERVING instead (zk_answers_unserved).
 */
int zk_not_serving(void);
#define ZK_NOT_SERVING "This ZooKeeper instance is not currently serving requests"

/* srvr / stat / mntr / server_stats */
struct zk_server_figures {
    struct corral_server_stats st;
    struct corral_peer_info peer;
    const char *version;
    const char *mode;                   /* "standalone", "leader", ... */
    char peer_state[48];                /* mntr's zk_peer_state: "following - broadcast" */
    char avg_latency[32];               /* as Java prints it: "0.0", "2.8" */
    int64_t packets_received, packets_sent;
    int32_t response_last, response_min, response_max;
    int connections;
};
void zk_server_figures(struct zk_server_figures *f);

/* One `mntr` line: zk_<key>\t<value> in text, "<key>" : value in JSON. */
enum zk_row_kind { ZK_ROW_INT, ZK_ROW_STRING, ZK_ROW_NUMBER_TEXT };
struct zk_row {
    const char *key;
    enum zk_row_kind kind;
    long long i;
    const char *s;                      /* string, or a rendered number */
};
#define ZK_MONITOR_ROWS 48
/* Fills rows (at least ZK_MONITOR_ROWS); returns how many.  Strings point into f. */
size_t zk_monitor_rows(const struct zk_server_figures *f, struct zk_row *rows);

/* One client connection, as cons/stat show it. */
struct zk_conn_figures {
    const char *addr;                   /* numeric peer address */
    int port;
    int interest_ops;                   /* Java NIO's: 1 read, 4 write */
    int outstanding;
    int64_t packets_received, packets_sent;
    int with_session;                   /* the fields below are meaningful */
    int64_t session_id;
    const char *last_operation;         /* "GETD", ..., "NA" */
    int64_t established_ms;
    int32_t timeout_ms;
    int64_t last_cxid;                  /* int32 xid, sign-extended */
    int64_t last_zxid;
    int64_t last_response_ms;
    int64_t last_latency, min_latency, avg_latency, max_latency;
};
void zk_conn_figures(const struct zk_conn *c, struct zk_conn_figures *f);

/* conf / configuration / dirs */
struct zk_conf_figures {
    int client_port;
    const char *secure_client_port;     /* raw config value, or "-1" */
    char data_dir[4096], data_log_dir[4096];    /* absolute, ending in /version-2 */
    long long data_dir_size, data_log_size;
    int tick_time;
    long long max_client_cnxns;
    int min_session_timeout, max_session_timeout;
    int client_port_listen_backlog;
    int server_id;
    /* an ensemble member's extra lines (member 0: standalone, none of these) */
    int member;
    char init_limit[32], sync_limit[32];
    int election_port, quorum_port;
    int peer_type;                      /* ZooKeeper's LearnerType ordinal: 0 participant, 1 observer */
    const char *membership;             /* QuorumVerifier.toString(): server.N lines, "version=0" */
};
void zk_conf_figures(struct zk_conf_figures *f);
/* Just the two sizes (dirs). */
void zk_dir_sizes(long long *data_dir_size, long long *data_log_size);

/* envi / environment: name=value pairs in ZooKeeper's order. */
#define ZK_ENV_ROWS 8
struct zk_env_figures {
    char host[256], cwd[2048], arch[80];
    struct utsname un;
    const char *user, *home;
    const char *names[ZK_ENV_ROWS];
    const char *values[ZK_ENV_ROWS];
    size_t n;
};
void zk_env_figures(struct zk_env_figures *f);

/* Data watches (wchs/wchc/wchp) or ephemerals (dump): (session, path) pairs. */
struct zk_pair {
    int64_t session_id;
    char *path;
    size_t order;                       /* arrival, to keep sorts stable */
};
struct zk_pairs {
    struct zk_pair *v;
    size_t n, cap;
    int failed;                         /* out of memory: the list is partial */
};
void zk_collect_watches(struct zk_pairs *l);
void zk_collect_ephemerals(struct zk_pairs *l);
void zk_pairs_by_session(struct zk_pairs *l);
void zk_pairs_by_path(struct zk_pairs *l);
/* Distinct sessions / paths (sorts the list). */
size_t zk_pairs_count_sessions(struct zk_pairs *l);
size_t zk_pairs_count_paths(struct zk_pairs *l);
void zk_pairs_free(struct zk_pairs *l);

/* dump / expiry_time_to_session_ids: every live session (attached or not)
 * with the time it expires if it stays silent, rounded up to the next tick
 * as ZooKeeper's ExpiryQueue does; sorted by that time, then session id. */
struct zk_expiry {
    int64_t at, session_id;
};
struct zk_expiries {
    struct zk_expiry *v;
    size_t n, cap;
    int64_t now, tick;
};
void zk_collect_expiries(struct zk_expiries *e);
void zk_expiries_free(struct zk_expiries *e);

/* crst / srst.  crst zeroes each connection's figures as ZooKeeper's
 * ServerCnxn.resetStats does; the core's session figures are cumulative, so
 * zk_conn_figures shows them relative to where they stood at the reset. */
void zk_reset_connection_stats(void);
void zk_reset_server_stats(void);

/* ZooKeeper's trace mask (default 306), which Corral keeps only so that the
 * gtmk word and get/set_trace_mask answer as ZooKeeper's do. */
extern long long zk_trace_mask;

/* The server answers writes (isro says "rw"). */
int zk_read_only(void);

#endif
