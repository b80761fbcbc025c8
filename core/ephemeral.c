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

struct ordered {
    const char *path;
    uint32_t clone_bucket, set_bucket;
    uint64_t seq;
};

static int cmp_ordered(const void *a, const void *b)
{
    const struct ordered *x = a, *y = b;
    if (x->clone_bucket != y->clone_bucket)
        return x->clone_bucket < y->clone_bucket ? -1 : 1;
    if (x->set_bucket != y->set_bucket)
        return x->set_bucket < y->set_bucket ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The set grew from 16 buckets, doubling past 3/4 full, and never shrank; its
 * clone is sized for its current count (HashMap.putMapEntries: count / 0.75
 * + 1).  The clone iterates by its bucket, then in the order entries came
 * from the set: by the set's bucket, then by insertion.
 */
const char **ephemeral_ordered(const struct ephemeral_owner *o, int32_t *n_out)
{
    *n_out = 0;
    uint32_t n = o ? HASH_COUNT(o->paths) : 0;
    if (!n)
        return NULL;
    uint32_t set_cap = 16;
    while (o->peak > set_cap / 4 * 3)
        set_cap *= 2;
    uint32_t clone_cap = table_size_for((uint32_t)((float)n / 0.75f + 1.0f));
    struct ordered *v = malloc(n * sizeof *v);
    const char **out = malloc(n * sizeof *out);
    if (!v || !out)
        abort();
    uint32_t i = 0;
    for (const struct ephemeral_path *p = o->paths; p; p = p->hh.next, i++) {
        uint32_t h = java_spread(p->path);
        v[i].path = p->path;
        v[i].clone_bucket = h & (clone_cap - 1);
        v[i].set_bucket = h & (set_cap - 1);
        v[i].seq = p->seq;
    }
    qsort(v, n, sizeof *v, cmp_ordered);
    for (i = 0; i < n; i++)
        out[i] = v[i].path;
    free(v);
    *n_out = (int32_t)n;
    return out;
}
