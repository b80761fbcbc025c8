/*
 * api.c — the `corral` table scripts see.
 *
 * Registration (only while a script file is being loaded, so a reload sees
 * exactly the set the files declare):
 *   corral.on_write(pattern, fn)    before a client write is proposed
 *   corral.on_commit(pattern, fn)   after a txn is applied (every server)
 *   corral.on_session(fn)           session opened / closed
 *   corral.on_watch(pattern, fn)    before a watch event reaches a session
 * A pattern with glob characters (* ? [) is an fnmatch(3) glob where '*'
 * also crosses '/'; without them it is a prefix: the node and its subtree.
 * nil means every path.
 *
 * Reads see the tree as committed: corral.get, corral.stat, corral.exists,
 * corral.children.  Writes (corral.create/set/delete) are queued and go
 * through the normal write path after the current callback (writes.c).
 * corral.in_charge(): whether this server makes the writes nobody asked for
 * (core->in_charge); a script's writes are dropped where it does not.
 * corral.log(level, ...), corral.match(glob, path), corral.err.NAME.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lua_plugin.h"

struct lua_scripts *lp_scripts_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

static int has_glob_chars(const char *p)
{
    return strpbrk(p, "*?[") != NULL;
}

int lp_pattern_covers(const struct lp_registration *r, const char *path)
{
    if (!r->pattern)
        return 1;
    if (!path)
        return 0;
    if (!r->is_prefix)
        return fnmatch(r->pattern, path, 0) == 0;
    size_t n = strlen(r->pattern);
    if (strncmp(path, r->pattern, n) != 0)
        return 0;
    /* "/config" covers /config and /config/x, not /configs */
    return path[n] == 0 || path[n] == '/' || (n > 0 && r->pattern[n - 1] == '/');
}

static void add_registration(lua_State *L, enum lp_hook_kind kind, int pattern_idx, int fn_idx)
{
    struct lua_scripts *sc = lp_scripts_of(L);
    if (!sc->loading)
        luaL_error(L, "hooks can only be registered while a script loads");
    const char *pattern = pattern_idx ? luaL_optstring(L, pattern_idx, NULL) : NULL;
    if (pattern && pattern[0] != '/')
        luaL_argerror(L, pattern_idx, "a path pattern starts with '/'");
    luaL_checktype(L, fn_idx, LUA_TFUNCTION);
    struct lp_registration *r = calloc(1, sizeof *r);
    char *copy = pattern ? strdup(pattern) : NULL;
    if (!r || (pattern && !copy)) {
        free(r);
        free(copy);
        luaL_error(L, "out of memory");
        return;
    }
    r->pattern = copy;
    r->owner = sc;
    r->kind = kind;
    r->is_prefix = pattern && !has_glob_chars(pattern);
    static const char *const kind_names[] = {"on_write", "on_commit", "on_session", "on_watch"};
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar))
        snprintf(r->where, sizeof r->where, "%s hook (%s:%d)", kind_names[kind], ar.short_src,
                 ar.currentline);
    else
        snprintf(r->where, sizeof r->where, "%s hook", kind_names[kind]);
    /* append (registration order is call order) before luaL_ref can raise */
    r->fn_ref = LUA_NOREF;
    struct lp_registration **tail = &sc->regs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
    lua_pushvalue(L, fn_idx);
    r->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static int api_on_write(lua_State *L) { add_registration(L, LP_ON_WRITE, 1, 2); return 0; }
static int api_on_commit(lua_State *L) { add_registration(L, LP_ON_COMMIT, 1, 2); return 0; }
static int api_on_watch(lua_State *L) { add_registration(L, LP_ON_WATCH, 1, 2); return 0; }
static int api_on_session(lua_State *L) { add_registration(L, LP_ON_SESSION, 0, 1); return 0; }

/* corral.get(path) -> data (string, or nil for null data), stat; nil when absent */
static int api_get(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const uint8_t *data;
    int32_t len;
    struct corral_stat st;
    if (lp_core->node_get(path, &data, &len, &st) != CORRAL_OK)
        return 0;
    if (data && len >= 0)
        lua_pushlstring(L, (const char *)data, (size_t)len);
    else
        lua_pushnil(L);
    lp_push_stat(L, &st);
    return 2;
}

static int api_stat(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct corral_stat st;
    if (lp_core->node_get(path, NULL, NULL, &st) != CORRAL_OK)
        return 0;
    lp_push_stat(L, &st);
    return 1;
}

static int api_exists(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_pushboolean(L, lp_core->node_get(path, NULL, NULL, NULL) == CORRAL_OK);
    return 1;
}

/*
 * corral.children(path) -> sorted array of names; nil when absent.  Two
 * passes over the children: the first sizes one Lua userdata (which may
 * raise, while no C memory is held), the second copies the names into it.
 */
struct names {
    size_t n, bytes;            /* pass 1 */
    char **v;                   /* pass 2: pointers into the same block */
    char *at;
    size_t filled;
};

static void size_name(void *arg, const char *name)
{
    struct names *ns = arg;
    ns->n++;
    ns->bytes += strlen(name) + 1;
}

static void copy_name(void *arg, const char *name)
{
    struct names *ns = arg;
    if (ns->filled == ns->n)
        return;                 /* cannot happen: nothing runs in between */
    size_t l = strlen(name) + 1;
    memcpy(ns->at, name, l);
    ns->v[ns->filled++] = ns->at;
    ns->at += l;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int api_children(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct names ns = {0};
    if (lp_core->node_children(path, size_name, &ns) != CORRAL_OK)
        return 0;
    char *block = lua_newuserdatauv(L, ns.n * sizeof(char *) + ns.bytes + 1, 0);
    ns.v = (char **)(void *)block;
    ns.at = block + ns.n * sizeof(char *);
    lp_core->node_children(path, copy_name, &ns);
    qsort(ns.v, ns.filled, sizeof *ns.v, by_name);
    lua_createtable(L, (int)ns.filled, 0);
    for (size_t i = 0; i < ns.filled; i++) {
        lua_pushstring(L, ns.v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int api_match(lua_State *L)
{
    const char *glob = luaL_checkstring(L, 1);
    const char *path = luaL_checkstring(L, 2);
    lua_pushboolean(L, fnmatch(glob, path, 0) == 0);
    return 1;
}

/* corral.log(level, ...): level is "error", "warn", "info" or "debug". */
static int api_log(lua_State *L)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    int level = luaL_checkoption(L, 1, "info", levels);
    luaL_Buffer b;
    int n = lua_gettop(L);
    luaL_buffinit(L, &b);
    for (int i = 2; i <= n; i++) {
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
        if (i < n)
            luaL_addchar(&b, ' ');
    }
    luaL_pushresult(&b);
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
        lp_core->log(level, LP_NAME, "%s:%d: %s", ar.short_src, ar.currentline,
                     lua_tostring(L, -1));
    else
        lp_core->log(level, LP_NAME, "%s", lua_tostring(L, -1));
    return 0;
}

/*
 * Queue one write built from an op table (writes.c submits it).  Its bytes
 * count against memoryLimit until the core takes it: past the limit the
 * call raises, as any bad call into the API does, and nothing is queued.
 */
static void queue_from_table(lua_State *L, int idx, const char *fn)
{
    struct corral_request tmp;
    lp_request_from_table(L, idx, &tmp);        /* raises on bad input, owning nothing */
    size_t cost = lp_request_cost(&tmp);
    if (lp_hold(L, cost) != 0) {
        lp_request_clear(&tmp);
        luaL_error(L, "%s: the writes queued in this call would pass plugin.lua.memoryLimit; "
                      "write refused", fn);
    }
    struct corral_request *req = malloc(sizeof *req);
    if (!req) {
        lp_request_clear(&tmp);
        lp_release(cost);
        luaL_error(L, "out of memory");
    }
    *req = tmp;
    lp_writes_queue(req, cost);
}

/* corral.create(path, data [, {sequential=, container=}]) */
static int api_create(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 3);
    lua_createtable(L, 0, 5);
    lua_pushliteral(L, "create");
    lua_setfield(L, -2, "op");
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "path");
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "data");
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "sequential");
        lua_setfield(L, -2, "sequential");
        lua_getfield(L, 3, "container");
        lua_setfield(L, -2, "container");
    }
    queue_from_table(L, 4, "corral.create");
    return 0;
}

/* corral.set(path, data [, version]) */
static int api_set(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 3);
    lua_createtable(L, 0, 4);
    lua_pushliteral(L, "set");
    lua_setfield(L, -2, "op");
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "path");
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "data");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "version");
    queue_from_table(L, 4, "corral.set");
    return 0;
}

/* corral.delete(path [, version]) */
static int api_delete(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 2);
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "delete");
    lua_setfield(L, -2, "op");
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "path");
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "version");
    queue_from_table(L, 3, "corral.delete");
    return 0;
}

/*
 * corral.in_charge(): true on the server whose writes are taken (standalone:
 * always, once serving; an ensemble: the leader).  An on_commit hook runs on
 * every server, so one that writes asks this first.  A core before ABI 3.1
 * is standalone only: in charge.
 */
static int api_in_charge(lua_State *L)
{
    int (*in_charge)(void) = CORRAL_FN(lp_core, in_charge);
    lua_pushboolean(L, in_charge ? in_charge() : 1);
    return 1;
}

/* corral.write(op_table): any op an on_write hook may return, queued. */
static int api_write(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    queue_from_table(L, 1, "corral.write");
    return 0;
}

void lp_open_api(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"on_write", api_on_write},
        {"on_commit", api_on_commit},
        {"on_session", api_on_session},
        {"on_watch", api_on_watch},
        {"get", api_get},
        {"stat", api_stat},
        {"exists", api_exists},
        {"children", api_children},
        {"match", api_match},
        {"log", api_log},
        {"create", api_create},
        {"set", api_set},
        {"delete", api_delete},
        {"write", api_write},
        {"in_charge", api_in_charge},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    lp_push_error_table(L);
    lua_setfield(L, -2, "err");
    lua_setglobal(L, "corral");
}
