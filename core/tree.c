/*
 * tree.c — znode storage and lookup (see tree.h for the layout and why).
 *
 * A node is one malloc: header, name, inline data room.  The room is sized
 * to the data given at create time, plus whatever slack malloc's rounding
 * leaves (malloc_usable_size), so a later set of data up to that size is a
 * memcpy; bigger data goes to its own buffer, and comes back inline when it
 * shrinks enough again.
 *
 * Nodes up to TREE_ARENA_MAX bytes come from the tree's arena instead of
 * malloc: chunks of 64 KiB doubling up to 2 MiB, mapped with MAP_POPULATE
 * (one system call instead of a page fault per 4 KiB: the faults were most
 * of a big snapshot's load time), carved at 8-byte granularity (malloc adds
 * an 8-byte header and rounds to 16: about 12 B a znode).  A freed node goes
 * on its size's free list, which the next node of that size (or up to 16
 * bytes smaller: the difference becomes data room) takes; chunks go back to
 * the system only with the tree.  A node's size is a function of its name
 * length and inline_cap, so freeing needs no header.  In sanitizer builds
 * every node is malloc'd, so ASan still sees each one.  fork()ed snapshot
 * writers only read the tree, and the chunks are ordinary private memory.
 *
 * Children tables use linear probing with backward-shift deletion (no
 * tombstones), grow by half at 3/4 full (so they are 1/2 to 3/4 full; a
 * power-of-two doubling left them 3/8 to 3/4 full, and at 8 bytes a slot
 * that was ~4 B a znode more), shrink by half at 1/8, and are freed when
 * the last child goes.  A hash maps to a slot by multiply-shift, which works
 * for any capacity.  Hashes are not stored: a probe compares names, which
 * are short, and a resize rehashes them.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "tree.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ENABLED 0
#endif
#endif
#ifndef ARENA_ENABLED
#define ARENA_ENABLED 1
#endif

#define CHUNK_MIN (64u << 10)
#define CHUNK_MAX (2u << 20)

struct tree_chunk {
    struct tree_chunk *next;
    size_t size;
};

#define TABLE_MIN 4             /* slots of a parent's first table */

static struct znode *const no_slots[1];

/* FNV-1a over the name, then a 64-bit finaliser so the low bits mix well. */
static inline uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* strncmp, not memcmp: n's name may be shorter than len (and end its allocation). */
static inline int name_is(const struct znode *n, const char *s, size_t len)
{
    return strncmp(n->name, s, len) == 0 && n->name[len] == 0;
}

static inline uint8_t *inline_room(const struct znode *n, size_t name_len)
{
    return (uint8_t *)n->name + name_len + 1;
}

static inline int data_is_inline(const struct znode *n)
{
    return n->data && n->data == inline_room(n, strlen(n->name));
}

/* A block of `size` bytes (a multiple of 8, at most TREE_ARENA_MAX) from the arena. */
static void *arena_alloc(struct tree_arena *a, size_t *size)
{
    for (size_t c = *size / 8; c <= TREE_ARENA_MAX / 8 && c <= *size / 8 + 2; c++) {
        struct znode *f = a->free[c];
        if (f) {
            a->free[c] = f->parent;     /* the free list's link */
            *size = c * 8;
            return f;
        }
    }
    if ((size_t)(a->end - a->next) < *size) {
        size_t cs = a->chunk_size < CHUNK_MIN ? CHUNK_MIN : a->chunk_size;
        struct tree_chunk *ch = mmap(NULL, cs, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (ch == MAP_FAILED)
            return NULL;
        /* the old chunk's tail is lost (less than TREE_ARENA_MAX bytes) */
        ch->size = cs;
        ch->next = a->chunks;
        a->chunks = ch;
        a->next = (uint8_t *)ch + ((sizeof *ch + 7) & ~(size_t)7);
        a->end = (uint8_t *)ch + cs;
        a->chunk_size = cs * 2 > CHUNK_MAX ? CHUNK_MAX : cs * 2;
    }
    void *p = a->next;
    a->next += *size;
    return p;
}

static void arena_free(struct tree_arena *a, struct znode *n, size_t size)
{
    n->parent = a->free[size / 8];
    a->free[size / 8] = n;
}

static void arena_release(struct tree_arena *a)
{
    for (struct tree_chunk *ch = a->chunks, *next; ch; ch = next) {
        next = ch->next;
        munmap(ch, ch->size);
    }
    memset(a, 0, sizeof *a);
}

/* Bytes of n's block: header, name, NUL, data room. */
static inline size_t node_size(const struct znode *n, size_t name_len)
{
    return offsetof(struct znode, name) + name_len + 1 + n->inline_cap;
}

static inline int node_in_arena(size_t size)
{
    return ARENA_ENABLED && size <= TREE_ARENA_MAX;
}

static struct znode *node_new(struct tree_arena *a, const char *name, size_t name_len,
                              const uint8_t *data, int32_t len)
{
    size_t room = len > 0 ? (size_t)len : 0;
    size_t size = offsetof(struct znode, name) + name_len + 1 + room;
    struct znode *n;
    if (node_in_arena((size + 7) & ~(size_t)7)) {
        size_t got = (size + 7) & ~(size_t)7;
        if (!(n = arena_alloc(a, &got)))
            return NULL;
        room += got - size;             /* rounding slack is data room */
    } else {
        if (!(n = malloc(size)))
            return NULL;
#if defined(__GLIBC__)
        /* malloc rounds up: what it gives for free becomes data room too */
        size_t usable = malloc_usable_size(n);
        if (usable > size && usable - size < (1u << 20))
            room += usable - size;
#endif
    }
    memset(n, 0, offsetof(struct znode, name));
    n->inline_cap = (uint32_t)room;
    memcpy(n->name, name, name_len);
    n->name[name_len] = 0;
    n->data_len = len < 0 ? -1 : len;
    if (len > 0) {
        n->data = inline_room(n, name_len);
        memcpy(n->data, data, (size_t)len);
    }
    return n;
}

/* Release what n owns; with a, its block too (tree_destroy drops whole chunks). */
static void node_free(struct tree_arena *a, struct znode *n)
{
    size_t size = node_size(n, strlen(n->name));
    acl_list_unref(n->acl);
    if (n->data && !data_is_inline(n))
        free(n->data);
    free(n->kids);
    if (!node_in_arena(size))
        free(n);
    else if (a)
        arena_free(a, n, size);
}

/* ---- children tables ---- */

static struct child_table *table_new(uint32_t cap)
{
    struct child_table *tab = calloc(1, sizeof *tab + (size_t)cap * sizeof tab->slot[0]);
    if (tab)
        tab->cap = cap;
    return tab;
}

/* The home slot of hash h: its high 32 bits scaled to [0, cap). */
static inline uint32_t home_slot(uint64_t h, uint32_t cap)
{
    return (uint32_t)(((h >> 32) * (uint64_t)cap) >> 32);
}

static inline uint32_t next_slot(uint32_t i, uint32_t cap)
{
    return i + 1 == cap ? 0 : i + 1;
}

/* Put c in the first free slot of its probe sequence (no duplicate check). */
static void table_put(struct child_table *tab, struct znode *c, uint64_t h)
{
    uint32_t i = home_slot(h, tab->cap);
    while (tab->slot[i])
        i = next_slot(i, tab->cap);
    tab->slot[i] = c;
    tab->count++;
}

/* Move every child of n to a table of cap slots; -1 (n unchanged) without memory. */
static int table_resize(struct znode *n, uint32_t cap)
{
    struct child_table *old = n->kids, *tab = table_new(cap);
    if (!tab)
        return -1;
    for (uint32_t i = 0; i < old->cap; i++) {
        struct znode *c = old->slot[i];
        if (c)
            table_put(tab, c, name_hash(c->name, strlen(c->name)));
    }
    free(old);
    n->kids = tab;
    return 0;
}

static struct znode *table_find(const struct child_table *tab, const char *name, size_t len)
{
    if (!tab)
        return NULL;
    uint32_t i = home_slot(name_hash(name, len), tab->cap);
    for (struct znode *c; (c = tab->slot[i]); i = next_slot(i, tab->cap))
        if (name_is(c, name, len))
            return c;
    return NULL;
}

/*
 * Take c out of its parent's table: find its slot, then shift back every
 * later entry of the cluster that may no longer be reached past the hole
 * (the entry's home slot is not cyclically within (hole, its slot]).
 */
static void table_del(struct znode *parent, struct znode *c)
{
    struct child_table *tab = parent->kids;
    uint32_t cap = tab->cap;
    uint32_t i = home_slot(name_hash(c->name, strlen(c->name)), cap);
    while (tab->slot[i] != c)
        i = next_slot(i, cap);
    for (uint32_t j = i;;) {
        j = next_slot(j, cap);
        struct znode *e = tab->slot[j];
        if (!e)
            break;
        uint32_t home = home_slot(name_hash(e->name, strlen(e->name)), cap);
        /* e stays if home lies cyclically in (i, j] */
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
            continue;
        tab->slot[i] = e;
        i = j;
    }
    tab->slot[i] = NULL;
    if (--tab->count == 0) {
        free(tab);
        parent->kids = NULL;
    } else if (cap > 16 && tab->count < cap / 8) {
        table_resize(parent, cap / 2);          /* without memory it just stays big */
    }
}

struct znode *const *tree_child_slots(const struct znode *n)
{
    return n->kids ? n->kids->slot : no_slots;
}

/* ---- the tree ---- */

int tree_init(struct tree *t)
{
    memset(t, 0, sizeof *t);
    struct corral_acl open = {CORRAL_PERM_ALL, "world", "anyone"};
    struct corral_acl read = {CORRAL_PERM_READ, "world", "anyone"};
    struct acl_list *open_acl = acl_cache_get(&open, 1);
    t->root = node_new(&t->arena, "", 0, NULL, 0);
    if (!t->root || !open_acl)
        return -1;
    t->root->acl = open_acl;
    t->node_count = 1;
    struct znode *zk = tree_add_child(t, t->root, "zookeeper", NULL, 0, open_acl);
    struct acl_list *read_acl = acl_cache_get(&read, 1);
    if (!zk || !read_acl || !tree_add_child(t, zk, "quota", NULL, 0, open_acl) ||
        !tree_add_child(t, zk, "config", NULL, 0, read_acl))
        return -1;
    acl_list_unref(read_acl);
    /* ZooKeeper's system nodes are not counted as children changes. */
    t->root->cversion = 0;
    zk->cversion = 0;
    return 0;
}

static void destroy_rec(struct znode *n)
{
    struct child_table *tab = n->kids;
    if (tab)
        for (uint32_t i = 0; i < tab->cap; i++)
            if (tab->slot[i])
                destroy_rec(tab->slot[i]);
    node_free(NULL, n);
}

void tree_destroy(struct tree *t)
{
    if (t->root)
        destroy_rec(t->root);
    arena_release(&t->arena);
    memset(t, 0, sizeof *t);
}

struct znode *tree_child(const struct znode *n, const char *name)
{
    return table_find(n->kids, name, strlen(name));
}

/* The node at path[0..len) (an absolute path), or NULL. */
static struct znode *lookup_n(const struct tree *t, const char *path, size_t len)
{
    if (!len || path[0] != '/')
        return NULL;
    struct znode *n = t->root;
    const char *p = path + 1, *end = path + len;
    while (n && p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t l = slash ? (size_t)(slash - p) : (size_t)(end - p);
        n = table_find(n->kids, p, l);
        p += l;
        if (p < end)
            p++;
    }
    return n;
}

struct znode *tree_lookup(const struct tree *t, const char *path)
{
    if (!path)
        return NULL;
    return lookup_n(t, path, strlen(path));
}

struct znode *tree_lookup_parent(const struct tree *t, const char *path, const char **name)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    *name = slash + 1;
    if (slash == path)
        return t->root;
    return lookup_n(t, path, (size_t)(slash - path));
}

struct znode *tree_add_child(struct tree *t, struct znode *parent, const char *name,
                             const uint8_t *data, int32_t len, struct acl_list *acl)
{
    size_t name_len = strlen(name);
    struct child_table *tab = parent->kids;
    if (!tab) {
        if (!(tab = parent->kids = table_new(TABLE_MIN)))
            return NULL;
    } else if ((uint64_t)(tab->count + 1) * 4 > (uint64_t)tab->cap * 3) {
        if (table_resize(parent, tab->cap + tab->cap / 2) < 0)
            return NULL;
        tab = parent->kids;
    }
    struct znode *n = node_new(&t->arena, name, name_len, data, len);
    if (!n) {
        if (!tab->count) {
            free(tab);
            parent->kids = NULL;
        }
        return NULL;
    }
    n->acl = acl;
    acl_list_ref(acl);
    n->parent = parent;
    table_put(tab, n, name_hash(name, name_len));
    t->node_count++;
    t->data_size += (int64_t)name_len + (n->data_len > 0 ? n->data_len : 0);
    return n;
}

void tree_remove(struct tree *t, struct znode *n)
{
    table_del(n->parent, n);
    t->node_count--;
    t->data_size -= (int64_t)strlen(n->name) + (n->data_len > 0 ? n->data_len : 0);
    node_free(&t->arena, n);
}

void tree_set_data(struct tree *t, struct znode *n, const uint8_t *data, int32_t len)
{
    if (len < 0)
        len = -1;               /* a null buffer stays null, as in ZooKeeper */
    uint8_t *room = inline_room(n, strlen(n->name));
    uint8_t *old = n->data != room ? n->data : NULL;    /* a buffer of its own, to free */
    uint8_t *dst = NULL;
    if (len > 0 && (uint32_t)len <= n->inline_cap) {
        dst = room;
        memmove(dst, data, (size_t)len);   /* data may be the node's own bytes */
    } else if (len > 0) {
        dst = malloc((size_t)len);
        if (!dst)
            abort(); /* out of memory while applying a committed txn: cannot continue consistently */
        memcpy(dst, data, (size_t)len);
    }
    t->data_size += (len > 0 ? len : 0) - (n->data_len > 0 ? n->data_len : 0);
    free(old);
    n->data = dst;
    n->data_len = len;
}

void tree_fill_stat(const struct znode *n, struct corral_stat *st)
{
    int32_t nc = tree_num_children(n);
    st->czxid = n->czxid;
    st->mzxid = n->mzxid;
    st->ctime = n->ctime;
    st->mtime = n->mtime;
    st->version = n->version;
    st->cversion = (int32_t)((uint32_t)n->cversion * 2 - (uint32_t)nc);
    st->aversion = n->aversion;
    /* Clients see an owner only for true ephemerals: containers and TTL nodes
     * keep their marker internally but show 0, as ZooKeeper does. */
    int64_t o = n->ephemeral_owner;
    st->ephemeral_owner =
        (o == INT64_MIN || (o & (int64_t)0xFF00000000000000ULL) == (int64_t)0xFF00000000000000ULL)
            ? 0 : o;
    st->data_length = n->data_len > 0 ? n->data_len : 0;
    st->num_children = nc;
    st->pzxid = n->pzxid;
}

int tree_path(const struct znode *n, char *buf, size_t cap)
{
    if (!n->parent) {
        if (cap < 2)
            return -1;
        strcpy(buf, "/");
        return 1;
    }
    /* Collect the components from the leaf up, then write them root-first. */
    size_t total = 0;
    for (const struct znode *p = n; p->parent; p = p->parent)
        total += 1 + strlen(p->name);
    if (total + 1 > cap)
        return -1;
    buf[total] = 0;
    size_t end = total;
    for (const struct znode *p = n; p->parent; p = p->parent) {
        size_t l = strlen(p->name);
        end -= l;
        memcpy(buf + end, p->name, l);
        buf[--end] = '/';
    }
    return (int)total;
}
