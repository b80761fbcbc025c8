/*
 * jute.c (test) — libzk's jute primitives (core/zk/jute.c) and the client
 * protocol's records (core/zk/request.c, reply.c), linked.
 *
 * Primitives are checked two ways: the exact bytes ZooKeeper's format
 * prescribes (big-endian, -1 for null, count-prefixed vectors), and a
 * round trip through the reader.  Bad input must set the reader's sticky
 * error, never crash or allocate absurd amounts.  The transport's part checks
 * ConnectRequest/ConnectResponse, request decoding for every op it knows, and
 * the reply layouts that were compared against Apache ZooKeeper 3.8 (multi
 * results, exists on a missing node, watch events).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "corral/jute.h"
#include "corral/zk_proto.h"

/* ---- helpers ---- */

static void is_hex(const struct jute_buf *b, const char *want, const char *what)
{
    char *got = tap_hex(b->data, b->len);
    is_str(got, want, "%s", what);
    free(got);
}

/* Hex text → bytes, for hand-built frames. */
static size_t from_hex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        if (*hex == ' ') {
            hex--;
            continue;
        }
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* A frame writer for request records (test side, independent of request.c). */
static void w_str(struct jute_buf *b, const char *s) { jute_put_string(b, s); }

/* ---- primitives ---- */

static void test_ints(void)
{
    struct jute_buf b;
    jute_buf_init(&b);
    jute_put_int(&b, 1);
    jute_put_int(&b, -1);
    jute_put_int(&b, INT32_MIN);
    jute_put_int(&b, INT32_MAX);
    is_hex(&b, "00000001ffffffff800000007fffffff", "ints are 4 bytes big-endian");
    jute_buf_reset(&b);
    jute_put_long(&b, 0x0102030405060708LL);
    jute_put_long(&b, -2);
    jute_put_long(&b, INT64_MIN);
    is_hex(&b, "0102030405060708fffffffffffffffe8000000000000000", "longs are 8 bytes big-endian");
    jute_buf_reset(&b);
    jute_put_bool(&b, 1);
    jute_put_bool(&b, 0);
    jute_put_bool(&b, 42);
    is_hex(&b, "010001", "booleans are one byte, 0 or 1");

    struct jute_reader r;
    uint8_t raw[] = {0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 7};
    jute_reader_init(&r, raw, sizeof raw);
    is_int(jute_get_int(&r), INT32_MIN, "int round-trips INT32_MIN");
    is_int(jute_get_long(&r), -2, "long round-trips -2");
    is_int(jute_get_bool(&r), 1, "any non-zero byte reads as true");
    is_int(r.err, 0, "no error after exact reads");
    is_int(jute_remaining(&r), 0, "nothing left");
    jute_buf_free(&b);

    /* every value through a writer and a reader */
    int32_t ints[] = {0, 1, -1, 255, 256, 65535, -65536, INT32_MIN, INT32_MAX};
    int64_t longs[] = {0, 1, -1, 1LL << 32, -(1LL << 40), INT64_MIN, INT64_MAX};
    jute_buf_init(&b);
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        jute_put_int(&b, ints[i]);
    for (size_t i = 0; i < sizeof longs / sizeof *longs; i++)
        jute_put_long(&b, longs[i]);
    jute_reader_init(&r, b.data, b.len);
    int same = 1;
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        same &= jute_get_int(&r) == ints[i];
    for (size_t i = 0; i < sizeof longs / sizeof *longs; i++)
        same &= jute_get_long(&r) == longs[i];
    ok(same && !r.err && jute_remaining(&r) == 0, "ints and longs round-trip");
    jute_buf_free(&b);
}

static void test_buffers_and_strings(void)
{
    struct jute_buf b;
    struct jute_reader r;
    jute_buf_init(&b);
    jute_put_buffer(&b, (const uint8_t *)"ab", 2);
    jute_put_buffer(&b, (const uint8_t *)"", 0);
    jute_put_buffer(&b, NULL, -1);
    jute_put_string(&b, "/zk");
    jute_put_string(&b, "");
    jute_put_string(&b, NULL);
    is_hex(&b, "000000026162" "00000000" "ffffffff" "000000032f7a6b" "00000000" "ffffffff",
           "buffers and strings: length + bytes, -1 for null");

    jute_reader_init(&r, b.data, b.len);
    const uint8_t *p;
    int32_t n;
    jute_get_buffer(&r, &p, &n);
    ok(n == 2 && p && !memcmp(p, "ab", 2), "buffer round-trips");
    uint8_t *d = jute_get_buffer_dup(&r, &n);
    ok(d && n == 0, "empty buffer is non-NULL with length 0");
    free(d);
    d = jute_get_buffer_dup(&r, &n);
    ok(!d && n == -1, "null buffer reads back as NULL, -1");
    char *s = jute_get_string_dup(&r);
    is_str(s, "/zk", "string round-trips");
    free(s);
    s = jute_get_string_dup(&r);
    is_str(s, "", "empty string round-trips");
    free(s);
    s = jute_get_string_dup(&r);
    ok(s == NULL && !r.err, "null string reads back as NULL without error");
    is_int(jute_remaining(&r), 0, "all consumed");

    /* a string with a NUL inside is refused */
    uint8_t nul[] = {0, 0, 0, 3, 'a', 0, 'b'};
    jute_reader_init(&r, nul, sizeof nul);
    s = jute_get_string_dup(&r);
    ok(s == NULL && r.err, "string with an embedded NUL sets err");

    /* absurd lengths */
    uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 'x'};
    jute_reader_init(&r, huge, sizeof huge);
    d = jute_get_buffer_dup(&r, &n);
    ok(d == NULL && r.err, "buffer length beyond the input sets err");
    uint8_t minus2[] = {0xff, 0xff, 0xff, 0xfe};
    jute_reader_init(&r, minus2, sizeof minus2);
    jute_get_buffer(&r, &p, &n);
    ok(r.err && n == -1 && p == NULL, "buffer length -2 sets err");
    jute_reader_init(&r, minus2, sizeof minus2);
    s = jute_get_string_dup(&r);
    ok(r.err && !s, "string length -2 sets err");
    jute_buf_free(&b);
}

static void test_truncation(void)
{
    struct jute_reader r;
    uint8_t three[] = {1, 2, 3};
    jute_reader_init(&r, three, sizeof three);
    is_int(jute_get_int(&r), 0, "short int reads as 0");
    ok(r.err, "short int sets err");
    is_int(jute_get_bool(&r), 0, "after an error every get returns 0");
    ok(jute_get_string_dup(&r) == NULL, "after an error strings are NULL");
    is_int(jute_remaining(&r), 0, "after an error nothing remains");

    uint8_t seven[] = {0, 0, 0, 0, 0, 0, 1};
    jute_reader_init(&r, seven, sizeof seven);
    (void)jute_get_long(&r);
    ok(r.err, "short long sets err");

    uint8_t short_buf[] = {0, 0, 0, 5, 'a', 'b'};
    jute_reader_init(&r, short_buf, sizeof short_buf);
    const uint8_t *p;
    int32_t n;
    jute_get_buffer(&r, &p, &n);
    ok(r.err && p == NULL && n == -1, "buffer shorter than its length sets err");

    jute_reader_init(&r, NULL, 0);
    (void)jute_get_bool(&r);
    ok(r.err, "reading from empty input sets err");
}

static void test_stat_and_acl(void)
{
    struct corral_stat st = {
        .czxid = 0x100000001LL, .mzxid = 2, .ctime = 1700000000000LL, .mtime = 1700000000001LL,
        .version = 3, .cversion = -4, .aversion = 5, .ephemeral_owner = 0x7766554433221100LL,
        .data_length = 6, .num_children = 7, .pzxid = 8,
    }, back;
    struct jute_buf b;
    struct jute_reader r;
    jute_buf_init(&b);
    jute_put_stat(&b, &st);
    is_int(b.len, 68, "Stat is 68 bytes");
    is_hex(&b,
           "0000000100000001" "0000000000000002" "0000018bcfe56800" "0000018bcfe56801"
           "00000003" "fffffffc" "00000005" "7766554433221100" "00000006" "00000007"
           "0000000000000008",
           "Stat fields in ZooKeeper's order");
    jute_reader_init(&r, b.data, b.len);
    jute_get_stat(&r, &back);
    ok(!r.err && back.czxid == st.czxid && back.mzxid == st.mzxid && back.ctime == st.ctime &&
           back.mtime == st.mtime && back.version == st.version && back.cversion == st.cversion &&
           back.aversion == st.aversion && back.ephemeral_owner == st.ephemeral_owner &&
           back.data_length == st.data_length && back.num_children == st.num_children &&
           back.pzxid == st.pzxid,
       "Stat round-trips");
    jute_reader_init(&r, b.data, b.len - 1);
    jute_get_stat(&r, &back);
    ok(r.err, "truncated Stat sets err");

    struct corral_acl acl[2] = {{31, "world", "anyone"}, {1, "ip", "10.0.0.0/8"}};
    jute_buf_reset(&b);
    jute_put_acl_vector(&b, acl, 2);
    jute_put_acl_vector(&b, NULL, 0);
    jute_put_acl_vector(&b, NULL, -1);
    is_hex(&b,
           "00000002" "0000001f" "00000005776f726c64" "00000006616e796f6e65"
           "00000001" "000000026970" "0000000a31302e302e302e302f38"
           "00000000" "ffffffff",
           "ACL vectors: count, then perms/scheme/id");
    jute_reader_init(&r, b.data, b.len);
    int32_t n;
    struct corral_acl *got = jute_get_acl_vector(&r, &n);
    ok(got && n == 2 && got[0].perms == 31 && !strcmp(got[0].scheme, "world") &&
           !strcmp(got[0].id, "anyone") && got[1].perms == 1 && !strcmp(got[1].scheme, "ip") &&
           !strcmp(got[1].id, "10.0.0.0/8"),
       "ACL vector round-trips");
    jute_free_acl_vector(got, n);
    got = jute_get_acl_vector(&r, &n);
    ok(got && n == 0, "empty ACL vector");
    jute_free_acl_vector(got, n);
    got = jute_get_acl_vector(&r, &n);
    ok(!got && n == -1 && !r.err, "null ACL vector");

    uint8_t absurd[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 31};
    jute_reader_init(&r, absurd, sizeof absurd);
    got = jute_get_acl_vector(&r, &n);
    ok(!got && r.err, "ACL count larger than the input can hold sets err");
    uint8_t null_scheme[] = {0, 0, 0, 1, 0, 0, 0, 31, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    jute_reader_init(&r, null_scheme, sizeof null_scheme);
    got = jute_get_acl_vector(&r, &n);
    ok(got && !r.err && n == 1 && !strcmp(got[0].scheme, "") && !strcmp(got[0].id, ""),
       "a null scheme or id reads as empty, as Java reads it (kazoo's auth: ACL)");
    jute_free_acl_vector(got, n);
    jute_reader_init(&r, b.data, 20);
    got = jute_get_acl_vector(&r, &n);
    ok(!got && r.err, "truncated ACL vector sets err (and frees what it read)");

    jute_buf_reset(&b);
    jute_put_int(&b, 0);
    jute_put_int(&b, 9);
    jute_patch_int(&b, 0, 0x01020304);
    jute_patch_int(&b, 6, 1);   /* out of range: ignored */
    is_hex(&b, "0102030400000009", "jute_patch_int back-fills a length");
    jute_buf_free(&b);
}

/* ---- transport records ---- */

static void test_connect(void)
{
    uint8_t frame[128];
    size_t n = from_hex("00000000" "0000000000000005" "00007530" "0000000000001234"
                        "00000010" "000102030405060708090a0b0c0d0e0f" "01", frame);
    struct zk_connect_request cr;
    ok(zk_decode_connect(frame, n, &cr) == 0, "ConnectRequest decodes");
    ok(cr.protocol_version == 0 && cr.last_zxid_seen == 5 && cr.timeout_ms == 30000 &&
           cr.session_id == 0x1234 && cr.passwd_len == 16 && cr.passwd[15] == 15,
       "ConnectRequest fields");
    ok(cr.has_read_only && cr.read_only, "optional readOnly seen");
    ok(zk_decode_connect(frame, n - 1, &cr) == 0 && !cr.has_read_only,
       "ConnectRequest without readOnly (old clients)");
    ok(zk_decode_connect(frame, n - 2, &cr) < 0, "truncated ConnectRequest is refused");

    struct corral_connect_result res = {.err = 0, .timeout_ms = 10000, .session_id = 0x77};
    for (int i = 0; i < CORRAL_PASSWD_LEN; i++)
        res.passwd[i] = (uint8_t)(0xa0 + i);
    struct jute_buf b;
    jute_buf_init(&b);
    zk_encode_connect_response(&b, &res, 1);
    is_hex(&b, "00000000" "00002710" "0000000000000077" "00000010"
               "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" "00",
           "ConnectResponse with readOnly");
    jute_buf_reset(&b);
    res.err = CORRAL_ESESSIONEXPIRED;
    zk_encode_connect_response(&b, &res, 0);
    is_hex(&b, "00000000" "00000000" "0000000000000000" "00000010"
               "00000000000000000000000000000000",
           "refused session: timeout 0, session 0, zero password, no readOnly");
    jute_buf_free(&b);
}

static struct corral_request *decode(const struct jute_buf *b)
{
    struct corral_request *req = NULL;
    if (zk_decode_request(b->data, b->len, &req) < 0)
        return NULL;
    return req;
}

/* The request encoder (for forwarding) gives back the frame the test wrote. */
static int reencodes(const struct jute_buf *b)
{
    struct corral_request *req = decode(b);
    struct jute_buf again;
    jute_buf_init(&again);
    int same = req && zk_encode_request(&again, req) == 0 && again.len == b->len &&
               !memcmp(again.data, b->data, b->len);
    zk_request_free(req);
    jute_buf_free(&again);
    return same;
}

static void put_world_acl(struct jute_buf *b)
{
    jute_put_int(b, 1);
    jute_put_int(b, 31);
    w_str(b, "world");
    w_str(b, "anyone");
}

static void test_requests(void)
{
    struct jute_buf b;
    struct corral_request *req;
    jute_buf_init(&b);

    /* create */
    jute_put_int(&b, 7);
    jute_put_int(&b, CORRAL_OP_CREATE);
    w_str(&b, "/a");
    jute_put_buffer(&b, (const uint8_t *)"xyz", 3);
    put_world_acl(&b);
    jute_put_int(&b, CORRAL_CREATE_EPHEMERAL_SEQUENTIAL);
    req = decode(&b);
    ok(req && req->xid == 7 && req->op == CORRAL_OP_CREATE && !strcmp(req->path, "/a") &&
           req->data_len == 3 && !memcmp(req->data, "xyz", 3) && req->n_acl == 1 &&
           req->acl[0].perms == 31 && !strcmp(req->acl[0].id, "anyone") &&
           req->flags == CORRAL_CREATE_EPHEMERAL_SEQUENTIAL,
       "create decodes");
    zk_request_free(req);
    ok(reencodes(&b), "create: the encoder writes the same frame");
    /* the same body cut short anywhere is malformed */
    int all_refused = 1;
    for (size_t cut = 0; cut < b.len; cut++) {
        struct corral_request *r2 = NULL;
        if (zk_decode_request(b.data, cut, &r2) == 0) {
            all_refused = 0;
            zk_request_free(r2);
        }
    }
    ok(all_refused, "create truncated at every length is refused");

    /* createTTL carries a trailing ttl; a null data buffer stays null */
    jute_buf_reset(&b);
    jute_put_int(&b, 8);
    jute_put_int(&b, CORRAL_OP_CREATE_TTL);
    w_str(&b, "/ttl");
    jute_put_buffer(&b, NULL, -1);
    put_world_acl(&b);
    jute_put_int(&b, CORRAL_CREATE_PERSISTENT_WITH_TTL);
    jute_put_long(&b, 60000);
    req = decode(&b);
    ok(req && req->ttl == 60000 && req->data == NULL && req->data_len == -1 &&
           req->flags == CORRAL_CREATE_PERSISTENT_WITH_TTL,
       "createTTL decodes ttl and a null buffer");
    zk_request_free(req);
    ok(reencodes(&b), "createTTL: the encoder writes the same frame");

    /* delete, exists, getData, setData, setACL, sync, check */
    jute_buf_reset(&b);
    jute_put_int(&b, 9);
    jute_put_int(&b, CORRAL_OP_DELETE);
    w_str(&b, "/d");
    jute_put_int(&b, -1);
    req = decode(&b);
    ok(req && !strcmp(req->path, "/d") && req->version == -1, "delete decodes");
    zk_request_free(req);

    jute_buf_reset(&b);
    jute_put_int(&b, 10);
    jute_put_int(&b, CORRAL_OP_GET_DATA);
    w_str(&b, "/g");
    jute_put_bool(&b, 1);
    req = decode(&b);
    ok(req && !strcmp(req->path, "/g") && req->watch == 1, "getData decodes watch");
    zk_request_free(req);

    jute_buf_reset(&b);
    jute_put_int(&b, 11);
    jute_put_int(&b, CORRAL_OP_SET_DATA);
    w_str(&b, "/s");
    jute_put_buffer(&b, (const uint8_t *)"", 0);
    jute_put_int(&b, 4);
    req = decode(&b);
    ok(req && req->data && req->data_len == 0 && req->version == 4, "setData decodes empty data");
    zk_request_free(req);

    jute_buf_reset(&b);
    jute_put_int(&b, 12);
    jute_put_int(&b, CORRAL_OP_SET_ACL);
    w_str(&b, "/acl");
    put_world_acl(&b);
    jute_put_int(&b, 2);
    req = decode(&b);
    ok(req && req->n_acl == 1 && req->version == 2, "setACL decodes");
    zk_request_free(req);

    /* ping and closeSession have no body; an unknown op keeps op + xid */
    jute_buf_reset(&b);
    jute_put_int(&b, ZK_XID_PING);
    jute_put_int(&b, CORRAL_OP_PING);
    req = decode(&b);
    ok(req && req->op == CORRAL_OP_PING && req->xid == -2 && !req->path, "ping decodes");
    zk_request_free(req);
    jute_buf_reset(&b);
    jute_put_int(&b, 13);
    jute_put_int(&b, 77);
    jute_put_int(&b, 12345);
    req = decode(&b);
    ok(req && req->op == 77 && req->xid == 13 && !req->path, "unknown op: op and xid only");
    zk_request_free(req);
    uint8_t short_header[6] = {0};
    ok(zk_decode_request(short_header, sizeof short_header, &req) < 0 && !req,
       "a frame shorter than RequestHeader is refused");

    /* auth */
    jute_buf_reset(&b);
    jute_put_int(&b, ZK_XID_AUTH);
    jute_put_int(&b, CORRAL_OP_AUTH);
    jute_put_int(&b, 0);
    w_str(&b, "digest");
    jute_put_buffer(&b, (const uint8_t *)"u:p", 3);
    req = decode(&b);
    ok(req && req->op == CORRAL_OP_AUTH && !strcmp(req->path, "digest") && req->data_len == 3,
       "auth: scheme in path, credentials in data");
    zk_request_free(req);
    ok(reencodes(&b), "auth: the encoder writes the same frame");

    /* setWatches */
    jute_buf_reset(&b);
    jute_put_int(&b, ZK_XID_SET_WATCHES);
    jute_put_int(&b, CORRAL_OP_SET_WATCHES);
    jute_put_long(&b, 0x55);
    jute_put_int(&b, 2);
    w_str(&b, "/w1");
    w_str(&b, "/w2");
    jute_put_int(&b, 0);
    jute_put_int(&b, 1);
    w_str(&b, "/c");
    req = decode(&b);
    ok(req && req->relative_zxid == 0x55 && req->n_watch_paths[0] == 2 &&
           !strcmp(req->watch_paths[0][1], "/w2") && req->n_watch_paths[1] == 0 &&
           req->n_watch_paths[2] == 1 && !strcmp(req->watch_paths[2][0], "/c"),
       "setWatches decodes its three lists");
    zk_request_free(req);
    ok(reencodes(&b), "setWatches: the encoder writes the same frame");
    jute_buf_reset(&b);
    jute_put_int(&b, 1);
    jute_put_int(&b, CORRAL_OP_SET_WATCHES);
    jute_put_long(&b, 0);
    jute_put_int(&b, 100000000);
    ok(decode(&b) == NULL, "setWatches with an absurd count is refused");

    /* multi */
    jute_buf_reset(&b);
    jute_put_int(&b, 20);
    jute_put_int(&b, CORRAL_OP_MULTI);
    jute_put_int(&b, CORRAL_OP_CREATE);
    jute_put_bool(&b, 0);
    jute_put_int(&b, -1);
    w_str(&b, "/m");
    jute_put_buffer(&b, (const uint8_t *)"d", 1);
    put_world_acl(&b);
    jute_put_int(&b, 0);
    jute_put_int(&b, CORRAL_OP_CHECK);
    jute_put_bool(&b, 0);
    jute_put_int(&b, -1);
    w_str(&b, "/m");
    jute_put_int(&b, 3);
    jute_put_int(&b, CORRAL_OP_DELETE);
    jute_put_bool(&b, 0);
    jute_put_int(&b, -1);
    w_str(&b, "/m");
    jute_put_int(&b, -1);
    jute_put_int(&b, -1);
    jute_put_bool(&b, 1);
    jute_put_int(&b, -1);
    req = decode(&b);
    ok(req && req->n_ops == 3 && req->ops[0].op == CORRAL_OP_CREATE &&
           !strcmp(req->ops[0].path, "/m") && req->ops[0].n_acl == 1 &&
           req->ops[1].op == CORRAL_OP_CHECK && req->ops[1].version == 3 &&
           req->ops[2].op == CORRAL_OP_DELETE,
       "multi decodes its members");
    zk_request_free(req);
    ok(reencodes(&b), "multi: the encoder writes the same frame");
    ok(zk_decode_request(b.data, b.len - 9, &req) < 0, "multi without its done header is refused");
    /* a read op inside a write multi is refused */
    jute_buf_reset(&b);
    jute_put_int(&b, 21);
    jute_put_int(&b, CORRAL_OP_MULTI);
    jute_put_int(&b, CORRAL_OP_GET_DATA);
    jute_put_bool(&b, 0);
    jute_put_int(&b, -1);
    w_str(&b, "/m");
    jute_put_bool(&b, 0);
    jute_put_int(&b, -1);
    jute_put_bool(&b, 1);
    jute_put_int(&b, -1);
    ok(decode(&b) == NULL, "getData inside multi is refused");
    /* ... but is what multiRead carries */
    jute_buf_reset(&b);
    jute_put_int(&b, 22);
    jute_put_int(&b, CORRAL_OP_MULTI_READ);
    jute_put_int(&b, CORRAL_OP_GET_DATA);
    jute_put_bool(&b, 0);
    jute_put_int(&b, -1);
    w_str(&b, "/m");
    jute_put_bool(&b, 0);
    jute_put_int(&b, -1);
    jute_put_bool(&b, 1);
    jute_put_int(&b, -1);
    req = decode(&b);
    ok(req && req->n_ops == 1 && req->ops[0].op == CORRAL_OP_GET_DATA, "multiRead decodes");
    zk_request_free(req);
    ok(reencodes(&b), "multiRead: the encoder writes the same frame");

    /* addWatch */
    jute_buf_reset(&b);
    jute_put_int(&b, 23);
    jute_put_int(&b, CORRAL_OP_ADD_WATCH);
    w_str(&b, "/aw");
    jute_put_int(&b, CORRAL_WATCH_MODE_PERSISTENT_RECURSIVE);
    req = decode(&b);
    ok(req && !strcmp(req->path, "/aw") && req->mode == CORRAL_WATCH_MODE_PERSISTENT_RECURSIVE,
       "addWatch decodes its mode");
    zk_request_free(req);
    jute_buf_free(&b);
}

static void test_replies(void)
{
    struct jute_buf b;
    jute_buf_init(&b);
    struct corral_response rsp;

    memset(&rsp, 0, sizeof rsp);
    rsp.op = CORRAL_OP_EXISTS;
    rsp.xid = 1;
    rsp.zxid = 6;
    rsp.err = CORRAL_ENONODE;
    zk_encode_reply(&b, &rsp);
    is_hex(&b, "00000001" "0000000000000006" "ffffff9b", "exists on a missing node: header only");

    /* the reply's Stat is the jute Stat, byte for byte */
    jute_buf_reset(&b);
    memset(&rsp, 0, sizeof rsp);
    rsp.op = CORRAL_OP_SET_DATA;
    rsp.xid = 9;
    rsp.zxid = 0x1122334455667788LL;
    rsp.stat = (struct corral_stat){1, 2, 3, 4, 5, 6, 7, -8, 9, 10, 0x7fffffffffffffffLL};
    zk_encode_reply(&b, &rsp);
    struct jute_buf ref;
    jute_buf_init(&ref);
    jute_put_int(&ref, 9);
    jute_put_long(&ref, 0x1122334455667788LL);
    jute_put_int(&ref, 0);
    jute_put_stat(&ref, &rsp.stat);
    ok(b.len == ref.len && !memcmp(b.data, ref.data, ref.len),
       "setData reply: ReplyHeader + Stat as jute writes them");
    jute_buf_free(&ref);

    jute_buf_reset(&b);
    memset(&rsp, 0, sizeof rsp);
    rsp.op = CORRAL_OP_GET_DATA;
    rsp.xid = 2;
    rsp.zxid = 1;
    rsp.data = NULL;
    rsp.data_len = -1;
    zk_encode_reply(&b, &rsp);
    ok(b.len == 16 + 4 + 68 && !memcmp(b.data + 16, "\xff\xff\xff\xff", 4),
       "getData of a null-data node: null buffer + Stat");

    jute_buf_reset(&b);
    memset(&rsp, 0, sizeof rsp);
    rsp.op = CORRAL_OP_AUTH;
    rsp.xid = ZK_XID_AUTH;
    rsp.zxid = 9;
    rsp.err = CORRAL_EAUTHFAILED;
    zk_encode_reply(&b, &rsp);
    is_hex(&b, "fffffffc" "0000000000000000" "ffffff8d", "auth is answered with zxid 0");

    jute_buf_reset(&b);
    memset(&rsp, 0, sizeof rsp);
    const char *kids[] = {"a", "bc"};
    rsp.op = CORRAL_OP_GET_CHILDREN;
    rsp.xid = 3;
    rsp.children = kids;
    rsp.n_children = 2;
    zk_encode_reply(&b, &rsp);
    is_hex(&b, "00000003" "0000000000000000" "00000000" "00000002" "0000000161" "000000026263",
           "getChildren: vector<ustring>");

    jute_buf_reset(&b);
    memset(&rsp, 0, sizeof rsp);
    rsp.op = CORRAL_OP_CREATE;
    rsp.xid = 4;
    rsp.err = CORRAL_ENODEEXISTS;
    rsp.path = "/x";
    zk_encode_reply(&b, &rsp);
    is_int(b.len, 16, "failed create: no body");

    /* a failed multi: header err 0, every member an ErrorResult with its own code */
    struct corral_response results[2];
    memset(results, 0, sizeof results);
    results[0].op = CORRAL_OP_CREATE;
    results[0].err = CORRAL_OK;
    results[0].path = "/m";
    results[1].op = CORRAL_OP_DELETE;
    results[1].err = CORRAL_ENONODE;
    jute_buf_reset(&b);
    memset(&rsp, 0, sizeof rsp);
    rsp.op = CORRAL_OP_MULTI;
    rsp.xid = 5;
    rsp.zxid = 7;
    rsp.err = CORRAL_ENONODE;
    rsp.results = results;
    rsp.n_results = 2;
    zk_encode_reply(&b, &rsp);
    is_hex(&b,
           "00000005" "0000000000000007" "00000000"
           "ffffffff" "00" "00000000" "00000000"
           "ffffffff" "00" "ffffff9b" "ffffff9b"
           "ffffffff" "01" "ffffffff",
           "failed multi: as ZooKeeper 3.8 answers it");

    /* a successful multi: create → path; create2 → path only; setData → Stat; check → nothing */
    struct corral_response ok_results[4];
    memset(ok_results, 0, sizeof ok_results);
    ok_results[0].op = CORRAL_OP_CREATE2;
    ok_results[0].path = "/p";
    ok_results[1].op = CORRAL_OP_CREATE_CONTAINER;
    ok_results[1].path = "/q";
    ok_results[2].op = CORRAL_OP_SET_DATA;
    ok_results[3].op = CORRAL_OP_CHECK;
    jute_buf_reset(&b);
    memset(&rsp, 0, sizeof rsp);
    rsp.op = CORRAL_OP_MULTI;
    rsp.xid = 6;
    rsp.results = ok_results;
    rsp.n_results = 4;
    zk_encode_reply(&b, &rsp);
    size_t want = 16 + (9 + 6) + (9 + 6 + 68) + (9 + 68) + 9 + 9;
    is_int(b.len, want, "successful multi has the expected size");
    ok(b.len == want && !memcmp(b.data + 16, "\x00\x00\x00\x01\x00\x00\x00\x00\x00", 9) &&
           !memcmp(b.data + 31, "\x00\x00\x00\x0f", 4),
       "create2 in multi answers as create, createContainer as create2");

    jute_buf_reset(&b);
    struct corral_watch_event ev = {CORRAL_EVENT_NODE_DATA_CHANGED, CORRAL_STATE_SYNC_CONNECTED,
                                    "/w"};
    zk_encode_event(&b, &ev);
    is_hex(&b, "ffffffff" "ffffffffffffffff" "00000000" "00000003" "00000003" "000000022f77",
           "watch event: xid -1, zxid -1, WatcherEvent");
    jute_buf_free(&b);
}

int main(void)
{
    test_ints();
    test_buffers_and_strings();
    test_truncation();
    test_stat_and_acl();
    test_connect();
    test_requests();
    test_replies();
    return done_testing();
}
