/*
 * ephemeral-order.c — a closing session's list of ephemerals comes out in
 * ZooKeeper's order, in-flight changes included (core/ephemeral.c).
 *
 * ZooKeeper's prep copies the session's java.util.HashSet (clone), adds the
 * creates in flight and removes the deletes in flight, and lists the copy in
 * its iteration order; that order is the order of the delete events every
 * server fires.  Each case below is a script: "set +p"/"set -p" change the
 * applied set (ephemeral_add/remove), "clone" is the close, "+p"/"-p" the
 * changes in flight after it.  The expected lists were printed by a Java
 * program (OpenJDK 17, the JVM ZooKeeper 3.8 runs on) doing the same with a
 * HashSet and its clone; case a is also what ZooKeeper logged
 * (t/unit/storage-file-format.c, zk_close_three).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "server.h"

/* ZooKeeper's own log: /a/b, /c, /a/d applied */
static const char *ops_a[] = {
    "set +/a/b", "set +/c", "set +/a/d", "clone", NULL};
static const char *want_a[] = {
    "/a/d", "/a/b", "/c", NULL};

/* 5 applied, 20 created in flight (the copy grows twice), one removed and re-added, one deleted */
static const char *ops_b[] = {
    "set +/e/p0", "set +/e/p1", "set +/e/p2", "set +/e/p3", "set +/e/p4", "clone", "+/e/q00",
    "+/e/q01", "+/e/q02", "+/e/q03", "+/e/q04", "+/e/q05", "+/e/q06", "+/e/q07", "+/e/q08",
    "+/e/q09", "+/e/q10", "+/e/q11", "+/e/q12", "+/e/q13", "+/e/q14", "+/e/q15", "+/e/q16",
    "+/e/q17", "+/e/q18", "+/e/q19", "-/e/p2", "+/e/p2", "-/e/q07", "+/e/lock-0000000042",
    "-/e/nothere", NULL};
static const char *want_b[] = {
    "/e/q13", "/e/q14", "/e/q11", "/e/q12", "/e/q17", "/e/q18", "/e/q15", "/e/q16", "/e/q10",
    "/e/p3", "/e/p4", "/e/q08", "/e/q09", "/e/p0", "/e/p1", "/e/p2", "/e/q02", "/e/q03",
    "/e/q00", "/e/q01", "/e/q06", "/e/q04", "/e/q05", "/e/lock-0000000042", "/e/q19", NULL};

/* a set that once held 20 (32 buckets), half deleted, then 8 created and one deleted in flight */
static const char *ops_c[] = {
    "set +/svc/member-000", "set +/svc/member-001", "set +/svc/member-002",
    "set +/svc/member-003", "set +/svc/member-004", "set +/svc/member-005",
    "set +/svc/member-006", "set +/svc/member-007", "set +/svc/member-008",
    "set +/svc/member-009", "set +/svc/member-010", "set +/svc/member-011",
    "set +/svc/member-012", "set +/svc/member-013", "set +/svc/member-014",
    "set +/svc/member-015", "set +/svc/member-016", "set +/svc/member-017",
    "set +/svc/member-018", "set +/svc/member-019", "set -/svc/member-000",
    "set -/svc/member-002", "set -/svc/member-004", "set -/svc/member-006",
    "set -/svc/member-008", "set -/svc/member-010", "set -/svc/member-012",
    "set -/svc/member-014", "set -/svc/member-016", "set -/svc/member-018", "clone",
    "+/svc/new-0", "+/svc/new-1", "+/svc/new-2", "+/svc/new-3", "+/svc/new-4", "+/svc/new-5",
    "+/svc/new-6", "+/svc/new-7", "-/svc/member-003", NULL};
static const char *want_c[] = {
    "/svc/member-011", "/svc/member-015", "/svc/member-013", "/svc/member-001", "/svc/new-7",
    "/svc/new-5", "/svc/new-6", "/svc/new-3", "/svc/new-4", "/svc/member-019", "/svc/new-1",
    "/svc/member-007", "/svc/new-2", "/svc/member-017", "/svc/member-005", "/svc/new-0",
    "/svc/member-009", NULL};

/* nothing applied: 14 created in flight */
static const char *ops_d[] = {
    "clone", "+/x/0", "+/x/1", "+/x/2", "+/x/3", "+/x/4", "+/x/5", "+/x/6", "+/x/7", "+/x/8",
    "+/x/9", "+/x/10", "+/x/11", "+/x/12", "+/x/13", NULL};
static const char *want_d[] = {
    "/x/9", "/x/8", "/x/13", "/x/7", "/x/6", "/x/10", "/x/12", "/x/11", "/x/5", "/x/4", "/x/3",
    "/x/2", "/x/1", "/x/0", NULL};

static void check(const char **ops, const char **want, const char *what)
{
    static int64_t sid = 0x100;
    sid++;
    struct ephemeral_change ch[64];
    int32_t n_ch = 0;
    int cloned = 0;
    for (const char **op = ops; *op; op++) {
        if (!strcmp(*op, "clone"))
            cloned = 1;
        else if (!strncmp(*op, "set +", 5))
            ephemeral_add(sid, *op + 5);
        else if (!strncmp(*op, "set -", 5))
            ephemeral_remove(sid, *op + 5);
        else if (cloned && n_ch < 64)
            ch[n_ch++] = (struct ephemeral_change){*op + 1, **op == '+'};
    }
    int32_t n;
    char **got = ephemeral_close_list(ephemeral_find(sid), ch, n_ch, &n);
    int32_t n_want = 0;
    while (want[n_want])
        n_want++;
    int same = n == n_want;
    for (int32_t i = 0; same && i < n; i++)
        same = !strcmp(got[i], want[i]);
    ok(same, "%s: %d paths in Java's order", what, n_want);
    for (int32_t i = 0; !same && i < n; i++)
        fprintf(stderr, "#   got %s, want %s\n", got[i], i < n_want ? want[i] : "(none)");
    for (int32_t i = 0; i < n; i++)
        free(got[i]);
    free(got);
    ephemeral_drop_owner(sid);
}

int main(void)
{
    check(ops_a, want_a, "three applied (ZooKeeper's logged list)");
    check(ops_b, want_b, "applied plus 20 in flight, a re-add and deletes");
    check(ops_c, want_c, "a set that held 20, half gone, then in-flight changes");
    check(ops_d, want_d, "nothing applied, 14 created in flight");
    return done_testing();
}
