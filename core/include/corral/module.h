/*
 * module.h — the module ABI: what a Corral module exports and what the core
 * hands it.
 *
 * A module is a shared object that exports exactly one symbol, named
 * CORRAL_MODULE_SYMBOL, of type `const struct corral_module`.  The core
 * dlopen()s the file, reads that struct, refuses it (with a log line naming the
 * file) when abi_version, kind or a table size does not fit, and otherwise
 * calls init() with the core's function table.  From then on the module talks
 * to the core only through that table and the kind-specific ops table it
 * exported; it never sees a core struct beyond the headers in
 * core/include/corral/.
 *
 * Modelled on nginx's ngx_module_t: one versioned struct of callbacks, plus a
 * table of the configuration keys the module owns, so the core can reject
 * unknown keys with a message naming file, line and key.
 *
 * How the ABI grows (the rule every change to these headers follows):
 *
 *  - Every table that crosses the boundary starts with its size: struct
 *    corral_module and struct corral_core with abi_version then size, every
 *    ops table (transport, storage, auth, plugin, and the corral_conn_ops a
 *    transport hands the core per connection) with size.  Whoever builds a
 *    table sets it to sizeof the struct as its headers define it:
 *    `.size = sizeof(struct corral_storage_ops)`.
 *  - Members are only ever appended, never removed, reordered or retyped.
 *    Appending one raises CORRAL_ABI_MINOR; it never forces a rebuild.
 *  - A reader of a table uses a member appended after the table's first
 *    version only when the table is long enough to hold it: CORRAL_HAS(t, m),
 *    or CORRAL_FN(t, m) for a callback (NULL when absent or unset).  So a
 *    core reading an older module's shorter table treats the missing members
 *    as NULL, and a module built against a newer minor checks
 *    CORRAL_HAS(core, m) before calling something an older core may lack.
 *  - The core refuses a table shorter than the members it cannot do
 *    without (the CORRAL_*_OPS_MIN sizes below), with a log line naming the
 *    file.
 *  - Anything else (a member removed or its meaning changed) bumps
 *    CORRAL_ABI_MAJOR, and the core refuses modules of any other major.
 *
 * This is ABI 3.0, a new major rather than 2 kept: 1 and 2 (a plain number
 * in abi_version, tables without sizes; 2 existed in-tree only, briefly) lay
 * every table out differently at its front, so reading a 2 module's tables
 * as sized ones would misread every member.  As another major they are
 * refused instead.  In 3.0 already, the members a table may stop before
 * (read through CORRAL_FN) are the ones after each CORRAL_*_MIN: conn_ops'
 * backlogged and max_reply, storage's snapshot and sync members, auth's
 * redact_id, a plugin's reload.
 */
#ifndef CORRAL_MODULE_H
#define CORRAL_MODULE_H

#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>
#include "corral/codes.h"
#include "corral/request.h"
#include "corral/txn.h"

/*
 * The ABI a module is built against: major << 16 | minor (see the rule
 * above).  The core loads a module of its own major and any minor.
 * 1, 2: before sized tables (any abi_version < 1 << 16 is one of them).
 * 3.0: every table carries its size.
 * 3.1: corral_storage_ops.flags (CORRAL_STORAGE_RECOVER_AGAIN); corral_core.in_charge;
 *      the election module (struct corral_election_ops) and the core
 *      calls it uses (corral_core from quorum_view on).
 * 3.2: corral_storage_ops.reset_to_tree (a learner's SNAP sync);
 *      corral_core.peer_info (struct corral_peer_info): the ensemble state
 *      transports report (srvr's Mode, mntr's leader keys, `corral status`).
 */
#define CORRAL_ABI_MAJOR 3
#define CORRAL_ABI_MINOR 2
#define CORRAL_ABI(major, minor) (((uint32_t)(major) << 16) | (uint32_t)(minor))
#define CORRAL_ABI_VERSION CORRAL_ABI(CORRAL_ABI_MAJOR, CORRAL_ABI_MINOR)
#define CORRAL_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define CORRAL_ABI_MINOR_OF(v) ((uint32_t)(v) & 0xffffu)

/* The bytes of a table of type `type` up to and including `member`. */
#define CORRAL_SIZE_UPTO(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
/* Whether table t (a pointer to a sized table) is long enough to hold member m. */
#define CORRAL_HAS(t, m) ((t)->size >= CORRAL_SIZE_UPTO(__typeof__(*(t)), m))
/* Callback m of table t, or NULL when t is too short to have it. */
#define CORRAL_FN(t, m) (CORRAL_HAS(t, m) ? (t)->m : NULL)

/* The one symbol every module exports. */
#define CORRAL_MODULE_SYMBOL corral_module_entry

enum corral_module_kind {
    CORRAL_MODULE_TRANSPORT = 1,
    CORRAL_MODULE_STORAGE = 2,
    CORRAL_MODULE_AUTH = 3,
    CORRAL_MODULE_ELECTION = 4,
    CORRAL_MODULE_PLUGIN = 5,
};

enum corral_log_level {
    CORRAL_LOG_ERROR = 0,
    CORRAL_LOG_WARN = 1,
    CORRAL_LOG_INFO = 2,
    CORRAL_LOG_DEBUG = 3,
};

struct ev_loop;
struct corral_session;          /* opaque: a client session */
struct corral_quorum_view;      /* corral/quorum_view.h */

/*
 * Session set-up, as asked for by a client (ZooKeeper's ConnectRequest plus
 * what the transport knows about the peer).
 */
struct corral_connect_params {
    int32_t protocol_version;
    int64_t last_zxid_seen;
    int32_t timeout_ms;         /* requested; the core negotiates */
    int64_t session_id;         /* 0: a new session; else: resume it */
    const uint8_t *passwd;
    int32_t passwd_len;
    int read_only;
    const char *remote_addr;    /* numeric peer address, e.g. "127.0.0.1" */
    int remote_port;
};

#define CORRAL_PASSWD_LEN 16

struct corral_connect_result {
    int32_t err;                /* CORRAL_OK or CORRAL_ESESSIONEXPIRED */
    int32_t timeout_ms;         /* negotiated */
    int64_t session_id;
    uint8_t passwd[CORRAL_PASSWD_LEN];
    int read_only;
};

/*
 * What a transport's connection offers the core.  `conn` is the transport's
 * own connection pointer, passed back untouched.
 */
struct corral_conn_ops {
    size_t size;                /* sizeof(struct corral_conn_ops) */
    /* Outcome of session_connect().  May run before session_connect returns. */
    void (*connected)(void *conn, const struct corral_connect_result *res);
    /* The answer to one submitted request, in submission order. */
    void (*reply)(void *conn, const struct corral_response *rsp);
    /* A watch notification.  Sent before the reply to the write that fired it. */
    void (*event)(void *conn, const struct corral_watch_event *ev);
    /*
     * The core is finished with this connection: its session was closed,
     * expired, or resumed on another connection (reason is a corral_err).
     * The transport flushes what it has queued and closes.  The core never
     * touches conn again after this call.
     */
    void (*close)(void *conn, int32_t reason);
    /*
     * Whether the connection's output is backlogged (the transport's own
     * threshold, e.g. its buffer of unsent bytes is over its mark).  The core
     * asks before answering each read that waited in the session's FIFO (or
     * arrives behind a held one); on 1 it holds that read and everything
     * after it, in order, until the transport calls core->session_resume().
     * Replies to writes already under way and watch events are not held
     * (they are not amplified: a write's reply is about as large as its
     * request, an event as its path).  NULL (or a table too short for
     * it): never backlogged.
     */
    int (*backlogged)(void *conn);
    /*
     * The largest reply this connection's client reads, in bytes as the
     * core measures replies (ZooKeeper's encoding of the response); a read
     * whose reply would be longer is answered MarshallingError instead of
     * being built.  <= 0 or NULL: jute.maxbuffer, a ZooKeeper client's own
     * limit.  A transport whose clients take longer messages says so here.
     */
    int64_t (*max_reply)(void *conn);
};
/* The core refuses a connection whose table lacks one of these (close included). */
#define CORRAL_CONN_OPS_MIN CORRAL_SIZE_UPTO(struct corral_conn_ops, close)

/* What `cons`/`stat` show of a session. */
struct corral_session_info {
    int64_t session_id;
    int32_t timeout_ms;
    int64_t last_zxid;          /* zxid of the last reply sent */
    int32_t last_op;
    int32_t last_xid;
    int64_t requests;           /* submitted */
    int64_t replies;            /* answered */
    int32_t outstanding;
    int64_t last_latency_ms;
    int64_t min_latency_ms, max_latency_ms, total_latency_ms;
    int32_t watches;
};

/* Server-wide figures for `srvr`, `stat`, `mntr`. */
struct corral_server_stats {
    const char *mode;           /* "standalone", "leader", "follower", "observer" */
    int64_t zxid;               /* last applied */
    int64_t node_count;
    int64_t approximate_data_size;
    int64_t ephemerals_count;
    int64_t session_count;
    int64_t watch_count;        /* watches (path, session) pairs */
    int64_t watched_paths;
    int64_t watching_sessions;
    int64_t outstanding_requests;
    int64_t requests;           /* requests processed since start/reset */
    int64_t min_latency_ms, max_latency_ms, total_latency_ms;
    int64_t uptime_ms;
    int32_t tick_time;
    int32_t min_session_timeout, max_session_timeout;
    int32_t server_id;
};

/*
 * What the monitoring commands show of this server's part in an ensemble
 * (corral_core.peer_info, ABI 3.2).  One sized struct that only grows at its
 * end, like the tables: the caller zeroes it and sets size to sizeof the
 * struct as its headers define it; the core fills the members that fit in
 * that size and no byte beyond it, so a module built against an older,
 * shorter struct gets what it knows of and one built against a newer core
 * finds the members this core lacks still 0.
 */
struct corral_peer_info {
    size_t size;                /* set by the caller: sizeof(struct corral_peer_info) */
    int member;                 /* 1: an ensemble member; 0: standalone (the rest is 0) */
    int state;                  /* enum corral_peer_state (LOOKING between roles) */
    const char *mode;           /* "standalone", "leader", "follower", "observer", "read-only"
                                 * (looking, serving read-only clients); NULL while looking */
    int serving;                /* clients are served (standalone: always; a member: synced);
                                 * 2: read-only clients only (readonlymode.enabled) */
    int64_t my_id;              /* dataDir/myid (0 standalone) */
    int64_t leader_sid;         /* the leader this server follows or is; 0 while looking */
    int64_t election_epoch;     /* the epoch of the vote the last election decided on */
    int64_t epoch;              /* the epoch the role established (0 until it has) */
    int64_t role_uptime_ms;     /* since the role started (ZooKeeper's leader_uptime); 0 looking */
    int quorum_size;            /* voting members (ZooKeeper's quorum_size) */
    /* a leader's figures (0 elsewhere), as ZooKeeper's mntr names them */
    int learners;               /* zk_learners: learner connections */
    int synced_followers;       /* zk_synced_followers */
    int synced_non_voting_followers;
    int synced_observers;       /* zk_synced_observers */
    int pending_syncs;          /* zk_pending_syncs: learners in the sync phase */
    int64_t last_proposed;      /* the newest zxid proposed */
    /* zk_last/min/max_proposal_size: bytes of a proposal; -1 when none was measured */
    int64_t proposal_size_last, proposal_size_min, proposal_size_max;
};

/*
 * A configuration key a module owns, e.g. "clientPort" for the ZooKeeper
 * transport or "storage.file.preAllocSize".  Keys are matched exactly; a
 * trailing '*' matches any suffix ("server.*").
 */
struct corral_config_key {
    const char *name;
    const char *help;
};

/*
 * Hooks (for plugins).  A plugin registers callbacks by kind, each with an
 * optional path glob (fnmatch(3) without FNM_PATHNAME: a '*' also matches '/', so
 * "/config/" followed by '*' covers
 * every node below /config; NULL covers every path).  With no hooks
 * registered the write path pays one pointer test.
 *
 * before_write: called on the leader before a client write is prepped, once
 *   per operation whose path matches (each member of a multi).  Return
 *   CORRAL_OK to let it go on, or a ZooKeeper error code to reject the whole
 *   request with it.  To add operations that commit atomically with the
 *   request (a trigger), store a malloc'd array of requests in *extra and its
 *   length in *n_extra (create/delete/setData/check; the core frees them).
 * after_commit: called on every server after a txn is applied; read-only
 *   (writes in answer to one: see in_charge).
 * session: called when a session is opened (opened=1) or ends (0).
 * watch: called before an event is delivered to a session; return 1 to
 *   deliver it, 0 to drop it.
 */
typedef int (*corral_before_write_fn)(void *arg, int64_t session_id,
                                      const struct corral_request *op,
                                      struct corral_request **extra, int32_t *n_extra);
typedef void (*corral_after_commit_fn)(void *arg, const struct corral_txn *txn);
typedef void (*corral_session_fn)(void *arg, int64_t session_id, int opened);
typedef int (*corral_watch_fn)(void *arg, int64_t session_id, const struct corral_watch_event *ev);

/*
 * The core's function table, handed to every module at init.
 * Everything here runs on the event-loop thread unless said otherwise.
 */
struct corral_core {
    uint32_t abi_version;       /* the core's CORRAL_ABI_VERSION */
    size_t size;                /* sizeof(struct corral_core) in the core */

    /* Logging; `who` is the module name.  Safe from any thread. */
    void (*log)(int level, const char *who, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Configuration.  config_get returns the raw value or NULL. */
    const char *(*config_get)(const char *key);
    /*
     * Integer/boolean lookups: return 0 and store the value (def when absent);
     * on a bad value, log an error naming file, line and key and return -1.
     */
    int (*config_int)(const char *key, long long def, long long min,
                      long long max, long long *out);
    int (*config_bool)(const char *key, int def, int *out);
    /* Call fn for every key=value in the config, in file order. */
    void (*config_each)(void (*fn)(void *arg, const char *key, const char *value),
                        void *arg);

    /* The libev loop the core runs; modules add their watchers to it. */
    struct ev_loop *loop;

    /* Milliseconds since the epoch, as the core stamps txns. */
    int64_t (*now_ms)(void);

    /* --- for transports --- */
    struct corral_session *(*session_connect)(const struct corral_connect_params *p,
                                              const struct corral_conn_ops *ops,
                                              void *conn);
    void (*session_submit)(struct corral_session *s, struct corral_request *req);
    /* The connection is gone; the session lives on until it times out. */
    void (*session_detach)(struct corral_session *s);
    void (*session_info)(struct corral_session *s, struct corral_session_info *out);
    void (*server_stats)(struct corral_server_stats *out);
    void (*reset_stats)(void);
    /* `wchc`/`wchp`/`dump` listings: fn once per (session, path) watch. */
    void (*watch_each)(void (*fn)(void *arg, int64_t session_id, const char *path,
                                  int is_child_watch),
                       void *arg);
    /* `dump`: fn once per session with its ephemeral paths. */
    void (*ephemeral_each)(void (*fn)(void *arg, int64_t session_id, const char *path),
                           void *arg);
    const char *(*version_string)(void);

    /* --- for storage modules --- */
    /* Apply a recovered, durable txn to the tree (the one apply function);
     * recovery-only, see load_node below.  -1 when refused. */
    int (*apply_txn)(const struct corral_txn *txn);
    int64_t (*last_zxid)(void);

    /* Free a request (and its members) that the transport built but did not submit. */
    void (*request_free)(struct corral_request *req);

    /*
     * Recovery from a snapshot (only during storage recover()):
     * load_node puts a node into the tree exactly as it was, stat included;
     * parents come before children, "/" sets the root's own data/ACL/stat,
     * and the initial /zookeeper nodes are overwritten when the snapshot has
     * them.  The node's numChildren is derived, st->num_children is ignored.
     * st is ZooKeeper's *persisted* stat: cversion counts children created
     * (clients see 2 * cversion - numChildren), ephemeralOwner keeps the
     * container/TTL markers.  tree_walk below passes the same form.
     * load_session restores a session (a session table entry, no client; its
     * clock starts when the server takes charge).
     * set_last_zxid records the zxid the snapshot is complete up to.
     * Each returns 0, or -1 after logging why.
     *
     * These three and apply_txn are recovery-only: they work only for the
     * storage module and only while the core runs its recover() (the phase
     * in which the tree is being rebuilt: at start-up, and again each time
     * the core reloads its tree, CORRAL_STORAGE_RECOVER_AGAIN).  Called at any other time, or by
     * any other module, they change nothing, log why and return -1.
     */
    int (*load_node)(const char *path, const uint8_t *data, int32_t len,
                     const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st);
    int (*load_session)(int64_t session_id, int32_t timeout_ms);
    int (*set_last_zxid)(int64_t zxid);

    /*
     * Snapshot writing: visit every node, parents before children, starting
     * with "/".  Identical ACL lists are passed as the same pointer, so a
     * writer can number them (ZooKeeper's ACL cache) by address.  Stops early
     * when fn returns non-zero (returned).  Touches no loop state: safe in a
     * fork()ed child, which is how a snapshot avoids pausing the server.
     */
    int (*tree_walk)(int (*fn)(void *arg, const char *path, const uint8_t *data, int32_t len,
                               const struct corral_acl *acl, int32_t n_acl,
                               const struct corral_stat *st),
                     void *arg);
    /* Every session of the session table with its timeout, as the createSession
     * (or the snapshot loaded) has it: the snapshot's session table. */
    void (*session_each)(void (*fn)(void *arg, int64_t session_id, int32_t timeout_ms),
                         void *arg);

    /* --- for plugins --- */
    /* Register hooks (see above); 0 or -1.  `arg` identifies the registrant. */
    int (*hook_before_write)(const char *glob, corral_before_write_fn fn, void *arg);
    int (*hook_after_commit)(const char *glob, corral_after_commit_fn fn, void *arg);
    int (*hook_session)(corral_session_fn fn, void *arg);
    int (*hook_watch)(const char *glob, corral_watch_fn fn, void *arg);
    /* Unregister every hook registered with this arg (reload). */
    void (*hooks_remove)(void *arg);
    /*
     * Read the tree as committed.  node_get: CORRAL_OK or CORRAL_ENONODE; data
     * points into the tree and is valid until control returns to the loop.
     * node_children calls fn once per child name.
     */
    int (*node_get)(const char *path, const uint8_t **data, int32_t *len,
                    struct corral_stat *st);
    int (*node_children)(const char *path, void (*fn)(void *arg, const char *name), void *arg);
    /*
     * A write the server makes on its own behalf (no client, no reply), through
     * the normal write path: prepped, logged, replicated and applied like any
     * client write, after what is already queued.  The core takes req.
     */
    void (*submit_internal)(struct corral_request *req);

    /*
     * Ask the storage module for a snapshot now: CORRAL_OK when one started,
     * CORRAL_EUNIMPLEMENTED when the storage keeps none, CORRAL_ESYSTEMERROR
     * when it cannot now (e.g. one is still being written).
     */
    int (*snapshot_now)(void);
    /* Reload every plugin, as SIGHUP does (`corral reload`). */
    void (*reload_plugins)(void);

    /*
     * The largest txn, in bytes of ZooKeeper's encoding (TxnHeader + record),
     * that prep lets through: jute.maxbuffer + jute.maxbuffer.extrasize, the
     * length Apache ZooKeeper's log reader accepts.  A storage module must
     * read back any txn up to it, and should refuse to write a bigger one.
     */
    int64_t (*max_txn_bytes)(void);

    /*
     * For transports (ABI 2): the connection's output has drained after
     * backlogged() said 1 (call it whenever the output is fully written; it
     * does nothing unless the core holds something).  The core answers what
     * it held, in order, until the connection is backlogged again, and counts
     * the client's reading as a sign of life for its session's timeout.  It
     * may call any conn_ops callback, close() included, before returning.
     */
    void (*session_resume)(struct corral_session *s);

    /*
     * ABI 3.1, for plugins: whether this server is the one in charge, which
     * makes the writes nobody asked for (a standalone server while it
     * serves; in an ensemble the leader).  Only then does submit_internal
     * take a write: elsewhere it drops it with a log line.  after_commit
     * hooks run on every server, so a plugin that writes in answer to a
     * commit asks this first, or its write would be made once per server.
     * Check CORRAL_HAS(core, in_charge): an older core lacks it (and, being
     * standalone only, is always in charge).
     */
    int (*in_charge)(void);
    /*
     * --- for the election module (ABI 3.1) ---
     * quorum_view: the ensemble from zoo.cfg's server.N lines (quorum_view.h);
     * NULL on a standalone server.  quorum_has_majority: ZooKeeper's
     * QuorumMaj.containsQuorum over those sids (only voting members count).
     * last_logged_zxid / current_epoch: this server's initial vote (the
     * storage's newest logged zxid, its currentEpoch file).
     * election_decided: the module tells the core the peer state it moved to
     * (enum corral_peer_state): LEADING, FOLLOWING or OBSERVING with the
     * vote decided on (leader sid, its epoch and zxid), or LOOKING (leader -1)
     * when it starts a new election on its own.
     */
    const struct corral_quorum_view *(*quorum_view)(void);
    int (*quorum_has_majority)(const int64_t *sids, int n);
    int64_t (*last_logged_zxid)(void);
    int64_t (*current_epoch)(void);
    void (*election_decided)(int state, int64_t leader_sid, int64_t epoch, int64_t zxid);

    /*
     * ABI 3.2, for transports: this server's part in the ensemble
     * (struct corral_peer_info above), for srvr/mntr/conf and `corral
     * status`.  The caller sets info->size; the core fills what fits.
     * Check CORRAL_HAS(core, peer_info): an older core lacks it (and is
     * standalone only).
     */
    void (*peer_info)(struct corral_peer_info *info);
};

/*
 * ZooKeeper's ServerState, with its ordinals: what an election notification
 * carries as the sender's state.
 */
enum corral_peer_state {
    CORRAL_PEER_LOOKING = 0,
    CORRAL_PEER_FOLLOWING = 1,
    CORRAL_PEER_LEADING = 2,
    CORRAL_PEER_OBSERVING = 3,
};

/*
 * Election (ABI 3.1; one module, loaded on an ensemble member only).  The
 * module owns the election port; the core owns the peer state once an
 * election is decided.
 * start: open the election port and start looking (the first election).
 * stop: close everything (shutdown).
 * set_state: the core's peer state.  LOOKING starts a new election round
 *   (ZooKeeper's next lookForLeader, after the quorum code lost its leader or
 *   followers); any other state is what the module reports to peers that
 *   are looking.
 * set_vote_epoch: ZooKeeper's updateElectionVote: once synced, the vote the
 *   module reports to late joiners carries the new epoch.
 */
struct corral_election_ops {
    size_t size;                /* sizeof(struct corral_election_ops) */
    int (*start)(void);
    void (*stop)(void);
    void (*set_state)(int state);
    void (*set_vote_epoch)(int64_t epoch);
};
#define CORRAL_ELECTION_OPS_MIN CORRAL_SIZE_UPTO(struct corral_election_ops, set_state)

/* Plugins: started after the transports, stopped before them. */
struct corral_plugin_ops {
    size_t size;                /* sizeof(struct corral_plugin_ops) */
    int (*start)(void);
    void (*stop)(void);
    /* Re-read scripts/configuration (SIGHUP); 0 or -1 (old state kept). */
    int (*reload)(void);
};
#define CORRAL_PLUGIN_OPS_MIN CORRAL_SIZE_UPTO(struct corral_plugin_ops, stop)

struct corral_module {
    uint32_t abi_version;       /* CORRAL_ABI_VERSION the module was built against */
    size_t size;                /* sizeof(struct corral_module) */
    int kind;                   /* enum corral_module_kind */
    const char *name;           /* "zk", "mem", "world", ... */
    const char *version;        /* the module's own version */
    const struct corral_config_key *config_keys;  /* terminated by {NULL, NULL} */
    /* 0 on success; on failure log why and return -1 (the server will not start). */
    int (*init)(const struct corral_core *core);
    void (*fini)(void);
    const void *ops;            /* the kind's table: struct corral_transport_ops, ... */
};
#define CORRAL_MODULE_MIN CORRAL_SIZE_UPTO(struct corral_module, ops)

/* --- kind-specific tables --- */

struct corral_transport_ops {
    size_t size;                /* sizeof(struct corral_transport_ops) */
    /* Open listening sockets and start serving.  0 or -1 (logged). */
    int (*start)(void);
    /* Stop accepting and close connections (shutdown). */
    void (*stop)(void);
};
#define CORRAL_TRANSPORT_OPS_MIN CORRAL_SIZE_UPTO(struct corral_transport_ops, stop)

struct corral_storage_ops {
    size_t size;                /* sizeof(struct corral_storage_ops) */
    /*
     * Bring the tree up to the newest durable state, calling core->apply_txn
     * for every txn found.  Returns 0, or -1 after logging why.  Called once
     * at start-up; for a storage whose flags say CORRAL_STORAGE_RECOVER_AGAIN
     * also later, on a tree the core emptied first (after a truncate).
     */
    int (*recover)(void);
    /*
     * Make txn durable, then call done(arg, err) on the loop thread (err 0 on
     * success).  done may run before append returns (in-memory storage).
     * Many txns may be appended before the first is done (group commit); done
     * callbacks must come in append order.  The txn is only borrowed for the
     * duration of the call.
     */
    void (*append)(const struct corral_txn *txn,
                   void (*done)(void *arg, int err), void *arg);
    /*
     * Start a snapshot now, in the background (an operator asked).  0 when
     * started, -1 when not possible now (logged).  NULL: no snapshots.
     */
    int (*snapshot)(void);

    /*
     * For an ensemble's log sync (ZooKeeper's DIFF / TRUNC and its epoch
     * files).  Appended to the table, so a module built before them leaves
     * them NULL (or its table is too short for them: CORRAL_FN): such a storage can serve a standalone server only, and the
     * core must not offer it to an ensemble.  All run on the loop thread,
     * after recover().
     *
     * read_txns: call fn once per logged txn with zxid > after_zxid, in zxid
     * order, up to and including last_logged_zxid(): raw is the txn as
     * ZooKeeper encodes it (TxnHeader + record, what a PROPOSAL carries), t
     * the same decoded; both are borrowed for the call.  Read-only: it never
     * repairs anything (recovery does), and a log it cannot read whole is an
     * error, never a silent gap.  Safe while appends are in flight: it only
     * reads txns already durable.  fn returns non-zero to stop early.
     * Returns 0 (also when stopped early by fn), or -1 after logging why:
     * damage, or txns after after_zxid no longer kept (purged; the caller
     * sends a snapshot instead).
     */
    int (*read_txns)(int64_t after_zxid,
                     int (*fn)(void *arg, const uint8_t *raw, size_t len,
                               const struct corral_txn *t),
                     void *arg);
    /*
     * Drop every logged txn after zxid, durably, so that a restart recovers
     * exactly to zxid.  zxid must be a logged txn, or the point the log
     * starts from (the newest snapshot's zxid; 0 for a fresh log); anything
     * else, zxid before the newest snapshot included, is refused.  Only with
     * no append in flight.  The tree is not touched: the caller reloads it.
     * 0, or -1 after logging why (nothing changed then).
     */
    int (*truncate)(int64_t zxid);
    /* The zxid of the newest durable logged txn (after recover(): the newest
     * recovered), which a learner reports to its leader. */
    int64_t (*last_logged_zxid)(void);
    /*
     * Zab's two epochs (enum corral_epoch), kept as ZooKeeper's QuorumPeer
     * keeps acceptedEpoch / currentEpoch: plain getters and setters; the
     * core decides (core/epochs.c: after recover() it checks them as
     * ZooKeeper does and sets the ones never stored).  epoch_get returns 0
     * and *value, 1 when that epoch was never stored (a fresh directory), or
     * -1 after logging why (unreadable, not a number).  epoch_set is
     * durable when it returns 0; 0 or -1 after logging why.  A storage
     * without them (NULL, or a table too short: CORRAL_FN) keeps no epochs,
     * and the core skips the checks.
     */
    int (*epoch_get)(int which, int64_t *value);
    int (*epoch_set)(int which, int64_t value);

    /*
     * ABI 3.1: what this storage promises beyond the members above
     * (CORRAL_STORAGE_* bits; a table too short for it promises nothing).
     */
    uint32_t flags;

    /*
     * ABI 3.2: a learner's SNAP sync replaced the whole tree (the core's,
     * complete up to zxid, zxid == the core's last_zxid): make exactly that
     * tree what a restart recovers, and log afresh after it.  What is
     * logged or snapshotted here from before may be a history the leader
     * never had; replayed on top of the new tree it would resurrect txns
     * the ensemble does not hold, so none of it may stay.  Durable when it
     * returns 0; only with no append in flight; the next append is zxid's
     * successor.  0, or -1 after logging why (the core then drops the
     * sync).  NULL: the storage cannot take a SNAP sync (the learner
     * refuses it loudly).
     */
    int (*reset_to_tree)(int64_t zxid);
};
/*
 * recover() may run again in the same process, after the core emptied the
 * tree (core/db.c db_reload: a TRUNC, then the tree is reloaded): it
 * rebuilds the tree from what is durable then, as at start-up, and goes on
 * appending after it.  Only with no append in flight.
 */
#define CORRAL_STORAGE_RECOVER_AGAIN 0x1u
/* recover and append are required; snapshot and the sync members are not */
#define CORRAL_STORAGE_OPS_MIN CORRAL_SIZE_UPTO(struct corral_storage_ops, append)

/* The epochs of epoch_get/epoch_set. */
enum corral_epoch {
    CORRAL_EPOCH_ACCEPTED = 0,  /* the newest epoch this server accepted (NEWEPOCH) */
    CORRAL_EPOCH_CURRENT = 1,   /* the newest epoch it acknowledged as leader's (NEWLEADER) */
};

/*
 * Identities of this scheme pass every ACL check (ZooKeeper's "super").  The
 * core also offers such a module's authenticate() the bytes of every
 * successful addauth of another scheme, so "addauth digest super:secret"
 * can make a session superuser, as in ZooKeeper.
 */
#define CORRAL_AUTH_SUPERUSER 0x1
/* Every session holds this scheme's identity (world:anyone): whoAmI omits it. */
#define CORRAL_AUTH_UNIVERSAL 0x2

struct corral_auth_ops {
    size_t size;                /* sizeof(struct corral_auth_ops) */
    const char *scheme;         /* "world", "ip", "digest", ... */
    unsigned flags;
    /*
     * The identity a session of this scheme has just by connecting from
     * remote_addr (world: "anyone"; ip: the address), malloc'd, or NULL.
     */
    char *(*identify_connection)(const char *remote_addr);
    /*
     * `addauth scheme bytes`: on success store a malloc'd identity in *id_out
     * and return CORRAL_OK; otherwise return CORRAL_EAUTHFAILED.  NULL when
     * the scheme cannot be used with addauth.
     */
    int (*authenticate)(const uint8_t *auth, int32_t len, const char *remote_addr,
                        char **id_out);
    /* Does the session identity `id` satisfy the ACL id `acl_id`? */
    int (*matches)(const char *id, const char *acl_id);
    /* Is `acl_id` well formed for this scheme (create/setACL)? */
    int (*valid_id)(const char *acl_id);
    /*
     * How getACL shows `acl_id` to a session without ADMIN permission on the
     * node, malloc'd (digest: "user:x"); NULL member: shown as is.
     */
    char *(*redact_id)(const char *acl_id);
};
#define CORRAL_AUTH_OPS_MIN CORRAL_SIZE_UPTO(struct corral_auth_ops, valid_id)

#endif
