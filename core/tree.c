/*
 * tree.c — znode storage and lookup (see tree.h for the layout and why).
 *
 * A node is one malloc: header, name, inline data room.  The room is sized
 * to the data given at create time, plus whatever slack malloc's rounding
 * leaves (malloc_usable_size), so a later set of data up to that size is a
 * memcpy; bigger data goes to its own buffer, and comes back inline when it
 * shrinks enough again.
 *
 * Children tables use linear probing with backward-shift deletion (no
 * tombstones), grow at 3/4 full and shrink at 1/8, and are freed when the
 * last child goes.  Hashes are not stored: a probe compares names, which
 * are short, and a resize rehashes them.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "tree.h"

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

static struct znode *node_new(const char *name, size_t name_len, const uint8_t *data, int32_t len)
{
    size_t room = len > 0 ? (size_t)len : 0;
    size_t size = offsetof(struct znode, name) + name_len + 1 + room;
    struct znode *n = malloc(size);
    if (!n)
        return NULL;
    memset(n, 0, offsetof(struct znode, name));
#if defined(__GLIBC__)
    /* malloc rounds up: what it gives for free becomes data room too */
    size_t usable = malloc_usable_size(n);
    if (usable > size && usable - size < (1u << 20))
        room += usable - size;
#endif
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

static void node_free(struct znode *n)
{
    acl_list_unref(n->acl);
    if (n->data && !data_is_inline(n))
        free(n->data);
    free(n->kids);
    free(n);
}

/* ---- children tables ---- */

static struct child_table *table_new(uint32_t cap)
{
    struct child_table *tab = calloc(1, sizeof *tab + (size_t)cap * sizeof tab->slot[0]);
    if (tab)
        tab->mask = cap - 1;
    return tab;
}

/* Put c in the first free slot of its probe sequence (no duplicate check). */
static void table_put(struct child_table *tab, struct znode *c, uint64_t h)
{
    uint32_t i = (uint32_t)h & tab->mask;
    while (tab->slot[i])
        i = (i + 1) & tab->mask;
    tab->slot[i] = c;
    tab->count++;
}

/* Move every child of n to a table of cap slots; -1 (n unchanged) without memory. */
static int table_resize(struct znode *n, uint32_t cap)
{
    struct child_table *old = n->kids, *tab = table_new(cap);
    if (!tab)
        return -1;
    for (uint32_t i = 0; i <= old->mask; i++) {
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
    uint32_t i = (uint32_t)name_hash(name, len) & tab->mask;
    for (struct znode *c; (c = tab->slot[i]); i = (i + 1) & tab->mask)
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
    uint32_t mask = tab->mask;
    uint32_t i = (uint32_t)name_hash(c->name, strlen(c->name)) & mask;
    while (tab->slot[i] != c)
        i = (i + 1) & mask;
    for (uint32_t j = i;;) {
        j = (j + 1) & mask;
        struct znode *e = tab->slot[j];
        if (!e)
            break;
        uint32_t home = (uint32_t)name_hash(e->name, strlen(e->name)) & mask;
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
    } else if (mask + 1 > 16 && tab->count < (mask + 1) / 8) {
        table_resize(parent, (mask + 1) / 2);   /* without memory it just stays big */
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
    t->root = node_new("", 0, NULL, 0);
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
        for (uint32_t i = 0; i <= tab->mask; i++)
            if (tab->slot[i])
                destroy_rec(tab->slot[i]);
    node_free(n);
}

void tree_destroy(struct tree *t)
{
    if (t->root)
        destroy_rec(t->root);
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
    } else if ((tab->count + 1) * 4 > (tab->mask + 1) * 3) {
        if (table_resize(parent, (tab->mask + 1) * 2) < 0)
            return NULL;
        tab = parent->kids;
    }
    struct znode *n = node_new(name, name_len, data, len);
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
    node_free(n);
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
