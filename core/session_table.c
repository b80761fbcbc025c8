/*
 * session_table.c — the replicated session table (see session_table.h for
 * what it is and who may change it).  A uthash keyed by session id, headed
 * in server.session_table so the whole committed state is in one place.
 */
#include <stdlib.h>
#include "server.h"

struct session_entry *session_table_find(int64_t id)
{
    struct session_entry *e;
    HASH_FIND(hh, server.session_table, &id, sizeof id, e);
    return e;
}

struct session_entry *session_table_add(int64_t id, int32_t timeout_ms)
{
    struct session_entry *e = session_table_find(id);
    if (e)
        return e;
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->id = id;
    e->timeout_ms = timeout_ms;
    HASH_ADD(hh, server.session_table, id, sizeof e->id, e);
    return e;
}

void session_table_remove(int64_t id)
{
    struct session_entry *e = session_table_find(id);
    if (!e)
        return;
    HASH_DEL(server.session_table, e);
    free(e);
}

int64_t session_table_count(void)
{
    return (int64_t)HASH_COUNT(server.session_table);
}

void session_table_clear(void)
{
    struct session_entry *e, *tmp;
    HASH_ITER(hh, server.session_table, e, tmp) {
        HASH_DEL(server.session_table, e);
        free(e);
    }
}
