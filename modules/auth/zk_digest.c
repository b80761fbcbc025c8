/*
 * zk_digest.c — the identity ZooKeeper 3.8's DigestAuthenticationProvider
 * gives a credential, byte for byte.
 *
 * ZooKeeper refuses no credential but a null one: it decodes the bytes into a
 * Java String (UTF-8, each malformed sequence becoming U+FFFD), takes the
 * user as everything before the first ':' (all of it when there is none: the
 * Go client's tests send "blah"), and hashes the string's UTF-8 bytes, so
 * "user:BASE64(SHA1(...))" is computed over the *repaired* bytes.  An empty
 * credential is the user "" and the SHA-1 of nothing.  ZooKeeper decodes with
 * the JVM's default charset, UTF-8 on Java 18+ and on any UTF-8 locale; with
 * a C locale it would repair every non-ASCII byte, which no deployment
 * relies on.  One departure: a NUL in the user part (legal in a Java String,
 * not in Corral's C-string identities) is shown as U+FFFD; the hash still
 * covers the NUL, so the identity cannot collide with another credential's.
 */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include "zk_digest.h"

static const uint8_t REPLACEMENT[3] = {0xEF, 0xBF, 0xBD};       /* U+FFFD */

/*
 * Length of the well-formed UTF-8 sequence at p[0..n), or 0 when malformed;
 * *bad is then how many bytes Java's decoder (JDK 17 String) replaces with
 * one U+FFFD: the longest prefix that could still have been well formed
 * (Unicode's "maximal subpart"), except that an encoded UTF-16 surrogate
 * (ED A0..BF xx) is one replacement for all three bytes.
 */
static size_t utf8_seq(const uint8_t *p, size_t n, size_t *bad)
{
    uint8_t b = p[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        need = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        need = 3;
        if (b == 0xE0)
            lo = 0xA0;              /* no overlong forms */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;              /* nothing above U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= n || p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF)) {
            *bad = i;
            return 0;
        }
    }
    if (b == 0xED && p[1] >= 0xA0) {        /* a surrogate: not a character */
        *bad = 3;
        return 0;
    }
    return need;
}

/* cred with every malformed sequence replaced by U+FFFD, malloc'd; *out_len its length. */
static uint8_t *repair_utf8(const uint8_t *cred, size_t len, size_t *out_len)
{
    uint8_t *out = calloc(len * 3 + 1, 1);  /* a bad byte grows into at most 3 */
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t bad = 0, n = utf8_seq(cred + i, len - i, &bad);
        if (n) {
            memcpy(out + o, cred + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, REPLACEMENT, sizeof REPLACEMENT);
            o += sizeof REPLACEMENT;
            i += bad;
        }
    }
    *out_len = o;
    return out;
}

char *zk_digest_id(const uint8_t *cred, int32_t len)
{
    if (len < 0 || (!cred && len > 0))
        return NULL;
    size_t n;
    uint8_t *text = repair_utf8(cred ? cred : (const uint8_t *)"", (size_t)len, &n);
    if (!text)
        return NULL;
    unsigned char sha[SHA_DIGEST_LENGTH];
    SHA1(text, n, sha);
    unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
    EVP_EncodeBlock(b64, sha, SHA_DIGEST_LENGTH);
    const uint8_t *colon = memchr(text, ':', n);
    size_t user = colon ? (size_t)(colon - text) : n, nuls = 0;
    for (size_t i = 0; i < user; i++)
        nuls += text[i] == 0;
    char *id = malloc(user + 2 * nuls + 1 + sizeof b64);
    if (id) {
        size_t o = 0;
        for (size_t i = 0; i < user; i++) {
            if (text[i]) {
                id[o++] = (char)text[i];
            } else {
                memcpy(id + o, REPLACEMENT, sizeof REPLACEMENT);
                o += sizeof REPLACEMENT;
            }
        }
        id[o++] = ':';
        strcpy(id + o, (const char *)b64);
    }
    free(text);
    return id;
}
