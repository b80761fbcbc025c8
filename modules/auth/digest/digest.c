/*
 * digest.c — the "digest" auth scheme: user name and password.
 *
 * `addauth digest user:password` gives the session the identity
 * "user:BASE64(SHA1(user:password))"; an ACL names that same string, so the
 * server never stores a password.  What ZooKeeper 3.8 accepts is accepted and
 * what it refuses is refused, byte for byte: any credential authenticates
 * (see ../zk_digest.c: no colon, several, empty, non-UTF-8), an ACL id is
 * valid when Java's id.split(":") has exactly two parts, and getACL without
 * ADMIN shows id.replaceAll(":.*", ":x").
 */
#include <stdlib.h>
#include <string.h>
#include "corral/module.h"
#include "../zk_digest.h"

static int digest_authenticate(const uint8_t *auth, int32_t len, const char *remote_addr,
                               char **id)
{
    (void)remote_addr;
    *id = zk_digest_id(auth, len);
    return *id ? CORRAL_OK : CORRAL_EAUTHFAILED;
}

static int digest_matches(const char *id, const char *acl_id) { return strcmp(id, acl_id) == 0; }

/*
 * Java's "a:b".split(":").length == 2: the fields between colons, trailing
 * empty ones dropped ("u:d:" and ":d" are valid, "u:" and "u:d:e" are not).
 */
static int digest_valid(const char *acl_id)
{
    int fields = 0, kept = 0;
    for (const char *p = acl_id;; p++) {
        const char *start = p;
        while (*p && *p != ':')
            p++;
        fields++;
        if (p > start)
            kept = fields;          /* the last non-empty field so far */
        if (!*p)
            break;
    }
    /* Java keeps the one field of a colon-free string even when empty */
    return (strchr(acl_id, ':') ? kept : 1) == 2;
}

/* A Java regex '.' stops at \n, \r, U+0085, U+2028 and U+2029. */
static size_t line_terminator(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    if (u[0] == '\n' || u[0] == '\r')
        return 1;
    if (u[0] == 0xC2 && u[1] == 0x85)
        return 2;
    if (u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9))
        return 3;
    return 0;
}

/*
 * getACL without ADMIN: ZooKeeper's id.replaceAll(":.*", ":x"), so the digest
 * stays secret ("user:x"); each colon and the rest of its line become ":x".
 */
static char *digest_redact(const char *acl_id)
{
    char *out = malloc(strlen(acl_id) * 2 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (const char *p = acl_id; *p;) {
        if (*p != ':') {
            out[o++] = *p++;
            continue;
        }
        out[o++] = ':';
        out[o++] = 'x';
        for (p++; *p && !line_terminator(p); p++)
            ;
    }
    out[o] = 0;
    return out;
}

static const struct corral_auth_ops digest_ops = {
    .size = sizeof(struct corral_auth_ops),
    .scheme = "digest",
    .authenticate = digest_authenticate,
    .matches = digest_matches,
    .valid_id = digest_valid,
    .redact_id = digest_redact,
};

static int digest_init(const struct corral_core *core)
{
    (void)core;
    return 0;
}

static const struct corral_config_key digest_keys[] = {{NULL, NULL}};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_AUTH,
    .name = "digest",
    .version = "1.0",
    .config_keys = digest_keys,
    .init = digest_init,
    .ops = &digest_ops,
};
