/*
 * tree.h — the data tree: znodes with data, a compact stat and a shared ACL.
 *
 * Memory is the point of this layout (issue 5: a million znodes must cost a
 * fifth of what they cost in ZooKeeper).  A znode is ONE block of the tree's
 * arena: a 46-byte header, its own name (the last path component, not the
 * full path) and its data.  What makes the header small:
 *  - other nodes are 4-byte references into the arena (one reserved address
 *    range), not 8-byte pointers; a node has no parent link (every change
 *    comes with its path) and no sibling link;
 *  - the ACL list, the owner (session, container or TTL marker) and the
 *    children table are 4-byte ids into tables of their own;
 *  - czxid, mzxid, ctime and mtime take 48 bits each; a value that does not
 *    fit (an epoch of 2^16, a negative time) moves the four to a side entry;
 *  - pzxid and cversion live in the children table: a node that never had a
 *    child has pzxid = czxid and cversion = 0;
 *  - data lives in the block, which is reallocated when the data outgrows
 *    it (up to 64 KiB; bigger data has a buffer of its own), and so does
 *    an aversion of 255 or more (side entry too).
 * Children are found through a per-parent open-addressing table of node
 * references, each table hashing with a random seed of its own (so loading
 * children in the order another table lists them stays linear: tree.c).
 * Only the loop thread touches the tree.
 *
 * So callers never touch the packed fields: they read a node's metadata
 * with tree_get_meta / tree_fill_stat and the accessors below, change it
 * with the tree_set_* functions, and iterate children with
 * TREE_FOREACH_CHILD (order unspecified, as in ZooKeeper; do not add or
 * remove children of the node while iterating).  A node pointer and its
 * data pointer stay valid until the next change of that node's data
 * (tree_set_data may move the node: use the pointer it returns) or its
 * removal.
 */
#ifndef CORRAL_TREE_H
#define CORRAL_TREE_H

#include <stddef.h>
#include <stdint.h>
#include "corral/request.h"
#include "corral/codes.h"
#include "acl_cache.h"
#include "idpool.h"

struct znode {
    uint32_t kids;              /* children table id (tree.tables), 0: never had a child */
    uint32_t acl;               /* acl_cache id */
    uint32_t owner;             /* owner id (tree.owners), 0: none (a plain persistent node) */
    int32_t version;
    uint16_t czxid[3], mzxid[3], ctime[3], mtime[3];   /* 48-bit, see tree.c */
    uint16_t data_len;          /* bytes of inline data */
    uint16_t inline_cap;        /* bytes of data room after the name's NUL */
    uint8_t aversion;           /* 255: the value is in the side entry */
    uint8_t flags;              /* ZNODE_* in tree.c */
    char name[];                /* "" for the root; NUL-terminated, then the data room */
};

/*
 * What ZooKeeper persists as ephemeralOwner besides a session id
 * (EphemeralType): a container's marker, and a TTL node's marker bits with
 * the TTL in milliseconds below them.
 */
#define ZNODE_CONTAINER_OWNER INT64_MIN
#define ZNODE_TTL_OWNER_BITS ((int64_t)0xFF00000000000000ULL)
#define ZNODE_TTL_MASK ((int64_t)0x000000FFFFFFFFFFLL)

static inline int znode_owner_is_container(int64_t o) { return o == ZNODE_CONTAINER_OWNER; }
static inline int znode_owner_is_ttl(int64_t o)
{
    return (o & ZNODE_TTL_OWNER_BITS) == ZNODE_TTL_OWNER_BITS;
}
/* An ephemeral's owner: a session, not 0 and not a marker. */
static inline int znode_owner_is_session(int64_t o)
{
    return o != 0 && !znode_owner_is_container(o) && !znode_owner_is_ttl(o);
}

/* A node's metadata at full width. */
struct znode_meta {
    int64_t czxid, mzxid, pzxid;
    int64_t ctime, mtime;
    /* the persisted owner: a session id, or the container / TTL marker */
    int64_t owner;
    int32_t version, aversion;
    /*
     * Children created so far (ZooKeeper's persisted cversion): sequential
     * names number from it, snapshots store it.  Clients see
     * 2 * cversion - numChildren, i.e. creates plus deletes.
     */
    int32_t cversion;
};

/* Where nodes live (tree.c): one reserved address range, carved in 4-byte units. */
#define TREE_ARENA_CLASSES 360
struct tree_arena {
    uint8_t *base;              /* reference r is base + 4 r; r = 0 is no node */
    size_t reserved, committed, used;           /* bytes from base */
    size_t grow;                                /* bytes of the next commit */
    uint32_t free[TREE_ARENA_CLASSES];          /* free blocks by size class */
};

struct tree {
    struct tree_arena arena;
    struct znode *root;
    struct id_pool tables;      /* children tables */
    struct id_pool owners;      /* distinct owners, shared by their nodes */
    struct owner_entry *owner_index, *last_owner;
    struct znode_extra *extras; /* side entries, by node reference */
    uint64_t moves;             /* nodes moved so far: pointers held across a change compare it */
    uint64_t seed_state;        /* where the children tables' hash seeds come from (tree.c) */
    int64_t node_count;
    int64_t data_size;          /* sum of path piece + data lengths, like ZooKeeper's approximate size */
};

static inline struct znode *tree_node_at(const struct tree *t, uint32_t ref)
{
    return (struct znode *)(t->arena.base + (size_t)ref * 4);
}

/* For TREE_FOREACH_CHILD: a parent's slots (never NULL) and how many there are. */
const uint32_t *tree_child_slots(const struct tree *t, const struct znode *n);
uint32_t tree_child_capacity(const struct tree *t, const struct znode *n);

/*
 * for each child c of n (declares `struct znode *c`).  A `break` in the body
 * only skips to the next slot: do not rely on it.
 */
#define TREE_FOREACH_CHILD(t, n, c)                                                 \
    for (const uint32_t *c##_it_ = tree_child_slots(t, n),                          \
                        *c##_end_ = c##_it_ + tree_child_capacity(t, n);            \
         c##_it_ < c##_end_; c##_it_++)                                             \
        for (struct znode *c = *c##_it_ ? tree_node_at(t, *c##_it_) : NULL; c; c = NULL)

/* Create the tree with "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config". */
int tree_init(struct tree *t);
void tree_destroy(struct tree *t);

struct znode *tree_lookup(const struct tree *t, const char *path);
/* The node at path and its parent (NULL for the root), or NULL. */
struct znode *tree_find(const struct tree *t, const char *path, struct znode **parent);
/* The parent path's node for `path` (which must be valid and not "/"). */
struct znode *tree_lookup_parent(const struct tree *t, const char *path, const char **name);
struct znode *tree_child(const struct tree *t, const struct znode *n, const char *name);
/*
 * Add a child (name must not exist); takes a reference on acl; copies data.
 * Its stat is all zero until tree_set_meta.  NULL: out of memory.
 */
struct znode *tree_add_child(struct tree *t, struct znode *parent, const char *name,
                             const uint8_t *data, int32_t len, struct acl_list *acl);
/* Remove n, a childless child of parent. */
void tree_remove(struct tree *t, struct znode *parent, struct znode *n);
/*
 * Replace n's data (len -1: null); n is a child of parent, or the root with
 * parent NULL.  Returns n, which may have moved (then t->moves grows and
 * every other node pointer should be looked up again).
 */
struct znode *tree_set_node_data(struct tree *t, struct znode *parent, struct znode *n,
                                 const uint8_t *data, int32_t len);
/* The same by path; NULL if there is no such node. */
struct znode *tree_set_data(struct tree *t, const char *path, const uint8_t *data, int32_t len);

int32_t tree_num_children(const struct tree *t, const struct znode *n);
/* n's data (NULL when null or empty) and its length (-1: null). */
const uint8_t *tree_data(const struct tree *t, const struct znode *n, int32_t *len);
static inline struct acl_list *tree_acl(const struct znode *n) { return acl_cache_by_id(n->acl); }

void tree_get_meta(const struct tree *t, const struct znode *n, struct znode_meta *m);
/* Store every field of m in n (create and snapshot load).  -1: out of memory. */
int tree_set_meta(struct tree *t, struct znode *n, const struct znode_meta *m);
int64_t tree_mzxid(const struct tree *t, const struct znode *n);
int64_t tree_pzxid(const struct tree *t, const struct znode *n);
int64_t tree_owner(const struct tree *t, const struct znode *n);
/* setData: the new version, mzxid and mtime. */
void tree_set_modified(struct tree *t, struct znode *n, int32_t version, int64_t mzxid,
                       int64_t mtime);
/* Replace n's ACL (takes a reference on acl) and set its aversion. */
void tree_set_acl(struct tree *t, struct znode *n, struct acl_list *acl, int32_t aversion);
/* A child was created (cversion and pzxid) or deleted (cversion unchanged). */
void tree_set_child_counters(struct tree *t, struct znode *n, int32_t cversion, int64_t pzxid);

/* The Stat a client sees (containers and TTL nodes show ephemeralOwner 0). */
void tree_fill_stat(const struct tree *t, const struct znode *n, struct corral_stat *st);

#endif
