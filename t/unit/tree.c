/*
 * tree.c — unit tests of the data tree (core/tree.c) and the ACL cache:
 * lookup by path, adding and removing children, stats, paths rebuilt from
 * name pieces, identical ACL lists shared, and path validation rules.
 */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "tree.h"
#include "path.h"
#include "acl_cache.h"

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
