/*
 * format.c — the txn log's framing, file names and checksums.
 *
 * A log entry is {long Adler-32 of the txn bytes, buffer txn bytes, byte
 * 'B'}; the txn bytes themselves (TxnHeader + record) are libzk's
 * (core/zk/txn.c, corral/zk_txn.h), shared with the quorum code.  Pure: no
 * core calls, so `corral log-truncate` and the unit tests link it alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "zkfile.h"

uint32_t zk_adler32(uint32_t adler, const uint8_t *p, size_t len)
{
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        adler = (uint32_t)adler32(adler, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return adler;
}

/*
 * A txn as a ZooKeeper txn log holds it: the codec's bytes, never longer
 * than the txn limit, since the reader (ours and ZooKeeper's) would refuse
 * them.  The core refuses such writes before they get here and leaves a
 * closeSession's list out when it would pass the limit (prep.c), so this is
 * the last guard, not a decision.
 */
int zk_txn_encode_logged(struct jute_buf *b, const struct corral_txn *t, int64_t max_txn,
                         char *why, size_t why_len)
{
    jute_buf_reset(b);
    if (zk_txn_encode(b, t) < 0) {
        if (b->oom)
            snprintf(why, why_len, "out of memory encoding it");
        else
            snprintf(why, why_len, "type %d has no log record format", t->type);
        return -1;
    }
    if ((int64_t)b->len > max_txn) {
        snprintf(why, why_len, "it takes %zu bytes, more than the txn limit of %lld bytes that "
                 "the log can be read back with", b->len, (long long)max_txn);
        return -1;
    }
    return 0;
}

void zk_entry_frame(struct jute_buf *out, const uint8_t *txn, size_t len)
{
    jute_put_long(out, (int64_t)zk_adler32((uint32_t)adler32(0, NULL, 0), txn, len));
    jute_put_buffer(out, txn, (int32_t)len);
    uint8_t *eor = jute_buf_reserve(out, 1);
    if (eor)
        *eor = ZK_EOR;
}

/* ---- files ---- */

int64_t zk_name_zxid(const char *name, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) || name[pl] != '.')
        return -1;
    const char *hex = name + pl + 1;
    if (!*hex || strlen(hex) > 16)
        return -1;
    uint64_t v = 0;
    for (const char *c = hex; *c; c++) {
        int d;
        if (*c >= '0' && *c <= '9') d = *c - '0';
        else if (*c >= 'a' && *c <= 'f') d = *c - 'a' + 10;
        else if (*c >= 'A' && *c <= 'F') d = *c - 'A' + 10;
        else return -1;
        v = v << 4 | (uint64_t)d;
    }
    return (int64_t)v < 0 ? -1 : (int64_t)v;
}

static int by_zxid(const void *a, const void *b)
{
    const struct zk_file *x = a, *y = b;
    return x->zxid < y->zxid ? -1 : x->zxid > y->zxid;
}

int zk_list(const char *dir, const char *prefix, struct zk_file **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t zxid = zk_name_zxid(e->d_name, prefix);
        if (zxid < 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            struct zk_file *f = realloc(*out, cap * sizeof *f);
            if (!f)
                goto oom;
            *out = f;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        if (!path)
            goto oom;
        snprintf(path, len, "%s/%s", dir, e->d_name);
        (*out)[*n].path = path;
        (*out)[*n].zxid = zxid;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, by_zxid);
    return 0;
oom:
    closedir(d);
    zk_list_free(*out, *n);
    *out = NULL;
    *n = 0;
    errno = ENOMEM;
    return -1;
}

void zk_list_free(struct zk_file *files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i].path);
    free(files);
}

int zk_mkdirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

int zk_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}
