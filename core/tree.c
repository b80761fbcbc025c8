/*
 * tree.c — znode storage and lookup (see tree.h for the layout and why).
 *
 * The arena.  At tree_init one address range is reserved (16 GiB, or less
 * if the system refuses: no memory is committed by reserving) and committed
 * from its start as the tree grows, 64 KiB then doubling up to 2 MiB at a
 * time, with MAP_POPULATE (one system call instead of a page fault per
 * 4 KiB: the faults were most of a big snapshot's load time).  Because the
 * range is one piece, a node is named by its offset / 4 in 32 bits, which
 * halves a children table.  Blocks are carved in 4-byte units; a freed
 * block goes on its size class's free list (linked through its first
 * word), which the next block of that class, or up to 12 bytes smaller (the
 * difference becomes data room), takes.  Classes are exact up to 1 KiB and
 * four per power of two above.  A node's block size follows from its name
 * length and inline_cap, so no block header is needed.  Memory goes back to
 * the system only with the tree.  fork()ed snapshot writers only read the
 * tree, and the range is ordinary private memory.  In ASan builds free
 * blocks are poisoned, so a use after free is still caught.
 *
 * Children tables use linear probing with backward-shift deletion (no
 * tombstones), grow by half at 3/4 full (so they are 1/2 to 3/4 full),
 * shrink by half at 1/8, and drop to no slots when the last child goes (the
 * table still holds the parent's pzxid and cversion).  A hash maps to a
 * slot by multiply-shift, which works for any capacity.  Hashes are not
 * stored: a probe compares names, which are short, and a resize rehashes.
 *
 * Every table hashes with a seed of its own, drawn when it is made (from a
 * per-process random start).  The order a table's slots list its children
 * in (getChildren, snapshots) is the order of their hashes; inserting names
 * in that order into a table that hashes the same way but is still small
 * puts them all at the start of the table, in one probe run that every
 * insert walks to its end: loading corrald's own snapshot of a node with
 * 300k children took 30 s, where replaying the log took 0.4 s.  With its
 * own seed, a table rebuilt from a listing (a snapshot load, a restart, a
 * client copying a node's children) sees that order as a random one.
 *
 * Side entries (struct znode_extra, a uthash keyed by node reference) hold
 * what the packed header cannot: the four 48-bit fields at full width, data
 * over 64 KiB, an aversion of 255 or more.  They are rare, so a hash entry
 * each is fine; a node has one when ZNODE_WIDE or ZNODE_EXT_DATA is set or
 * its aversion field reads 255.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <uthash.h>
#include "tree.h"
#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#define TREE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TREE_ASAN 1
#endif
#endif
#ifdef TREE_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ZNODE_NULL_DATA 0x01    /* data is null, not just empty */
#define ZNODE_EXT_DATA 0x02     /* data is the side entry's buffer */
#define ZNODE_WIDE 0x04         /* czxid, mzxid, ctime, mtime are in the side entry */

#define AVERSION_EXT 255        /* aversion field value: see the side entry */
#define U48_ESCAPE 0xFFFFFFFFFFFFULL
#define INLINE_MAX 65535u       /* most data a block holds (inline_cap is 16 bits) */

#define HEADER offsetof(struct znode, name)
#define RESERVE_MAX (((size_t)1 << 34) - 4096)  /* what 32-bit references of 4-byte units reach */
#define RESERVE_MIN ((size_t)64 << 20)
#define COMMIT_MIN ((size_t)64 << 10)
#define COMMIT_MAX ((size_t)2 << 20)
#define SMALL_MAX 1024          /* exact classes up to here */
#define TABLE_MIN 4             /* slots of a parent's first table */

struct znode_extra {
    uint32_t ref;               /* the key */
    int32_t aversion;
    int64_t czxid, mzxid, ctime, mtime;
    uint8_t *data;
    int32_t data_len;
    UT_hash_handle hh;
};

struct owner_entry {
    int64_t owner;              /* the key */
    uint32_t id, refs;
    UT_hash_handle hh;
};

struct child_table {
    int64_t pzxid;
    int32_t cversion;
    uint32_t count;
    uint32_t cap;               /* slots */
    uint32_t seed;              /* of this table's hash (see the top) */
    uint32_t slot[];            /* node references, 0: free */
};

static const uint32_t no_slots[1];

/* ---- the arena ---- */

/* The class of a block of *bytes (rounded up to the class's size in place). */
static uint32_t size_class(size_t *bytes)
{
    size_t b = (*bytes + 3) & ~(size_t)3;
    if (b <= SMALL_MAX) {
        *bytes = b;
        return (uint32_t)(b / 4);
    }
    unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)(b - 1)); /* 2^k < b <= 2^(k+1) */
    size_t step = (size_t)1 << (k - 2);
    size_t r = (b + step - 1) & ~(step - 1);
    *bytes = r;
    return SMALL_MAX / 4 + (k - 10) * 4 + (uint32_t)((r - ((size_t)1 << k)) / step);
}

static int arena_init(struct tree_arena *a)
{
    memset(a, 0, sizeof *a);
    for (size_t size = RESERVE_MAX; size >= RESERVE_MIN; size /= 2) {
        void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
            if (size < RESERVE_MAX)
                log_warn("tree: only %zu MiB of address space for znodes (ulimit -v?); "
                         "the tree cannot grow past that", size >> 20);
            a->base = p;
            a->reserved = size;
            a->used = 8;                /* offset 0 is reference 0: no node */
            a->grow = COMMIT_MIN;
            return 0;
        }
    }
    return -1;
}

/* Make [committed, committed + need) usable. */
static int arena_commit(struct tree_arena *a, size_t need)
{
    size_t len = a->grow > need ? a->grow : (need + 4095) & ~(size_t)4095;
    if (len > a->reserved - a->committed)
        len = a->reserved - a->committed;
    if (len < need)
        return -1;
    void *p = mmap(a->base + a->committed, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    POISON(a->base + a->committed, len);
    a->committed += len;
    a->grow = a->grow * 2 > COMMIT_MAX ? COMMIT_MAX : a->grow * 2;
    return 0;
}

/* A block of at least *bytes; *bytes becomes its real size.  0: no memory. */
static uint32_t arena_alloc(struct tree_arena *a, size_t *bytes)
{
    size_t size = *bytes;
    uint32_t c = size_class(&size);
    /* an exact class may take a free block up to 12 bytes bigger; a geometric one its own only */
    uint32_t last = c <= SMALL_MAX / 4 ? (c + 3 < SMALL_MAX / 4 ? c + 3 : SMALL_MAX / 4) : c;
    for (uint32_t k = c; k <= last; k++) {
        uint32_t ref = a->free[k];
        if (ref) {
            size_t got = k == c ? size : (size_t)k * 4;
            uint8_t *p = a->base + (size_t)ref * 4;
            UNPOISON(p, got);
            memcpy(&a->free[k], p, sizeof(uint32_t));
            *bytes = got;
            return ref;
        }
    }
    if (a->used + size > a->committed && arena_commit(a, a->used + size - a->committed) < 0)
        return 0;
    uint32_t ref = (uint32_t)(a->used / 4);
    UNPOISON(a->base + a->used, size);
    a->used += size;
    *bytes = size;
    return ref;
}

static void arena_free(struct tree_arena *a, uint32_t ref, size_t bytes)
{
    uint32_t c = size_class(&bytes);
    uint8_t *p = a->base + (size_t)ref * 4;
    memcpy(p, &a->free[c], sizeof(uint32_t));
    a->free[c] = ref;
    POISON(p, bytes);
}

static void arena_release(struct tree_arena *a)
{
    if (a->base)
        munmap(a->base, a->reserved);
    memset(a, 0, sizeof *a);
}

/* ---- nodes ---- */

static inline uint32_t ref_of(const struct tree *t, const struct znode *n)
{
    return (uint32_t)(((const uint8_t *)n - t->arena.base) / 4);
}

/* Where n's data room starts: after its name's NUL. */
static inline uint8_t *room_of(const struct znode *n, size_t name_len)
{
    return (uint8_t *)n->name + name_len + 1;
}

/* Bytes of n's block (what arena_alloc gave it). */
static inline size_t block_size(const struct znode *n, size_t name_len)
{
    size_t bytes = HEADER + name_len + 1 + n->inline_cap;
    size_class(&bytes);
    return bytes;
}

/* A zeroed node named name with room for `room` bytes of data (and whatever the block adds). */
static struct znode *node_alloc(struct tree *t, const char *name, size_t name_len, size_t room)
{
    size_t bytes = HEADER + name_len + 1 + room;
    uint32_t ref = arena_alloc(&t->arena, &bytes);
    if (!ref)
        return NULL;
    struct znode *n = tree_node_at(t, ref);
    memset(n, 0, HEADER);
    size_t cap = bytes - HEADER - name_len - 1;
    n->inline_cap = (uint16_t)(cap > INLINE_MAX ? INLINE_MAX : cap);
    memcpy(n->name, name, name_len);
    n->name[name_len] = 0;
    return n;
}

static inline uint64_t get48(const uint16_t v[3])
{
    return (uint64_t)v[0] | (uint64_t)v[1] << 16 | (uint64_t)v[2] << 32;
}

static inline void put48(uint16_t v[3], int64_t x)
{
    v[0] = (uint16_t)x;
    v[1] = (uint16_t)((uint64_t)x >> 16);
    v[2] = (uint16_t)((uint64_t)x >> 32);
}

static inline int fits48(int64_t x)
{
    return x >= 0 && (uint64_t)x < U48_ESCAPE;
}

/* ---- side entries ---- */

static struct znode_extra *extra_find(const struct tree *t, const struct znode *n)
{
    uint32_t ref = ref_of(t, n);
    struct znode_extra *e;
    HASH_FIND(hh, t->extras, &ref, sizeof ref, e);
    return e;
}

/* n's side entry, made if missing; NULL: out of memory. */
static struct znode_extra *extra_get(struct tree *t, struct znode *n)
{
    struct znode_extra *e = extra_find(t, n);
    if (e)
        return e;
    if (!(e = calloc(1, sizeof *e)))
        return NULL;
    e->ref = ref_of(t, n);
    HASH_ADD(hh, t->extras, ref, sizeof e->ref, e);
    return e;
}

static void extra_drop(struct tree *t, struct znode_extra *e)
{
    HASH_DEL(t->extras, e);
    free(e->data);
    free(e);
}

static inline int needs_extra(const struct znode *n)
{
    return (n->flags & (ZNODE_WIDE | ZNODE_EXT_DATA)) || n->aversion == AVERSION_EXT;
}

/* Drop n's side entry if nothing is in it any more. */
static void extra_trim(struct tree *t, struct znode *n)
{
    if (needs_extra(n))
        return;
    struct znode_extra *e = extra_find(t, n);
    if (e)
        extra_drop(t, e);
}

/* n's czxid at full width (a node's pzxid until it has a children table). */
static int64_t czxid_of(const struct tree *t, const struct znode *n)
{
    return n->flags & ZNODE_WIDE ? extra_find(t, n)->czxid : (int64_t)get48(n->czxid);
}

/* ---- owners ---- */

static uint32_t owner_intern(struct tree *t, int64_t owner)
{
    if (!owner)
        return 0;
    struct owner_entry *o = t->last_owner;
    if (!o || o->owner != owner)
        HASH_FIND(hh, t->owner_index, &owner, sizeof owner, o);
    if (!o) {
        if (!(o = calloc(1, sizeof *o)))
            return 0;
        o->owner = owner;
        if (!(o->id = id_pool_put(&t->owners, o))) {
            free(o);
            return 0;
        }
        HASH_ADD(hh, t->owner_index, owner, sizeof o->owner, o);
    }
    o->refs++;
    t->last_owner = o;
    return o->id;
}

static void owner_release(struct tree *t, uint32_t id)
{
    if (!id)
        return;
    struct owner_entry *o = id_pool_get(&t->owners, id);
    if (--o->refs)
        return;
    if (t->last_owner == o)
        t->last_owner = NULL;
    HASH_DEL(t->owner_index, o);
    id_pool_drop(&t->owners, id);
    free(o);
}

/* ---- children tables ---- */

static inline struct child_table *table_of(const struct tree *t, const struct znode *n)
{
    return n->kids ? id_pool_get(&t->tables, n->kids) : NULL;
}

/* splitmix64's finaliser: every output bit depends on every input bit. */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A seed for a new table: the next of a sequence that starts at random in each process. */
static uint32_t table_seed(struct tree *t)
{
    t->seed_state += 0x9e3779b97f4a7c15ULL;
    return (uint32_t)mix64(t->seed_state);
}

/* FNV-1a over the name from a seeded start, then mix64 so the high bits mix well. */
static inline uint64_t name_hash(const char *s, size_t len, uint32_t seed)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (seed * 0x9e3779b97f4a7c15ULL);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return mix64(h);
}

/* strncmp, not memcmp: n's name may be shorter than len (and end its block). */
static inline int name_is(const struct znode *n, const char *s, size_t len)
{
    return strncmp(n->name, s, len) == 0 && n->name[len] == 0;
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

/* The hash in tab of the name of the node at ref (tables do not store hashes). */
static inline uint64_t ref_hash(const struct tree *t, const struct child_table *tab, uint32_t ref)
{
    const char *name = tree_node_at(t, ref)->name;
    return name_hash(name, strlen(name), tab->seed);
}

/* n's table, made with no slots if it has none (counters only).  NULL: no memory. */
static struct child_table *table_ensure(struct tree *t, struct znode *n)
{
    struct child_table *tab = table_of(t, n);
    if (tab)
        return tab;
    if (!(tab = calloc(1, sizeof *tab)))
        return NULL;
    tab->pzxid = czxid_of(t, n);
    tab->seed = table_seed(t);
    if (!(n->kids = id_pool_put(&t->tables, tab))) {
        free(tab);
        return NULL;
    }
    return tab;
}

/* Put ref in the first free slot of its probe sequence (no duplicate check). */
static void table_put(struct child_table *tab, uint32_t ref, uint64_t h)
{
    uint32_t i = home_slot(h, tab->cap);
    while (tab->slot[i])
        i = next_slot(i, tab->cap);
    tab->slot[i] = ref;
    tab->count++;
}

/* Give n's table cap slots, moving every child; -1 (n unchanged) without memory. */
static int table_resize(struct tree *t, struct znode *n, uint32_t cap)
{
    struct child_table *old = table_of(t, n);
    struct child_table *tab = calloc(1, sizeof *tab + (size_t)cap * sizeof tab->slot[0]);
    if (!tab)
        return -1;
    tab->pzxid = old->pzxid;
    tab->cversion = old->cversion;
    tab->cap = cap;
    /* the same seed: old lists its children by hash, which a bigger table takes in stride */
    tab->seed = old->seed;
    for (uint32_t i = 0; i < old->cap; i++) {
        uint32_t r = old->slot[i];
        if (r)
            table_put(tab, r, ref_hash(t, tab, r));
    }
    free(old);
    id_pool_set(&t->tables, n->kids, tab);
    return 0;
}

static struct znode *table_find(const struct tree *t, const struct child_table *tab,
                                const char *name, size_t len)
{
    if (!tab || !tab->cap)
        return NULL;
    uint32_t i = home_slot(name_hash(name, len, tab->seed), tab->cap);
    for (uint32_t r; (r = tab->slot[i]); i = next_slot(i, tab->cap)) {
        struct znode *c = tree_node_at(t, r);
        if (name_is(c, name, len))
            return c;
    }
    return NULL;
}

/* The slot holding ref (one of the table's children). */
static uint32_t *table_slot_of(const struct tree *t, struct child_table *tab, uint32_t ref)
{
    uint32_t i = home_slot(ref_hash(t, tab, ref), tab->cap);
    while (tab->slot[i] != ref)
        i = next_slot(i, tab->cap);
    return &tab->slot[i];
}

/*
 * Take c out of its parent's table: find its slot, then shift back every
 * later entry of the cluster that may no longer be reached past the hole
 * (the entry's home slot is not cyclically within (hole, its slot]).
 */
static void table_del(struct tree *t, struct znode *parent, struct znode *c)
{
    struct child_table *tab = table_of(t, parent);
    uint32_t cap = tab->cap;
    uint32_t i = (uint32_t)(table_slot_of(t, tab, ref_of(t, c)) - tab->slot);
    for (uint32_t j = i;;) {
        j = next_slot(j, cap);
        uint32_t e = tab->slot[j];
        if (!e)
            break;
        uint32_t home = home_slot(ref_hash(t, tab, e), cap);
        /* e stays if home lies cyclically in (i, j] */
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
            continue;
        tab->slot[i] = e;
        i = j;
    }
    tab->slot[i] = 0;
    if (--tab->count == 0) {
        /* keep the counters, drop the slots */
        struct child_table *empty = realloc(tab, sizeof *tab);
        if (empty)
            tab = empty;
        tab->cap = 0;
        id_pool_set(&t->tables, parent->kids, tab);
    } else if (cap > 16 && tab->count < cap / 8) {
        table_resize(t, parent, cap / 2);       /* without memory it just stays big */
    }
}

const uint32_t *tree_child_slots(const struct tree *t, const struct znode *n)
{
    struct child_table *tab = table_of(t, n);
    return tab && tab->cap ? tab->slot : no_slots;
}

uint32_t tree_child_capacity(const struct tree *t, const struct znode *n)
{
    struct child_table *tab = table_of(t, n);
    return tab ? tab->cap : 0;
}

int32_t tree_num_children(const struct tree *t, const struct znode *n)
{
    struct child_table *tab = table_of(t, n);
    return tab ? (int32_t)tab->count : 0;
}

/* ---- data ---- */

const uint8_t *tree_data(const struct tree *t, const struct znode *n, int32_t *len)
{
    if (n->flags & ZNODE_NULL_DATA) {
        *len = -1;
        return NULL;
    }
    if (n->flags & ZNODE_EXT_DATA) {
        struct znode_extra *e = extra_find(t, n);
        *len = e->data_len;
        return e->data;
    }
    *len = n->data_len;
    return n->data_len ? room_of(n, strlen(n->name)) : NULL;
}

/*
 * Store data in n, which has the room if len <= its inline_cap; else in a
 * buffer of its own.  `data` may be n's current bytes.  -1: out of memory
 * (n unchanged).
 */
static int node_put_data(struct tree *t, struct znode *n, const uint8_t *data, int32_t len)
{
    uint8_t *old_ext = NULL;
    struct znode_extra *e = n->flags & ZNODE_EXT_DATA ? extra_find(t, n) : NULL;
    if (len > 0 && (uint32_t)len > n->inline_cap) {
        uint8_t *buf = malloc((size_t)len);
        if (!buf || (!e && !(e = extra_get(t, n)))) {
            free(buf);
            return -1;
        }
        memcpy(buf, data, (size_t)len);
        old_ext = n->flags & ZNODE_EXT_DATA ? e->data : NULL;
        e->data = buf;
        e->data_len = len;
        n->flags = (uint8_t)((n->flags | ZNODE_EXT_DATA) & ~ZNODE_NULL_DATA);
        n->data_len = 0;
        free(old_ext);
        return 0;
    }
    if (len > 0)
        memmove(room_of(n, strlen(n->name)), data, (size_t)len);
    n->data_len = (uint16_t)(len > 0 ? len : 0);
    n->flags = (uint8_t)(n->flags & ~(ZNODE_NULL_DATA | ZNODE_EXT_DATA));
    if (len < 0)
        n->flags |= ZNODE_NULL_DATA;
    if (e) {
        free(e->data);
        e->data = NULL;
        e->data_len = 0;
        extra_trim(t, n);
    }
    return 0;
}

/* ---- the tree ---- */

int tree_init(struct tree *t)
{
    memset(t, 0, sizeof *t);
    if (getrandom(&t->seed_state, sizeof t->seed_state, GRND_NONBLOCK) != sizeof t->seed_state) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        t->seed_state = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40;
    }
    if (arena_init(&t->arena) < 0) {
        log_error("tree: cannot reserve %zu MiB of address space for znodes", RESERVE_MIN >> 20);
        return -1;
    }
    struct corral_acl open = {CORRAL_PERM_ALL, "world", "anyone"};
    struct corral_acl read = {CORRAL_PERM_READ, "world", "anyone"};
    struct acl_list *open_acl = acl_cache_get(&open, 1);
    t->root = node_alloc(t, "", 0, 0);
    if (!t->root || !open_acl)
        return -1;
    t->root->acl = open_acl->id;
    t->node_count = 1;
    struct znode *zk = tree_add_child(t, t->root, "zookeeper", NULL, 0, open_acl);
    struct acl_list *read_acl = acl_cache_get(&read, 1);
    if (!zk || !read_acl || !tree_add_child(t, zk, "quota", NULL, 0, open_acl) ||
        !tree_add_child(t, zk, "config", NULL, 0, read_acl))
        return -1;
    acl_list_unref(read_acl);
    return 0;
}

/* The ACL references: the only thing nodes hold outside the tree. */
static void release_acls(struct tree *t, struct znode *n)
{
    TREE_FOREACH_CHILD(t, n, c)
        release_acls(t, c);
    acl_list_unref(tree_acl(n));
}

void tree_destroy(struct tree *t)
{
    if (t->root)
        release_acls(t, t->root);
    for (uint32_t id = 1; id < t->tables.n; id++)
        free(id_pool_get(&t->tables, id));
    id_pool_clear(&t->tables);
    struct owner_entry *o, *otmp;
    HASH_ITER(hh, t->owner_index, o, otmp) {
        HASH_DEL(t->owner_index, o);
        free(o);
    }
    id_pool_clear(&t->owners);
    struct znode_extra *e, *etmp;
    HASH_ITER(hh, t->extras, e, etmp)
        extra_drop(t, e);
    arena_release(&t->arena);
    memset(t, 0, sizeof *t);
}

struct znode *tree_child(const struct tree *t, const struct znode *n, const char *name)
{
    return table_find(t, table_of(t, n), name, strlen(name));
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
        n = table_find(t, table_of(t, n), p, l);
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
    struct child_table *tab = table_ensure(t, parent);
    if (!tab)
        return NULL;
    if (!tab->cap) {
        if (table_resize(t, parent, TABLE_MIN) < 0)
            return NULL;
    } else if ((uint64_t)(tab->count + 1) * 4 > (uint64_t)tab->cap * 3) {
        if (table_resize(t, parent, tab->cap + tab->cap / 2) < 0)
            return NULL;
    }
    tab = table_of(t, parent);
    size_t room = len > 0 && (uint32_t)len <= INLINE_MAX ? (size_t)len : 0;
    struct znode *n = node_alloc(t, name, name_len, room);
    if (!n)
        return NULL;
    if (node_put_data(t, n, data, len) < 0) {
        arena_free(&t->arena, ref_of(t, n), block_size(n, name_len));
        return NULL;
    }
    n->acl = acl->id;
    acl_list_ref(acl);
    table_put(tab, ref_of(t, n), name_hash(name, name_len, tab->seed));
    t->node_count++;
    t->data_size += (int64_t)name_len + (len > 0 ? len : 0);
    return n;
}

void tree_remove(struct tree *t, struct znode *parent, struct znode *n)
{
    int32_t len;
    tree_data(t, n, &len);
    size_t name_len = strlen(n->name);
    table_del(t, parent, n);
    t->node_count--;
    t->data_size -= (int64_t)name_len + (len > 0 ? len : 0);
    acl_list_unref(tree_acl(n));
    owner_release(t, n->owner);
    if (n->kids) {
        free(table_of(t, n));
        id_pool_drop(&t->tables, n->kids);
    }
    struct znode_extra *e = needs_extra(n) ? extra_find(t, n) : NULL;
    if (e)
        extra_drop(t, e);
    arena_free(&t->arena, ref_of(t, n), block_size(n, name_len));
}

/*
 * Move n to a block with room for `room` data bytes: everything but the
 * data is copied, and the parent's slot (or the root pointer) and the side
 * entry's key follow.  NULL: no memory (n unchanged).
 */
static struct znode *node_move(struct tree *t, struct znode *parent, struct znode *n, size_t room)
{
    size_t name_len = strlen(n->name);
    struct znode *m = node_alloc(t, n->name, name_len, room);
    if (!m)
        return NULL;
    uint16_t cap = m->inline_cap;
    memcpy(m, n, HEADER);       /* flags too: node_put_data finds a buffer to free */
    m->inline_cap = cap;
    m->data_len = 0;
    uint32_t old_ref = ref_of(t, n), new_ref = ref_of(t, m);
    if (parent)
        *table_slot_of(t, table_of(t, parent), old_ref) = new_ref;
    else
        t->root = m;
    struct znode_extra *e = needs_extra(n) ? extra_find(t, n) : NULL;
    if (e) {
        HASH_DEL(t->extras, e);
        e->ref = new_ref;
        HASH_ADD(hh, t->extras, ref, sizeof e->ref, e);
    }
    return m;
}

struct znode *tree_find(const struct tree *t, const char *path, struct znode **parent)
{
    const char *name;
    if (!strcmp(path, "/")) {
        *parent = NULL;
        return t->root;
    }
    if (!(*parent = tree_lookup_parent(t, path, &name)))
        return NULL;
    return tree_child(t, *parent, name);
}

struct znode *tree_set_data(struct tree *t, const char *path, const uint8_t *data, int32_t len)
{
    struct znode *parent, *n = tree_find(t, *path ? path : "/", &parent);
    return n ? tree_set_node_data(t, parent, n, data, len) : NULL;
}

struct znode *tree_set_node_data(struct tree *t, struct znode *parent, struct znode *n,
                                 const uint8_t *data, int32_t len)
{
    if (len < 0)
        len = -1;               /* a null buffer stays null, as in ZooKeeper */
    int32_t old_len;
    tree_data(t, n, &old_len);
    size_t name_len = strlen(n->name);
    size_t need = len > 0 ? (size_t)len : 0;
    size_t have = block_size(n, name_len);
    size_t fit = HEADER + name_len + 1 + need;
    size_class(&fit);
    /* move when the data outgrows the block, or fills less than half of a big one */
    struct znode *m = NULL;
    if (need <= INLINE_MAX && (need > n->inline_cap || (have >= 256 && fit * 2 <= have)))
        m = node_move(t, parent, n, need);
    if (m) {
        /* m has the room; data may be n's bytes, so n goes after the copy */
        if (node_put_data(t, m, data, len) < 0)
            abort();
        arena_free(&t->arena, ref_of(t, n), have);
        n = m;
        t->moves++;
    } else if (node_put_data(t, n, data, len) < 0) {
        abort(); /* out of memory while applying a committed txn: cannot continue consistently */
    }
    t->data_size += (len > 0 ? len : 0) - (old_len > 0 ? old_len : 0);
    return n;
}

/* ---- metadata ---- */

int64_t tree_mzxid(const struct tree *t, const struct znode *n)
{
    return n->flags & ZNODE_WIDE ? extra_find(t, n)->mzxid : (int64_t)get48(n->mzxid);
}

int64_t tree_pzxid(const struct tree *t, const struct znode *n)
{
    struct child_table *tab = table_of(t, n);
    return tab ? tab->pzxid : czxid_of(t, n);
}

int64_t tree_owner(const struct tree *t, const struct znode *n)
{
    return n->owner ? ((struct owner_entry *)id_pool_get(&t->owners, n->owner))->owner : 0;
}

void tree_get_meta(const struct tree *t, const struct znode *n, struct znode_meta *m)
{
    if (n->flags & ZNODE_WIDE) {
        struct znode_extra *e = extra_find(t, n);
        m->czxid = e->czxid;
        m->mzxid = e->mzxid;
        m->ctime = e->ctime;
        m->mtime = e->mtime;
    } else {
        m->czxid = (int64_t)get48(n->czxid);
        m->mzxid = (int64_t)get48(n->mzxid);
        m->ctime = (int64_t)get48(n->ctime);
        m->mtime = (int64_t)get48(n->mtime);
    }
    struct child_table *tab = table_of(t, n);
    m->pzxid = tab ? tab->pzxid : m->czxid;
    m->cversion = tab ? tab->cversion : 0;
    m->owner = tree_owner(t, n);
    m->version = n->version;
    m->aversion = n->aversion == AVERSION_EXT ? extra_find(t, n)->aversion : n->aversion;
}

/* Store czxid, mzxid, ctime and mtime: packed if all four fit, else (for good) in the side entry. */
static int set_wide(struct tree *t, struct znode *n, int64_t czxid, int64_t mzxid, int64_t ctime,
                    int64_t mtime)
{
    if (!(n->flags & ZNODE_WIDE) && fits48(czxid) && fits48(mzxid) && fits48(ctime) &&
        fits48(mtime)) {
        put48(n->czxid, czxid);
        put48(n->mzxid, mzxid);
        put48(n->ctime, ctime);
        put48(n->mtime, mtime);
        return 0;
    }
    struct znode_extra *e = extra_get(t, n);
    if (!e)
        return -1;
    n->flags |= ZNODE_WIDE;
    e->czxid = czxid;
    e->mzxid = mzxid;
    e->ctime = ctime;
    e->mtime = mtime;
    return 0;
}

static int set_aversion(struct tree *t, struct znode *n, int32_t aversion)
{
    if (aversion >= 0 && aversion < AVERSION_EXT) {
        n->aversion = (uint8_t)aversion;
        extra_trim(t, n);
        return 0;
    }
    struct znode_extra *e = extra_get(t, n);
    if (!e)
        return -1;
    n->aversion = AVERSION_EXT;
    e->aversion = aversion;
    return 0;
}

int tree_set_meta(struct tree *t, struct znode *n, const struct znode_meta *m)
{
    if (set_wide(t, n, m->czxid, m->mzxid, m->ctime, m->mtime) < 0 ||
        set_aversion(t, n, m->aversion) < 0)
        return -1;
    n->version = m->version;
    uint32_t owner = owner_intern(t, m->owner);
    if (m->owner && !owner)
        return -1;
    owner_release(t, n->owner);
    n->owner = owner;
    struct child_table *tab = table_of(t, n);
    if (!tab && (m->cversion != 0 || m->pzxid != m->czxid) && !(tab = table_ensure(t, n)))
        return -1;
    if (tab) {
        tab->cversion = m->cversion;
        tab->pzxid = m->pzxid;
    }
    return 0;
}

void tree_set_modified(struct tree *t, struct znode *n, int32_t version, int64_t mzxid,
                       int64_t mtime)
{
    n->version = version;
    if (!(n->flags & ZNODE_WIDE) && fits48(mzxid) && fits48(mtime)) {
        put48(n->mzxid, mzxid);
        put48(n->mtime, mtime);
        return;
    }
    struct znode_meta m;
    tree_get_meta(t, n, &m);
    if (set_wide(t, n, m.czxid, mzxid, m.ctime, mtime) < 0)
        abort();    /* out of memory while applying a committed txn */
}

void tree_set_acl(struct tree *t, struct znode *n, struct acl_list *acl, int32_t aversion)
{
    acl_list_ref(acl);
    acl_list_unref(tree_acl(n));
    n->acl = acl->id;
    if (set_aversion(t, n, aversion) < 0)
        abort();    /* out of memory while applying a committed txn */
}

void tree_set_child_counters(struct tree *t, struct znode *n, int32_t cversion, int64_t pzxid)
{
    struct child_table *tab = table_ensure(t, n);
    if (!tab)
        abort();    /* out of memory while applying a committed txn */
    tab->cversion = cversion;
    tab->pzxid = pzxid;
}

void tree_fill_stat(const struct tree *t, const struct znode *n, struct corral_stat *st)
{
    struct znode_meta m;
    tree_get_meta(t, n, &m);
    int32_t nc = tree_num_children(t, n), len;
    tree_data(t, n, &len);
    st->czxid = m.czxid;
    st->mzxid = m.mzxid;
    st->ctime = m.ctime;
    st->mtime = m.mtime;
    st->version = m.version;
    st->cversion = (int32_t)((uint32_t)m.cversion * 2 - (uint32_t)nc);
    st->aversion = m.aversion;
    /* Clients see an owner only for true ephemerals: containers and TTL nodes
     * keep their marker internally but show 0, as ZooKeeper does. */
    st->ephemeral_owner = znode_owner_is_session(m.owner) ? m.owner : 0;
    st->data_length = len > 0 ? len : 0;
    st->num_children = nc;
    st->pzxid = m.pzxid;
}
