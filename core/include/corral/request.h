/*
 * request.h — the core's protocol-neutral request and response.
 *
 * A transport decodes whatever its wire format is into a struct corral_request
 * and hands it to the core (corral_core.submit).  The core answers, strictly in
 * the order the session's requests were submitted, with a struct
 * corral_response passed to the connection's reply callback.
 *
 * Ownership: a submitted request belongs to the core from then on (the core
 * frees it with corral_request_free semantics: every pointer member was
 * malloc'd by the transport, or is NULL).  A response and everything it points
 * to belong to the core and are valid only for the duration of the reply
 * callback: the transport encodes it right there and keeps no pointers.
 */
#ifndef CORRAL_REQUEST_H
#define CORRAL_REQUEST_H

#include <stdint.h>
#include <stddef.h>

/* One ACL entry: permissions for an identity "scheme:id". */
struct corral_acl {
    int32_t perms;       /* enum corral_perm bits */
    char *scheme;
    char *id;
};

/* A znode's Stat, field for field as ZooKeeper's Stat record. */
struct corral_stat {
    int64_t czxid;
    int64_t mzxid;
    int64_t ctime;       /* milliseconds since the epoch */
    int64_t mtime;
    int32_t version;
    int32_t cversion;
    int32_t aversion;
    int64_t ephemeral_owner;
    int32_t data_length;
    int32_t num_children;
    int64_t pzxid;
};

/*
 * A request.  Which members are meaningful depends on op:
 *   create/create2/createContainer/createTTL: path, data, acl, flags, ttl
 *   delete, check:               path, version
 *   exists, getData, getChildren(2): path, watch
 *   setData:                     path, data, version
 *   getACL:                      path
 *   setACL:                      path, acl, version
 *   sync:                        path
 *   multi:                       ops[n_ops] (each a create/delete/setData/check)
 *   auth:                        scheme (in path), data = auth bytes
 *   multiRead:                   ops[n_ops] (each a getData/getChildren)
 *   addWatch:                    path, mode
 *   removeWatches, checkWatches: path, mode (watcher type)
 *   setWatches, setWatches2:     relative_zxid, watch_paths/n_watch_paths
 *   getEphemerals:               path (the prefix)
 *   getAllChildrenNumber:        path
 *   ping, closeSession, whoAmI:  nothing
 * An op the core does not know is answered with CORRAL_EUNIMPLEMENTED.
 */
struct corral_request {
    int32_t op;          /* enum corral_op */
    int32_t xid;         /* transport's correlation id, echoed in the response */
    char *path;
    uint8_t *data;       /* NULL with data_len -1 means "null buffer" */
    int32_t data_len;
    int32_t version;
    int32_t flags;       /* create mode */
    int64_t ttl;
    int watch;           /* set a one-shot watch (exists/getData/getChildren) */
    struct corral_acl *acl;
    int32_t n_acl;
    struct corral_request *ops;   /* multi, multiRead: the member operations */
    int32_t n_ops;

    /*
     * addWatch: mode (CORRAL_WATCH_MODE_*); removeWatches/checkWatches: the
     * watcher type (CORRAL_WATCHER_*).
     */
    int32_t mode;
    /*
     * setWatches/setWatches2: the zxid the client last saw, and the watches
     * it still holds, by kind (CORRAL_SETWATCH_*); NULL/0 for none.
     */
    int64_t relative_zxid;
    char **watch_paths[5];
    int32_t n_watch_paths[5];
    /*
     * The transport read op and xid but not the op's record (too short, a
     * bad length, an invalid multi member); every other member is empty.
     * The core answers CORRAL_EMARSHALLINGERROR in the session's order, as
     * ZooKeeper does, and keeps the connection; a write still takes a zxid
     * (ZooKeeper logs it as an error txn).
     */
    int malformed;
    /*
     * The path held a NUL, which a C string cannot; the transport read each
     * as U+0001 (a character no node name may hold).  ZooKeeper checks for a
     * NUL only in create, delete and exists (BadArguments); elsewhere such a
     * path is just a path no node has, as the stand-in makes it.
     */
    int path_had_nul;
};

/* addWatch modes (AddWatchMode). */
enum corral_watch_mode {
    CORRAL_WATCH_MODE_PERSISTENT = 0,
    CORRAL_WATCH_MODE_PERSISTENT_RECURSIVE = 1,
};

/* removeWatches/checkWatches watcher types (Watcher.WatcherType). */
enum corral_watcher_type {
    CORRAL_WATCHER_CHILDREN = 1,
    CORRAL_WATCHER_DATA = 2,
    CORRAL_WATCHER_ANY = 3,
};

/* Index into corral_request.watch_paths, in SetWatches2 field order. */
enum corral_setwatch_kind {
    CORRAL_SETWATCH_DATA = 0,
    CORRAL_SETWATCH_EXIST = 1,
    CORRAL_SETWATCH_CHILD = 2,
    CORRAL_SETWATCH_PERSISTENT = 3,
    CORRAL_SETWATCH_PERSISTENT_RECURSIVE = 4,
};

/* A watch notification pushed to a connection. */
struct corral_watch_event {
    int32_t type;        /* enum corral_event_type */
    int32_t state;       /* enum corral_keeper_state */
    const char *path;
};

/*
 * A response.  err is the ZooKeeper error code for the whole request; the
 * body members below are filled only when err == CORRAL_OK (for multi, see
 * results), according to op:
 *   create: path; create2: path + stat; exists/setData/setACL: stat;
 *   getData: data + stat; getChildren: children; getChildren2: children + stat;
 *   getACL: acl + stat; sync: path; multi: results[n_results], each of which
 *   has its own op and err (a failed multi reports every member: those before
 *   the failing one CORRAL_OK, the failing one its code, later ones
 *   CORRAL_ERUNTIMEINCONSISTENCY, as ZooKeeper does).
 */
struct corral_response {
    int32_t op;
    int32_t xid;
    int64_t zxid;        /* the server's last committed zxid at reply time */
    int32_t err;
    const char *path;
    const uint8_t *data;
    int32_t data_len;    /* -1: null buffer */
    struct corral_stat stat;
    const char *const *children;
    int32_t n_children;
    const struct corral_acl *acl;
    int32_t n_acl;
    const struct corral_response *results;
    int32_t n_results;
    /* getAllChildrenNumber: the count.  (getEphemerals answers in children;
     * whoAmI answers in acl, one entry per identity with perms 0: scheme and id.) */
    int32_t number;
};

#endif
