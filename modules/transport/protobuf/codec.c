/*
 * codec.c — ClientMessage → struct corral_request, and struct corral_response
 * (plus events and notices) → ServerMessage, for the protobuf transport.
 *
 * Decoding unpacks with protobuf-c and copies what the request needs into
 * malloc'd members (the core owns and frees a submitted request), so the
 * unpacked message is freed before the request goes anywhere.  Choices
 * worth knowing:
 *   - one `create` message covers ZooKeeper's create/create2/createContainer/
 *     createTTL: the op follows from the mode (CONTAINER → createContainer,
 *     *_WITH_TTL or a ttl → createTTL, else create2), and the answer always
 *     carries path + Stat;
 *   - versions default to -1 (any) in the .proto, so a client that does not
 *     care about versions never trips over version 0;
 *   - a multi member or multi_read member with nothing set gets op 0, which
 *     the core rejects (BADARGUMENTS) in that member's result.
 * Encoding builds a ServerMessage on the stack whose strings and byte fields
 * point into the core's response (valid for the callback), and packs it
 * straight into the output buffer behind its length.
 */
#include <stdlib.h>
#include <string.h>
#include "codec.h"
#include "corral/zk_proto.h"
#include "corral.pb-c.h"

/* ---- decoding ---- */

static char *dup_str(const char *s)
{
    return strdup(s ? s : "");
}

/* Copy a bytes field; absent → the null buffer (NULL, -1). */
static int dup_bytes(protobuf_c_boolean has, ProtobufCBinaryData bd, uint8_t **out,
                     int32_t *len)
{
    *out = NULL;
    *len = -1;
    if (!has)
        return 0;
    if (bd.len > INT32_MAX)
        return -1;
    *len = (int32_t)bd.len;
    if (bd.len == 0)
        return 0;
    *out = malloc(bd.len);
    if (!*out)
        return -1;
    memcpy(*out, bd.data, bd.len);
    return 0;
}

static int dup_acl(Corral__ACL **in, size_t n, struct corral_acl **out, int32_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return 0;
    if (n > INT32_MAX)
        return -1;
    struct corral_acl *acl = calloc(n, sizeof *acl);
    if (!acl)
        return -1;
    *out = acl;
    for (size_t i = 0; i < n; i++) {
        acl[i].perms = in[i]->has_perms ? in[i]->perms : 0;
        acl[i].scheme = dup_str(in[i]->scheme);
        acl[i].id = dup_str(in[i]->id);
        *n_out = (int32_t)i + 1;
        if (!acl[i].scheme || !acl[i].id)
            return -1;
    }
    return 0;
}

static int32_t create_op(const Corral__CreateRequest *m, int in_multi)
{
    int32_t mode = m->has_mode ? m->mode : CORRAL_CREATE_PERSISTENT;
    if (mode == CORRAL_CREATE_CONTAINER)
        return CORRAL_OP_CREATE_CONTAINER;
    if (mode == CORRAL_CREATE_PERSISTENT_WITH_TTL ||
        mode == CORRAL_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL || (m->has_ttl && m->ttl != 0))
        return CORRAL_OP_CREATE_TTL;  /* a ttl with another mode: the core says BADARGUMENTS */
    return in_multi ? CORRAL_OP_CREATE : CORRAL_OP_CREATE2;
}

static int get_create(const Corral__CreateRequest *m, struct corral_request *r, int in_multi)
{
    r->op = create_op(m, in_multi);
    r->flags = m->has_mode ? m->mode : CORRAL_CREATE_PERSISTENT;
    r->ttl = m->has_ttl ? m->ttl : 0;
    r->path = dup_str(m->path);
    if (!r->path || dup_bytes(m->has_data, m->data, &r->data, &r->data_len) < 0)
        return -1;
    return dup_acl(m->acl, m->n_acl, &r->acl, &r->n_acl);
}

static int get_path_version(int32_t op, const char *path, int32_t version,
                            struct corral_request *r)
{
    r->op = op;
    r->path = dup_str(path);
    r->version = version;
    return r->path ? 0 : -1;
}

static int get_path_watch(int32_t op, const Corral__PathWatchRequest *m,
                          struct corral_request *r)
{
    r->op = op;
    r->path = dup_str(m->path);
    r->watch = m->has_watch && m->watch;
    return r->path ? 0 : -1;
}

static int get_set_data(const Corral__SetDataRequest *m, struct corral_request *r)
{
    r->op = CORRAL_OP_SET_DATA;
    r->path = dup_str(m->path);
    r->version = m->version;
    if (!r->path)
        return -1;
    return dup_bytes(m->has_data, m->data, &r->data, &r->data_len);
}

static int get_path_only(int32_t op, const Corral__PathRequest *m, struct corral_request *r)
{
    r->op = op;
    r->path = dup_str(m->path);
    return r->path ? 0 : -1;
}

/* Members: the array is sized up front; each starts as op 0 (rejected by the core). */
static int alloc_members(struct corral_request *r, size_t n)
{
    if (n == 0)
        return 0;
    if (n > INT32_MAX)
        return -1;
    r->ops = calloc(n, sizeof *r->ops);
    if (!r->ops)
        return -1;
    r->n_ops = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        r->ops[i].xid = r->xid;
        r->ops[i].data_len = -1;
        r->ops[i].version = -1;
    }
    return 0;
}

static int get_multi(const Corral__MultiRequest *m, struct corral_request *r)
{
    r->op = CORRAL_OP_MULTI;
    if (alloc_members(r, m->n_ops) < 0)
        return -1;
    for (size_t i = 0; i < m->n_ops; i++) {
        const Corral__Op *o = m->ops[i];
        struct corral_request *x = &r->ops[i];
        int rc = 0;
        switch (o->op_case) {
        case CORRAL__OP__OP_CREATE:
            rc = get_create(o->create, x, 1);
            break;
        case CORRAL__OP__OP_DELETE:
            rc = get_path_version(CORRAL_OP_DELETE, o->delete_->path, o->delete_->version, x);
            break;
        case CORRAL__OP__OP_SET_DATA:
            rc = get_set_data(o->set_data, x);
            break;
        case CORRAL__OP__OP_CHECK:
            rc = get_path_version(CORRAL_OP_CHECK, o->check->path, o->check->version, x);
            break;
        default:
            break;      /* op 0: that member fails with BADARGUMENTS */
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int get_multi_read(const Corral__MultiReadRequest *m, struct corral_request *r)
{
    r->op = CORRAL_OP_MULTI_READ;
    if (alloc_members(r, m->n_ops) < 0)
        return -1;
    for (size_t i = 0; i < m->n_ops; i++) {
        const Corral__ReadOp *o = m->ops[i];
        int rc = 0;
        if (o->op_case == CORRAL__READ_OP__OP_GET_DATA)
            rc = get_path_watch(CORRAL_OP_GET_DATA, o->get_data, &r->ops[i]);
        else if (o->op_case == CORRAL__READ_OP__OP_GET_CHILDREN)
            rc = get_path_watch(CORRAL_OP_GET_CHILDREN, o->get_children, &r->ops[i]);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int dup_paths(char **in, size_t n, char ***out, int32_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return 0;
    if (n > INT32_MAX)
        return -1;
    char **v = calloc(n, sizeof *v);
    if (!v)
        return -1;
    *out = v;
    for (size_t i = 0; i < n; i++) {
        v[i] = dup_str(in[i]);
        if (!v[i])
            return -1;
        *n_out = (int32_t)i + 1;
    }
    return 0;
}

static int get_set_watches(const Corral__SetWatchesRequest *m, struct corral_request *r)
{
    r->op = CORRAL_OP_SET_WATCHES2;
    r->relative_zxid = m->has_relative_zxid ? m->relative_zxid : 0;
    if (dup_paths(m->data, m->n_data, &r->watch_paths[CORRAL_SETWATCH_DATA],
                  &r->n_watch_paths[CORRAL_SETWATCH_DATA]) < 0 ||
        dup_paths(m->exist, m->n_exist, &r->watch_paths[CORRAL_SETWATCH_EXIST],
                  &r->n_watch_paths[CORRAL_SETWATCH_EXIST]) < 0 ||
        dup_paths(m->child, m->n_child, &r->watch_paths[CORRAL_SETWATCH_CHILD],
                  &r->n_watch_paths[CORRAL_SETWATCH_CHILD]) < 0 ||
        dup_paths(m->persistent, m->n_persistent, &r->watch_paths[CORRAL_SETWATCH_PERSISTENT],
                  &r->n_watch_paths[CORRAL_SETWATCH_PERSISTENT]) < 0 ||
        dup_paths(m->persistent_recursive, m->n_persistent_recursive,
                  &r->watch_paths[CORRAL_SETWATCH_PERSISTENT_RECURSIVE],
                  &r->n_watch_paths[CORRAL_SETWATCH_PERSISTENT_RECURSIVE]) < 0)
        return -1;
    return 0;
}

static int get_watches(int32_t op, const Corral__WatchesRequest *m, struct corral_request *r)
{
    r->op = op;
    r->path = dup_str(m->path);
    r->mode = m->type;
    return r->path ? 0 : -1;
}

static int get_request(const Corral__ClientMessage *m, struct corral_request *r)
{
    switch (m->request_case) {
    case CORRAL__CLIENT_MESSAGE__REQUEST_CREATE:
        return get_create(m->create, r, 0);
    case CORRAL__CLIENT_MESSAGE__REQUEST_DELETE:
        return get_path_version(CORRAL_OP_DELETE, m->delete_->path, m->delete_->version, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_EXISTS:
        return get_path_watch(CORRAL_OP_EXISTS, m->exists, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_GET_DATA:
        return get_path_watch(CORRAL_OP_GET_DATA, m->get_data, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_SET_DATA:
        return get_set_data(m->set_data, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_GET_ACL:
        return get_path_only(CORRAL_OP_GET_ACL, m->get_acl, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_SET_ACL:
        r->op = CORRAL_OP_SET_ACL;
        r->path = dup_str(m->set_acl->path);
        r->version = m->set_acl->version;
        if (!r->path)
            return -1;
        return dup_acl(m->set_acl->acl, m->set_acl->n_acl, &r->acl, &r->n_acl);
    case CORRAL__CLIENT_MESSAGE__REQUEST_GET_CHILDREN: {
        const Corral__GetChildrenRequest *g = m->get_children;
        r->op = g->has_with_stat && g->with_stat ? CORRAL_OP_GET_CHILDREN2
                                                 : CORRAL_OP_GET_CHILDREN;
        r->path = dup_str(g->path);
        r->watch = g->has_watch && g->watch;
        return r->path ? 0 : -1;
    }
    case CORRAL__CLIENT_MESSAGE__REQUEST_SYNC:
        return get_path_only(CORRAL_OP_SYNC, m->sync, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_PING:
        r->op = CORRAL_OP_PING;
        return 0;
    case CORRAL__CLIENT_MESSAGE__REQUEST_CHECK:
        return get_path_version(CORRAL_OP_CHECK, m->check->path, m->check->version, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_MULTI:
        return get_multi(m->multi, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_CLOSE:
        r->op = CORRAL_OP_CLOSE_SESSION;
        return 0;
    case CORRAL__CLIENT_MESSAGE__REQUEST_AUTH:
        r->op = CORRAL_OP_AUTH;
        r->path = dup_str(m->auth->scheme);
        if (!r->path)
            return -1;
        return dup_bytes(m->auth->has_auth, m->auth->auth, &r->data, &r->data_len);
    case CORRAL__CLIENT_MESSAGE__REQUEST_ADD_WATCH:
        r->op = CORRAL_OP_ADD_WATCH;
        r->path = dup_str(m->add_watch->path);
        r->mode = m->add_watch->has_mode ? m->add_watch->mode : CORRAL_WATCH_MODE_PERSISTENT;
        return r->path ? 0 : -1;
    case CORRAL__CLIENT_MESSAGE__REQUEST_REMOVE_WATCHES:
        return get_watches(CORRAL_OP_REMOVE_WATCHES, m->remove_watches, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_CHECK_WATCHES:
        return get_watches(CORRAL_OP_CHECK_WATCHES, m->check_watches, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_SET_WATCHES:
        return get_set_watches(m->set_watches, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_MULTI_READ:
        return get_multi_read(m->multi_read, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_GET_EPHEMERALS:
        return get_path_only(CORRAL_OP_GET_EPHEMERALS, m->get_ephemerals, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_GET_ALL_CHILDREN_NUMBER:
        return get_path_only(CORRAL_OP_GET_ALL_CHILDREN_NUMBER, m->get_all_children_number, r);
    case CORRAL__CLIENT_MESSAGE__REQUEST_WHO_AM_I:
        r->op = CORRAL_OP_WHO_AM_I;
        return 0;
    default:
        /* not set, or a request this server does not know */
        r->op = PB_OP_UNKNOWN;
        return 0;
    }
}

/* A decoded request has the layout libzk's decoder gives its own: it frees both. */
void pb_request_free(struct corral_request *req)
{
    zk_request_free(req);
}

/* Read a varint at *p (< end); -1 when it runs off the end or past 64 bits. */
static int wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/*
 * Does a string field anywhere in this message hold a NUL byte?  protobuf-c
 * hands strings over NUL-terminated, so "/a\0b" would silently become "/a";
 * such a message is refused instead.  Walks the wire format guided by the
 * generated descriptors (the message already unpacked, so it is well formed;
 * bounds are checked all the same).  1 yes, 0 no, -1 unreadable.
 */
static int string_has_nul(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
                          int depth)
{
    const uint8_t *end = p + len;
    if (depth > 16)
        return -1;
    while (p < end) {
        uint64_t tag, n;
        if (wire_varint(&p, end, &tag) < 0)
            return -1;
        switch (tag & 7) {
        case 0:
            if (wire_varint(&p, end, &n) < 0)
                return -1;
            break;
        case 1:
        case 5: {
            size_t w = (tag & 7) == 1 ? 8 : 4;
            if ((size_t)(end - p) < w)
                return -1;
            p += w;
            break;
        }
        case 2: {
            if (wire_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p))
                return -1;
            const ProtobufCFieldDescriptor *f =
                tag >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3))
                                       : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, (size_t)n))
                return 1;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int rc = string_has_nul(f->descriptor, p, (size_t)n, depth + 1);
                if (rc)
                    return rc;
            }
            p += n;
            break;
        }
        default:
            return -1;  /* groups: protobuf-c would not have unpacked them */
        }
    }
    return 0;
}

int pb_decode(const uint8_t *frame, size_t len, uint32_t *id, struct pb_connect *conn,
              struct corral_request **req)
{
    *id = 0;
    *req = NULL;
    Corral__ClientMessage *m = corral__client_message__unpack(NULL, len, frame);
    if (!m)
        return PB_MSG_MALFORMED;
    if (string_has_nul(&corral__client_message__descriptor, frame, len, 0) != 0) {
        *id = m->has_id ? m->id : 0;
        corral__client_message__free_unpacked(m, NULL);
        return PB_MSG_MALFORMED;
    }
    *id = m->has_id ? m->id : 0;
    int kind = PB_MSG_REQUEST;
    if (m->request_case == CORRAL__CLIENT_MESSAGE__REQUEST_CONNECT) {
        const Corral__ConnectRequest *c = m->connect;
        memset(conn, 0, sizeof *conn);
        conn->protocol_version = 0;
        conn->last_zxid_seen = c->has_last_zxid_seen ? c->last_zxid_seen : 0;
        conn->timeout_ms = c->timeout_ms;
        conn->session_id = c->has_session_id ? c->session_id : 0;
        /* an empty bytes field comes with no buffer at all (data NULL): nothing to copy */
        if (c->has_passwd && c->passwd.len > 0) {
            conn->passwd_len = c->passwd.len > INT32_MAX ? INT32_MAX : (int32_t)c->passwd.len;
            memcpy(conn->passwd, c->passwd.data,
                   c->passwd.len < sizeof conn->passwd ? c->passwd.len : sizeof conn->passwd);
        }
        conn->read_only = c->has_read_only && c->read_only;
        kind = PB_MSG_CONNECT;
    } else {
        struct corral_request *r = calloc(1, sizeof *r);
        if (!r) {
            kind = PB_MSG_MALFORMED;
        } else {
            r->xid = (int32_t)*id;
            r->data_len = -1;
            r->version = -1;
            if (get_request(m, r) < 0) {
                pb_request_free(r);
                kind = PB_MSG_MALFORMED;
            } else {
                *req = r;
            }
        }
    }
    corral__client_message__free_unpacked(m, NULL);
    return kind;
}

/* ---- encoding ---- */

/* Frame and pack msg at the end of b. */
static void put_message(struct pb_buf *b, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > UINT32_MAX - 4) {
        b->oom = 1;
        return;
    }
    uint8_t *p = pb_buf_reserve(b, 4 + n);
    if (!p)
        return;
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    protobuf_c_message_pack(msg, p + 4);
    b->len += 4 + n;
}

static void fill_stat(Corral__Stat *out, const struct corral_stat *st)
{
    corral__stat__init(out);
    out->has_czxid = out->has_mzxid = out->has_ctime = out->has_mtime = 1;
    out->has_version = out->has_cversion = out->has_aversion = 1;
    out->has_ephemeral_owner = out->has_data_length = out->has_num_children = 1;
    out->has_pzxid = 1;
    out->czxid = st->czxid;
    out->mzxid = st->mzxid;
    out->ctime = st->ctime;
    out->mtime = st->mtime;
    out->version = st->version;
    out->cversion = st->cversion;
    out->aversion = st->aversion;
    out->ephemeral_owner = st->ephemeral_owner;
    out->data_length = st->data_length;
    out->num_children = st->num_children;
    out->pzxid = st->pzxid;
}

static void set_bytes(protobuf_c_boolean *has, ProtobufCBinaryData *bd, const uint8_t *data,
                      int32_t len)
{
    *has = len >= 0;
    bd->len = len > 0 ? (size_t)len : 0;
    bd->data = len > 0 ? (uint8_t *)data : NULL;
}

/*
 * Everything one answer's ServerMessage points at, on the encoder's stack
 * (arrays of pointers are malloc'd and released by body_free).
 */
struct body {
    Corral__Stat stat;
    Corral__CreateResponse create;
    Corral__StatResponse stat_rsp;
    Corral__DataResponse data;
    Corral__ChildrenResponse children;
    Corral__ACLResponse acl;
    Corral__PathResponse path;
    Corral__NumberResponse number;
    Corral__WhoAmIResponse who;
    Corral__MultiResponse multi;
    Corral__ACL *acl_items;
    Corral__ACL **acl_ptrs;
    Corral__ClientInfo *who_items;
    Corral__ClientInfo **who_ptrs;
    /* multi */
    Corral__OpResult *results;
    Corral__OpResult **result_ptrs;
    struct member_body *members;
};

/* A multi member's body. */
struct member_body {
    Corral__Stat stat;
    Corral__CreateResponse create;
    Corral__StatResponse stat_rsp;
    Corral__DataResponse data;
    Corral__ChildrenResponse children;
    Corral__Empty empty;
};

static int fill_acl(struct body *x, const struct corral_acl *acl, int32_t n)
{
    corral__aclresponse__init(&x->acl);
    if (n <= 0)
        return 0;
    x->acl_items = calloc((size_t)n, sizeof *x->acl_items);
    x->acl_ptrs = calloc((size_t)n, sizeof *x->acl_ptrs);
    if (!x->acl_items || !x->acl_ptrs)
        return -1;
    for (int32_t i = 0; i < n; i++) {
        Corral__ACL *a = &x->acl_items[i];
        corral__acl__init(a);
        a->has_perms = 1;
        a->perms = acl[i].perms;
        a->scheme = (char *)acl[i].scheme;
        a->id = (char *)acl[i].id;
        x->acl_ptrs[i] = a;
    }
    x->acl.n_acl = (size_t)n;
    x->acl.acl = x->acl_ptrs;
    return 0;
}

static int fill_who(struct body *x, const struct corral_acl *ids, int32_t n)
{
    corral__who_am_iresponse__init(&x->who);
    if (n <= 0)
        return 0;
    x->who_items = calloc((size_t)n, sizeof *x->who_items);
    x->who_ptrs = calloc((size_t)n, sizeof *x->who_ptrs);
    if (!x->who_items || !x->who_ptrs)
        return -1;
    for (int32_t i = 0; i < n; i++) {
        Corral__ClientInfo *ci = &x->who_items[i];
        corral__client_info__init(ci);
        ci->scheme = (char *)ids[i].scheme;
        ci->user = (char *)ids[i].id;
        x->who_ptrs[i] = ci;
    }
    x->who.n_clients = (size_t)n;
    x->who.clients = x->who_ptrs;
    return 0;
}

static void fill_children(Corral__ChildrenResponse *out, const char *const *children, int32_t n)
{
    corral__children_response__init(out);
    out->n_children = n > 0 ? (size_t)n : 0;
    out->children = (char **)children;
}

/* One multi/multi_read member's result. */
static void fill_member(Corral__OpResult *o, struct member_body *mb,
                        const struct corral_response *res)
{
    corral__op_result__init(o);
    o->has_err = 1;
    o->err = res->err;
    if (res->err != CORRAL_OK || res->op == CORRAL_OP_ERROR)
        return;
    switch (res->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        corral__create_response__init(&mb->create);
        fill_stat(&mb->stat, &res->stat);
        mb->create.path = (char *)res->path;
        mb->create.stat = &mb->stat;
        o->result_case = CORRAL__OP_RESULT__RESULT_CREATE;
        o->create = &mb->create;
        break;
    case CORRAL_OP_SET_DATA:
        corral__stat_response__init(&mb->stat_rsp);
        fill_stat(&mb->stat, &res->stat);
        mb->stat_rsp.stat = &mb->stat;
        o->result_case = CORRAL__OP_RESULT__RESULT_SET_DATA;
        o->set_data = &mb->stat_rsp;
        break;
    case CORRAL_OP_DELETE:
        corral__empty__init(&mb->empty);
        o->result_case = CORRAL__OP_RESULT__RESULT_DELETE;
        o->delete_ = &mb->empty;
        break;
    case CORRAL_OP_CHECK:
        corral__empty__init(&mb->empty);
        o->result_case = CORRAL__OP_RESULT__RESULT_CHECK;
        o->check = &mb->empty;
        break;
    case CORRAL_OP_GET_DATA:
        corral__data_response__init(&mb->data);
        fill_stat(&mb->stat, &res->stat);
        set_bytes(&mb->data.has_data, &mb->data.data, res->data, res->data_len);
        mb->data.stat = &mb->stat;
        o->result_case = CORRAL__OP_RESULT__RESULT_GET_DATA;
        o->get_data = &mb->data;
        break;
    case CORRAL_OP_GET_CHILDREN:
        fill_children(&mb->children, res->children, res->n_children);
        o->result_case = CORRAL__OP_RESULT__RESULT_GET_CHILDREN;
        o->get_children = &mb->children;
        break;
    default:
        break;
    }
}

static int fill_multi(struct body *x, const struct corral_response *rsp)
{
    corral__multi_response__init(&x->multi);
    int32_t n = rsp->n_results > 0 && rsp->results ? rsp->n_results : 0;
    if (n == 0)
        return 0;
    x->results = calloc((size_t)n, sizeof *x->results);
    x->result_ptrs = calloc((size_t)n, sizeof *x->result_ptrs);
    x->members = calloc((size_t)n, sizeof *x->members);
    if (!x->results || !x->result_ptrs || !x->members)
        return -1;
    for (int32_t i = 0; i < n; i++) {
        fill_member(&x->results[i], &x->members[i], &rsp->results[i]);
        x->result_ptrs[i] = &x->results[i];
    }
    x->multi.n_results = (size_t)n;
    x->multi.results = x->result_ptrs;
    return 0;
}

static void body_free(struct body *x)
{
    free(x->acl_items);
    free(x->acl_ptrs);
    free(x->who_items);
    free(x->who_ptrs);
    free(x->results);
    free(x->result_ptrs);
    free(x->members);
}

/* The code a failed multi reports as a whole: its first member's failure. */
static int32_t multi_failure(const struct corral_response *rsp)
{
    for (int32_t i = 0; rsp->results && i < rsp->n_results; i++) {
        int32_t e = rsp->results[i].err;
        if (e != CORRAL_OK && e != CORRAL_ERUNTIMEINCONSISTENCY)
            return e;
    }
    return CORRAL_OK;
}

/* Set msg's body from rsp (err already decided); -1 when out of memory. */
static int fill_body(Corral__ServerMessage *msg, struct body *x, const struct corral_response *rsp)
{
    switch (rsp->op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
        corral__create_response__init(&x->create);
        fill_stat(&x->stat, &rsp->stat);
        x->create.path = (char *)rsp->path;
        x->create.stat = &x->stat;
        msg->response_case = CORRAL__SERVER_MESSAGE__RESPONSE_CREATE;
        msg->create = &x->create;
        return 0;
    case CORRAL_OP_EXISTS:
    case CORRAL_OP_SET_DATA:
    case CORRAL_OP_SET_ACL:
        corral__stat_response__init(&x->stat_rsp);
        fill_stat(&x->stat, &rsp->stat);
        x->stat_rsp.stat = &x->stat;
        msg->response_case = CORRAL__SERVER_MESSAGE__RESPONSE_STAT;
        msg->stat = &x->stat_rsp;
        return 0;
    case CORRAL_OP_GET_DATA:
        corral__data_response__init(&x->data);
        fill_stat(&x->stat, &rsp->stat);
        set_bytes(&x->data.has_data, &x->data.data, rsp->data, rsp->data_len);
        x->data.stat = &x->stat;
        msg->response_case = CORRAL__SERVER_MESSAGE__RESPONSE_DATA;
        msg->data = &x->data;
        return 0;
    case CORRAL_OP_GET_CHILDREN:
    case CORRAL_OP_GET_CHILDREN2:
    case CORRAL_OP_GET_EPHEMERALS:
        fill_children(&x->children, rsp->children, rsp->n_children);
        if (rsp->op == CORRAL_OP_GET_CHILDREN2) {
            fill_stat(&x->stat, &rsp->stat);
            x->children.stat = &x->stat;
        }
        msg->response_case = CORRAL__SERVER_MESSAGE__RESPONSE_CHILDREN;
        msg->children = &x->children;
        return 0;
    case CORRAL_OP_GET_ACL:
        if (fill_acl(x, rsp->acl, rsp->n_acl) < 0)
            return -1;
        fill_stat(&x->stat, &rsp->stat);
        x->acl.stat = &x->stat;
        msg->response_case = CORRAL__SERVER_MESSAGE__RESPONSE_ACL;
        msg->acl = &x->acl;
        return 0;
    case CORRAL_OP_SYNC:
        corral__path_response__init(&x->path);
        x->path.path = (char *)rsp->path;
        msg->response_case = CORRAL__SERVER_MESSAGE__RESPONSE_SYNC;
        msg->sync = &x->path;
        return 0;
    case CORRAL_OP_GET_ALL_CHILDREN_NUMBER:
        corral__number_response__init(&x->number);
        x->number.has_number = 1;
        x->number.number = rsp->number;
        msg->response_case = CORRAL__SERVER_MESSAGE__RESPONSE_NUMBER;
        msg->number = &x->number;
        return 0;
    case CORRAL_OP_WHO_AM_I:
        if (fill_who(x, rsp->acl, rsp->n_acl) < 0)
            return -1;
        msg->response_case = CORRAL__SERVER_MESSAGE__RESPONSE_WHO_AM_I;
        msg->who_am_i = &x->who;
        return 0;
    default:
        /* delete, check, ping, auth, close, watch management: no body */
        return 0;
    }
}

static void init_header(Corral__ServerMessage *msg, uint32_t id, int64_t zxid, int has_zxid,
                        int32_t err)
{
    corral__server_message__init(msg);
    msg->has_id = 1;
    msg->id = id;
    msg->has_zxid = has_zxid != 0;
    msg->zxid = zxid;
    msg->has_err = 1;
    msg->err = err;
}

void pb_encode_reply(struct pb_buf *b, const struct corral_response *rsp)
{
    Corral__ServerMessage msg;
    struct body x;
    memset(&x, 0, sizeof x);
    int32_t err = rsp->err;
    int is_multi = rsp->op == CORRAL_OP_MULTI || rsp->op == CORRAL_OP_MULTI_READ;
    if (rsp->op == CORRAL_OP_MULTI && err == CORRAL_OK)
        err = multi_failure(rsp);
    init_header(&msg, (uint32_t)rsp->xid, rsp->zxid, 1, err);
    int rc = 0;
    if (is_multi && rsp->n_results > 0) {
        /* a failed multi still reports every member */
        rc = fill_multi(&x, rsp);
        msg.response_case = CORRAL__SERVER_MESSAGE__RESPONSE_MULTI;
        msg.multi = &x.multi;
    } else if (is_multi && err == CORRAL_OK) {
        corral__multi_response__init(&x.multi);
        msg.response_case = CORRAL__SERVER_MESSAGE__RESPONSE_MULTI;
        msg.multi = &x.multi;
    } else if (err == CORRAL_OK) {
        rc = fill_body(&msg, &x, rsp);
    }
    if (rc < 0)
        b->oom = 1;
    else
        put_message(b, &msg.base);
    body_free(&x);
}

void pb_encode_connected(struct pb_buf *b, uint32_t id, const struct corral_connect_result *res)
{
    Corral__ServerMessage msg;
    Corral__ConnectResponse cr;
    init_header(&msg, id, 0, 0, res->err);
    if (res->err == CORRAL_OK) {
        corral__connect_response__init(&cr);
        cr.has_timeout_ms = cr.has_session_id = cr.has_passwd = cr.has_read_only = 1;
        cr.timeout_ms = res->timeout_ms;
        cr.session_id = res->session_id;
        cr.passwd.data = (uint8_t *)res->passwd;
        cr.passwd.len = CORRAL_PASSWD_LEN;
        cr.read_only = res->read_only != 0;
        msg.response_case = CORRAL__SERVER_MESSAGE__RESPONSE_CONNECTED;
        msg.connected = &cr;
    }
    put_message(b, &msg.base);
}

void pb_encode_event(struct pb_buf *b, const struct corral_watch_event *ev)
{
    Corral__ServerMessage msg;
    Corral__WatchEvent we;
    init_header(&msg, 0, 0, 0, CORRAL_OK);
    corral__watch_event__init(&we);
    we.has_type = we.has_state = 1;
    we.type = ev->type;
    we.state = ev->state;
    we.path = (char *)ev->path;
    msg.response_case = CORRAL__SERVER_MESSAGE__RESPONSE_WATCH_EVENT;
    msg.watch_event = &we;
    put_message(b, &msg.base);
}

void pb_encode_error(struct pb_buf *b, uint32_t id, int32_t err)
{
    Corral__ServerMessage msg;
    init_header(&msg, id, 0, 0, err);
    put_message(b, &msg.base);
}

void pb_encode_session_closed(struct pb_buf *b, int32_t reason)
{
    Corral__ServerMessage msg;
    Corral__SessionClosed sc;
    init_header(&msg, 0, 0, 0, reason);
    corral__session_closed__init(&sc);
    sc.has_reason = 1;
    sc.reason = reason;
    msg.response_case = CORRAL__SERVER_MESSAGE__RESPONSE_SESSION_CLOSED;
    msg.session_closed = &sc;
    put_message(b, &msg.base);
}
