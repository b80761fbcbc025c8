/*
 * tree-order.c — adding children in the order a children table lists them
 * costs what adding them in any other order costs.
 *
 * A table lists its children (getChildren, tree walks, hence snapshots) in
 * the order of their hashes.  When every table hashed names the same way,
 * inserting that listing into a table that was still growing put each name
 * at the end of one ever longer probe run: quadratic (a 200k-child snapshot
 * took 70 times as long to load as replaying its log).  Tables now hash
 * with seeds of their own (core/tree.c).  Both ways a listing comes back
 * are timed against the plain creation of the same children, in the same
 * run (a ratio, so a slow or busy machine slows both): a copy within one
 * tree (a client copying a node's children), and a rebuild in a fresh tree
 * (a restart loading a snapshot).  A run that falls far behind stops early
 * and fails, so the old quadratic cost cannot make this test hang.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tap.h"
#include "tree.h"
#include "acl_cache.h"

#define CHILDREN 200000
#define RATIO 3.0
#define ROUNDS 3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n's children's names, in the order its table lists them. */
static char **listing(const struct tree *t, const struct znode *n)
{
    char **names = calloc(CHILDREN, sizeof *names);
    size_t i = 0;
    TREE_FOREACH_CHILD(t, n, c)
        if (names && i < CHILDREN)
            names[i++] = strdup(c->name);
    return names;
}

/*
 * Add names[0..CHILDREN) under a new child `name` of t's root.  Seconds it
 * took, or -1 (a failed add, or past `limit` seconds: given up).
 */
static double add_all(struct tree *t, const char *name, char **names, struct acl_list *acl,
                      double limit)
{
    struct znode *p = tree_add_child(t, t->root, name, NULL, 0, acl);
    double t0 = now_s();
    for (int i = 0; p && i < CHILDREN; i++) {
        if (!tree_add_child(t, p, names[i], (const uint8_t *)"v", 1, acl))
            return -1;
        if (i % 1024 == 0 && now_s() - t0 > limit)
            return -1;
    }
    return p && tree_num_children(t, p) == CHILDREN ? now_s() - t0 : -1;
}

static void free_names(char **names)
{
    for (int i = 0; names && i < CHILDREN; i++)
        free(names[i]);
    free(names);
}

/* A time for a message (in a static buffer): "N ms", or that it was given up. */
static const char *ms(double seconds)
{
    static char buf[64];
    if (seconds < 0)
        return "given up, too slow";
    snprintf(buf, sizeof buf, "%.0f ms", seconds * 1e3);
    return buf;
}

/* The smaller of two times, -1 (gave up) counting as the larger. */
static double best(double a, double b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

int main(void)
{
    struct corral_acl open = {CORRAL_PERM_ALL, "world", "anyone"};
    struct acl_list *acl = acl_cache_get(&open, 1);
    char **created = calloc(CHILDREN, sizeof *created);
    for (int i = 0; created && i < CHILDREN; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%07d", i);
        created[i] = strdup(name);
    }
    ok(acl && created, "%d names", CHILDREN);
    /* each time the best of ROUNDS: one preempted run does not decide */
    double base = -1, copy = -1, rebuild = -1, limit = 60;
    char **listed = NULL;
    int trees = 0, missing = 0;
    for (int round = 0; round < ROUNDS; round++) {
        struct tree t;
        if (tree_init(&t) < 0)
            break;
        base = best(base, add_all(&t, "src", created, acl, limit));
        if (base > 0)
            limit = RATIO * 4 * base + 1;
        char **names = listing(&t, tree_lookup(&t, "/src"));
        copy = best(copy, add_all(&t, "dst", names, acl, limit));
        if (!listed)
            listed = names;
        else
            free_names(names);
        tree_destroy(&t);
        trees++;
    }
    ok(trees == ROUNDS && base > 0, "%d children created in %.0f ms", CHILDREN, base * 1e3);
    ok(copy > 0 && copy <= RATIO * base,
       "copied in the order the first node lists them, within one tree: %s (at most %.0f x)",
       ms(copy), RATIO);
    for (int round = 0; round < ROUNDS && listed; round++) {
        struct tree fresh;      /* as a restarted server builds it */
        if (tree_init(&fresh) < 0)
            break;
        double r = add_all(&fresh, "src", listed, acl, limit);
        rebuild = best(rebuild, r);
        struct znode *src = tree_lookup(&fresh, "/src");
        for (int i = 0; r > 0 && i < CHILDREN; i++)
            missing += tree_child(&fresh, src, created[i]) == NULL;
        tree_destroy(&fresh);
    }
    ok(rebuild > 0 && rebuild <= RATIO * base,
       "rebuilt in that order in a fresh tree: %s (at most %.0f x)", ms(rebuild), RATIO);
    is_int(missing, 0, "every child is found by name afterwards");

    acl_list_unref(acl);
    free_names(listed);
    free_names(created);
    acl_cache_clear();
    return done_testing();
}
