/*
 * tree.h — the data tree: znodes with data, a compact stat and a shared ACL.
 *
 * Memory is the point of this layout (issue 5: a million znodes must cost a
 * fifth of what they cost in ZooKeeper).  A znode is ONE allocation: the
 * fixed fields below, then its own name (the last path component, not the
 * full path), then its data when the data fits in the room the node was
 * allocated with (the size at create time plus malloc's rounding slack).
 * Bigger data set later lives in a separate buffer.  Children are found
 * through a per-parent open-addressing table of node pointers (8 bytes a
 * child at most 3/4 full), absent for leaves; there is no per-node hash
 * handle or sibling link.  Lookup walks the components, one probe each.
 * Only the loop thread touches the tree.
 *
 * Callers read and write the stat fields and `acl` directly; they iterate
 * children with TREE_FOREACH_CHILD (order unspecified, as in ZooKeeper) and
 * must not add or remove children of the node while iterating.  `data`
 * stays valid until the next tree_set_data/tree_remove of the node.
 */
#ifndef CORRAL_TREE_H
#define CORRAL_TREE_H

#include <stdint.h>
#include "corral/request.h"
#include "corral/codes.h"
#include "acl_cache.h"

struct znode;

/* A parent's children: open addressing, linear probing, any capacity. */
struct child_table {
    uint32_t count;
    uint32_t cap;               /* slots */
    struct znode *slot[];       /* NULL: free */
};

struct znode {
    struct znode *parent;       /* NULL for the root */
    struct child_table *kids;   /* NULL: no children */
    uint8_t *data;              /* NULL when null or empty; else inside the node or malloc'd */
    struct acl_list *acl;
    int64_t czxid, mzxid, pzxid;
    int64_t ctime, mtime;
    int64_t ephemeral_owner;
    int32_t data_len;           /* -1: null (distinct from empty, as clients see it) */
    int32_t version, aversion;
    /*
     * Children created so far (ZooKeeper's persisted cversion): sequential
     * names number from it, snapshots store it.  Clients see
     * 2 * cversion - numChildren, i.e. creates plus deletes.
     */
    int32_t cversion;
    uint32_t inline_cap;        /* bytes of data room after name's NUL */
    char name[];                /* "" for the root; NUL-terminated, then the inline data room */
};

/*
 * Where small nodes live (tree.c): big chunks carved in 8-byte steps, a free
 * list per size, no per-node malloc header or 16-byte rounding.
 */
#define TREE_ARENA_MAX 512                      /* bigger nodes are malloc'd */
struct tree_arena {
    struct tree_chunk *chunks;                  /* every chunk, newest first */
    uint8_t *next, *end;                        /* the newest chunk's free tail */
    size_t chunk_size;                          /* of the next chunk (grows) */
    struct znode *free[TREE_ARENA_MAX / 8 + 1]; /* freed nodes by size / 8 */
};

struct tree {
    struct tree_arena arena;
    struct znode *root;
    int64_t node_count;
    int64_t data_size;          /* sum of path piece + data lengths, like ZooKeeper's approximate size */
};

/*
 * for each child c of n (declares `struct znode *c`).  A `break` in the body
 * only skips to the next slot: do not rely on it.
 */
#define TREE_FOREACH_CHILD(n, c)                                                    \
    for (struct znode *const *c##_it_ = tree_child_slots(n),                        \
                     *const *c##_end_ = c##_it_ + tree_child_capacity(n);           \
         c##_it_ < c##_end_; c##_it_++)                                             \
        for (struct znode *c = *c##_it_; c; c = NULL)

/* Create the tree with "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config". */
int tree_init(struct tree *t);
void tree_destroy(struct tree *t);

struct znode *tree_lookup(const struct tree *t, const char *path);
/* The parent path's node for `path` (which must be valid and not "/"). */
struct znode *tree_lookup_parent(const struct tree *t, const char *path, const char **name);
struct znode *tree_child(const struct znode *n, const char *name);
/* Add a child (name must not exist); takes a reference on acl; copies data. */
struct znode *tree_add_child(struct tree *t, struct znode *parent, const char *name,
                             const uint8_t *data, int32_t len, struct acl_list *acl);
/* Remove a childless node. */
void tree_remove(struct tree *t, struct znode *n);
void tree_set_data(struct tree *t, struct znode *n, const uint8_t *data, int32_t len);
static inline int32_t tree_num_children(const struct znode *n)
{
    return n->kids ? (int32_t)n->kids->count : 0;
}
/* The Stat a client sees (containers and TTL nodes show ephemeralOwner 0). */
void tree_fill_stat(const struct znode *n, struct corral_stat *st);
/* Write n's full path into buf (size cap); returns its length, or -1 if too long. */
int tree_path(const struct znode *n, char *buf, size_t cap);

/* For TREE_FOREACH_CHILD: the slot array (never NULL) and its length. */
struct znode *const *tree_child_slots(const struct znode *n);
static inline uint32_t tree_child_capacity(const struct znode *n)
{
    return n->kids ? n->kids->cap : 0;
}

#endif
