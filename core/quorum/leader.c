/*
 * leader.c — the leader role (Zab discovery and sync on the leader's side,
 * ZK-QUORUM-PROTOCOL.md §2.3-§2.6, then quorum/broadcast.c).
 *
 * Not written yet: starting it logs so, and the member stays in the role
 * without serving clients, as elected members did before.
 */
#include "log.h"
#include "quorum/peer.h"

static int leader_start(int64_t leader_sid, int64_t election_epoch)
{
    (void)leader_sid, (void)election_epoch;
    log_warn("peer: the leader role is not implemented yet");
    return 0;
}

static void leader_stop(void) {}

const struct peer_role peer_role_leader = {"leader", leader_start, leader_stop, NULL};
