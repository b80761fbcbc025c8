/*
 * storage-file-format.c — unit tests of the file storage module's format code
 * against bytes Apache ZooKeeper 3.8 wrote.
 *
 * The entries below were copied from a txn log written by the Debian
 * zookeeper 3.8.0 package (a kazoo client: createSession, create /a "hello",
 * create ephemeral /a/b).  The decoder must read them (ignoring the TxnDigest
 * ZooKeeper appends), the encoder must produce the same txn bytes, and the
 * framer the same entry (Adler-32, length, 'B').  Plus: a multi round trip,
 * file names, and ZooKeeper's per-node digest.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include "tap.h"
#include "../../modules/storage/file/format.c"
#include "../../modules/storage/file/snapshot.c"

static void quiet_log(int level, const char *who, const char *fmt, ...) { (void)level; (void)who; (void)fmt; }
static const struct corral_core test_core = {.log = quiet_log};
const struct corral_core *zk_core = &test_core;
int zk_log_quiet;

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
    ok(zk_txn_encode(&b, t, NULL, 0) == 0, "%s: encodes", what);
    size_t want = len - 13 - DIGEST_LEN;
    ok(b.len == want && !memcmp(b.data, entry + 12, want),
       "%s: encoding gives ZooKeeper's bytes (header + record)", what);
    jute_buf_free(&b);
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
    ok(zk_txn_encode(&b, &multi, NULL, 0) == 0, "encodes a multi");
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
    const char *paths[] = {"/e1", "/x/e2"};
    struct corral_txn close = {.session_id = 9, .zxid = 10, .type = CORRAL_OP_CLOSE_SESSION};
    jute_buf_init(&b);
    ok(zk_txn_encode(&b, &close, paths, 2) == 0 && b.len == 32 + 4 + 4 + 3 + 4 + 5,
       "closeSession: header + vector<ustring> paths2Delete");
    jute_buf_free(&b);

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
