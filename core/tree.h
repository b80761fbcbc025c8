/*
 * tree.h — the data tree: znodes with data, a compact stat and a shared ACL.
 *
 * A znode stores only its own name (the last path component), a pointer to
 * its parent and a hash of its children, so a path costs one piece per node
 * instead of a full string per node.  Lookup walks the components (one hash
 * probe each).  Only the loop thread touches the tree.
 */
#ifndef CORRAL_TREE_H
#define CORRAL_TREE_H

#include <stdint.h>
#include <uthash.h>
#include "corral/request.h"
#include "corral/codes.h"
#include "acl_cache.h"

struct znode {
    char *name;                 /* "" for the root */
    struct znode *parent;
    struct znode *children;     /* uthash head, keyed by name */
    UT_hash_handle hh;          /* membership in parent->children */
    uint8_t *data;
    int32_t data_len;           /* -1: null (distinct from empty, as clients see it) */
    struct acl_list *acl;
    int64_t czxid, mzxid, pzxid;
    int64_t ctime, mtime;
    int64_t ephemeral_owner;
    int32_t version, aversion;
    /*
     * Children created so far (ZooKeeper's persisted cversion): sequential
     * names number from it, snapshots store it.  Clients see
     * 2 * cversion - numChildren, i.e. creates plus deletes.
     */
    int32_t cversion;
};

struct tree {
    struct znode *root;
    int64_t node_count;
    int64_t data_size;          /* sum of path piece + data lengths, like ZooKeeper's approximate size */
};

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
int32_t tree_num_children(const struct znode *n);
/* The Stat a client sees (containers and TTL nodes show ephemeralOwner 0). */
void tree_fill_stat(const struct znode *n, struct corral_stat *st);
/* Write n's full path into buf (size cap); returns its length, or -1 if too long. */
int tree_path(const struct znode *n, char *buf, size_t cap);

#endif
