/*
 * ephemeral.c — which ephemeral nodes each session owns.
 *
 * Part of the data state (like ZooKeeper's DataTree.ephemerals), maintained
 * only by apply, so a closeSession txn removes exactly what the owner had on
 * every server and on recovery.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"

struct ephemeral_owner *ephemeral_find(int64_t session_id)
{
    struct ephemeral_owner *o;
    HASH_FIND(hh, server.ephemerals, &session_id, sizeof session_id, o);
    return o;
}

void ephemeral_add(int64_t session_id, const char *path)
{
    struct ephemeral_owner *o = ephemeral_find(session_id);
    if (!o) {
        o = calloc(1, sizeof *o);
        if (!o)
            abort();
        o->session_id = session_id;
        HASH_ADD(hh, server.ephemerals, session_id, sizeof o->session_id, o);
    }
    struct ephemeral_path *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path)))
        abort();
    HASH_ADD_KEYPTR(hh, o->paths, p->path, strlen(p->path), p);
    server.ephemeral_count++;
}

void ephemeral_remove(int64_t session_id, const char *path)
{
    struct ephemeral_owner *o = ephemeral_find(session_id);
    if (!o)
        return;
    struct ephemeral_path *p;
    HASH_FIND_STR(o->paths, path, p);
    if (p) {
        HASH_DEL(o->paths, p);
        free(p->path);
        free(p);
        server.ephemeral_count--;
    }
    if (!o->paths) {
        HASH_DEL(server.ephemerals, o);
        free(o);
    }
}
