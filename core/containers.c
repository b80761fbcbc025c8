/*
 * containers.c — the index of container and TTL nodes: which nodes the
 * reaper (reaper.c) has to look at, so it need not walk the tree.
 *
 * Part of the committed state: apply adds a node when it creates a
 * container or TTL node and removes it when the node is deleted, recovery
 * when it loads one.  So every server keeps it, and a server that comes to
 * be in charge has it ready; only the reaper's timer is a duty.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"

static void path_set_add(struct ephemeral_path **set, const char *path)
{
    struct ephemeral_path *p;
    HASH_FIND_STR(*set, path, p);
    if (p)
        return;
    p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path)))
        abort();
    HASH_ADD_KEYPTR(hh, *set, p->path, strlen(p->path), p);
}

static void path_set_del(struct ephemeral_path **set, const char *path)
{
    struct ephemeral_path *p;
    HASH_FIND_STR(*set, path, p);
    if (p) {
        HASH_DEL(*set, p);
        free(p->path);
        free(p);
    }
}

void containers_track(const char *path, int64_t owner)
{
    if (znode_owner_is_container(owner))
        path_set_add(&server.containers, path);
    else if (znode_owner_is_ttl(owner))
        path_set_add(&server.ttl_nodes, path);
}

void containers_untrack(const char *path, int64_t owner)
{
    if (znode_owner_is_container(owner))
        path_set_del(&server.containers, path);
    else if (znode_owner_is_ttl(owner))
        path_set_del(&server.ttl_nodes, path);
}

/* Forget the index (shutdown, or a snapshot about to replace the state). */
void containers_clear(void)
{
    struct ephemeral_path *p, *tmp;
    for (int pass = 0; pass < 2; pass++) {
        struct ephemeral_path **set = pass ? &server.ttl_nodes : &server.containers;
        HASH_ITER(hh, *set, p, tmp) {
            HASH_DEL(*set, p);
            free(p->path);
            free(p);
        }
    }
}
