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
 *
 * The reader comes in two forms: over a body whole in memory (a mapped
 * snapshot file), and over a stream (a socket, a pipe) read in chunks, which
 * never holds more of the body than its longest record (zk_snap_stream).
 * Both decode and check the same way.
 */
#ifndef CORRAL_ZK_SNAPSHOT_H
#define CORRAL_ZK_SNAPSHOT_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
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

/*
 * A streamed body.  read(arg, buf, len) puts up to len bytes into buf and
 * returns how many, 0 at the end of the stream, -1 on error.  The stream
 * keeps a window of what it read and refills it record by record: it grows
 * only for a record longer than it, and never for one longer than
 * max_record bytes (a bad length is refused, not allocated).  It may read
 * ahead of what it has decoded: zk_snap_stream_unread gives those bytes back
 * (what follows the body on a socket).
 */
typedef ssize_t (*zk_snap_read_fn)(void *arg, uint8_t *buf, size_t len);

struct zk_snap_stream {
    zk_snap_read_fn read;
    void *arg;
    size_t max_record;
    struct jute_reader r;       /* the window: buf[0..r.len), decoded up to r.pos */
    uint8_t *buf;
    size_t cap;
    uint64_t offset;            /* where buf[0] is in the stream */
    int eof;
    const char *why;            /* why the stream could not give a record (NULL: it could) */
};

void zk_snap_stream_init(struct zk_snap_stream *s, zk_snap_read_fn read, void *arg,
                         size_t max_record);
void zk_snap_stream_free(struct zk_snap_stream *s);
/* zk_snap_body_read on a stream: same results, same checks. */
int zk_snap_body_read_stream(struct zk_snap_stream *s, const struct zk_snap_loader *ld,
                             int64_t *nodes, const char **why);
/* A jute string equal to want at the stream's cursor: 0; else 1 with *why. */
int zk_snap_stream_expect(struct zk_snap_stream *s, const char *want, const char **why);
/* How far into the stream the decoding is (for error messages). */
uint64_t zk_snap_stream_offset(const struct zk_snap_stream *s);
/* Bytes read from the stream but not decoded (valid until the next call on s). */
const uint8_t *zk_snap_stream_unread(const struct zk_snap_stream *s, size_t *len);

/* What ends a SNAP sync's body on the quorum port (LearnerHandler / Learner). */
#define ZK_SNAP_SIGNATURE "BenWasHere"

/* ZooKeeper's per-node digest (DigestCalculator, version 2); 0 below /zookeeper/. */
int64_t zk_node_digest(const char *path, const uint8_t *data, int32_t len,
                       const struct corral_stat *st);

#endif
