/*
 * file.c — the `file` storage module: durable txn log + snapshots in Apache
 * ZooKeeper 3.8's on-disk format (see zkfile.h for the parts).
 *
 * recover(): load the newest valid snapshot.<zxid> from dataDir/version-2,
 * then replay every later txn from dataLogDir/version-2/log.* through the
 * core's apply function.  A data directory written by ZooKeeper works as is,
 * and ours works with ZooKeeper (a fresh directory gets snapshot.0 at once,
 * as ZooKeeper writes one: it refuses logs without a snapshot).
 *
 * append(): encode the txn as ZooKeeper does (never longer than the core's
 * txn limit, which the reader applies too) and hand it to the log writer
 * thread (group commit, txnlog.c).  Every snapCount/2 + random(snapCount/2)
 * txns (or snapSizeLimitInKb of log) the log rolls to a new file and a
 * fork()ed child writes a snapshot of the tree as it is at that moment,
 * while the parent goes on serving; an ev_child watcher reports the result.
 * The child runs at nice 19: where it shares a CPU with the event loop it
 * used to take a third of it, and the create p99 with it (7 ms -> 1.5 ms
 * when measured; nice 10 gave 4 ms); a late snapshot only means a longer
 * log to replay, and the ones due meanwhile are skipped with a warning.
 * With autopurge.purgeInterval > 0, old snapshots and the logs only they
 * need are removed every purgeInterval hours and after each snapshot,
 * keeping autopurge.snapRetainCount snapshots (ZooKeeper's PurgeTxnLog).
 * The epoch files are read and written by epoch.c, for the core, which
 * checks them after recovery (core/epochs.c); dataDir/myid is the core's.
 * reset_to_tree() makes a SNAP sync's tree the whole durable state (a
 * snapshot of it, no log, no other snapshot).
 * recover() may run again (the core reloading its tree after a truncate):
 * it stops the log writer and whatever snapshot or purge the last one
 * started, and rescans the directories as at start-up.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>
#include "zkfile.h"

#define PREALLOC_MAX_KIB (1 << 20)     /* 1 GiB */

const struct corral_core *zk_core;
int zk_log_quiet;

static struct {
    char *snap_dir;             /* dataDir/version-2 */
    char *log_dir;              /* dataLogDir/version-2 */
    long long snap_count;
    long long snap_size_limit;  /* bytes of log between snapshots; 0: no limit */
    long long prealloc;
    int64_t max_txn;            /* the core's txn limit: longer entries are never written */
    int force_sync;
    int digest;
    long long retain;
    long long purge_hours;

    /* snapshot scheduling */
    long long txns_since_snap, bytes_since_snap, snap_threshold;
    int snap_wanted;
    pid_t snap_pid;
    int snap_skipped;           /* snapshots due while snap_pid was still writing */
    int64_t snap_zxid;
    int64_t snap_started_ms;
    ev_prepare snap_starter;
    ev_child snap_child;
    ev_timer purge_timer;
    int started;

    struct jute_buf txn_buf, entry_buf;
} fs;

/* ---- configuration ---- */

static char *join(const char *a, const char *b)
{
    size_t len = strlen(a) + strlen(b) + 2;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s/%s", a, b);
    return s;
}

static int read_config(void)
{
    free(fs.snap_dir);
    free(fs.log_dir);
    fs.snap_dir = fs.log_dir = NULL;
    const char *data_dir = zk_core->config_get("dataDir");
    if (!data_dir || !*data_dir) {
        zk_log(CORRAL_LOG_ERROR, "dataDir is not set: the file storage needs a directory");
        return -1;
    }
    const char *log_dir = zk_core->config_get("dataLogDir");
    if (!log_dir || !*log_dir)
        log_dir = data_dir;
    fs.snap_dir = join(data_dir, "version-2");
    fs.log_dir = join(log_dir, "version-2");
    if (!fs.snap_dir || !fs.log_dir)
        return -1;
    long long kib;
    if (zk_core->config_int("snapCount", 100000, 2, INT32_MAX, &fs.snap_count) < 0 ||
        zk_core->config_int("snapSizeLimitInKb", 4194304, -1, INT64_MAX / 1024, &kib) < 0)
        return -1;
    fs.snap_size_limit = kib > 0 ? kib * 1024 : 0;
    if (zk_core->config_int("preAllocSize", 65536, 0, INT64_MAX / 1024, &kib) < 0)
        return -1;
    /*
     * Recovery reads a log to its end (it checks that nothing but zeros
     * follows the last entry), so the preallocation bounds start-up time.
     * ZooKeeper accepts any size; past 1 GiB this one is clamped.
     */
    if (kib > PREALLOC_MAX_KIB) {
        zk_log(CORRAL_LOG_WARN, "preAllocSize %lld KiB: using the largest this storage takes, "
               "%d KiB (recovery reads a log file to its end)", kib, PREALLOC_MAX_KIB);
        kib = PREALLOC_MAX_KIB;
    }
    fs.prealloc = kib * 1024;
    fs.max_txn = zk_core->max_txn_bytes();
    if (zk_core->config_bool("forceSync", 1, &fs.force_sync) < 0 ||
        zk_core->config_bool("storage.file.digest", 1, &fs.digest) < 0 ||
        zk_core->config_int("autopurge.snapRetainCount", 3, 1, INT32_MAX, &fs.retain) < 0 ||
        zk_core->config_int("autopurge.purgeInterval", 0, 0, 1000000, &fs.purge_hours) < 0)
        return -1;
    if (fs.retain < 3) {
        zk_log(CORRAL_LOG_WARN, "autopurge.snapRetainCount %lld is below the minimum 3; using 3",
               fs.retain);
        fs.retain = 3;
    }
    return 0;
}

/* snapCount/2 + random(snapCount/2), as ZooKeeper spreads its snapshots. */
static void new_snap_threshold(void)
{
    long long half = fs.snap_count / 2;
    fs.snap_threshold = half + (half > 0 ? random() % half : 0);
    fs.txns_since_snap = 0;
    fs.bytes_since_snap = 0;
}

/* ---- purge (ZooKeeper's PurgeTxnLog) ---- */

/* ZooKeeper's quick validity test: long enough and ending with the string "/". */
static int snapshot_looks_complete(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char tail[5];
    int ok = fseek(f, -5, SEEK_END) == 0 && fread(tail, 1, 5, f) == 5 &&
             tail[0] == 0 && tail[1] == 0 && tail[2] == 0 && tail[3] == 1 && tail[4] == '/';
    fclose(f);
    return ok;
}

static void purge(void)
{
    struct zk_file *snaps = NULL, *logs = NULL;
    size_t n_snaps = 0, n_logs = 0;
    if (zk_list(fs.snap_dir, "snapshot", &snaps, &n_snaps) < 0 ||
        zk_list(fs.log_dir, "log", &logs, &n_logs) < 0) {
        zk_log(CORRAL_LOG_WARN, "purge: cannot list %s: %s", fs.snap_dir, strerror(errno));
        goto out;
    }
    /* the oldest of the `retain` newest valid snapshots */
    int64_t keep_from = -1;
    long long valid = 0;
    for (size_t i = n_snaps; i-- > 0 && valid < fs.retain;) {
        if (snapshot_looks_complete(snaps[i].path)) {
            valid++;
            keep_from = snaps[i].zxid;
        }
    }
    if (valid < fs.retain)
        goto out;
    /* logs: keep the newest one starting at or before keep_from, and all later */
    int64_t keep_log_from = -1;
    for (size_t i = 0; i < n_logs; i++)
        if (logs[i].zxid <= keep_from)
            keep_log_from = logs[i].zxid;
    int removed = 0;
    for (size_t i = 0; i < n_snaps; i++)
        if (snaps[i].zxid < keep_from && unlink(snaps[i].path) == 0)
            removed++;
    for (size_t i = 0; i < n_logs; i++)
        if (logs[i].zxid < keep_log_from && unlink(logs[i].path) == 0)
            removed++;
    if (removed)
        zk_log(CORRAL_LOG_INFO, "purge: removed %d old snapshot/log files (keeping snapshot "
               "0x%llx and later)", removed, (unsigned long long)keep_from);
out:
    zk_list_free(snaps, n_snaps);
    zk_list_free(logs, n_logs);
}

static void on_purge_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
    purge();
}

/* ---- snapshots ---- */

static void on_snapshot_done(struct ev_loop *loop, ev_child *c, int revents)
{
    (void)revents;
    ev_child_stop(loop, c);
    fs.snap_pid = 0;
    int st = c->rstatus, skipped = fs.snap_skipped;
    fs.snap_skipped = 0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        zk_log(CORRAL_LOG_INFO, "snapshot.%llx written in %lld ms (%d due meanwhile skipped)",
               (unsigned long long)fs.snap_zxid, (long long)(zk_core->now_ms() - fs.snap_started_ms),
               skipped);
        if (fs.purge_hours > 0)
            purge();
    } else if (WIFEXITED(st)) {
        zk_log(CORRAL_LOG_ERROR, "writing snapshot.%llx failed: %s (the txn log still has "
               "everything)", (unsigned long long)fs.snap_zxid, strerror(WEXITSTATUS(st)));
    } else {
        zk_log(CORRAL_LOG_ERROR, "the process writing snapshot.%llx died (status %d)",
               (unsigned long long)fs.snap_zxid, st);
    }
}

/*
 * Milliseconds of the monotonic clock since *t0.  Not zk_core->now_ms(): that
 * is the loop's time, which stands still while the loop does (a fork, a
 * recovery before the loop runs).
 */
static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void close_inherited_fds(void)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
        close((int)fd);
}

static void start_snapshot(struct ev_loop *loop, ev_prepare *p, int revents)
{
    (void)revents;
    ev_prepare_stop(loop, p);
    fs.snap_wanted = 0;
    if (fs.snap_pid) {
        /* one line per slow snapshot, not one per skip: under load they come every second */
        if (fs.snap_skipped++ == 0)
            zk_log(CORRAL_LOG_WARN, "too busy to snapshot (snapshot.%llx is still being written); "
                   "skipping this one and any more due before it is done",
                   (unsigned long long)fs.snap_zxid);
        return;
    }
    int64_t zxid = zk_core->last_zxid();
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = zk_log_fork();
    if (pid < 0) {
        zk_log(CORRAL_LOG_ERROR, "fork for a snapshot: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        /* the child: a frozen copy of the tree; write it and leave.  It
         * lets go of the server's sockets and files first, so a restarted
         * server can bind its port while a big snapshot is still written. */
        zk_log_quiet = 1;
        close_inherited_fds();
        /* yield to the event loop when both share a CPU: the snapshot may be late, a reply may not */
        if (setpriority(PRIO_PROCESS, 0, 19) < 0)
            errno = 0;
        errno = 0;
        int rc = zk_snapshot_write(fs.snap_dir, zxid, fs.digest);
        _exit(rc == 0 ? 0 : (errno > 0 && errno < 256 ? errno : EIO));
    }
    /* the loop stands still while the page tables are copied (as Redis reports latest_fork_usec) */
    double fork_ms = ms_since(&t0);
    fs.snap_pid = pid;
    fs.snap_zxid = zxid;
    fs.snap_started_ms = zk_core->now_ms();
    ev_child_init(&fs.snap_child, on_snapshot_done, pid, 0);
    ev_child_start(loop, &fs.snap_child);
    zk_log(CORRAL_LOG_INFO, "writing snapshot.%llx in the background (pid %d, fork took %.1f ms)",
           (unsigned long long)zxid, (int)pid, fork_ms);
}

static void want_snapshot(void)
{
    if (fs.snap_wanted)
        return;
    fs.snap_wanted = 1;
    ev_prepare_start(zk_core->loop, &fs.snap_starter);
}

/* ---- recovery ---- */

static int replay_one(void *arg, const uint8_t *raw, size_t len, struct corral_txn *t,
                      const struct zk_file *file, size_t off, size_t end)
{
    (void)raw;
    (void)len;
    (void)file;
    (void)off;
    (void)end;
    int64_t *count = arg;
    zk_core->apply_txn(t);      /* a failed op (e.g. NodeExists) is part of history */
    (*count)++;
    return 0;
}

/* tmp.snapshot.* are snapshots a crash interrupted: never valid, never needed. */
static void remove_temp_snapshots(void)
{
    DIR *d = opendir(fs.snap_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "tmp.snapshot.", 13))
            continue;
        char *path = join(fs.snap_dir, e->d_name);
        if (path && unlink(path) == 0)
            zk_log(CORRAL_LOG_INFO, "removed %s, left by an interrupted snapshot", path);
        free(path);
    }
    closedir(d);
}

/* A snapshot child still writing: wait for it (it is a consistent copy either way). */
static void wait_snapshot_child(void)
{
    if (fs.snap_pid <= 0)
        return;
    int st;
    ev_child_stop(zk_core->loop, &fs.snap_child);
    while (waitpid(fs.snap_pid, &st, 0) < 0 && errno == EINTR)
        ;
    fs.snap_pid = 0;
    fs.snap_skipped = 0;
}

/*
 * recover() run again (the core reloading its tree after a truncate,
 * CORRAL_STORAGE_RECOVER_AGAIN): stop what the last recover() started (the
 * log writer, a snapshot due or being written, the purge timer), so the
 * files are rescanned from scratch as at start-up.  Refused while appends
 * are in flight.
 */
static int stop_for_recover_again(void)
{
    if (!fs.started)
        return 0;
    if (!zk_log_idle()) {
        zk_log(CORRAL_LOG_ERROR, "recovering again while appends are in flight; refusing");
        return -1;
    }
    if (fs.snap_wanted) {
        ev_prepare_stop(zk_core->loop, &fs.snap_starter);
        fs.snap_wanted = 0;
    }
    wait_snapshot_child();
    if (fs.purge_hours > 0 && ev_is_active(&fs.purge_timer)) {
        ev_ref(zk_core->loop);
        ev_timer_stop(zk_core->loop, &fs.purge_timer);
    }
    zk_log_stop();
    fs.started = 0;
    return 0;
}

static int file_recover(void)
{
    if (stop_for_recover_again() < 0 || read_config() < 0)
        return -1;
    if (zk_mkdirs(fs.snap_dir) < 0 || zk_mkdirs(fs.log_dir) < 0) {
        zk_log(CORRAL_LOG_ERROR, "cannot create %s / %s: %s", fs.snap_dir, fs.log_dir,
               strerror(errno));
        return -1;
    }
    remove_temp_snapshots();
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct zk_file *snaps = NULL, *logs = NULL;
    size_t n_snaps = 0, n_logs = 0;
    int rc = -1;
    if (zk_list(fs.snap_dir, "snapshot", &snaps, &n_snaps) < 0 ||
        zk_list(fs.log_dir, "log", &logs, &n_logs) < 0) {
        zk_log(CORRAL_LOG_ERROR, "cannot list %s / %s: %s", fs.snap_dir, fs.log_dir,
               strerror(errno));
        goto out;
    }
    int64_t snap_zxid = -1;
    for (size_t i = n_snaps; i-- > 0;) {
        int r = zk_snapshot_load(snaps[i].path, NULL);
        if (r < 0)
            goto out;
        if (r == 0) {
            snap_zxid = snaps[i].zxid;
            zk_core->set_last_zxid(snap_zxid);
            break;
        }
    }
    if (snap_zxid < 0 && n_snaps > 0) {
        zk_log(CORRAL_LOG_ERROR, "%s has snapshot files but none of them is valid; refusing "
               "to start with an empty tree", fs.snap_dir);
        goto out;
    }
    if (snap_zxid < 0 && n_logs > 0)
        zk_log(CORRAL_LOG_WARN, "%s: txn logs but no snapshot: replaying the logs from an "
               "empty tree", fs.log_dir);
    /* the newest log that starts at or before the snapshot, and every later one */
    size_t first = 0;
    for (size_t i = 0; i < n_logs; i++)
        if (logs[i].zxid <= snap_zxid)
            first = i;
    int64_t replayed = 0;
    if (zk_log_replay(logs + first, n_logs - first, snap_zxid < 0 ? 0 : snap_zxid, fs.max_txn,
                      replay_one, &replayed) < 0)
        goto out;
    zk_log(CORRAL_LOG_INFO, "recovered to zxid 0x%llx (snapshot 0x%llx + %lld txns) in %lld ms",
           (unsigned long long)zk_core->last_zxid(), (unsigned long long)(snap_zxid < 0 ? 0 : snap_zxid),
           (long long)replayed, (long long)ms_since(&t0));

    ev_prepare_init(&fs.snap_starter, start_snapshot);
    if (snap_zxid < 0) {
        /* ZooKeeper will not load logs without a snapshot: write one now. */
        if (zk_snapshot_write(fs.snap_dir, zk_core->last_zxid(), fs.digest) < 0)
            goto out;
    } else if (replayed > 0) {
        want_snapshot();
    }
    struct zk_log_config lc = {fs.log_dir, fs.prealloc, fs.force_sync, zk_core->last_zxid()};
    if (zk_log_start(&lc) < 0)
        goto out;
    fs.started = 1;
    srandom((unsigned)(time(NULL) ^ getpid()));
    new_snap_threshold();
    if (fs.purge_hours > 0) {
        ev_timer_init(&fs.purge_timer, on_purge_timer, (double)fs.purge_hours * 3600.0,
                      (double)fs.purge_hours * 3600.0);
        ev_timer_start(zk_core->loop, &fs.purge_timer);
        ev_unref(zk_core->loop);
        purge();
    }
    rc = 0;
out:
    zk_list_free(snaps, n_snaps);
    zk_list_free(logs, n_logs);
    return rc;
}

/* ---- append ---- */

static void file_append(const struct corral_txn *txn, void (*done)(void *, int), void *arg)
{
    jute_buf_reset(&fs.entry_buf);
    char why[160];
    int rc = zk_txn_encode_logged(&fs.txn_buf, txn, fs.max_txn, why, sizeof why);
    if (rc < 0)
        zk_log(CORRAL_LOG_ERROR, "txn 0x%llx: %s: not writing it", (unsigned long long)txn->zxid,
               why);
    if (rc == 0)
        zk_entry_frame(&fs.entry_buf, fs.txn_buf.data, fs.txn_buf.len);
    if (rc < 0 || fs.txn_buf.oom || fs.entry_buf.oom) {
        done(arg, -1);
        return;
    }
    zk_log_append(fs.entry_buf.data, fs.entry_buf.len, txn->zxid, done, arg);
    fs.txns_since_snap++;
    fs.bytes_since_snap += (long long)fs.entry_buf.len;
    if (fs.txns_since_snap > fs.snap_threshold ||
        (fs.snap_size_limit > 0 && fs.bytes_since_snap > fs.snap_size_limit)) {
        new_snap_threshold();
        zk_log_roll();
        want_snapshot();
    }
}

/* An operator's snapshot (corral snapshot / the "snap" word): as if snapCount was reached. */
static int file_snapshot(void)
{
    if (fs.snap_pid) {
        zk_log(CORRAL_LOG_WARN, "snapshot requested while one is still being written");
        return -1;
    }
    new_snap_threshold();
    zk_log_roll();
    want_snapshot();
    return 0;
}

/* ---- sync (an ensemble's DIFF / TRUNC, its epochs) ---- */

struct reader {
    int (*fn)(void *arg, const uint8_t *raw, size_t len, const struct corral_txn *t);
    void *arg;
};

static int read_one(void *arg, const uint8_t *raw, size_t len, struct corral_txn *t,
                    const struct zk_file *file, size_t off, size_t end)
{
    (void)file;
    (void)off;
    (void)end;
    struct reader *r = arg;
    return r->fn(r->arg, raw, len, t) ? 1 : 0;
}

static int file_read_txns(int64_t after,
                          int (*fn)(void *, const uint8_t *, size_t, const struct corral_txn *),
                          void *arg)
{
    struct zk_file *logs = NULL;
    size_t n = 0;
    if (zk_list(fs.log_dir, "log", &logs, &n) < 0) {
        zk_log(CORRAL_LOG_ERROR, "cannot list %s: %s", fs.log_dir, strerror(errno));
        return -1;
    }
    struct reader r = {fn, arg};
    int rc = zk_log_read(logs, n, after, zk_log_durable_zxid(), fs.max_txn, read_one, &r);
    zk_list_free(logs, n);
    return rc;
}

/* The zxid of the newest snapshot that looks complete (-1: none). */
static int64_t newest_snapshot(void)
{
    struct zk_file *snaps = NULL;
    size_t n = 0;
    int64_t zxid = -1;
    if (zk_list(fs.snap_dir, "snapshot", &snaps, &n) < 0)
        return -2;
    for (size_t i = n; i-- > 0 && zxid < 0;)
        if (snapshot_looks_complete(snaps[i].path))
            zxid = snaps[i].zxid;
    zk_list_free(snaps, n);
    return zxid;
}

/*
 * TRUNC.  A snapshot being written is waited for first (it may be of a
 * state after zxid, which truncate must then refuse), and one merely due
 * is dropped: the tree it would write is the one being truncated away.
 */
static int file_truncate(int64_t zxid)
{
    if (fs.snap_wanted) {
        ev_prepare_stop(zk_core->loop, &fs.snap_starter);
        fs.snap_wanted = 0;
    }
    wait_snapshot_child();
    int64_t base = newest_snapshot();
    struct zk_file *logs = NULL;
    size_t n = 0;
    if (base < -1 || zk_list(fs.log_dir, "log", &logs, &n) < 0) {
        zk_log(CORRAL_LOG_ERROR, "cannot list %s / %s: %s", fs.snap_dir, fs.log_dir,
               strerror(errno));
        return -1;
    }
    int rc = zk_log_truncate(logs, n, zxid, base < 0 ? 0 : base, fs.max_txn);
    zk_list_free(logs, n);
    if (rc == 0)
        new_snap_threshold();
    return rc;
}

/*
 * A SNAP sync replaced the tree: the tree, at zxid, becomes snapshot.<zxid>
 * (written here, synchronously, fsynced), then every log and every other
 * snapshot goes, and the log starts afresh after zxid.  A crash part way
 * leaves either the old files (the learner syncs again, nothing was acked)
 * or the new snapshot with no log after it; never the new snapshot with
 * the old log's later txns on top.  The logs go before the older snapshots
 * so that no moment has the new snapshot, an old log and an old newer
 * snapshot together.
 */
static int file_reset_to_tree(int64_t zxid)
{
    if (!zk_log_idle()) {
        zk_log(CORRAL_LOG_ERROR, "reset to snapshot 0x%llx while appends are in flight; refusing",
               (unsigned long long)zxid);
        return -1;
    }
    if (fs.snap_wanted) {
        ev_prepare_stop(zk_core->loop, &fs.snap_starter);
        fs.snap_wanted = 0;
    }
    wait_snapshot_child();
    if (zk_snapshot_write(fs.snap_dir, zxid, fs.digest) < 0)
        return -1;
    struct zk_file *snaps = NULL, *logs = NULL;
    size_t n_snaps = 0, n_logs = 0;
    if (zk_list(fs.snap_dir, "snapshot", &snaps, &n_snaps) < 0 ||
        zk_list(fs.log_dir, "log", &logs, &n_logs) < 0) {
        zk_log(CORRAL_LOG_ERROR, "cannot list %s / %s: %s", fs.snap_dir, fs.log_dir,
               strerror(errno));
        zk_list_free(snaps, n_snaps);
        return -1;
    }
    if (fs.started) {
        zk_log_stop();
        fs.started = 0;
    }
    int rc = 0;
    for (size_t i = 0; i < n_logs; i++)
        if (unlink(logs[i].path) < 0 && errno != ENOENT) {
            zk_log(CORRAL_LOG_ERROR, "%s: %s", logs[i].path, strerror(errno));
            rc = -1;
        }
    zk_fsync_dir(fs.log_dir);
    for (size_t i = 0; rc == 0 && i < n_snaps; i++)
        if (snaps[i].zxid != zxid && unlink(snaps[i].path) < 0 && errno != ENOENT) {
            zk_log(CORRAL_LOG_ERROR, "%s: %s", snaps[i].path, strerror(errno));
            rc = -1;
        }
    zk_fsync_dir(fs.snap_dir);
    zk_list_free(snaps, n_snaps);
    zk_list_free(logs, n_logs);
    if (rc < 0)
        return -1;
    struct zk_log_config lc = {fs.log_dir, fs.prealloc, fs.force_sync, zxid};
    if (zk_log_start(&lc) < 0)
        return -1;
    fs.started = 1;
    new_snap_threshold();
    zk_log(CORRAL_LOG_INFO, "storage reset to snapshot.%llx (a sync's snapshot): %zu old log(s) "
           "and %zu other snapshot(s) removed", (unsigned long long)zxid, n_logs,
           n_snaps ? n_snaps - 1 : 0);
    return 0;
}

static int64_t file_last_logged_zxid(void)
{
    return zk_log_durable_zxid();
}

static int file_epoch_get(int which, int64_t *value)
{
    return zk_epoch_get(fs.snap_dir, which, value);
}

static int file_epoch_set(int which, int64_t value)
{
    return zk_epoch_set(fs.snap_dir, which, value);
}

/* ---- module ---- */

static int file_init(const struct corral_core *core)
{
    zk_core = core;
    memset(&fs, 0, sizeof fs);
    jute_buf_init(&fs.txn_buf);
    jute_buf_init(&fs.entry_buf);
    return 0;
}

static void file_fini(void)
{
    if (fs.started) {
        zk_log_stop();
        fs.started = 0;
    }
    if (zk_core && zk_core->loop) {
        ev_prepare_stop(zk_core->loop, &fs.snap_starter);
        if (fs.purge_hours > 0 && ev_is_active(&fs.purge_timer)) {
            ev_ref(zk_core->loop);
            ev_timer_stop(zk_core->loop, &fs.purge_timer);
        }
    }
    wait_snapshot_child();     /* let the snapshot being written finish: it is a consistent copy */
    jute_buf_free(&fs.txn_buf);
    jute_buf_free(&fs.entry_buf);
    free(fs.snap_dir);
    free(fs.log_dir);
    fs.snap_dir = fs.log_dir = NULL;
}

static const struct corral_storage_ops file_ops = {
    .size = sizeof(struct corral_storage_ops),
    .recover = file_recover,
    .append = file_append,
    .snapshot = file_snapshot,
    .read_txns = file_read_txns,
    .truncate = file_truncate,
    .last_logged_zxid = file_last_logged_zxid,
    .epoch_get = file_epoch_get,
    .epoch_set = file_epoch_set,
    .flags = CORRAL_STORAGE_RECOVER_AGAIN,
    .reset_to_tree = file_reset_to_tree,
};

static const struct corral_config_key file_keys[] = {
    {"storage.file.digest", "write ZooKeeper's tree digest into snapshots (default true)"},
    {NULL, NULL},
};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_STORAGE,
    .name = "file",
    .version = "1.0",
    .config_keys = file_keys,
    .init = file_init,
    .fini = file_fini,
    .ops = &file_ops,
};
