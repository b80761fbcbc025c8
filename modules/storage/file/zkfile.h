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
 *   format.c    txn <-> bytes (TxnHeader + record), file names, checksums
 *   txnlog.c    the log writer thread (group commit) and the log reader
 *   snapshot.c  snapshot writer (run in a fork()ed child) and reader
 *   file.c      the module: configuration, recover(), append(), scheduling
 *               of snapshots and purges
 */
#ifndef CORRAL_ZKFILE_H
#define CORRAL_ZKFILE_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "corral/module.h"
#include "corral/jute.h"

#define ZK_LOG_MAGIC 0x5a4b4c47     /* "ZKLG" */
#define ZK_SNAP_MAGIC 0x5a4b534e    /* "ZKSN" */
#define ZK_FILE_VERSION 2
#define ZK_DIGEST_VERSION 2
#define ZK_LOG_HEADER_LEN 16        /* int magic, int version, long dbid */
/* An entry: long checksum, int length, the txn bytes, the byte 'B'. */
#define ZK_ENTRY_OVERHEAD 13
#define ZK_EOR 'B'
/* ZooKeeper's jute.maxbuffer default (0xfffff) plus room for headers. */
#define ZK_MAX_TXN_BYTES (64 * 1024 * 1024)

/* ZooKeeper's opcode for reconfig txns (a SetDataTxn of /zookeeper/config). */
#define ZK_OP_RECONFIG 16

extern const struct corral_core *zk_core;
/* Set in a fork()ed snapshot child: it must not take the core's log lock. */
extern int zk_log_quiet;
#define zk_log(level, ...) \
    do { \
        if (!zk_log_quiet) \
            zk_core->log(level, "file", __VA_ARGS__); \
    } while (0)

/* ---- format.c ---- */

/* Serialize TxnHeader + record (no digest) onto b.  0, or -1 for a type
 * that has no record format (logged). */
int zk_txn_encode(struct jute_buf *b, const struct corral_txn *t,
                  const char *const *close_paths, int32_t n_close_paths);
/* Decode one txn's bytes (a trailing TxnDigest is ignored).  0 or -1. */
int zk_txn_decode(const uint8_t *p, size_t len, struct corral_txn *t);
void zk_txn_free(struct corral_txn *t);
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

/* ---- txnlog.c ---- */

struct zk_log_config {
    const char *dir;            /* dataLogDir/version-2 */
    int64_t prealloc;           /* bytes */
    int force_sync;
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

/*
 * Replay: for each log file from `from` on, call fn for every txn whose zxid
 * is > after.  A torn entry at the end of the newest file is cut off (logged);
 * any other damage is an error naming the file and offset.  0 or -1.
 */
int zk_log_replay(const struct zk_file *logs, size_t n, int64_t after,
                  int (*fn)(void *arg, struct corral_txn *t), void *arg);

/* ---- snapshot.c ---- */

/* Write the whole tree and sessions to dir/snapshot.<zxid> (via a temp name,
 * fsync, rename).  0 or -1 (logged). */
int zk_snapshot_write(const char *dir, int64_t zxid, int with_digest);
/* Load a snapshot into the tree.  Returns 0; 1 if the file is not a valid
 * snapshot (nothing loaded; logged); -1 if it failed half way. */
int zk_snapshot_load(const char *path, int64_t *zxid_out);
/* ZooKeeper's per-node digest (DigestCalculator, version 2). */
int64_t zk_node_digest(const char *path, const uint8_t *data, int32_t len,
                       const struct corral_stat *st);

/* epoch.c: dataDir/myid (checked when present) and the currentEpoch /
 * acceptedEpoch files of the snapshot folder (checked, or written). */
int zk_check_myid(const char *data_dir);
int zk_check_epochs(const char *snap_dir, int64_t last_zxid);

#endif
