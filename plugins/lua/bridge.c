/*
 * bridge.c — the C hooks the core calls, one per script registration.
 *
 * Each hook runs one Lua function under lp_protected(): the arguments are
 * built and the answer read inside the protected call, so nothing a script
 * does (errors, the memory or instruction limit) escapes into the core.  A
 * failed call is logged (with file:line) and the hook counts as absent:
 * the write goes on, the event is delivered.
 *
 * The core prefilters registrations with an fnmatch glob; a prefix pattern
 * registers as "prefix*" and is checked exactly here (lp_pattern_covers).
 */
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lua_plugin.h"

/* ---- before a write ---------------------------------------------------- */

struct write_call {
    const struct lp_registration *reg;
    int64_t session_id;
    const struct corral_request *op;
    int32_t rc;
    char reason[256];
    struct corral_request *extra;       /* owned here until handed to the core */
    int32_t n_extra, cap_extra;
    size_t held;                        /* their bytes, held against memoryLimit */
};

static void add_extra(lua_State *L, struct write_call *c, int idx)
{
    if (c->n_extra == c->cap_extra) {
        int32_t cap = c->cap_extra ? c->cap_extra * 2 : 4;
        struct corral_request *more = realloc(c->extra, (size_t)cap * sizeof *more);
        if (!more)
            luaL_error(L, "out of memory");
        c->extra = more;
        c->cap_extra = cap;
    }
    struct corral_request *op = &c->extra[c->n_extra];
    lp_request_from_table(L, idx, op);
    size_t cost = lp_request_cost(op);
    if (lp_hold(L, cost) != 0) {
        lp_request_clear(op);
        luaL_error(L, "on_write: the operations returned would pass plugin.lua.memoryLimit");
    }
    c->held += cost;
    c->n_extra++;
}

/*
 * The script's answer: nothing/true = go on; a table = operations to commit
 * atomically with the write (one op table, or an array of them); an error
 * name, a ZooKeeper code or false = reject, with an optional message.
 */
static int call_on_write(lua_State *L)
{
    struct write_call *c = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->reg->fn_ref);
    lp_push_request(L, c->op, c->session_id);
    lua_call(L, 1, 2);
    int answer = lua_absindex(L, -2);
    const char *msg = lua_tostring(L, -1);
    if (msg)
        snprintf(c->reason, sizeof c->reason, "%s", msg);
    switch (lua_type(L, answer)) {
    case LUA_TNIL:
        break;
    case LUA_TBOOLEAN:
        if (!lua_toboolean(L, answer))
            c->rc = CORRAL_EBADARGUMENTS;
        break;
    case LUA_TNUMBER: {
        int isint = 0;
        lua_Integer code = lua_tointegerx(L, answer, &isint);
        if (!isint || code > 0 || code < -1000)
            luaL_error(L, "on_write: %s is not a ZooKeeper error code", lua_tostring(L, answer));
        c->rc = (int32_t)code;
        break;
    }
    case LUA_TSTRING:
        if (!lp_error_code(lua_tostring(L, answer), &c->rc))
            luaL_error(L, "on_write: unknown ZooKeeper error '%s' (e.g. BadArguments, NoAuth)",
                       lua_tostring(L, answer));
        break;
    case LUA_TTABLE:
        lua_getfield(L, answer, "op");
        int single = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (single) {
            add_extra(L, c, answer);
        } else {
            lua_Integer n = luaL_len(L, answer);
            for (lua_Integer i = 1; i <= n; i++) {
                lua_geti(L, answer, i);
                add_extra(L, c, -1);
                lua_pop(L, 1);
            }
        }
        break;
    default:
        luaL_error(L, "on_write: cannot use a %s as an answer", luaL_typename(L, answer));
    }
    return 0;
}

static void free_extra(struct corral_request *extra, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        lp_request_clear(&extra[i]);
    free(extra);
}

static int on_write(void *arg, int64_t session_id, const struct corral_request *op,
                    struct corral_request **extra, int32_t *n_extra)
{
    const struct lp_registration *r = arg;
    if (!lp_pattern_covers(r, op->path))
        return CORRAL_OK;
    struct write_call c = {.reg = r, .session_id = session_id, .op = op, .rc = CORRAL_OK};
    int failed = lp_protected(r->owner, call_on_write, &c, r->where) != 0;
    lp_release(c.held);                 /* the operations are freed or the core's from here */
    if (failed) {
        free_extra(c.extra, c.n_extra);
        return CORRAL_OK;
    }
    if (c.rc != CORRAL_OK) {
        free_extra(c.extra, c.n_extra);
        const char *name = lp_error_name(c.rc);
        lp_core->log(CORRAL_LOG_INFO, LP_NAME, "%s rejected %s %s of session 0x%llx with %s (%d)%s%s",
                     r->where, lp_op_name(op->op), op->path ? op->path : "",
                     (unsigned long long)session_id, name ? name : "error", c.rc,
                     c.reason[0] ? ": " : "", c.reason);
        return c.rc;
    }
    if (c.n_extra) {
        *extra = c.extra;
        *n_extra = c.n_extra;
    } else {
        free(c.extra);
    }
    return CORRAL_OK;
}

/* ---- after a commit ---------------------------------------------------- */

struct commit_call {
    const struct lp_registration *reg;
    const struct corral_txn *txn;
};

static int call_on_commit(lua_State *L)
{
    struct commit_call *c = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->reg->fn_ref);
    lp_push_txn(L, c->txn);
    lua_call(L, 1, 0);
    return 0;
}

static int txn_covered(const struct lp_registration *r, const struct corral_txn *t)
{
    if (!r->pattern)
        return 1;
    if (t->type == CORRAL_OP_MULTI) {
        for (int32_t i = 0; i < t->n_subs; i++)
            if (lp_pattern_covers(r, t->subs[i].path))
                return 1;
        return 0;
    }
    return lp_pattern_covers(r, t->path);
}

static void on_commit(void *arg, const struct corral_txn *txn)
{
    const struct lp_registration *r = arg;
    if (!txn_covered(r, txn))
        return;
    struct commit_call c = {r, txn};
    lp_protected(r->owner, call_on_commit, &c, r->where);
}

/* ---- sessions ------------------------------------------------------------ */

struct session_call {
    const struct lp_registration *reg;
    int64_t session_id;
    int opened;
};

static int call_on_session(lua_State *L)
{
    struct session_call *c = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->reg->fn_ref);
    lua_pushinteger(L, c->session_id);
    lua_pushboolean(L, c->opened);
    lua_call(L, 2, 0);
    return 0;
}

static void on_session(void *arg, int64_t session_id, int opened)
{
    const struct lp_registration *r = arg;
    struct session_call c = {r, session_id, opened};
    lp_protected(r->owner, call_on_session, &c, r->where);
}

/* ---- watch delivery ------------------------------------------------------ */

struct watch_call {
    const struct lp_registration *reg;
    int64_t session_id;
    const struct corral_watch_event *ev;
    int deliver;
};

static int call_on_watch(lua_State *L)
{
    struct watch_call *c = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->reg->fn_ref);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, lp_event_name(c->ev->type));
    lua_setfield(L, -2, "type");
    lua_pushstring(L, c->ev->path ? c->ev->path : "");
    lua_setfield(L, -2, "path");
    lua_pushinteger(L, c->session_id);
    lua_setfield(L, -2, "session");
    lua_call(L, 1, 1);
    /* only an explicit false holds the event back */
    c->deliver = !(lua_isboolean(L, -1) && !lua_toboolean(L, -1));
    return 0;
}

static int on_watch(void *arg, int64_t session_id, const struct corral_watch_event *ev)
{
    const struct lp_registration *r = arg;
    if (!lp_pattern_covers(r, ev->path))
        return 1;
    struct watch_call c = {r, session_id, ev, 1};
    if (lp_protected(r->owner, call_on_watch, &c, r->where) != 0)
        return 1;
    return c.deliver;
}

/* ---- registration -------------------------------------------------------- */

int lp_register_with_core(struct lua_scripts *sc)
{
    for (struct lp_registration *r = sc->regs; r; r = r->next) {
        char glob[1024];
        const char *g = NULL;
        if (r->pattern) {
            snprintf(glob, sizeof glob, "%s%s", r->pattern, r->is_prefix ? "*" : "");
            g = glob;
        }
        int rc = -1;
        switch (r->kind) {
        case LP_ON_WRITE: rc = lp_core->hook_before_write(g, on_write, r); break;
        case LP_ON_COMMIT: rc = lp_core->hook_after_commit(g, on_commit, r); break;
        case LP_ON_SESSION: rc = lp_core->hook_session(on_session, r); break;
        case LP_ON_WATCH: rc = lp_core->hook_watch(g, on_watch, r); break;
        }
        if (rc != 0) {
            lp_core->log(CORRAL_LOG_ERROR, LP_NAME, "cannot register %s", r->where);
            lp_unregister_from_core(sc);
            return -1;
        }
    }
    return 0;
}

void lp_unregister_from_core(struct lua_scripts *sc)
{
    for (struct lp_registration *r = sc->regs; r; r = r->next)
        lp_core->hooks_remove(r);
}
