/*
 * tree.c — unit tests of the data tree (core/tree.c) and the ACL cache:
 * lookup by path, adding and removing children, stats, paths rebuilt from
 * name pieces, identical ACL lists shared, and path validation rules.
 * The children tables (open addressing with backward-shift deletion) get
 * many children, deletes and re-inserts, and a random run checked against
 * a plain array; node data moves between the node's inline room and a
 * buffer of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "tree.h"
#include "path.h"
#include "acl_cache.h"

/* Sum of name and data lengths below n (n's own included), as data_size counts. */
static int64_t size_below(const struct znode *n)
{
    int64_t total = (int64_t)strlen(n->name) + (n->data_len > 0 ? n->data_len : 0);
    TREE_FOREACH_CHILD(n, c)
        total += size_below(c);
    return total;
}

#define MANY 20000

/* Many children under one parent: lookups, iteration, deletes, re-inserts. */
static void many_children(struct tree *t, struct acl_list *acl)
{
    struct znode *p = tree_add_child(t, t->root, "many", NULL, 0, acl);
    static const char pattern[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";
    char name[32], path[64];
    int bad = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof name, "member-%010d", i);
        if (!tree_add_child(t, p, name, (const uint8_t *)pattern + i % 7, i % 40, acl))
            bad++;
    }
    ok(!bad, "%d children added", MANY);
    is_int(tree_num_children(p), MANY, "numChildren counts them all");
    bad = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(path, sizeof path, "/many/member-%010d", i);
        struct znode *n = tree_lookup(t, path);
        if (!n || n->parent != p || n->data_len != i % 40 ||
            (n->data_len && memcmp(n->data, pattern + i % 7, (size_t)n->data_len)))
            bad++;
    }
    ok(!bad, "every child found by path with its data");
    static unsigned char seen[MANY];
    memset(seen, 0, sizeof seen);
    int visits = 0;
    bad = 0;
    TREE_FOREACH_CHILD(p, c) {
        int i = atoi(c->name + 7);
        if (i < 0 || i >= MANY || seen[i]++)
            bad++;
        visits++;
    }
    ok(!bad && visits == MANY, "iteration visits each child once (%d visits)", visits);

    for (int i = 1; i < MANY; i += 2) {
        snprintf(name, sizeof name, "member-%010d", i);
        tree_remove(t, tree_child(p, name));
    }
    is_int(tree_num_children(p), MANY / 2, "half removed");
    bad = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof name, "member-%010d", i);
        if ((tree_child(p, name) != NULL) != (i % 2 == 0))
            bad++;
    }
    ok(!bad, "removed children are gone, the others still found");
    visits = 0;
    TREE_FOREACH_CHILD(p, c)
        visits++;
    is_int(visits, MANY / 2, "iteration after removals sees the rest");
    for (int i = 1; i < MANY; i += 2) {
        snprintf(name, sizeof name, "member-%010d", i);
        tree_add_child(t, p, name, NULL, -1, acl);
    }
    bad = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof name, "member-%010d", i);
        struct znode *n = tree_child(p, name);
        if (!n || (i % 2 && n->data_len != -1))
            bad++;
    }
    ok(!bad && tree_num_children(p) == MANY, "re-inserted children found again");
    is_int(t->data_size, size_below(t->root), "data_size matches names + data");

    /* empty it: the table goes away; the parent is a leaf again */
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof name, "member-%010d", i);
        tree_remove(t, tree_child(p, name));
    }
    ok(tree_num_children(p) == 0 && p->kids == NULL, "last child removed frees the table");
    visits = 0;
    TREE_FOREACH_CHILD(p, c)
        visits++;
    is_int(visits, 0, "a leaf has nothing to iterate");
    ok(tree_add_child(t, p, "again", NULL, 0, acl) && tree_lookup(t, "/many/again"),
       "a child added after that is found");
    tree_remove(t, tree_child(p, "again"));
    tree_remove(t, p);
}

/* Random adds and removes over a small name space, checked against an array. */
static void random_run(struct tree *t, struct acl_list *acl)
{
    enum { NAMES = 300, OPS = 60000 };
    struct znode *p = tree_add_child(t, t->root, "rnd", NULL, 0, acl);
    static struct znode *model[NAMES];
    memset(model, 0, sizeof model);
    unsigned seed = 12345;
    int bad = 0, count = 0;
    char name[16];
    for (int op = 0; op < OPS; op++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % NAMES);
        /* phases: mostly adds, then mostly removes, so tables grow and shrink */
        int add_bias = (op / 10000) % 2 == 0 ? 70 : 30;
        int add = (int)((seed >> 20) % 100) < add_bias;
        snprintf(name, sizeof name, "n%d", i);
        if (add && !model[i]) {
            model[i] = tree_add_child(t, p, name, (const uint8_t *)"x", 1, acl);
            count++;
        } else if (!add && model[i]) {
            tree_remove(t, model[i]);
            model[i] = NULL;
            count--;
        }
        if (op % 997 == 0 || op == OPS - 1) {
            for (int k = 0; k < NAMES; k++) {
                snprintf(name, sizeof name, "n%d", k);
                if (tree_child(p, name) != model[k])
                    bad++;
            }
            if (tree_num_children(p) != count)
                bad++;
        }
    }
    ok(!bad, "random adds/removes agree with the model (%d children left)", count);
    for (int k = 0; k < NAMES; k++)
        if (model[k])
            tree_remove(t, model[k]);
    ok(p->kids == NULL, "all removed");
    tree_remove(t, p);
}

/* Data in the node's own room, in a buffer of its own, null and empty. */
static void data_moves(struct tree *t, struct acl_list *acl)
{
    struct znode *n = tree_add_child(t, t->root, "d", (const uint8_t *)"hello", 5, acl);
    const uint8_t *room = n->data;
    ok(room && n->inline_cap >= 5, "data starts inside the node");
    tree_set_data(t, n, (const uint8_t *)"abc", 3);
    ok(n->data == room && n->data_len == 3 && !memcmp(n->data, "abc", 3),
       "smaller data stays inside the node");
    static uint8_t big[300];
    memset(big, 'B', sizeof big);
    tree_set_data(t, n, big, sizeof big);
    ok(n->data != room && n->data_len == 300 && n->data[299] == 'B',
       "bigger data gets a buffer of its own");
    tree_set_data(t, n, n->data, 4);
    ok(n->data == room && n->data_len == 4 && !memcmp(n->data, "BBBB", 4),
       "set from its own buffer, shrunk back inside the node");
    tree_set_data(t, n, n->data + 1, 3);
    ok(n->data == room && !memcmp(n->data, "BBB", 3), "set from its own inline bytes");
    tree_set_data(t, n, NULL, -1);
    ok(n->data == NULL && n->data_len == -1, "null data is null");
    tree_set_data(t, n, (const uint8_t *)"", 0);
    ok(n->data == NULL && n->data_len == 0, "empty data is empty, not null");
    tree_set_data(t, n, big, sizeof big);
    is_int(t->data_size, size_below(t->root), "data_size follows every set");
    struct znode *e = tree_add_child(t, t->root, "e", NULL, 0, acl);
    tree_set_data(t, e, (const uint8_t *)"later", 5);
    ok(e->data_len == 5 && !memcmp(e->data, "later", 5), "data set on a node created empty");
    tree_remove(t, e);
    tree_remove(t, n);       /* frees the separate buffer: sanitizers would see a leak */

    /* a long name and a path longer than any stack buffer */
    char longname[301], path[1000];
    memset(longname, 'L', 300);
    longname[300] = 0;
    struct znode *a = tree_add_child(t, t->root, longname, NULL, 0, acl);
    struct znode *b = tree_add_child(t, a, longname, (const uint8_t *)"x", 1, acl);
    snprintf(path, sizeof path, "/%s/%s", longname, longname);
    const char *leaf;
    ok(tree_lookup(t, path) == b && tree_lookup_parent(t, path, &leaf) == a &&
       !strcmp(leaf, longname), "300-character names, 602-character path");
    char back[1000];
    ok(tree_path(b, back, sizeof back) == 602 && !strcmp(back, path), "long path rebuilt");
    tree_remove(t, b);
    tree_remove(t, a);
}

int main(void)
{
    struct tree t;
    ok(tree_init(&t) == 0, "tree_init builds the initial tree");
    ok(tree_lookup(&t, "/") == t.root, "'/' is the root");
    ok(tree_lookup(&t, "/zookeeper") != NULL, "/zookeeper exists from the start");
    ok(tree_lookup(&t, "/zookeeper/quota") != NULL, "/zookeeper/quota exists from the start");
    ok(tree_lookup(&t, "/zookeeper/config") != NULL, "/zookeeper/config exists from the start");
    is_int(t.node_count, 4, "four system nodes counted");
    ok(tree_lookup(&t, "/nope") == NULL, "a missing path is not found");
    ok(tree_lookup(&t, "relative") == NULL, "a relative path is not found");

    struct corral_acl open = {CORRAL_PERM_ALL, "world", "anyone"};
    struct acl_list *acl = acl_cache_get(&open, 1);
    struct acl_list *acl2 = acl_cache_get(&open, 1);
    ok(acl == acl2, "identical ACL lists are one shared list");
    struct corral_acl other = {CORRAL_PERM_READ, "world", "anyone"};
    struct acl_list *acl3 = acl_cache_get(&other, 1);
    ok(acl3 != acl, "a different ACL list is a different entry");
    acl_list_unref(acl2);
    acl_list_unref(acl3);

    struct znode *a = tree_add_child(&t, t.root, "a", (const uint8_t *)"hello", 5, acl);
    ok(a && tree_lookup(&t, "/a") == a, "added /a is found by path");
    struct znode *b = tree_add_child(&t, a, "b", NULL, 0, acl);
    ok(tree_lookup(&t, "/a/b") == b, "added /a/b is found by path");
    ok(tree_lookup(&t, "/a/b/") == b || tree_lookup(&t, "/a/b/") == NULL,
       "trailing slash lookup does not crash");
    is_int(tree_num_children(a), 1, "/a has one child");
    is_int(tree_num_children(t.root), 2, "root has /zookeeper and /a");
    char buf[64];
    is_int(tree_path(b, buf, sizeof buf), 4, "path of /a/b has length 4");
    is_str(buf, "/a/b", "path rebuilt from the name pieces");
    ok(tree_path(b, buf, 3) == -1, "too small a buffer is refused");

    struct corral_stat st;
    tree_fill_stat(a, &st);
    is_int(st.data_length, 5, "stat dataLength is the data size");
    is_int(st.num_children, 1, "stat numChildren counts children");
    tree_set_data(&t, a, (const uint8_t *)"hi", 2);
    tree_fill_stat(a, &st);
    is_int(st.data_length, 2, "setting data updates dataLength");
    ok(memcmp(a->data, "hi", 2) == 0, "new data stored");

    const char *name;
    ok(tree_lookup_parent(&t, "/a/b", &name) == a && !strcmp(name, "b"),
       "parent of /a/b is /a, name b");
    ok(tree_lookup_parent(&t, "/x", &name) == t.root && !strcmp(name, "x"),
       "parent of /x is the root");

    int64_t before = t.node_count;
    tree_remove(&t, b);
    is_int(t.node_count, before - 1, "removing a node decrements the count");
    ok(tree_lookup(&t, "/a/b") == NULL, "removed node is gone");
    is_int(acl->refs, 5, "ACL references follow nodes: /, /zookeeper, /zookeeper/quota, /a and ours");

    many_children(&t, acl);
    random_run(&t, acl);
    data_moves(&t, acl);
    is_int(acl->refs, 5, "ACL references back to five after the bulk tests");
    is_int(t.data_size, size_below(t.root), "data_size matches the tree after the bulk tests");

    /* path rules */
    ok(path_is_valid("/", 0), "'/' is valid");
    ok(path_is_valid("/a/b-c_d.e", 0), "ordinary path is valid");
    ok(!path_is_valid("", 0), "empty path is invalid");
    ok(!path_is_valid("a/b", 0), "relative path is invalid");
    ok(!path_is_valid("/a/", 0), "trailing slash is invalid");
    ok(path_is_valid("/a/", 1), "trailing slash is valid for a sequential create");
    ok(!path_is_valid("/a//b", 0), "empty component is invalid");
    ok(!path_is_valid("/a/./b", 0), "'.' component is invalid");
    ok(!path_is_valid("/a/..", 0), "'..' component is invalid");
    ok(path_is_valid("/a/..b", 0), "'..b' is an ordinary name");
    ok(!path_is_valid("/a\x01", 0), "control character is invalid");
    ok(!path_is_valid("/a\xc2\x85", 0), "C1 control character (U+0085) is invalid");
    ok(path_is_valid("/caf\xc3\xa9", 0), "UTF-8 letters are valid");
    ok(!path_is_valid("/bad\xff", 0), "malformed UTF-8 is invalid");
    ok(!path_is_valid("/\xef\xbf\xbf", 0), "U+FFFF is invalid");

    acl_list_unref(acl);
    tree_destroy(&t);
    is_int(acl_cache_size(), 0, "destroying the tree releases every ACL list");
    return done_testing();
}
