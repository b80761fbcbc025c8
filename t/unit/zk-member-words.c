/*
 * zk-member-words.c — what the zk transport's monitoring commands say on an
 * ensemble member that serves, as leader and as follower, before any
 * corrald member can serve (the quorum roles are other work): the
 * four-letter words and AdminServer commands (libzkwords) run against a
 * stand-in core whose peer_info says what a role would.
 *
 * The expected lines are Apache ZooKeeper 3.8's, read off a running
 * 3-server ZooKeeper ensemble: srvr's Mode and the leader's "Proposal sizes
 * last/min/max" line, mntr's keys in ZooKeeper's order (the member's
 * zk_peer_state and zk_quorum_size, the leader's own nine keys), conf's
 * quorum lines and membership.  Also: a core older than ABI 3.2 (no
 * peer_info) reads as standalone, and a member not serving answers as
 * ZooKeeper's does then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "zk.h"
#include "figures.h"
#include "corral/quorum_view.h"

struct zk_transport zk;

/* ---- the stand-in core ---- */

static struct corral_peer_info role;        /* what peer_info reports */

static void fake_server_stats(struct corral_server_stats *st)
{
    memset(st, 0, sizeof *st);
    st->mode = role.member ? (role.mode ? role.mode : "looking") : "standalone";
    st->zxid = 0x100000000LL;
    st->node_count = 5;
    st->tick_time = 2000;
    st->min_session_timeout = 4000;
    st->max_session_timeout = 40000;
    st->server_id = (int32_t)role.my_id;
}

static void fake_peer_info(struct corral_peer_info *info)
{
    size_t n = info->size < sizeof role ? info->size : sizeof role;
    memcpy((char *)info + sizeof info->size, (char *)&role + sizeof role.size, n - sizeof role.size);
}

static struct corral_quorum_member members[3] = {
    {1, "127.0.0.1", 2888, 3888, 0, 0, NULL, 0},
    {2, "127.0.0.1", 2889, 3889, 0, 0, NULL, 0},
    {3, "127.0.0.1", 2890, 3890, 0, 0, NULL, 0},
};
static char view_text[] = "server.1=127.0.0.1:2888:3888:participant\n"
                          "server.2=127.0.0.1:2889:3889:participant\n"
                          "server.3=127.0.0.1:2890:3890:participant\nversion=0";
static struct corral_quorum_view view = {members, 3, 3, 0, 2, view_text, sizeof view_text - 1};

static const struct corral_quorum_view *fake_view(void) { return role.member ? &view : NULL; }

static const char *fake_config_get(const char *key)
{
    if (!strcmp(key, "initLimit"))
        return "10";
    if (!strcmp(key, "syncLimit"))
        return " 5 ";
    if (!strncmp(key, "server.", 7) && key[7] >= '1' && key[7] <= '3' && !key[8])
        return "127.0.0.1:2888:3888";
    if (!strcmp(key, "dataDir"))
        return "/nonexistent/t-zk-member-words";
    return NULL;
}

static const char *fake_version(void) { return "3.8.0-corral"; }
static int64_t fake_now(void) { return 1000000; }
static void fake_each3(void (*fn)(void *, int64_t, const char *, int), void *arg) { (void)fn, (void)arg; }
static void fake_each2(void (*fn)(void *, int64_t, const char *), void *arg) { (void)fn, (void)arg; }
static void fake_sessions(void (*fn)(void *, int64_t, int32_t), void *arg) { (void)fn, (void)arg; }
static void fake_config_each(void (*fn)(void *, const char *, const char *), void *arg) { (void)fn, (void)arg; }

static struct corral_core core = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_core),
    .config_get = fake_config_get,
    .config_each = fake_config_each,
    .now_ms = fake_now,
    .server_stats = fake_server_stats,
    .watch_each = fake_each3,
    .ephemeral_each = fake_each2,
    .version_string = fake_version,
    .session_each = fake_sessions,
    .quorum_view = fake_view,
    .peer_info = fake_peer_info,
};

/* ---- running a word ---- */

static char *word(const char *w)
{
    static char text[16384];
    struct zk_conn c;
    memset(&c, 0, sizeof c);
    jute_buf_init(&c.out);
    zk_fourlw_run(&c, zk_fourlw_lookup((const uint8_t *)w));
    snprintf(text, sizeof text, "%.*s", (int)c.out.len, (const char *)c.out.data);
    jute_buf_free(&c.out);
    return text;
}

/* mntr's keys, space-separated, without "zk_" */
static char *mntr_keys(void)
{
    static char keys[4096];
    char *m = word("mntr"), *save = NULL;
    keys[0] = 0;
    for (char *l = strtok_r(m, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(l, '\t');
        if (tab)
            *tab = 0;
        if (keys[0])
            strcat(keys, " ");
        strcat(keys, l + 3);
    }
    return keys;
}

/* The value of mntr's key (without "zk_"), or "" */
static const char *mntr_value(const char *key)
{
    static char v[256];
    char pat[128];
    snprintf(pat, sizeof pat, "zk_%s\t", key);
    char *m = word("mntr"), *p = strstr(m, pat);
    v[0] = 0;
    if (p)
        snprintf(v, sizeof v, "%.*s", (int)strcspn(p + strlen(pat), "\n"), p + strlen(pat));
    return v;
}

/* An AdminServer command's JSON with every blank taken out (HTTP status in *status). */
static char *admin(const char *name, int *status)
{
    static char json[8192];
    struct jute_buf j;
    jute_buf_init(&j);
    *status = zk_admin_run(name, "", &j);
    size_t n = 0;
    for (size_t i = 0; i < j.len && n < sizeof json - 1; i++)
        if (j.data[i] != ' ' && j.data[i] != '\n')
            json[n++] = (char)j.data[i];
    json[n] = 0;
    jute_buf_free(&j);
    return json;
}

static const char *tail_after(const char *text, const char *mark)
{
    const char *p = strstr(text, mark);
    return p ? p : "";
}

/* The basic keys of every server, in ZooKeeper's order, cut where a member's go in. */
#define K1 "version server_state"
#define K2 "ephemerals_count num_alive_connections avg_latency"
#define K3 "outstanding_requests znode_count global_sessions non_mtls_remote_conn_count " \
           "last_client_response_size packets_sent packets_received"
#define K4 "max_client_response_size"
#define K5 "connection_drop_probability watch_count"
#define K6 "auth_failed_count min_latency max_file_descriptor_count approximate_data_size " \
           "open_file_descriptor_count"
#define K7 "local_sessions uptime max_latency outstanding_tls_handshake"
#define K8 "min_client_response_size non_mtls_local_conn_count"
#define K9 "proposal_count"

static const char *const member_conf_tail =
    "serverId=2\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3889\nquorumPort=2889\n"
    "peerType=0\nmembership: \nserver.1=127.0.0.1:2888:3888:participant\n"
    "server.2=127.0.0.1:2889:3889:participant\nserver.3=127.0.0.1:2890:3890:participant\nversion=0";

int main(void)
{
    zk.core = &core;
    zk.fourlw_enabled = zk_fourlw_parse_whitelist("*");
    zk.response_last = zk.response_min = zk.response_max = -1;

    /* --- a core without peer_info (ABI 3.1): standalone, as before --- */
    core.size = offsetof(struct corral_core, peer_info);
    ok(strstr(word("srvr"), "\nMode: standalone\nNode count: 5\n") != NULL &&
       !strstr(word("srvr"), "Proposal"), "no peer_info (an ABI 3.1 core): srvr says standalone");
    is_str(mntr_keys(), K1 " " K2 " " K3 " " K4 " " K5 " " K6 " " K7 " " K8 " " K9,
           "and mntr has the 27 basic keys only, in ZooKeeper's order");
    ok(strstr(word("conf"), "\nserverId=0\n") && !strstr(word("conf"), "initLimit"),
       "and conf ends at serverId");
    core.size = sizeof core;

    /* --- a member that is not serving --- */
    role = (struct corral_peer_info){.size = sizeof role, .member = 1, .state = CORRAL_PEER_FOLLOWING,
                                     .mode = "follower", .serving = 0, .my_id = 2, .leader_sid = 3,
                                     .quorum_size = 3};
    is_str(word("srvr"), ZK_NOT_SERVING "\n", "member not serving: srvr as ZooKeeper's");
    is_str(word("ruok"), "imok", "member not serving: ruok imok");
    is_str(word("isro"), "null", "member not serving: isro null");
    ok(strstr(word("peer"), "State: following\nMode: follower\nServing: no\nServer id: 2\nLeader: 3\n") != NULL,
       "member not serving: peer names its role and leader");

    /* --- a follower that serves --- */
    role.serving = 1;
    role.epoch = 1;
    ok(strstr(word("srvr"), "\nZxid: 0x100000000\nMode: follower\nNode count: 5\n") != NULL &&
       !strstr(word("srvr"), "Proposal"), "follower: srvr Mode: follower, no proposal sizes");
    ok(strstr(word("stat"), "\nMode: follower\n") != NULL, "follower: stat Mode: follower");
    is_str(mntr_keys(), K1 " peer_state " K2 " " K3 " " K4 " " K5 " " K6 " " K7 " " K8 " quorum_size " K9,
           "follower: mntr keys as ZooKeeper's follower, in its order");
    is_str(mntr_value("server_state"), "follower", "follower: zk_server_state follower");
    is_str(mntr_value("peer_state"), "following - broadcast", "follower: zk_peer_state following - broadcast");
    is_str(mntr_value("quorum_size"), "3", "follower: zk_quorum_size 3");
    is_str(tail_after(word("conf"), "serverId="), member_conf_tail,
           "follower conf: ZooKeeper's quorum lines and membership, no final newline");
    ok(strstr(word("peer"), "Serving: yes\n") && strstr(word("peer"), "Epoch: 1\nEstablished: yes\n"),
       "follower: peer says serving, epoch 1 established");
    int status;
    is_str(admin("leader", &status), "{\"is_leader\":false,\"leader_id\":3,\"leader_ip\":\"127.0.0.1\","
           "\"command\":\"leader\",\"error\":null}", "follower: AdminServer leader names leader 3, as ZooKeeper's");

    /* --- a leader that serves --- */
    role.state = CORRAL_PEER_LEADING;
    role.mode = "leader";
    role.leader_sid = 2;
    role.learners = 2;
    role.synced_followers = 2;
    role.pending_syncs = 0;
    role.role_uptime_ms = 29551;
    role.proposal_size_last = role.proposal_size_min = role.proposal_size_max = -1;
    ok(strstr(word("srvr"), "\nMode: leader\nNode count: 5\nProposal sizes last/min/max: -1/-1/-1\n") != NULL,
       "leader: srvr Mode: leader, then ZooKeeper's proposal sizes line");
    is_str(mntr_keys(), K1 " peer_state " "ephemerals_count num_alive_connections avg_latency "
           "min_proposal_size " K3 " max_proposal_size " K4 " synced_followers " K5
           " synced_non_voting_followers synced_observers " K6
           " last_proposal_size pending_syncs leader_uptime " K7 " learners " K8 " quorum_size " K9,
           "leader: mntr keys as ZooKeeper's leader, in its order");
    is_str(mntr_value("peer_state"), "leading - broadcast", "leader: zk_peer_state leading - broadcast");
    ok(!strcmp(mntr_value("learners"), "2") && !strcmp(mntr_value("synced_followers"), "2") &&
       !strcmp(mntr_value("leader_uptime"), "29551") && !strcmp(mntr_value("last_proposal_size"), "-1"),
       "leader: zk_learners, zk_synced_followers, zk_leader_uptime, zk_last_proposal_size from the role");

    const char *json = admin("srvr", &status);
    const char *cr = strstr(json, "\"client_response\""), *ps = strstr(json, "\"proposal_stats\"");
    const char *nc = strstr(json, "\"node_count\"");
    ok(status == 200 && cr && ps && nc && cr < ps && ps < nc,
       "leader: AdminServer srvr has proposal_stats between client_response and node_count");
    ok(strstr(json, "\"server_state\":\"leader\"") != NULL, "leader: AdminServer srvr's server_state is leader");
    is_str(admin("leader", &status), "{\"is_leader\":true,\"leader_id\":2,\"leader_ip\":\"127.0.0.1\","
           "\"command\":\"leader\",\"error\":null}", "leader: AdminServer leader, as ZooKeeper's");
    return done_testing();
}
