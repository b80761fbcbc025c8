/*
 * server.h — the one server: configuration, the tree, the session table and
 * the local clients, watches and the loaded modules.  A single global owned by the event-loop thread (like
 * Redis's `server`): no locks, because nothing else touches it.
 */
#ifndef CORRAL_SERVER_H
#define CORRAL_SERVER_H

#include <stdint.h>
#include <ev.h>
#include <uthash.h>
#include "corral/module.h"
#include "config.h"
#include "tree.h"
#include "clock.h"
#include "session_table.h"

struct session;
struct replicator;

/* One identity a session holds: "scheme:id", from connecting or from addauth. */
struct identity {
    char *scheme;
    char *id;
    int authenticated;          /* from addauth (counts for the "auth" ACL scheme) */
};

/* A watch registration as the session remembers it, for removal on detach. */
struct session_watch {
    char *key;                  /* kind byte ('d' or 'c') followed by the path */
    UT_hash_handle hh;
};

/*
 * What a learner's REQUEST brings besides the request, on the leader
 * (quorum/leader_requests.c): the learner it came from, which ZooKeeper's
 * prep checks against the session's owner, and the identities of the
 * client's connection there (the REQUEST's authinfo), which prep checks
 * ACLs with instead of the session's (prep_forwarded).
 */
struct forwarded {
    int64_t from;               /* the learner's server id */
    struct identity *ids;
    int n_ids;
};
void forwarded_free(struct forwarded *f);

/* A request waiting for its turn in a session's FIFO. */
struct pending {
    struct corral_request *req;
    struct pending *next;
    uint32_t conn_gen;          /* which connection of the session sent it */
    int64_t received_ms;
    int internal;               /* created by the server (session create/expiry close) */
    int in_flight;              /* a write prepped and handed to storage */
    struct forwarded *fwd;      /* a learner's write (the leader's); NULL: this server's client's */
};

/*
 * A session's local client (session.c): what serving a connected client
 * needs.  That the session exists is its session table entry
 * (session_table.h); when it expires, the tracker's (session_tracker.h).
 */
struct session {
    int64_t id;
    int32_t timeout_ms;         /* negotiated with the client connected now */
    uint8_t passwd[CORRAL_PASSWD_LEN];
    UT_hash_handle hh;          /* server.clients, keyed by id */

    const struct corral_conn_ops *ops;  /* NULL while no connection is attached */
    void *conn;
    uint32_t conn_gen;
    char *remote_addr;

    struct identity *ids;
    int n_ids;

    struct pending *head, *tail;        /* the FIFO of submitted requests */
    int queued_for_write;               /* on server.write_queue */
    struct session *write_next;
    int closing;                        /* close submitted or expired: no new work */
    int32_t close_reason;
    int held;                           /* a read waits for the connection's backlog (pipeline.c) */
    int local;                          /* read-only mode's: no txn made it, none ends it (readonly.c) */

    struct session_watch *watches;

    /* figures for cons/stat */
    int64_t requests, replies;
    int64_t last_zxid;
    int32_t last_op, last_xid;
    int64_t last_latency_ms, min_latency_ms, max_latency_ms, total_latency_ms;
};

/* Watch modes of one (session, path) in one table; see watch.c. */
#define WATCH_STANDARD 0x1u
#define WATCH_PERSISTENT 0x2u
#define WATCH_RECURSIVE 0x4u

/* A path's watchers: sessions registered on one path in one table. */
struct watch_entry {
    char *path;
    struct session **watchers;
    unsigned *modes;            /* parallel to watchers */
    int n, cap;
    UT_hash_handle hh;
};

/* An ephemeral node, in its owner's set (kept with the tree: apply maintains it). */
struct ephemeral_path {
    char *path;
    uint64_t seq;               /* ephemerals: when it was added (ephemeral.c) */
    UT_hash_handle hh;
};

struct ephemeral_owner {
    int64_t session_id;
    struct ephemeral_path *paths;
    uint32_t peak;              /* most paths held at once: ZooKeeper's set capacity */
    UT_hash_handle hh;
};

struct loaded_module {
    const struct corral_module *mod;
    void *handle;
    char *file;
    int started;
};

struct server {
    struct config cfg;
    struct ev_loop *loop;
    int64_t start_ms;

    /* settings */
    int32_t tick_time;
    int32_t min_session_timeout, max_session_timeout;
    int32_t server_id;          /* what `conf` reports: 0 standalone, as ZooKeeper */
    int64_t my_id;              /* dataDir/myid, 0 without one (main.c read_myid) */
    int skip_acl;
    int32_t max_reply;          /* jute.maxbuffer: longer replies are refused (replysize.c) */
    /* the largest txn that may be logged (txn_size.h): jute.maxbuffer + extrasize */
    int64_t max_txn_bytes;
    int64_t jute_max_buffer, jute_extra_size;

    /* state */
    struct tree tree;
    int64_t last_zxid;          /* last applied */
    int64_t next_zxid;          /* last assigned */
    struct ephemeral_owner *ephemerals;
    int64_t ephemeral_count;
    struct ephemeral_path *containers, *ttl_nodes;   /* see containers.c */

    struct session_entry *session_table;  /* replicated: see session_table.h */
    struct session *clients;            /* local clients (session.c), keyed by id */
    int64_t next_session_id;

    struct watch_entry *data_watches, *child_watches;
    int64_t watch_count;        /* (session, path, table) registrations */
    int64_t recursive_watches;

    /* the server's own session (id 0): writes it makes itself, no connection */
    struct session system_session;

    /* the write stage: sessions whose FIFO head is a write, in arrival order */
    struct session *write_head, *write_tail;
    int txns_in_flight;
    int max_txns_in_flight;     /* globalOutstandingLimit */
    int draining;
    const struct replicator *replicator;    /* the role's replicate step; NULL: standalone */
    /*
     * Clients are served (connections get sessions): a standalone server
     * from the start, an ensemble member while its role is synced with a
     * quorum (quorum/peer.c); SERVING_READ_ONLY: a member cut off from
     * its quorum, serving read-only clients (readonly.c).
     */
    int serving;

    /* modules */
    struct loaded_module *modules;
    int n_modules;
    const struct corral_storage_ops *storage;
    const struct corral_auth_ops **auth;
    int n_auth;

    /* stats */
    int64_t requests;
    int64_t outstanding;
    int64_t min_latency_ms, max_latency_ms, total_latency_ms;
};

/* server.serving */
enum { SERVING_NO = 0, SERVING_YES = 1, SERVING_READ_ONLY = 2 };

extern struct server server;
extern struct corral_core core_api;
/* The table module init() gets: the full one for storage; for any other kind
 * one whose recovery-only entries refuse (core_api.c). */
const struct corral_core *core_api_for(int kind);


/* local clients (session.c) */
struct session *session_find(int64_t id);
struct session *session_new(int64_t id, int32_t timeout_ms);
void session_free(struct session *s);
/* The write stage's queue (session.c keeps its links): push at the tail, remove from anywhere. */
void write_queue_push(struct session *s);
void write_queue_remove(struct session *s);
void session_drop_requests(struct session *s);
int session_release_if_idle(struct session *s);
void session_add_identity(struct session *s, const char *scheme, const char *id, int authenticated);
int32_t session_negotiate_timeout(int32_t requested);
void session_make_passwd(int64_t id, uint8_t out[CORRAL_PASSWD_LEN]);
int64_t session_initial_id(int32_t server_id, int64_t now);
int32_t session_tracker_id(void);

/* watches (watch.c) */
void watch_add(struct session *s, const char *path, int child, unsigned mode);
unsigned watch_remove(struct session *s, const char *path, int child, unsigned modes);
unsigned watch_modes(const struct session *s, const char *path, int child);
void watch_remove_session(struct session *s);
/* Fire watches for a change; acl is the node's (the parent's for children) and
 * decides who may see the event. */
void watch_fire_created(const char *path, const struct acl_list *acl);
void watch_fire_deleted(const char *path, const struct acl_list *acl);
void watch_fire_data_changed(const char *path, const struct acl_list *acl);
void watch_fire_children_changed(const char *parent_path, const struct acl_list *parent_acl);

/* ephemerals (ephemeral.c) */
void ephemeral_add(int64_t session_id, const char *path);
void ephemeral_remove(int64_t session_id, const char *path);
struct ephemeral_owner *ephemeral_find(int64_t session_id);
/* The owner's paths in ZooKeeper's order (malloc'd array of n; NULL when none). */
const char **ephemeral_ordered(const struct ephemeral_owner *o, int32_t *n);
/* Forget a session's ephemeral set (its closeSession applied). */
void ephemeral_drop_owner(int64_t session_id);
/* A change in flight that a closing session's list must see: path added to
 * the session's ephemerals (created, owned by it), or removed (deleted). */
struct ephemeral_change {
    const char *path;
    int added;
};
/* What a closeSession deletes, in ZooKeeper's order: the owner's paths
 * changed by ch (in the order they were made).  A malloc'd array of *n
 * strdup'd paths (never NULL). */
char **ephemeral_close_list(const struct ephemeral_owner *o, const struct ephemeral_change *ch,
                            int32_t n_ch, int32_t *n);

/* acl checks (acl.c) */
int acl_check(const struct session *s, const struct acl_list *acl, int32_t perm);
/* Validate and expand ("auth" scheme) an ACL from a request: CORRAL_OK or CORRAL_EINVALIDACL. */
int acl_fixup(const struct session *s, const struct corral_acl *in, int32_t n,
              struct corral_acl **out, int32_t *n_out);
void acl_free_list(struct corral_acl *acl, int32_t n);
const struct corral_auth_ops *auth_find(const char *scheme);

/* prep + apply (prep.c, apply.c) */
int prep_write(struct session *s, const struct corral_request *req, struct corral_txn *txn);
/* prep_write of a learner's write p (p->fwd): its identities, and its session checked first. */
int prep_forwarded(struct session *s, const struct pending *p, struct corral_txn *txn);
/* Txns up to zxid are applied: their changes leave prep's outstanding layer. */
void prep_applied(int64_t zxid);
void prep_start(int64_t epoch);
/* A zxid is epoch << 32 | counter (ZooKeeper's ZxidUtils). */
#define ZXID_EPOCH(z) ((int64_t)((uint64_t)(z) >> 32))
#define ZXID_MAKE(epoch, counter) ((int64_t)((uint64_t)(epoch) << 32 | (uint32_t)(counter)))
void txn_clear(struct corral_txn *txn);
/* The result of applying one (sub)txn, for building the reply. */
struct apply_result {
    int32_t op;
    int32_t err;
    char *path;                 /* create: the created path (malloc'd) */
    struct corral_stat stat;
};
int apply_txn(const struct corral_txn *txn, struct apply_result *res, struct apply_result **subs);
void apply_result_clear(struct apply_result *res, struct apply_result *subs, int n_subs);

/* the request pipeline (layers: pipeline_internal.h): entry points (pipeline.c, connect.c) */
struct session *pipeline_connect(const struct corral_connect_params *p,
                                 const struct corral_conn_ops *ops, void *conn);
void pipeline_submit(struct session *s, struct corral_request *req);
/* The transport let go of the session's connection. */
void pipeline_detach(struct session *s);
/* The connection's output drained (or the connection is gone): answer what was held. */
void pipeline_resume(struct session *s);
void pipeline_expire(struct session *s);
/* A write the server makes itself (container cleanup): no reply goes out. */
void pipeline_submit_internal(struct session *s, struct corral_request *req);
/*
 * A write a learner forwarded for session s, on the leader (s has no
 * connection for it: a proxy, quorum/leader_requests.c): queued and prepped
 * as the session's own client's would be, answered to no one here (the
 * learner answers its client when it applies the COMMIT).  Takes req and fwd.
 */
void pipeline_submit_forwarded(struct session *s, struct corral_request *req, struct forwarded *fwd);
/* The leader's role ends: forwarded writes not yet prepped are dropped (those in flight stay). */
void pipeline_drop_forwarded(void);

/* the container and TTL node index that apply keeps (containers.c) */
void containers_track(const char *path, int64_t owner);
void containers_untrack(const char *path, int64_t owner);
void containers_clear(void);
/* their cleanup, a duty of the server in charge (reaper.c) */
int reaper_start(void);
void reaper_stop(void);
void request_free(struct corral_request *req);
int is_write_op(int32_t op);

/* modules: loading (modules.c), running (modules_run.c) */
int modules_load(void);
void modules_unload(void);
int modules_start(void);
void modules_stop(void);
void modules_reload(void);

#endif
