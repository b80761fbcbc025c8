/*
 * request.c — ZooKeeper client requests: RequestHeader {int xid, int type}
 * plus the op's request record (zookeeper.jute: CreateRequest, MultiHeader,
 * SetWatches2, ...) to and from struct corral_request.
 *
 * The decoder is what the zk transport reads clients with.  The encoder is
 * its inverse, for the quorum code: a follower forwards a client's write to
 * the leader as ZooKeeper's REQUEST packet (sessionId, cxid, type, then the
 * request record), and the leader decodes the record back.
 * t/unit/jute.c round-trips every op through the pair.
 */
#include <stdlib.h>
#include <string.h>
#include "corral/zk_proto.h"

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

int zk_decode_request_body(int32_t xid, int32_t op, const uint8_t *p, size_t len,
                           struct corral_request **out)
{
    struct jute_reader r;
    *out = NULL;
    jute_reader_init(&r, p, len);
    struct corral_request *req = calloc(1, sizeof *req);
    if (!req)
        return -1;
    req->xid = xid;
    req->op = op;
    req->data_len = -1;
    get_body(&r, req);
    if (r.err) {
        zk_request_free(req);
        return -1;
    }
    *out = req;
    return 0;
}

int zk_decode_request(const uint8_t *frame, size_t len, struct corral_request **out)
{
    struct jute_reader r;
    *out = NULL;
    jute_reader_init(&r, frame, len);
    int32_t xid = jute_get_int(&r);
    int32_t op = jute_get_int(&r);
    if (r.err)
        return -1;
    return zk_decode_request_body(xid, op, frame + r.pos, len - r.pos, out);
}

/* ---- encoding ---- */

/*
 * A path as the client sent it: a request read with a NUL in its path holds
 * U+0001 in its place (get_path), which goes back out as the NUL, so the
 * leader sees what the follower saw.
 */
static void put_path(struct jute_buf *b, const struct corral_request *req)
{
    if (!req->path_had_nul || !req->path) {
        jute_put_string(b, req->path);
        return;
    }
    size_t n = strlen(req->path);
    jute_put_int(b, (int32_t)n);
    uint8_t *p = jute_buf_reserve(b, n);
    for (size_t i = 0; p && i < n; i++)
        p[i] = req->path[i] == '\x01' ? 0 : (uint8_t)req->path[i];
}

static void put_data(struct jute_buf *b, const struct corral_request *req)
{
    jute_put_buffer(b, req->data, req->data ? req->data_len : -1);
}

static void put_create(struct jute_buf *b, const struct corral_request *req)
{
    put_path(b, req);
    put_data(b, req);
    jute_put_acl_vector(b, req->acl, req->n_acl);
    jute_put_int(b, req->flags);
    if (req->op == CORRAL_OP_CREATE_TTL)
        jute_put_long(b, req->ttl);
}

static void put_string_vector(struct jute_buf *b, char *const *v, int32_t n)
{
    jute_put_int(b, n);
    for (int32_t i = 0; i < n; i++)
        jute_put_string(b, v[i]);
}

static int put_body(struct jute_buf *b, const struct corral_request *req, int depth);

/* Each member behind MultiHeader{type, done false, err -1}; then {-1, true, -1}. */
static int put_multi(struct jute_buf *b, const struct corral_request *req, int depth)
{
    if (depth > 0)
        return -1;
    for (int32_t i = 0; i < req->n_ops; i++) {
        jute_put_int(b, req->ops[i].op);
        jute_put_bool(b, 0);
        jute_put_int(b, -1);
        if (put_body(b, &req->ops[i], depth + 1) < 0)
            return -1;
    }
    jute_put_int(b, -1);
    jute_put_bool(b, 1);
    jute_put_int(b, -1);
    return 0;
}

static int put_body(struct jute_buf *b, const struct corral_request *req, int depth)
{
    switch (req->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        put_create(b, req);
        return 0;
    case CORRAL_OP_DELETE:
    case CORRAL_OP_CHECK:
        put_path(b, req);
        jute_put_int(b, req->version);
        return 0;
    case CORRAL_OP_EXISTS:
    case CORRAL_OP_GET_DATA:
    case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_CHILDREN2:
        put_path(b, req);
        jute_put_bool(b, req->watch);
        return 0;
    case CORRAL_OP_SET_DATA:
        put_path(b, req);
        put_data(b, req);
        jute_put_int(b, req->version);
        return 0;
    case CORRAL_OP_GET_ACL:
    case CORRAL_OP_SYNC:
    case CORRAL_OP_GET_EPHEMERALS:
    case CORRAL_OP_GET_ALL_CHILDREN_NUMBER:
    case CORRAL_OP_DELETE_CONTAINER:
        put_path(b, req);
        return 0;
    case CORRAL_OP_SET_ACL:
        put_path(b, req);
        jute_put_acl_vector(b, req->acl, req->n_acl);
        jute_put_int(b, req->version);
        return 0;
    case CORRAL_OP_MULTI:
    case CORRAL_OP_MULTI_READ:
        return put_multi(b, req, depth);
    case CORRAL_OP_AUTH:
        jute_put_int(b, 0);                 /* AuthPacket.type */
        jute_put_string(b, req->path);      /* the scheme */
        put_data(b, req);
        return 0;
    case CORRAL_OP_SET_WATCHES:
    case CORRAL_OP_SET_WATCHES2: {
        int kinds = req->op == CORRAL_OP_SET_WATCHES ? 3 : 5;
        jute_put_long(b, req->relative_zxid);
        for (int k = 0; k < kinds; k++)
            put_string_vector(b, req->watch_paths[k], req->n_watch_paths[k]);
        return 0;
    }
    case CORRAL_OP_ADD_WATCH:
    case CORRAL_OP_REMOVE_WATCHES:
    case CORRAL_OP_CHECK_WATCHES:
        put_path(b, req);
        jute_put_int(b, req->mode);
        return 0;
    case CORRAL_OP_RECONFIG:
        /* the decoder keeps none of ReconfigRequest: joining, leaving, newMembers null */
        for (int k = 0; k < 3; k++)
            jute_put_string(b, NULL);
        jute_put_long(b, -1);               /* curConfigId */
        return 0;
    default:
        /* ping, closeSession, whoAmI and ops this codec does not know: no record */
        return 0;
    }
}

int zk_encode_request_body(struct jute_buf *b, const struct corral_request *req)
{
    if (req->malformed)
        return -1;
    if (put_body(b, req, 0) < 0)
        return -1;
    return b->oom ? -1 : 0;
}

int zk_encode_request(struct jute_buf *b, const struct corral_request *req)
{
    if (req->malformed)
        return -1;
    jute_put_int(b, req->xid);
    jute_put_int(b, req->op);
    return zk_encode_request_body(b, req);
}
