/*
 * modules_run.c — the loaded modules' life: starting, stopping and reloading
 * them.  Apart from modules.c (finding, loading and checking them, which
 * hands each module the core's table) because the table itself offers
 * reloading (core->reload_plugins): the table depends on this file, and
 * modules.c on the table, in one direction.
 */
#include "server.h"
#include "log.h"

/* Plugins start first (their hooks see the first client), transports last. */
int modules_start(void)
{
    for (int pass = 0; pass < 2; pass++) {
        int kind = pass == 0 ? CORRAL_MODULE_PLUGIN : CORRAL_MODULE_TRANSPORT;
        for (int i = 0; i < server.n_modules; i++) {
            const struct corral_module *m = server.modules[i].mod;
            if (m->kind != kind)
                continue;
            int rc = kind == CORRAL_MODULE_PLUGIN
                         ? ((const struct corral_plugin_ops *)m->ops)->start()
                         : ((const struct corral_transport_ops *)m->ops)->start();
            if (rc != 0) {
                log_error("%s '%s' failed to start",
                          kind == CORRAL_MODULE_PLUGIN ? "plugin" : "transport", m->name);
                return -1;
            }
            server.modules[i].started = 1;
        }
    }
    return 0;
}

/* Transports stop first (no new work), then plugins. */
void modules_stop(void)
{
    for (int pass = 0; pass < 2; pass++) {
        int kind = pass == 0 ? CORRAL_MODULE_TRANSPORT : CORRAL_MODULE_PLUGIN;
        for (int i = 0; i < server.n_modules; i++) {
            const struct corral_module *m = server.modules[i].mod;
            if (m->kind != kind || !server.modules[i].started)
                continue;
            if (kind == CORRAL_MODULE_PLUGIN)
                ((const struct corral_plugin_ops *)m->ops)->stop();
            else
                ((const struct corral_transport_ops *)m->ops)->stop();
            server.modules[i].started = 0;
        }
    }
}

void modules_reload(void)
{
    for (int i = 0; i < server.n_modules; i++) {
        const struct corral_module *m = server.modules[i].mod;
        if (m->kind != CORRAL_MODULE_PLUGIN || !server.modules[i].started)
            continue;
        const struct corral_plugin_ops *p = m->ops;
        int (*reload)(void) = CORRAL_FN(p, reload);
        if (reload && reload() != 0)
            log_warn("plugin '%s': reload failed; it keeps its previous state", m->name);
    }
}

