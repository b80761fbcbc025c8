/*
 * db-snapshot.c — unit tests of the database as a whole (core/db.c) and of
 * libzk's streamed snapshot-body reader (core/zk/snapshot_body.c), on the
 * real core.
 *
 * A tree is built through apply (txns): sessions, persistent nodes with
 * several ACLs, a 100 KiB node, ephemerals of two sessions, a container
 * with a child, a TTL node, a quota root with its stats, 2000 small nodes,
 * a closed session.  Checked:
 *  - the SNAP stream (body + "BenWasHere") written by a fork()ed child into
 *    a pipe and loaded by db_snapshot_load_fd gives back every node (stat,
 *    data, ACL), ZooKeeper's digest, the session table, the ephemeral sets,
 *    the container/TTL index and the quota roots (a later create moves the
 *    stats), at the SNAP's zxid;
 *  - the streamed reader fed 7 bytes per read decodes the same body with a
 *    window far smaller than the body;
 *  - a truncated stream, a corrupt byte (a path, a huge length, a node
 *    before its parent), a missing or wrong signature each fail with -1 and
 *    leave a fresh tree (no half-loaded one), no crash, no leak (ASan);
 *  - db_clear twice gives a fresh database; it closes attached clients'
 *    connections (ConnectionLoss) and drops their watches; it refuses while
 *    a write is in flight;
 *  - db_reload with the mem storage (its kept log replayed) and with the
 *    file storage (snapshot + log rescanned) gives the same database as
 *    before, and after a truncate the database as it was at that zxid; a
 *    reload from a snapshot written at run time too; a
 *    mem storage that kept too little refuses, a storage without
 *    CORRAL_STORAGE_RECOVER_AGAIN is not reloaded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ev.h>
#include "tap.h"
#include "server.h"
#include "core_fixture.h"
#include "db.h"
#include "commit.h"
#include "session_table.h"
#include "session_tracker.h"

/* ---- storages: an immediate one, one that holds completions ---- */

static int hold;
static void (*held_done)(void *, int);
static void *held_arg;

static int st_recover(void) { return 0; }
static void st_append(const struct corral_txn *t, void (*done)(void *, int), void *arg)
{
    (void)t;
    if (!hold) {
        done(arg, 0);
        return;
    }
    held_done = done;
    held_arg = arg;
}
static const struct corral_storage_ops fake_storage = {
    .size = sizeof fake_storage, .recover = st_recover, .append = st_append};

/* ---- a fake transport ---- */

static int n_closed;
static int32_t close_reason;
static int n_connected;
static void on_connected(void *c, const struct corral_connect_result *r) { (void)c, (void)r; n_connected++; }
static void on_reply(void *c, const struct corral_response *r) { (void)c, (void)r; }
static void on_event(void *c, const struct corral_watch_event *e) { (void)c, (void)e; }
static void on_close(void *c, int32_t reason)
{
    (void)c;
    n_closed++;
    close_reason = reason;
}
static const struct corral_conn_ops conn_ops = {.size = sizeof conn_ops, .connected = on_connected,
                                                .reply = on_reply, .event = on_event,
                                                .close = on_close};

static const struct corral_auth_ops *auths[] = {&fixture_world};

/* ---- committing txns: through server.storage when it is a module, then apply ---- */

static int use_storage_append;
static int n_pending;

static void commit_done(void *arg, int err)
{
    (void)arg;
    if (err)
        fprintf(stderr, "# append failed\n");
    n_pending--;
}

static int64_t zxid_counter;

/* The tracker runs (a server in charge) so loads are seen to start clocks; nothing expires here. */
static void no_expiry(int64_t sid) { (void)sid; }

static void commit(struct corral_txn *t)
{
    t->zxid = ++zxid_counter;
    t->time = 1700000000000LL + t->zxid;
    if (use_storage_append) {
        n_pending++;
        server.storage->append(t, commit_done, NULL);
        ev_tstamp end = ev_time() + 20;
        while (n_pending && ev_time() < end)
            ev_run(server.loop, EVRUN_NOWAIT);
    }
    commit_apply(t, COMMIT_REPLAY);     /* the one commit path, as recovery takes it */
}

static struct corral_acl open_acl[1] = {{CORRAL_PERM_ALL, "world", "anyone"}};
static struct corral_acl read_acl[1] = {{CORRAL_PERM_READ, "world", "anyone"}};
static struct corral_acl digest_acl[2] = {{CORRAL_PERM_READ | CORRAL_PERM_WRITE, "digest", "bob:xyz="},
                                          {CORRAL_PERM_ADMIN, "ip", "127.0.0.1"}};

static int32_t next_parent_cversion(const char *path)
{
    const char *name;
    struct znode *parent = tree_lookup_parent(&server.tree, path, &name);
    struct znode_meta m;
    tree_get_meta(&server.tree, parent, &m);
    return m.cversion + 1;
}

static void session_txn(int64_t id, int32_t type, int32_t timeout)
{
    struct corral_txn t = {.session_id = id, .type = type, .timeout = timeout,
                           .n_close_paths = -1};
    commit(&t);
}

static void create_txn(int64_t owner, int32_t type, const char *path, const void *data, int32_t len,
                       struct corral_acl *acl, int32_t n_acl, int ephemeral, int64_t ttl)
{
    struct corral_txn t = {.session_id = owner, .type = type, .path = (char *)path,
                           .data = (uint8_t *)data, .data_len = len, .acl = acl, .n_acl = n_acl,
                           .ephemeral = ephemeral, .ttl = ttl,
                           .parent_cversion = next_parent_cversion(path)};
    commit(&t);
}

static void create(const char *path, const char *data)
{
    create_txn(0x100, CORRAL_OP_CREATE, path, data, data ? (int32_t)strlen(data) : -1, open_acl, 1,
               0, 0);
}

static void set_data(const char *path, const char *data, int32_t version)
{
    struct corral_txn t = {.session_id = 0x100, .type = CORRAL_OP_SET_DATA, .path = (char *)path,
                           .data = (uint8_t *)data, .data_len = (int32_t)strlen(data),
                           .version = version};
    commit(&t);
}

#define SESSION_A 0x0100000000000001LL
#define SESSION_B 0x0100000000000002LL
#define SESSION_C 0x0100000000000003LL

static uint8_t big[100 * 1024];

/* The tree the tests move around.  small: how many /many children. */
static void populate(int small)
{
    session_txn(SESSION_A, CORRAL_OP_CREATE_SESSION, 10000);
    session_txn(SESSION_B, CORRAL_OP_CREATE_SESSION, 20000);
    session_txn(SESSION_C, CORRAL_OP_CREATE_SESSION, 30000);
    create("/app", "v0");
    set_data("/app", "v1", 1);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    create_txn(0x100, CORRAL_OP_CREATE, "/app/big", big, sizeof big, open_acl, 1, 0, 0);
    create_txn(0x100, CORRAL_OP_CREATE, "/app/ro", "r", 1, read_acl, 1, 0, 0);
    create_txn(0x100, CORRAL_OP_CREATE, "/secret", NULL, -1, digest_acl, 2, 0, 0);
    struct corral_txn sa = {.session_id = 0x100, .type = CORRAL_OP_SET_ACL, .path = "/app/ro",
                            .acl = digest_acl, .n_acl = 2, .version = 1};
    commit(&sa);
    create_txn(SESSION_A, CORRAL_OP_CREATE, "/app/e1", "a", 1, open_acl, 1, 1, 0);
    create_txn(SESSION_B, CORRAL_OP_CREATE, "/app/e2", "b", 1, open_acl, 1, 1, 0);
    create_txn(SESSION_C, CORRAL_OP_CREATE, "/app/e3", "c", 1, open_acl, 1, 1, 0);
    create_txn(0x100, CORRAL_OP_CREATE_CONTAINER, "/ctr", NULL, 0, open_acl, 1, 0, 0);
    create("/ctr/kid", "k");
    create_txn(0x100, CORRAL_OP_CREATE_TTL, "/ttl", "t", 1, open_acl, 1, 0, 5000);
    create("/zookeeper/quota/app", NULL);
    create("/zookeeper/quota/app/zookeeper_limits", "count=1000,bytes=10000000");
    create("/zookeeper/quota/app/zookeeper_stats", "count=0,bytes=0");
    create("/many", NULL);
    for (int i = 0; i < small; i++) {
        char p[32], d[48];
        snprintf(p, sizeof p, "/many/n%04d", i);
        snprintf(d, sizeof d, "data of node %d, some forty bytes long..", i);
        create(p, d);
    }
    session_txn(SESSION_C, CORRAL_OP_CLOSE_SESSION, 0);   /* takes /app/e3 with it */
}

/* ---- the whole database as text, to compare ---- */

struct lines {
    char **v;
    size_t n, cap;
};

static void add_line(struct lines *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = s;
}

static int node_line(void *arg, const char *path, const uint8_t *data, int32_t len,
                     const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    unsigned sum = 0;
    for (int32_t i = 0; i < len; i++)
        sum = sum * 31 + data[i];
    char acls[512] = "";
    for (int32_t i = 0; i < n_acl; i++) {
        size_t o = strlen(acls);
        snprintf(acls + o, sizeof acls - o, "%d:%s:%s,", acl[i].perms, acl[i].scheme, acl[i].id);
    }
    /* null data comes back empty: the body writer writes null as an empty
     * buffer (so does a snapshot file; ZooKeeper writes -1) */
    if (len < 0)
        len = 0;
    char *s;
    if (asprintf(&s, "N %s len=%d sum=%08x stat=%llx,%llx,%llx,%lld,%lld,%d,%d,%d,%llx,%d,%d acl=%s",
                 path, len, sum, (long long)st->czxid, (long long)st->mzxid, (long long)st->pzxid,
                 (long long)st->ctime, (long long)st->mtime, st->version, st->cversion, st->aversion,
                 (unsigned long long)st->ephemeral_owner, st->num_children, st->data_length, acls) < 0)
        abort();
    add_line(arg, s);
    return 0;
}

static void session_line(void *arg, int64_t id, int32_t timeout)
{
    char *s;
    if (asprintf(&s, "S %llx %d", (unsigned long long)id, timeout) < 0)
        abort();
    add_line(arg, s);
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everything db.h calls the database, sorted (sibling order is the hash tables'). */
static char *dump(void)
{
    struct lines l = {0};
    db_tree_walk(node_line, &l);
    db_session_each(session_line, &l);
    char *s;
    for (struct ephemeral_owner *o = server.ephemerals; o; o = o->hh.next)
        for (struct ephemeral_path *p = o->paths; p; p = p->hh.next) {
            if (asprintf(&s, "E %llx %s", (unsigned long long)o->session_id, p->path) < 0)
                abort();
            add_line(&l, s);
        }
    for (struct ephemeral_path *p = server.containers; p; p = p->hh.next) {
        if (asprintf(&s, "C %s", p->path) < 0)
            abort();
        add_line(&l, s);
    }
    for (struct ephemeral_path *p = server.ttl_nodes; p; p = p->hh.next) {
        if (asprintf(&s, "T %s", p->path) < 0)
            abort();
        add_line(&l, s);
    }
    /* not tree.data_size: quota stats writes are not counted in it (as in ZooKeeper)
     * until a load counts the stats nodes' data as it is then */
    if (asprintf(&s, "Z last=%llx nodes=%lld ephemerals=%lld sessions=%lld",
                 (unsigned long long)server.last_zxid, (long long)server.tree.node_count,
                 (long long)server.ephemeral_count,
                 (long long)session_table_count()) < 0)
        abort();
    add_line(&l, s);
    qsort(l.v, l.n, sizeof *l.v, by_str);
    size_t total = 1;
    for (size_t i = 0; i < l.n; i++)
        total += strlen(l.v[i]) + 1;
    char *out = malloc(total), *p = out;
    for (size_t i = 0; i < l.n; i++) {
        p = stpcpy(p, l.v[i]);
        *p++ = '\n';
        free(l.v[i]);
    }
    *p = 0;
    free(l.v);
    return out;
}

/* The first line where two dumps differ, for the test log. */
static void show_diff(const char *a, const char *b)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    while (i > 0 && a[i - 1] != '\n')
        i--;
    fprintf(stderr, "# before: %.200s\n# after:  %.200s\n", a + i, b + i);
}

static int same(const char *before, const char *after)
{
    int eq = !strcmp(before, after);
    if (!eq)
        show_diff(before, after);
    return eq;
}

static int is_fresh(void)
{
    return server.tree.node_count == 4 && tree_lookup(&server.tree, "/zookeeper/quota") &&
           tree_lookup(&server.tree, "/zookeeper/config") && !server.session_table &&
           !server.clients &&
           !server.ephemerals && !server.ephemeral_count && !server.containers &&
           !server.ttl_nodes && !server.data_watches && !server.child_watches &&
           server.watch_count == 0 && server.last_zxid == 0;
}

/* The stats the quota root /app keeps (its count= value), -1 if none. */
static long quota_count(void)
{
    struct znode *n = tree_lookup(&server.tree, "/zookeeper/quota/app/zookeeper_stats");
    if (!n)
        return -1;
    int32_t len;
    const uint8_t *d = tree_data(&server.tree, n, &len);
    char buf[128];
    snprintf(buf, sizeof buf, "%.*s", (int)(len > 0 ? len : 0), (const char *)d);
    return strncmp(buf, "count=", 6) ? -1 : atol(buf + 6);
}

/* ---- the stream in memory ---- */

struct membuf {
    uint8_t *p;
    size_t len, cap;
};

static int mem_write(void *arg, const uint8_t *p, size_t len)
{
    struct membuf *m = arg;
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->len, p, len);
    m->len += len;
    return 0;
}

struct chunked {
    const uint8_t *p;
    size_t len, pos, step;
    size_t most;                /* the largest read asked for */
};

static ssize_t chunk_read(void *arg, uint8_t *buf, size_t len)
{
    struct chunked *c = arg;
    if (len > c->most)
        c->most = len;
    size_t n = c->len - c->pos;
    if (n > len)
        n = len;
    if (n > c->step)
        n = c->step;
    memcpy(buf, c->p + c->pos, n);
    c->pos += n;
    return (ssize_t)n;
}

static uint8_t rest_seen[16];
static size_t rest_len;
static void on_rest(void *arg, const uint8_t *p, size_t len)
{
    (void)arg;
    rest_len = len;
    memcpy(rest_seen, p, len < sizeof rest_seen ? len : sizeof rest_seen);
}

/* Load bytes (a copy of the good stream, maybe altered) through 4 KiB reads. */
static int load_bytes(const uint8_t *p, size_t len, int64_t zxid)
{
    struct chunked c = {p, len, 0, 4096, 0};
    const struct db_source src = {chunk_read, &c, on_rest};
    return db_snapshot_load(&src, zxid);
}

/* Where needle first is in the stream (the test's own corruptions aim with it). */
static size_t find_bytes(const struct membuf *m, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= m->len; i++)
        if (!memcmp(m->p + i, needle, n))
            return i;
    return (size_t)-1;
}

static void check_bad(const struct membuf *good, size_t cut, size_t at, uint8_t byte,
                      const char *what)
{
    uint8_t *copy = malloc(good->len);
    memcpy(copy, good->p, good->len);
    if (at != (size_t)-1)
        copy[at] = byte;
    int rc = load_bytes(copy, cut, 0x500);
    ok(rc == -1, "%s: the load fails", what);
    ok(is_fresh(), "%s: the database is left fresh, nothing half-loaded", what);
    free(copy);
}

/* ---- storage modules, dlopen()ed as corrald loads them ---- */

static const struct corral_module *load_module(const char *name)
{
    const char *dir = getenv("CORRAL_MODULE_PATH");
    char path[4096];
    snprintf(path, sizeof path, "%s/storage_%s.so", dir ? dir : ".", name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "# %s\n", dlerror());
        return NULL;
    }
    return dlsym(h, "corral_module_entry");
}

static void set_config(const char *text)
{
    config_free(&server.cfg);
    memset(&server.cfg, 0, sizeof server.cfg);
    if (config_parse(&server.cfg, "test.cfg", text) < 0)
        fprintf(stderr, "# bad test config\n");
}

/* Start a storage module on a cleared database, as main does; NULL when it cannot. */
static const struct corral_module *start_storage(const char *name, const char *cfg)
{
    const struct corral_module *m = load_module(name);
    ok(m != NULL, "storage_%s.so loads", name);
    if (!m)
        return NULL;
    set_config(cfg);
    db_clear();
    zxid_counter = 0;
    server.storage = m->ops;
    if (m->init(core_api_for(CORRAL_MODULE_STORAGE)) < 0 || db_recover() < 0) {
        ok(0, "%s: starts", name);
        return NULL;
    }
    use_storage_append = 1;
    return m;
}

static void stop_storage(const struct corral_module *m)
{
    db_clear();
    m->fini();
    use_storage_append = 0;
    server.storage = &fake_storage;
}

/* The reload checks both storages share: same database after a reload, and
 * after a truncate to the middle, the database as it was there. */
static void check_reload(const char *name)
{
    session_txn(SESSION_A, CORRAL_OP_CREATE_SESSION, 10000);
    create("/r", "r0");
    create_txn(SESSION_A, CORRAL_OP_CREATE, "/r/eph", "e", 1, open_acl, 1, 1, 0);
    create_txn(0x100, CORRAL_OP_CREATE_CONTAINER, "/r/ctr", NULL, 0, open_acl, 1, 0, 0);
    create("/r/ctr/x", NULL);
    create("/zookeeper/quota/r", NULL);
    create("/zookeeper/quota/r/zookeeper_limits", "count=100");
    create("/zookeeper/quota/r/zookeeper_stats", "count=0,bytes=0");
    int64_t mid = server.last_zxid;
    char *at_mid = dump();
    create("/r/later", "l");
    set_data("/r", "r1", 1);
    create_txn(0x100, CORRAL_OP_CREATE_TTL, "/r/ttl", "t", 1, open_acl, 1, 0, 9000);
    char *before = dump();
    int64_t digest = db_digest();
    ok(db_reload() == 0, "%s: db_reload succeeds", name);
    char *after = dump();
    ok(same(before, after), "%s: the reloaded database is the one before", name);
    ok(db_digest() == digest, "%s: ZooKeeper's digest of the tree is the same", name);
    ok(server.next_zxid == server.last_zxid, "%s: the allocator continues after last_zxid", name);
    /* the quota root came back too: a create under /r moves its stats */
    struct znode *st = tree_lookup(&server.tree, "/zookeeper/quota/r/zookeeper_stats");
    int32_t len;
    const uint8_t *d = st ? tree_data(&server.tree, st, &len) : NULL;
    ok(d && len > 7 && !strncmp((const char *)d, "count=6,", 8),
       "%s: the reloaded quota stats count /r's subtree (count=6)", name);
    free(after);
    ok(server.storage->truncate(mid) == 0, "%s: truncate to the middle", name);
    ok(db_reload() == 0, "%s: db_reload after the truncate", name);
    zxid_counter = server.last_zxid;
    after = dump();
    ok(same(at_mid, after), "%s: the database is the one at the truncation point", name);
    create("/r/again", "a");
    ok(tree_lookup(&server.tree, "/r/again") && server.last_zxid == mid + 1,
       "%s: writes go on after the reload", name);
    free(after);
    free(before);
    free(at_mid);
}

/* file: a reload that starts from a snapshot written at run time, not snapshot.0 */
static void check_reload_from_snapshot(const char *dir)
{
    int64_t snap_zxid = server.last_zxid;
    /* the reloads asked for one of their own: it may still be being written */
    int started = -1;
    for (ev_tstamp until = ev_time() + 20; started < 0 && ev_time() < until;) {
        ev_run(server.loop, EVRUN_NOWAIT);
        started = server.storage->snapshot();
        if (started < 0)
            usleep(20000);
    }
    ok(started == 0, "file: a snapshot is started");
    char path[512];
    snprintf(path, sizeof path, "%s/version-2/snapshot.%llx", dir, (unsigned long long)snap_zxid);
    ev_tstamp end = ev_time() + 20;
    while (access(path, F_OK) != 0 && ev_time() < end)
        ev_run(server.loop, EVRUN_NOWAIT);
    ok(access(path, F_OK) == 0, "file: snapshot.%llx is written", (unsigned long long)snap_zxid);
    create("/r/after-snap", "s");
    set_data("/r/after-snap", "t", 1);
    char *before = dump();
    ok(db_reload() == 0, "file: db_reload from the new snapshot and the log after it");
    char *after = dump();
    ok(same(before, after), "file: the database is the one before");
    free(before);
    free(after);
}

int main(void)
{
    fixture_server_init(&fake_storage, auths, 1);
    server.max_txn_bytes = 0xfffff + 1024;
    tracker_start(no_expiry);

    /* ---- the SNAP stream, out through a pipe and back in ---- */
    populate(2000);
    ok(quota_count() == 5, "the quota root counts its subtree (/app and 4 below it: %ld)",
       quota_count());
    char *before = dump();
    int64_t digest_before = db_digest();
    int64_t zxid_before = server.last_zxid;
    struct membuf good = {0};
    int64_t wzxid = 0, wdigest = 0;
    ok(db_snapshot_write_to(mem_write, &good, &wzxid, &wdigest) == 0, "the stream is written");
    ok(wzxid == zxid_before && wdigest == digest_before,
       "the writer says the zxid and digest it wrote");
    ok(good.len > 300 * 1024, "the stream is larger than a few windows (%zu bytes)", good.len);
    static const uint8_t sig[] = {0, 0, 0, 10, 'B', 'e', 'n', 'W', 'a', 's', 'H', 'e', 'r', 'e'};
    ok(good.len > 19 && !memcmp(good.p + good.len - 14, sig, 14) &&
           !memcmp(good.p + good.len - 19, "\0\0\0\1/", 5),
       "it ends with the string \"/\" and then the string \"BenWasHere\"");

    int pfd[2];
    ok(pipe(pfd) == 0, "a pipe");
    pid_t child = fork();
    if (child == 0) {
        close(pfd[0]);
        int64_t z;
        _exit(db_snapshot_write(pfd[1], &z) == 0 ? 0 : 1);
    }
    close(pfd[1]);
    ok(db_snapshot_load_fd(pfd[0], zxid_before + 5) == 0, "the stream from the pipe loads");
    close(pfd[0]);
    int status = -1;
    waitpid(child, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child wrote the whole stream");
    ok(server.last_zxid == zxid_before + 5 && server.next_zxid == zxid_before + 5,
       "last_zxid is the SNAP's zxid");
    server.last_zxid = zxid_before;     /* so the dumps compare */
    char *after = dump();
    ok(same(before, after), "every node, session, ephemeral, container and TTL node is back");
    ok(db_digest() == digest_before, "ZooKeeper's digest of the loaded tree is the writer's");
    ok(!tree_lookup(&server.tree, "/app/e3") && !session_table_find(SESSION_C),
       "the closed session and its ephemeral stay gone");
    ok(session_table_find(SESSION_A) && !session_find(SESSION_A) && tracker_deadline(SESSION_A) != 0,
       "a loaded session is a table entry with no local client, and its clock runs");
    long q = quota_count();
    create("/app/new", "n");
    ok(quota_count() == q + 1, "the quota roots were rebuilt: a create under /app counts");
    free(after);

    /* ---- the streamed reader on its own: 7 bytes a read ---- */
    struct chunked c = {good.p, good.len, 0, 7, 0};
    struct zk_snap_stream zs;
    zk_snap_stream_init(&zs, chunk_read, &c, 4u << 20);
    const struct zk_snap_loader check_only = {NULL, NULL, NULL};
    int64_t nodes = 0;
    const char *why = "";
    ok(zk_snap_body_read_stream(&zs, &check_only, &nodes, &why) == 0,
       "the body reads in 7-byte reads");
    is_int(nodes, 2000 + 17, "every node counted");
    ok(zk_snap_stream_expect(&zs, ZK_SNAP_SIGNATURE, &why) == 0, "then the signature");
    ok(zs.cap < 200 * 1024 && zs.cap >= sizeof big,
       "the window holds the largest record, not the body (%zu of %zu bytes)", zs.cap, good.len);
    size_t left;
    zk_snap_stream_unread(&zs, &left);
    ok(left == 0 && c.pos == good.len, "nothing read past the end");
    zk_snap_stream_free(&zs);
    /* the same bytes as a whole buffer: the in-memory reader agrees */
    struct jute_reader jr;
    jute_reader_init(&jr, good.p, good.len);
    int64_t nodes2 = 0;
    ok(zk_snap_body_read(&jr, &check_only, &nodes2, &why) == 0 && nodes2 == nodes &&
           jr.pos == good.len - 14,
       "the in-memory reader reads the same body, stopping before the signature");

    /* what follows the signature goes back to the caller */
    struct membuf more = {0};
    mem_write(&more, good.p, good.len);
    mem_write(&more, (const uint8_t *)"NEXT", 4);
    ok(load_bytes(more.p, more.len, 0x500) == 0 && rest_len == 4 && !memcmp(rest_seen, "NEXT", 4),
       "bytes after the signature are handed back (the next packet on a socket)");
    free(more.p);

    /* ---- bad streams fail cleanly ---- */
    check_bad(&good, good.len / 2, (size_t)-1, 0, "a stream cut in half");
    check_bad(&good, 3, (size_t)-1, 0, "a stream of 3 bytes");
    check_bad(&good, 0, (size_t)-1, 0, "an empty stream");
    check_bad(&good, good.len - 14, (size_t)-1, 0, "no signature");
    check_bad(&good, good.len - 3, (size_t)-1, 0, "a signature cut short");
    check_bad(&good, good.len, good.len - 1, 'X', "a wrong signature");
    size_t at = find_bytes(&good, "/app/ro");
    check_bad(&good, good.len, at, 'X', "a corrupt byte in a path (not starting with /)");
    check_bad(&good, good.len, at + 5, '/', "a corrupt byte making the path /app//o");
    check_bad(&good, good.len, at + 3, 'x', "a corrupt byte making a node come before its parent");
    check_bad(&good, good.len, 0, 0x7f, "a session count far beyond the stream");
    at = find_bytes(&good, "/app/big");
    check_bad(&good, good.len, at + 8, 0x7f, "a data length of 2 GiB");
    at = find_bytes(&good, "bob:xyz=");
    check_bad(&good, good.len, at - 4, 0x7f, "an ACL id length beyond the limit");
    ok(load_bytes(good.p, good.len, zxid_before) == 0, "the good stream still loads after all that");
    after = dump();
    ok(same(before, after), "and gives the same database");
    free(after);

    /* ---- db_clear ---- */
    ok(db_clear() == 0 && is_fresh(), "db_clear: a fresh database");
    ok(db_clear() == 0 && is_fresh(), "db_clear twice: still a fresh database");
    ok(acl_cache_size() <= 2, "the ACL lists of the old tree are released (%u left)",
       acl_cache_size());

    /* a client attached with a watch: its connection is closed, its watch gone */
    struct corral_connect_params cp = {.timeout_ms = 10000, .remote_addr = "127.0.0.1"};
    struct session *s = pipeline_connect(&cp, &conn_ops, (void *)1);
    ok(s && n_connected == 1, "a client connects");
    struct corral_request *gr = calloc(1, sizeof *gr);
    gr->op = CORRAL_OP_GET_DATA;
    gr->xid = 1;
    gr->path = strdup("/zookeeper");
    gr->watch = 1;
    gr->data_len = -1;
    pipeline_submit(s, gr);
    ok(server.watch_count == 1, "it set a watch");
    ok(db_clear() == 0 && n_closed == 1 && close_reason == CORRAL_ECONNECTIONLOSS,
       "db_clear closes its connection with ConnectionLoss");
    ok(is_fresh() && server.outstanding == 0, "no session, watch or request is left");

    /* a write in flight: refused, nothing changed */
    s = pipeline_connect(&cp, &conn_ops, (void *)2);
    hold = 1;
    struct corral_request *cr = calloc(1, sizeof *cr);
    cr->op = CORRAL_OP_CREATE;
    cr->xid = 2;
    cr->path = strdup("/inflight");
    cr->data_len = -1;
    cr->acl = calloc(1, sizeof *cr->acl);
    cr->acl->perms = CORRAL_PERM_ALL;
    cr->acl->scheme = strdup("world");
    cr->acl->id = strdup("anyone");
    cr->n_acl = 1;
    pipeline_submit(s, cr);
    ok(server.txns_in_flight == 1, "a write is in flight");
    ok(db_clear() == -1 && session_find(s->id), "db_clear refuses while it is");
    ok(db_snapshot_load_fd(-1, 1) == -1 && session_find(s->id), "and so does a load");
    hold = 0;
    held_done(held_arg, 0);
    ok(tree_lookup(&server.tree, "/inflight") != NULL, "the write completes into the same tree");
    ok(db_clear() == 0 && is_fresh(), "then db_clear works");

    /* a storage without the flag is not reloaded */
    populate(10);
    ok(db_reload() == -1 && tree_lookup(&server.tree, "/app"),
       "db_reload refuses a storage that cannot recover again, clearing nothing");
    db_clear();

    /* ---- db_reload with the mem storage ---- */
    const struct corral_module *m = start_storage("mem", "storage.mem.logCount=100000\n");
    if (m) {
        ok(server.storage->flags & CORRAL_STORAGE_RECOVER_AGAIN, "mem says it can recover again");
        check_reload("mem");
        stop_storage(m);
    }
    m = start_storage("mem", "storage.mem.logCount=3\n");
    if (m) {
        populate(10);
        ok(db_reload() == -1 && is_fresh(),
           "mem: a kept log missing the oldest txns refuses to rebuild (the database is left empty)");
        stop_storage(m);
    }

    /* ---- db_reload with the file storage ---- */
    char dir[] = "/tmp/db-snapshot-XXXXXX";
    if (mkdtemp(dir)) {
        char cfg[256];
        snprintf(cfg, sizeof cfg, "dataDir=%s\nforceSync=no\n", dir);
        m = start_storage("file", cfg);
        if (m) {
            ok(server.storage->flags & CORRAL_STORAGE_RECOVER_AGAIN, "file says it can recover again");
            check_reload("file");
            check_reload_from_snapshot(dir);
            stop_storage(m);
        }
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "# could not remove %s\n", dir);
    }

    free(before);
    free(good.p);
    db_clear();
    tree_destroy(&server.tree);
    acl_cache_clear();
    tracker_stop();
    config_free(&server.cfg);
    return done_testing();
}
