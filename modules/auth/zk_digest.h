/*
 * zk_digest.h — ZooKeeper's digest identity of an `addauth digest` credential,
 * shared by the digest and super modules (compiled into each; not part of the
 * module ABI).  See zk_digest.c.
 */
#ifndef CORRAL_AUTH_ZK_DIGEST_H
#define CORRAL_AUTH_ZK_DIGEST_H

#include <stdint.h>

/*
 * "user:BASE64(SHA1(credential))", malloc'd, for any credential ZooKeeper
 * accepts (every byte string; user is what precedes the first ':', or all of
 * it); NULL for a null credential (len < 0) or out of memory.
 */
char *zk_digest_id(const uint8_t *cred, int32_t len);

#endif
