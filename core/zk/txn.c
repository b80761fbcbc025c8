/*
 * txn.c — ZooKeeper 3.8's txn record: TxnHeader + record <-> struct corral_txn.
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
 *                      (struct corral_txn's close_paths; n_close_paths -1)
 *   multi              MultiTxn {vector<Txn {int type, buffer data}>}
 * ZooKeeper 3.6+ may append a TxnDigest {int version, long treeDigest}; the
 * reader ignores whatever follows the record.  The same bytes are a log
 * entry's payload (storage/file frames them) and a PROPOSAL's data on the
 * quorum port; hence one copy here, pinned by t/unit/storage-file-format.c
 * against bytes ZooKeeper wrote.
 */
#include <stdlib.h>
#include <string.h>
#include "corral/zk_txn.h"

/* ---- encoding ---- */

static int put_record(struct jute_buf *b, const struct corral_txn *t);

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
        if (put_record(b, sub) < 0)
            return -1;
        jute_patch_int(b, len_at, (int32_t)(b->len - len_at - 4));
    }
    return 0;
}

static int put_record(struct jute_buf *b, const struct corral_txn *t)
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
        if (t->n_close_paths < 0)
            return 0;           /* no record: the reader takes the tree's ephemerals */
        jute_put_int(b, t->n_close_paths);
        for (int32_t i = 0; i < t->n_close_paths; i++)
            jute_put_string(b, t->close_paths[i]);
        return 0;
    case CORRAL_OP_MULTI:
        return put_multi(b, t);
    default:
        return -1;
    }
}

int zk_txn_encode(struct jute_buf *b, const struct corral_txn *t)
{
    jute_put_long(b, t->session_id);
    jute_put_int(b, t->cxid);
    jute_put_long(b, t->zxid);
    jute_put_long(b, t->time);
    jute_put_int(b, t->type);
    if (put_record(b, t) < 0)
        return -1;
    return b->oom ? -1 : 0;
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
    zk_txn_free_close_paths(t);
    t->path = NULL;
    t->data = NULL;
    t->acl = NULL;
    t->n_acl = 0;
    t->subs = NULL;
    t->n_subs = 0;
}

void zk_txn_free_close_paths(struct corral_txn *t)
{
    for (int32_t i = 0; i < t->n_close_paths; i++)
        free(t->close_paths[i]);
    free(t->close_paths);
    t->close_paths = NULL;
    t->n_close_paths = 0;
}

/*
 * CloseSessionTxn {vector<ustring> paths2Delete}, or no record (the older
 * form: n_close_paths -1).  What follows a bodiless one is not a list but
 * whatever the writer appended (ZooKeeper's TxnDigest), so bytes that do not
 * parse as a whole list mean "no list": apply then deletes what the tree
 * says the session owns, which is never less than a list would have named.
 */
static void get_close_paths(struct jute_reader *r, struct corral_txn *t)
{
    t->n_close_paths = -1;
    if (jute_remaining(r) < 4)
        return;
    struct jute_reader save = *r;
    int32_t n = jute_get_int(r);
    if (r->err || n < 0 || (size_t)n > jute_remaining(r) / 4)
        goto bodiless;
    t->close_paths = calloc(n ? (size_t)n : 1, sizeof *t->close_paths);
    if (!t->close_paths)
        goto bodiless;
    for (t->n_close_paths = 0; t->n_close_paths < n; t->n_close_paths++) {
        char *path = jute_get_string_dup(r);
        if (!path || r->err) {
            free(path);
            goto bodiless;
        }
        t->close_paths[t->n_close_paths] = path;
    }
    return;
bodiless:
    zk_txn_free_close_paths(t);
    t->n_close_paths = -1;
    *r = save;
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
        get_close_paths(r, t);
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
