/*
 * convert.c — core values to Lua tables and back.
 *
 * Scripts see operations by name: every create flavour (create, create2,
 * createContainer, createTTL) is op "create" with container/ttl/ephemeral/
 * sequential fields, setData is "set", so a trigger matches one word.  The
 * numeric ZooKeeper opcode is there too as `opcode`.  Errors are ZooKeeper's
 * KeeperException.Code names, so a script says corral.err.BadArguments or
 * just "BadArguments".
 */
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lua_plugin.h"

const char *lp_op_name(int32_t op)
{
    switch (op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL: return "create";
    case CORRAL_OP_DELETE:
    case CORRAL_OP_DELETE_CONTAINER: return "delete";
    case CORRAL_OP_SET_DATA: return "set";
    case CORRAL_OP_SET_ACL: return "setACL";
    case CORRAL_OP_CHECK: return "check";
    case CORRAL_OP_MULTI: return "multi";
    case CORRAL_OP_CREATE_SESSION: return "createSession";
    case CORRAL_OP_CLOSE_SESSION: return "closeSession";
    case CORRAL_OP_ERROR: return "error";
    case CORRAL_OP_SYNC: return "sync";
    default: return "other";
    }
}

const char *lp_event_name(int32_t type)
{
    switch (type) {
    case CORRAL_EVENT_NODE_CREATED: return "NodeCreated";
    case CORRAL_EVENT_NODE_DELETED: return "NodeDeleted";
    case CORRAL_EVENT_NODE_DATA_CHANGED: return "NodeDataChanged";
    case CORRAL_EVENT_NODE_CHILDREN_CHANGED: return "NodeChildrenChanged";
    case CORRAL_EVENT_DATA_WATCH_REMOVED: return "DataWatchRemoved";
    case CORRAL_EVENT_CHILD_WATCH_REMOVED: return "ChildWatchRemoved";
    case CORRAL_EVENT_PERSISTENT_WATCH_REMOVED: return "PersistentWatchRemoved";
    default: return "None";
    }
}

static const struct {
    const char *name;
    int32_t code;
} errors[] = {
    {"SystemError", CORRAL_ESYSTEMERROR},
    {"RuntimeInconsistency", CORRAL_ERUNTIMEINCONSISTENCY},
    {"DataInconsistency", CORRAL_EDATAINCONSISTENCY},
    {"ConnectionLoss", CORRAL_ECONNECTIONLOSS},
    {"MarshallingError", CORRAL_EMARSHALLINGERROR},
    {"Unimplemented", CORRAL_EUNIMPLEMENTED},
    {"OperationTimeout", CORRAL_EOPERATIONTIMEOUT},
    {"BadArguments", CORRAL_EBADARGUMENTS},
    {"UnknownSession", CORRAL_EUNKNOWNSESSION},
    {"NewConfigNoQuorum", CORRAL_ENEWCONFIGNOQUORUM},
    {"ReconfigInProgress", CORRAL_ERECONFIGINPROGRESS},
    {"APIError", CORRAL_EAPIERROR},
    {"NoNode", CORRAL_ENONODE},
    {"NoAuth", CORRAL_ENOAUTH},
    {"BadVersion", CORRAL_EBADVERSION},
    {"NoChildrenForEphemerals", CORRAL_ENOCHILDRENFOREPHEMERALS},
    {"NodeExists", CORRAL_ENODEEXISTS},
    {"NotEmpty", CORRAL_ENOTEMPTY},
    {"SessionExpired", CORRAL_ESESSIONEXPIRED},
    {"InvalidCallback", CORRAL_EINVALIDCALLBACK},
    {"InvalidACL", CORRAL_EINVALIDACL},
    {"AuthFailed", CORRAL_EAUTHFAILED},
    {"SessionMoved", CORRAL_ESESSIONMOVED},
    {"NotReadOnly", CORRAL_ENOTREADONLY},
    {"EphemeralOnLocalSession", CORRAL_EEPHEMERALONLOCALSESSION},
    {"NoWatcher", CORRAL_ENOWATCHER},
    {"ReconfigDisabled", CORRAL_ERECONFIGDISABLED},
    {"SessionClosedRequireSaslAuth", CORRAL_ESESSIONCLOSEDREQUIRESASLAUTH},
    {"QuotaExceeded", CORRAL_EQUOTAEXCEEDED},
    {"ThrottledOp", CORRAL_ETHROTTLEDOP},
};

int lp_error_code(const char *name, int32_t *code)
{
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++)
        if (!strcmp(errors[i].name, name)) {
            *code = errors[i].code;
            return 1;
        }
    return 0;
}

const char *lp_error_name(int32_t code)
{
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++)
        if (errors[i].code == code)
            return errors[i].name;
    return NULL;
}

void lp_push_error_table(lua_State *L)
{
    lua_createtable(L, 0, (int)(sizeof errors / sizeof *errors));
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        lua_pushinteger(L, errors[i].code);
        lua_setfield(L, -2, errors[i].name);
    }
}

void lp_push_stat(lua_State *L, const struct corral_stat *st)
{
    lua_createtable(L, 0, 11);
#define F(name, expr) (lua_pushinteger(L, (lua_Integer)(expr)), lua_setfield(L, -2, name))
    F("czxid", st->czxid);
    F("mzxid", st->mzxid);
    F("pzxid", st->pzxid);
    F("ctime", st->ctime);
    F("mtime", st->mtime);
    F("version", st->version);
    F("cversion", st->cversion);
    F("aversion", st->aversion);
    F("ephemeralOwner", st->ephemeral_owner);
    F("dataLength", st->data_length);
    F("numChildren", st->num_children);
#undef F
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    if (!v)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static void set_data(lua_State *L, const uint8_t *data, int32_t len)
{
    if (!data || len < 0)
        return;                 /* null data: the field stays nil */
    lua_pushlstring(L, (const char *)data, (size_t)len);
    lua_setfield(L, -2, "data");
}

static int is_create(int32_t op)
{
    return op == CORRAL_OP_CREATE || op == CORRAL_OP_CREATE2 ||
           op == CORRAL_OP_CREATE_CONTAINER || op == CORRAL_OP_CREATE_TTL;
}

/* {op, opcode, path, data, version, ephemeral, sequential, container, ttl, session} */
void lp_push_request(lua_State *L, const struct corral_request *op, int64_t session_id)
{
    lua_createtable(L, 0, 10);
    set_str(L, "op", lp_op_name(op->op));
    set_int(L, "opcode", op->op);
    set_str(L, "path", op->path);
    set_int(L, "session", session_id);
    if (is_create(op->op)) {
        set_data(L, op->data, op->data_len);
        int f = op->flags;
        set_bool(L, "ephemeral", f == CORRAL_CREATE_EPHEMERAL || f == CORRAL_CREATE_EPHEMERAL_SEQUENTIAL);
        set_bool(L, "sequential", f == CORRAL_CREATE_PERSISTENT_SEQUENTIAL ||
                                      f == CORRAL_CREATE_EPHEMERAL_SEQUENTIAL ||
                                      f == CORRAL_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL);
        set_bool(L, "container", op->op == CORRAL_OP_CREATE_CONTAINER || f == CORRAL_CREATE_CONTAINER);
        set_int(L, "flags", f);
        if (op->ttl)
            set_int(L, "ttl", op->ttl);
    } else {
        if (op->op == CORRAL_OP_SET_DATA)
            set_data(L, op->data, op->data_len);
        set_int(L, "version", op->version);
    }
}

static void push_txn_body(lua_State *L, const struct corral_txn *t)
{
    set_str(L, "type", lp_op_name(t->type));
    set_int(L, "opcode", t->type);
    set_str(L, "path", t->path);
    if (is_create(t->type) || t->type == CORRAL_OP_SET_DATA)
        set_data(L, t->data, t->data_len);
    if (is_create(t->type))
        set_bool(L, "ephemeral", t->ephemeral);
    if (t->type == CORRAL_OP_SET_DATA || t->type == CORRAL_OP_SET_ACL || t->type == CORRAL_OP_CHECK)
        set_int(L, "version", t->version);
    if (t->type == CORRAL_OP_ERROR) {
        set_int(L, "err", t->err);
        set_str(L, "error", lp_error_name(t->err));
    }
}

/*
 * {type, opcode, zxid, time, session, path, data, version, ephemeral, ops}
 * A fresh table each call: scripts get a copy, never a view into the core.
 */
void lp_push_txn(lua_State *L, const struct corral_txn *txn)
{
    lua_createtable(L, 0, 10);
    set_int(L, "zxid", txn->zxid);
    set_int(L, "time", txn->time);
    set_int(L, "session", txn->session_id);
    push_txn_body(L, txn);
    if (txn->type == CORRAL_OP_MULTI) {
        lua_createtable(L, txn->n_subs, 0);
        for (int32_t i = 0; i < txn->n_subs; i++) {
            lua_createtable(L, 0, 6);
            push_txn_body(L, &txn->subs[i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "ops");
    }
}

/* The open ACL (world:anyone, all permissions): what a trigger's create gets. */
static struct corral_acl *open_acl(void)
{
    struct corral_acl *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->perms = CORRAL_PERM_ALL;
    a->scheme = strdup("world");
    a->id = strdup("anyone");
    if (!a->scheme || !a->id) {
        free(a->scheme);
        free(a->id);
        free(a);
        return NULL;
    }
    return a;
}

void lp_request_clear(struct corral_request *req)
{
    free(req->path);
    free(req->data);
    for (int32_t i = 0; req->acl && i < req->n_acl; i++) {
        free(req->acl[i].scheme);
        free(req->acl[i].id);
    }
    free(req->acl);
    memset(req, 0, sizeof *req);
}

/*
 * What one request holds in C: the struct, its strings and ACL, and a
 * per-operation allowance for allocator headers and the queue entry.
 */
size_t lp_request_cost(const struct corral_request *req)
{
    size_t bytes = sizeof *req + 128;
    if (req->path)
        bytes += strlen(req->path) + 1;
    if (req->data && req->data_len > 0)
        bytes += (size_t)req->data_len;
    for (int32_t i = 0; req->acl && i < req->n_acl; i++)
        bytes += sizeof req->acl[i] + strlen(req->acl[i].scheme) + strlen(req->acl[i].id) + 2;
    return bytes;
}

/*
 * Every check that can raise comes first; malloc only after, so a raise
 * never leaves C memory behind.  Fields: op ("create", "set", "delete",
 * "check"), path, data (string; nil = null data), version (default -1),
 * sequential, container (create).
 */
void lp_request_from_table(lua_State *L, int idx, struct corral_request *out)
{
    idx = lua_absindex(L, idx);
    memset(out, 0, sizeof *out);
    if (!lua_istable(L, idx))
        luaL_error(L, "an operation is a table like {op='set', path='/a', data='x'}");
    lua_getfield(L, idx, "op");
    const char *op = lua_tostring(L, -1);
    lua_getfield(L, idx, "path");
    const char *path = lua_tostring(L, -1);
    lua_getfield(L, idx, "data");
    size_t data_len = 0;
    const char *data = lua_isnil(L, -1) ? NULL : lua_tolstring(L, -1, &data_len);
    if (!lua_isnil(L, -1) && !data)
        luaL_error(L, "operation data must be a string or nil");
    lua_getfield(L, idx, "version");
    int isnum = 0;
    lua_Integer version = lua_isnil(L, -1) ? -1 : lua_tointegerx(L, -1, &isnum);
    if (!lua_isnil(L, -1) && !isnum)
        luaL_error(L, "operation version must be an integer");
    lua_getfield(L, idx, "sequential");
    int sequential = lua_toboolean(L, -1);
    lua_getfield(L, idx, "container");
    int container = lua_toboolean(L, -1);
    lua_getfield(L, idx, "ephemeral");
    if (lua_toboolean(L, -1))
        luaL_error(L, "a script cannot create ephemeral nodes (they would belong to no session)");
    if (!op || !path || path[0] != '/')
        luaL_error(L, "an operation needs op and an absolute path");
    int32_t code;
    if (!strcmp(op, "create"))
        code = container ? CORRAL_OP_CREATE_CONTAINER : CORRAL_OP_CREATE;
    else if (!strcmp(op, "set") || !strcmp(op, "setData"))
        code = CORRAL_OP_SET_DATA;
    else if (!strcmp(op, "delete"))
        code = CORRAL_OP_DELETE;
    else if (!strcmp(op, "check"))
        code = CORRAL_OP_CHECK;
    else
        return (void)luaL_error(L, "unknown operation '%s' (create, set, delete, check)", op);
    if (version < INT32_MIN || version > INT32_MAX)
        luaL_error(L, "operation version out of range");

    out->op = code;
    out->version = (int32_t)version;
    out->data_len = -1;
    out->path = strdup(path);
    int oom = !out->path;
    if (data && (code == CORRAL_OP_CREATE || code == CORRAL_OP_CREATE_CONTAINER ||
                 code == CORRAL_OP_SET_DATA)) {
        out->data = malloc(data_len ? data_len : 1);
        oom |= !out->data;
        if (out->data)
            memcpy(out->data, data, data_len);
        out->data_len = (int32_t)data_len;
    }
    if (code == CORRAL_OP_CREATE || code == CORRAL_OP_CREATE_CONTAINER) {
        out->flags = container ? CORRAL_CREATE_CONTAINER
                               : sequential ? CORRAL_CREATE_PERSISTENT_SEQUENTIAL
                                            : CORRAL_CREATE_PERSISTENT;
        out->acl = open_acl();
        out->n_acl = out->acl ? 1 : 0;
        oom |= !out->acl;
    }
    lua_pop(L, 7);
    if (oom) {
        lp_request_clear(out);
        luaL_error(L, "out of memory");
    }
}
