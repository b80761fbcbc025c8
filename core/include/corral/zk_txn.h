/*
 * zk_txn.h — ZooKeeper 3.8's txn record: TxnHeader + the record its type
 * calls for, to and from struct corral_txn (core/zk/txn.c).
 *
 * These are the bytes of a txn log entry (storage/file frames them), and the
 * data of the quorum's PROPOSAL packets, so they live in the shared libzk
 * rather than in one module: any storage module and the core's quorum code
 * must speak them alike.  Pure codec: no files, no logging, no state.
 */
#ifndef CORRAL_ZK_TXN_H
#define CORRAL_ZK_TXN_H

#include <stdint.h>
#include <stddef.h>
#include "corral/jute.h"
#include "corral/codes.h"
#include "corral/txn.h"

/* A TxnHeader: long clientId, int cxid, long zxid, long time, int type. */
#define ZK_TXN_HEADER_LEN 32

/* ZooKeeper's opcode for reconfig txns (a SetDataTxn of /zookeeper/config). */
#define ZK_OP_RECONFIG 16

/*
 * Serialize TxnHeader + record (no digest) onto b.  0, or -1 for a type
 * that has no record format or on oom (the caller says which: it knows the
 * txn).  A closeSession's close_paths are its CloseSessionTxn; with
 * n_close_paths -1 it has no record at all (ZooKeeper's reader takes the
 * tree's ephemerals then).
 */
int zk_txn_encode(struct jute_buf *b, const struct corral_txn *t);
/*
 * Decode one txn's bytes (a trailing TxnDigest, or anything else after the
 * record, is ignored).  0, or -1 with *t left empty.  A reconfig comes back
 * as the setData it is; a closeSession with its path list, or with
 * n_close_paths -1 when it has none.
 */
int zk_txn_decode(const uint8_t *p, size_t len, struct corral_txn *t);
/* Free what zk_txn_decode allocated in t (not t itself). */
void zk_txn_free(struct corral_txn *t);
/* Free a closeSession's list alone (n_close_paths becomes 0). */
void zk_txn_free_close_paths(struct corral_txn *t);

#endif
