/*
 * snapshot.c — ZooKeeper 3.8 snapshot files: snapshot.<zxid> in dataDir/version-2.
 *
 * Layout (FileSnap):
 *   FileHeader {int "ZKSN", int 2, long dbid = -1}
 *   the body: sessions, ACL cache, nodes, "/" (libzk, corral/zk_snapshot.h)
 *   seal: long Adler-32 of every byte so far, string "/"
 *   ZxidDigest {long zxid, int digestVersion, long digest}, another seal
 * The digest is ZooKeeper's DigestCalculator (zk_node_digest, libzk),
 * checked against what ZooKeeper 3.8 writes.  The header and seals are the
 * file's; the body is shared with the quorum's SNAP sync, hence libzk's.
 *
 * The writer runs in a fork()ed child (file.c) and only reads the tree
 * through core->tree_walk / core->session_each, so the server goes on
 * serving meanwhile.  It writes tmp.snapshot.<zxid>.<pid> (a name
 * ZooKeeper's loader ignores), fsyncs it and renames it into place.
 *
 * The reader checks the whole file (structure and seal) before it puts a
 * single node into the tree, so a damaged newest snapshot leaves the tree
 * untouched and the caller can fall back to an older one.  Restart time is
 * the point (issue 5): the file is mmap()ed, not copied into a buffer (the
 * copy and the page faults of a buffer as big as the file were a third of
 * the load), and the body reader decodes node records in place.
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

/* ---- writer ---- */

/* The file's side of the body writer's output: write, and keep the seal's Adler-32. */
struct snap_out {
    int fd;
    uint32_t adler;             /* over everything flushed */
    int err;
};

static int out_flush(void *arg, struct jute_buf *b)
{
    struct snap_out *o = arg;
    if (o->err || b->oom)
        return o->err = -1;
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(o->fd, b->data + off, b->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return o->err = -1;
        }
        off += (size_t)n;
    }
    o->adler = zk_adler32(o->adler, b->data, b->len);
    jute_buf_reset(b);
    return 0;
}

/* long Adler-32 of everything before it, string "/" (FileSnap's sealStream). */
static void out_seal(struct snap_out *o, struct jute_buf *b)
{
    if (out_flush(o, b) < 0)
        return;
    jute_put_long(b, (int64_t)o->adler);
    jute_put_string(b, "/");
}

int zk_snapshot_write(const char *dir, int64_t zxid, int with_digest)
{
    char tmp[4096], final[4096];
    /* the pid keeps two writers (an orphan of a crashed server, say) apart */
    snprintf(tmp, sizeof tmp, "%s/tmp.snapshot.%llx.%d", dir, (unsigned long long)zxid,
             (int)getpid());
    snprintf(final, sizeof final, "%s/snapshot.%llx", dir, (unsigned long long)zxid);
    struct snap_out o = {.adler = 1};
    struct jute_buf buf;
    jute_buf_init(&buf);
    o.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o.fd < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    jute_put_int(&buf, ZK_SNAP_MAGIC);
    jute_put_int(&buf, ZK_FILE_VERSION);
    jute_put_long(&buf, -1);
    const struct zk_snap_source src = {zk_core->tree_walk, zk_core->session_each};
    int64_t digest = 0;
    int rc = zk_snap_body_write(&src, &buf, out_flush, &o, &digest);
    if (rc == 0) {
        out_seal(&o, &buf);
        if (with_digest) {
            jute_put_long(&buf, zxid);
            jute_put_int(&buf, ZK_DIGEST_VERSION);
            jute_put_long(&buf, digest);
            out_seal(&o, &buf);
        }
        out_flush(&o, &buf);
        rc = o.err;
    }
    if (rc == 0 && fsync(o.fd) < 0)
        rc = -1;
    int saved = errno;
    if (close(o.fd) < 0 && rc == 0)
        rc = -1;
    jute_buf_free(&buf);
    if (rc == 0 && rename(tmp, final) < 0)
        rc = -1;
    if (rc == 0)
        zk_fsync_dir(dir);
    if (rc < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: writing snapshot failed: %s", final,
               strerror(saved ? saved : EIO));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- reader ---- */

static int load_session(void *arg, int64_t id, int32_t timeout)
{
    (void)arg;
    return zk_core->load_session(id, timeout);
}

static int load_node(void *arg, const char *path, const uint8_t *data, int32_t len,
                     const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    (void)arg;
    return zk_core->load_node(path, data, len, acl, n_acl, st);
}

/*
 * One pass over the snapshot.  With load=0 it only checks (structure, ACL
 * references, seal); with load=1 it puts sessions and nodes into the core.
 */
static int parse(const char *path, const uint8_t *p, size_t len, int load, int64_t *nodes)
{
    struct jute_reader r;
    jute_reader_init(&r, p, len);
    int rc = 1;
    const char *why = "truncated";
    if (jute_get_int(&r) != ZK_SNAP_MAGIC || jute_get_int(&r) != ZK_FILE_VERSION) {
        why = "bad magic or version";
        goto out;
    }
    jute_get_long(&r);          /* dbid */
    const struct zk_snap_loader ld = {load ? load_session : NULL, load ? load_node : NULL, NULL};
    int64_t count = 0;
    rc = zk_snap_body_read(&r, &ld, &count, &why);
    if (rc != 0)
        goto out;
    rc = 1;
    why = "truncated";
    /* the seal: Adler-32 of everything before it */
    size_t sealed = r.pos;
    int64_t seal = jute_get_long(&r);
    const uint8_t *sp;
    int32_t slen;
    jute_get_buffer(&r, &sp, &slen);
    if (r.err || slen != 1 || sp[0] != '/')
        goto out;
    if ((uint32_t)seal != zk_adler32(1, p, sealed) || (uint64_t)seal >> 32) {
        why = "checksum mismatch";
        goto out;
    }
    *nodes = count;
    rc = 0;
out:
    if (rc == 1 && !load)
        zk_log(CORRAL_LOG_WARN, "%s: not a valid snapshot (%s near offset %zu); skipping it",
               path, why, r.pos);
    else if (rc == 1)
        rc = -1;
    return rc;
}

/*
 * The file mapped read-only, or (where mmap is refused, e.g. an empty file)
 * read into a buffer; *mapped says which, for release_file.
 */
static uint8_t *map_file(int fd, size_t len, int *mapped)
{
    *mapped = 0;
    if (len) {
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (m != MAP_FAILED) {
            madvise(m, len, MADV_SEQUENTIAL);
            *mapped = 1;
            return m;
        }
    }
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        return NULL;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < len)
        memset(p + got, 0, len - got);  /* shrank under us: the seal check fails */
    return p;
}

static void release_file(uint8_t *p, size_t len, int mapped)
{
    if (mapped)
        munmap(p, len);
    else
        free(p);
}

int zk_snapshot_load(const char *path, int64_t *zxid_out)
{
    (void)zxid_out;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        zk_log(CORRAL_LOG_WARN, "%s: %s; skipping it", path, strerror(errno));
        return 1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        close(fd);
        return 1;
    }
    size_t len = (size_t)sb.st_size;
    int mapped;
    uint8_t *p = map_file(fd, len, &mapped);
    close(fd);
    if (!p) {
        zk_log(CORRAL_LOG_ERROR, "%s: out of memory reading %zu bytes", path, len);
        return -1;
    }
    int64_t nodes = 0;
    int rc = parse(path, p, len, 0, &nodes);
    if (rc == 0)
        rc = parse(path, p, len, 1, &nodes);
    release_file(p, len, mapped);
    if (rc == 0)
        zk_log(CORRAL_LOG_INFO, "%s: loaded %lld znodes", path, (long long)nodes);
    else if (rc < 0)
        zk_log(CORRAL_LOG_ERROR, "%s: loading failed half way; refusing to start", path);
    return rc;
}
