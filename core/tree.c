/*
 * tree.c — znode storage and lookup (see tree.h).
 */
#include <stdlib.h>
#include <string.h>
#include "tree.h"

static struct znode *node_new(const char *name, size_t name_len)
{
    struct znode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->name = malloc(name_len + 1);
    if (!n->name) {
        free(n);
        return NULL;
    }
    memcpy(n->name, name, name_len);
    n->name[name_len] = 0;
    return n;
}

static void node_free(struct znode *n)
{
    acl_list_unref(n->acl);
    free(n->data);
    free(n->name);
    free(n);
}

int tree_init(struct tree *t)
{
    memset(t, 0, sizeof *t);
    struct corral_acl open = {CORRAL_PERM_ALL, "world", "anyone"};
    struct corral_acl read = {CORRAL_PERM_READ, "world", "anyone"};
    struct acl_list *open_acl = acl_cache_get(&open, 1);
    t->root = node_new("", 0);
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
    struct znode *c, *tmp;
    HASH_ITER(hh, n->children, c, tmp) {
        HASH_DEL(n->children, c);
        destroy_rec(c);
    }
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
    struct znode *c;
    HASH_FIND(hh, n->children, name, strlen(name), c);
    return c;
}

struct znode *tree_lookup(const struct tree *t, const char *path)
{
    if (!path || path[0] != '/')
        return NULL;
    struct znode *n = t->root;
    const char *p = path + 1;
    while (n && *p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        struct znode *c;
        HASH_FIND(hh, n->children, p, len, c);
        n = c;
        p += len;
        if (*p == '/')
            p++;
    }
    return n;
}

struct znode *tree_lookup_parent(const struct tree *t, const char *path, const char **name)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    *name = slash + 1;
    if (slash == path)
        return t->root;
    size_t len = (size_t)(slash - path);
    char stackbuf[512];
    char *pp = len < sizeof stackbuf ? stackbuf : malloc(len + 1);
    if (!pp)
        return NULL;
    memcpy(pp, path, len);
    pp[len] = 0;
    struct znode *n = tree_lookup(t, pp);
    if (pp != stackbuf)
        free(pp);
    return n;
}

struct znode *tree_add_child(struct tree *t, struct znode *parent, const char *name,
                             const uint8_t *data, int32_t len, struct acl_list *acl)
{
    size_t name_len = strlen(name);
    struct znode *n = node_new(name, name_len);
    if (!n)
        return NULL;
    if (len > 0) {
        n->data = malloc((size_t)len);
        if (!n->data) {
            node_free(n);
            return NULL;
        }
        memcpy(n->data, data, (size_t)len);
    }
    n->data_len = len < 0 ? -1 : len;
    n->acl = acl;
    acl_list_ref(acl);
    n->parent = parent;
    HASH_ADD_KEYPTR(hh, parent->children, n->name, name_len, n);
    t->node_count++;
    t->data_size += (int64_t)name_len + (n->data_len > 0 ? n->data_len : 0);
    return n;
}

void tree_remove(struct tree *t, struct znode *n)
{
    HASH_DEL(n->parent->children, n);
    t->node_count--;
    t->data_size -= (int64_t)strlen(n->name) + (n->data_len > 0 ? n->data_len : 0);
    node_free(n);
}

void tree_set_data(struct tree *t, struct znode *n, const uint8_t *data, int32_t len)
{
    uint8_t *copy = NULL;
    if (len < 0)
        len = -1;               /* a null buffer stays null, as in ZooKeeper */
    if (len > 0) {
        copy = malloc((size_t)len);
        if (!copy)
            abort(); /* out of memory while applying a committed txn: cannot continue consistently */
        memcpy(copy, data, (size_t)len);
    }
    t->data_size += (len > 0 ? len : 0) - (n->data_len > 0 ? n->data_len : 0);
    free(n->data);
    n->data = copy;
    n->data_len = len;
}

int32_t tree_num_children(const struct znode *n) { return (int32_t)HASH_COUNT(n->children); }

void tree_fill_stat(const struct znode *n, struct corral_stat *st)
{
    st->czxid = n->czxid;
    st->mzxid = n->mzxid;
    st->ctime = n->ctime;
    st->mtime = n->mtime;
    st->version = n->version;
    st->cversion = (int32_t)((uint32_t)n->cversion * 2 - (uint32_t)tree_num_children(n));
    st->aversion = n->aversion;
    /* Clients see an owner only for true ephemerals: containers and TTL nodes
     * keep their marker internally but show 0, as ZooKeeper does. */
    int64_t o = n->ephemeral_owner;
    st->ephemeral_owner =
        (o == INT64_MIN || (o & (int64_t)0xFF00000000000000ULL) == (int64_t)0xFF00000000000000ULL)
            ? 0 : o;
    st->data_length = n->data_len > 0 ? n->data_len : 0;
    st->num_children = tree_num_children(n);
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
