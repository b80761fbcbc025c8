/*
 * txn_size.h — the size of a txn in ZooKeeper's encoding, and the limit on it.
 *
 * A txn is logged (and would be replicated) as ZooKeeper's TxnHeader followed
 * by its record.  Apache ZooKeeper's reader refuses any length field longer
 * than jute.maxbuffer + zookeeper.jute.maxbuffer.extrasize (BinaryInputArchive
 * checkLength), and so does Corral's (modules/storage/file).  Prep measures
 * every txn against that one limit before it goes to storage, so a txn that
 * was written can always be read back.
 */
#ifndef CORRAL_TXN_SIZE_H
#define CORRAL_TXN_SIZE_H

#include <stdint.h>
#include "corral/codes.h"
#include "corral/txn.h"

/* ZooKeeper 3.8's defaults: jute.maxbuffer 0xfffff, extrasize the same. */
#define TXN_LIMIT_DEFAULT (2 * 0xfffffLL)

/*
 * Bytes of TxnHeader + record, exactly as the file storage module encodes
 * them (t/unit/storage-file-format.c holds the two to each other).  A
 * closeSession counts without its list of ephemeral paths: storage can
 * always log it without one (ZooKeeper's reader accepts that form).
 */
int64_t txn_encoded_size(const struct corral_txn *t);

#endif
