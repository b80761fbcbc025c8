/*
 * learner.c — the follower and observer roles (Zab discovery and sync on
 * the learner's side, ZK-QUORUM-PROTOCOL.md §2.3-§2.6, then
 * quorum/broadcast.c).
 *
 * Not written yet: starting it logs so, and the member stays in the role
 * without serving clients, as elected members did before.
 */
#include "log.h"
#include "quorum/peer.h"

static int learner_start(int64_t leader_sid, int64_t election_epoch)
{
    (void)leader_sid, (void)election_epoch;
    log_warn("peer: the learner roles are not implemented yet");
    return 0;
}

static void learner_stop(void) {}

const struct peer_role peer_role_follower = {"follower", learner_start, learner_stop, NULL};
const struct peer_role peer_role_observer = {"observer", learner_start, learner_stop, NULL};
