/*
 * tree.c — unit tests of the data tree (core/tree.c) and the ACL cache:
 * lookup by path, adding and removing children, stats, paths rebuilt from
 * name pieces, identical ACL lists shared, and path validation rules.
 * The children tables (open addressing with backward-shift deletion) get
 * many children, deletes and re-inserts, and a random run checked against
 * a plain array; node data stays in the node's block, which moves when
 * the data outgrows it, or goes to a buffer of its own above 64 KiB.  The
 * packed metadata (48-bit fields, shared owners, counters in the children
 * table) reads back at full width, escapes included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "tree.h"
#include "path.h"
#include "acl_cache.h"

/* Sum of name and data lengths below n (n's own included), as data_size counts. */
static int64_t size_below(const struct tree *t, const struct znode *n)
{
    int32_t len;
    tree_data(t, n, &len);
    int64_t total = (int64_t)strlen(n->name) + (len > 0 ? len : 0);
    TREE_FOREACH_CHILD(t, n, c)
        total += size_below(t, c);
    return total;
}

/* n's data equals want[0..len) (len -1: null). */
static int data_is(const struct tree *t, const struct znode *n, const void *want, int32_t len)
{
    int32_t got;
    const uint8_t *d = tree_data(t, n, &got);
    return got == len && (len <= 0 ? d == NULL : memcmp(d, want, (size_t)len) == 0);
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
    is_int(tree_num_children(t, p), MANY, "numChildren counts them all");
    bad = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(path, sizeof path, "/many/member-%010d", i);
        struct znode *n = tree_lookup(t, path);
        if (!n || tree_child(t, p, n->name) != n || !data_is(t, n, pattern + i % 7, i % 40))
            bad++;
    }
    ok(!bad, "every child found by path with its data");
    static unsigned char seen[MANY];
    memset(seen, 0, sizeof seen);
    int visits = 0;
    bad = 0;
    TREE_FOREACH_CHILD(t, p, c) {
        int i = atoi(c->name + 7);
        if (i < 0 || i >= MANY || seen[i]++)
            bad++;
        visits++;
    }
    ok(!bad && visits == MANY, "iteration visits each child once (%d visits)", visits);

    for (int i = 1; i < MANY; i += 2) {
        snprintf(name, sizeof name, "member-%010d", i);
        tree_remove(t, p, tree_child(t, p, name));
    }
    is_int(tree_num_children(t, p), MANY / 2, "half removed");
    bad = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof name, "member-%010d", i);
        if ((tree_child(t, p, name) != NULL) != (i % 2 == 0))
            bad++;
    }
    ok(!bad, "removed children are gone, the others still found");
    visits = 0;
    TREE_FOREACH_CHILD(t, p, c)
        visits++;
    is_int(visits, MANY / 2, "iteration after removals sees the rest");
    for (int i = 1; i < MANY; i += 2) {
        snprintf(name, sizeof name, "member-%010d", i);
        tree_add_child(t, p, name, NULL, -1, acl);
    }
    bad = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof name, "member-%010d", i);
        struct znode *n = tree_child(t, p, name);
        if (!n || (i % 2 && !data_is(t, n, NULL, -1)))
            bad++;
    }
    ok(!bad && tree_num_children(t, p) == MANY, "re-inserted children found again");
    is_int(t->data_size, size_below(t, t->root), "data_size matches names + data");

    /* empty it: the table goes away; the parent is a leaf again */
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof name, "member-%010d", i);
        tree_remove(t, p, tree_child(t, p, name));
    }
    ok(tree_num_children(t, p) == 0 && tree_child_capacity(t, p) == 0,
       "last child removed frees the table's slots");
    visits = 0;
    TREE_FOREACH_CHILD(t, p, c)
        visits++;
    is_int(visits, 0, "a leaf has nothing to iterate");
    ok(tree_add_child(t, p, "again", NULL, 0, acl) && tree_lookup(t, "/many/again"),
       "a child added after that is found");
    tree_remove(t, p, tree_child(t, p, "again"));
    tree_remove(t, t->root, p);
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
            tree_remove(t, p, model[i]);
            model[i] = NULL;
            count--;
        }
        if (op % 997 == 0 || op == OPS - 1) {
            for (int k = 0; k < NAMES; k++) {
                snprintf(name, sizeof name, "n%d", k);
                if (tree_child(t, p, name) != model[k])
                    bad++;
            }
            if (tree_num_children(t, p) != count)
                bad++;
        }
    }
    ok(!bad, "random adds/removes agree with the model (%d children left)", count);
    for (int k = 0; k < NAMES; k++)
        if (model[k])
            tree_remove(t, p, model[k]);
    ok(tree_num_children(t, p) == 0 && tree_child_capacity(t, p) == 0, "all removed");
    tree_remove(t, t->root, p);
}

/* Data in the node's block (which moves as it grows), in a buffer of its own, null and empty. */
static void data_moves(struct tree *t, struct acl_list *acl)
{
    struct znode *n = tree_add_child(t, t->root, "d", (const uint8_t *)"hello", 5, acl);
    ok(n && data_is(t, n, "hello", 5) && n->inline_cap >= 5, "data starts inside the node");
    struct znode *before = n;
    n = tree_set_data(t, "/d", (const uint8_t *)"abc", 3);
    ok(n == before && data_is(t, n, "abc", 3), "smaller data stays inside the node, which stays put");
    static uint8_t big[300];
    memset(big, 'B', sizeof big);
    big[299] = 'E';
    uint64_t moves = t->moves;
    n = tree_set_data(t, "/d", big, sizeof big);
    ok(n && tree_lookup(t, "/d") == n && data_is(t, n, big, sizeof big) && n->inline_cap >= 300,
       "bigger data moves the node to a bigger block, found by path there");
    is_int((int64_t)(t->moves - moves), 1, "the tree counts the move");
    const uint8_t *own;
    int32_t len;
    own = tree_data(t, n, &len);
    n = tree_set_data(t, "/d", own + 296, 4);
    ok(data_is(t, n, "BBBE", 4), "set from its own bytes, shrunk (the node moves back to a small block)");
    own = tree_data(t, n, &len);
    n = tree_set_data(t, "/d", own + 1, 3);
    ok(data_is(t, n, "BBE", 3), "set from its own bytes again");
    n = tree_set_data(t, "/d", NULL, -1);
    ok(data_is(t, n, NULL, -1), "null data is null");
    n = tree_set_data(t, "/d", (const uint8_t *)"", 0);
    ok(data_is(t, n, NULL, 0), "empty data is empty, not null");

    /* over 64 KiB: a buffer of its own */
    size_t huge_len = 100000;
    uint8_t *huge = malloc(huge_len);
    for (size_t i = 0; i < huge_len; i++)
        huge[i] = (uint8_t)(i * 7);
    n = tree_set_data(t, "/d", huge, (int32_t)huge_len);
    ok(data_is(t, n, huge, (int32_t)huge_len), "100000 bytes stored");
    own = tree_data(t, n, &len);
    n = tree_set_data(t, "/d", own + 10, 70000);
    ok(data_is(t, n, huge + 10, 70000), "set from its own big buffer");
    own = tree_data(t, n, &len);
    n = tree_set_data(t, "/d", own + 5, 20);
    ok(data_is(t, n, huge + 15, 20), "back inside a node from the big buffer");
    struct znode *h = tree_add_child(t, t->root, "h", huge, (int32_t)huge_len, acl);
    ok(h && data_is(t, h, huge, (int32_t)huge_len), "a node created with 100000 bytes");
    free(huge);
    n = tree_set_data(t, "/d", big, sizeof big);
    is_int(t->data_size, size_below(t, t->root), "data_size follows every set");
    ok(tree_set_data(t, "/nope", big, 1) == NULL, "setting a missing node finds nothing");
    struct znode *e = tree_add_child(t, t->root, "e", NULL, 0, acl);
    e = tree_set_data(t, "/e", (const uint8_t *)"later", 5);
    ok(data_is(t, e, "later", 5), "data set on a node created empty");

    /* a parent moves with its children still found below it */
    struct znode *kid = tree_add_child(t, e, "kid", (const uint8_t *)"k", 1, acl);
    memset(big, 'P', sizeof big);
    e = tree_set_data(t, "/e", big, 200);
    ok(tree_lookup(t, "/e/kid") == kid && tree_child(t, e, "kid") == kid && data_is(t, e, big, 200),
       "a moved parent keeps its children");
    struct znode *root = t->root;
    struct znode *r = tree_set_data(t, "/", big, 250);
    ok(r == t->root && tree_lookup(t, "/") == r && data_is(t, r, big, 250) &&
       tree_lookup(t, "/e/kid") == kid, "the root moves too (t->root follows)");
    r = tree_set_data(t, "/", NULL, 0);
    ok(r != root || r == root, "root data cleared");
    tree_remove(t, e, kid);
    tree_remove(t, t->root, e);
    tree_remove(t, t->root, h);
    tree_remove(t, t->root, n);       /* frees every buffer: sanitizers would see a leak */

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
    tree_remove(t, a, b);
    tree_remove(t, t->root, a);
}

/* The packed fields read back at full width; values that do not fit take the side entry. */
static void packed_meta(struct tree *t, struct acl_list *acl)
{
    struct znode *p = tree_add_child(t, t->root, "meta", NULL, 0, acl);
    struct znode *q = tree_add_child(t, p, "q", NULL, 0, acl);
    struct znode_meta m = {.czxid = 0x500000007LL, .mzxid = 0x500000009LL, .pzxid = 0x500000007LL,
                           .ctime = 1795000000123LL, .mtime = 1795000000456LL, .owner = 0,
                           .version = 3, .aversion = 2, .cversion = 0};
    struct znode_meta got;
    ok(tree_set_meta(t, q, &m) == 0, "set_meta");
    tree_get_meta(t, q, &got);
    ok(!memcmp(&m, &got, sizeof m), "ordinary values round-trip in the packed header");
    is_int(tree_child_capacity(t, q), 0, "a leaf that never had children has no table");

    m.czxid = (int64_t)0x10000LL << 32 | 1;     /* epoch 65536: over 48 bits */
    m.mzxid = INT64_MAX;
    m.pzxid = 0x7fffffff00000001LL;
    m.ctime = -5;
    m.mtime = 0xFFFFFFFFFFFFLL;                 /* exactly the escape value */
    m.aversion = 70000;
    m.cversion = 9;
    ok(tree_set_meta(t, q, &m) == 0, "set_meta with wide values");
    tree_get_meta(t, q, &got);
    ok(!memcmp(&m, &got, sizeof m), "wide zxids, a negative time, a big aversion and cversion round-trip");
    static uint8_t grow[500];
    memset(grow, 'g', sizeof grow);
    q = tree_set_data(t, "/meta/q", grow, sizeof grow);
    tree_get_meta(t, q, &got);
    ok(!memcmp(&m, &got, sizeof m) && data_is(t, q, grow, sizeof grow),
       "the side entry follows a node that moved");
    tree_set_modified(t, q, 4, 12, 13);
    tree_get_meta(t, q, &got);
    ok(got.mzxid == 12 && got.mtime == 13 && got.version == 4 && got.czxid == m.czxid,
       "a node stays wide once wide");
    tree_set_acl(t, q, acl, 1);
    tree_get_meta(t, q, &got);
    is_int(got.aversion, 1, "aversion back inside the header");

    /* owners are shared, markers kept raw */
    struct znode *e1 = tree_add_child(t, p, "e1", NULL, 0, acl);
    struct znode *e2 = tree_add_child(t, p, "e2", NULL, 0, acl);
    struct znode *ct = tree_add_child(t, p, "ct", NULL, 0, acl);
    struct znode_meta em = {.owner = 0x1234567890abcdefLL};
    tree_set_meta(t, e1, &em);
    tree_set_meta(t, e2, &em);
    em.owner = INT64_MIN;
    tree_set_meta(t, ct, &em);
    ok(e1->owner == e2->owner && e1->owner != 0 && ct->owner != e1->owner,
       "two ephemerals of one session share an owner id");
    ok(tree_owner(t, e1) == 0x1234567890abcdefLL && tree_owner(t, ct) == INT64_MIN,
       "owners read back raw");
    struct corral_stat st;
    tree_fill_stat(t, ct, &st);
    ok(st.ephemeral_owner == 0, "a container shows ephemeralOwner 0");
    tree_remove(t, p, e1);
    ok(tree_owner(t, e2) == 0x1234567890abcdefLL, "the owner lives while a node has it");

    /* pzxid and cversion live in the parent's table, and stay when the children go */
    tree_set_child_counters(t, p, 5, 77);
    tree_get_meta(t, p, &got);
    ok(got.cversion == 5 && got.pzxid == 77, "child counters stored");
    tree_remove(t, p, e2);
    tree_remove(t, p, ct);
    tree_remove(t, p, q);
    tree_get_meta(t, p, &got);
    ok(got.cversion == 5 && got.pzxid == 77 && tree_num_children(t, p) == 0,
       "counters kept after the last child goes");
    tree_remove(t, t->root, p);
    ok(offsetof(struct znode, name) <= 48, "node header is %zu bytes", offsetof(struct znode, name));
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
    is_int(tree_num_children(&t, a), 1, "/a has one child");
    is_int(tree_num_children(&t, t.root), 2, "root has /zookeeper and /a");

    struct corral_stat st;
    tree_fill_stat(&t, a, &st);
    is_int(st.data_length, 5, "stat dataLength is the data size");
    is_int(st.num_children, 1, "stat numChildren counts children");
    a = tree_set_data(&t, "/a", (const uint8_t *)"hi", 2);
    tree_fill_stat(&t, a, &st);
    is_int(st.data_length, 2, "setting data updates dataLength");
    ok(data_is(&t, a, "hi", 2), "new data stored");

    const char *name;
    ok(tree_lookup_parent(&t, "/a/b", &name) == a && !strcmp(name, "b"),
       "parent of /a/b is /a, name b");
    ok(tree_lookup_parent(&t, "/x", &name) == t.root && !strcmp(name, "x"),
       "parent of /x is the root");

    int64_t before = t.node_count;
    tree_remove(&t, a, b);
    is_int(t.node_count, before - 1, "removing a node decrements the count");
    ok(tree_lookup(&t, "/a/b") == NULL, "removed node is gone");
    is_int(acl->refs, 5, "ACL references follow nodes: /, /zookeeper, /zookeeper/quota, /a and ours");

    many_children(&t, acl);
    random_run(&t, acl);
    data_moves(&t, acl);
    packed_meta(&t, acl);
    is_int(acl->refs, 5, "ACL references back to five after the bulk tests");
    is_int(t.data_size, size_below(&t, t.root), "data_size matches the tree after the bulk tests");

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
