/*
 * mem.c — the in-memory storage module: nothing is persisted.
 *
 * For tests and caches.  recover() finds nothing, so the server starts with
 * an empty tree every time.  append() reports a txn durable at once — or, with
 * storage.mem.async=true, at the end of the current loop iteration, all the
 * txns appended in it together.  The asynchronous mode behaves like a disk
 * with group commit (many txns in flight, completions in order) without a
 * disk, which exercises the core's pipelined write path in tests and lets
 * corral-bench measure it.
 *
 * For ensemble tests without disks it also keeps what an ensemble's sync
 * needs: the epochs, the last logged zxid and, with storage.mem.logCount=N,
 * the newest N appended txns in ZooKeeper's encoding (read_txns serves DIFF
 * from them, truncate drops the newest).  An ensemble member also keeps
 * every txn it logged and has not applied yet, whatever logCount says: a
 * follower logs (and ACKs) a proposal before its COMMIT, and when the
 * leader dies in between, the follower applies what it logged before it
 * votes with that zxid (peer.c settle); a txn dropped there would be voted
 * for and not be had, and the ensemble would elect a leader that lacks
 * what its followers hold.  The default 0 keeps nothing a standalone server
 * has applied, so its memory is as before; a read after a txn no longer
 * kept fails, as one after a purged log does with file storage.  When the core
 * reloads its tree (after a truncate), recover() replays the kept txns into
 * it, which works while the ring still holds every txn.  The encoding is
 * libzk's, checked against the txn limit as the file storage's log does
 * (format.c, linked in through libzklog, which needs no core).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "corral/module.h"
#include "../file/zkfile.h"

static const struct corral_core *core;
static int async_mode;

struct completion {
    void (*done)(void *, int);
    void *arg;
    int64_t zxid;
};

static struct completion *queue;
static size_t queued, cap;
static ev_prepare flush_watcher;

/* The kept txns: a ring, oldest at head, of the newest logCount plus any not applied yet. */
struct kept {
    int64_t zxid;
    uint8_t *bytes;
    size_t len;
};
static struct {
    long long cap;              /* storage.mem.logCount */
    int member;                 /* -1 not known yet; 1 an ensemble member (keeps unapplied txns) */
    struct kept *ring;
    size_t ring_cap, head, n;
    int64_t dropped;            /* the newest txn no longer kept (0: none dropped) */
    int64_t durable;            /* the newest txn whose append is done */
    int64_t epochs[2];
    int epoch_stored[2];        /* set since start: epoch_get says 1 (never stored) before */
    int recovered;              /* recover() ran once: a next one rebuilds the tree */
    struct jute_buf buf;
} lg;

static int mem_init(const struct corral_core *c)
{
    core = c;
    memset(&lg, 0, sizeof lg);
    lg.member = -1;
    jute_buf_init(&lg.buf);
    if (core->config_bool("storage.mem.async", 0, &async_mode) < 0 ||
        core->config_int("storage.mem.logCount", 0, 0, INT32_MAX, &lg.cap) < 0)
        return -1;
    core->log(CORRAL_LOG_INFO, "mem", "in-memory storage%s: nothing survives a restart",
              async_mode ? " (asynchronous completions)" : "");
    return 0;
}

static void mem_fini(void)
{
    if (async_mode && core->loop)
        ev_prepare_stop(core->loop, &flush_watcher);
    free(queue);
    queue = NULL;
    queued = cap = 0;
    for (size_t i = 0; i < lg.n; i++)
        free(lg.ring[(lg.head + i) % lg.ring_cap].bytes);
    free(lg.ring);
    jute_buf_free(&lg.buf);
    memset(&lg, 0, sizeof lg);
}

static struct kept *kept_at(size_t i)
{
    return &lg.ring[(lg.head + i) % lg.ring_cap];
}

/* An ensemble member?  Asked at the first append: the role is set up by then. */
static int is_member(void)
{
    if (lg.member < 0) {
        struct corral_peer_info info;
        memset(&info, 0, sizeof info);
        info.size = sizeof info;
        if (CORRAL_HAS(core, peer_info))
            core->peer_info(&info);
        lg.member = info.member != 0;
    }
    return lg.member;
}

/* Make room for one more under logCount: drop the oldest kept txns the tree has applied. */
static void trim(void)
{
    int64_t applied = core->last_zxid();
    while (lg.n > 0 && (long long)lg.n >= lg.cap && kept_at(0)->zxid <= applied) {
        struct kept *old = kept_at(0);
        lg.dropped = old->zxid;
        free(old->bytes);
        lg.head = (lg.head + 1) % lg.ring_cap;
        lg.n--;
    }
}

/* Room for one more kept txn (the ring doubles, oldest first again).  0 or -1. */
static int make_room(void)
{
    if (lg.n < lg.ring_cap)
        return 0;
    size_t cap = lg.ring_cap ? lg.ring_cap * 2 : (lg.cap > 0 && lg.cap < 1024 ? (size_t)lg.cap : 1024);
    struct kept *ring = malloc(cap * sizeof *ring);
    if (!ring)
        return -1;
    for (size_t i = 0; i < lg.n; i++)
        ring[i] = *kept_at(i);
    free(lg.ring);
    lg.ring = ring;
    lg.ring_cap = cap;
    lg.head = 0;
    return 0;
}

/* Keep txn's bytes, dropping the oldest kept ones that are no longer needed.  0 or -1. */
static int keep(const struct corral_txn *txn)
{
    if (lg.cap == 0 && !is_member()) {
        lg.dropped = txn->zxid;     /* standalone: applied once durable, never read back */
        return 0;
    }
    trim();
    char why[160];
    if (zk_txn_encode_logged(&lg.buf, txn, core->max_txn_bytes(), why, sizeof why) < 0) {
        core->log(CORRAL_LOG_ERROR, "mem", "txn 0x%llx: %s", (unsigned long long)txn->zxid, why);
        return -1;
    }
    uint8_t *bytes = malloc(lg.buf.len);
    if (!bytes || make_room() < 0) {
        free(bytes);
        return -1;
    }
    memcpy(bytes, lg.buf.data, lg.buf.len);
    *kept_at(lg.n) = (struct kept){txn->zxid, bytes, lg.buf.len};
    lg.n++;
    return 0;
}

/* Complete everything appended so far, in order.  More may be appended meanwhile. */
static void flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    size_t i = 0;
    while (i < queued) {
        struct completion c = queue[i++];
        lg.durable = c.zxid;
        c.done(c.arg, 0);
    }
    queued = 0;
    ev_prepare_stop(loop, w);
}

/*
 * At start-up there is nothing to recover.  Run again (the core reloading
 * its tree, db_reload: after a truncate, say), the tree is rebuilt from the
 * kept txns, which is only the whole history while none was dropped (the
 * ring held every txn: storage.mem.logCount large enough); otherwise this
 * fails rather than leave a tree with a gap.
 */
static int mem_recover(void)
{
    if (lg.recovered && queued) {
        core->log(CORRAL_LOG_ERROR, "mem", "recovering while appends are in flight; refusing");
        return -1;
    }
    if (async_mode && !lg.recovered)
        ev_prepare_init(&flush_watcher, flush);
    int first = !lg.recovered;
    lg.recovered = 1;
    if (first || lg.durable == 0)
        return 0;
    if (lg.dropped != 0) {
        core->log(CORRAL_LOG_ERROR, "mem", "cannot rebuild the tree: the in-memory log no longer "
                  "keeps txns up to 0x%llx (storage.mem.logCount=%lld keeps the newest only)",
                  (unsigned long long)lg.dropped, lg.cap);
        return -1;
    }
    int64_t n = 0;
    for (size_t i = 0; i < lg.n && kept_at(i)->zxid <= lg.durable; i++, n++) {
        struct corral_txn t;
        if (zk_txn_decode(kept_at(i)->bytes, kept_at(i)->len, &t) < 0) {
            core->log(CORRAL_LOG_ERROR, "mem", "txn 0x%llx: cannot decode it",
                      (unsigned long long)kept_at(i)->zxid);
            return -1;
        }
        core->apply_txn(&t);    /* a failed op (NodeExists, say) is part of history */
        zk_txn_free(&t);
    }
    core->log(CORRAL_LOG_INFO, "mem", "rebuilt the tree from %lld kept txns, to zxid 0x%llx",
              (long long)n, (unsigned long long)lg.durable);
    return 0;
}

static void mem_append(const struct corral_txn *txn, void (*done)(void *, int), void *arg)
{
    if (keep(txn) < 0) {
        core->log(CORRAL_LOG_ERROR, "mem", "txn 0x%llx: cannot keep it in the in-memory log",
                  (unsigned long long)txn->zxid);
        done(arg, -1);
        return;
    }
    if (!async_mode) {
        lg.durable = txn->zxid;
        done(arg, 0);
        return;
    }
    if (queued == cap) {
        cap = cap ? cap * 2 : 256;
        struct completion *q = realloc(queue, cap * sizeof *q);
        if (!q) {
            done(arg, -1);
            return;
        }
        queue = q;
    }
    queue[queued].done = done;
    queue[queued].arg = arg;
    queue[queued].zxid = txn->zxid;
    queued++;
    ev_prepare_start(core->loop, &flush_watcher);
}

/* ---- sync ---- */

static int64_t mem_last_logged_zxid(void)
{
    return lg.durable;
}

static int mem_read_txns(int64_t after,
                         int (*fn)(void *, const uint8_t *, size_t, const struct corral_txn *),
                         void *arg)
{
    int64_t upto = lg.durable;     /* in async mode later appends are not done yet */
    if (after >= upto)
        return 0;
    if (after < lg.dropped) {
        core->log(CORRAL_LOG_ERROR, "mem", "txns after 0x%llx are no longer kept (the in-memory "
                  "log keeps the newest storage.mem.logCount=%lld, from 0x%llx on)",
                  (unsigned long long)after, lg.cap,
                  (unsigned long long)(lg.n ? kept_at(0)->zxid : lg.durable + 1));
        return -1;
    }
    for (size_t i = 0; i < lg.n && kept_at(i)->zxid <= upto; i++) {
        struct kept *k = kept_at(i);
        if (k->zxid <= after)
            continue;
        struct corral_txn t;
        if (zk_txn_decode(k->bytes, k->len, &t) < 0) {
            core->log(CORRAL_LOG_ERROR, "mem", "txn 0x%llx: cannot decode it",
                      (unsigned long long)k->zxid);
            return -1;
        }
        int stop = fn(arg, k->bytes, k->len, &t);
        zk_txn_free(&t);
        if (stop)
            break;
    }
    return 0;
}

static int mem_truncate(int64_t zxid)
{
    if (queued) {
        core->log(CORRAL_LOG_ERROR, "mem", "truncating the log to 0x%llx while appends are in "
                  "flight; refusing", (unsigned long long)zxid);
        return -1;
    }
    size_t keep_n = 0;
    int ok = zxid == lg.dropped;        /* the point the kept log starts from */
    for (size_t i = 0; i < lg.n && kept_at(i)->zxid <= zxid; i++) {
        keep_n = i + 1;
        ok = kept_at(i)->zxid == zxid;
    }
    if (!ok) {
        core->log(CORRAL_LOG_ERROR, "mem", "truncating the log to 0x%llx: no such txn kept "
                  "(kept: after 0x%llx up to 0x%llx); refusing", (unsigned long long)zxid,
                  (unsigned long long)lg.dropped, (unsigned long long)lg.durable);
        return -1;
    }
    for (size_t i = keep_n; i < lg.n; i++)
        free(kept_at(i)->bytes);
    lg.n = keep_n;
    lg.durable = zxid;
    return 0;
}

/*
 * A SNAP sync replaced the tree: no kept txn belongs to it any more.  The
 * log starts afresh after zxid, and a reload can no longer rebuild the tree
 * (it came from the leader, not from kept txns): recover() then says so.
 */
static int mem_reset_to_tree(int64_t zxid)
{
    if (queued) {
        core->log(CORRAL_LOG_ERROR, "mem", "reset to 0x%llx while appends are in flight; refusing",
                  (unsigned long long)zxid);
        return -1;
    }
    for (size_t i = 0; i < lg.n; i++)
        free(kept_at(i)->bytes);
    lg.n = 0;
    lg.head = 0;
    lg.durable = zxid;
    lg.dropped = zxid;
    return 0;
}

static int mem_epoch_get(int which, int64_t *value)
{
    if (which != CORRAL_EPOCH_ACCEPTED && which != CORRAL_EPOCH_CURRENT)
        return -1;
    if (!lg.epoch_stored[which])
        return 1;
    *value = lg.epochs[which];
    return 0;
}

static int mem_epoch_set(int which, int64_t value)
{
    if ((which != CORRAL_EPOCH_ACCEPTED && which != CORRAL_EPOCH_CURRENT) || value < 0)
        return -1;
    lg.epochs[which] = value;
    lg.epoch_stored[which] = 1;
    return 0;
}

static const struct corral_storage_ops mem_ops = {
    .size = sizeof(struct corral_storage_ops),
    .recover = mem_recover,
    .append = mem_append,
    .read_txns = mem_read_txns,
    .truncate = mem_truncate,
    .last_logged_zxid = mem_last_logged_zxid,
    .epoch_get = mem_epoch_get,
    .epoch_set = mem_epoch_set,
    .flags = CORRAL_STORAGE_RECOVER_AGAIN,
    .reset_to_tree = mem_reset_to_tree,
};

static const struct corral_config_key mem_keys[] = {
    {"storage.mem.async", "complete appends at the end of the loop iteration (group-commit-like)"},
    {"storage.mem.logCount", "keep the newest N txns in memory for an ensemble's sync (default 0)"},
    {NULL, NULL},
};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_STORAGE,
    .name = "mem",
    .version = "1.2",
    .config_keys = mem_keys,
    .init = mem_init,
    .fini = mem_fini,
    .ops = &mem_ops,
};
