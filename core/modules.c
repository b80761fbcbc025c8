/*
 * modules.c — finding, loading and checking modules.
 *
 * Which modules load is configuration: module.transport (one or more),
 * module.storage (one), module.auth (one or more).  A module named NAME of
 * kind KIND is the file KIND_NAME.so in one of the folders of module.path
 * (colon-separated), else $CORRAL_MODULE_PATH, else the install folder.
 * Every refusal is one log line naming the file and the reason; the server
 * then does not start (a server without its configured storage or auth must
 * not run half-configured).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "server.h"
#include "log.h"
#include "quorum/election.h"

#ifndef CORRAL_MODULE_DIR
#define CORRAL_MODULE_DIR "/usr/local/lib/corral"
#endif

static const char *kind_name(int kind)
{
    switch (kind) {
    case CORRAL_MODULE_TRANSPORT: return "transport";
    case CORRAL_MODULE_STORAGE: return "storage";
    case CORRAL_MODULE_AUTH: return "auth";
    case CORRAL_MODULE_ELECTION: return "election";
    case CORRAL_MODULE_PLUGIN: return "plugin";
    default: return "?";
    }
}

static const char *search_path(void)
{
    const char *p = config_value(&server.cfg, "module.path");
    if (p && *p)
        return p;
    p = getenv("CORRAL_MODULE_PATH");
    if (p && *p)
        return p;
    return CORRAL_MODULE_DIR;
}

static char *find_file(int kind, const char *name)
{
    char *paths = strdup(search_path()), *save = NULL;
    char *found = NULL;
    for (char *dir = strtok_r(paths, ":", &save); dir && !found;
         dir = strtok_r(NULL, ":", &save)) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s_%s.so", dir, kind_name(kind), name);
        if (access(file, R_OK) == 0)
            found = strdup(file);
    }
    free(paths);
    return found;
}

/*
 * The ABI check (see module.h): the major must be ours, any minor is fine
 * because tables only grow and carry their size.  Before ABI 3 abi_version was
 * a plain small number and nothing else of the struct can be trusted, so the
 * size is read only once the major matches.  On a mismatch, why goes to buf.
 */
static int abi_fits(const struct corral_module *m, char *buf, size_t cap)
{
    uint32_t v = m->abi_version;
    if (CORRAL_ABI_MAJOR_OF(v) != CORRAL_ABI_MAJOR) {
        char theirs[32];
        if (CORRAL_ABI_MAJOR_OF(v) == 0)
            snprintf(theirs, sizeof theirs, "%u", v);
        else
            snprintf(theirs, sizeof theirs, "%u.%u", CORRAL_ABI_MAJOR_OF(v),
                     CORRAL_ABI_MINOR_OF(v));
        snprintf(buf, cap, "built for module ABI %s, this server has ABI %u.%u (rebuild it)",
                 theirs, CORRAL_ABI_MAJOR, CORRAL_ABI_MINOR);
        return 0;
    }
    if (m->size < CORRAL_MODULE_MIN) {
        snprintf(buf, cap, "its corral_module_entry is %zu bytes, shorter than ABI %u's %zu",
                 m->size, CORRAL_ABI_MAJOR, (size_t)CORRAL_MODULE_MIN);
        return 0;
    }
    return 1;
}

/* The shortest ops table of a kind the core can use (each starts with its size). */
static size_t ops_min(int kind)
{
    switch (kind) {
    case CORRAL_MODULE_TRANSPORT: return CORRAL_TRANSPORT_OPS_MIN;
    case CORRAL_MODULE_STORAGE: return CORRAL_STORAGE_OPS_MIN;
    case CORRAL_MODULE_AUTH: return CORRAL_AUTH_OPS_MIN;
    case CORRAL_MODULE_PLUGIN: return CORRAL_PLUGIN_OPS_MIN;
    case CORRAL_MODULE_ELECTION: return CORRAL_ELECTION_OPS_MIN;
    default: return sizeof(size_t);
    }
}

static const struct corral_module *load_one(int kind, const char *name)
{
    for (int i = 0; i < server.n_modules; i++)
        if (server.modules[i].mod->kind == kind && !strcmp(server.modules[i].mod->name, name))
            return server.modules[i].mod;
    char *file = find_file(kind, name);
    if (!file) {
        log_error("module %s '%s': no file %s_%s.so in module path '%s'", kind_name(kind), name,
                  kind_name(kind), name, search_path());
        return NULL;
    }
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        log_error("module %s: cannot load: %s", file, dlerror());
        free(file);
        return NULL;
    }
    const struct corral_module *m = dlsym(h, "corral_module_entry");
    const char *why = NULL;
    char buf[160];
    if (!m)
        why = "it exports no corral_module_entry";
    else if (!abi_fits(m, buf, sizeof buf))
        why = buf;
    else if (m->kind != kind) {
        snprintf(buf, sizeof buf, "it is a %s module, not a %s module", kind_name(m->kind),
                 kind_name(kind));
        why = buf;
    } else if (!m->name || strcmp(m->name, name) != 0)
        why = "its name does not match its file name";
    else if (!m->init || !m->ops)
        why = "it has no init or no ops table";
    else if (*(const size_t *)m->ops < ops_min(kind)) {
        snprintf(buf, sizeof buf, "its %s ops table is %zu bytes, shorter than the %zu this "
                 "server needs", kind_name(kind), *(const size_t *)m->ops, ops_min(kind));
        why = buf;
    }
    if (why) {
        log_error("module %s refused: %s", file, why);
        dlclose(h);
        free(file);
        return NULL;
    }
    struct loaded_module *lm = realloc(server.modules, (size_t)(server.n_modules + 1) * sizeof *lm);
    if (!lm)
        abort();
    server.modules = lm;
    lm[server.n_modules].mod = m;
    lm[server.n_modules].handle = h;
    lm[server.n_modules].file = file;
    server.n_modules++;
    log_info("loaded %s module '%s' %s (ABI %u.%u) from %s", kind_name(kind), name,
             m->version ? m->version : "", CORRAL_ABI_MAJOR_OF(m->abi_version),
             CORRAL_ABI_MINOR_OF(m->abi_version), file);
    return m;
}

/* Load each name of a comma-separated list. */
static int load_list(int kind, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
        if (!load_one(kind, tok))
            rc = -1;
    free(copy);
    return rc;
}

/*
 * Without module.* keys, a zoo.cfg written for Apache ZooKeeper gets what
 * ZooKeeper would give it: the client protocol, persistent storage in
 * dataDir, the world, ip and digest schemes, and the super identity when a
 * super digest is configured.
 */
static const char *default_auth(void)
{
    static const char *const super_keys[] = {"auth.super.digest",
                                             "zookeeper.DigestAuthenticationProvider.superDigest",
                                             "DigestAuthenticationProvider.superDigest"};
    for (size_t i = 0; i < sizeof super_keys / sizeof *super_keys; i++)
        if (config_value(&server.cfg, super_keys[i]))
            return "world,ip,digest,super";
    return "world,ip,digest";
}

int modules_load(void)
{
    const char *transports = config_value(&server.cfg, "module.transport");
    const char *storage = config_value(&server.cfg, "module.storage");
    const char *auth = config_value(&server.cfg, "module.auth");
    int rc = 0;
    rc |= load_list(CORRAL_MODULE_TRANSPORT, transports ? transports : "zk");
    rc |= load_list(CORRAL_MODULE_STORAGE, storage ? storage : "file");
    rc |= load_list(CORRAL_MODULE_AUTH, auth ? auth : default_auth());
    const char *plugins = config_value(&server.cfg, "module.plugins");
    if (plugins && *plugins)
        rc |= load_list(CORRAL_MODULE_PLUGIN, plugins);
    /* the election module: on an ensemble member only (election.c) */
    if (election_is_ensemble() && !load_one(CORRAL_MODULE_ELECTION, election_module_name()))
        rc = -1;
    if (rc)
        return -1;

    /* Now that every module's keys are known, unknown keys are errors. */
    const struct corral_config_key **tables = calloc((size_t)server.n_modules + 1, sizeof *tables);
    for (int i = 0; i < server.n_modules; i++)
        tables[i] = server.modules[i].mod->config_keys;
    int unknown = config_check_keys(&server.cfg, tables, server.n_modules);
    free(tables);
    if (unknown)
        return -1;

    int storages = 0;
    for (int i = 0; i < server.n_modules; i++) {
        const struct corral_module *m = server.modules[i].mod;
        if (m->init(core_api_for(m->kind)) != 0) {
            log_error("module %s: init failed", server.modules[i].file);
            return -1;
        }
        if (m->kind == CORRAL_MODULE_STORAGE) {
            server.storage = m->ops;
            storages++;
        } else if (m->kind == CORRAL_MODULE_AUTH) {
            server.auth = realloc(server.auth, (size_t)(server.n_auth + 1) * sizeof *server.auth);
            if (!server.auth)
                abort();
            server.auth[server.n_auth++] = m->ops;
        } else if (m->kind == CORRAL_MODULE_ELECTION) {
            election_set_ops(m->ops);
        }
    }
    if (storages != 1) {
        log_error("%s: module.storage must name exactly one storage module", server.cfg.path);
        return -1;
    }
    return 0;
}

void modules_unload(void)
{
    for (int i = server.n_modules - 1; i >= 0; i--) {
        if (server.modules[i].mod->fini)
            server.modules[i].mod->fini();
        /* Not dlclose()d: LeakSanitizer needs the symbols to report. */
        free(server.modules[i].file);
    }
    free(server.modules);
    free(server.auth);
    server.modules = NULL;
    server.auth = NULL;
    server.n_modules = server.n_auth = 0;
}
