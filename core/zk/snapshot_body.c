/*
 * snapshot_body.c — the body of a ZooKeeper 3.8 snapshot (layout in
 * corral/zk_snapshot.h): sessions, the ACL cache, the nodes, "/".
 *
 * The body is the part a snapshot file (storage/file wraps it in a header
 * and Adler-32 seals) and a SNAP sync on the quorum port (ZooKeeper sends it
 * after the sync packet, then "BenWasHere") have in common, hence here and
 * not in a module.
 *
 * Writer: ZooKeeper's ACL cache numbers each distinct ACL list; the tree
 * passes identical lists as one pointer (module.h, tree_walk), so the writer
 * numbers them by address in a small hash table, in a first walk, then
 * writes the table and, in a second walk, the nodes.  It runs in a fork()ed
 * child (storage/file) and only reads through the source's callbacks.
 *
 * Reader: restart time matters (issue 5), so node records are decoded in
 * place without a call per field; the ACL table is sorted once and searched.
 * The same decoder reads a stream (a SNAP sync on a socket): a window over
 * the stream is refilled so that each record is whole in it before it is
 * decoded (stream_fill and the fill_* helpers measure a record by its
 * length fields), so the checks are the same and the memory is that of the
 * longest record, not of the body.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "corral/zk_snapshot.h"

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* ---- writer ---- */

#define FLUSH_AT (1u << 20)

struct body_out {
    struct jute_buf *buf;
    int (*flush)(void *arg, struct jute_buf *b);
    void *arg;
    int err;
    /* ACL lists numbered by address */
    const struct corral_acl **acl_keys;
    int64_t *acl_index;
    size_t acl_cap, acl_count;
    const struct corral_acl **acl_order;
    int32_t *acl_order_n;
    int64_t digest;
};

static int do_flush(struct body_out *o)
{
    if (!o->err && (o->buf->oom || o->flush(o->arg, o->buf) < 0))
        o->err = -1;
    return o->err;
}

static int maybe_flush(struct body_out *o)
{
    return o->buf->len >= FLUSH_AT ? do_flush(o) : o->err;
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
static int64_t acl_number(struct body_out *o, const struct corral_acl *acl, int32_t n)
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
    struct body_out *o = arg;
    int64_t index = acl_number(o, acl, n_acl);
    if (index < 0)
        return -1;
    jute_put_string(o->buf, strcmp(path, "/") ? path : "");
    jute_put_buffer(o->buf, data, data ? len : 0);
    jute_put_long(o->buf, index);
    jute_put_long(o->buf, st->czxid);
    jute_put_long(o->buf, st->mzxid);
    jute_put_long(o->buf, st->ctime);
    jute_put_long(o->buf, st->mtime);
    jute_put_int(o->buf, st->version);
    jute_put_int(o->buf, st->cversion);
    jute_put_int(o->buf, st->aversion);
    jute_put_long(o->buf, st->ephemeral_owner);
    jute_put_long(o->buf, st->pzxid);
    o->digest = (int64_t)((uint64_t)o->digest + (uint64_t)zk_node_digest(path, data, len, st));
    return maybe_flush(o);
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

int zk_snap_body_write(const struct zk_snap_source *src, struct jute_buf *b,
                       int (*flush)(void *arg, struct jute_buf *b), void *arg, int64_t *digest)
{
    struct body_out o;
    memset(&o, 0, sizeof o);
    o.buf = b;
    o.flush = flush;
    o.arg = arg;
    struct session_list sessions = {0};
    src->session_each(collect_session, &sessions);
    jute_put_int(b, (int32_t)sessions.n);
    for (size_t i = 0; i < sessions.n; i++) {
        jute_put_long(b, sessions.ids[i]);
        jute_put_int(b, sessions.timeouts[i]);
    }
    int rc = sessions.oom ? -1 : 0;
    free(sessions.ids);
    free(sessions.timeouts);

    /* the ACL table first: number every distinct list */
    if (rc == 0)
        rc = src->tree_walk(collect_acl, &o);
    if (rc == 0) {
        jute_put_int(b, (int32_t)o.acl_count);
        for (size_t i = 0; i < o.acl_count && rc == 0; i++) {
            jute_put_long(b, (int64_t)i + 1);
            jute_put_acl_vector(b, o.acl_order[i], o.acl_order_n[i]);
            rc = maybe_flush(&o);
        }
    }
    if (rc == 0)
        rc = src->tree_walk(write_node, &o);
    if (rc == 0) {
        jute_put_string(b, "/");
        rc = do_flush(&o);
    }
    free(o.acl_keys);
    free(o.acl_index);
    free(o.acl_order);
    free(o.acl_order_n);
    *digest = o.digest;
    return rc ? -1 : 0;
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
    *acl_index = (int64_t)be64(p);
    st->czxid = (int64_t)be64(p + 8);
    st->mzxid = (int64_t)be64(p + 16);
    st->ctime = (int64_t)be64(p + 24);
    st->mtime = (int64_t)be64(p + 32);
    st->version = (int32_t)be32(p + 40);
    st->cversion = (int32_t)be32(p + 44);
    st->aversion = (int32_t)be32(p + 48);
    st->ephemeral_owner = (int64_t)be64(p + 52);
    st->pzxid = (int64_t)be64(p + 60);
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
    int32_t n = (int32_t)be32(r->p + r->pos);
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

/* ---- streamed input: a window over the stream, refilled record by record ---- */

#define STREAM_CHUNK (64u << 10)

void zk_snap_stream_init(struct zk_snap_stream *s, zk_snap_read_fn read, void *arg,
                         size_t max_record)
{
    memset(s, 0, sizeof *s);
    s->read = read;
    s->arg = arg;
    s->max_record = max_record;
    jute_reader_init(&s->r, NULL, 0);
}

void zk_snap_stream_free(struct zk_snap_stream *s)
{
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
    jute_reader_init(&s->r, NULL, 0);
}

uint64_t zk_snap_stream_offset(const struct zk_snap_stream *s)
{
    return s->offset + s->r.pos;
}

const uint8_t *zk_snap_stream_unread(const struct zk_snap_stream *s, size_t *len)
{
    *len = s->r.len - s->r.pos;
    return s->r.p ? s->r.p + s->r.pos : NULL;
}

static int stream_fail(struct zk_snap_stream *s, const char *why)
{
    if (!s->why)
        s->why = why;
    s->r.err = 1;
    return -1;
}

/*
 * Make the window hold at least n unread bytes: keep what is unread, move it
 * to the front and read more, in chunks as large as the room left.  The
 * window grows only for a record longer than it (never past max_record), so
 * a body streams through a buffer the size of its largest record.  -1 (the
 * reader's sticky error set, s->why saying what) when the stream ends, fails
 * or the record is too long.
 */
static int stream_fill(struct zk_snap_stream *s, size_t n)
{
    struct jute_reader *r = &s->r;
    if (r->err)
        return -1;
    if (r->len - r->pos >= n)
        return 0;
    if (n > s->max_record)
        return stream_fail(s, "a record longer than the limit");
    size_t have = r->len - r->pos;
    if (r->pos) {
        memmove(s->buf, s->buf + r->pos, have);
        s->offset += r->pos;
        r->pos = 0;
        r->len = have;
    }
    if (n > s->cap || !s->buf) {
        size_t cap = n + STREAM_CHUNK;
        uint8_t *nb = realloc(s->buf, cap);
        if (!nb)
            return stream_fail(s, "out of memory");
        s->buf = nb;
        s->cap = cap;
    }
    r->p = s->buf;
    while (r->len < n && !s->eof) {
        ssize_t got = s->read(s->arg, s->buf + r->len, s->cap - r->len);
        if (got < 0)
            return stream_fail(s, "reading the stream failed");
        if (got == 0)
            s->eof = 1;
        r->len += (size_t)got;
    }
    return r->len < n ? stream_fail(s, "truncated (the stream ended)") : 0;
}

/* The window's unread bytes from off on, as a big-endian int (fill first). */
static int32_t peek_int(const struct zk_snap_stream *s, size_t off)
{
    return (int32_t)be32(s->r.p + s->r.pos + off);
}

/* A jute buffer at off (unread-relative) in the window: the offset past it, or 0 when it
 * cannot be measured (the stream failed, or a bad length the reader will report). */
static size_t fill_buffer_at(struct zk_snap_stream *s, size_t off)
{
    if (stream_fill(s, off + 4) < 0)
        return 0;
    int32_t n = peek_int(s, off);
    return n < 0 ? off + 4 : off + 4 + (size_t)n;
}

/* An ACL table entry whole in the window: long index, vector<ACL>. */
static void fill_acl_entry(struct zk_snap_stream *s)
{
    if (stream_fill(s, 12) < 0)
        return;
    int32_t count = peek_int(s, 8);
    size_t off = 12;
    for (int32_t i = 0; i < count; i++) {
        if (stream_fill(s, off + 4) < 0 || !(off = fill_buffer_at(s, off + 4)) ||
            !(off = fill_buffer_at(s, off)))
            return;
        if (stream_fill(s, off) < 0)
            return;
    }
}

/* A node record whole in the window (just its path when that is the terminating "/"). */
static void fill_node(struct zk_snap_stream *s)
{
    size_t off = fill_buffer_at(s, 0);
    if (!off || stream_fill(s, off) < 0)
        return;
    if (off == 5 && s->r.p[s->r.pos + 4] == '/')
        return;
    if ((off = fill_buffer_at(s, off)))
        stream_fill(s, off + NODE_TAIL_LEN);
}

/*
 * The body, read at r's cursor.  s is NULL for a body whole in memory (r
 * covers it); otherwise r is s's window, and every record is made whole in
 * it before it is decoded, so the decoding and its checks are the same
 * either way.  Only the up-front plausibility checks of counts against the
 * bytes left need the whole body; a stream does without them (a count too
 * large runs into the stream's end instead).
 */
static int body_read(struct jute_reader *r, struct zk_snap_stream *s,
                     const struct zk_snap_loader *ld, int64_t *nodes, const char **why)
{
    struct acl_entry *acls = NULL;
    size_t n_acls = 0, acl_cap = 0;
    char *pathbuf = NULL;
    size_t path_cap = 0;
    int rc = 1;
    *why = "truncated";
    if (s)
        stream_fill(s, 4);
    int32_t n_sessions = jute_get_int(r);
    if (r->err || n_sessions < 0 || (!s && (size_t)n_sessions > jute_remaining(r) / 12))
        goto out;
    for (int32_t i = 0; i < n_sessions; i++) {
        if (s && stream_fill(s, 12) < 0)
            goto out;
        int64_t id = jute_get_long(r);
        int32_t timeout = jute_get_int(r);
        if (ld->session && !r->err && ld->session(ld->arg, id, timeout) < 0) {
            rc = -1;
            goto out;
        }
    }
    if (s)
        stream_fill(s, 4);
    int32_t n_map = jute_get_int(r);
    if (r->err || n_map < 0 || (!s && (size_t)n_map > jute_remaining(r) / 12))
        goto out;
    for (int32_t i = 0; i < n_map; i++) {
        if (n_acls == acl_cap) {
            size_t cap = acl_cap ? acl_cap * 2 : 16;
            struct acl_entry *na = realloc(acls, cap * sizeof *na);
            if (!na) {
                rc = -1;
                goto out;
            }
            acls = na;
            acl_cap = cap;
        }
        if (s)
            fill_acl_entry(s);
        acls[i].index = jute_get_long(r);
        acls[i].acl = jute_get_acl_vector(r, &acls[i].n);
        n_acls = (size_t)i + 1;
        if (r->err || acls[i].n < 0) {
            *why = "bad ACL table";
            goto out;
        }
    }
    if (n_acls)
        qsort(acls, n_acls, sizeof *acls, by_index);
    int64_t count = 0;
    for (;;) {
        if (s)
            fill_node(s);
        const uint8_t *pp;
        int32_t plen;
        get_buffer(r, &pp, &plen);
        if (r->err || plen < 0)
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
                *why = "bad node path";
                goto out;
            }
        }
        const uint8_t *data;
        int32_t dlen;
        get_buffer(r, &data, &dlen);
        if (r->err || r->len - r->pos < NODE_TAIL_LEN) {
            r->err = 1;
            goto out;
        }
        int64_t index;
        struct corral_stat st;
        read_stat(r->p + r->pos, &index, &st);
        r->pos += NODE_TAIL_LEN;
        const struct corral_acl *acl = &open_acl_unsafe;
        int32_t n_acl = 1;
        if (index != -1) {
            const struct acl_entry *e = acl_find(acls, n_acls, index);
            if (!e) {
                *why = "node refers to a missing ACL";
                goto out;
            }
            acl = e->acl;
            n_acl = e->n;
        }
        st.data_length = dlen < 0 ? 0 : dlen;
        if (ld->node && ld->node(ld->arg, pathbuf, dlen < 0 ? NULL : data, dlen < 0 ? 0 : dlen,
                                 acl, n_acl, &st) < 0) {
            rc = -1;
            goto out;
        }
        count++;
    }
    *nodes = count;
    rc = 0;
out:
    if (rc == 1 && s && s->why)
        *why = s->why;          /* the stream's own failure says more than where it hit */
    for (size_t i = 0; i < n_acls; i++)
        jute_free_acl_vector(acls[i].acl, acls[i].n);
    free(acls);
    free(pathbuf);
    return rc;
}

int zk_snap_body_read(struct jute_reader *r, const struct zk_snap_loader *ld, int64_t *nodes,
                      const char **why)
{
    return body_read(r, NULL, ld, nodes, why);
}

int zk_snap_body_read_stream(struct zk_snap_stream *s, const struct zk_snap_loader *ld,
                             int64_t *nodes, const char **why)
{
    s->why = NULL;
    return body_read(&s->r, s, ld, nodes, why);
}

int zk_snap_stream_expect(struct zk_snap_stream *s, const char *want, const char **why)
{
    s->why = NULL;
    size_t off = fill_buffer_at(s, 0);
    const uint8_t *p = NULL;
    int32_t n = -1;
    if (off)
        stream_fill(s, off);
    get_buffer(&s->r, &p, &n);
    if (s->r.err) {
        *why = s->why ? s->why : "truncated";
        return 1;
    }
    if (n < 0 || (size_t)n != strlen(want) || memcmp(p, want, (size_t)n)) {
        *why = "not the expected string";
        return 1;
    }
    return 0;
}
