/*
 * storage-file-format.c — unit tests of the file storage module's format code
 * against bytes Apache ZooKeeper 3.8 wrote.
 *
 * The entries below were copied from a txn log written by the Debian
 * zookeeper 3.8.0 package (a kazoo client: createSession, create /a "hello",
 * create ephemeral /a/b).  The decoder must read them (ignoring the TxnDigest
 * ZooKeeper appends), the encoder must produce the same txn bytes, and the
 * framer the same entry (Adler-32, length, 'B').  Plus: a multi round trip,
 * file names, ZooKeeper's per-node digest, the core's txn size agreeing
 * with the encoder for every type, and the log scanner telling torn writes
 * from damage (logscan.c) on a log image built here.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include "tap.h"
#include <string.h>
/* libzk (txn records, node digest) and the module's libzklog (framing, scanner), linked */
#include "zkfile.h"
#include "../../core/txn_size.c"

/* checksum, length, txn (header, record, TxnDigest), 'B' — as ZooKeeper wrote them */
static const uint8_t zk_create_session[] = {
    0x00, 0x00, 0x00, 0x00, 0xcb, 0x29, 0x09, 0xee, 0x00, 0x00, 0x00, 0x30, 0x01, 0x00, 0x00, 0x6f,
    0xbc, 0xcc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x01, 0xa2, 0x07, 0x52, 0x75, 0x0a, 0xff, 0xff, 0xff, 0xf6, 0x00, 0x00, 0x27, 0x10,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x51, 0xc6, 0xd6, 0x60, 0x42};
static const uint8_t zk_create_a[] = {
    0x00, 0x00, 0x00, 0x00, 0x1c, 0x56, 0x0c, 0xf5, 0x00, 0x00, 0x00, 0x5b, 0x01, 0x00, 0x00, 0x6f,
    0xbc, 0xcc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x01, 0xa2, 0x07, 0x52, 0x75, 0x3a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
    0x2f, 0x61, 0x00, 0x00, 0x00, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x05, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x00, 0x00, 0x00, 0x06,
    0x61, 0x6e, 0x79, 0x6f, 0x6e, 0x65, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00,
    0x00, 0x00, 0x00, 0x82, 0xc1, 0x24, 0x5b, 0x42};
static const uint8_t zk_create_ephemeral[] = {
    0x00, 0x00, 0x00, 0x00, 0xd1, 0x40, 0x0c, 0xbd, 0x00, 0x00, 0x00, 0x58, 0x01, 0x00, 0x00, 0x6f,
    0xbc, 0xcc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x01, 0xa2, 0x07, 0x52, 0x75, 0x4f, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04,
    0x2f, 0x61, 0x2f, 0x62, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1f,
    0x00, 0x00, 0x00, 0x05, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x00, 0x00, 0x00, 0x06, 0x61, 0x6e, 0x79,
    0x6f, 0x6e, 0x65, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
    0xe5, 0x52, 0xdd, 0xe4, 0x42};

/*
 * closeSession with ZooKeeper 3.8's CloseSessionTxn {vector<ustring>
 * paths2Delete}, from another log of the same package: a session that created
 * ephemerals /a/b, /c, /a/d (in that order) and closed, listing them in its
 * HashSet's order; and a session without ephemerals, an empty list.
 */
static const uint8_t zk_close_three[] = {
    0x00, 0x00, 0x00, 0x00, 0x9e, 0x7e, 0x0b, 0xc1, 0x00, 0x00, 0x00, 0x46, 0x01, 0x00, 0x00, 0x4f,
    0x28, 0xc7, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
    0x00, 0x00, 0x01, 0xa2, 0x37, 0x5d, 0x2d, 0xdc, 0xff, 0xff, 0xff, 0xf5, 0x00, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x00, 0x04, 0x2f, 0x61, 0x2f, 0x64, 0x00, 0x00, 0x00, 0x04, 0x2f, 0x61, 0x2f, 0x62,
    0x00, 0x00, 0x00, 0x02, 0x2f, 0x63, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0xbf, 0x37,
    0x49, 0x1c, 0x42};
static const uint8_t zk_close_empty[] = {
    0x00, 0x00, 0x00, 0x00, 0xb1, 0x13, 0x09, 0x63, 0x00, 0x00, 0x00, 0x30, 0x01, 0x00, 0x00, 0x4f,
    0x28, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x01, 0xa2, 0x37, 0x5d, 0x2d, 0x7b, 0xff, 0xff, 0xff, 0xf5, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x51, 0xc6, 0xd6, 0x60, 0x42};

#define TXN(e) ((e) + 12)
#define TXN_LEN(e) ((size_t)(sizeof(e) - 13))
#define DIGEST_LEN 12   /* TxnDigest {int version, long treeDigest} */

static void check_entry_frame(const uint8_t *entry, size_t len, const char *what)
{
    struct jute_buf b;
    jute_buf_init(&b);
    zk_entry_frame(&b, entry + 12, len - 13);
    ok(b.len == len && !memcmp(b.data, entry, len), "%s: framing gives ZooKeeper's exact entry", what);
    jute_buf_free(&b);
}

static void check_reencode(const uint8_t *entry, size_t len, const struct corral_txn *t, const char *what)
{
    struct jute_buf b;
    jute_buf_init(&b);
    ok(zk_txn_encode(&b, t) == 0, "%s: encodes", what);
    size_t want = len - 13 - DIGEST_LEN;
    ok(b.len == want && !memcmp(b.data, entry + 12, want),
       "%s: encoding gives ZooKeeper's bytes (header + record)", what);
    jute_buf_free(&b);
}

/* The core's measure of a txn is the encoder's length, for every type. */
static void check_size(const struct corral_txn *t, const char *what)
{
    struct jute_buf b;
    jute_buf_init(&b);
    int rc = zk_txn_encode(&b, t);
    ok(rc == 0 && (int64_t)b.len == txn_encoded_size(t), "%s: txn_encoded_size is the encoded "
       "length (%zu)", what, b.len);
    jute_buf_free(&b);
}

static void check_sizes(void)
{
    struct corral_acl acls[2] = {{CORRAL_PERM_ALL, "digest", "u:abcdefghijk="},
                                 {CORRAL_PERM_READ, "world", "anyone"}};
    struct corral_txn t = {.session_id = 1, .cxid = 2, .zxid = 3, .time = 4};
    int32_t types[] = {CORRAL_OP_CREATE, CORRAL_OP_CREATE2, CORRAL_OP_CREATE_CONTAINER,
                       CORRAL_OP_CREATE_TTL, CORRAL_OP_DELETE, CORRAL_OP_DELETE_CONTAINER,
                       CORRAL_OP_SET_DATA, CORRAL_OP_SET_ACL, CORRAL_OP_CHECK, CORRAL_OP_ERROR,
                       CORRAL_OP_CREATE_SESSION, CORRAL_OP_CLOSE_SESSION};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        t.type = types[i];
        t.path = "/some/path";
        t.data = (uint8_t *)"0123456789";
        t.data_len = 10;
        t.acl = acls;
        t.n_acl = 2;
        char what[64];
        snprintf(what, sizeof what, "type %d", types[i]);
        check_size(&t, what);
        t.data = NULL;
        t.data_len = -1;
        snprintf(what, sizeof what, "type %d, null data", types[i]);
        check_size(&t, what);
    }
    struct corral_txn subs[3] = {
        {.type = CORRAL_OP_CREATE, .path = "/m", .data = (uint8_t *)"xy", .data_len = 2,
         .acl = acls, .n_acl = 1},
        {.type = CORRAL_OP_SET_DATA, .path = "/n", .data_len = 0},
        {.type = CORRAL_OP_ERROR, .err = CORRAL_ERUNTIMEINCONSISTENCY}};
    struct corral_txn multi = {.zxid = 9, .type = CORRAL_OP_MULTI, .subs = subs, .n_subs = 3};
    check_size(&multi, "multi with an error member");
    char *paths[] = {"/a", "/bb/c", ""};
    struct corral_txn close = {.zxid = 9, .type = CORRAL_OP_CLOSE_SESSION, .close_paths = paths,
                               .n_close_paths = 3};
    check_size(&close, "closeSession with a list");
    close.n_close_paths = 0;
    check_size(&close, "closeSession with an empty list");
    close.n_close_paths = -1;
    check_size(&close, "closeSession without a list");
}

/* CloseSessionTxn: ZooKeeper's bytes decode to the list, in its order, and back. */
static void check_close_session(void)
{
    struct corral_txn t;
    ok(zk_txn_decode(TXN(zk_close_three), TXN_LEN(zk_close_three), &t) == 0 &&
       t.type == CORRAL_OP_CLOSE_SESSION && t.session_id == 0x100004f28c70002LL && t.zxid == 9,
       "decodes ZooKeeper's closeSession");
    ok(t.n_close_paths == 3 && !strcmp(t.close_paths[0], "/a/d") &&
       !strcmp(t.close_paths[1], "/a/b") && !strcmp(t.close_paths[2], "/c"),
       "its paths2Delete, in the txn's order");
    check_reencode(zk_close_three, sizeof zk_close_three, &t, "closeSession with paths");
    check_size(&t, "ZooKeeper's closeSession");
    check_entry_frame(zk_close_three, sizeof zk_close_three, "closeSession with paths");
    zk_txn_free(&t);
    ok(t.close_paths == NULL && t.n_close_paths == 0, "zk_txn_free frees the list");

    ok(zk_txn_decode(TXN(zk_close_empty), TXN_LEN(zk_close_empty), &t) == 0 &&
       t.n_close_paths == 0, "an empty paths2Delete is a list of none, not the bodiless form");
    check_reencode(zk_close_empty, sizeof zk_close_empty, &t, "closeSession, empty list");
    zk_txn_free(&t);

    /* the bodiless form: the header alone, or followed by a TxnDigest */
    struct jute_buf b;
    jute_buf_init(&b);
    struct corral_txn bare = {.session_id = 9, .zxid = 10, .type = CORRAL_OP_CLOSE_SESSION,
                              .n_close_paths = -1};
    ok(zk_txn_encode(&b, &bare) == 0 && b.len == ZK_TXN_HEADER_LEN, "bodiless: the header alone");
    ok(zk_txn_decode(b.data, b.len, &t) == 0 && t.n_close_paths == -1 && !t.close_paths,
       "and it reads back bodiless");
    zk_txn_free(&t);
    jute_put_int(&b, 2);                            /* TxnDigest version */
    jute_put_long(&b, 0x7fe1d2c3b4a59687LL);        /* tree digest */
    ok(zk_txn_decode(b.data, b.len, &t) == 0 && t.n_close_paths == -1 && !t.close_paths,
       "bodiless followed by a TxnDigest: still no list (the digest is not one)");
    zk_txn_free(&t);
    jute_buf_reset(&b);
    ok(zk_txn_encode(&b, &bare) == 0, "encodes");
    jute_put_int(&b, 2);
    jute_put_int(&b, 3);
    jute_put_string(&b, "/x");
    ok(zk_txn_decode(b.data, b.len, &t) == 0 && t.n_close_paths == -1,
       "a list cut short is no list");
    zk_txn_free(&t);
    jute_buf_free(&b);
}

/* ---- log images for the scanner ---- */

#define N_ENTRIES 8
static uint8_t image[16 + N_ENTRIES * 200 + 65536];
static size_t entry_off[N_ENTRIES + 1];     /* [N_ENTRIES]: the end of the written part */

static void build_image(void)
{
    memset(image, 0, sizeof image);
    memcpy(image, "ZKLG\0\0\0\2\0\0\0\0\0\0\0\0", 16);
    size_t off = 16;
    for (int i = 0; i < N_ENTRIES; i++) {
        char data[64];
        snprintf(data, sizeof data, "value number %d, somewhat longer", i);
        struct corral_txn t = {.session_id = 7, .zxid = 0x100 + i, .time = 1000 + i,
                               .type = CORRAL_OP_SET_DATA, .path = "/a/node",
                               .data = (uint8_t *)data, .data_len = (int32_t)strlen(data)};
        struct jute_buf txn, entry;
        jute_buf_init(&txn);
        jute_buf_init(&entry);
        zk_txn_encode(&txn, &t);
        zk_entry_frame(&entry, txn.data, txn.len);
        entry_off[i] = off;
        memcpy(image + off, entry.data, entry.len);
        off += entry.len;
        jute_buf_free(&txn);
        jute_buf_free(&entry);
    }
    entry_off[N_ENTRIES] = off;
}

/* Walk the image: the offset of the first bad entry (its verdict in *torn, why in why), or -1. */
static long long scan(int64_t limit, int *torn, char *why, size_t why_len)
{
    size_t off = 16;
    int64_t prev = 0xff;
    for (;;) {
        struct zk_entry e;
        const char *what;
        int kind = zk_entry_at(image, sizeof image, off, limit, &e, &what);
        if (kind == ZK_ENTRY_END)
            return -1;
        if (kind == ZK_ENTRY_BAD) {
            *torn = zk_damage_is_torn(image, sizeof image, &e, limit, prev, why, why_len);
            return (long long)off;
        }
        prev = (int64_t)zk_be64(e.txn + 12);
        off = e.end;
    }
}

static void expect(const char *what, long long at, int torn, const char *why_has)
{
    int t = -1;
    char why[512] = "";
    long long got = scan(1 << 20, &t, why, sizeof why);
    ok(got == at && t == torn && (!why_has || strstr(why, why_has)),
       "%s: bad entry at %lld, %s", what, at, torn ? "torn (cut)" : "damage (refused)");
    if (got != at || t != torn)
        fprintf(stderr, "#   got offset %lld, torn %d: %s\n", got, t, why);
    build_image();
}

static void set_len(int i, uint32_t len)
{
    uint8_t *p = image + entry_off[i] + 8;
    p[0] = len >> 24; p[1] = len >> 16; p[2] = len >> 8; p[3] = len;
}

static uint32_t len_of(int i) { return zk_be32(image + entry_off[i] + 8); }

static void check_scanner(void)
{
    build_image();
    int torn;
    char why[512];
    ok(scan(1 << 20, &torn, why, sizeof why) == -1, "an intact image reads to the end");

    /* a flipped bit makes a middle entry's length point into the zeros */
    set_len(3, len_of(3) | 0x1000);
    expect("middle entry, length bit flipped up", (long long)entry_off[3], 0, "length field");
    set_len(3, len_of(3) ^ 0x4);
    expect("middle entry, length bit flipped down", (long long)entry_off[3], 0, NULL);
    set_len(3, 0x40000000);
    expect("middle entry, impossible length", (long long)entry_off[3], 0, "length field");
    memset(image + entry_off[3], 0, 12);
    expect("middle entry header zeroed", (long long)entry_off[3], 0, "data follows");
    /* the same in the last entry */
    int last = N_ENTRIES - 1;
    set_len(last, len_of(last) | 0x1000);
    expect("last entry, length bit flipped up", (long long)entry_off[last], 0, "length field");
    set_len(last, len_of(last) | 0x10000000);
    expect("last entry, length past the end of the file", (long long)entry_off[last], 0,
           "length field");
    image[entry_off[last] + 40] ^= 0x10;
    expect("last entry, a byte flipped", (long long)entry_off[last], 0, "all its bytes");
    image[entry_off[last] + 5] ^= 0x01;
    expect("last entry, its checksum flipped", (long long)entry_off[last], 0, "all its bytes");
    image[entry_off[N_ENTRIES] - 1] = 'C';
    expect("last entry, end-of-record byte wrong", (long long)entry_off[last], 0, "0x43");
    /* torn writes */
    memset(image + entry_off[last] + 30, 0, entry_off[N_ENTRIES] - entry_off[last] - 30);
    expect("last entry written half way", (long long)entry_off[last], 1, NULL);
    memset(image + entry_off[last] + 12, 0, entry_off[N_ENTRIES] - entry_off[last] - 12);
    expect("last entry: its header only", (long long)entry_off[last], 1, NULL);
    memset(image + entry_off[last] + 6, 0, entry_off[N_ENTRIES] - entry_off[last] - 6);
    expect("last entry: half its header", (long long)entry_off[last], 1, NULL);
    image[entry_off[N_ENTRIES] - 1] = 0;
    expect("last entry: all but its end-of-record byte", (long long)entry_off[last], 1, NULL);
    /* a torn batch of two: the first cut short, the second's bytes are there */
    memset(image + entry_off[last - 1] + 30, 0, 20);
    expect("torn batch whose second entry is intact", (long long)entry_off[last - 1], 0, NULL);
    /* a valid entry longer than the limit */
    int t2 = -1;
    char why2[512] = "";
    long long at = scan(60, &t2, why2, sizeof why2);
    ok(at == 16 && t2 == 0 && strstr(why2, "more than the txn limit of 60"),
       "an entry over the limit is named as such: %s", why2);
    build_image();
    int64_t budget = 1 << 20, zxid = 0;
    is_int(zk_entry_find(image, sizeof image, entry_off[2] + 1, entry_off[N_ENTRIES], 1 << 20,
                         0x100, &budget, &zxid), (long long)entry_off[3],
           "zk_entry_find finds the next entry start");
    is_int(zxid, 0x103, "and its zxid");
    budget = 10;
    is_int(zk_entry_find(image, sizeof image, entry_off[2] + 1, entry_off[N_ENTRIES], 1 << 20,
                         0x100, &budget, &zxid), -2, "a search out of budget says so");
    is_int(zk_data_end(image, sizeof image, 16), (long long)entry_off[N_ENTRIES],
           "zk_data_end: just past the last entry");
}

int main(void)
{
    struct corral_txn t;

    /* createSession */
    ok(zk_txn_decode(TXN(zk_create_session), TXN_LEN(zk_create_session), &t) == 0,
       "decodes ZooKeeper's createSession (TxnDigest after the record ignored)");
    is_int(t.session_id, 0x100006fbccc0000LL, "clientId");
    is_int(t.zxid, 1, "zxid");
    is_int(t.type, CORRAL_OP_CREATE_SESSION, "type createSession (-10)");
    is_int(t.timeout, 10000, "timeOut");
    check_reencode(zk_create_session, sizeof zk_create_session, &t, "createSession");
    check_entry_frame(zk_create_session, sizeof zk_create_session, "createSession");
    zk_txn_free(&t);

    /* create /a "hello" */
    ok(zk_txn_decode(TXN(zk_create_a), TXN_LEN(zk_create_a), &t) == 0, "decodes a create");
    is_int(t.cxid, 1, "cxid");
    is_int(t.zxid, 2, "zxid");
    is_int(t.time, 0x1a20752753aLL, "time");
    is_int(t.type, CORRAL_OP_CREATE, "type create");
    is_str(t.path, "/a", "path");
    ok(t.data_len == 5 && !memcmp(t.data, "hello", 5), "data");
    ok(t.n_acl == 1 && t.acl[0].perms == 31 && !strcmp(t.acl[0].scheme, "world") &&
       !strcmp(t.acl[0].id, "anyone"), "acl world:anyone:cdrwa");
    is_int(t.ephemeral, 0, "not ephemeral");
    is_int(t.parent_cversion, 1, "parentCVersion (ZooKeeper's count of creations)");
    check_reencode(zk_create_a, sizeof zk_create_a, &t, "create");
    check_entry_frame(zk_create_a, sizeof zk_create_a, "create");
    zk_txn_free(&t);

    /* create ephemeral /a/b */
    ok(zk_txn_decode(TXN(zk_create_ephemeral), TXN_LEN(zk_create_ephemeral), &t) == 0,
       "decodes an ephemeral create");
    is_int(t.ephemeral, 1, "ephemeral flag");
    is_str(t.path, "/a/b", "path");
    is_int(t.data_len, 0, "empty data");
    check_reencode(zk_create_ephemeral, sizeof zk_create_ephemeral, &t, "ephemeral create");
    zk_txn_free(&t);

    /* damaged bytes are refused, not half decoded */
    ok(zk_txn_decode(TXN(zk_create_a), 40, &t) < 0, "a truncated txn is refused");

    /* multi round trip */
    struct corral_acl acl = {CORRAL_PERM_READ, "ip", "127.0.0.1"};
    struct corral_txn subs[4];
    memset(subs, 0, sizeof subs);
    subs[0].type = CORRAL_OP_CREATE2; subs[0].path = "/m"; subs[0].data = (uint8_t *)"xy";
    subs[0].data_len = 2; subs[0].acl = &acl; subs[0].n_acl = 1; subs[0].parent_cversion = 7;
    subs[1].type = CORRAL_OP_SET_DATA; subs[1].path = "/n"; subs[1].data_len = -1; subs[1].version = 3;
    subs[2].type = CORRAL_OP_CHECK; subs[2].path = "/o"; subs[2].version = 9;
    subs[3].type = CORRAL_OP_DELETE; subs[3].path = "/p";
    struct corral_txn multi = {.session_id = 42, .cxid = 5, .zxid = 0x100000007LL, .time = 1234,
                               .type = CORRAL_OP_MULTI, .subs = subs, .n_subs = 4};
    struct jute_buf b;
    jute_buf_init(&b);
    ok(zk_txn_encode(&b, &multi) == 0, "encodes a multi");
    ok(zk_txn_decode(b.data, b.len, &t) == 0, "and decodes it back");
    ok(t.type == CORRAL_OP_MULTI && t.n_subs == 4 && t.zxid == 0x100000007LL && t.cxid == 5,
       "multi header");
    ok(t.n_subs == 4 && t.subs[0].type == CORRAL_OP_CREATE2 && !strcmp(t.subs[0].path, "/m") &&
       t.subs[0].data_len == 2 && t.subs[0].n_acl == 1 && !strcmp(t.subs[0].acl[0].id, "127.0.0.1") &&
       t.subs[0].parent_cversion == 7, "member create2");
    ok(t.n_subs == 4 && t.subs[1].data_len == -1 && t.subs[1].data == NULL && t.subs[1].version == 3,
       "member setData with null data");
    ok(t.n_subs == 4 && t.subs[2].type == CORRAL_OP_CHECK && t.subs[2].version == 9, "member check");
    ok(t.n_subs == 4 && t.subs[3].type == CORRAL_OP_DELETE && !strcmp(t.subs[3].path, "/p"),
       "member delete");
    zk_txn_free(&t);
    jute_buf_free(&b);

    /* closeSession carries ZooKeeper 3.8's paths2Delete */
    char *paths[] = {"/e1", "/x/e2"};
    struct corral_txn close = {.session_id = 9, .zxid = 10, .type = CORRAL_OP_CLOSE_SESSION,
                               .close_paths = paths, .n_close_paths = 2};
    jute_buf_init(&b);
    ok(zk_txn_encode(&b, &close) == 0 && b.len == 32 + 4 + 4 + 3 + 4 + 5,
       "closeSession: header + vector<ustring> paths2Delete");
    ok(zk_txn_decode(b.data, b.len, &t) == 0 && t.n_close_paths == 2 &&
       !strcmp(t.close_paths[0], "/e1") && !strcmp(t.close_paths[1], "/x/e2"),
       "and it reads back with the list");
    zk_txn_free(&t);
    jute_buf_free(&b);
    check_close_session();

    check_sizes();
    check_scanner();

    /* names */
    is_int(zk_name_zxid("log.1a", "log"), 26, "log.1a is zxid 0x1a");
    is_int(zk_name_zxid("snapshot.0", "snapshot"), 0, "snapshot.0");
    is_int(zk_name_zxid("snapshot.100000000", "snapshot"), 0x100000000LL, "epoch 1 zxid");
    is_int(zk_name_zxid("log.xyz", "log"), -1, "not hex");
    is_int(zk_name_zxid("tmp.snapshot.5", "snapshot"), -1, "temp files are not snapshots");
    is_int(zk_name_zxid("snapshot.5.gz", "snapshot"), -1, "compressed snapshots are not read");

    /* ZooKeeper's node digest (values from ZooKeeper 3.8 snapshots) */
    struct corral_stat st;
    memset(&st, 0, sizeof st);
    is_int(zk_node_digest("/", NULL, 0, &st), 68323592, "digest of an empty root ('' + zero stat)");
    is_int(zk_node_digest("/zookeeper", NULL, 0, &st), 1303661912, "/zookeeper counts");
    is_int(zk_node_digest("/zookeeper/quota", NULL, 0, &st), 0, "nodes below /zookeeper/ do not");

    return done_testing();
}
