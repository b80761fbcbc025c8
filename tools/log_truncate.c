/*
 * log_truncate.c — `corral log-truncate [-n] FILE OFFSET`: cut a damaged txn
 * log at an offset, when the operator chooses to lose what follows.
 *
 * corrald refuses to start over a log that is damaged anywhere but in a
 * write a crash tore (modules/storage/file/logscan.c), naming the file and
 * offset: guessing would drop acknowledged txns.  This is the deliberate way
 * past that.  It works on the file alone (the server stopped), reads the
 * entries with the storage module's own code, and cuts only at an entry
 * boundary at or before the first damage, saying first what it drops: the
 * valid txns between the offset and the damage, and the damaged bytes with
 * the txns that still look intact in them (those are lost too: nothing after
 * damage can be replayed in order).  -n only says it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zkfile.h"
#include "log_truncate.h"

/* What the tool reads any entry with: the file may come from a server with a larger limit. */
#define ANY_LENGTH INT32_MAX

/* A run of txns, for "N txns (0xA-0xB)". */
struct span {
    long long n;
    int64_t first, last;
};

static void span_add(struct span *s, int64_t zxid)
{
    if (s->n++ == 0)
        s->first = zxid;
    s->last = zxid;
}

static void span_print(const char *what, const struct span *s)
{
    if (s->n)
        printf("%s %lld txns (0x%llx to 0x%llx)\n", what, s->n, (unsigned long long)s->first,
               (unsigned long long)s->last);
    else
        printf("%s no txns\n", what);
}

static int64_t entry_zxid(const struct zk_entry *e)
{
    return (int64_t)zk_be64(e->txn + 12);
}

/*
 * Walk the valid entries from off, adding them to s, and when damage stops
 * the walk, find the next entry that looks intact and go on from there.
 * Returns the offset of the first damage, or -1 when there is none.
 */
static int64_t count_from(const uint8_t *map, size_t size, size_t off, int64_t prev_zxid,
                          struct span *valid, struct span *after_damage, const char **damage)
{
    int64_t first_bad = -1;
    size_t data_end = zk_data_end(map, size, off);
    for (;;) {
        struct zk_entry e;
        const char *what;
        int kind = zk_entry_at(map, size, off, ANY_LENGTH, &e, &what);
        if (kind == ZK_ENTRY_END)
            return first_bad;
        struct corral_txn t;
        if (kind == ZK_ENTRY_OK && zk_txn_decode(e.txn, e.len, &t) == 0) {
            zk_txn_free(&t);
            span_add(first_bad < 0 ? valid : after_damage, entry_zxid(&e));
            prev_zxid = entry_zxid(&e);
            off = e.end;
            continue;
        }
        if (first_bad < 0) {
            first_bad = (int64_t)off;
            *damage = kind == ZK_ENTRY_OK ? "an entry that is not a txn" : what;
        }
        int64_t budget = INT64_MAX, zxid;
        int64_t next = zk_entry_find(map, size, off, data_end, ANY_LENGTH, prev_zxid, &budget, &zxid);
        if (next < 0)
            return first_bad;
        off = (size_t)next;
    }
}

/* Later log files of the same folder: recovery would find their txns cut off from ours. */
static void warn_later_logs(const char *path, int64_t zxid)
{
    char *dir = strdup(path);
    if (!dir)
        return;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    struct zk_file *logs;
    size_t n;
    if (zk_list(slash ? dir : ".", "log", &logs, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            if (logs[i].zxid > zxid)
                printf("warning: %s is a later log: recovery refuses a gap in the zxids, so "
                       "move it away too to start without the txns it holds\n", logs[i].path);
        zk_list_free(logs, n);
    }
    free(dir);
}

static int cut(const char *path, long long at, int dry_run)
{
    int fd = open(path, dry_run ? O_RDONLY : O_RDWR);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        fprintf(stderr, "corral: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    size_t size = (size_t)sb.st_size;
    if (size < ZK_LOG_HEADER_LEN || at < ZK_LOG_HEADER_LEN || (size_t)at > size) {
        fprintf(stderr, "corral: %s: offset %lld is not within its entries (%d to %zu)\n", path,
                at, ZK_LOG_HEADER_LEN, size);
        close(fd);
        return 1;
    }
    const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        fprintf(stderr, "corral: %s: mmap: %s\n", path, strerror(errno));
        close(fd);
        return 1;
    }
    int rc = 1;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int64_t file_zxid = zk_name_zxid(base, "log");
    int64_t prev_zxid = file_zxid > 0 ? file_zxid - 1 : 0;
    struct span kept = {0}, dropped = {0}, intact = {0};
    size_t off = ZK_LOG_HEADER_LEN;
    if (zk_be32(map) != ZK_LOG_MAGIC || zk_be32(map + 4) != ZK_FILE_VERSION) {
        fprintf(stderr, "corral: %s: not a ZooKeeper txn log (bad magic or version)\n", path);
        goto out;
    }
    while (off < (size_t)at) {
        struct zk_entry e;
        const char *what;
        int kind = zk_entry_at(map, size, off, ANY_LENGTH, &e, &what);
        struct corral_txn t;
        if (kind == ZK_ENTRY_OK && zk_txn_decode(e.txn, e.len, &t) == 0) {
            zk_txn_free(&t);
        } else if (kind == ZK_ENTRY_OK) {
            kind = ZK_ENTRY_BAD;
            what = "an entry that is not a txn";
        }
        if (kind == ZK_ENTRY_END) {
            fprintf(stderr, "corral: %s: the written part ends at offset %zu, before %lld: "
                    "nothing to cut\n", path, off, at);
            goto out;
        }
        if (kind == ZK_ENTRY_BAD) {
            fprintf(stderr, "corral: %s: the log is damaged at offset %zu (%s), before offset "
                    "%lld: cut at %zu, or at an entry boundary before it\n", path, off, what, at, off);
            goto out;
        }
        if (e.end > (size_t)at) {
            fprintf(stderr, "corral: %s: offset %lld is inside the entry at %zu (txn 0x%llx), "
                    "which ends at %zu: cut at one of those\n", path, at, off,
                    (unsigned long long)entry_zxid(&e), e.end);
            goto out;
        }
        span_add(&kept, entry_zxid(&e));
        prev_zxid = entry_zxid(&e);
        off = e.end;
    }
    const char *damage = NULL;
    int64_t bad = count_from(map, size, off, prev_zxid, &dropped, &intact, &damage);
    size_t data_end = zk_data_end(map, size, off);
    printf("%s: cutting at offset %lld (of %zu bytes, %zu written)\n", path, at, size, data_end);
    span_print("keeps", &kept);
    span_print("drops", &dropped);
    if (bad >= 0) {
        printf("drops the damage at offset %lld (%s) and the %zu bytes after it", (long long)bad,
               damage, data_end - (size_t)bad);
        if (intact.n)
            printf(", in which %lld txns look intact (0x%llx to 0x%llx)", intact.n,
                   (unsigned long long)intact.first, (unsigned long long)intact.last);
        printf("\n");
    }
    if (dropped.n || intact.n)
        warn_later_logs(path, file_zxid);
    if (dry_run) {
        printf("dry run (-n): nothing cut\n");
        rc = 0;
        goto out;
    }
    if (ftruncate(fd, (off_t)at) < 0 || fsync(fd) < 0) {
        fprintf(stderr, "corral: %s: cutting at %lld: %s\n", path, at, strerror(errno));
        goto out;
    }
    printf("cut %s at offset %lld\n", path, at);
    rc = 0;
out:
    munmap((void *)map, size);
    close(fd);
    return rc;
}

int log_truncate_run(int argc, char **argv)
{
    int dry_run = argc > 1 && !strcmp(argv[1], "-n");
    if (argc != 3 + dry_run) {
        fprintf(stderr, "usage: corral log-truncate [-n] FILE OFFSET\n");
        return 2;
    }
    const char *path = argv[1 + dry_run], *num = argv[2 + dry_run];
    char *end;
    errno = 0;
    long long at = strtoll(num, &end, 0);
    if (errno || end == num || *end || at < 0) {
        fprintf(stderr, "corral: log-truncate: '%s' is not an offset\n", num);
        return 2;
    }
    return cut(path, at, dry_run);
}

void log_truncate_usage(FILE *f)
{
    fprintf(f, "  log-truncate [-n] FILE OFFSET   cut a damaged txn log at OFFSET (server stopped;\n"
               "                                  says what it drops; -n: only say it)\n");
}
