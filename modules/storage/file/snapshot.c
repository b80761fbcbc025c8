/*
 * snapshot.c — ZooKeeper 3.8 snapshots: snapshot.<zxid> in dataDir/version-2.
 *
 * Layout (FileSnap / SerializeUtils / DataTree / ReferenceCountedACLCache):
 *   FileHeader {int "ZKSN", int 2, long dbid = -1}
 *   int count, then count x {long sessionId, int timeout}
 *   ACL cache: int count, then count x {long index, vector<ACL>}
 *   nodes, parents first: {string path ("" for the root), buffer data,
 *     long acl index, StatPersisted {czxid, mzxid, ctime, mtime, version,
 *     cversion, aversion, ephemeralOwner, pzxid}}, ended by the path "/"
 *   seal: long Adler-32 of every byte so far, string "/"
 *   ZxidDigest {long zxid, int digestVersion, long digest}, another seal
 * The digest is ZooKeeper's DigestCalculator: the sum over nodes not below
 * /zookeeper/ of CRC-32(path ("" for the root), data, czxid mzxid pzxid ctime
 * mtime version cversion aversion ephemeralOwner), checked against what
 * ZooKeeper 3.8 writes.  ACL index -1 means world:anyone:cdrwa.  The stat
 * is the persisted one the core's tree_walk/load_node use too (cversion
 * counts children created; container/TTL markers in ephemeralOwner).
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
 * the load), and node records are decoded in place without a call per field.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "zkfile.h"

/* ---- writer ---- */

struct snap_out {
    int fd;
    struct jute_buf buf;
    uint32_t adler;             /* over everything flushed */
    int err;
    /* ACL lists numbered by address */
    const struct corral_acl **acl_keys;
    int64_t *acl_index;
    size_t acl_cap, acl_count;
    const struct corral_acl **acl_order;
    int32_t *acl_order_n;
    int64_t digest;
};

static int out_flush(struct snap_out *o)
{
    if (o->err || o->buf.oom)
        return o->err = -1;
    size_t off = 0;
    while (off < o->buf.len) {
        ssize_t n = write(o->fd, o->buf.data + off, o->buf.len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return o->err = -1;
        }
        off += (size_t)n;
    }
    o->adler = zk_adler32(o->adler, o->buf.data, o->buf.len);
    jute_buf_reset(&o->buf);
    return 0;
}

static void out_maybe_flush(struct snap_out *o)
{
    if (o->buf.len >= (1u << 20))
        out_flush(o);
}

static void out_seal(struct snap_out *o)
{
    if (out_flush(o) < 0)
        return;
    jute_put_long(&o->buf, (int64_t)o->adler);
    jute_put_string(&o->buf, "/");
}

static size_t ptr_hash(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

/* Index of an ACL list (by address); adds it when new.  -1 on oom. */
static int64_t acl_number(struct snap_out *o, const struct corral_acl *acl, int32_t n)
{
    if (o->acl_count * 2 >= o->acl_cap) {
        size_t cap = o->acl_cap ? o->acl_cap * 2 : 64;
        const struct corral_acl **keys = calloc(cap, sizeof *keys);
        int64_t *idx = calloc(cap, sizeof *idx);
        const struct corral_acl **order = realloc(o->acl_order, cap * sizeof *order);
        int32_t *order_n = realloc(o->acl_order_n, cap * sizeof *order_n);
        if (order)
            o->acl_order = order;
        if (order_n)
            o->acl_order_n = order_n;
        if (!keys || !idx || !order || !order_n) {
            free(keys);
            free(idx);
            return -1;
        }
        for (size_t i = 0; i < o->acl_cap; i++) {
            if (!o->acl_index[i])
                continue;
            size_t h = ptr_hash(o->acl_keys[i], cap);
            while (idx[h])
                h = (h + 1) & (cap - 1);
            keys[h] = o->acl_keys[i];
            idx[h] = o->acl_index[i];
        }
        free(o->acl_keys);
        free(o->acl_index);
        o->acl_keys = keys;
        o->acl_index = idx;
        o->acl_cap = cap;
    }
    size_t h = ptr_hash(acl, o->acl_cap);
    while (o->acl_index[h]) {
        if (o->acl_keys[h] == acl)
            return o->acl_index[h];
        h = (h + 1) & (o->acl_cap - 1);
    }
    o->acl_keys[h] = acl;
    o->acl_index[h] = (int64_t)++o->acl_count;
    o->acl_order[o->acl_count - 1] = acl;
    o->acl_order_n[o->acl_count - 1] = n;
    return o->acl_index[h];
}

static int collect_acl(void *arg, const char *path, const uint8_t *data, int32_t len,
                       const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    (void)path;
    (void)data;
    (void)len;
    (void)st;
    return acl_number(arg, acl, n_acl) < 0 ? -1 : 0;
}

static void put_be64(uint8_t *p, int64_t v)
{
    for (int i = 7; i >= 0; i--, v = (int64_t)((uint64_t)v >> 8))
        p[i] = (uint8_t)v;
}

static void put_be32(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)(u >> 24); p[1] = (uint8_t)(u >> 16); p[2] = (uint8_t)(u >> 8); p[3] = (uint8_t)u;
}


/* ZooKeeper's DigestCalculator.calculateDigest (version 2). */
int64_t zk_node_digest(const char *path, const uint8_t *data, int32_t len,
                       const struct corral_stat *st)
{
    /* ZooKeeper skips what is below /zookeeper/ (not /zookeeper itself) */
    if (!strncmp(path, "/zookeeper/", 11))
        return 0;
    if (!strcmp(path, "/"))
        path = "";
    uint8_t b[60];
    put_be64(b, st->czxid);
    put_be64(b + 8, st->mzxid);
    put_be64(b + 16, st->pzxid);
    put_be64(b + 24, st->ctime);
    put_be64(b + 32, st->mtime);
    put_be32(b + 40, st->version);
    put_be32(b + 44, st->cversion);
    put_be32(b + 48, st->aversion);
    put_be64(b + 52, st->ephemeral_owner);
    uLong crc = crc32(0, NULL, 0);
    crc = crc32(crc, (const Bytef *)path, (uInt)strlen(path));
    if (data && len > 0)
        crc = crc32(crc, data, (uInt)len);
    crc = crc32(crc, b, sizeof b);
    return (int64_t)crc;
}

static int write_node(void *arg, const char *path, const uint8_t *data, int32_t len,
                      const struct corral_acl *acl, int32_t n_acl, const struct corral_stat *st)
{
    struct snap_out *o = arg;
    int64_t index = acl_number(o, acl, n_acl);
    if (index < 0)
        return -1;
    jute_put_string(&o->buf, strcmp(path, "/") ? path : "");
    jute_put_buffer(&o->buf, data, data ? len : 0);
    jute_put_long(&o->buf, index);
    jute_put_long(&o->buf, st->czxid);
    jute_put_long(&o->buf, st->mzxid);
    jute_put_long(&o->buf, st->ctime);
    jute_put_long(&o->buf, st->mtime);
    jute_put_int(&o->buf, st->version);
    jute_put_int(&o->buf, st->cversion);
    jute_put_int(&o->buf, st->aversion);
    jute_put_long(&o->buf, st->ephemeral_owner);
    jute_put_long(&o->buf, st->pzxid);
    o->digest = (int64_t)((uint64_t)o->digest + (uint64_t)zk_node_digest(path, data, len, st));
    out_maybe_flush(o);
    return o->err;
}

struct session_list {
    int64_t *ids;
    int32_t *timeouts;
    size_t n, cap;
    int oom;
};

static void collect_session(void *arg, int64_t id, int32_t timeout)
{
    struct session_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        int64_t *ids = realloc(l->ids, cap * sizeof *ids);
        if (ids)
            l->ids = ids;
        int32_t *to = realloc(l->timeouts, cap * sizeof *to);
        if (to)
            l->timeouts = to;
        if (!ids || !to) {
            l->oom = 1;
            return;
        }
        l->cap = cap;
    }
    l->ids[l->n] = id;
    l->timeouts[l->n] = timeout;
    l->n++;
}

int zk_snapshot_write(const char *dir, int64_t zxid, int with_digest)
{
    char tmp[4096], final[4096];
    /* the pid keeps two writers (an orphan of a crashed server, say) apart */
    snprintf(tmp, sizeof tmp, "%s/tmp.snapshot.%llx.%d", dir, (unsigned long long)zxid,
             (int)getpid());
    snprintf(final, sizeof final, "%s/snapshot.%llx", dir, (unsigned long long)zxid);
    struct snap_out o;
    memset(&o, 0, sizeof o);
    jute_buf_init(&o.buf);
    o.adler = 1;
    o.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o.fd < 0) {
        zk_log(CORRAL_LOG_ERROR, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    struct session_list sessions = {0};
    zk_core->session_each(collect_session, &sessions);

    jute_put_int(&o.buf, ZK_SNAP_MAGIC);
    jute_put_int(&o.buf, ZK_FILE_VERSION);
    jute_put_long(&o.buf, -1);
    jute_put_int(&o.buf, (int32_t)sessions.n);
    for (size_t i = 0; i < sessions.n; i++) {
        jute_put_long(&o.buf, sessions.ids[i]);
        jute_put_int(&o.buf, sessions.timeouts[i]);
    }
    int rc = sessions.oom ? -1 : 0;
    free(sessions.ids);
    free(sessions.timeouts);

    /* the ACL table first: number every distinct list */
    if (rc == 0)
        rc = zk_core->tree_walk(collect_acl, &o);
    if (rc == 0) {
        jute_put_int(&o.buf, (int32_t)o.acl_count);
        for (size_t i = 0; i < o.acl_count; i++) {
            jute_put_long(&o.buf, (int64_t)i + 1);
            jute_put_acl_vector(&o.buf, o.acl_order[i], o.acl_order_n[i]);
            out_maybe_flush(&o);
        }
        rc = zk_core->tree_walk(write_node, &o);
    }
    if (rc == 0) {
        jute_put_string(&o.buf, "/");
        out_seal(&o);
        if (with_digest) {
            jute_put_long(&o.buf, zxid);
            jute_put_int(&o.buf, ZK_DIGEST_VERSION);
            jute_put_long(&o.buf, o.digest);
            out_seal(&o);
        }
        out_flush(&o);
        rc = o.err;
    }
    if (rc == 0 && fsync(o.fd) < 0)
        rc = -1;
    int saved = errno;
    if (close(o.fd) < 0 && rc == 0)
        rc = -1;
    free(o.acl_keys);
    free(o.acl_index);
    free(o.acl_order);
    free(o.acl_order_n);
    jute_buf_free(&o.buf);
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

struct acl_entry {
    int64_t index;
    struct corral_acl *acl;
    int32_t n;
};

static int by_index(const void *a, const void *b)
{
    const struct acl_entry *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

static struct corral_acl open_acl_unsafe = {CORRAL_PERM_ALL, "world", "anyone"};

static const struct acl_entry *acl_find(const struct acl_entry *acls, size_t n, int64_t index)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (acls[mid].index == index)
            return &acls[mid];
        if (acls[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* A node record's fixed tail: long acl index, then StatPersisted. */
#define NODE_TAIL_LEN (8 + 4 * 8 + 3 * 4 + 2 * 8)

static void read_stat(const uint8_t *p, int64_t *acl_index, struct corral_stat *st)
{
    memset(st, 0, sizeof *st);
    *acl_index = (int64_t)zk_be64(p);
    st->czxid = (int64_t)zk_be64(p + 8);
    st->mzxid = (int64_t)zk_be64(p + 16);
    st->ctime = (int64_t)zk_be64(p + 24);
    st->mtime = (int64_t)zk_be64(p + 32);
    st->version = (int32_t)zk_be32(p + 40);
    st->cversion = (int32_t)zk_be32(p + 44);
    st->aversion = (int32_t)zk_be32(p + 48);
    st->ephemeral_owner = (int64_t)zk_be64(p + 52);
    st->pzxid = (int64_t)zk_be64(p + 60);
}

/* A jute buffer/string at r's cursor, decoded inline (the node loop's hot path). */
static inline void get_buffer(struct jute_reader *r, const uint8_t **out, int32_t *len)
{
    if (r->err || r->len - r->pos < 4) {
        r->err = 1;
        *out = NULL;
        *len = -1;
        return;
    }
    int32_t n = (int32_t)zk_be32(r->p + r->pos);
    *out = NULL;
    *len = -1;
    if (n < 0) {
        r->pos += 4;
        if (n < -1)
            r->err = 1;
        return;
    }
    if (r->len - r->pos - 4 < (size_t)n) {
        r->err = 1;
        return;
    }
    *out = r->p + r->pos + 4;
    *len = n;
    r->pos += 4 + (size_t)n;
}

/*
 * One pass over the snapshot.  With load=0 it only checks (structure, ACL
 * references, seal); with load=1 it puts sessions and nodes into the core.
 */
static int parse(const char *path, const uint8_t *p, size_t len, int load, int64_t *nodes)
{
    struct jute_reader r;
    jute_reader_init(&r, p, len);
    struct acl_entry *acls = NULL;
    size_t n_acls = 0;
    char *pathbuf = NULL;
    size_t path_cap = 0;
    int rc = 1;
    const char *why = "truncated";
    if (jute_get_int(&r) != ZK_SNAP_MAGIC || jute_get_int(&r) != ZK_FILE_VERSION) {
        why = "bad magic or version";
        goto out;
    }
    jute_get_long(&r);          /* dbid */
    int32_t n_sessions = jute_get_int(&r);
    if (r.err || n_sessions < 0 || (size_t)n_sessions > jute_remaining(&r) / 12)
        goto out;
    for (int32_t i = 0; i < n_sessions; i++) {
        int64_t id = jute_get_long(&r);
        int32_t timeout = jute_get_int(&r);
        if (load && zk_core->load_session(id, timeout) < 0) {
            rc = -1;
            goto out;
        }
    }
    int32_t n_map = jute_get_int(&r);
    if (r.err || n_map < 0 || (size_t)n_map > jute_remaining(&r) / 12)
        goto out;
    acls = calloc(n_map ? (size_t)n_map : 1, sizeof *acls);
    if (!acls) {
        rc = -1;
        goto out;
    }
    for (int32_t i = 0; i < n_map; i++) {
        acls[i].index = jute_get_long(&r);
        acls[i].acl = jute_get_acl_vector(&r, &acls[i].n);
        n_acls = (size_t)i + 1;
        if (r.err || acls[i].n < 0) {
            why = "bad ACL table";
            goto out;
        }
    }
    qsort(acls, n_acls, sizeof *acls, by_index);
    int64_t count = 0;
    for (;;) {
        const uint8_t *pp;
        int32_t plen;
        get_buffer(&r, &pp, &plen);
        if (r.err || plen < 0)
            goto out;
        if (plen == 1 && pp[0] == '/')
            break;
        if ((size_t)plen + 2 > path_cap) {
            char *np = realloc(pathbuf, (size_t)plen + 2);
            if (!np) {
                rc = -1;
                goto out;
            }
            pathbuf = np;
            path_cap = (size_t)plen + 2;
        }
        if (plen == 0) {
            strcpy(pathbuf, "/");
        } else {
            memcpy(pathbuf, pp, (size_t)plen);
            pathbuf[plen] = 0;
            if (pathbuf[0] != '/' || memchr(pp, 0, (size_t)plen)) {
                why = "bad node path";
                goto out;
            }
        }
        const uint8_t *data;
        int32_t dlen;
        get_buffer(&r, &data, &dlen);
        if (r.err || r.len - r.pos < NODE_TAIL_LEN) {
            r.err = 1;
            goto out;
        }
        int64_t index;
        struct corral_stat st;
        read_stat(r.p + r.pos, &index, &st);
        r.pos += NODE_TAIL_LEN;
        const struct corral_acl *acl = &open_acl_unsafe;
        int32_t n_acl = 1;
        if (index != -1) {
            const struct acl_entry *e = acl_find(acls, n_acls, index);
            if (!e) {
                why = "node refers to a missing ACL";
                goto out;
            }
            acl = e->acl;
            n_acl = e->n;
        }
        st.data_length = dlen < 0 ? 0 : dlen;
        if (load && zk_core->load_node(pathbuf, dlen < 0 ? NULL : data, dlen < 0 ? 0 : dlen,
                                       acl, n_acl, &st) < 0) {
            rc = -1;
            goto out;
        }
        count++;
    }
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
    for (size_t i = 0; i < n_acls; i++)
        jute_free_acl_vector(acls[i].acl, acls[i].n);
    free(acls);
    free(pathbuf);
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
