/*
 * lua_plugin.h — what the files of the Lua plugin share.
 *
 * plugin.c   module entry, configuration, start/stop/reload (atomic swap)
 * sandbox.c  one sandboxed lua_State: allocator with a memory cap, the safe
 *            subset of the standard library, the per-call instruction limit,
 *            protected calls that log file:line and never let an error out
 * pattern.c  Lua's pattern functions, counting their steps against that limit
 * api.c      the `corral` table scripts see (registration, reads, log, match)
 * writes.c   writes scripts queue, submitted from the loop between callbacks
 * convert.c  Lua tables <-> core requests, txns and stats
 * bridge.c   the C hooks the core calls: each runs one registered Lua
 *            function and turns its answer back into ZooKeeper terms
 *
 * A script set lives in one `struct lua_scripts`: its state plus the list of
 * registrations made while it loaded.  Each registration is the `arg` of one
 * core hook, so swapping sets is hooks_remove() per old registration.
 */
#ifndef CORRAL_LUA_PLUGIN_H
#define CORRAL_LUA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include "corral/module.h"

extern const struct corral_core *lp_core;

#define LP_NAME "lua"

enum lp_hook_kind { LP_ON_WRITE, LP_ON_COMMIT, LP_ON_SESSION, LP_ON_WATCH };

struct lua_scripts;

struct lp_registration {
    struct lua_scripts *owner;
    enum lp_hook_kind kind;
    char *pattern;              /* as the script gave it; NULL: every path */
    int is_prefix;              /* pattern has no glob characters: a subtree */
    int fn_ref;                 /* the Lua function, in the registry */
    char where[160];            /* file:line of the registration, for logs */
    struct lp_registration *next;
};

struct lua_scripts {
    lua_State *L;
    size_t mem_used, mem_limit;
    long long instruction_limit;
    long long used;             /* instructions + matcher steps the running call took */
    int armed;                  /* instructions the count hook was armed for */
    int exhausted;              /* the running call hit the instruction limit */
    int loading;                /* registrations allowed only while loading */
    char **search_path;         /* folders require() looks in, NULL-terminated */
    struct lp_registration *regs;
};

/* sandbox.c */
struct lua_scripts *lp_scripts_new(long long instruction_limit, long long memory_limit,
                                   char **search_path);
void lp_scripts_free(struct lua_scripts *sc);
/* Load and run one script file (text only); 0, or -1 after logging why. */
int lp_scripts_load_file(struct lua_scripts *sc, const char *file);
/*
 * Run fn(L) under lua_pcall with ctx as its only argument (a light
 * userdata) and the instruction limit armed.  All work on the state — making
 * argument tables, calling the script, reading its answer — happens inside fn,
 * so an out-of-memory or any other Lua error is caught.  0 on success; -1
 * after logging "<what>: file:line: message (hook skipped)".
 */
int lp_protected(struct lua_scripts *sc, lua_CFunction fn, void *ctx, const char *what);
/*
 * Work done outside the VM draws on the running call's instruction budget:
 * lp_budget_left is what remains; lp_budget_charge adds steps and, once the
 * budget is gone, raises the instruction-limit error as the count hook does.
 */
long long lp_budget_left(lua_State *L);
void lp_budget_charge(lua_State *L, long long steps);
/*
 * C memory held for the scripts (queued writes, returned operations) counts
 * against memoryLimit with the state's own: lp_hold is 0, or -1 (nothing
 * held) when it would pass the limit; lp_release gives bytes back.
 */
int lp_hold(lua_State *L, size_t bytes);
void lp_release(size_t bytes);

/* pattern.c: string.find/match/gmatch/gsub with the step budget */
void lp_open_patterns(lua_State *L);

/* api.c */
void lp_open_api(lua_State *L);
struct lua_scripts *lp_scripts_of(lua_State *L);
/* Does a registration's pattern cover path? (the core prefilters with a glob) */
int lp_pattern_covers(const struct lp_registration *r, const char *path);

/* writes.c */
int lp_writes_start(void);
void lp_writes_stop(void);
/* Take req (malloc'd, core ownership rules) and submit it soon. */
/* cost: bytes lp_hold()s for it, released once the core has it */
void lp_writes_queue(struct corral_request *req, size_t cost);

/* convert.c */
/* Fill *out (zeroed first) from the op table at idx; luaL_error on bad input. */
void lp_request_from_table(lua_State *L, int idx, struct corral_request *out);
/* Free what lp_request_from_table put in req (not req itself). */
void lp_request_clear(struct corral_request *req);
/* Bytes a request built by lp_request_from_table holds, for lp_hold. */
size_t lp_request_cost(const struct corral_request *req);
void lp_push_request(lua_State *L, const struct corral_request *op, int64_t session_id);
void lp_push_txn(lua_State *L, const struct corral_txn *txn);
void lp_push_stat(lua_State *L, const struct corral_stat *st);
const char *lp_op_name(int32_t op);
const char *lp_event_name(int32_t type);
/* ZooKeeper error name ("BadArguments") <-> code; 1 when found. */
int lp_error_code(const char *name, int32_t *code);
const char *lp_error_name(int32_t code);
void lp_push_error_table(lua_State *L);

/* bridge.c */
int lp_register_with_core(struct lua_scripts *sc);
void lp_unregister_from_core(struct lua_scripts *sc);

#endif
