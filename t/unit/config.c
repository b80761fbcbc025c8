/*
 * config.c — unit tests of the zoo.cfg reader (core/config.c): comments and
 * blank lines, last value wins, integer and boolean parsing with errors that
 * name file, line and key, and unknown keys rejected while ZooKeeper's own
 * keys are accepted.  Then ZooKeeper 3.8's own reading of its keys: every key
 * its admin guide documents is known, and a table of edge values per key
 * (what ZooKeeper starts with, measured against Debian's 3.8.0, must not be
 * refused: it is read as Java reads it, raised to ZooKeeper's floor, or
 * clamped into what the caller supports; what ZooKeeper refuses is refused).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"
#include "config.h"

/* Every key in ZooKeeper 3.8's zookeeperAdmin.md (and QuorumPeerConfig's own). */
static const char *const zk_documented[] = {
    "4lw.commands.whitelist", "DigestAuthenticationProvider.digestAlg",
    "DigestAuthenticationProvider.enabled", "DigestAuthenticationProvider.superDigest",
    "X509AuthenticationProvider.superUser", "admin.commandURL", "admin.enableServer",
    "admin.forceHttps", "admin.idleTimeout", "admin.portUnification", "admin.serverAddress",
    "admin.serverPort", "advancedFlowControlEnabled", "audit.enable", "audit.impl.class",
    "authProvider.1", "autopurge.purgeInterval", "autopurge.snapRetainCount", "bitHashCacheSize",
    "client.portUnification", "clientPort", "clientPortAddress", "clientPortListenBacklog",
    "clientTcpKeepAlive", "cnxTimeout", "commitLogCount", "connectToLearnerMasterLimit",
    "connectionDecreaseRatio", "connectionDropDecrease", "connectionDropIncrease",
    "connectionFreezeTime", "connectionMaxTokens", "connectionTokenFillCount",
    "connectionTokenFillTime", "dataDir", "dataLogDir", "digest.enabled", "electionAlg",
    "electionPortBindRetry", "emulate353TTLNodes", "enableEagerACLCheck", "enforce.auth.enabled",
    "enforce.auth.schemes", "enforceQuota", "extendedTypesEnabled",
    "fastleader.maxNotificationInterval", "fastleader.minNotificationInterval", "flushDelay",
    "forceSync", "forward_learner_requests_to_commit_processor_disabled",
    "fsync.warningthresholdms", "globalOutstandingLimit", "group.1", "initLimit",
    "jute.maxbuffer", "jute.maxbuffer.extrasize", "kerberos.canonicalizeHostNames",
    "kerberos.removeHostFromPrincipal", "kerberos.removeRealmFromPrincipal",
    "largeRequestMaxBytes", "largeRequestThreshold", "leader.closeSocketAsync", "leaderServes",
    "learner.asyncSending", "learner.closeSocketAsync", "localSessionsEnabled",
    "localSessionsUpgradingEnabled", "maxBatchSize", "maxClientCnxns", "maxCnxns",
    "maxConcurrentDiffSyncs", "maxConcurrentSnapSyncs", "maxGetChildrenResponseCacheSize",
    "maxInProcessingDeadWatchers", "maxResponseCacheSize", "maxSessionTimeout",
    "maxTimeToWaitForEpoch", "maxWriteQueuePollTime", "metricsProvider.className",
    "metricsProvider.httpPort", "minSessionTimeout", "multiAddress.enabled",
    "multiAddress.reachabilityCheckEnabled", "multiAddress.reachabilityCheckTimeoutMs",
    "netty.server.earlyDropSecureConnectionHandshakes", "observer.election.DelayMs",
    "observer.reconnectDelayMs", "observerMasterPort", "outstandingHandshake.limit",
    "preAllocSize", "quorumCnxnTimeoutMs", "quorumListenOnAllIPs", "reconfigEnabled",
    "requestStaleConnectionCheck", "requestStaleLatencyCheck", "requestThrottleDropStale",
    "requestThrottleLimit", "requestThrottleStallTime", "secureClientPort",
    "secureClientPortAddress", "server.1", "serverCnxnFactory", "sessionRequireClientSASLAuth",
    "skipACL", "snapCount", "snapSizeLimitInKb", "snapshot.compression.method",
    "snapshot.trust.empty", "ssl.authProvider", "ssl.clientAuth", "ssl.keyStore.location",
    "ssl.quorum.keyStore.location", "sslQuorum", "sslQuorumReloadCertFiles",
    "standaloneEnabled", "syncEnabled", "syncLimit", "tcpKeepAlive", "throttledOpWaitTime",
    "tickTime", "txnLogSizeLimitInKb", "watchManagerName", "watcherCleanIntervalInSeconds",
    "watcherCleanThreadsNum", "watcherCleanThreshold", "weight.1",
    "znode.container.checkIntervalMs", "znode.container.maxNeverUsedIntervalMs",
    "znode.container.maxPerMinute", "zookeeper.superUser", "peerType", "dynamicConfigFile",
    "oraclePath", "quorum.auth.enableSasl", "quorum.cnxn.threads.size",
    "jvm.pause.info-threshold-ms", "jvm.pause.monitor", "portUnification", NULL,
};

/* key=value read with config_get_int(def, min, max): rc, and the value when 0 */
static const struct {
    const char *key, *value;
    long long def, min, max;
    int rc;
    long long want;
} int_cases[] = {
    /* QuorumPeerConfig keys: Integer.parseInt, a bad number stops ZooKeeper */
    {"tickTime", "010", 3000, INT32_MIN, INT32_MAX, 0, 10},     /* decimal, not octal */
    {"tickTime", "+5", 3000, INT32_MIN, INT32_MAX, 0, 5},
    {"tickTime", "0x10", 3000, INT32_MIN, INT32_MAX, -1, 0},
    {"tickTime", "2147483648", 3000, INT32_MIN, INT32_MAX, -1, 0},
    {"tickTime", "abc", 3000, INT32_MIN, INT32_MAX, -1, 0},
    {"tickTime", "1000000", 3000, INT32_MIN, INT32_MAX, 0, 1000000},
    {"clientPort", "-1", 2181, 0, 65535, -1, 0},
    {"clientPort", "65536", 2181, 0, 65535, -1, 0},
    {"clientPort", "0", 2181, 0, 65535, 0, 0},
    {"maxClientCnxns", "-1", 60, 0, 1 << 30, 0, 0},              /* <= 0: unlimited */
    {"maxClientCnxns", "2147483647", 60, 0, 1 << 30, 0, 1 << 30},
    {"maxClientCnxns", "abc", 60, 0, 1 << 30, -1, 0},
    {"autopurge.snapRetainCount", "0", 3, 1, INT32_MAX, 0, 3},  /* ZooKeeper's floor */
    {"autopurge.snapRetainCount", "-1", 3, 1, INT32_MAX, 0, 3},
    {"autopurge.snapRetainCount", "abc", 3, 1, INT32_MAX, -1, 0},
    {"autopurge.purgeInterval", "-1", 0, 0, 1000000, 0, 0},
    {"autopurge.purgeInterval", "2147483647", 0, 0, 1000000, 0, 1000000},
    {"autopurge.purgeInterval", "abc", 0, 0, 1000000, -1, 0},
    /* system properties: Integer.decode, a bad number is the default */
    {"globalOutstandingLimit", "0", 1000, 1, 1000000, 0, 1},
    {"globalOutstandingLimit", "-1", 1000, 1, 1000000, 0, 1},
    {"globalOutstandingLimit", "abc", 1000, 1, 1000000, 0, 1000},
    {"globalOutstandingLimit", "2147483648", 1000, 1, 1000000, 0, 1000},
    {"globalOutstandingLimit", "0x10", 1000, 1, 1000000, 0, 16},
    {"globalOutstandingLimit", "#10", 1000, 1, 1000000, 0, 16},
    {"globalOutstandingLimit", "010", 1000, 1, 1000000, 0, 8},
    {"snapCount", "0", 100000, 2, INT32_MAX, 0, 2},
    {"snapCount", "-1", 100000, 2, INT32_MAX, 0, 2},
    {"snapCount", "abc", 100000, 2, INT32_MAX, 0, 100000},
    {"snapSizeLimitInKb", "-5", 4194304, -1, INT64_MAX / 1024, 0, -1},
    {"snapSizeLimitInKb", "abc", 4194304, -1, INT64_MAX / 1024, 0, 4194304},
    {"preAllocSize", "-1", 65536, 0, INT64_MAX / 1024, 0, 0},
    {"preAllocSize", "abc", 65536, 0, INT64_MAX / 1024, 0, 65536},
    {"preAllocSize", "9223372036854775807", 65536, 0, INT64_MAX / 1024, 0, INT64_MAX / 1024},
    {"jute.maxbuffer", "0", 0xfffff, 1, INT32_MAX, 0, 1},
    {"jute.maxbuffer", "abc", 0xfffff, 1, INT32_MAX, 0, 0xfffff},
    {"admin.idleTimeout", "0", 30000, 1, 86400000, 0, 1},
    {"admin.idleTimeout", "abc", 30000, 1, 86400000, 0, 30000},
    {"znode.container.checkIntervalMs", "1", 60000, 1, INT32_MAX, 0, 1},   /* Curator's */
    {"znode.container.checkIntervalMs", "0", 60000, 1, INT32_MAX, 0, 1},
    {"znode.container.checkIntervalMs", "abc", 60000, 1, INT32_MAX, 0, 60000},
    {"znode.container.maxPerMinute", "0", 10000, 1, INT32_MAX, 0, 1},
    {"znode.container.maxNeverUsedIntervalMs", "-1", 0, 0, INT64_MAX, 0, 0},
    /* Corral's own keys: out of range is an error */
    {"plugin.lua.memoryLimit", "1", 64, 1024, 4096, -1, 0},
    {"plugin.lua.memoryLimit", "0x800", 64, 1024, 4096, 0, 2048},
};

static const struct {
    const char *key, *value;
    int want;
} bool_cases[] = {
    {"skipACL", "yes", 1}, {"skipACL", "true", 0}, {"skipACL", "maybe", 0}, {"skipACL", "YES", 0},
    {"forceSync", "no", 0}, {"forceSync", "false", 1}, {"forceSync", "maybe", 1},
    {"admin.enableServer", "false", 0}, {"admin.enableServer", "no", 1},
    {"admin.enableServer", "FALSE", 1}, {"extendedTypesEnabled", "TRUE", 1},
    {"extendedTypesEnabled", "yes", 0}, {"extendedTypesEnabled", "maybe", 0},
};

static void zookeeper_readings(void)
{
    struct config cfg;
    char text[16384];
    size_t at = 0;
    for (int i = 0; zk_documented[i]; i++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%s=1\n", zk_documented[i]);
    ok(at < sizeof text, "the documented keys fit the buffer");
    ok(config_parse(&cfg, "zk.cfg", text) == 0, "a zoo.cfg of every documented key parses");
    is_int(config_check_keys(&cfg, NULL, 0), 0, "every key ZooKeeper documents is known");
    config_free(&cfg);

    for (size_t i = 0; i < sizeof int_cases / sizeof *int_cases; i++) {
        snprintf(text, sizeof text, "%s=%s\n", int_cases[i].key, int_cases[i].value);
        config_parse(&cfg, "edge.cfg", text);
        long long v = -42;
        int rc = config_get_int(&cfg, int_cases[i].key, int_cases[i].def, int_cases[i].min,
                                int_cases[i].max, &v);
        ok(rc == int_cases[i].rc && (rc < 0 || v == int_cases[i].want), "%s=%s: %s %lld",
           int_cases[i].key, int_cases[i].value, rc < 0 ? "refused" : "read as", v);
        config_free(&cfg);
    }
    for (size_t i = 0; i < sizeof bool_cases / sizeof *bool_cases; i++) {
        snprintf(text, sizeof text, "%s=%s\n", bool_cases[i].key, bool_cases[i].value);
        config_parse(&cfg, "edge.cfg", text);
        int b = -1;
        int rc = config_get_bool(&cfg, bool_cases[i].key, !bool_cases[i].want, &b);
        ok(rc == 0 && b == bool_cases[i].want, "%s=%s reads as %d, as in ZooKeeper",
           bool_cases[i].key, bool_cases[i].value, b);
        config_free(&cfg);
    }
    config_parse(&cfg, "edge.cfg", "storage.mem.async=maybe\n");
    int b;
    ok(config_get_bool(&cfg, "storage.mem.async", 0, &b) == -1,
       "a Corral key's boolean must be true or false");
    config_free(&cfg);
}

int main(void)
{
    struct config cfg;
    const char *text =
        "# a comment\n"
        "tickTime=2000\n"
        "\n"
        "! another comment\n"
        "dataDir = /tmp/x \n"
        "clientPort=2181\n"
        "clientPort=2182\n"
        "skipACL=yes\n"
        "server.1=127.0.0.1:2888:3888\n"
        "maxClientCnxns=abc\n"
        "bogusKey=1\n";
    ok(config_parse(&cfg, "test.cfg", text) == 0, "a valid config parses");
    is_str(config_value(&cfg, "dataDir"), "/tmp/x", "values are trimmed");
    is_str(config_value(&cfg, "clientPort"), "2182", "the last value of a key wins");
    long long v;
    ok(config_get_int(&cfg, "tickTime", 3000, 1, 100000, &v) == 0 && v == 2000, "integer read");
    ok(config_get_int(&cfg, "initLimit", 10, 1, 100, &v) == 0 && v == 10, "absent key gives default");
    ok(config_get_int(&cfg, "maxClientCnxns", 60, 0, 1000, &v) == -1, "non-integer is an error");
    ok(config_get_int(&cfg, "tickTime", 3000, 1, 100, &v) == 0 && v == 100,
       "a ZooKeeper key's value out of the caller's range is clamped into it");
    int b;
    ok(config_get_bool(&cfg, "skipACL", 0, &b) == 0 && b == 1, "boolean 'yes' read as true");
    is_int(config_find(&cfg, "bogusKey")->line, 11, "entries remember their line");

    /* Capture the log to check that the error names file, line and key. */
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    int unknown = config_check_keys(&cfg, NULL, 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char line[512] = {0};
    rewind(tmp);
    size_t n = fread(line, 1, sizeof line - 1, tmp);
    line[n] = 0;
    fclose(tmp);
    is_int(unknown, 1, "exactly one unknown key (server.1 etc. are ZooKeeper keys)");
    ok(strstr(line, "test.cfg:11: unknown key 'bogusKey'") != NULL,
       "the error names file, line and key");

    struct corral_config_key mod_keys[] = {{"bogusKey", NULL}, {NULL, NULL}};
    const struct corral_config_key *tables[] = {mod_keys};
    ok(config_check_keys(&cfg, tables, 1) == 0, "a module's own key is accepted");
    ok(config_key_matches("storage.file.*", "storage.file.preAllocSize"), "prefix patterns match");
    ok(!config_key_matches("tickTime", "tickTimeX"), "exact keys match exactly");
    config_free(&cfg);

    ok(config_parse(&cfg, "bad.cfg", "novalue\n") == -1, "a line without '=' is an error");
    config_free(&cfg);
    zookeeper_readings();
    return done_testing();
}
