/*
 * world.c — the "world" auth scheme: one identity, "anyone", that every
 * session has.  An ACL entry world:anyone grants its permissions to all.
 * Without this module loaded, world:anyone ACLs are refused (InvalidACL) and
 * grant nothing: a deployment that wants only authenticated access leaves it out.
 */
#include <stdlib.h>
#include <string.h>
#include "corral/module.h"

static char *world_identify(const char *remote_addr)
{
    (void)remote_addr;
    return strdup("anyone");
}

static int world_matches(const char *id, const char *acl_id)
{
    return strcmp(id, acl_id) == 0;
}

static int world_valid(const char *acl_id) { return strcmp(acl_id, "anyone") == 0; }

static const struct corral_auth_ops world_ops = {
    .size = sizeof(struct corral_auth_ops),
    .scheme = "world",
    .flags = CORRAL_AUTH_UNIVERSAL,
    .identify_connection = world_identify,
    .authenticate = NULL,
    .matches = world_matches,
    .valid_id = world_valid,
};

static int world_init(const struct corral_core *core)
{
    (void)core;
    return 0;
}

static const struct corral_config_key world_keys[] = {{NULL, NULL}};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_AUTH,
    .name = "world",
    .version = "1.0",
    .config_keys = world_keys,
    .init = world_init,
    .ops = &world_ops,
};
