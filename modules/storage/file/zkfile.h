/*
 * zkfile.h — internals of the file storage module, shared by its parts.
 *
 * The module keeps Corral's data in Apache ZooKeeper 3.8's own on-disk
 * layout, so a data directory can move between the two servers:
 *
 *   dataLogDir/version-2/log.<zxid>       txn log files (zxid of the first txn, hex)
 *   dataDir/version-2/snapshot.<zxid>     snapshots (complete up to zxid, hex)
 *
 * The parts:
 *   format.c    log entry framing, file names, checksums
 *   logscan.c   the entries of a log file's bytes, and torn write or damage
 *   txnlog.c    the log writer thread (group commit) and the log reader
 *   snapshot.c  snapshot files: header and seals around libzk's body
 *               (writer run in a fork()ed child, reader)
 *   file.c      the module: configuration, recover(), append(), scheduling
 *               of snapshots and purges
 * The txn record and the snapshot body are ZooKeeper formats the quorum
 * code needs too: they are in libzk (corral/zk_txn.h, corral/zk_snapshot.h).
 */
#ifndef CORRAL_ZKFILE_H
#define CORRAL_ZKFILE_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "corral/module.h"
#include "corral/jute.h"
#include "corral/zk_txn.h"
#include "corral/zk_snapshot.h"

#define ZK_LOG_MAGIC 0x5a4b4c47     /* "ZKLG" */
#define ZK_SNAP_MAGIC 0x5a4b534e    /* "ZKSN" */
#define ZK_FILE_VERSION 2
#define ZK_DIGEST_VERSION 2
#define ZK_LOG_HEADER_LEN 16        /* int magic, int version, long dbid */
/* An entry: long checksum, int length, the txn bytes, the byte 'B'. */
#define ZK_ENTRY_OVERHEAD 13
#define ZK_EOR 'B'
/* Big-endian ints of a mapped file. */
static inline uint32_t zk_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t zk_be64(const uint8_t *p)
{
    return (uint64_t)zk_be32(p) << 32 | zk_be32(p + 4);
}

extern const struct corral_core *zk_core;
/* Set in a fork()ed snapshot child: it must not take the core's log lock. */
extern int zk_log_quiet;
#define zk_log(level, ...) \
    do { \
        if (!zk_log_quiet) \
            zk_core->log(level, "file", __VA_ARGS__); \
    } while (0)

/* ---- format.c ---- */

/* (zk_txn_encode / zk_txn_decode / zk_txn_free: corral/zk_txn.h, libzk) */
/* A txn as the log holds it (TxnHeader + record, never longer than max_txn).
 * Resets b.  0, or -1 with why saying why not (for the caller to log). */
int zk_txn_encode_logged(struct jute_buf *b, const struct corral_txn *t, int64_t max_txn,
                         char *why, size_t why_len);
/* Frame txn bytes as a log entry: checksum, length, bytes, 'B'. */
void zk_entry_frame(struct jute_buf *out, const uint8_t *txn, size_t len);
uint32_t zk_adler32(uint32_t adler, const uint8_t *p, size_t len);

/* "log." / "snapshot." + hex zxid: returns the zxid, or -1 if name is not one. */
int64_t zk_name_zxid(const char *name, const char *prefix);
/* Sorted (ascending zxid) list of the files with prefix in dir. */
struct zk_file {
    char *path;
    int64_t zxid;
};
int zk_list(const char *dir, const char *prefix, struct zk_file **out, size_t *n);
void zk_list_free(struct zk_file *files, size_t n);
/* mkdir -p; 0 or -1 (errno). */
int zk_mkdirs(const char *path);
int zk_fsync_dir(const char *dir);

/* ---- logscan.c ---- */

/* An entry of a txn log, as its bytes declare it. */
struct zk_entry {
    size_t off;                 /* where it starts */
    size_t end;                 /* where it ends as declared (at least off + 12, at most EOF) */
    const uint8_t *txn;         /* the txn bytes (ZK_ENTRY_OK only) */
    size_t len;
};
enum { ZK_ENTRY_OK, ZK_ENTRY_END, ZK_ENTRY_BAD };

/*
 * What starts at off in the size bytes of a log file (its header at 0):
 * ZK_ENTRY_OK, a framed entry whose length is within limit, checksum and
 * end-of-record byte good (not decoded); ZK_ENTRY_END, nothing but zeros
 * (preallocation) or EOF from off on; ZK_ENTRY_BAD, anything else, with
 * *what saying what is wrong.
 */
int zk_entry_at(const uint8_t *map, size_t size, size_t off, int64_t limit,
                struct zk_entry *e, const char **what);
/*
 * The first offset in (from, to) where a valid entry starts: good framing
 * within limit, a txn that decodes, with a zxid above after (*zxid).  -1
 * when there is none; -2 when the search ran out of *budget (bytes it may
 * checksum, decreased).
 */
int64_t zk_entry_find(const uint8_t *map, size_t size, size_t from, size_t to, int64_t limit,
                      int64_t after, int64_t *budget, int64_t *zxid);
int zk_all_zero(const uint8_t *p, size_t len);
/* Offset just past the last non-zero byte of [from, size), or from. */
size_t zk_data_end(const uint8_t *map, size_t size, size_t from);

/*
 * A bad entry (ZK_ENTRY_BAD at bad->off) in the newest log: is it a write
 * torn by a crash, which may be cut off, or damage?  Torn only when nothing
 * but zeros follows its declared end, it is not complete (all its bytes
 * and the end-of-record mark there, or its checksum matching some other
 * length: a damaged byte or length field), and no valid entry with a later
 * zxid than prev_zxid starts anywhere after it.  Linear in the bytes after
 * off.  Returns 1 for torn; 0 with why filled for damage.
 */
int zk_damage_is_torn(const uint8_t *map, size_t size, const struct zk_entry *bad, int64_t limit,
                      int64_t prev_zxid, char *why, size_t why_len);

/* ---- txnlog.c ---- */

struct zk_log_config {
    const char *dir;            /* dataLogDir/version-2 */
    int64_t prealloc;           /* bytes */
    int force_sync;
    int64_t last_zxid;          /* the newest txn recovered */
};

/* Start the writer thread.  0 or -1. */
int zk_log_start(const struct zk_log_config *cfg);
void zk_log_stop(void);
/* Queue a framed entry whose first txn has zxid; done(arg, err) comes later
 * on the loop thread, in queue order. */
void zk_log_append(const uint8_t *entry, size_t len, int64_t zxid,
                   void (*done)(void *, int), void *arg);
/* fork() at a moment the writer thread holds no allocator lock. */
pid_t zk_log_fork(void);
/* The entry queued next starts a new log file. */
void zk_log_roll(void);
/* The newest txn whose append is done (durable), or the newest recovered. */
int64_t zk_log_durable_zxid(void);
/* 1 when no append is in flight (every done callback called). */
int zk_log_idle(void);

/*
 * A txn the log readers found, borrowed for the call: its bytes (TxnHeader +
 * record, maybe a TxnDigest), decoded, and where its entry lies in which
 * file.  Returns 0 to go on, 1 to stop, -1 for an error.
 */
typedef int (*zk_txn_fn)(void *arg, const uint8_t *raw, size_t len, struct corral_txn *t,
                         const struct zk_file *file, size_t off, size_t end);

/*
 * Replay: for each log file from `from` on, call fn for every txn whose zxid
 * is > after.  Entries longer than limit (the core's txn limit) are damage.
 * A torn entry at the end of the newest file is cut off (logged); any other
 * damage is an error naming the file and offset.  0 or -1.
 */
int zk_log_replay(const struct zk_file *logs, size_t n, int64_t after, int64_t limit,
                  zk_txn_fn fn, void *arg);
/*
 * Read-only: call fn for every txn after `after` up to and including `upto`
 * (the newest durable one: bytes past it may be being written), reading no
 * further.  Any damage, a missing txn or a log that ends before upto is an
 * error (logged); nothing is ever cut or removed.  0 or -1.
 */
int zk_log_read(const struct zk_file *logs, size_t n, int64_t after, int64_t upto,
                int64_t limit, zk_txn_fn fn, void *arg);
/*
 * Drop every txn after zxid: remove the later log files (newest first) and
 * cut the one holding zxid just after its entry, each durably.  zxid must be
 * base (the newest snapshot's zxid) or a txn logged after it, and no append
 * may be in flight; else nothing changes.  The next append starts a new
 * file.  0 or -1 (logged).
 */
int zk_log_truncate(const struct zk_file *logs, size_t n, int64_t zxid, int64_t base,
                    int64_t limit);

/* ---- snapshot.c ---- */

/* Write the whole tree and sessions to dir/snapshot.<zxid> (via a temp name,
 * fsync, rename).  0 or -1 (logged). */
int zk_snapshot_write(const char *dir, int64_t zxid, int with_digest);
/* Load a snapshot into the tree.  Returns 0; 1 if the file is not a valid
 * snapshot (nothing loaded; logged); -1 if it failed half way. */
int zk_snapshot_load(const char *path, int64_t *zxid_out);

/* epoch.c: the currentEpoch / acceptedEpoch files of the snapshot folder.
 * dataDir/myid is the core's (main.c read_myid).  One epoch file (enum
 * corral_epoch), read or written atomically: get is 0, 1 (no such file) or
 * -1 (logged); set is 0 or -1 (logged). */
int zk_epoch_get(const char *snap_dir, int which, int64_t *value);
int zk_epoch_set(const char *snap_dir, int which, int64_t value);

#endif
