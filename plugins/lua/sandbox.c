/*
 * sandbox.c — one sandboxed Lua 5.4 state for a set of hook scripts.
 *
 * A script runs inside the server's event loop, so it must never be able to
 * crash, stall or bloat the server.  Hence:
 *   - memory: a custom lua_Alloc counts the bytes the state holds and refuses
 *     any growth past plugin.lua.memoryLimit (Lua then raises "not enough
 *     memory", which the protected call catches); the C copies of writes the
 *     scripts queued count against the same limit (lp_hold);
 *   - time: a LUA_MASKCOUNT hook, armed afresh for every call into the state,
 *     raises an error once plugin.lua.instructionLimit VM instructions ran,
 *     and from then on at every instruction, so a script's own pcall cannot
 *     swallow the error and carry on; the pattern functions (pattern.c)
 *     charge their matcher steps to the same budget (lp_budget_charge);
 *   - finalizers: Lua runs __gc with hooks off, so setmetatable refuses
 *     metatables with __gc (a looping finalizer could not be stopped);
 *   - reach: only base (without dofile/loadfile/load/collectgarbage), string
 *     (without dump), table, math and utf8 are opened; no io, os, package,
 *     debug or coroutine (a coroutine would get a fresh instruction count);
 *     scripts are loaded as text only (mode "t": no precompiled bytecode), and
 *     require() only finds .lua text files in the plugin's search path.
 * Errors are logged with the script's file:line and the hook is skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "lua_plugin.h"

/*
 * Bytes the plugin holds outside the Lua heap on the scripts' behalf: writes
 * they queued (writes.c) and operations an on_write answer returned, until
 * the core takes them.  They count against memoryLimit together with the
 * state's own allocations, so a loop of corral.set() calls cannot grow the
 * server past the limit with C copies of its data.  One counter for the
 * whole plugin, not per state: a queued write may outlive the state that
 * made it (a reload between the hook and the flush).
 */
static size_t held_outside;

int lp_hold(lua_State *L, size_t bytes)
{
    struct lua_scripts *sc = lp_scripts_of(L);
    if (bytes > sc->mem_limit || sc->mem_used + held_outside > sc->mem_limit - bytes)
        return -1;
    held_outside += bytes;
    return 0;
}

void lp_release(size_t bytes)
{
    held_outside -= bytes < held_outside ? bytes : held_outside;
}

static void *bounded_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct lua_scripts *sc = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        sc->mem_used -= old;
        return NULL;
    }
    if (nsize > old && sc->mem_used - old + nsize + held_outside > sc->mem_limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        sc->mem_used = sc->mem_used - old + nsize;
    return p;
}

/*
 * The instruction budget of one call.  The count hook fires every
 * HOOK_GRAIN VM instructions (fewer near the end) and adds them to
 * sc->used; C code that works outside the VM — the pattern matcher
 * (pattern.c) — adds its own steps with lp_budget_charge().  Both draw on
 * the one plugin.lua.instructionLimit, so neither a Lua loop nor a
 * backtracking pattern, nor a loop of patterns, runs past it.  The VM
 * instructions since the last hook are not yet in sc->used, so a call may
 * overrun the limit by less than HOOK_GRAIN.
 */
#define HOOK_GRAIN 10000

static void count_hook(lua_State *L, lua_Debug *ar);

static void arm_hook(lua_State *L, struct lua_scripts *sc)
{
    long long left = sc->instruction_limit - sc->used;
    sc->armed = left < HOOK_GRAIN ? (int)left : HOOK_GRAIN;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, sc->armed);
}

/*
 * Once over the limit, fire at every instruction: a script that wraps its
 * loop in pcall gets the error back at its very next instruction, so the
 * error climbs to our own pcall whatever the script does.  The message names
 * the innermost Lua line (the running one in the hook, the caller in C).
 */
static void instruction_limit_hit(lua_State *L)
{
    struct lua_scripts *sc = lp_scripts_of(L);
    if (!sc->exhausted) {
        sc->exhausted = 1;
        sc->used = sc->instruction_limit;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    }
    lua_Debug here;
    for (int level = 0; lua_getstack(L, level, &here); level++) {
        if (lua_getinfo(L, "Sl", &here) && here.currentline > 0) {
            lua_pushfstring(L, "%s:%d: instruction limit (%I) exceeded", here.short_src,
                            here.currentline, (lua_Integer)sc->instruction_limit);
            lua_error(L);
        }
    }
    lua_pushfstring(L, "instruction limit (%I) exceeded", (lua_Integer)sc->instruction_limit);
    lua_error(L);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct lua_scripts *sc = lp_scripts_of(L);
    if (!sc->exhausted) {
        sc->used += sc->armed;
        if (sc->used < sc->instruction_limit) {
            arm_hook(L, sc);
            return;
        }
    }
    instruction_limit_hit(L);
}

long long lp_budget_left(lua_State *L)
{
    struct lua_scripts *sc = lp_scripts_of(L);
    return sc->exhausted ? 0 : sc->instruction_limit - sc->used;
}

void lp_budget_charge(lua_State *L, long long steps)
{
    struct lua_scripts *sc = lp_scripts_of(L);
    if (!sc->exhausted && steps < sc->instruction_limit - sc->used) {
        sc->used += steps;
        return;
    }
    instruction_limit_hit(L);
}

/* print() goes to the server log, at info level. */
static int sandbox_print(lua_State *L)
{
    luaL_Buffer b;
    int n = lua_gettop(L);
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
        if (i < n)
            luaL_addchar(&b, '\t');
    }
    luaL_pushresult(&b);
    lp_core->log(CORRAL_LOG_INFO, LP_NAME, "%s", lua_tostring(L, -1));
    return 0;
}

/* Slurp a file; NULL (errno set) when it cannot be read. */
static char *read_file(const char *file, size_t *len_out)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    *len_out = len;
    return buf;
}

/* Load file as a text chunk named "@file"; pushes the function or raises. */
static void load_text_chunk(lua_State *L, const char *file)
{
    size_t len = 0;
    char *buf = read_file(file, &len);
    if (!buf)
        luaL_error(L, "cannot read %s: %s", file, strerror(errno));
    lua_pushfstring(L, "@%s", file);
    int rc = luaL_loadbufferx(L, buf, len, lua_tostring(L, -1), "t");
    free(buf);
    if (rc != LUA_OK)
        lua_error(L);
    lua_remove(L, -2);
}

/*
 * require(name): the safe stand-in for package.require.  "a.b" is the file
 * a/b.lua in one of the plugin's search folders; each module runs once per
 * state and its result is cached.  Names are restricted to [A-Za-z0-9_.] so
 * no path can climb out of those folders.
 */
static int sandbox_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || (*c == '.' && c != name && c[1] != '.' && c[1])))
            return luaL_error(L, "require: bad module name '%s'", name);
    lua_getfield(L, LUA_REGISTRYINDEX, "corral.loaded");
    if (lua_getfield(L, -1, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    struct lua_scripts *sc = lp_scripts_of(L);
    char rel[256];
    snprintf(rel, sizeof rel, "%s", name);
    for (char *c = rel; *c; c++)
        if (*c == '.')
            *c = '/';
    for (char **dir = sc->search_path; dir && *dir; dir++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s.lua", *dir, rel);
        FILE *probe = fopen(file, "rb");
        if (!probe)
            continue;
        fclose(probe);
        load_text_chunk(L, file);
        lua_pushstring(L, name);
        lua_call(L, 1, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushboolean(L, 1);
        }
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, name);
        return 1;
    }
    return luaL_error(L, "require: module '%s' not found in the plugin.lua.path folders", name);
}

/*
 * setmetatable without __gc: Lua runs finalizers with debug hooks off, so a
 * looping __gc could not be stopped by the instruction limit and would
 * stall the server in the middle of any allocation (or at reload's
 * lua_close).  Lua marks an object for finalization only when its metatable
 * has __gc at setmetatable time, so refusing it here closes the door.
 */
static int safe_setmetatable(lua_State *L)
{
    if (lua_istable(L, 2)) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "__gc metamethods are not allowed in hook scripts");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static void open_safe_libs(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},
        {LUA_TABLIBNAME, luaopen_table},
        {LUA_STRLIBNAME, luaopen_string},
        {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},
        {NULL, NULL},
    };
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    static const char *const drop[] = {"dofile", "loadfile", "load", "collectgarbage", NULL};
    for (int i = 0; drop[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, drop[i]);
    }
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lp_open_patterns(L);
    lua_pushcfunction(L, sandbox_print);
    lua_setglobal(L, "print");
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, safe_setmetatable, 1);
    lua_setglobal(L, "setmetatable");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "corral.loaded");
    lua_pushcfunction(L, sandbox_require);
    lua_setglobal(L, "require");
}

/* Everything that allocates while setting up runs protected too. */
static int setup_state(lua_State *L)
{
    open_safe_libs(L);
    lp_open_api(L);
    return 0;
}

struct lua_scripts *lp_scripts_new(long long instruction_limit, long long memory_limit,
                                   char **search_path)
{
    struct lua_scripts *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->mem_limit = (size_t)memory_limit;
    sc->instruction_limit = instruction_limit;
    sc->search_path = search_path;
    sc->L = lua_newstate(bounded_alloc, sc);
    if (!sc->L) {
        free(sc);
        return NULL;
    }
    lua_setwarnf(sc->L, NULL, NULL);
    lua_State *L = sc->L;
    /* the extra space is preallocated by lua_newstate: these cannot fail */
    lua_pushcfunction(L, setup_state);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        lp_core->log(CORRAL_LOG_ERROR, LP_NAME, "cannot set up a Lua state: %s",
                     lua_tostring(L, -1) ? lua_tostring(L, -1) : "out of memory");
        lua_close(L);
        free(sc);
        return NULL;
    }
    return sc;
}

void lp_scripts_free(struct lua_scripts *sc)
{
    if (!sc)
        return;
    struct lp_registration *r = sc->regs;
    while (r) {
        struct lp_registration *next = r->next;
        free(r->pattern);
        free(r);
        r = next;
    }
    /* no __gc finalizers can exist (safe_setmetatable): closing cannot stall */
    lua_close(sc->L);
    free(sc);
}

/*
 * Message handler: make sure the message says where, as file:line.  Errors
 * raised by the VM or by error() already do; errors raised by our C
 * functions (a bad argument to corral.create, say) name the innermost Lua
 * frame that called them.
 */
static int message_handler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
        msg = lua_tostring(L, -1);
    }
    const char *colon = strchr(msg, ':');
    int located = colon && colon > msg && colon[1] >= '0' && colon[1] <= '9';
    if (located)
        return 1;
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
            return 1;
        }
    }
    lua_pushstring(L, msg);
    return 1;
}

int lp_protected(struct lua_scripts *sc, lua_CFunction fn, void *ctx, const char *what)
{
    lua_State *L = sc->L;
    int base = lua_gettop(L);
    lua_pushcfunction(L, message_handler);
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, ctx);
    sc->exhausted = 0;
    sc->used = 0;
    arm_hook(L, sc);
    int rc = lua_pcall(L, 1, 0, base + 1);
    lua_sethook(L, NULL, 0, 0);
    if (rc != LUA_OK) {
        const char *msg = rc == LUA_ERRMEM ? "not enough memory (plugin.lua.memoryLimit)"
                                           : lua_tostring(L, -1);
        lp_core->log(CORRAL_LOG_ERROR, LP_NAME, "%s: %s (hook skipped)", what,
                     msg ? msg : "error");
        lua_settop(L, base);
        lua_gc(L, LUA_GCCOLLECT);       /* give back what a failed call left behind */
        return -1;
    }
    lua_settop(L, base);
    return 0;
}

static int run_script(lua_State *L)
{
    const char *file = lua_touserdata(L, 1);
    load_text_chunk(L, file);
    lua_call(L, 0, 0);
    return 0;
}

int lp_scripts_load_file(struct lua_scripts *sc, const char *file)
{
    char what[512];
    snprintf(what, sizeof what, "loading script %s", file);
    sc->loading = 1;
    int rc = lp_protected(sc, run_script, (void *)file, what);
    sc->loading = 0;
    return rc;
}
