/*
 * ip.c — the "ip" auth scheme: a session is identified by the numeric
 * address it connects from.  An ACL id is an address ("10.0.0.7",
 * "::1") or a CIDR range ("10.0.0.0/8", "fe80::/10"); it matches a session
 * whose address lies in it.  IPv4-mapped IPv6 peers ("::ffff:127.0.0.1")
 * compare as IPv4.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "corral/module.h"

struct ip_range {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
};

/* Parse "addr" or "addr/bits"; 0 on success. */
static int parse_range(const char *text, struct ip_range *r)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (!text || strlen(text) >= sizeof buf)
        return -1;
    strcpy(buf, text);
    char *slash = strchr(buf, '/');
    int bits = -1;
    if (slash) {
        *slash = 0;
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || b < 0 || b > 128)
            return -1;
        bits = (int)b;
    }
    memset(r, 0, sizeof *r);
    if (inet_pton(AF_INET, buf, r->addr) == 1) {
        r->family = AF_INET;
        if (bits > 32)
            return -1;
        r->bits = bits < 0 ? 32 : bits;
    } else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(r->addr, mapped, 12) == 0) {     /* ::ffff:a.b.c.d is IPv4 */
            memmove(r->addr, r->addr + 12, 4);
            r->family = AF_INET;
            r->bits = bits < 0 ? 32 : bits > 96 ? bits - 96 : 0;
        } else {
            r->family = AF_INET6;
            r->bits = bits < 0 ? 128 : bits;
        }
    } else {
        return -1;
    }
    return 0;
}

static char *ip_identify(const char *remote_addr)
{
    struct ip_range r;
    if (!remote_addr || parse_range(remote_addr, &r) != 0)
        return NULL;
    char out[INET6_ADDRSTRLEN];
    if (!inet_ntop(r.family, r.addr, out, sizeof out))
        return NULL;
    return strdup(out);
}

/* ZooKeeper's addauth ip: the session gets its own address, whatever was sent. */
static int ip_authenticate(const uint8_t *auth, int32_t len, const char *remote_addr, char **id)
{
    (void)auth;
    (void)len;
    *id = ip_identify(remote_addr);
    return *id ? CORRAL_OK : CORRAL_EAUTHFAILED;
}

static int ip_matches(const char *id, const char *acl_id)
{
    struct ip_range who, range;
    if (parse_range(id, &who) != 0 || parse_range(acl_id, &range) != 0)
        return 0;
    if (who.family != range.family)
        return 0;
    int full = range.bits / 8, rest = range.bits % 8;
    if (memcmp(who.addr, range.addr, (size_t)full) != 0)
        return 0;
    if (rest) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        if ((who.addr[full] & mask) != (range.addr[full] & mask))
            return 0;
    }
    return 1;
}

static int ip_valid(const char *acl_id)
{
    struct ip_range r;
    return parse_range(acl_id, &r) == 0;
}

static const struct corral_auth_ops ip_ops = {
    .size = sizeof(struct corral_auth_ops),
    .scheme = "ip",
    .identify_connection = ip_identify,
    .authenticate = ip_authenticate,
    .matches = ip_matches,
    .valid_id = ip_valid,
};

static int ip_init(const struct corral_core *core)
{
    (void)core;
    return 0;
}

static const struct corral_config_key ip_keys[] = {{NULL, NULL}};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_AUTH,
    .name = "ip",
    .version = "1.0",
    .config_keys = ip_keys,
    .init = ip_init,
    .ops = &ip_ops,
};
