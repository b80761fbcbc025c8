/*
 * quota.h — ZooKeeper's namespace quotas (DataTree's quota trie and
 * updateQuotaStat, ZooKeeperServer.checkQuota), kept by the core.
 *
 * A quota on /p is the pair of nodes /zookeeper/quota/p/zookeeper_limits
 * (what an operator set: StatsTrack text, "count=..,bytes=..[=;key=value]")
 * and /zookeeper/quota/p/zookeeper_stats (what the subtree holds now).  The
 * server keeps the stats node's data current on every create, delete and
 * setData under /p, in place: its version, mzxid and watches do not move, as
 * in ZooKeeper.  See quota.c for the exact rules.
 */
#ifndef CORRAL_QUOTA_H
#define CORRAL_QUOTA_H

#include <stdint.h>

/* apply.c: a node was created / is about to be removed / had its data set.
 * Lengths are data_len as the tree keeps it (-1: null, counted as 0). */
void quota_node_created(const char *path, int32_t data_len);
void quota_node_deleted(const char *path, int32_t data_len);
void quota_data_set(const char *path, int32_t old_len, int32_t new_len);

/*
 * The tree was loaded from a snapshot (before the log is replayed): forget
 * the quota roots and find them again under /zookeeper/quota, recomputing
 * each one's stats from the tree (ZooKeeper's DataTree.setupQuota).
 */
void quota_rebuild(void);

/*
 * prep.c: with zookeeper.enforceQuota on, CORRAL_EQUOTAEXCEEDED when a create
 * of `path` with data_len bytes, or a setData of `path` to data_len bytes,
 * would take its quota root past a hard limit (countHardLimit,
 * byteHardLimit); soft limits (count, bytes) are only logged.  0 otherwise.
 */
int quota_check_create(const char *path, int32_t data_len);
int quota_check_set(const char *path, int32_t data_len);

/* Free the quota roots (shutdown, tests). */
void quota_reset(void);

#endif
