/*
 * proto.c — decode ZooKeeper client requests into struct corral_request and
 * encode struct corral_response into ZooKeeper replies.
 *
 * Record layouts follow zookeeper.jute (ConnectRequest, RequestHeader,
 * CreateRequest, MultiHeader, ...), facts about the wire format.  Two
 * behaviours worth knowing, both checked against Apache ZooKeeper 3.8:
 *   - a multi is always answered with its MultiResponse and ReplyHeader err 0;
 *     when it failed, every member comes back as an ErrorResult (type -1)
 *     carrying its own code (0 before the failing member, the failure, then
 *     RUNTIMEINCONSISTENCY);
 *   - any other failed request is the ReplyHeader alone (exists on a missing
 *     node: err -101, no body);
 *   - the answer to auth carries zxid 0.
 * Inside a multi, create and create2 results are reported as create (path
 * only) and createContainer/createTTL ones as create2 (path + Stat), as
 * ZooKeeper 3.8 does.
 */
#include <stdlib.h>
#include <string.h>
#include "proto.h"

/* ---- connect ---- */

int zk_decode_connect(const uint8_t *frame, size_t len, struct zk_connect_request *out)
{
    struct jute_reader r;
    jute_reader_init(&r, frame, len);
    memset(out, 0, sizeof *out);
    out->protocol_version = jute_get_int(&r);
    out->last_zxid_seen = jute_get_long(&r);
    out->timeout_ms = jute_get_int(&r);
    out->session_id = jute_get_long(&r);
    jute_get_buffer(&r, &out->passwd, &out->passwd_len);
    if (r.err)
        return -1;
    if (jute_remaining(&r) >= 1) {
        out->has_read_only = 1;
        out->read_only = jute_get_bool(&r);
    }
    return 0;
}

void zk_encode_connect_response(struct jute_buf *b, const struct corral_connect_result *res,
                                int with_read_only)
{
    static const uint8_t zero_passwd[CORRAL_PASSWD_LEN];
    int ok = res->err == CORRAL_OK;
    jute_put_int(b, 0);
    jute_put_int(b, ok ? res->timeout_ms : 0);
    jute_put_long(b, ok ? res->session_id : 0);
    jute_put_buffer(b, ok ? res->passwd : zero_passwd, CORRAL_PASSWD_LEN);
    if (with_read_only)
        jute_put_bool(b, ok ? res->read_only : 0);
}

/* ---- requests ---- */

static void free_members(struct corral_request *r)
{
    free(r->path);
    free(r->data);
    jute_free_acl_vector(r->acl, r->n_acl);
}

void zk_request_free(struct corral_request *req)
{
    if (!req)
        return;
    free_members(req);
    for (int32_t i = 0; req->ops && i < req->n_ops; i++)
        free_members(&req->ops[i]);
    free(req->ops);
    for (int k = 0; k < 5; k++) {
        for (int32_t i = 0; req->watch_paths[k] && i < req->n_watch_paths[k]; i++)
            free(req->watch_paths[k][i]);
        free(req->watch_paths[k]);
    }
    free(req);
}

static void get_acl(struct jute_reader *r, struct corral_request *req)
{
    int32_t n;
    req->acl = jute_get_acl_vector(r, &n);
    req->n_acl = n < 0 ? 0 : n;
}

/*
 * A path.  Java strings can hold a NUL, C strings cannot: each NUL is read
 * as U+0001, a character no node name may hold, and the request is marked
 * (request.h, path_had_nul) for the few checks ZooKeeper makes for a NUL
 * itself.  A null string stays NULL.
 */
static char *get_path(struct jute_reader *r, struct corral_request *req)
{
    const uint8_t *p;
    int32_t n;
    jute_get_buffer(r, &p, &n);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->err = 1;
        return NULL;
    }
    for (int32_t i = 0; i < n; i++) {
        s[i] = (char)p[i];
        if (!p[i]) {
            s[i] = '\x01';
            req->path_had_nul = 1;
        }
    }
    s[n] = 0;
    return s;
}

/* CreateRequest / CreateTTLRequest. */
static void get_create(struct jute_reader *r, struct corral_request *req)
{
    req->path = get_path(r, req);
    req->data = jute_get_buffer_dup(r, &req->data_len);
    get_acl(r, req);
    req->flags = jute_get_int(r);
    if (req->op == CORRAL_OP_CREATE_TTL)
        req->ttl = jute_get_long(r);
}

/* path, int version: DeleteRequest, CheckVersionRequest. */
static void get_path_version(struct jute_reader *r, struct corral_request *req)
{
    req->path = get_path(r, req);
    req->version = jute_get_int(r);
}

/* path, bool watch: ExistsRequest, GetDataRequest, GetChildren(2)Request. */
static void get_path_watch(struct jute_reader *r, struct corral_request *req)
{
    req->path = get_path(r, req);
    req->watch = jute_get_bool(r);
}

static void get_set_data(struct jute_reader *r, struct corral_request *req)
{
    req->path = get_path(r, req);
    req->data = jute_get_buffer_dup(r, &req->data_len);
    req->version = jute_get_int(r);
}

/* vector<ustring> → malloc'd array; a null vector is an empty one. */
static char **get_string_vector(struct jute_reader *r, int32_t *n_out)
{
    int32_t n = jute_get_int(r);
    *n_out = 0;
    if (r->err || n <= 0) {
        if (n < -1)
            r->err = 1;
        return NULL;
    }
    if ((size_t)n > jute_remaining(r) / 4) {   /* each string takes >= 4 bytes */
        r->err = 1;
        return NULL;
    }
    char **v = calloc((size_t)n, sizeof *v);
    if (!v) {
        r->err = 1;
        return NULL;
    }
    int32_t i;
    for (i = 0; i < n && !r->err; i++) {
        v[i] = jute_get_string_dup(r);
        if (!v[i])
            r->err = 1;
    }
    *n_out = i;
    return v;
}

/* A member of multi (write ops) or multiRead (getData/getChildren). */
static int get_multi_member(struct jute_reader *r, struct corral_request *m, int read_only)
{
    switch (m->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        if (read_only)
            return -1;
        get_create(r, m);
        return 0;
    case CORRAL_OP_DELETE:
    case CORRAL_OP_CHECK:
        if (read_only)
            return -1;
        get_path_version(r, m);
        return 0;
    case CORRAL_OP_SET_DATA:
        if (read_only)
            return -1;
        get_set_data(r, m);
        return 0;
    case CORRAL_OP_GET_DATA:
    case CORRAL_OP_GET_CHILDREN:
        if (!read_only)
            return -1;
        get_path_watch(r, m);
        return 0;
    default:
        return -1;
    }
}

/* MultiHeader{type, done, err} + record, until done. */
static void get_multi(struct jute_reader *r, struct corral_request *req)
{
    int32_t cap = 0;
    for (;;) {
        int32_t type = jute_get_int(r);
        int done = jute_get_bool(r);
        (void)jute_get_int(r);
        if (r->err || done)
            return;
        if (req->n_ops == cap) {
            /* each member consumed >= 9 bytes of the frame: growth is bounded */
            int32_t ncap = cap ? cap * 2 : 4;
            struct corral_request *ops = realloc(req->ops, (size_t)ncap * sizeof *ops);
            if (!ops) {
                r->err = 1;
                return;
            }
            req->ops = ops;
            cap = ncap;
        }
        struct corral_request *m = &req->ops[req->n_ops++];
        memset(m, 0, sizeof *m);
        m->op = type;
        m->xid = req->xid;
        m->data_len = -1;
        if (get_multi_member(r, m, req->op == CORRAL_OP_MULTI_READ) < 0) {
            r->err = 1;
            return;
        }
    }
}

static void get_body(struct jute_reader *r, struct corral_request *req)
{
    switch (req->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        get_create(r, req);
        break;
    case CORRAL_OP_DELETE:
    case CORRAL_OP_CHECK:
        get_path_version(r, req);
        break;
    case CORRAL_OP_EXISTS:
    case CORRAL_OP_GET_DATA:
    case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_CHILDREN2:
        get_path_watch(r, req);
        break;
    case CORRAL_OP_SET_DATA:
        get_set_data(r, req);
        break;
    case CORRAL_OP_GET_ACL:
    case CORRAL_OP_SYNC:
    case CORRAL_OP_GET_EPHEMERALS:
    case CORRAL_OP_GET_ALL_CHILDREN_NUMBER:
    case CORRAL_OP_DELETE_CONTAINER:
        req->path = get_path(r, req);
        break;
    case CORRAL_OP_SET_ACL:
        req->path = get_path(r, req);
        get_acl(r, req);
        req->version = jute_get_int(r);
        break;
    case CORRAL_OP_MULTI:
    case CORRAL_OP_MULTI_READ:
        get_multi(r, req);
        break;
    case CORRAL_OP_AUTH:
        (void)jute_get_int(r);              /* AuthPacket.type: unused, always 0 */
        req->path = jute_get_string_dup(r); /* the scheme */
        req->data = jute_get_buffer_dup(r, &req->data_len);
        break;
    case CORRAL_OP_SET_WATCHES:
    case CORRAL_OP_SET_WATCHES2: {
        int kinds = req->op == CORRAL_OP_SET_WATCHES ? 3 : 5;
        req->relative_zxid = jute_get_long(r);
        for (int k = 0; k < kinds; k++)
            req->watch_paths[k] = get_string_vector(r, &req->n_watch_paths[k]);
        break;
    }
    case CORRAL_OP_ADD_WATCH:
    case CORRAL_OP_REMOVE_WATCHES:
    case CORRAL_OP_CHECK_WATCHES:
        req->path = get_path(r, req);
        req->mode = jute_get_int(r);
        /* ZooKeeper cannot read an unknown mode or watcher type: MarshallingError */
        if (req->op == CORRAL_OP_ADD_WATCH ? req->mode != 0 && req->mode != 1
                                           : req->mode < 1 || req->mode > 5)
            r->err = 1;
        break;
    case CORRAL_OP_RECONFIG:
        /* ReconfigRequest: read (ZooKeeper does, first) and dropped: standalone refuses it */
        for (int k = 0; k < 3; k++)
            free(jute_get_string_dup(r));
        (void)jute_get_long(r);
        break;
    default:
        /* ping, closeSession, whoAmI: no body; anything else: op + xid only */
        break;
    }
}

int zk_decode_request(const uint8_t *frame, size_t len, struct corral_request **out)
{
    struct jute_reader r;
    *out = NULL;
    jute_reader_init(&r, frame, len);
    struct corral_request *req = calloc(1, sizeof *req);
    if (!req)
        return -1;
    req->xid = jute_get_int(&r);
    req->op = jute_get_int(&r);
    req->data_len = -1;
    if (!r.err)
        get_body(&r, req);
    if (r.err) {
        zk_request_free(req);
        return -1;
    }
    *out = req;
    return 0;
}

/* ---- replies ---- */

/*
 * The hot path writes fixed-size pieces with one reservation each instead of
 * one per field (the ReplyHeader and a Stat are most of a read's reply).
 */
static inline uint8_t *be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static inline uint8_t *be64_put(uint8_t *p, uint64_t v)
{
    return be32_put(be32_put(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

static void put_reply_header(struct jute_buf *b, int32_t xid, int64_t zxid, int32_t err)
{
    uint8_t *p = jute_buf_reserve(b, 16);
    if (p)
        be32_put(be64_put(be32_put(p, (uint32_t)xid), (uint64_t)zxid), (uint32_t)err);
}

static void put_stat(struct jute_buf *b, const struct corral_stat *st)
{
    uint8_t *p = jute_buf_reserve(b, 68);
    if (!p)
        return;
    p = be64_put(p, (uint64_t)st->czxid);
    p = be64_put(p, (uint64_t)st->mzxid);
    p = be64_put(p, (uint64_t)st->ctime);
    p = be64_put(p, (uint64_t)st->mtime);
    p = be32_put(p, (uint32_t)st->version);
    p = be32_put(p, (uint32_t)st->cversion);
    p = be32_put(p, (uint32_t)st->aversion);
    p = be64_put(p, (uint64_t)st->ephemeral_owner);
    p = be32_put(p, (uint32_t)st->data_length);
    p = be32_put(p, (uint32_t)st->num_children);
    be64_put(p, (uint64_t)st->pzxid);
}

static void put_string_vector(struct jute_buf *b, const char *const *v, int32_t n)
{
    jute_put_int(b, n);
    for (int32_t i = 0; i < n; i++)
        jute_put_string(b, v[i]);
}

static void put_multi_header(struct jute_buf *b, int32_t type, int done, int32_t err)
{
    jute_put_int(b, type);
    jute_put_bool(b, done);
    jute_put_int(b, err);
}

static void put_multi_result(struct jute_buf *b, const struct corral_response *res, int failed)
{
    if (failed || res->err != CORRAL_OK || res->op == CORRAL_OP_ERROR) {
        put_multi_header(b, CORRAL_OP_ERROR, 0, res->err);
        jute_put_int(b, res->err);  /* ErrorResult */
        return;
    }
    switch (res->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:     /* ZooKeeper answers create2 in a multi as create */
        put_multi_header(b, CORRAL_OP_CREATE, 0, 0);
        jute_put_string(b, res->path);
        break;
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        put_multi_header(b, CORRAL_OP_CREATE2, 0, 0);
        jute_put_string(b, res->path);
        put_stat(b, &res->stat);
        break;
    case CORRAL_OP_SET_DATA:
        put_multi_header(b, CORRAL_OP_SET_DATA, 0, 0);
        put_stat(b, &res->stat);
        break;
    case CORRAL_OP_GET_DATA:
        put_multi_header(b, CORRAL_OP_GET_DATA, 0, 0);
        jute_put_buffer(b, res->data, res->data_len);
        put_stat(b, &res->stat);
        break;
    case CORRAL_OP_GET_CHILDREN:
        put_multi_header(b, CORRAL_OP_GET_CHILDREN, 0, 0);
        put_string_vector(b, res->children, res->n_children);
        break;
    default:                    /* delete, check: no record */
        put_multi_header(b, res->op, 0, 0);
        break;
    }
}

static void put_body(struct jute_buf *b, const struct corral_response *rsp)
{
    switch (rsp->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_SYNC:
        jute_put_string(b, rsp->path);
        break;
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        jute_put_string(b, rsp->path);
        put_stat(b, &rsp->stat);
        break;
    case CORRAL_OP_EXISTS:
    case CORRAL_OP_SET_DATA:
    case CORRAL_OP_SET_ACL:
        put_stat(b, &rsp->stat);
        break;
    case CORRAL_OP_GET_DATA:
        jute_put_buffer(b, rsp->data, rsp->data_len);
        put_stat(b, &rsp->stat);
        break;
    case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_EPHEMERALS:
        put_string_vector(b, rsp->children, rsp->n_children);
        break;
    case CORRAL_OP_GET_CHILDREN2:
        put_string_vector(b, rsp->children, rsp->n_children);
        put_stat(b, &rsp->stat);
        break;
    case CORRAL_OP_GET_ACL:
        jute_put_acl_vector(b, rsp->acl, rsp->n_acl);
        put_stat(b, &rsp->stat);
        break;
    case CORRAL_OP_GET_ALL_CHILDREN_NUMBER:
        jute_put_int(b, rsp->number);
        break;
    case CORRAL_OP_ADD_WATCH:       /* ZooKeeper answers an ErrorResponse{err 0} */
        jute_put_int(b, 0);
        break;
    case CORRAL_OP_WHO_AM_I:        /* vector<ClientInfo{authScheme, user}> */
        jute_put_int(b, rsp->n_acl);
        for (int32_t i = 0; i < rsp->n_acl; i++) {
            jute_put_string(b, rsp->acl[i].scheme);
            jute_put_string(b, rsp->acl[i].id);
        }
        break;
    default:                        /* delete, check, ping, auth, closeSession, ... */
        break;
    }
}

void zk_encode_reply(struct jute_buf *b, const struct corral_response *rsp)
{
    int is_multi = rsp->op == CORRAL_OP_MULTI || rsp->op == CORRAL_OP_MULTI_READ;
    /* A multi that produced per-member results reports them; its header says OK. */
    int multi_body = is_multi && (rsp->err == CORRAL_OK || rsp->n_results > 0);
    put_reply_header(b, rsp->xid, rsp->op == CORRAL_OP_AUTH ? 0 : rsp->zxid,  /* as ZooKeeper */
                     multi_body ? CORRAL_OK : rsp->err);
    if (multi_body) {
        int failed = rsp->op == CORRAL_OP_MULTI && rsp->err != CORRAL_OK;
        for (int32_t i = 0; i < rsp->n_results; i++)
            put_multi_result(b, &rsp->results[i], failed);
        put_multi_header(b, -1, 1, -1);
    } else if (rsp->err == CORRAL_OK) {
        put_body(b, rsp);
    }
}

void zk_encode_event(struct jute_buf *b, const struct corral_watch_event *ev)
{
    put_reply_header(b, ZK_XID_NOTIFICATION, -1, CORRAL_OK);
    jute_put_int(b, ev->type);
    jute_put_int(b, ev->state);
    jute_put_string(b, ev->path);
}
