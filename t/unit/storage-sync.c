/*
 * storage-sync.c — unit tests of the storage calls an ensemble's sync uses
 * (read_txns, truncate, last_logged_zxid, epoch_get/epoch_set), on both
 * storage modules, each dlopen()ed from CORRAL_MODULE_PATH as corrald loads
 * it, under a fake core: its "tree" only records which zxids were applied,
 * so what is checked is the storage alone.
 *
 * file: reads after 0 / the middle / a file boundary / the last / past the
 * last across three log files, raw bytes matching the decoded txn, early
 * stop; truncate refusals (not logged, before the newest snapshot), a cut
 * inside a file and one at a file boundary, appends after it, and restarts
 * that come back exactly to the truncated state; epochs surviving restart
 * in ZooKeeper's file format; a damaged log refused and left as it was;
 * reads while the writer thread appends (rolls included) giving exactly the
 * durable prefix.  mem: the same calls, reads of the durable part only
 * (storage.mem.async), the storage.mem.logCount window and its default 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ev.h>
#include "tap.h"
#include "corral/module.h"

/* ---- the fake core ---- */

#define MAX_CFG 8
static const char *cfg_key[MAX_CFG], *cfg_val[MAX_CFG];
static int n_cfg;
static char last_error[1024];
static int64_t applied_last, n_applied, first_applied;
static int fake_member;     /* peer_info says: an ensemble member (which applies on COMMIT only) */

static void set_cfg(const char *key, const char *val)
{
    for (int i = 0; i < n_cfg; i++)
        if (!strcmp(cfg_key[i], key)) {
            cfg_val[i] = val;
            return;
        }
    cfg_key[n_cfg] = key;
    cfg_val[n_cfg++] = val;
}

static void fake_log(int level, const char *who, const char *fmt, ...)
{
    (void)who;
    if (level != CORRAL_LOG_ERROR)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    fprintf(stderr, "# (logged) %s\n", last_error);
}

static const char *fake_config_get(const char *key)
{
    for (int i = 0; i < n_cfg; i++)
        if (!strcmp(cfg_key[i], key))
            return cfg_val[i];
    return NULL;
}

static int fake_config_int(const char *key, long long def, long long min, long long max,
                           long long *out)
{
    (void)min;
    (void)max;
    const char *v = fake_config_get(key);
    *out = v ? atoll(v) : def;
    return 0;
}

static int fake_config_bool(const char *key, int def, int *out)
{
    const char *v = fake_config_get(key);
    *out = v ? !strcmp(v, "true") : def;
    return 0;
}

static int64_t fake_now_ms(void)
{
    return 1700000000000LL;
}

static int fake_apply(const struct corral_txn *t)
{
    if (!n_applied++)
        first_applied = t->zxid;
    applied_last = t->zxid;
    return 0;
}

static int64_t fake_last_zxid(void)
{
    return applied_last;
}

static int fake_set_last_zxid(int64_t zxid)
{
    applied_last = zxid;
    return 0;
}

static int fake_load_node(const char *path, const uint8_t *data, int32_t len,
                          const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    (void)path, (void)data, (void)len, (void)acl, (void)n_acl, (void)st;
    return 0;
}

static int fake_load_session(int64_t id, int32_t timeout)
{
    (void)id, (void)timeout;
    return 0;
}

static int fake_tree_walk(int (*fn)(void *, const char *, const uint8_t *, int32_t,
                                    const struct corral_acl *, int32_t, const struct corral_stat *),
                          void *arg)
{
    struct corral_stat st;
    memset(&st, 0, sizeof st);
    return fn(arg, "/", NULL, 0, NULL, 0, &st);
}

static void fake_session_each(void (*fn)(void *, int64_t, int32_t), void *arg)
{
    (void)fn, (void)arg;
}

static void fake_ephemeral_each(void (*fn)(void *, int64_t, const char *), void *arg)
{
    (void)fn, (void)arg;
}

static void fake_peer_info(struct corral_peer_info *info)
{
    info->member = fake_member;
}

static int64_t fake_max_txn(void)
{
    return 1048575 + 1024;
}

static struct corral_core core = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_core),
    .log = fake_log,
    .config_get = fake_config_get,
    .config_int = fake_config_int,
    .config_bool = fake_config_bool,
    .now_ms = fake_now_ms,
    .ephemeral_each = fake_ephemeral_each,
    .apply_txn = fake_apply,
    .last_zxid = fake_last_zxid,
    .load_node = fake_load_node,
    .load_session = fake_load_session,
    .set_last_zxid = fake_set_last_zxid,
    .tree_walk = fake_tree_walk,
    .session_each = fake_session_each,
    .max_txn_bytes = fake_max_txn,
    .peer_info = fake_peer_info,
};

/* ---- driving a module ---- */

static const struct corral_module *mod;
static const struct corral_storage_ops *ops;
static int64_t n_done, n_failed;

static const struct corral_module *load(const char *name)
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

/* Load storage_NAME.so into mod/ops; 0 when it has every sync call. */
static int use_module(const char *name)
{
    mod = load(name);
    ok(mod != NULL, "storage_%s.so loads", name);
    if (!mod)
        return -1;
    ops = mod->ops;
    ok(ops->read_txns && ops->truncate && ops->last_logged_zxid && ops->epoch_get &&
       ops->epoch_set, "%s: has every sync call", name);
    return ops->read_txns ? 0 : -1;
}

static int start(void)
{
    applied_last = n_applied = first_applied = 0;
    if (mod->init(&core) < 0)
        return -1;
    return ops->recover();
}

static void stop(void)
{
    mod->fini();
}

/* Run the loop until cond() or 20 s pass. */
static int run_until(int (*cond)(void))
{
    ev_tstamp end = ev_time() + 20;
    while (!cond() && ev_time() < end)
        ev_run(core.loop, EVRUN_NOWAIT);
    return cond();
}

static int64_t want_done;
static int all_done(void)
{
    return n_done + n_failed >= want_done;
}

static void on_done(void *arg, int err)
{
    int64_t zxid = (int64_t)(intptr_t)arg;
    if (err) {
        n_failed++;
        return;
    }
    n_done++;
    if (!fake_member)
        applied_last = zxid;    /* as a standalone core applies a txn once durable */
}

static char data_buf[64];

/* Queue setData txns from..to (data: prefix + zxid), not waiting. */
static void queue_txns(int64_t from, int64_t to, char prefix)
{
    for (int64_t z = from; z <= to; z++) {
        int n = snprintf(data_buf, sizeof data_buf, "%c%lld", prefix, (long long)z);
        struct corral_txn t = {.session_id = 0x100, .cxid = (int32_t)z, .zxid = z,
                               .time = fake_now_ms(), .type = CORRAL_OP_SET_DATA,
                               .path = "/n", .data = (uint8_t *)data_buf, .data_len = n,
                               .version = (int32_t)z};
        want_done++;
        ops->append(&t, on_done, (void *)(intptr_t)z);
    }
}

static int append_txns(int64_t from, int64_t to, char prefix)
{
    queue_txns(from, to, prefix);
    return run_until(all_done) && n_failed == 0;
}

/* What a read_txns delivered. */
struct got {
    int64_t first, last, n;
    int contiguous, raw_ok, data_ok, stop_after;
    char prefix_at_last;
};

static int collect(void *arg, const uint8_t *raw, size_t len, const struct corral_txn *t)
{
    struct got *g = arg;
    if (g->n == 0)
        g->first = t->zxid;
    else if (t->zxid != g->last + 1)
        g->contiguous = 0;
    g->last = t->zxid;
    g->n++;
    /* the raw bytes are the TxnHeader + record of this very txn */
    uint64_t hz = 0;
    for (int i = 0; i < 8 && len >= 32; i++)
        hz = hz << 8 | raw[12 + i];
    if (len < 32 || (int64_t)hz != t->zxid || (int32_t)(raw[28] << 24 | raw[29] << 16 |
                                                         raw[30] << 8 | raw[31]) != t->type)
        g->raw_ok = 0;
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)t->zxid);
    if (t->type != CORRAL_OP_SET_DATA || t->data_len < 2 || strcmp(t->path, "/n") ||
        (size_t)t->data_len != 1 + strlen(want) || memcmp(t->data + 1, want, strlen(want)))
        g->data_ok = 0;
    else
        g->prefix_at_last = (char)t->data[0];
    return g->stop_after && g->n >= g->stop_after;
}

static void got_init(struct got *g, int stop_after)
{
    memset(g, 0, sizeof *g);
    g->contiguous = g->raw_ok = g->data_ok = 1;
    g->stop_after = stop_after;
}

static int read_after(int64_t after, struct got *g)
{
    got_init(g, 0);
    return ops->read_txns(after, collect, g);
}

/* read after `after` gives exactly (after, last], well formed */
static void check_read(int64_t after, int64_t last, const char *what)
{
    struct got g;
    int rc = read_after(after, &g);
    int64_t n = last > after ? last - after : 0;
    ok(rc == 0 && g.n == n && (n == 0 || (g.first == after + 1 && g.last == last)) &&
       g.contiguous && g.raw_ok && g.data_ok,
       "%s %s: read after 0x%llx gives exactly 0x%llx..0x%llx (rc %d, %lld txns 0x%llx..0x%llx)",
       mod->name, what, (long long)after, (long long)after + 1, (long long)last, rc,
       (long long)g.n, (long long)g.first, (long long)g.last);
}

/* With txns 1..30 logged: reads after 0, the middle, the last and past it; an early stop. */
static void check_reads_1_30(void)
{
    is_int(ops->last_logged_zxid(), 30, "%s: last logged zxid", mod->name);
    check_read(0, 30, "all");
    check_read(15, 30, "from the middle");
    check_read(29, 30, "the last");
    check_read(30, 30, "after the last");
    check_read(31, 30, "past the last");
    struct got g;
    got_init(&g, 3);
    int rc = ops->read_txns(3, collect, &g);
    ok(rc == 0 && g.n == 3 && g.last == 6, "%s: fn stops the read early (%lld txns)", mod->name,
       (long long)g.n);
}

static char dir[256], vdir[300];

static int count_files(const char *prefix)
{
    DIR *d = opendir(vdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            n++;
    if (d)
        closedir(d);
    return n;
}

static int file_exists(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", vdir, name);
    return access(p, F_OK) == 0;
}

static int64_t snap_expected;
static int snapshot_written(void)
{
    char name[64];
    snprintf(name, sizeof name, "snapshot.%llx", (unsigned long long)snap_expected);
    return file_exists(name);
}

static int snapshot_accepted;
static int snapshot_started(void)
{
    /* refused (logged) while the previous one is still being written */
    if (!snapshot_accepted)
        snapshot_accepted = ops->snapshot() == 0;
    return snapshot_accepted;
}

/* Snapshot the state at zxid now; the log rolls at the next append. */
static int snapshot_at(int64_t zxid)
{
    snapshot_accepted = 0;
    snap_expected = zxid;
    return run_until(snapshot_started) && run_until(snapshot_written);
}

static int read_epochs(int64_t *acc, int64_t *cur)
{
    return ops->epoch_get(CORRAL_EPOCH_ACCEPTED, acc) < 0 ? -1
         : ops->epoch_get(CORRAL_EPOCH_CURRENT, cur);
}

static void slurp(const char *name, char *out, size_t cap)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", vdir, name);
    out[0] = 0;
    FILE *f = fopen(p, "r");
    if (!f)
        return;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = 0;
    fclose(f);
}

/*
 * Reads interleaved with a writer thread busy appending (more is queued
 * before each read): each gives exactly the durable prefix, never a txn
 * whose append is not done, never an error from bytes being written.
 */
static void check_concurrent(int64_t base, int64_t count, int roll)
{
    int reads = 0, bad = 0, during = 0;
    int64_t prev = -1, queued_to = base;
    ev_tstamp end = ev_time() + 30;
    for (;;) {
        if (queued_to < base + count) {
            int64_t to = queued_to + 25 < base + count ? queued_to + 25 : base + count;
            queue_txns(queued_to + 1, to, 'c');
            queued_to = to;
            if (roll && queued_to >= base + count / 2 && queued_to - 25 < base + count / 2)
                ops->snapshot();        /* a roll point among what is in flight */
        }
        int64_t last = ops->last_logged_zxid();
        struct got g;
        int64_t after = last - 40 > base ? last - 40 : base;
        if (!all_done())
            during++;
        int rc = read_after(after, &g);
        reads++;
        if (rc != 0 || !g.contiguous || !g.raw_ok || g.n != last - after ||
            (g.n && g.last != last) || last < prev)
            bad++;
        prev = last;
        if ((queued_to == base + count && all_done()) || ev_time() > end)
            break;
        ev_run(core.loop, EVRUN_NOWAIT);
    }
    ok(all_done() && n_failed == 0, "%s: %lld concurrent appends done", mod->name,
       (long long)count);
    ok(bad == 0 && during > 0, "%s: %d reads while appending (%d with appends in flight) each "
       "gave exactly the durable prefix (%d did not)", mod->name, reads, during, bad);
    is_int(ops->last_logged_zxid(), base + count, "%s: last logged after the burst", mod->name);
    check_read(base, base + count, "after the burst");
}

/* ---- file ---- */

static void test_file(void)
{
    if (use_module("file") < 0)
        return;
    snprintf(dir, sizeof dir, "/tmp/corral-storage-sync-XXXXXX");
    if (!mkdtemp(dir))
        return;
    snprintf(vdir, sizeof vdir, "%s/version-2", dir);
    n_cfg = 0;
    set_cfg("dataDir", dir);
    set_cfg("preAllocSize", "4");       /* KiB: the files grow while being read */
    is_int(start(), 0, "file: recovers a fresh directory");
    is_int(ops->last_logged_zxid(), 0, "file: last logged zxid of a fresh directory");
    check_read(0, 0, "fresh");

    int64_t acc = -1, cur = -1;
    /* the storage only keeps them: the core sets them at start (core/epochs.c) */
    ok(ops->epoch_get(CORRAL_EPOCH_ACCEPTED, &acc) == 1 && ops->epoch_get(CORRAL_EPOCH_CURRENT, &cur) == 1,
       "file: a fresh directory has no epochs stored");
    ok(ops->epoch_set(CORRAL_EPOCH_ACCEPTED, 7) == 0 && ops->epoch_set(CORRAL_EPOCH_CURRENT, 6) == 0,
       "file: epochs set");
    ok(read_epochs(&acc, &cur) == 0 && acc == 7 && cur == 6, "file: epochs read back");
    char text[64];
    slurp("acceptedEpoch", text, sizeof text);
    is_str(text, "7", "file: acceptedEpoch as ZooKeeper writes it");
    ok(ops->epoch_set(5, 1) < 0 && ops->epoch_set(CORRAL_EPOCH_CURRENT, -1) < 0,
       "file: no such epoch / a negative one refused");

    /* three log files: 1..10, 11..20, 21..30, snapshots at 0x0, 0xa and 0x14 */
    ok(append_txns(1, 10, 'v'), "file: appends 1..10");
    ok(snapshot_at(10), "file: snapshot at 0xa");
    ok(append_txns(11, 20, 'v'), "file: appends 11..20");
    ok(snapshot_at(20), "file: snapshot at 0x14");
    ok(append_txns(21, 30, 'v'), "file: appends 21..30");
    is_int(count_files("log."), 3, "file: three log files");
    check_reads_1_30();
    check_read(10, 30, "from a file boundary");
    struct got g;
    int rc;

    /* damage is refused, and left for recovery / the operator, not repaired */
    char log1[512];
    snprintf(log1, sizeof log1, "%s/log.1", vdir);
    struct stat before, after;
    stat(log1, &before);
    int fd = open(log1, O_RDWR);
    uint8_t byte, flipped;
    pread(fd, &byte, 1, 16 + 13 + 20);
    flipped = byte ^ 0x40;
    pwrite(fd, &flipped, 1, 16 + 13 + 20);
    last_error[0] = 0;
    rc = read_after(0, &g);
    ok(rc < 0 && strstr(last_error, "log.1") && strstr(last_error, "offset"),
       "file: a damaged log is refused naming file and offset");
    stat(log1, &after);
    uint8_t now = 0;
    pread(fd, &now, 1, 16 + 13 + 20);
    ok(after.st_size == before.st_size && now == flipped, "file: the damaged log is left as it was");
    check_read(10, 30, "after the damaged file");
    pwrite(fd, &byte, 1, 16 + 13 + 20);
    close(fd);
    /* the same in the file truncate reads (from the snapshot at 0x14 on) */
    snprintf(log1, sizeof log1, "%s/log.15", vdir);
    stat(log1, &before);
    fd = open(log1, O_RDWR);
    pread(fd, &byte, 1, 16 + 13 + 20);
    flipped = byte ^ 0x40;
    pwrite(fd, &flipped, 1, 16 + 13 + 20);
    last_error[0] = 0;
    ok(ops->truncate(25) < 0 && strstr(last_error, "log.15"), "file: truncate refuses a "
       "damaged log");
    stat(log1, &after);
    ok(after.st_size == before.st_size, "file: a refused truncate leaves the log as it was");
    pwrite(fd, &byte, 1, 16 + 13 + 20);
    close(fd);

    /* truncate */
    last_error[0] = 0;
    ok(ops->truncate(40) < 0 && strstr(last_error, "no such txn"), "file: truncate to a zxid "
       "not logged is refused");
    last_error[0] = 0;
    ok(ops->truncate(15) < 0 && strstr(last_error, "snapshot"),
       "file: truncate to before the newest snapshot is refused");
    check_read(0, 30, "after refused truncates");
    is_int(ops->truncate(25), 0, "file: truncate to 0x19 (inside a file)");
    is_int(ops->last_logged_zxid(), 25, "file: last logged after truncate");
    check_read(0, 25, "truncated");
    is_int(ops->truncate(25), 0, "file: truncate to the last logged zxid changes nothing");
    is_int(ops->truncate(20), 0, "file: truncate to 0x14 (a file boundary, the snapshot)");
    is_int(count_files("log."), 2, "file: the later log file removed");
    check_read(0, 20, "truncated to a boundary");
    ok(append_txns(21, 28, 'w'), "file: appends 21..28 after truncate");
    check_read(0, 28, "appended after truncate");
    read_after(20, &g);
    ok(g.prefix_at_last == 'w', "file: the new txns, not the truncated ones");

    /* restart: exactly the log as it is, the epochs as set */
    stop();
    is_int(start(), 0, "file: restarts");
    ok(applied_last == 28 && first_applied == 21 && n_applied == 8,
       "file: recovery replays 21..28 after snapshot 0x14 (last 0x%llx, %lld txns from 0x%llx)",
       (long long)applied_last, (long long)n_applied, (long long)first_applied);
    is_int(ops->last_logged_zxid(), 28, "file: last logged after restart");
    check_read(0, 28, "after restart");
    ok(read_epochs(&acc, &cur) == 0 && acc == 7 && cur == 6, "file: epochs survive restart");

    /* truncate, then restart to exactly that */
    is_int(ops->truncate(24), 0, "file: truncate to 0x18");
    stop();
    is_int(start(), 0, "file: restarts after truncate");
    is_int(applied_last, 24, "file: recovers to exactly the truncated zxid");
    is_int(ops->last_logged_zxid(), 24, "file: last logged after truncate + restart");
    check_read(0, 24, "after truncate + restart");
    ok(append_txns(25, 30, 'x'), "file: appends go on from there");
    check_read(0, 30, "after truncate + restart + append");

    /* reads while the writer thread appends, across rolls */
    check_concurrent(30, 3000, 1);
    stop();
    is_int(start(), 0, "file: restarts after the burst");
    is_int(applied_last, 3030, "file: recovers the burst");
    stop();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", dir);
}

/* ---- mem ---- */

static void test_mem(void)
{
    if (use_module("mem") < 0)
        return;
    n_cfg = 0;
    set_cfg("storage.mem.async", "true");
    set_cfg("storage.mem.logCount", "100");
    is_int(start(), 0, "mem: starts");
    is_int(ops->last_logged_zxid(), 0, "mem: last logged zxid at start");
    int64_t acc = -1, cur = -1;
    ok(ops->epoch_get(CORRAL_EPOCH_ACCEPTED, &acc) == 1 && ops->epoch_get(CORRAL_EPOCH_CURRENT, &cur) == 1,
       "mem: no epochs stored at start");
    ok(ops->epoch_set(CORRAL_EPOCH_ACCEPTED, 3) == 0 && ops->epoch_set(CORRAL_EPOCH_CURRENT, 2) == 0 &&
       read_epochs(&acc, &cur) == 0 && acc == 3 && cur == 2, "mem: epochs set and read back");

    /* only what is durable: async completions come at the end of the loop iteration */
    queue_txns(1, 30, 'v');
    is_int(ops->last_logged_zxid(), 0, "mem: appends in flight are not logged yet");
    check_read(0, 0, "with appends in flight");
    ok(ops->truncate(0) < 0, "mem: truncate refused with appends in flight");
    ok(run_until(all_done) && n_failed == 0, "mem: appends 1..30 done");
    check_reads_1_30();
    struct got g;

    last_error[0] = 0;
    ok(ops->truncate(40) < 0 && strstr(last_error, "no such txn"), "mem: truncate to a zxid "
       "not logged is refused");
    is_int(ops->truncate(25), 0, "mem: truncate to 0x19");
    is_int(ops->last_logged_zxid(), 25, "mem: last logged after truncate");
    check_read(0, 25, "truncated");
    ok(append_txns(26, 28, 'w'), "mem: appends after truncate");
    check_read(0, 28, "appended after truncate");
    read_after(25, &g);
    ok(g.prefix_at_last == 'w', "mem: the new txns, not the truncated ones");

    /* the window of storage.mem.logCount txns (of those applied: two batches) */
    ok(append_txns(29, 100, 'v') && append_txns(101, 150, 'v'), "mem: appends 29..150");
    last_error[0] = 0;
    ok(read_after(10, &g) < 0 && strstr(last_error, "no longer kept"),
       "mem: a read after a txn no longer kept is refused");
    check_read(50, 150, "the whole window");
    ok(ops->truncate(40) < 0, "mem: truncate to a txn no longer kept is refused");
    is_int(ops->truncate(50), 0, "mem: truncate to where the window starts");
    check_read(50, 50, "truncated to the window's start");
    ok(append_txns(51, 60, 'v'), "mem: appends after that");
    check_read(50, 60, "after that");
    check_concurrent(60, 50, 0);

    stop();
    is_int(start(), 0, "mem: restarts");
    ok(ops->last_logged_zxid() == 0 && ops->epoch_get(CORRAL_EPOCH_ACCEPTED, &acc) == 1 &&
       ops->epoch_get(CORRAL_EPOCH_CURRENT, &cur) == 1,
       "mem: nothing survives a restart, as documented");
    stop();

    /* default: no log kept, a standalone server's memory as before */
    n_cfg = 0;
    is_int(start(), 0, "mem: starts with the default logCount");
    ok(append_txns(1, 5, 'v'), "mem: appends");
    is_int(ops->last_logged_zxid(), 5, "mem: last logged zxid without a log");
    check_read(5, 5, "without a log, after the last");
    ok(read_after(0, &g) < 0, "mem: without a log, earlier txns cannot be read");
    ok(ops->truncate(3) < 0 && ops->truncate(5) == 0, "mem: without a log, only a truncate "
       "to the last is possible");
    stop();

    /*
     * An ensemble member keeps what it logged and has not applied, whatever
     * logCount says: a follower's proposals wait for their COMMIT, and when
     * the leader dies first it applies them from the log before it votes.
     */
    n_cfg = 0;
    fake_member = 1;
    is_int(start(), 0, "mem member: starts with the default logCount");
    ok(append_txns(1, 2, 'v'), "mem member: appends 1..2");
    applied_last = 2;           /* committed; what follows is logged (ACKed), not committed */
    ok(append_txns(3, 8, 'v'), "mem member: appends 3..8, not applied");
    check_read(2, 8, "member, unapplied txns");
    last_error[0] = 0;
    ok(read_after(1, &g) < 0 && strstr(last_error, "no longer kept"),
       "mem member: applied txns beyond logCount are not kept");
    applied_last = 8;
    ok(append_txns(9, 9, 'v'), "mem member: once applied, an append drops them");
    check_read(8, 9, "member, after the commits");
    ok(read_after(7, &g) < 0, "mem member: the applied ones are gone");
    stop();
    fake_member = 0;
}

/*
 * `storage-sync.t truncate DATADIR ZXID`: truncate a real data directory's
 * log to ZXID with the file storage, for t0592 (ZooKeeper and corrald must
 * then both load exactly the state at ZXID).
 */
static int truncate_tool(const char *data_dir, const char *zxid)
{
    mod = load("file");
    if (!mod)
        return 2;
    ops = mod->ops;
    set_cfg("dataDir", data_dir);
    int rc = start() == 0 && ops->truncate(strtoll(zxid, NULL, 0)) == 0 ? 0 : 1;
    stop();
    return rc;
}

int main(int argc, char **argv)
{
    core.loop = ev_default_loop(0);
    if (argc == 4 && !strcmp(argv[1], "truncate"))
        return truncate_tool(argv[2], argv[3]);
    test_file();
    n_done = n_failed = want_done = 0;
    test_mem();
    return done_testing();
}
