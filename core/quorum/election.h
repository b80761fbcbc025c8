/*
 * election.h — the core's side of leader election: whether this server is an
 * ensemble member, which election module to load, starting it, and what it
 * decided.  The election itself (ZooKeeper's FastLeaderElection) is a module;
 * see election.c for why the core keeps the rest.
 */
#ifndef CORRAL_QUORUM_ELECTION_H
#define CORRAL_QUORUM_ELECTION_H

#include <stdint.h>
#include "corral/module.h"
#include "corral/quorum_view.h"

/*
 * Read the ensemble view from the config (server.N lines, my id from
 * dataDir/myid) and decide whether this server is an ensemble member, as
 * ZooKeeper's QuorumPeerConfig decides it.  Before modules load (the election
 * module is loaded only for a member).  0, or -1 after logging why.
 */
int election_setup(void);
/* Is this server an ensemble member (an election module runs)? */
int election_is_ensemble(void);
/* module.election, or "fle". */
const char *election_module_name(void);
/* The loaded election module's table (modules.c). */
void election_set_ops(const struct corral_election_ops *ops);
/* Start the election (ensemble members only).  0, or -1 after logging why. */
int election_start(void);
void election_stop(void);
/* The quorum code lost its role: the module looks for a leader again. */
void election_look_again(void);
/* Synced in a new epoch: the vote shown to late joiners carries it (updateElectionVote). */
void election_set_vote_epoch(int64_t epoch);
/* Free the view (shutdown). */
void election_teardown(void);

/* The corral_core entries the election module calls (core_api.c). */
const struct corral_quorum_view *election_api_view(void);
int election_api_has_majority(const int64_t *sids, int n);
int64_t election_api_last_logged_zxid(void);
int64_t election_api_current_epoch(void);

#endif
