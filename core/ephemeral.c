/*
 * ephemeral.c — which ephemeral nodes each session owns.
 *
 * Part of the data state (like ZooKeeper's DataTree.ephemerals), maintained
 * only by apply, so a closeSession txn removes exactly what the owner had on
 * every server and on recovery.
 *
 * Order matters to clients in one place: a closing session's ephemerals are
 * deleted one by one, and watchers see the NodeDeleted/NodeChildrenChanged
 * events in that order; getEphemerals lists them in it too.  ZooKeeper
 * takes that order from a copy of the session's java.util.HashSet<String>,
 * which is a pure function of the strings, the set's capacity and the order
 * of insertion: ephemeral_ordered() computes the same, so the event streams
 * of the two servers agree (t0110 compares them).  An owner is kept, empty,
 * until its session closes, as ZooKeeper keeps the set (and its capacity).
 *
 * ZooKeeper's prep names those deletes in the closeSession txn: a copy of
 * the applied set, plus the session's creates in flight, minus the deletes
 * in flight, in that copy's order (ephemeral_close_list).  Apply then
 * deletes in the txn's order, so every server, ZooKeeper's followers too,
 * fires the same events whatever its own set holds.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"

static uint64_t add_seq;

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
    p->seq = ++add_seq;
    HASH_ADD_KEYPTR(hh, o->paths, p->path, strlen(p->path), p);
    if (HASH_COUNT(o->paths) > o->peak)
        o->peak = HASH_COUNT(o->paths);
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
}

void ephemeral_drop_owner(int64_t session_id)
{
    struct ephemeral_owner *o = ephemeral_find(session_id);
    if (!o)
        return;
    struct ephemeral_path *p, *tmp;
    HASH_ITER(hh, o->paths, p, tmp) {
        HASH_DEL(o->paths, p);
        free(p->path);
        free(p);
        server.ephemeral_count--;
    }
    HASH_DEL(server.ephemerals, o);
    free(o);
}

/* java.lang.String.hashCode of the path's UTF-16 form, then HashMap.hash's spread. */
static uint32_t java_spread(const char *path)
{
    const unsigned char *s = (const unsigned char *)path;
    uint32_t h = 0;
    while (*s) {
        uint32_t cp = *s++;
        int more = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        if (more)
            cp &= 0x3Fu >> more;
        for (; more && (*s & 0xC0) == 0x80; more--)
            cp = cp << 6 | (*s++ & 0x3F);
        if (cp >= 0x10000) {    /* a surrogate pair */
            cp -= 0x10000;
            h = 31 * h + (0xD800 + (cp >> 10));
            h = 31 * h + (0xDC00 + (cp & 0x3FF));
        } else {
            h = 31 * h + cp;
        }
    }
    return h ^ (h >> 16);
}

/* HashMap.tableSizeFor: the power of two at or above c (1 for c <= 1). */
static uint32_t table_size_for(uint32_t c)
{
    uint32_t n = 1;
    while (n < c)
        n <<= 1;
    return n;
}

/*
 * A path in a simulated java.util.HashMap: its spread hash, its bucket at
 * the capacity in question, and its place in its bucket's chain (rank: the
 * map's chains keep insertion order, and a resize splits a chain without
 * reordering it, so within a bucket the earlier insertion always comes first).
 */
struct ordered {
    const char *path;
    uint32_t hash, bucket;
    uint64_t rank;
    int live;
    UT_hash_handle hh;
};

static int cmp_ordered(const void *a, const void *b)
{
    const struct ordered *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/*
 * ZooKeeper's order for a copy of the session's set, after the changes ch
 * (in order: a path added, or removed).  The set grew from 16 buckets,
 * doubling past 3/4 full, and never shrank; it iterates by its bucket, then
 * by insertion (seq).  Its clone (HashMap.putMapEntries) takes the entries in
 * that order into a table sized for their count, count / 0.75 + 1 (16 when
 * empty), and grows as the changes add to it.  The live entries come back
 * in the clone's iteration order (*n_out of them; NULL when none).
 */
static struct ordered *java_order(const struct ephemeral_owner *o,
                                  const struct ephemeral_change *ch, int32_t n_ch,
                                  uint32_t *n_out)
{
    *n_out = 0;
    uint32_t n = o ? HASH_COUNT(o->paths) : 0;
    if (n + (uint32_t)n_ch == 0)
        return NULL;
    struct ordered *v = calloc(n + (uint32_t)n_ch, sizeof *v);
    if (!v)
        abort();
    uint32_t set_cap = 16;
    while (o && o->peak > set_cap / 4 * 3)
        set_cap *= 2;
    uint32_t i = 0;
    for (const struct ephemeral_path *p = o ? o->paths : NULL; p; p = p->hh.next, i++) {
        v[i].path = p->path;
        v[i].hash = java_spread(p->path);
        v[i].bucket = v[i].hash & (set_cap - 1);
        v[i].rank = p->seq;
        v[i].live = 1;
    }
    qsort(v, n, sizeof *v, cmp_ordered);    /* the set's iteration: the clone's insertions */
    for (i = 0; i < n; i++)
        v[i].rank = i;
    uint32_t cap = n ? table_size_for((uint32_t)((float)n / 0.75f + 1.0f)) : 16;
    uint32_t size = n, used = n;
    uint64_t next_rank = n;
    struct ordered *index = NULL;
    if (n_ch > 0)
        for (i = 0; i < n; i++)
            HASH_ADD_KEYPTR(hh, index, v[i].path, strlen(v[i].path), &v[i]);
    for (int32_t k = 0; k < n_ch; k++) {
        struct ordered *e;
        HASH_FIND_STR(index, ch[k].path, e);
        if (!ch[k].added) {
            if (e && e->live) {
                e->live = 0;
                size--;
            }
            continue;
        }
        if (e && e->live)
            continue;
        if (!e) {
            e = &v[used++];
            e->path = ch[k].path;
            e->hash = java_spread(e->path);
            HASH_ADD_KEYPTR(hh, index, e->path, strlen(e->path), e);
        }
        e->live = 1;
        e->rank = next_rank++;          /* a put goes to the end of its chain */
        if (++size > cap * 3 / 4)    /* HashMap's threshold: (int)(capacity * 0.75) */
            cap *= 2;
    }
    HASH_CLEAR(hh, index);
    uint32_t live = 0;
    for (i = 0; i < used; i++)
        if (v[i].live) {
            v[live] = v[i];
            v[live].bucket = v[live].hash & (cap - 1);
            live++;
        }
    qsort(v, live, sizeof *v, cmp_ordered);
    if (!live) {
        free(v);
        return NULL;
    }
    *n_out = live;
    return v;
}

const char **ephemeral_ordered(const struct ephemeral_owner *o, int32_t *n_out)
{
    uint32_t n;
    struct ordered *v = java_order(o, NULL, 0, &n);
    *n_out = (int32_t)n;
    if (!v)
        return NULL;
    const char **out = malloc(n * sizeof *out);
    if (!out)
        abort();
    for (uint32_t i = 0; i < n; i++)
        out[i] = v[i].path;
    free(v);
    return out;
}

char **ephemeral_close_list(const struct ephemeral_owner *o, const struct ephemeral_change *ch,
                            int32_t n_ch, int32_t *n_out)
{
    uint32_t n;
    struct ordered *v = java_order(o, ch, n_ch, &n);
    *n_out = (int32_t)n;
    char **out = malloc((n ? n : 1) * sizeof *out);
    if (!out)
        abort();
    for (uint32_t i = 0; i < n; i++)
        if (!(out[i] = strdup(v[i].path)))
            abort();
    free(v);
    return out;
}
