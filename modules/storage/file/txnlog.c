/*
 * txnlog.c — ZooKeeper's txn log: group-committing writer and replaying reader.
 *
 * Writer.  The loop thread frames each txn (format.c) and appends the bytes to
 * a shared queue; one writer thread takes everything queued at once, writes
 * it with one pwrite (per log file) and makes it durable with one fdatasync
 * (skipped with forceSync=no), then bumps a counter and wakes the loop with
 * ev_async.  The loop calls the done callbacks of every entry now durable, in
 * append order.  So the loop never waits for the disk, and under load one
 * sync covers as many txns as arrived while the previous one ran.
 *
 * Files are named log.<zxid of their first txn, hex>, start with the header
 * {int "ZKLG", int 2, long 0} and grow in preAllocSize steps of holes (zeros
 * that take no disk), like ZooKeeper's FilePadding: readers stop at a
 * zero-length entry.
 * A new file starts at the first append after start-up and after every
 * zk_log_roll() (the module rolls when it snapshots, as ZooKeeper does).
 *
 * Reader.  zk_log_replay() walks the files in zxid order and hands every txn
 * to a callback.  A bad entry at the end of the newest file that the bytes
 * show to be a write torn by a crash (never acknowledged; logscan.c says
 * when) is cut off with a log line.  Any other damage stops recovery with a
 * message naming the file and offset and how an operator may cut the log
 * there (`corral log-truncate`), never a silent loss.  Entries longer than
 * the core's txn limit are damage: the writer side never writes one (the
 * core refuses such txns, file.c double-checks).
 *
 * For an ensemble's sync the same walk runs read-only: zk_log_read() hands
 * out the txns after a zxid (DIFF) and stops after the newest durable one,
 * the loop thread's own record of what the writer made durable, so it never
 * reads bytes the writer thread may be writing; zk_log_truncate() (TRUNC)
 * drops the txns after a zxid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ev.h>
#include "zkfile.h"

struct completion {
    void (*done)(void *, int);
    void *arg;
    int64_t zxid;
};

/* Where a new log file must start inside the queued bytes. */
struct roll_point {
    size_t offset;
    int64_t zxid;
};

static struct {
    struct zk_log_config cfg;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    /*
     * Held by the writer whenever it may allocate or log (everything but
     * waiting, pwrite and fdatasync), and by the loop around fork(): a child
     * forked while this thread is inside the allocator would find the
     * allocator's lock taken forever (ASan's allocator has no fork handlers).
     */
    pthread_mutex_t fork_mu;

    /* shared, under mu */
    struct jute_buf queued;
    size_t queued_entries;
    struct roll_point *rolls;
    size_t n_rolls, cap_rolls;
    uint64_t durable;           /* entries made durable so far */
    int failed;                 /* errno of the first write/sync failure */
    int stop;
    int running;                /* the writer thread is past its start-up */

    /* loop thread only */
    ev_async wake;
    struct completion *ring;
    size_t ring_cap, ring_head, ring_len;
    uint64_t completed;         /* done callbacks called (or being called) */
    int roll_next;              /* the next append starts a new file */
    int have_file_loop;         /* something was appended since start */
    int64_t durable_zxid;       /* the newest txn whose done said durable */

    /* writer thread only */
    int fd;
    char *file_path;
    int64_t pos, allocated;
} w = {.fd = -1};

/* ---- writer thread ---- */

static int write_all(int fd, const uint8_t *p, size_t len, int64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int open_log_file(int64_t zxid)
{
    if (w.fd >= 0) {
        /* the old file's bytes were synced with their batch */
        close(w.fd);
        w.fd = -1;
    }
    char name[64];
    snprintf(name, sizeof name, "log.%llx", (unsigned long long)zxid);
    size_t len = strlen(w.cfg.dir) + strlen(name) + 2;
    free(w.file_path);
    w.file_path = malloc(len);
    if (!w.file_path)
        return -1;
    snprintf(w.file_path, len, "%s/%s", w.cfg.dir, name);
    /* A file of this name holds nothing recovery kept (else zxid would be past it). */
    w.fd = open(w.file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w.fd < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: %s", w.file_path, strerror(errno));
        return -1;
    }
    struct jute_buf h;
    jute_buf_init(&h);
    jute_put_int(&h, ZK_LOG_MAGIC);
    jute_put_int(&h, ZK_FILE_VERSION);
    jute_put_long(&h, 0);
    int rc = h.oom ? -1 : write_all(w.fd, h.data, h.len, 0);
    jute_buf_free(&h);
    if (rc < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: writing header: %s", w.file_path, strerror(errno));
        return -1;
    }
    w.pos = ZK_LOG_HEADER_LEN;
    w.allocated = ZK_LOG_HEADER_LEN;
    zk_log(CORRAL_LOG_INFO, "new txn log %s", w.file_path);
    return 0;
}

/*
 * ZooKeeper's FilePadding: grow by preAllocSize when within 4 KiB of the end.
 * The growth is a hole (ftruncate), as ZooKeeper's is (it writes one byte at
 * the new end): it reads as zeros and takes no disk until written, so disk
 * use follows the data.  (Blocks reserved with fallocate made every log file
 * take its full 64 MiB: 1.8 GB for 20,000 writes, where ZooKeeper takes 4 MB.)
 * When the file system refuses even that (a preAllocSize ZooKeeper accepts
 * but no file can have) the log goes on without preallocation.
 */
static int preallocate(size_t need)
{
    int64_t prealloc = w.cfg.prealloc;
    if (prealloc <= 0 || w.pos + (int64_t)need + 4096 < w.allocated)
        return 0;
    int64_t size = w.allocated;
    while (w.pos + (int64_t)need + 4096 >= size)
        size += prealloc;
    if (ftruncate(w.fd, size) < 0) {
        zk_log(CORRAL_LOG_WARN, "%s: preallocating %lld bytes: %s; going on without "
               "preallocation", w.file_path, (long long)size, strerror(errno));
        w.cfg.prealloc = 0;
        return 0;
    }
    w.allocated = size;
    return 0;
}

static int write_unlocked(const uint8_t *p, size_t len, int64_t off)
{
    pthread_mutex_unlock(&w.fork_mu);
    int rc = write_all(w.fd, p, len, off);
    int saved = errno;
    pthread_mutex_lock(&w.fork_mu);
    errno = saved;
    return rc;
}

static int sync_unlocked(void)
{
    pthread_mutex_unlock(&w.fork_mu);
    int rc = fdatasync(w.fd);
    int saved = errno;
    pthread_mutex_lock(&w.fork_mu);
    errno = saved;
    return rc;
}

static int write_segment(const uint8_t *p, size_t len)
{
    if (preallocate(len) < 0)
        return -1;
    if (write_unlocked(p, len, w.pos) < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: write at %lld: %s", w.file_path, (long long)w.pos,
               strerror(errno));
        return -1;
    }
    w.pos += (int64_t)len;
    return 0;
}

static void *writer_main(void *unused)
{
    (void)unused;
    struct jute_buf batch;
    jute_buf_init(&batch);
    struct roll_point *rolls = NULL;
    size_t n_rolls = 0;
    /* tell zk_log_start the thread (and the runtime's per-thread set-up) is done */
    pthread_mutex_lock(&w.mu);
    w.running = 1;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.mu);
    for (;;) {
        pthread_mutex_lock(&w.mu);
        while (!w.stop && w.queued.len == 0)
            pthread_cond_wait(&w.cond, &w.mu);
        if (w.queued.len == 0) {
            pthread_mutex_unlock(&w.mu);
            break;
        }
        pthread_mutex_unlock(&w.mu);
        pthread_mutex_lock(&w.fork_mu);
        pthread_mutex_lock(&w.mu);
        struct jute_buf tmp = batch;
        batch = w.queued;
        w.queued = tmp;
        jute_buf_reset(&w.queued);
        size_t entries = w.queued_entries;
        w.queued_entries = 0;
        free(rolls);
        rolls = w.rolls;
        n_rolls = w.n_rolls;
        w.rolls = NULL;
        w.n_rolls = w.cap_rolls = 0;
        int failed = w.failed;
        pthread_mutex_unlock(&w.mu);

        int rc = failed ? -1 : 0;
        int new_file = 0;
        size_t done_bytes = 0;
        for (size_t i = 0; rc == 0 && i <= n_rolls; i++) {
            size_t end = i < n_rolls ? rolls[i].offset : batch.len;
            if (end > done_bytes && rc == 0)
                rc = write_segment(batch.data + done_bytes, end - done_bytes);
            done_bytes = end;
            if (i < n_rolls && rc == 0) {
                if (w.fd >= 0 && w.cfg.force_sync && sync_unlocked() < 0) {
                    zk_log(CORRAL_LOG_ERROR, "%s: fdatasync: %s", w.file_path, strerror(errno));
                    rc = -1;
                    break;
                }
                rc = open_log_file(rolls[i].zxid);
                new_file = 1;
            }
        }
        if (rc == 0 && w.cfg.force_sync && sync_unlocked() < 0) {
            zk_log(CORRAL_LOG_ERROR, "%s: fdatasync: %s", w.file_path, strerror(errno));
            rc = -1;
        }
        if (rc == 0 && new_file && w.cfg.force_sync && zk_fsync_dir(w.cfg.dir) < 0) {
            zk_log(CORRAL_LOG_ERROR, "%s: fsync: %s", w.cfg.dir, strerror(errno));
            rc = -1;
        }
        jute_buf_reset(&batch);

        pthread_mutex_unlock(&w.fork_mu);
        pthread_mutex_lock(&w.mu);
        if (rc < 0 && !w.failed)
            w.failed = errno ? errno : EIO;
        else if (rc == 0)
            w.durable += entries;
        pthread_mutex_unlock(&w.mu);
        ev_async_send(zk_core->loop, &w.wake);
    }
    free(rolls);
    jute_buf_free(&batch);
    if (w.fd >= 0) {
        close(w.fd);
        w.fd = -1;
    }
    return NULL;
}

/* ---- loop thread ---- */

static void on_durable(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)loop;
    (void)a;
    (void)revents;
    pthread_mutex_lock(&w.mu);
    uint64_t durable = w.durable;
    int failed = w.failed;
    pthread_mutex_unlock(&w.mu);
    /* A done callback may append more (and grow the ring): take one at a time. */
    while (w.ring_len > 0 && (w.completed < durable || failed)) {
        struct completion c = w.ring[w.ring_head];
        w.ring_head = (w.ring_head + 1) % w.ring_cap;
        w.ring_len--;
        int err = w.completed < durable ? 0 : -1;
        w.completed++;
        if (err == 0)
            w.durable_zxid = c.zxid;
        c.done(c.arg, err);
    }
}

static int ring_push(void (*done)(void *, int), void *arg, int64_t zxid)
{
    if (w.ring_len == w.ring_cap) {
        size_t cap = w.ring_cap ? w.ring_cap * 2 : 1024;
        struct completion *r = malloc(cap * sizeof *r);
        if (!r)
            return -1;
        for (size_t i = 0; i < w.ring_len; i++)
            r[i] = w.ring[(w.ring_head + i) % w.ring_cap];
        free(w.ring);
        w.ring = r;
        w.ring_cap = cap;
        w.ring_head = 0;
    }
    w.ring[(w.ring_head + w.ring_len) % w.ring_cap] = (struct completion){done, arg, zxid};
    w.ring_len++;
    return 0;
}

int zk_log_start(const struct zk_log_config *cfg)
{
    w.cfg = *cfg;
    w.fd = -1;
    w.stop = 0;
    w.failed = 0;
    w.durable = w.completed = 0;
    w.roll_next = 1;            /* the first append after start opens a new file */
    w.durable_zxid = cfg->last_zxid;
    jute_buf_init(&w.queued);
    pthread_mutex_init(&w.mu, NULL);
    pthread_mutex_init(&w.fork_mu, NULL);
    pthread_cond_init(&w.cond, NULL);
    ev_async_init(&w.wake, on_durable);
    ev_async_start(zk_core->loop, &w.wake);
    int rc = pthread_create(&w.thread, NULL, writer_main, NULL);
    if (rc) {
        zk_log(CORRAL_LOG_ERROR, "cannot start the log writer thread: %s", strerror(rc));
        ev_async_stop(zk_core->loop, &w.wake);
        return -1;
    }
    w.started = 1;
    /* no fork() (snapshots) while the new thread may still be setting itself up */
    pthread_mutex_lock(&w.mu);
    while (!w.running)
        pthread_cond_wait(&w.cond, &w.mu);
    pthread_mutex_unlock(&w.mu);
    return 0;
}

void zk_log_stop(void)
{
    if (!w.started)
        return;
    pthread_mutex_lock(&w.mu);
    w.stop = 1;
    pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.mu);
    pthread_join(w.thread, NULL);
    w.started = 0;
    w.running = 0;
    if (zk_core->loop)
        ev_async_stop(zk_core->loop, &w.wake);
    jute_buf_free(&w.queued);
    free(w.rolls);
    w.rolls = NULL;
    w.n_rolls = w.cap_rolls = 0;
    free(w.ring);
    w.ring = NULL;
    w.ring_cap = w.ring_len = w.ring_head = 0;
    free(w.file_path);
    w.file_path = NULL;
    pthread_mutex_destroy(&w.mu);
    pthread_mutex_destroy(&w.fork_mu);
    pthread_cond_destroy(&w.cond);
}

pid_t zk_log_fork(void)
{
    if (w.started)
        pthread_mutex_lock(&w.fork_mu);
    pid_t pid = fork();
    if (pid != 0 && w.started)
        pthread_mutex_unlock(&w.fork_mu);
    return pid;
}

void zk_log_roll(void)
{
    w.roll_next = 1;
}

int64_t zk_log_durable_zxid(void)
{
    return w.durable_zxid;
}

int zk_log_idle(void)
{
    return w.ring_len == 0;
}

void zk_log_append(const uint8_t *entry, size_t len, int64_t zxid,
                   void (*done)(void *, int), void *arg)
{
    if (ring_push(done, arg, zxid) < 0) {
        done(arg, -1);
        return;
    }
    pthread_mutex_lock(&w.mu);
    int ok = !w.failed;
    if (ok && w.roll_next) {
        if (w.n_rolls == w.cap_rolls) {
            size_t cap = w.cap_rolls ? w.cap_rolls * 2 : 4;
            struct roll_point *r = realloc(w.rolls, cap * sizeof *r);
            if (r) {
                w.rolls = r;
                w.cap_rolls = cap;
            }
        }
        if (w.n_rolls < w.cap_rolls) {
            w.rolls[w.n_rolls++] = (struct roll_point){w.queued.len, zxid};
            w.roll_next = 0;
        } else {
            ok = 0;
        }
    }
    uint8_t *dst = ok ? jute_buf_reserve(&w.queued, len) : NULL;
    if (dst) {
        memcpy(dst, entry, len);
        w.queued_entries++;
        pthread_cond_signal(&w.cond);
    } else if (!w.failed) {
        w.failed = ENOMEM;
    }
    pthread_mutex_unlock(&w.mu);
    if (!dst)
        ev_async_send(zk_core->loop, &w.wake);   /* report the failure from the loop */
}

/* ---- reader ---- */

/* Cut the newest log at `off` (a torn write). */
static int cut_tail(const char *path, int64_t off, const char *why)
{
    zk_log(CORRAL_LOG_WARN, "%s: %s at offset %lld, and nothing but zeros after it: a write "
           "torn by a crash, never acknowledged; cutting the log there", path, why,
           (long long)off);
    if (truncate(path, off) < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: truncate: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Damage recovery will not guess about: say where, and how to accept the loss. */
static void refuse(const char *path, size_t off, const char *what, const char *why)
{
    zk_log(CORRAL_LOG_ERROR, "%s: offset %zu: %s; %s; refusing to start rather than lose "
           "the txns from there on. To accept losing them, cut the log there with "
           "`corral log-truncate %s %zu` (README: \"Damaged txn logs\")",
           path, off, what, why, path, off);
}

/*
 * One pass over log files, for recovery (repair: a torn tail of the newest
 * file is cut, an empty newest file removed) or for a read-only reader
 * (read_txns / truncate: nothing is changed, anything not whole is an error,
 * and it stops after the txn `upto`, so it never looks at bytes the writer
 * thread may still be writing).
 */
struct scan {
    int64_t after;              /* txns with zxid > after go to fn */
    int64_t limit;              /* the txn limit: longer entries are damage */
    int64_t upto;               /* stop after this zxid (INT64_MAX: read to the end) */
    int repair;
    const char *doing;          /* for messages: "refusing to start", ... */
    int64_t last_zxid;          /* the last txn passed to fn (starts at after) */
    int stopped;                /* upto reached, or fn asked to stop */
    zk_txn_fn fn;
    void *arg;
};

/*
 * Where the file's data ends: past it there are only holes, which read as
 * zeros.  A log's preallocated tail is a hole (ftruncate, see preallocate),
 * tens of MB per file, and checking it byte by byte through the mapping
 * made the kernel allocate and clear a page for every 4 KiB of it (tmpfs
 * and the page cache back a hole that is read through a mapping with real
 * pages): most of a restart's recovery time.  SEEK_DATA/SEEK_HOLE tell the
 * holes without touching them; where the file system does not know them it
 * reports all of the file as data, and everything is checked as before.
 */
static size_t data_end(int fd, size_t size)
{
    off_t pos = 0, end = 0;
    for (int regions = 0; regions < 1024; regions++) {
        off_t d = lseek(fd, pos, SEEK_DATA);
        if (d < 0)
            return errno == ENXIO ? (size_t)end : size;     /* ENXIO: no data past pos */
        off_t h = lseek(fd, d, SEEK_HOLE);
        if (h < 0 || (size_t)h >= size)
            return size;
        end = pos = h;
    }
    return size;
}

static int scan_file(const struct zk_file *file, int last, struct scan *sc)
{
    const char *path = file->path;
    int repair = sc->repair && last;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    size_t size = (size_t)sb.st_size;
    if (size < ZK_LOG_HEADER_LEN) {
        close(fd);
        if (repair) {
            zk_log(CORRAL_LOG_WARN, "%s: only %zu bytes, no header: a log file a crash "
                   "left empty; removing it", path, size);
            return unlink(path) < 0 ? -1 : 0;
        }
        zk_log(CORRAL_LOG_ERROR, "%s: only %zu bytes, too short for a txn log header", path, size);
        return -1;
    }
    size_t data = data_end(fd, size);
    const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        zk_log(CORRAL_LOG_ERROR, "%s: mmap: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    if (zk_be32(map) != ZK_LOG_MAGIC || zk_be32(map + 4) != ZK_FILE_VERSION) {
        if (repair && zk_all_zero(map, size)) {
            munmap((void *)map, size);
            zk_log(CORRAL_LOG_WARN, "%s: header never written (crash); removing it", path);
            return unlink(path) < 0 ? -1 : 0;
        }
        zk_log(CORRAL_LOG_ERROR, "%s: not a ZooKeeper txn log (bad magic or version)", path);
        munmap((void *)map, size);
        return -1;
    }
    size_t off = ZK_LOG_HEADER_LEN;
    int64_t count = 0;
    int64_t prev_zxid = file->zxid - 1;     /* the file is named after its first txn */
    for (;;) {
        struct zk_entry e;
        const char *what = NULL;
        /* the end of the entries: zeros up to the holes (zk_entry_at would read the holes too) */
        if (off >= data || ((off + 12 > data || (zk_be64(map + off) == 0 &&
                                                 zk_be32(map + off + 8) == 0)) &&
                            zk_all_zero(map + off, data - off)))
            break;
        int kind = zk_entry_at(map, size, off, sc->limit, &e, &what);
        if (kind == ZK_ENTRY_END)
            break;
        if (kind == ZK_ENTRY_BAD) {
            char why[512];
            if (!last) {
                refuse(path, off, what, "later log files hold later txns");
                rc = -1;
            } else if (repair &&
                       zk_damage_is_torn(map, size, &e, sc->limit, prev_zxid, why, sizeof why)) {
                rc = cut_tail(path, (int64_t)off, what);
            } else {
                refuse(path, off, what, repair ? why : "the log is damaged");
                rc = -1;
            }
            break;
        }
        struct corral_txn t;
        if (zk_txn_decode(e.txn, e.len, &t) < 0) {
            refuse(path, off, "entry with a good checksum that is not a txn ZooKeeper 3.8 writes",
                   "damaged bytes or a newer format");
            rc = -1;
            break;
        }
        if (t.zxid > sc->after && t.zxid > sc->last_zxid) {
            /* zxids are consecutive within an epoch; a new epoch starts at 1 */
            if (t.zxid != sc->last_zxid + 1 && (t.zxid & 0xffffffffLL) != 1) {
                zk_log(CORRAL_LOG_ERROR, "%s: offset %zu: txn 0x%llx follows 0x%llx: "
                       "the txns between are missing (a log file lost or purged?); %s",
                       path, off, (unsigned long long)t.zxid,
                       (unsigned long long)sc->last_zxid, sc->doing);
                zk_txn_free(&t);
                rc = -1;
                break;
            }
            int r = sc->fn(sc->arg, e.txn, e.len, &t, file, e.off, e.end);
            if (r < 0) {
                zk_log(CORRAL_LOG_ERROR, "%s: offset %zu: txn 0x%llx could not "
                       "be applied", path, off, (unsigned long long)t.zxid);
                zk_txn_free(&t);
                rc = -1;
                break;
            }
            sc->last_zxid = t.zxid;
            count++;
            if (r > 0 || t.zxid >= sc->upto) {
                sc->stopped = 1;
                zk_txn_free(&t);
                break;
            }
        }
        prev_zxid = t.zxid;
        zk_txn_free(&t);
        off = e.end;
    }
    munmap((void *)map, size);
    if (rc == 0 && count && sc->repair)
        zk_log(CORRAL_LOG_INFO, "%s: replayed %lld txns", path, (long long)count);
    return rc;
}

/* A log file with no entry in it (a crash right after it was created). */
static int log_is_empty(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint8_t buf[ZK_LOG_HEADER_LEN + 12];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    close(fd);
    if (n < 0)
        return 0;
    if (n <= ZK_LOG_HEADER_LEN)
        return 1;
    return zk_all_zero(buf + ZK_LOG_HEADER_LEN, (size_t)n - ZK_LOG_HEADER_LEN);
}

int zk_log_replay(const struct zk_file *logs, size_t n, int64_t after, int64_t limit,
                  zk_txn_fn fn, void *arg)
{
    struct scan sc = {.after = after, .limit = limit, .upto = INT64_MAX, .repair = 1,
                      .doing = "refusing to start", .last_zxid = after, .fn = fn, .arg = arg};
    /* the newest log with entries is where a crash can have torn a write */
    size_t last = n;
    while (last > 1 && log_is_empty(logs[last - 1].path))
        last--;
    for (size_t i = 0; i < n; i++)
        if (scan_file(&logs[i], i + 1 >= last, &sc) < 0)
            return -1;
    return 0;
}

/* A read-only scan from the newest file that can hold sc->after + 1 (files
 * are named after their first txn) until sc stops or the log ends. */
static int scan_read_only(const struct zk_file *logs, size_t n, struct scan *sc)
{
    size_t first = 0;
    for (size_t i = 0; i < n; i++)
        if (logs[i].zxid <= sc->after + 1)
            first = i;
    for (size_t i = first; i < n && !sc->stopped; i++)
        if (scan_file(&logs[i], i + 1 == n, sc) < 0)
            return -1;
    return 0;
}

int zk_log_read(const struct zk_file *logs, size_t n, int64_t after, int64_t upto,
                int64_t limit, zk_txn_fn fn, void *arg)
{
    if (after >= upto)
        return 0;
    struct scan sc = {.after = after, .limit = limit, .upto = upto, .repair = 0,
                      .doing = "cannot read the log from there", .last_zxid = after,
                      .fn = fn, .arg = arg};
    if (scan_read_only(logs, n, &sc) < 0)
        return -1;
    if (!sc.stopped) {
        zk_log(CORRAL_LOG_ERROR, "the txn log ends at 0x%llx, before 0x%llx, its last durable "
               "txn: %s", (unsigned long long)sc.last_zxid, (unsigned long long)upto, sc.doing);
        return -1;
    }
    return 0;
}

/* ---- truncation (a learner's TRUNC) ---- */

struct cut {
    int64_t zxid;               /* keep up to this txn */
    int64_t last_kept;          /* the newest txn seen that is kept */
    const struct zk_file *file; /* where the kept part ends, or NULL */
    size_t off;
    int found_later;            /* the scan reached a txn after zxid */
};

static int find_cut(void *arg, const uint8_t *raw, size_t len, struct corral_txn *t,
                    const struct zk_file *file, size_t off, size_t end)
{
    (void)raw;
    (void)len;
    struct cut *c = arg;
    if (t->zxid <= c->zxid) {
        c->last_kept = t->zxid;
        c->file = file;
        c->off = end;
        return 0;
    }
    if (c->last_kept < c->zxid || !c->file) {
        /* nothing after base kept: the cut is where this first later txn starts */
        c->file = file;
        c->off = off;
    }
    c->found_later = 1;
    return 1;
}

/* Cut path to off and make it durable. */
static int cut_file(const char *path, size_t off)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)off) < 0 || fsync(fd) < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: cutting at offset %zu: %s", path, off, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int zk_log_truncate(const struct zk_file *logs, size_t n, int64_t zxid, int64_t base,
                    int64_t limit)
{
    if (zxid < base) {
        zk_log(CORRAL_LOG_ERROR, "truncating the txn log to 0x%llx: that is before the newest "
               "snapshot (0x%llx), which already holds later txns; refusing",
               (unsigned long long)zxid, (unsigned long long)base);
        return -1;
    }
    if (!zk_log_idle()) {
        zk_log(CORRAL_LOG_ERROR, "truncating the txn log to 0x%llx while appends are in "
               "flight; refusing", (unsigned long long)zxid);
        return -1;
    }
    /* read from the snapshot on, checking that every txn up to zxid is there */
    struct cut c = {.zxid = zxid, .last_kept = base};
    struct scan sc = {.after = base, .limit = limit, .upto = INT64_MAX, .repair = 0,
                      .doing = "refusing to truncate", .last_zxid = base,
                      .fn = find_cut, .arg = &c};
    if (scan_read_only(logs, n, &sc) < 0)
        return -1;
    if (c.last_kept != zxid) {
        zk_log(CORRAL_LOG_ERROR, "truncating the txn log to 0x%llx: no such txn in the log "
               "(it holds txns after the snapshot 0x%llx up to 0x%llx); refusing",
               (unsigned long long)zxid, (unsigned long long)base,
               (unsigned long long)(c.found_later ? sc.last_zxid : c.last_kept));
        return -1;
    }
    /* newest first, so a crash part way leaves a log that ends earlier, never one with a gap */
    int removed = 0;
    for (size_t i = n; i-- > 0 && logs[i].zxid > zxid;) {
        if (unlink(logs[i].path) < 0) {
            zk_log(CORRAL_LOG_ERROR, "%s: %s", logs[i].path, strerror(errno));
            return -1;
        }
        removed++;
    }
    if (removed && zk_fsync_dir(w.cfg.dir) < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: fsync: %s", w.cfg.dir, strerror(errno));
        return -1;
    }
    if (c.found_later && c.file && c.file->zxid <= zxid) {
        if (cut_file(c.file->path, c.off) < 0 || zk_fsync_dir(w.cfg.dir) < 0)
            return -1;
    }
    zk_log(CORRAL_LOG_INFO, "txn log truncated to 0x%llx (%d later log files removed)",
           (unsigned long long)zxid, removed);
    w.durable_zxid = zxid;
    /* the writer's file may be one just cut or removed: the next append starts a new one */
    w.roll_next = 1;
    return 0;
}
