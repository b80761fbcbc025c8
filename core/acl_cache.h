/*
 * acl_cache.h — identical ACL lists stored once.
 *
 * Most znodes of a deployment share a handful of ACL lists (often just
 * world:anyone:cdrwa), so every node refers to a reference-counted, interned
 * list instead of owning a copy: by its 4-byte id (acl_cache_by_id), which
 * is half a pointer in every znode.  ZooKeeper's snapshot format stores ACLs the
 * same way (a table of lists, nodes refer to an index), which the file storage
 * module can use.
 */
#ifndef CORRAL_ACL_CACHE_H
#define CORRAL_ACL_CACHE_H

#include <uthash.h>
#include "corral/request.h"

struct acl_list {
    int32_t refs;
    int32_t n;
    uint32_t id;                /* never 0; stable while the list lives */
    struct corral_acl *acl;
    char *key;                  /* canonical text form, the interning key */
    UT_hash_handle hh;
};

/* Intern a copy of acl[0..n): returns a list with one more reference. */
struct acl_list *acl_cache_get(const struct corral_acl *acl, int32_t n);
void acl_list_ref(struct acl_list *l);
/* The live list with this id (from acl_cache_get's list->id). */
struct acl_list *acl_cache_by_id(uint32_t id);
void acl_list_unref(struct acl_list *l);
/* Number of distinct lists (for tests and stats). */
unsigned acl_cache_size(void);
void acl_cache_clear(void);

#endif
