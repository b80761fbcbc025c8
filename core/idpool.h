/*
 * idpool.h — small integer ids for pointers.
 *
 * A znode refers to its ACL list, its owner and its children table by a
 * 4-byte id instead of an 8-byte pointer (issue 5: a million znodes must
 * cost a fifth of what they cost in ZooKeeper, and every byte of the node
 * header counts a million times).  An id pool hands out ids from 1 up
 * (0 means "none"), reuses freed ids first, and maps an id back to its
 * pointer with one array read.
 */
#ifndef CORRAL_IDPOOL_H
#define CORRAL_IDPOOL_H

#include <stdint.h>

struct id_pool {
    void **items;               /* items[id]; items[0] unused */
    uint32_t n, cap;            /* ids handed out so far + 1, slots of items */
    uint32_t *free_ids;         /* released ids, reused last-in first-out */
    uint32_t n_free, free_cap;
};

/* An id for item (never 0); 0 when out of memory. */
uint32_t id_pool_put(struct id_pool *p, void *item);
/* Point an existing id at another item (the item moved). */
static inline void id_pool_set(struct id_pool *p, uint32_t id, void *item) { p->items[id] = item; }
static inline void *id_pool_get(const struct id_pool *p, uint32_t id) { return p->items[id]; }
/* Give id back; its slot is reused by a later put. */
void id_pool_drop(struct id_pool *p, uint32_t id);
/* Free the pool's arrays (not the items). */
void id_pool_clear(struct id_pool *p);

#endif
