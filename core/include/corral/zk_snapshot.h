/*
 * zk_snapshot.h — the body of a ZooKeeper 3.8 snapshot (core/zk/snapshot_body.c):
 * what FileSnap writes between its file header and its checksum seal, and
 * what the leader streams to a learner in a SNAP sync (followed there by
 * "BenWasHere" instead of a seal):
 *
 *   int count, then count x {long sessionId, int timeout}
 *   ACL cache: int count, then count x {long index, vector<ACL>}
 *   nodes, parents first: {string path ("" for the root), buffer data,
 *     long acl index (-1: world:anyone:cdrwa), StatPersisted {czxid, mzxid,
 *     ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid}},
 *   ended by the path "/"
 *
 * Independent of files: the writer hands its bytes to a flush callback (a
 * file, a socket), the reader walks bytes it is given and stops after the
 * terminating "/", so the caller checks whatever follows (a seal, a digest,
 * a signature).  Neither touches the core: the tree and sessions come and go
 * through the callbacks, in the shapes of struct corral_core's tree_walk /
 * session_each / load_node / load_session (corral/module.h).
 */
#ifndef CORRAL_ZK_SNAPSHOT_H
#define CORRAL_ZK_SNAPSHOT_H

#include <stdint.h>
#include <stddef.h>
#include "corral/jute.h"
#include "corral/codes.h"
#include "corral/request.h"

/* A node as tree_walk passes it and load_node takes it (persisted stat). */
typedef int (*zk_snap_node_fn)(void *arg, const char *path, const uint8_t *data, int32_t len,
                               const struct corral_acl *acl, int32_t n_acl,
                               const struct corral_stat *st);

/* Where the writer reads the data from (core->tree_walk, core->session_each). */
struct zk_snap_source {
    int (*tree_walk)(zk_snap_node_fn fn, void *arg);
    void (*session_each)(void (*fn)(void *arg, int64_t session_id, int32_t timeout_ms),
                         void *arg);
};

/*
 * Append the body to b, calling flush(arg, b) whenever b holds a megabyte or
 * more and once at the end; flush must consume every byte of b (write them,
 * then jute_buf_reset) and return 0, or -1 to stop.  What b held before (a
 * file header) goes out with the first flush.  *digest gets ZooKeeper's tree
 * digest (the sum of zk_node_digest over the nodes).  0, or -1 (oom, a flush
 * or the walk failed).
 */
int zk_snap_body_write(const struct zk_snap_source *src, struct jute_buf *b,
                       int (*flush)(void *arg, struct jute_buf *b), void *arg, int64_t *digest);

/* What the reader gives the data to; NULL callbacks: only check the bytes. */
struct zk_snap_loader {
    int (*session)(void *arg, int64_t session_id, int32_t timeout_ms);
    zk_snap_node_fn node;
    void *arg;
};

/*
 * Read a body at r's cursor, through the terminating "/" (r is left at what
 * follows).  Structure and ACL references are checked as it goes, so call
 * it once without callbacks to check a whole body before loading any of it.
 * 0 with *nodes counted; 1 when the bytes are not a valid body (*why says
 * what, r->pos is near where); -1 when a callback or an allocation failed.
 */
int zk_snap_body_read(struct jute_reader *r, const struct zk_snap_loader *ld, int64_t *nodes,
                      const char **why);

/* ZooKeeper's per-node digest (DigestCalculator, version 2); 0 below /zookeeper/. */
int64_t zk_node_digest(const char *path, const uint8_t *data, int32_t len,
                       const struct corral_stat *st);

#endif
