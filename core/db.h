/*
 * db.h — the replicated database as a whole (db.c): the tree, the session
 * table and what is derived from them (ephemeral sets, the container/TTL
 * index, quota roots), plus the zxid they are complete up to.
 *
 * What an ensemble's sync does to a server's data at run time, as ZooKeeper's
 * ZKDatabase does it: clear it (a learner about to receive a SNAP), stream it
 * out in the SNAP form (a leader sending one), load such a stream (the
 * learner), reload it from storage (after a TRUNC).  Recovery at start-up
 * goes through the same loaders (db_load_node / db_load_session /
 * db_loaded), behind the module API's recovery-only gate (core_api.c).
 *
 * Each runs on the loop thread, and none while writes are in flight
 * (server.txns_in_flight): those txns' completions would apply to, and
 * answer from, a database that is no longer theirs.  The caller (the quorum
 * code) stops the write path first; these refuse otherwise.
 */
#ifndef CORRAL_DB_H
#define CORRAL_DB_H

#include <stdint.h>
#include "corral/zk_snapshot.h"

/* Run the storage module's recover() as the one recovery phase; 0 or -1. */
int db_recover(void);
/* Whether that phase is on (the module API's recovery-only entries check it). */
int db_recovering(void);

/*
 * Empty the database back to what a fresh server starts with: the tree of
 * "/", /zookeeper, /zookeeper/quota and /zookeeper/config, no sessions,
 * ephemerals, containers, TTL nodes, quota roots or watches, last_zxid and
 * the zxid allocator at 0.  Every client connection is closed first
 * (db_drop_sessions): a server whose data is replaced is not serving, as a
 * ZooKeeper learner that re-syncs drops its clients, who reconnect elsewhere.
 * 0, or -1 (logged, nothing changed) while writes are in flight.
 */
int db_clear(void);

/*
 * Close every client connection (reason ConnectionLoss: the session is not
 * closed, the client may resume it elsewhere), free every session of the
 * table and the server's own queued writes.  The one place that knows how
 * sessions and connections are held, for db_clear (which checks first that
 * no write is in flight).  Plugins' session hooks are not told: no session
 * is closed in the replicated sense, the table is only replaced.
 */
void db_drop_sessions(void);
/*
 * The first half of it: close every client connection (ConnectionLoss) and
 * free every local client and the server's own queued writes, keeping the
 * session table (a member that stops serving: its sessions live on in the
 * ensemble).  Returns how many connections were closed.  Only with no
 * write in flight, as db_clear.
 */
int db_drop_clients(void);
/* Close every client connection (ConnectionLoss), keeping the local clients; how many. */
int db_close_connections(void);

/*
 * The snapshot body as a leader streams it in a SNAP sync (sessions, ACL
 * cache, nodes, "/"), then the string "BenWasHere", from the live tree:
 * write(arg, p, len) takes every byte (0) or fails (-1).  It runs to the end
 * on the loop thread, so what it writes is the database exactly at
 * *zxid_out (the last applied zxid).  *digest_out (may be NULL) gets
 * ZooKeeper's tree digest of what was written.  0, or -1 (logged).
 */
int db_snapshot_write_to(int (*write)(void *arg, const uint8_t *p, size_t len), void *arg,
                         int64_t *zxid_out, int64_t *digest_out);
/* The same into a file descriptor (a socket, a pipe, a file). */
int db_snapshot_write(int fd, int64_t *zxid_out);

/* Where db_snapshot_load reads from. */
struct db_source {
    zk_snap_read_fn read;       /* as zk_snap_stream's */
    void *arg;
    /* Optional: the bytes read past the signature (what follows it on a
     * socket), handed back once the load succeeded. */
    void (*rest)(void *arg, const uint8_t *p, size_t len);
};

/*
 * A SNAP sync's stream: clear the database, then read the body in chunks
 * (never holding more of it than its longest record), loading sessions and
 * nodes as they come and rebuilding the ephemeral sets, the container/TTL
 * index and the quota roots, then check the "BenWasHere" signature and set
 * last_zxid (and the allocator) to zxid, the SNAP packet's.
 *
 * Clear-and-fail-loudly: checking the whole body before loading any of it
 * would need all of it in memory or on disk first, so a stream that fails
 * a check (truncated, a bad length or path, a node before its parent, a
 * missing ACL, no signature) is found part way through the load.  Then the
 * error is logged with what and where, the database is cleared again (no
 * part of the stream stays) and -1 is returned: the server has an empty
 * tree at zxid 0, which is what a learner that must sync again has in
 * ZooKeeper too (its deserializeSnapshot cleared it first).  0 on success.
 */
int db_snapshot_load(const struct db_source *src, int64_t zxid);
/* The same from a file descriptor, read to where the signature ends. */
int db_snapshot_load_fd(int fd, int64_t zxid);

/*
 * What a TRUNC needs after the storage's truncate: db_clear, then the
 * storage's recover() again, as at start-up (the recovery phase, core_api.c),
 * so the tree is exactly what storage holds.  Restored sessions' clocks
 * start now.  The storage module must say its recover() can run again
 * (CORRAL_STORAGE_RECOVER_AGAIN, corral/module.h); else -1 and nothing is
 * cleared.  On a failed recover the database is cleared again and -1
 * returned (logged).  What main does after the first recovery (epochs,
 * orphaned ephemerals, opening the allocator in an epoch) is the caller's:
 * the allocator is left continuing after last_zxid.
 */
int db_reload(void);

/* ZooKeeper's digest of the live tree (the sum of zk_node_digest over its nodes). */
int64_t db_digest(void);

/*
 * The loaders and walkers of the database, in the shapes of corral_core's
 * load_node / load_session / set_last_zxid / tree_walk / session_each
 * (corral/module.h), which forward to them during the recovery phase.
 * db_loaded is the end of a snapshot load: last_zxid, then the quota roots
 * (ZooKeeper's setupQuota).
 */
int db_load_node(const char *path, const uint8_t *data, int32_t len,
                 const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st);
int db_load_session(int64_t id, int32_t timeout_ms);
int db_loaded(int64_t zxid);
int db_tree_walk(zk_snap_node_fn fn, void *arg);
void db_session_each(void (*fn)(void *arg, int64_t session_id, int32_t timeout_ms), void *arg);

#endif
