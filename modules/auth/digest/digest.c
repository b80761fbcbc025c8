/*
 * digest.c — the "digest" auth scheme: user name and password.
 *
 * `addauth digest user:password` gives the session the identity
 * "user:BASE64(SHA1(user:password))"; an ACL names that same string, so the
 * server never stores a password.  SHA-1 and base64 come from OpenSSL's
 * libcrypto.
 */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include "corral/module.h"

#define MAX_CREDENTIAL 4096

/* "user:password" → "user:base64(sha1(user:password))", malloc'd; NULL if malformed. */
static char *digest_of(const uint8_t *cred, int32_t len)
{
    if (!cred || len <= 0 || len > MAX_CREDENTIAL)
        return NULL;
    const uint8_t *colon = memchr(cred, ':', (size_t)len);
    if (!colon || memchr(cred, 0, (size_t)len))
        return NULL;
    size_t user_len = (size_t)(colon - cred);
    unsigned char sha[SHA_DIGEST_LENGTH];
    SHA1(cred, (size_t)len, sha);
    unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
    EVP_EncodeBlock(b64, sha, SHA_DIGEST_LENGTH);
    char *id = malloc(user_len + 1 + sizeof b64);
    if (!id)
        return NULL;
    memcpy(id, cred, user_len);
    id[user_len] = ':';
    strcpy(id + user_len + 1, (const char *)b64);
    return id;
}

static int digest_authenticate(const uint8_t *auth, int32_t len, const char *remote_addr,
                               char **id)
{
    (void)remote_addr;
    *id = digest_of(auth, len);
    return *id ? CORRAL_OK : CORRAL_EAUTHFAILED;
}

static int digest_matches(const char *id, const char *acl_id) { return strcmp(id, acl_id) == 0; }

/* ZooKeeper accepts any "user:digest" with exactly one colon. */
static int digest_valid(const char *acl_id)
{
    const char *colon = strchr(acl_id, ':');
    return colon && colon != acl_id && !strchr(colon + 1, ':') && colon[1];
}

/* getACL without ADMIN shows "user:x": the digest stays secret. */
static char *digest_redact(const char *acl_id)
{
    const char *colon = strchr(acl_id, ':');
    size_t user = colon ? (size_t)(colon - acl_id) : strlen(acl_id);
    char *out = malloc(user + 3);
    if (!out)
        return NULL;
    memcpy(out, acl_id, user);
    strcpy(out + user, ":x");
    return out;
}

static const struct corral_auth_ops digest_ops = {
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
    .kind = CORRAL_MODULE_AUTH,
    .name = "digest",
    .version = "1.0",
    .config_keys = digest_keys,
    .init = digest_init,
    .ops = &digest_ops,
};
