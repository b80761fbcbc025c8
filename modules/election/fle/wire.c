/*
 * wire.c — the election port's bytes (see wire.h).  Big-endian throughout,
 * as Java's DataOutputStream and ByteBuffer write them.
 */
#include <string.h>
#include "wire.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

size_t fle_initial_encode(uint8_t *buf, size_t cap, int64_t sid, const char *addr)
{
    size_t n = strlen(addr);
    if (n == 0 || n > FLE_MAX_ADDRESS || cap < 20 + n)
        return 0;
    put64(buf, (uint64_t)FLE_PROTOCOL_V1);
    put64(buf + 8, (uint64_t)sid);
    put32(buf + 16, (uint32_t)n);
    memcpy(buf + 20, addr, n);
    return 20 + n;
}

/*
 * One "host:port" of an address list, as InitialMessage.parse wants it:
 * ConfigUtils.getHostAndPort gives exactly two parts ("[v6]:port" keeps the
 * brackets' content whole) and the port is a number.
 */
static int address_ok(const char *s, size_t n)
{
    size_t colon;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || (size_t)(close - s) + 1 >= n || close[1] != ':')
            return 0;
        colon = (size_t)(close - s) + 1;
    } else {
        const char *c = memchr(s, ':', n);
        if (!c || memchr(c + 1, ':', n - (size_t)(c - s) - 1))
            return 0;
        colon = (size_t)(c - s);
    }
    size_t digits = n - colon - 1;
    if (digits == 0 || digits > 5)
        return 0;
    unsigned port = 0;
    for (size_t i = colon + 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        port = port * 10 + (unsigned)(s[i] - '0');
    }
    return port <= 65535;
}

int fle_initial_decode(const uint8_t *b, size_t len, struct fle_initial *out, const char **why)
{
    if (len < 8)
        return 0;
    memset(out, 0, sizeof *out);
    out->protocol = (int64_t)get64(b);
    if (out->protocol >= 0) {
        out->sid = out->protocol;
        return 8;
    }
    if (out->protocol != FLE_PROTOCOL_V1 && out->protocol != FLE_PROTOCOL_V2) {
        *why = "unrecognized protocol version";
        return -1;
    }
    if (len < 20)
        return 0;
    out->sid = (int64_t)get64(b + 8);
    int32_t n = (int32_t)get32(b + 16);
    if (n <= 0 || n > FLE_MAX_ADDRESS) {
        *why = "unreasonable address length";
        return -1;
    }
    if (len < 20 + (size_t)n)
        return 0;
    const char *s = (const char *)b + 20;
    /* "h1:p1|h2:p2|…" (V2; a V1 peer sends one) */
    for (size_t start = 0, i = 0; i <= (size_t)n; i++) {
        if (i == (size_t)n || s[i] == '|') {
            if (!address_ok(s + start, i - start)) {
                *why = "badly formed address";
                return -1;
            }
            start = i + 1;
        } else if (s[i] == 0) {
            *why = "badly formed address";
            return -1;
        }
    }
    memcpy(out->address, s, (size_t)n);
    out->address[n] = 0;
    return 20 + n;
}

int fle_frame_length_ok(int32_t len)
{
    return len > 0 && len <= FLE_MAX_FRAME;
}

size_t fle_notification_size(const struct fle_notification *n)
{
    return FLE_NOTIFICATION_HEADER + (size_t)(n->config_len > 0 ? n->config_len : 0);
}

void fle_notification_encode(uint8_t *buf, const struct fle_notification *n)
{
    int32_t clen = n->config_len > 0 ? n->config_len : 0;
    put32(buf, (uint32_t)n->state);
    put64(buf + 4, (uint64_t)n->leader);
    put64(buf + 12, (uint64_t)n->zxid);
    put64(buf + 20, (uint64_t)n->election_epoch);
    put64(buf + 28, (uint64_t)n->peer_epoch);
    put32(buf + 36, FLE_NOTIFICATION_VERSION);
    put32(buf + 40, (uint32_t)clen);
    if (clen)
        memcpy(buf + 44, n->config, (size_t)clen);
}

int fle_notification_decode(const uint8_t *b, size_t len, struct fle_notification *out,
                            const char **why)
{
    memset(out, 0, sizeof *out);
    if (len < 28) {
        *why = "shorter than 28 bytes";
        return -1;
    }
    out->state = (int32_t)get32(b);
    out->leader = (int64_t)get64(b + 4);
    out->zxid = (int64_t)get64(b + 12);
    out->election_epoch = (int64_t)get64(b + 20);
    if (len == 28) {
        /* before ZOOKEEPER-107: the epoch is the zxid's (an arithmetic shift in Java) */
        out->peer_epoch = out->zxid >> 32;
        return 0;
    }
    if (len < 36) {
        *why = "truncated peer epoch";
        return -1;
    }
    out->peer_epoch = (int64_t)get64(b + 28);
    if (len == 40)
        return 0;               /* no version: before 3.4.6 */
    if (len < 40) {
        *why = "truncated version";
        return -1;
    }
    out->version = (int32_t)get32(b + 36);
    if (out->version <= 1)
        return 0;               /* no config: before reconfig */
    if (len < 44) {
        *why = "truncated config length";
        return -1;
    }
    int32_t clen = (int32_t)get32(b + 40);
    if (clen < 0 || (size_t)clen > len) {
        *why = "invalid config length";
        return -1;
    }
    if ((size_t)clen > len - 44) {
        *why = "truncated config";
        return -1;
    }
    out->config = b + 44;
    out->config_len = clen;
    return 0;
}
