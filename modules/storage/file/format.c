/*
 * format.c — ZooKeeper 3.8's txn record format, file names and checksums.
 *
 * A logged txn is a TxnHeader {long clientId, int cxid, long zxid, long time,
 * int type} followed by the record its type calls for (zookeeper.jute):
 *   create/create2     CreateTxn {path, data, vector<ACL>, bool ephemeral, int parentCVersion}
 *   createContainer    CreateContainerTxn {path, data, vector<ACL>, int parentCVersion}
 *   createTTL          CreateTTLTxn {path, data, vector<ACL>, int parentCVersion, long ttl}
 *   delete(Container)  DeleteTxn {path}
 *   setData, reconfig  SetDataTxn {path, data, int version}
 *   setACL             SetACLTxn {path, vector<ACL>, int version}
 *   check              CheckVersionTxn {path, int version}
 *   error              ErrorTxn {int err}
 *   createSession      CreateSessionTxn {int timeOut}
 *   closeSession       CloseSessionTxn {vector<ustring> paths2Delete}, or nothing
 *   multi              MultiTxn {vector<Txn {int type, buffer data}>}
 * ZooKeeper 3.6+ may append a TxnDigest {int version, long treeDigest}; the
 * reader ignores whatever follows the record.  Log entries are framed as
 * {long Adler-32 of the bytes, buffer bytes, byte 'B'}.
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

/* ---- encoding ---- */

static int put_record(struct jute_buf *b, const struct corral_txn *t,
                      const char *const *close_paths, int32_t n_close_paths);

static int put_multi(struct jute_buf *b, const struct corral_txn *t)
{
    jute_put_int(b, t->n_subs);
    for (int32_t i = 0; i < t->n_subs; i++) {
        const struct corral_txn *sub = &t->subs[i];
        if (sub->type == CORRAL_OP_MULTI)
            return -1;
        jute_put_int(b, sub->type);
        size_t len_at = b->len;
        jute_put_int(b, 0);
        if (put_record(b, sub, NULL, 0) < 0)
            return -1;
        jute_patch_int(b, len_at, (int32_t)(b->len - len_at - 4));
    }
    return 0;
}

static int put_record(struct jute_buf *b, const struct corral_txn *t,
                      const char *const *close_paths, int32_t n_close_paths)
{
    switch (t->type) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        jute_put_string(b, t->path);
        jute_put_buffer(b, t->data, t->data ? t->data_len : (t->data_len < 0 ? -1 : 0));
        jute_put_acl_vector(b, t->acl, t->n_acl);
        if (t->type == CORRAL_OP_CREATE || t->type == CORRAL_OP_CREATE2)
            jute_put_bool(b, t->ephemeral);
        jute_put_int(b, t->parent_cversion);
        if (t->type == CORRAL_OP_CREATE_TTL)
            jute_put_long(b, t->ttl);
        return 0;
    case CORRAL_OP_DELETE:
    case CORRAL_OP_DELETE_CONTAINER:
        jute_put_string(b, t->path);
        return 0;
    case CORRAL_OP_SET_DATA:
        jute_put_string(b, t->path);
        jute_put_buffer(b, t->data, t->data ? t->data_len : (t->data_len < 0 ? -1 : 0));
        jute_put_int(b, t->version);
        return 0;
    case CORRAL_OP_SET_ACL:
        jute_put_string(b, t->path);
        jute_put_acl_vector(b, t->acl, t->n_acl);
        jute_put_int(b, t->version);
        return 0;
    case CORRAL_OP_CHECK:
        jute_put_string(b, t->path);
        jute_put_int(b, t->version);
        return 0;
    case CORRAL_OP_ERROR:
        jute_put_int(b, t->err);
        return 0;
    case CORRAL_OP_CREATE_SESSION:
        jute_put_int(b, t->timeout);
        return 0;
    case CORRAL_OP_CLOSE_SESSION:
        if (n_close_paths < 0)
            return 0;           /* no record: ZooKeeper's reader takes the tree's ephemerals */
        jute_put_int(b, n_close_paths);
        for (int32_t i = 0; i < n_close_paths; i++)
            jute_put_string(b, close_paths[i]);
        return 0;
    case CORRAL_OP_MULTI:
        return put_multi(b, t);
    default:
        return -1;
    }
}

int zk_txn_encode(struct jute_buf *b, const struct corral_txn *t,
                  const char *const *close_paths, int32_t n_close_paths)
{
    jute_put_long(b, t->session_id);
    jute_put_int(b, t->cxid);
    jute_put_long(b, t->zxid);
    jute_put_long(b, t->time);
    jute_put_int(b, t->type);
    if (put_record(b, t, close_paths, n_close_paths) < 0) {
        zk_log(CORRAL_LOG_ERROR, "txn 0x%llx: type %d has no log record format",
               (unsigned long long)t->zxid, t->type);
        return -1;
    }
    return b->oom ? -1 : 0;
}

struct close_paths {
    int64_t session_id;
    const char **paths;
    int32_t n, cap;
    int oom;
};

static void collect_ephemeral(void *arg, int64_t session_id, const char *path)
{
    struct close_paths *c = arg;
    if (session_id != c->session_id || c->oom)
        return;
    if (c->n == c->cap) {
        int32_t cap = c->cap ? c->cap * 2 : 8;
        const char **p = realloc(c->paths, (size_t)cap * sizeof *p);
        if (!p) {
            c->oom = 1;
            return;
        }
        c->paths = p;
        c->cap = cap;
    }
    c->paths[c->n++] = path;
}

/*
 * Encode a txn as the log holds it.  Nothing longer than the txn limit is
 * ever written, since the reader (ours and ZooKeeper's) would refuse it: the
 * core refuses such writes before they get here, and a closeSession whose
 * list of ephemeral paths (ZooKeeper's CloseSessionTxn) would pass the limit
 * is logged without the list, a form ZooKeeper's reader accepts too: replay
 * then deletes what the tree says the session owns, which is the same set
 * (Corral's snapshots are not fuzzy), so a session with any number of
 * ephemerals can close.  ZooKeeper itself writes the list whatever its size,
 * and cannot read its log back past ~2 MB of paths.
 */
int zk_txn_encode_logged(struct jute_buf *b, const struct corral_txn *txn, int64_t max_txn)
{
    jute_buf_reset(b);
    struct close_paths cp = {txn->session_id, NULL, 0, 0, 0};
    if (txn->type == CORRAL_OP_CLOSE_SESSION)
        zk_core->ephemeral_each(collect_ephemeral, &cp);
    int rc = cp.oom ? -1 : zk_txn_encode(b, txn, cp.paths, cp.n);
    free(cp.paths);
    if (rc == 0 && txn->type == CORRAL_OP_CLOSE_SESSION && (int64_t)b->len > max_txn) {
        zk_log(CORRAL_LOG_INFO, "closeSession of 0x%llx: its %d ephemeral paths take %zu bytes, "
               "more than the txn limit of %lld; logging it without them (replay deletes the "
               "session's ephemerals from the tree)", (unsigned long long)txn->session_id, cp.n,
               b->len, (long long)max_txn);
        jute_buf_reset(b);
        rc = zk_txn_encode(b, txn, NULL, -1);
    }
    if (rc == 0 && (int64_t)b->len > max_txn) {
        zk_log(CORRAL_LOG_ERROR, "txn 0x%llx takes %zu bytes, more than the txn limit of %lld "
               "bytes that the log can be read back with: not writing it",
               (unsigned long long)txn->zxid, b->len, (long long)max_txn);
        rc = -1;
    }
    return rc;
}


void zk_entry_frame(struct jute_buf *out, const uint8_t *txn, size_t len)
{
    jute_put_long(out, (int64_t)zk_adler32((uint32_t)adler32(0, NULL, 0), txn, len));
    jute_put_buffer(out, txn, (int32_t)len);
    uint8_t *eor = jute_buf_reserve(out, 1);
    if (eor)
        *eor = ZK_EOR;
}

/* ---- decoding ---- */

void zk_txn_free(struct corral_txn *t)
{
    free(t->path);
    free(t->data);
    jute_free_acl_vector(t->acl, t->n_acl);
    for (int32_t i = 0; i < t->n_subs; i++)
        zk_txn_free(&t->subs[i]);
    free(t->subs);
    t->path = NULL;
    t->data = NULL;
    t->acl = NULL;
    t->n_acl = 0;
    t->subs = NULL;
    t->n_subs = 0;
}

static void get_acls(struct jute_reader *r, struct corral_txn *t)
{
    t->acl = jute_get_acl_vector(r, &t->n_acl);
    if (t->n_acl < 0)
        t->n_acl = 0;
}

static int get_record(struct jute_reader *r, struct corral_txn *t, int depth)
{
    switch (t->type) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        t->path = jute_get_string_dup(r);
        t->data = jute_get_buffer_dup(r, &t->data_len);
        get_acls(r, t);
        if (t->type == CORRAL_OP_CREATE || t->type == CORRAL_OP_CREATE2)
            t->ephemeral = jute_get_bool(r);
        t->parent_cversion = jute_get_int(r);
        if (t->type == CORRAL_OP_CREATE_TTL)
            t->ttl = jute_get_long(r);
        return t->path ? 0 : -1;
    case CORRAL_OP_DELETE:
    case CORRAL_OP_DELETE_CONTAINER:
        t->path = jute_get_string_dup(r);
        return t->path ? 0 : -1;
    case ZK_OP_RECONFIG:
        t->type = CORRAL_OP_SET_DATA;
        /* fall through */
    case CORRAL_OP_SET_DATA:
        t->path = jute_get_string_dup(r);
        t->data = jute_get_buffer_dup(r, &t->data_len);
        t->version = jute_get_int(r);
        return t->path ? 0 : -1;
    case CORRAL_OP_SET_ACL:
        t->path = jute_get_string_dup(r);
        get_acls(r, t);
        t->version = jute_get_int(r);
        return t->path ? 0 : -1;
    case CORRAL_OP_CHECK:
        t->path = jute_get_string_dup(r);
        t->version = jute_get_int(r);
        return t->path ? 0 : -1;
    case CORRAL_OP_ERROR:
        t->err = jute_get_int(r);
        return 0;
    case CORRAL_OP_CREATE_SESSION:
        t->timeout = jute_get_int(r);
        return 0;
    case CORRAL_OP_CLOSE_SESSION:
        /* paths2Delete: the session's ephemerals, which the tree knows too. */
        return 0;
    case CORRAL_OP_MULTI: {
        if (depth > 0)
            return -1;
        int32_t n = jute_get_int(r);
        if (r->err || n < 0 || (size_t)n > jute_remaining(r) / 8)
            return -1;
        t->subs = calloc(n ? (size_t)n : 1, sizeof *t->subs);
        if (!t->subs)
            return -1;
        for (int32_t i = 0; i < n; i++) {
            struct corral_txn *sub = &t->subs[i];
            t->n_subs = i + 1;
            sub->type = jute_get_int(r);
            const uint8_t *p;
            int32_t len;
            jute_get_buffer(r, &p, &len);
            if (r->err || len < 0)
                return -1;
            struct jute_reader sr;
            jute_reader_init(&sr, p, (size_t)len);
            if (get_record(&sr, sub, depth + 1) < 0 || sr.err)
                return -1;
        }
        return 0;
    }
    default:
        return -1;
    }
}

int zk_txn_decode(const uint8_t *p, size_t len, struct corral_txn *t)
{
    struct jute_reader r;
    jute_reader_init(&r, p, len);
    memset(t, 0, sizeof *t);
    t->session_id = jute_get_long(&r);
    t->cxid = jute_get_int(&r);
    t->zxid = jute_get_long(&r);
    t->time = jute_get_long(&r);
    t->type = jute_get_int(&r);
    if (r.err || get_record(&r, t, 0) < 0 || r.err) {
        zk_txn_free(t);
        return -1;
    }
    return 0;
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
