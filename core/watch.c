/*
 * watch.c — one-shot data and child watches.
 *
 * Two tables, like ZooKeeper's WatchManager: data watches (set by exists and
 * getData) and child watches (set by getChildren).  A watch belongs to a
 * session's current connection: detaching removes them (the client re-sends
 * what it still wants with setWatches when it reconnects).  Firing a watch
 * removes it and pushes the event to the session's connection immediately, so
 * the event is queued on that connection before the reply to the write that
 * fired it.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"

static struct watch_entry **table_of(int child)
{
    return child ? &server.child_watches : &server.data_watches;
}

static char *watch_key(const char *path, int child)
{
    size_t n = strlen(path);
    char *k = malloc(n + 2);
    if (!k)
        abort();
    k[0] = child ? 'c' : 'd';
    memcpy(k + 1, path, n + 1);
    return k;
}

void watch_add(struct session *s, const char *path, int child)
{
    struct watch_entry **table = table_of(child), *e;
    HASH_FIND_STR(*table, path, e);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e || !(e->path = strdup(path)))
            abort();
        HASH_ADD_KEYPTR(hh, *table, e->path, strlen(e->path), e);
    }
    for (int i = 0; i < e->n; i++)
        if (e->watchers[i] == s)
            return;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 2;
        e->watchers = realloc(e->watchers, (size_t)e->cap * sizeof *e->watchers);
        if (!e->watchers)
            abort();
    }
    e->watchers[e->n++] = s;
    server.watch_count++;
    struct session_watch *sw = calloc(1, sizeof *sw);
    if (!sw)
        abort();
    sw->key = watch_key(path, child);
    HASH_ADD_KEYPTR(hh, s->watches, sw->key, strlen(sw->key), sw);
}

static void entry_free(struct watch_entry **table, struct watch_entry *e)
{
    HASH_DEL(*table, e);
    free(e->watchers);
    free(e->path);
    free(e);
}

static void forget_session_watch(struct session *s, const char *path, int child)
{
    char *k = watch_key(path, child);
    struct session_watch *sw;
    HASH_FIND_STR(s->watches, k, sw);
    free(k);
    if (sw) {
        HASH_DEL(s->watches, sw);
        free(sw->key);
        free(sw);
    }
}

void watch_remove_session(struct session *s)
{
    struct session_watch *sw, *tmp;
    HASH_ITER(hh, s->watches, sw, tmp) {
        int child = sw->key[0] == 'c';
        struct watch_entry **table = table_of(child), *e;
        HASH_FIND_STR(*table, sw->key + 1, e);
        if (e) {
            for (int i = 0; i < e->n; i++)
                if (e->watchers[i] == s) {
                    e->watchers[i] = e->watchers[--e->n];
                    server.watch_count--;
                    break;
                }
            if (!e->n)
                entry_free(table, e);
        }
        HASH_DEL(s->watches, sw);
        free(sw->key);
        free(sw);
    }
}

static void deliver(struct session *s, const char *path, int32_t type)
{
    if (!s->ops)
        return;
    struct corral_watch_event ev = {type, CORRAL_STATE_SYNC_CONNECTED, path};
    s->ops->event(s->conn, &ev);
}

/*
 * Fire and remove the watches on `path` in one table.  Sessions already in
 * skip[] are not notified again (a delete fires both tables but a session
 * gets one event); notified sessions are appended to skip when it is given.
 */
void watch_trigger(const char *path, int32_t type, int child_table, struct session **skip,
                   int *n_skip)
{
    struct watch_entry **table = table_of(child_table), *e;
    HASH_FIND_STR(*table, path, e);
    if (!e)
        return;
    HASH_DEL(*table, e);
    for (int i = 0; i < e->n; i++) {
        struct session *s = e->watchers[i];
        server.watch_count--;
        forget_session_watch(s, path, child_table);
        int seen = 0;
        for (int j = 0; skip && j < *n_skip; j++)
            seen |= skip[j] == s;
        if (seen)
            continue;
        deliver(s, path, type);
        if (skip)
            skip[(*n_skip)++] = s;
    }
    free(e->watchers);
    free(e->path);
    free(e);
}

void watch_fire_created(const char *path)
{
    watch_trigger(path, CORRAL_EVENT_NODE_CREATED, 0, NULL, NULL);
}

void watch_fire_data_changed(const char *path)
{
    watch_trigger(path, CORRAL_EVENT_NODE_DATA_CHANGED, 0, NULL, NULL);
}

void watch_fire_children_changed(const char *parent_path)
{
    watch_trigger(parent_path, CORRAL_EVENT_NODE_CHILDREN_CHANGED, 1, NULL, NULL);
}

void watch_fire_deleted(const char *path)
{
    struct watch_entry *d, *c;
    HASH_FIND_STR(server.data_watches, path, d);
    HASH_FIND_STR(server.child_watches, path, c);
    int cap = (d ? d->n : 0) + (c ? c->n : 0), n = 0;
    if (!cap)
        return;
    struct session **skip = malloc((size_t)cap * sizeof *skip);
    if (!skip)
        abort();
    watch_trigger(path, CORRAL_EVENT_NODE_DELETED, 0, skip, &n);
    watch_trigger(path, CORRAL_EVENT_NODE_DELETED, 1, skip, &n);
    free(skip);
}
