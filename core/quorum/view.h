/*
 * view.h — the ensemble view from zoo.cfg (server.N, peerType), its string
 * form as ZooKeeper writes it, and the majority rule (QuorumMaj).
 *
 * Pure functions of a parsed config: no server state, so the unit test
 * (t/unit/quorum-view.c) runs them on config text directly.
 */
#ifndef CORRAL_QUORUM_VIEW_INTERNAL_H
#define CORRAL_QUORUM_VIEW_INTERNAL_H

#include "corral/quorum_view.h"
#include "config.h"

/*
 * Read every server.N line of cfg into *view (zeroed first).  0 with
 * view->n_members == 0 when there are none (a standalone config); 0 with the
 * view filled; -1 after logging, naming file, line and key, why a line is
 * refused (bad form, ports, duplicate sid, peerType, group.* / weight.*,
 * dynamicConfigFile, multiple addresses: the last three are "not supported
 * yet").  my_id is copied into the view; whether it is a member is the
 * caller's check (quorum_view_member).
 */
int quorum_view_parse(const struct config *cfg, int64_t my_id, struct corral_quorum_view *view);
void quorum_view_free(struct corral_quorum_view *view);

/* The member with this sid, or NULL. */
const struct corral_quorum_member *quorum_view_member(const struct corral_quorum_view *view,
                                                     int64_t sid);
/* Is sid a voting member (a participant)? */
int quorum_view_is_voter(const struct corral_quorum_view *view, int64_t sid);

/*
 * QuorumMaj.containsQuorum: do the distinct voting members among sids[0..n)
 * number more than half of the voting members?  Non-voters and unknown ids
 * do not count (ZooKeeper's SyncedLearnerTracker only acks voters).
 */
int quorum_view_has_majority(const struct corral_quorum_view *view, const int64_t *sids, int n);

#endif
