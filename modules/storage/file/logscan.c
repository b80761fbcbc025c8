/*
 * logscan.c — reading the entries of a txn log file's bytes, and telling a
 * write torn by a crash from damage.
 *
 * An entry is {long Adler-32, int length, length bytes of txn, byte 'B'}; the
 * written part of a file is followed by preallocated zeros.  A crash during a
 * write leaves the last entry incomplete: cut off, nothing acknowledged is
 * lost.  Damage (a flipped bit, a bad sector) must never be taken for that,
 * or every acknowledged txn after it would be dropped.  The trap is a damaged
 * length field: its declared end can land past the real data, in the zeros,
 * where it looks exactly like an entry whose tail was never written.  So an
 * entry only counts as torn when the bytes themselves show it is incomplete:
 *
 *   - nothing but zeros after its declared end;
 *   - not complete: its length is within the limit, all its bytes and the
 *     end-of-record byte are there, but the checksum is wrong (a damaged
 *     byte; ZooKeeper refuses such a log too);
 *   - its checksum does not match a prefix of the bytes after its header
 *     that an end-of-record byte follows (a damaged length field: the entry
 *     is complete at another length);
 *   - no valid entry (framing, checksum, a txn that decodes, a later zxid)
 *     starts anywhere after it.
 *
 * Each test is linear in the bytes after the entry: the prefix checksums are
 * one rolling Adler-32, and the search for later entries only checksums
 * candidates that pass cheap tests (length, end-of-record byte, zxid), within
 * a budget proportional to the bytes searched; a search that runs out of
 * budget proves nothing, so the entry counts as damage (the safe answer).
 */
#include <stdio.h>
#include <string.h>
#include "zkfile.h"

#define ADLER_MOD 65521u

static const uint8_t zeros[4096];

int zk_all_zero(const uint8_t *p, size_t len)
{
    for (; len >= sizeof zeros; p += sizeof zeros, len -= sizeof zeros)
        if (memcmp(p, zeros, sizeof zeros))
            return 0;
    return len == 0 || memcmp(p, zeros, len) == 0;
}

size_t zk_data_end(const uint8_t *map, size_t size, size_t from)
{
    size_t end = size;
    /* whole zero blocks first (the preallocated tail is most of a file) */
    while (end - from >= sizeof zeros && !memcmp(map + end - sizeof zeros, zeros, sizeof zeros))
        end -= sizeof zeros;
    while (end > from && map[end - 1] == 0)
        end--;
    return end;
}

int zk_entry_at(const uint8_t *map, size_t size, size_t off, int64_t limit,
                struct zk_entry *e, const char **what)
{
    memset(e, 0, sizeof *e);
    e->off = off;
    e->end = size;
    if (size - off < 12) {
        *what = "short entry header at the end of the file";
        return zk_all_zero(map + off, size - off) ? ZK_ENTRY_END : ZK_ENTRY_BAD;
    }
    uint64_t crc = zk_be64(map + off);
    int32_t len = (int32_t)zk_be32(map + off + 8);
    if (len == 0 && crc == 0 && zk_all_zero(map + off, size - off))
        return ZK_ENTRY_END;
    if (len <= 0 || len > limit) {
        *what = len == 0 ? "zero-length entry" : "entry with an impossible length";
        e->end = off + 12;
        return ZK_ENTRY_BAD;
    }
    if ((size_t)len + 13 > size - off) {
        *what = "entry cut short by the end of the file";
        return ZK_ENTRY_BAD;
    }
    const uint8_t *txn = map + off + 12;
    e->end = off + 13 + (size_t)len;
    if (crc != zk_adler32(1, txn, (size_t)len)) {
        *what = "checksum mismatch";
        return ZK_ENTRY_BAD;
    }
    if (txn[len] != ZK_EOR) {
        *what = "missing end-of-record byte";
        return ZK_ENTRY_BAD;
    }
    e->txn = txn;
    e->len = (size_t)len;
    return ZK_ENTRY_OK;
}

int64_t zk_entry_find(const uint8_t *map, size_t size, size_t from, size_t to, int64_t limit,
                      int64_t after, int64_t *budget, int64_t *zxid)
{
    if (to > size)
        to = size;
    /* the smallest entry: header, TxnHeader, end-of-record byte */
    for (size_t p = from + 1; p + 13 + ZK_TXN_HEADER_LEN <= to; p++) {
        const uint8_t *h = map + p;
        if (h[0] | h[1] | h[2] | h[3])          /* an Adler-32 in a long: high half zero */
            continue;
        int32_t len = (int32_t)zk_be32(h + 8);
        if (len < ZK_TXN_HEADER_LEN || len > limit || (size_t)len + 13 > to - p ||
            h[12 + len] != ZK_EOR)
            continue;
        int64_t z = (int64_t)zk_be64(h + 12 + 12);
        int32_t type = (int32_t)zk_be32(h + 12 + 28);
        if (z <= after || type < CORRAL_OP_CLOSE_SESSION || type > CORRAL_OP_CREATE_TTL)
            continue;
        if ((*budget -= len) < 0)
            return -2;
        if (zk_be64(h) != zk_adler32(1, h + 12, (size_t)len))
            continue;
        struct corral_txn t;
        if (zk_txn_decode(h + 12, (size_t)len, &t) < 0)
            continue;
        zk_txn_free(&t);
        *zxid = z;
        return (int64_t)p;
    }
    return -1;
}

/*
 * The length at which the bytes after the header at off, checksummed, give
 * crc and are followed by an end-of-record byte, looking no further than
 * data_end (the mark is not zero, so it is before that); -1 when none.
 */
static int64_t checksum_length(const uint8_t *map, size_t off, size_t data_end, uint64_t crc)
{
    if (crc >> 32 || data_end < off + 14)
        return -1;
    const uint8_t *p = map + off + 12;
    size_t max = data_end - off - 13;
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < max; i++) {
        a += p[i];
        if (a >= ADLER_MOD)
            a -= ADLER_MOD;
        b += a;
        if (b >= ADLER_MOD)
            b -= ADLER_MOD;
        if (p[i + 1] == ZK_EOR && ((uint64_t)b << 16 | a) == crc)
            return (int64_t)i + 1;
    }
    return -1;
}

int zk_damage_is_torn(const uint8_t *map, size_t size, const struct zk_entry *bad, int64_t limit,
                      int64_t prev_zxid, char *why, size_t why_len)
{
    size_t off = bad->off;
    size_t data_end = zk_data_end(map, size, off);
    if (size - off >= 12) {
        uint64_t crc = zk_be64(map + off);
        int32_t len = (int32_t)zk_be32(map + off + 8);
        int64_t real = checksum_length(map, off, data_end, crc);
        if (real >= 0 && real == len) {
            snprintf(why, why_len, "it is a complete entry of %d bytes, more than the txn "
                     "limit of %lld bytes (jute.maxbuffer + jute.maxbuffer.extrasize): raise "
                     "them to read it", len, (long long)limit);
            return 0;
        }
        if (real >= 0) {
            snprintf(why, why_len, "its checksum matches its first %lld bytes, which an "
                     "end-of-record byte follows, not the %d bytes its length field says: a "
                     "damaged length field, not a torn write", (long long)real, len);
            return 0;
        }
        if (len > 0 && len <= limit && (size_t)len + 13 <= size - off) {
            uint8_t eor = map[off + 12 + (size_t)len];
            if (eor == ZK_EOR) {
                snprintf(why, why_len, "all its bytes and its end-of-record byte are there but "
                         "the checksum does not match: damaged bytes, not a torn write");
                return 0;
            }
            if (eor != 0) {
                snprintf(why, why_len, "its end-of-record byte is 0x%02x, not 'B': damaged "
                         "bytes, not a torn write", eor);
                return 0;
            }
        }
    }
    if (data_end > bad->end) {
        size_t nz = bad->end;
        while (nz < data_end && map[nz] == 0)
            nz++;
        snprintf(why, why_len, "data follows it (at offset %zu): it is not the last thing "
                 "written", nz);
        return 0;
    }
    /* checksumming every candidate is bounded: a few times the bytes searched */
    int64_t budget = 4 * (int64_t)(data_end - off) + (1 << 22), zxid = 0;
    int64_t at = zk_entry_find(map, size, off, data_end, limit, prev_zxid, &budget, &zxid);
    if (at >= 0) {
        snprintf(why, why_len, "a valid entry (txn 0x%llx) starts after it, at offset %lld: "
                 "a damaged entry, not a torn write", (unsigned long long)zxid, (long long)at);
        return 0;
    }
    if (at == -2) {
        snprintf(why, why_len, "the bytes after it could not all be checked for valid entries");
        return 0;
    }
    return 1;
}
