/*
 * idpool.c — ids for pointers (see idpool.h for why).
 */
#include <stdlib.h>
#include <string.h>
#include "idpool.h"

uint32_t id_pool_put(struct id_pool *p, void *item)
{
    if (p->n_free) {
        uint32_t id = p->free_ids[--p->n_free];
        p->items[id] = item;
        return id;
    }
    if (!p->n)
        p->n = 1;                       /* id 0 is "none" */
    if (p->n == UINT32_MAX)
        return 0;
    if (p->n >= p->cap) {
        uint32_t cap = p->cap ? (p->cap > UINT32_MAX / 2 ? UINT32_MAX : p->cap * 2) : 16;
        void **v = realloc(p->items, (size_t)cap * sizeof *v);
        if (!v)
            return 0;
        p->items = v;
        p->cap = cap;
    }
    p->items[p->n] = item;
    return p->n++;
}

void id_pool_drop(struct id_pool *p, uint32_t id)
{
    p->items[id] = NULL;
    if (p->n_free == p->free_cap) {
        uint32_t cap = p->free_cap ? p->free_cap * 2 : 16;
        uint32_t *v = realloc(p->free_ids, (size_t)cap * sizeof *v);
        if (!v)
            return;                     /* the id is just not reused */
        p->free_ids = v;
        p->free_cap = cap;
    }
    p->free_ids[p->n_free++] = id;
}

void id_pool_clear(struct id_pool *p)
{
    free(p->items);
    free(p->free_ids);
    memset(p, 0, sizeof *p);
}
