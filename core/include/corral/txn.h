/*
 * txn.h — a transaction: the unit that is logged, replicated and applied.
 *
 * Every change to the data tree is first turned into a txn by the core's prep
 * stage (on the leader), made durable by the storage module, and then applied
 * by the core's one apply function.  Recovery replays txns through the same
 * function, so a txn must carry everything apply needs: no clocks, no random
 * numbers, no lookups of anything that is not in the tree.
 *
 * The fields mirror ZooKeeper's TxnHeader plus the union of its txn records
 * (CreateTxn, DeleteTxn, SetDataTxn, SetACLTxn, CheckVersionTxn, ErrorTxn,
 * CreateSessionTxn, CreateContainerTxn, CreateTTLTxn, MultiTxn) so a storage
 * module can write ZooKeeper's own log format from it.
 */
#ifndef CORRAL_TXN_H
#define CORRAL_TXN_H

#include <stdint.h>
#include "corral/request.h"

struct corral_txn {
    /* TxnHeader */
    int64_t session_id;  /* clientId */
    int32_t cxid;
    int64_t zxid;
    int64_t time;        /* milliseconds since the epoch, taken at prep */
    int32_t type;        /* enum corral_op; CORRAL_OP_ERROR for ErrorTxn */

    /* record, by type */
    char *path;
    uint8_t *data;
    int32_t data_len;
    struct corral_acl *acl;
    int32_t n_acl;
    int ephemeral;              /* create: owned by session_id */
    int32_t parent_cversion;    /* create*: the parent's cversion after it */
    int32_t version;            /* setData/setACL/check: the new/expected version */
    int64_t ttl;                /* createTTL */
    int32_t timeout;            /* createSession */
    int32_t err;                /* error txn */

    struct corral_txn *subs;    /* multi: member txns (their headers unused) */
    int32_t n_subs;

    /*
     * closeSession: the ephemeral paths it deletes (CloseSessionTxn's
     * paths2Delete), in the order their deletes fire events; prep decides
     * them (the session's applied ephemerals and its creates in flight).
     * n_close_paths -1 is the bodiless form, ZooKeeper's older one: no list,
     * apply deletes what the tree says the session owns.  Prep uses it when
     * the list would pass the txn limit.
     */
    char **close_paths;
    int32_t n_close_paths;
};

#endif
