/*
 * leader_requests.h — what a leader does with its learners' client traffic
 * (quorum/leader_requests.c): the writes they forward (REQUEST), their
 * clients' syncs (REQUEST type sync, answered with SYNC), the touches in
 * their PING replies, and the sessions their clients move to them
 * (REVALIDATE).  ZK-QUORUM-PROTOCOL.md §2.8-§2.11.
 *
 * The leader role (quorum/leader.c) starts it once it leads, hands it those
 * packets from each synced learner, says when a learner's connection is
 * gone, and stops it when the role ends.  Packets go out through the send
 * the role gives (to learner sid; qp is the caller's again when it returns;
 * 0, or -1 when that learner has no connection).
 */
#ifndef CORRAL_QUORUM_LEADER_REQUESTS_H
#define CORRAL_QUORUM_LEADER_REQUESTS_H

#include <stdint.h>
#include "corral/zk_quorum.h"

/* 0, or -1 (no send). */
int leader_requests_start(int (*send)(int64_t sid, const struct zk_quorum_packet *qp));
/* Pending SYNCs forgotten, forwarded writes that took no zxid dropped; nothing held after. */
void leader_requests_stop(void);
/*
 * A REQUEST, REVALIDATE or PING (reply) from learner sid.  0, or -1 when
 * ZooKeeper's LearnerHandler would end that learner's connection (data it
 * cannot read, a type that is not one of these): the caller drops it.
 */
int leader_requests_receive(int64_t sid, const struct zk_quorum_packet *qp);
/* Learner sid's connection is gone: its pending SYNCs go (its sessions live on). */
void leader_requests_learner_gone(int64_t sid);

#endif
