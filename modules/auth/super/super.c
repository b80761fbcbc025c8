/*
 * super.c — the "super" scheme: the operator identity that passes every ACL
 * check (CORRAL_AUTH_SUPERUSER).
 *
 * Configured as in ZooKeeper with the digest of the operator's credentials,
 * "super:BASE64(SHA1(super:password))", under any of the keys below.  A
 * session becomes superuser by `addauth digest super:password` (the core
 * offers every successful addauth to superuser modules) or
 * `addauth super super:password`.  Without a configured digest nobody is
 * superuser.
 */
#include <stdlib.h>
#include <string.h>
#include "corral/module.h"
#include "../zk_digest.h"

static const struct corral_core *core;
static char *super_digest;      /* "user:base64sha1" or NULL */

static const char *const digest_keys_in_order[] = {
    "auth.super.digest",
    "zookeeper.DigestAuthenticationProvider.superDigest",
    "DigestAuthenticationProvider.superDigest",
};

/* ZooKeeper: superuser when the credential's digest identity is the super digest. */
static int super_authenticate(const uint8_t *auth, int32_t len, const char *remote_addr,
                              char **id)
{
    (void)remote_addr;
    *id = NULL;
    if (!super_digest)
        return CORRAL_EAUTHFAILED;
    char *digest = zk_digest_id(auth, len);
    int same = digest && strcmp(digest, super_digest) == 0;
    free(digest);
    if (!same)
        return CORRAL_EAUTHFAILED;
    *id = strdup("");   /* ZooKeeper's super identity is super: with an empty id */
    return *id ? CORRAL_OK : CORRAL_EAUTHFAILED;
}

static int super_matches(const char *id, const char *acl_id)
{
    (void)id;
    (void)acl_id;
    return 1;
}

/* As in ZooKeeper, "super" is no ACL scheme: an ACL naming it is invalid. */
static int super_valid(const char *acl_id)
{
    (void)acl_id;
    return 0;
}

static const struct corral_auth_ops super_ops = {
    .size = sizeof(struct corral_auth_ops),
    .scheme = "super",
    .flags = CORRAL_AUTH_SUPERUSER,
    .authenticate = super_authenticate,
    .matches = super_matches,
    .valid_id = super_valid,
};

static int super_init(const struct corral_core *c)
{
    core = c;
    for (size_t i = 0; i < sizeof digest_keys_in_order / sizeof *digest_keys_in_order; i++) {
        const char *v = core->config_get(digest_keys_in_order[i]);
        if (v && *v) {
            if (!strchr(v, ':')) {
                core->log(CORRAL_LOG_ERROR, "super",
                          "%s must be user:BASE64(SHA1(user:password)), got '%s'",
                          digest_keys_in_order[i], v);
                return -1;
            }
            super_digest = strdup(v);
            break;
        }
    }
    if (!super_digest)
        core->log(CORRAL_LOG_WARN, "super", "no super digest configured (auth.super.digest): "
                                            "no session can become superuser");
    return 0;
}

static void super_fini(void)
{
    free(super_digest);
    super_digest = NULL;
}

static const struct corral_config_key super_keys[] = {
    {"auth.super.digest", "super:BASE64(SHA1(super:password))"},
    {"DigestAuthenticationProvider.superDigest", "ZooKeeper's name for the same"},
    {NULL, NULL},
};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_AUTH,
    .name = "super",
    .version = "1.0",
    .config_keys = super_keys,
    .init = super_init,
    .fini = super_fini,
    .ops = &super_ops,
};
