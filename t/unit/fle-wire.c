/*
 * fle-wire.c — unit tests of the election port's codec
 * (modules/election/fle/wire.c) against bytes captured from a ZooKeeper
 * 3.8.0 ensemble (../shared/ensemble/zk-wire-trace.txt): the initial message
 * and a LOOKING notification encode to exactly those bytes and decode back;
 * a FOLLOWING one and an observer's Long.MIN_VALUE vote round-trip; the
 * older 28- and 40-byte formats decode as ZooKeeper reads them; every
 * malformed input (bad version, lengths, addresses, truncations, a config
 * longer than the message) is refused; random bytes never crash a decoder
 * (the sanitizers watch the reads).
 */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "wire.h"

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) {
        while (*s == ' ')
            s++;
        if (!s[0] || !s[1])
            break;
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static const char trace_config[] =
    "server.1=127.0.0.1:42277:45311:participant\nserver.2=127.0.0.1:44931:56501:participant\n"
    "server.3=127.0.0.1:43801:38421:participant\nserver.4=127.0.0.1:50657:33793:observer\n"
    "version=0";

int main(void)
{
    uint8_t buf[4096], want[4096];
    char *hex;

    /* --- initial message (trace connection 3: sid 3 dialling sid 1) --- */
    size_t n = fle_initial_encode(buf, sizeof buf, 3, "127.0.0.1:38421");
    size_t wn = unhex("ffffffffffff0000" "0000000000000003" "0000000f"
                      "3132372e302e302e313a3338343231", want);
    is_int(n, 35, "the initial message is 35 bytes");
    char *whex = tap_hex(want, wn);
    is_str(hex = tap_hex(buf, n), whex, "and the trace's bytes exactly (V1 header)");
    free(hex);
    free(whex);
    struct fle_initial init;
    const char *why = NULL;
    is_int(fle_initial_decode(buf, n, &init, &why), 35, "it decodes whole");
    ok(init.protocol == FLE_PROTOCOL_V1 && init.sid == 3 && !strcmp(init.address, "127.0.0.1:38421"),
       "V1, sid 3, the address");
    int partial_ok = 1;
    for (size_t i = 0; i < n; i++)
        partial_ok &= fle_initial_decode(buf, i, &init, &why) == 0;
    ok(partial_ok, "every shorter prefix asks for more bytes");
    is_int(fle_initial_encode(buf, sizeof buf, 1, ""), 0, "an empty address is not encoded");

    n = unhex("0000000000000005" "0000000000000000", buf);
    is_int(fle_initial_decode(buf, n, &init, &why), 8, "a first long >= 0 is a bare sid (pre-3.5)");
    is_int(init.sid, 5, "its sid");
    n = unhex("ffffffffffff0001" "0000000000000002" "00000013" "6131323a317c5b3a3a315d3a32", buf);
    /* "a12:1|[::1]:2" is 13 bytes; the header says 19: wait for more */
    is_int(fle_initial_decode(buf, n, &init, &why), 0, "a V2 header waits for its whole address");
    n = unhex("ffffffffffff0001" "0000000000000002" "0000000d" "6131323a317c5b3a3a315d3a32", buf);
    is_int(fle_initial_decode(buf, n, &init, &why), 33, "V2 with 'a12:1|[::1]:2' decodes");
    static const struct {
        const char *hex, *what;
    } bad_initial[] = {
        {"fffffffffffffffe" "0000000000000002" "00000001" "41", "an unknown protocol version"},
        {"ffffffffffff0000" "0000000000000002" "00000000", "address length 0"},
        {"ffffffffffff0000" "0000000000000002" "ffffffff", "address length -1"},
        {"ffffffffffff0000" "0000000000000002" "00000801", "address length 2049"},
        {"ffffffffffff0000" "0000000000000002" "00000004" "686f7374", "an address without a port"},
        {"ffffffffffff0000" "0000000000000002" "00000006" "683a313a3232", "host:port:port"},
        {"ffffffffffff0000" "0000000000000002" "00000006" "683a3132333a", "an empty port"},
        {"ffffffffffff0000" "0000000000000002" "00000008" "683a393939393939", "port 999999"},
        {"ffffffffffff0000" "0000000000000002" "00000004" "683a3178", "a port with a letter"},
        {"ffffffffffff0000" "0000000000000002" "00000004" "683a0031", "a NUL in the address"},
    };
    for (size_t i = 0; i < sizeof bad_initial / sizeof *bad_initial; i++) {
        n = unhex(bad_initial[i].hex, buf);
        why = NULL;
        ok(fle_initial_decode(buf, n, &init, &why) == -1 && why, "initial message refused: %s",
           bad_initial[i].what);
    }

    /* --- notification (trace connection 3: s3's first LOOKING vote, 222-byte frame) --- */
    struct fle_notification nt = {
        .state = 0, .leader = 3, .zxid = 0, .election_epoch = 1, .peer_epoch = 0,
        .config = (const uint8_t *)trace_config, .config_len = (int32_t)strlen(trace_config),
    };
    is_int(fle_notification_size(&nt), 222, "44 + 178 bytes, the trace's frame length");
    fle_notification_encode(buf, &nt);
    wn = unhex("00000000" "0000000000000003" "0000000000000000" "0000000000000001"
               "0000000000000000" "00000002" "000000b2", want);
    memcpy(want + wn, trace_config, strlen(trace_config));
    wn += strlen(trace_config);
    whex = tap_hex(want, wn);
    is_str(hex = tap_hex(buf, 222), whex, "a LOOKING notification: the trace's bytes");
    free(hex);
    free(whex);
    struct fle_notification d;
    is_int(fle_notification_decode(buf, 222, &d, &why), 0, "it decodes");
    ok(d.state == 0 && d.leader == 3 && d.zxid == 0 && d.election_epoch == 1 && d.peer_epoch == 0 &&
       d.version == 2 && d.config_len == 178 && !memcmp(d.config, trace_config, 178),
       "every field and the config tail");
    int cut_refused = 1;
    for (size_t i = 0; i < 222; i++)
        if (i != 28 && i != 40 && fle_notification_decode(buf, i, &d, &why) != -1)
            cut_refused = 0;    /* 28 and 40 bytes are the older formats, valid */
    ok(cut_refused, "the notification cut at any other length is refused");

    /* FOLLOWING after the election: peerEpoch became 1 (updateElectionVote) */
    nt.state = 1, nt.peer_epoch = 1;
    fle_notification_encode(buf, &nt);
    ok(fle_notification_decode(buf, 222, &d, &why) == 0 && d.state == 1 && d.peer_epoch == 1,
       "a FOLLOWING notification round-trips");
    /* an observer proposes Long.MIN_VALUE everywhere */
    nt = (struct fle_notification){.state = 0, .leader = INT64_MIN, .zxid = INT64_MIN,
                                   .election_epoch = 2, .peer_epoch = INT64_MIN};
    fle_notification_encode(buf, &nt);
    is_str(hex = tap_hex(buf + 4, 8), "8000000000000000", "MIN_VALUE on the wire as seen");
    free(hex);
    ok(fle_notification_decode(buf, 44, &d, &why) == 0 && d.leader == INT64_MIN &&
       d.peer_epoch == INT64_MIN && d.config_len == 0, "an observer's vote with an empty config");

    /* --- older formats, as WorkerReceiver reads them --- */
    n = unhex("00000001" "0000000000000002" "0000000500000007" "0000000000000004", buf);
    ok(fle_notification_decode(buf, n, &d, &why) == 0 && n == 28 && d.peer_epoch == 5 &&
       d.version == 0 && d.state == 1, "28 bytes: the peer epoch is the zxid's");
    n = unhex("00000002" "0000000000000002" "0000000500000007" "0000000000000004"
              "0000000000000009" "00000000", buf);
    ok(fle_notification_decode(buf, n, &d, &why) == 0 && n == 40 && d.peer_epoch == 9 &&
       d.version == 0, "40 bytes: a peer epoch, no version");
    n = unhex("00000002" "0000000000000002" "0000000500000007" "0000000000000004"
              "0000000000000009" "00000001" "deadbeef", buf);
    ok(fle_notification_decode(buf, n, &d, &why) == 0 && d.version == 1 && d.config_len == 0,
       "version 1: no config read");
    static const struct {
        const char *hex, *what;
    } bad_note[] = {
        {"00000000" "0000000000000002" "00000000000000", "27 bytes"},
        {"00000000" "0000000000000002" "0000000000000000" "0000000000000001" "0000", "30 bytes"},
        {"00000000" "0000000000000002" "0000000000000000" "0000000000000001" "00000000000000000000",
         "38 bytes"},
        {"00000000" "0000000000000002" "0000000000000000" "0000000000000001" "0000000000000000"
         "00000002" "0000", "version 2 without a whole config length"},
        {"00000000" "0000000000000002" "0000000000000000" "0000000000000001" "0000000000000000"
         "00000002" "ffffffff", "a negative config length"},
        {"00000000" "0000000000000002" "0000000000000000" "0000000000000001" "0000000000000000"
         "00000002" "00000004" "4142", "a config shorter than its length"},
        {"00000000" "0000000000000002" "0000000000000000" "0000000000000001" "0000000000000000"
         "00000002" "7fffffff" "41", "a config length larger than the message"},
    };
    for (size_t i = 0; i < sizeof bad_note / sizeof *bad_note; i++) {
        n = unhex(bad_note[i].hex, buf);
        why = NULL;
        ok(fle_notification_decode(buf, n, &d, &why) == -1 && why, "notification refused: %s",
           bad_note[i].what);
    }

    /* --- frames --- */
    ok(!fle_frame_length_ok(0) && !fle_frame_length_ok(-1) && !fle_frame_length_ok(INT32_MIN),
       "frame lengths <= 0 are refused");
    ok(fle_frame_length_ok(1) && fle_frame_length_ok(512 * 1024) &&
       !fle_frame_length_ok(512 * 1024 + 1), "1..512 KiB are accepted, not one byte more");

    /* --- random bytes: refused or decoded, never a read out of bounds --- */
    srand(15);
    int survived = 1;
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rand() % 120);
        uint8_t *r = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            r[i] = (uint8_t)rand();
        if (len >= 8 && rand() % 2)
            memcpy(r, "\xff\xff\xff\xff\xff\xff\x00\x00", 8);
        if (len >= 40 && rand() % 2)
            memcpy(r + 36, "\x00\x00\x00\x02", 4);
        fle_initial_decode(r, len, &init, &why);
        if (fle_notification_decode(r, len, &d, &why) == 0 && d.config_len &&
            (d.config < r || d.config + d.config_len > r + len))
            survived = 0;
        free(r);
    }
    ok(survived, "20000 random inputs: every config stays inside its message");
    return done_testing();
}
