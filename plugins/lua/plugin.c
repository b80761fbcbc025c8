/*
 * plugin.c — the Lua plugin as a Corral module: configuration, start, stop
 * and reload.
 *
 *   module.plugins=lua
 *   plugin.lua.scripts=lua/config_version.lua,lua/json_only.lua
 *   plugin.lua.path=lua                 (folders require() searches;
 *                                        default: the scripts' folders)
 *   plugin.lua.instructionLimit=1000000 (VM instructions per hook call)
 *   plugin.lua.memoryLimit=67108864     (bytes the scripts' state may hold)
 *
 * All scripts share one Lua state, loaded in the order listed.  Reload
 * (SIGHUP, `corral reload`) builds a complete new state from the files and
 * only then swaps it in: old hooks out, new hooks in, old state freed — all
 * inside one loop callback, so no request ever sees a half-loaded set or no
 * set.  If any script fails to load, the old set stays and the reload fails.
 */
#include <stdlib.h>
#include <string.h>
#include "lua_plugin.h"

const struct corral_core *lp_core;

static char **script_files;          /* NULL-terminated */
static char **search_path;           /* NULL-terminated */
static long long instruction_limit, memory_limit;
static struct lua_scripts *current;

static void free_list(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* Split "a, b,c" (also ':' when colon is set) into a NULL-terminated list. */
static char **split(const char *s, const char *seps)
{
    char *copy = strdup(s), *save = NULL;
    size_t n = 0;
    char **v = calloc(strlen(s) + 2, sizeof *v);
    if (!copy || !v) {
        free(copy);
        free(v);
        return NULL;
    }
    for (char *t = strtok_r(copy, seps, &save); t; t = strtok_r(NULL, seps, &save))
        v[n++] = strdup(t);
    free(copy);
    return v;
}

/* Default search path: each script's folder, once. */
static char **folders_of(char **files)
{
    size_t n = 0;
    for (char **f = files; *f; f++)
        n++;
    char **v = calloc(n + 1, sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0;
    for (char **f = files; *f; f++) {
        const char *slash = strrchr(*f, '/');
        char *dir = slash ? strndup(*f, (size_t)(slash - *f)) : strdup(".");
        if (dir && !*dir) {
            free(dir);
            dir = strdup("/");
        }
        int seen = 0;
        for (size_t i = 0; dir && i < k; i++)
            seen |= !strcmp(v[i], dir);
        if (seen || !dir)
            free(dir);
        else
            v[k++] = dir;
    }
    return v;
}

static int lua_init(const struct corral_core *core)
{
    lp_core = core;
    if (core->config_int("plugin.lua.instructionLimit", 1000000, 1000, 2000000000,
                         &instruction_limit) < 0 ||
        core->config_int("plugin.lua.memoryLimit", 64ll << 20, 1 << 20, 1ll << 40, &memory_limit) < 0)
        return -1;
    const char *scripts = core->config_get("plugin.lua.scripts");
    script_files = split(scripts ? scripts : "", ", \t");
    if (!script_files)
        return -1;
    if (!script_files[0])
        core->log(CORRAL_LOG_WARN, LP_NAME, "plugin.lua.scripts names no script: no hooks");
    const char *path = core->config_get("plugin.lua.path");
    search_path = path && *path ? split(path, ":") : folders_of(script_files);
    return search_path ? 0 : -1;
}

/* A complete new script set, or NULL after logging why. */
static struct lua_scripts *load_set(void)
{
    struct lua_scripts *sc = lp_scripts_new(instruction_limit, memory_limit, search_path);
    if (!sc)
        return NULL;
    for (char **f = script_files; *f; f++) {
        if (lp_scripts_load_file(sc, *f) != 0) {
            lp_scripts_free(sc);
            return NULL;
        }
    }
    int files = 0, hooks = 0;
    for (char **f = script_files; *f; f++)
        files++;
    for (struct lp_registration *r = sc->regs; r; r = r->next)
        hooks++;
    lp_core->log(CORRAL_LOG_INFO, LP_NAME, "%d script(s) loaded, %d hook(s), %zu bytes of Lua state",
                 files, hooks, sc->mem_used);
    return sc;
}

static int lua_start(void)
{
    if (lp_writes_start() != 0)
        return -1;
    struct lua_scripts *sc = load_set();
    if (!sc || lp_register_with_core(sc) != 0) {
        lp_scripts_free(sc);
        return -1;
    }
    current = sc;
    return 0;
}

static int lua_reload(void)
{
    struct lua_scripts *next = load_set();
    if (!next)
        return -1;
    if (current)
        lp_unregister_from_core(current);
    if (lp_register_with_core(next) != 0) {
        lp_scripts_free(next);
        if (current && lp_register_with_core(current) != 0)
            lp_core->log(CORRAL_LOG_ERROR, LP_NAME, "previous scripts could not be re-registered");
        return -1;
    }
    lp_scripts_free(current);
    current = next;
    lp_core->log(CORRAL_LOG_INFO, LP_NAME, "scripts reloaded");
    return 0;
}

static void lua_stop(void)
{
    if (current) {
        lp_unregister_from_core(current);
        lp_scripts_free(current);
        current = NULL;
    }
    lp_writes_stop();
}

static void lua_fini(void)
{
    free_list(script_files);
    free_list(search_path);
    script_files = search_path = NULL;
}

static const struct corral_config_key keys[] = {
    {"plugin.lua.scripts", "Lua hook scripts to load, comma-separated, in order"},
    {"plugin.lua.path", "colon-separated folders require() searches (default: the scripts' folders)"},
    {"plugin.lua.instructionLimit", "VM instructions (and pattern-matching steps) one hook call may run (default 1000000)"},
    {"plugin.lua.memoryLimit", "bytes the scripts' Lua state and queued writes may hold (default 64 MiB)"},
    {NULL, NULL},
};

static const struct corral_plugin_ops ops = {
    .size = sizeof(struct corral_plugin_ops),
    .start = lua_start,
    .stop = lua_stop,
    .reload = lua_reload,
};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_PLUGIN,
    .name = "lua",
    .version = "0.1.0 (" LUA_RELEASE ")",
    .config_keys = keys,
    .init = lua_init,
    .fini = lua_fini,
    .ops = &ops,
};
