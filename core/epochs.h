/*
 * epochs.h — Zab's acceptedEpoch / currentEpoch, checked at start.
 */
#ifndef CORRAL_EPOCHS_H
#define CORRAL_EPOCHS_H

#include <stdint.h>
#include "corral/module.h"

/* Check the storage's epochs against last_zxid (the recovered one) and set
 * those never stored; see epochs.c.  0, or -1 after logging why. */
int epochs_check(const struct corral_storage_ops *storage, int64_t last_zxid);

#endif
