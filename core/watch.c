/*
 * watch.c — data and child watches: one-shot, persistent and
 * persistent-recursive.
 *
 * Two tables, like ZooKeeper's WatchManager pair: data watches (exists,
 * getData, addWatch) and child watches (getChildren, addWatch PERSISTENT).
 * Each (session, path) in a table carries a set of modes:
 *   WATCH_STANDARD   one-shot: removed when it fires;
 *   WATCH_PERSISTENT fires on every event on the path, stays;
 *   WATCH_RECURSIVE  fires on every event on the path or any descendant
 *                    (data table only, so no NodeChildrenChanged), stays.
 * A watch belongs to the session's current connection: detaching removes
 * them all (the client re-sends what it holds with setWatches).  Firing pushes
 * the event to the connection at once, so it is queued before the reply to
 * the write that fired it.  Ancestors are only walked while some recursive
 * watch exists, so plain workloads pay nothing for the feature.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "hooks.h"

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

static int find_watcher(const struct watch_entry *e, const struct session *s)
{
    for (int i = 0; i < e->n; i++)
        if (e->watchers[i] == s)
            return i;
    return -1;
}

static void count_modes(unsigned modes, int sign)
{
    if (modes)
        server.watch_count += sign;
    if (modes & WATCH_RECURSIVE)
        server.recursive_watches += sign;
}

void watch_add(struct session *s, const char *path, int child, unsigned mode)
{
    struct watch_entry **table = table_of(child), *e;
    HASH_FIND_STR(*table, path, e);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e || !(e->path = strdup(path)))
            abort();
        HASH_ADD_KEYPTR(hh, *table, e->path, strlen(e->path), e);
    }
    int i = find_watcher(e, s);
    if (i < 0) {
        if (e->n == e->cap) {
            e->cap = e->cap ? e->cap * 2 : 2;
            e->watchers = realloc(e->watchers, (size_t)e->cap * sizeof *e->watchers);
            e->modes = realloc(e->modes, (size_t)e->cap * sizeof *e->modes);
            if (!e->watchers || !e->modes)
                abort();
        }
        i = e->n++;
        e->watchers[i] = s;
        e->modes[i] = 0;
        struct session_watch *sw = calloc(1, sizeof *sw);
        if (!sw)
            abort();
        sw->key = watch_key(path, child);
        HASH_ADD_KEYPTR(hh, s->watches, sw->key, strlen(sw->key), sw);
    }
    count_modes(e->modes[i], -1);
    e->modes[i] |= mode;
    count_modes(e->modes[i], +1);
}

static void entry_free(struct watch_entry **table, struct watch_entry *e)
{
    HASH_DEL(*table, e);
    free(e->watchers);
    free(e->modes);
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

/* Clear `modes` of s on path in one table; returns the modes that were set. */
static unsigned clear_modes(struct session *s, const char *path, int child, unsigned modes)
{
    struct watch_entry **table = table_of(child), *e;
    HASH_FIND_STR(*table, path, e);
    if (!e)
        return 0;
    int i = find_watcher(e, s);
    if (i < 0)
        return 0;
    unsigned had = e->modes[i] & modes;
    count_modes(e->modes[i], -1);
    e->modes[i] &= ~modes;
    count_modes(e->modes[i], +1);
    if (!e->modes[i]) {
        e->watchers[i] = e->watchers[e->n - 1];
        e->modes[i] = e->modes[e->n - 1];
        e->n--;
        forget_session_watch(s, path, child);
        if (!e->n)
            entry_free(table, e);
    }
    return had;
}

unsigned watch_remove(struct session *s, const char *path, int child, unsigned modes)
{
    return clear_modes(s, path, child, modes);
}

unsigned watch_modes(const struct session *s, const char *path, int child)
{
    struct watch_entry *e;
    HASH_FIND_STR(*table_of(child), path, e);
    if (!e)
        return 0;
    int i = find_watcher(e, s);
    return i < 0 ? 0 : e->modes[i];
}

void watch_remove_session(struct session *s)
{
    struct session_watch *sw, *tmp;
    HASH_ITER(hh, s->watches, sw, tmp) {
        char *key = strdup(sw->key);
        if (!key)
            abort();
        clear_modes(s, key + 1, key[0] == 'c', ~0u);   /* frees sw */
        free(key);
    }
}

/*
 * A watcher that may not READ the node (its ACL now) gets no event: events
 * must not leak what getData would refuse.  ZooKeeper does the same since the
 * fix for CVE-2024-23944 (persistent watchers), for every kind of watch.
 */
static void deliver(struct session *s, const char *path, int32_t type, const struct acl_list *acl)
{
    if (!s->ops)
        return;
    if (acl && !acl_check(s, acl, CORRAL_PERM_READ))
        return;
    struct corral_watch_event ev = {type, CORRAL_STATE_SYNC_CONNECTED, path};
    s->ops->event(s->conn, &ev);
}

/*
 * A plugin's watch hook may hold an event back from a session.  A held-back
 * event did not happen for that watcher, so its one-shot watch stays armed
 * for the next event (a watch that fires only on some changes).
 */
static int held_back(const struct session *s, const char *path, int32_t type,
                     const struct acl_list *acl)
{
    if (!hooks_any_watch || !s->ops || (acl && !acl_check(s, acl, CORRAL_PERM_READ)))
        return 0;
    struct corral_watch_event ev = {type, CORRAL_STATE_SYNC_CONNECTED, path};
    return !hooks_watch(s->id, &ev);
}

struct notified {
    struct session **list;
    int n, cap;
};

static int already(struct notified *done, struct session *s)
{
    for (int i = 0; i < done->n; i++)
        if (done->list[i] == s)
            return 1;
    if (done->n == done->cap) {
        done->cap = done->cap ? done->cap * 2 : 8;
        done->list = realloc(done->list, (size_t)done->cap * sizeof *done->list);
        if (!done->list)
            abort();
    }
    done->list[done->n++] = s;
    return 0;
}

/*
 * Fire the watches of one table at `watched` for an event on `path`.
 * `exact` says watched == path; otherwise only recursive watchers fire.
 */
static void fire_at(const char *watched, const char *path, int32_t type, int child, int exact,
                    const struct acl_list *acl, struct notified *done)
{
    struct watch_entry **table = table_of(child), *e;
    HASH_FIND_STR(*table, watched, e);
    if (!e)
        return;
    /* Collect first: delivering and clearing modes reshapes the entry. */
    int n = e->n;
    struct session **who = malloc((size_t)n * sizeof *who);
    unsigned *modes = malloc((size_t)n * sizeof *modes);
    if (!who || !modes)
        abort();
    memcpy(who, e->watchers, (size_t)n * sizeof *who);
    memcpy(modes, e->modes, (size_t)n * sizeof *modes);
    for (int i = 0; i < n; i++) {
        unsigned m = modes[i];
        if (!exact && !(m & WATCH_RECURSIVE))
            continue;
        int first = !already(done, who[i]);
        if (first && held_back(who[i], path, type, acl))
            continue;
        if (exact && (m & WATCH_STANDARD))
            clear_modes(who[i], watched, child, WATCH_STANDARD);
        if (first)
            deliver(who[i], path, type, acl);
    }
    free(who);
    free(modes);
}

static void trigger(const char *path, int32_t type, int child, const struct acl_list *acl,
                    struct notified *done)
{
    fire_at(path, path, type, child, 1, acl, done);
    if (child || !server.recursive_watches)
        return;
    /* recursive watchers on the ancestors */
    size_t len = strlen(path);
    char *anc = malloc(len + 1);
    if (!anc)
        abort();
    memcpy(anc, path, len + 1);
    while (len > 1) {
        char *slash = strrchr(anc, '/');
        if (slash == anc)
            slash[1] = 0, len = 1;
        else
            *slash = 0, len = (size_t)(slash - anc);
        fire_at(anc, path, type, 0, 0, acl, done);
    }
    free(anc);
}

void watch_fire_created(const char *path, const struct acl_list *acl)
{
    struct notified done = {0};
    trigger(path, CORRAL_EVENT_NODE_CREATED, 0, acl, &done);
    free(done.list);
}

void watch_fire_data_changed(const char *path, const struct acl_list *acl)
{
    struct notified done = {0};
    trigger(path, CORRAL_EVENT_NODE_DATA_CHANGED, 0, acl, &done);
    free(done.list);
}

void watch_fire_children_changed(const char *parent_path, const struct acl_list *parent_acl)
{
    struct notified done = {0};
    trigger(parent_path, CORRAL_EVENT_NODE_CHILDREN_CHANGED, 1, parent_acl, &done);
    free(done.list);
}

void watch_fire_deleted(const char *path, const struct acl_list *acl)
{
    struct notified done = {0};
    trigger(path, CORRAL_EVENT_NODE_DELETED, 0, acl, &done);
    trigger(path, CORRAL_EVENT_NODE_DELETED, 1, acl, &done);
    free(done.list);
}
