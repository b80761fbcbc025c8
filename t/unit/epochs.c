/*
 * epochs.c — unit tests of the core's start-up rules for acceptedEpoch and
 * currentEpoch (core/epochs.c), against a fake storage that only keeps the
 * numbers: epochs never stored are set (currentEpoch to the last zxid's
 * epoch, acceptedEpoch to currentEpoch); valid ones ahead of the data are
 * kept; currentEpoch behind the data or acceptedEpoch below currentEpoch
 * refuse; a read error refuses; a storage whose table ends before the
 * epoch calls is skipped without being called.
 */
#include <stddef.h>
#include <string.h>
#include "tap.h"
#include "epochs.h"
#include "server.h"

static struct {
    int stored[2];
    int64_t value[2];
    int fail_get;               /* epoch_get returns -1 */
    int gets, sets;
} fake;

static int fake_get(int which, int64_t *value)
{
    fake.gets++;
    if (fake.fail_get)
        return -1;
    if (!fake.stored[which])
        return 1;
    *value = fake.value[which];
    return 0;
}

static int fake_set(int which, int64_t value)
{
    fake.sets++;
    fake.stored[which] = 1;
    fake.value[which] = value;
    return 0;
}

static struct corral_storage_ops ops = {
    .size = sizeof(struct corral_storage_ops),
    .epoch_get = fake_get,
    .epoch_set = fake_set,
};

/* A fresh fake: each epoch -1 for never stored, else its value. */
static void reset(int64_t accepted, int64_t current)
{
    memset(&fake, 0, sizeof fake);
    fake.stored[CORRAL_EPOCH_ACCEPTED] = accepted >= 0;
    fake.value[CORRAL_EPOCH_ACCEPTED] = accepted;
    fake.stored[CORRAL_EPOCH_CURRENT] = current >= 0;
    fake.value[CORRAL_EPOCH_CURRENT] = current;
}

#define ACC fake.value[CORRAL_EPOCH_ACCEPTED]
#define CUR fake.value[CORRAL_EPOCH_CURRENT]

int main(void)
{
    reset(-1, -1);
    is_int(epochs_check(&ops, ZXID_MAKE(3, 7)), 0, "fresh: starts");
    ok(CUR == 3 && ACC == 3 && fake.sets == 2, "fresh: both set to the last zxid's epoch (%lld %lld)",
       (long long)ACC, (long long)CUR);

    reset(-1, -1);
    is_int(epochs_check(&ops, 0), 0, "fresh, empty data: starts");
    ok(CUR == 0 && ACC == 0, "fresh, empty data: both 0");

    reset(-1, 5);
    is_int(epochs_check(&ops, ZXID_MAKE(3, 1)), 0, "acceptedEpoch missing, currentEpoch ahead: starts");
    ok(CUR == 5 && ACC == 5 && fake.sets == 1, "acceptedEpoch set to currentEpoch, which is kept");

    reset(4, -1);
    is_int(epochs_check(&ops, ZXID_MAKE(2, 1)), 0, "currentEpoch missing: starts");
    ok(CUR == 2 && ACC == 4 && fake.sets == 1, "currentEpoch set to the zxid's epoch, acceptedEpoch kept");

    reset(2, 2);
    is_int(epochs_check(&ops, ZXID_MAKE(1, 9)), 0, "valid epochs ahead of the data: starts");
    ok(CUR == 2 && ACC == 2 && fake.sets == 0, "valid epochs are kept, nothing written");

    reset(3, 3);
    is_int(epochs_check(&ops, ZXID_MAKE(3, 9)), 0, "epochs equal to the data's: starts");

    reset(5, 1);
    is_int(epochs_check(&ops, ZXID_MAKE(2, 1)), -1, "currentEpoch older than the last zxid's: refused");
    is_int(fake.sets, 0, "a refusal writes nothing");

    reset(1, 2);
    is_int(epochs_check(&ops, ZXID_MAKE(2, 1)), -1, "acceptedEpoch below currentEpoch: refused");
    is_int(fake.sets, 0, "a refusal writes nothing");

    reset(-1, -1);
    fake.fail_get = 1;
    is_int(epochs_check(&ops, 0), -1, "an epoch the storage cannot read: refused");
    is_int(fake.sets, 0, "nothing written over an unreadable epoch");

    /* a storage built before the epoch calls: its table ends at last_logged_zxid */
    struct corral_storage_ops older = ops;
    older.size = offsetof(struct corral_storage_ops, epoch_get);
    reset(1, 2);
    is_int(epochs_check(&older, ZXID_MAKE(9, 1)), 0, "a storage without epoch calls: no checks");
    ok(fake.gets == 0 && fake.sets == 0, "its epoch members past the table's end are never called");

    struct corral_storage_ops unset = ops;
    unset.epoch_get = NULL;
    unset.epoch_set = NULL;
    reset(1, 2);
    is_int(epochs_check(&unset, ZXID_MAKE(9, 1)), 0, "a storage with NULL epoch calls: no checks");
    return done_testing();
}
