/*
 * quorum-view.c — unit tests of the ensemble view (core/quorum/view.c):
 * server.N lines read as ZooKeeper 3.8 reads them, the view's text exactly
 * as ZooKeeper writes it into every election notification (checked against
 * the bytes of a captured ZooKeeper notification, zk-wire-trace.txt), the
 * member order of Java's HashMap, the refusals (bad form, equal ports,
 * duplicate ids, peer types, hierarchical quorums, several addresses), and
 * the majority rule (only voting members count, each once).
 */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "quorum/view.h"
#include "config.h"
#include "log.h"

static int parse(const char *text, int64_t my_id, struct corral_quorum_view *v)
{
    struct config cfg;
    if (config_parse(&cfg, "test.cfg", text) < 0)
        return -2;
    int rc = quorum_view_parse(&cfg, my_id, v);
    config_free(&cfg);
    return rc;
}

static void refused(const char *text, const char *what)
{
    struct corral_quorum_view v;
    is_int(parse(text, 1, &v), -1, "refused: %s", what);
}

int main(void)
{
    log_verbosity = CORRAL_LOG_ERROR - 1;   /* the refusals' lines are expected */
    struct corral_quorum_view v;

    /* the membership of the captured ensemble (3 participants + 1 observer) */
    is_int(parse("tickTime=2000\n"
                 "server.1=127.0.0.1:42277:45311\n"
                 "server.2=127.0.0.1:44931:56501\n"
                 "server.3=127.0.0.1:43801:38421:participant\n"
                 "server.4=127.0.0.1:50657:33793:observer\n",
                 3, &v), 0, "a 3+1 ensemble parses");
    is_int(v.n_members, 4, "four members");
    is_int(v.n_voting, 3, "three of them vote");
    is_int(v.version, 0, "a static config is version 0");
    is_str(v.text,
           "server.1=127.0.0.1:42277:45311:participant\n"
           "server.2=127.0.0.1:44931:56501:participant\n"
           "server.3=127.0.0.1:43801:38421:participant\n"
           "server.4=127.0.0.1:50657:33793:observer\n"
           "version=0",
           "the text is ZooKeeper's, byte for byte (the trace's config tail of s3)");
    is_int(v.text_len, 178, "178 bytes, the trace's configLen");
    const struct corral_quorum_member *m = quorum_view_member(&v, 4);
    ok(m && m->observer && m->quorum_port == 50657 && m->election_port == 33793,
       "server.4 is an observer with its ports");
    ok(quorum_view_is_voter(&v, 3) && !quorum_view_is_voter(&v, 4) && !quorum_view_is_voter(&v, 9),
       "voters: participants only");
    int64_t two[] = {1, 2}, one_obs[] = {1, 4}, dup[] = {1, 1, 1}, stranger[] = {1, 7};
    ok(quorum_view_has_majority(&v, two, 2), "2 of 3 voters are a majority");
    ok(!quorum_view_has_majority(&v, one_obs, 2), "a voter and an observer are not");
    ok(!quorum_view_has_majority(&v, dup, 3), "one voter counted three times is not");
    ok(!quorum_view_has_majority(&v, stranger, 2), "an id outside the view does not count");
    quorum_view_free(&v);

    /* client parts: written only when the line has one; "port" alone is 0.0.0.0 */
    is_int(parse("server.1=localhost:2888:3888;2181\n"
                 "server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182\n"
                 "server.3=[::1]:2890:3890\n",
                 1, &v), 0, "client parts and an IPv6 literal parse");
    is_str(v.text,
           "server.1=localhost:2888:3888:participant;0.0.0.0:2181\n"
           "server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182\n"
           "server.3=[::1]:2890:3890:participant\n"
           "version=0",
           "hosts as written, v6 in brackets, client parts as ZooKeeper prints them");
    m = quorum_view_member(&v, 3);
    ok(m && !strcmp(m->host, "::1") && !m->has_client, "the v6 host without brackets, no client");
    quorum_view_free(&v);

    /* Java's HashMap<Long,…> order: bucket (sid & 15 for small tables) first */
    is_int(parse("server.1=h:1:2\nserver.2=h:3:4\nserver.16=h:5:6\nserver.17=h:7:8\n", 1, &v), 0,
           "ids 1, 2, 16, 17");
    is_str(v.text,
           "server.16=h:5:6:participant\nserver.1=h:1:2:participant\n"
           "server.17=h:7:8:participant\nserver.2=h:3:4:participant\nversion=0",
           "listed in Java HashMap order (16 in bucket 0, 17 with 1 in bucket 1)");
    ok(v.members[0].sid == 1 && v.members[3].sid == 17, "the member array itself is in sid order");
    quorum_view_free(&v);

    /* a later line for the same key wins; none at all is a standalone config */
    is_int(parse("server.1=h:1:2\nserver.2=h:3:4\nserver.1=h:9:10\n", 1, &v), 0, "a repeated key");
    ok(v.n_members == 2 && quorum_view_member(&v, 1)->quorum_port == 9, "the last value wins");
    quorum_view_free(&v);
    is_int(parse("tickTime=2000\n", 1, &v), 0, "no server lines");
    ok(v.n_members == 0 && v.text == NULL, "an empty view");
    quorum_view_free(&v);

    /* peerType: the server list decides (a mismatch warns) */
    is_int(parse("peerType=observer\nserver.1=h:1:2\nserver.2=h:3:4\n", 1, &v), 0,
           "peerType disagreeing with the list is a warning, not an error");
    quorum_view_free(&v);
    is_int(parse("peerType=OBSERVER\nserver.1=h:1:2:Observer\nserver.2=h:3:4\n", 1, &v), 0,
           "types in any case");
    ok(quorum_view_member(&v, 1)->observer, "':Observer' is an observer");
    quorum_view_free(&v);

    refused("server.1=h:1\n", "two parts");
    refused("server.1=h:1:2:participant:x\n", "five parts");
    refused("server.1=h:1:1\n", "quorum port == election port");
    refused("server.1=h:0:2\n", "port 0");
    refused("server.1=h:1:70000\n", "port above 65535");
    refused("server.1=h:x:2\n", "a port that is no number");
    refused("server.1=h:1:2:voter\n", "an unknown peer type");
    refused("server.x=h:1:2\n", "an id that is no number");
    refused("server.1=h:1:2\nserver.01=h:3:4\n", "the same id under two keys");
    refused("server.1=h:1:2;a:b:c\n", "a client part with three pieces");
    refused("server.1=h:1:2;x\n", "a client port that is no number");
    refused("server.1=h:1:2;1;2\n", "two client parts");
    refused("server.1=h:1:2|g:3:4\n", "several addresses (multiAddress: not supported yet)");
    refused("server.1=h:1:2\ngroup.1=1\n", "group.* (hierarchical: not supported yet)");
    refused("server.1=h:1:2\nweight.1=1\n", "weight.* (hierarchical: not supported yet)");
    refused("dynamicConfigFile=/x\n", "a dynamic config file (not supported yet)");
    refused("server.1=h:1:2\npeerType=both\n", "peerType that is neither");
    refused("server.1=[::1:1:2\n", "an unclosed bracket");
    return done_testing();
}
