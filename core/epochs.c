/*
 * epochs.c — the start-up rules for Zab's two epochs, acceptedEpoch and
 * currentEpoch, as ZooKeeper's QuorumPeer applies them when it loads its
 * database.  The storage module only keeps the numbers (epoch_get /
 * epoch_set); the decision is the core's, so every storage gets the same
 * rules and an ensemble member can trust what it reads later.
 *
 * A standalone server never changes the epochs (zxids carry on from the
 * recovered one, as in standalone ZooKeeper), but they are kept valid so the
 * data can join an ensemble:
 *  - one never stored is set: currentEpoch to the last zxid's epoch,
 *    acceptedEpoch to currentEpoch (ZooKeeper sets a missing acceptedEpoch to
 *    the zxid's epoch, and then refuses to start when currentEpoch was
 *    ahead of it; we write the value that passes the check instead);
 *  - currentEpoch older than the last zxid's epoch, or acceptedEpoch less
 *    than currentEpoch, refuses the start, naming both values (ZooKeeper
 *    does the same).
 * A storage without the epoch calls (CORRAL_FN is NULL) keeps no epochs: it
 * can serve only a standalone server, and there is nothing to check.
 */
#include <inttypes.h>
#include "epochs.h"
#include "log.h"
#include "server.h"

int epochs_check(const struct corral_storage_ops *storage, int64_t last_zxid)
{
    int (*get)(int, int64_t *) = CORRAL_FN(storage, epoch_get);
    int (*set)(int, int64_t) = CORRAL_FN(storage, epoch_set);
    if (!get || !set)
        return 0;
    int64_t zxid_epoch = ZXID_EPOCH(last_zxid), current, accepted;
    int r = get(CORRAL_EPOCH_CURRENT, &current);
    if (r < 0)
        return -1;
    if (r > 0) {
        current = zxid_epoch;
        if (set(CORRAL_EPOCH_CURRENT, current) < 0)
            return -1;
    } else if (current < zxid_epoch) {
        log_error("storage: currentEpoch: epoch %" PRId64 " is older than the last zxid 0x%" PRIx64
                  " (epoch %" PRId64 "); refusing to start", current, (uint64_t)last_zxid,
                  zxid_epoch);
        return -1;
    }
    r = get(CORRAL_EPOCH_ACCEPTED, &accepted);
    if (r < 0)
        return -1;
    if (r > 0)
        return set(CORRAL_EPOCH_ACCEPTED, current) < 0 ? -1 : 0;
    if (accepted < current) {
        log_error("storage: acceptedEpoch: epoch %" PRId64 " is less than currentEpoch %" PRId64
                  "; refusing to start", accepted, current);
        return -1;
    }
    return 0;
}
