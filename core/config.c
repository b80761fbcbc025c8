/*
 * config.c — reading zoo.cfg.
 *
 * Corral accepts an unmodified Apache ZooKeeper zoo.cfg, so the core's table
 * below lists every key ZooKeeper 3.8 documents (including the ones Corral
 * does not act on yet: they are accepted, not silently misspelled).  Keys of
 * Corral's own modules are declared by the modules themselves
 * (corral_module.config_keys) and checked once modules are loaded.  Anything
 * else is an error naming file, line and key.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "log.h"

static const struct corral_config_key core_keys[] = {
    /* ZooKeeper keys Corral acts on */
    {"tickTime", "milliseconds per tick (session timeouts are 2-20 ticks)"},
    {"dataDir", "where snapshots (and, without dataLogDir, the txn log) live"},
    {"dataLogDir", "where the txn log lives"},
    {"clientPort", "ZooKeeper client port"},
    {"clientPortAddress", "address the client port binds to"},
    {"maxClientCnxns", "connections per client IP (0: unlimited)"},
    {"minSessionTimeout", "lower bound for negotiated session timeouts (ms)"},
    {"maxSessionTimeout", "upper bound for negotiated session timeouts (ms)"},
    {"4lw.commands.whitelist", "four-letter words that are answered"},
    {"jute.maxbuffer", "largest request frame accepted (bytes)"},
    {"jute.maxbuffer.extrasize", "added to jute.maxbuffer: the largest txn logged (bytes)"},
    {"globalOutstandingLimit", "requests queued before the server stops reading"},
    {"snapCount", "txns between snapshots"},
    {"preAllocSize", "txn log preallocation (KiB)"},
    {"forceSync", "fsync the txn log before acknowledging"},
    {"autopurge.snapRetainCount", "snapshots kept by autopurge"},
    {"autopurge.purgeInterval", "hours between purges (0: off)"},
    {"skipACL", "skip ACL checks"},
    {"enforceQuota", "refuse writes past a quota's hard limits (QuotaExceeded)"},
    {"extendedTypesEnabled", "allow TTL nodes"},
    {"znode.container.checkIntervalMs", "how often unused container/TTL nodes are looked for"},
    {"znode.container.maxPerMinute", "most container/TTL deletions per minute"},
    {"admin.*", "admin server settings"},
    /* ZooKeeper keys accepted for compatibility (ensemble, TLS, metrics, ...) */
    {"forceSnapshotSync", "leader: sync every learner by snapshot (ZooKeeper's zookeeper.forceSnapshotSync)"},
    {"initLimit", NULL}, {"syncLimit", NULL}, {"server.*", NULL}, {"group.*", NULL},
    {"weight.*", NULL}, {"electionAlg", NULL}, {"electionPortBindRetry", NULL},
    {"peerType", NULL}, {"standaloneEnabled", NULL}, {"reconfigEnabled", NULL},
    {"dynamicConfigFile", NULL}, {"syncEnabled", NULL}, {"leaderServes", NULL},
    {"cnxTimeout", NULL}, {"quorumListenOnAllIPs", NULL}, {"quorum.*", NULL},
    {"secureClientPort", NULL}, {"secureClientPortAddress", NULL}, {"ssl.*", NULL},
    {"sslQuorum", NULL}, {"sslQuorumReloadCertFiles", NULL}, {"portUnification", NULL},
    {"serverCnxnFactory", NULL}, {"authProvider.*", NULL}, {"metricsProvider.*", NULL},
    {"localSessionsEnabled", NULL}, {"localSessionsUpgradingEnabled", NULL},
    {"connectToLearnerMasterLimit", NULL}, {"maxResponseCacheSize", NULL},
    {"maxGetChildrenResponseCacheSize", NULL}, {"snapSizeLimitInKb", NULL},
    {"txnLogSizeLimitInKb", NULL}, {"commitLogCount", NULL}, {"snapshot.*", NULL},
    {"digest.enabled", NULL}, {"audit.enable", NULL}, {"emulate353TTLNodes", NULL},
    {"zookeeper.*", NULL}, {"jute.*", NULL}, {"multiAddress.*", NULL},
    {"clientCnxnSocket", NULL}, {"fips-mode", NULL}, {"enforce.auth.*", NULL},
    {"sessionRequireClientSASLAuth", NULL}, {"kerberos.*", NULL}, {"4lw.*", NULL},
    {"netty.*", NULL}, {"learner.*", NULL}, {"observer.*", NULL}, {"maxCnxns", NULL},
    {"throttledOpWaitTime", NULL}, {"flushDelay", NULL}, {"maxWriteQueuePollTime", NULL},
    {"maxBatchSize", NULL}, {"requestThrottler.*", NULL}, {"fastleader.*", NULL},
    {"znode.container.maxNeverUsedIntervalMs", "delete containers never used for this long (ms)"},
    {"DigestAuthenticationProvider.*", NULL}, {"X509AuthenticationProvider.*", NULL},
    {"advancedFlowControlEnabled", NULL}, {"audit.*", NULL}, {"bitHashCacheSize", NULL},
    {"client.portUnification", NULL}, {"clientPortListenBacklog", NULL},
    {"clientTcpKeepAlive", NULL}, {"tcpKeepAlive", NULL}, {"connection*", NULL},
    {"enableEagerACLCheck", NULL}, {"forward_learner_requests_to_commit_processor_disabled", NULL},
    {"fsync.warningthresholdms", NULL}, {"largeRequestMaxBytes", NULL},
    {"largeRequestThreshold", NULL}, {"leader.*", NULL}, {"maxConcurrentDiffSyncs", NULL},
    {"maxConcurrentSnapSyncs", NULL}, {"maxInProcessingDeadWatchers", NULL},
    {"maxTimeToWaitForEpoch", NULL}, {"observerMasterPort", NULL},
    {"outstandingHandshake.limit", NULL}, {"quorumCnxnTimeoutMs", NULL},
    {"requestStale*", NULL}, {"requestThrottle*", NULL}, {"watchManagerName", NULL},
    {"watcherClean*", NULL}, {"oraclePath", NULL}, {"jvm.pause.*", NULL},
    {"readonlymode.enabled", "serve read-only clients while cut off from the quorum "
                             "(ZooKeeper's -Dreadonlymode.enabled)"},
    /* Corral's own */
    {"module.path", "colon-separated folders searched for modules"},
    {"module.transport", "transport modules to load (comma-separated)"},
    {"module.storage", "the storage module"},
    {"module.auth", "auth scheme modules to load (comma-separated)"},
    {"module.election", "the election module"},
    {"module.plugins", "plugins to load (comma-separated)"},
    {"corral.logLevel", "error, warn, info or debug"},
    {NULL, NULL},
};

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

int config_parse(struct config *cfg, const char *name, const char *text)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->path = strdup(name);
    char *copy = strdup(text);
    if (!cfg->path || !copy) {
        free(copy);
        return -1;
    }
    int cap = 0, lineno = 0, rc = 0;
    char *save = NULL;
    /* strtok_r would merge blank lines and shift line numbers: split by hand. */
    for (char *line = copy; line; line = save) {
        save = strchr(line, '\n');
        if (save)
            *save++ = 0;
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == '!')
            continue;
        char *sep = strpbrk(s, "=:");
        if (!sep) {
            log_error("%s:%d: expected key=value, got '%s'", name, lineno, s);
            rc = -1;
            continue;
        }
        *sep = 0;
        char *key = trim(s), *value = trim(sep + 1);
        if (!*key) {
            log_error("%s:%d: empty key", name, lineno);
            rc = -1;
            continue;
        }
        if (cfg->n_entries == cap) {
            cap = cap ? cap * 2 : 32;
            struct config_entry *e = realloc(cfg->entries, (size_t)cap * sizeof *e);
            if (!e) {
                rc = -1;
                break;
            }
            cfg->entries = e;
        }
        struct config_entry *e = &cfg->entries[cfg->n_entries++];
        e->key = strdup(key);
        e->value = strdup(value);
        e->line = lineno;
        e->warned = 0;
    }
    free(copy);
    return rc;
}

int config_load(struct config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        log_error("%s: cannot read config: %s", path, strerror(errno));
        memset(cfg, 0, sizeof *cfg);
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    buf[len] = 0;
    int rc = config_parse(cfg, path, buf);
    free(buf);
    return rc;
}

void config_free(struct config *cfg)
{
    for (int i = 0; i < cfg->n_entries; i++) {
        free(cfg->entries[i].key);
        free(cfg->entries[i].value);
    }
    free(cfg->entries);
    free(cfg->path);
    memset(cfg, 0, sizeof *cfg);
}

/* The last entry for key, writable (to remember a warning was given). */
static struct config_entry *find_entry(const struct config *cfg, const char *key)
{
    for (int i = cfg->n_entries - 1; i >= 0; i--)
        if (strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

const struct config_entry *config_find(const struct config *cfg, const char *key)
{
    return find_entry(cfg, key);
}

const char *config_value(const struct config *cfg, const char *key)
{
    const struct config_entry *e = config_find(cfg, key);
    return e ? e->value : NULL;
}

/*
 * How Apache ZooKeeper 3.8 reads its integer keys, so that every value it
 * starts with starts Corral too.  Two readers exist there:
 *  - QuorumPeerConfig: Integer.parseInt (decimal, optional sign); a bad
 *    number stops ZooKeeper (ZK_STRICT);
 *  - system properties (Integer.getInteger, Long.getLong: Integer.decode,
 *    so 0x1F, #1F and octal 017 too): a bad number is silently the default.
 *    preAllocSize is read with Long.parseLong but also falls back.
 * Some keys ZooKeeper raises to a floor (snapCount 2, snapRetainCount 3);
 * clientPort outside 0..65535 stops it.  Within what ZooKeeper accepts, a
 * value outside the range the caller of config_get_int can work with is
 * clamped into it, with a warning, instead of refusing to start.
 */
enum {
    ZK_STRICT = 1,      /* a malformed number stops the server */
    ZK_DECODE = 2,      /* Integer.decode syntax (hex, octal) instead of decimal */
    ZK_LONG = 4,        /* a Java long, not an int */
};

struct zk_int_rule {
    const char *key;
    int flags;
    long long floor;    /* ZooKeeper raises smaller values to this */
    long long lo, hi;   /* ZooKeeper refuses to start outside; 0, 0: the type's range */
};

static const struct zk_int_rule zk_int_rules[] = {
    {"tickTime", ZK_STRICT, LLONG_MIN, 0, 0},
    {"minSessionTimeout", ZK_STRICT, LLONG_MIN, 0, 0},
    {"maxSessionTimeout", ZK_STRICT, LLONG_MIN, 0, 0},
    {"clientPort", ZK_STRICT, LLONG_MIN, 0, 65535},
    {"maxClientCnxns", ZK_STRICT, LLONG_MIN, 0, 0},
    {"autopurge.snapRetainCount", ZK_STRICT, 3, 0, 0},
    {"autopurge.purgeInterval", ZK_STRICT, LLONG_MIN, 0, 0},
    {"globalOutstandingLimit", ZK_DECODE, LLONG_MIN, 0, 0},
    {"snapCount", ZK_DECODE, 2, 0, 0},
    {"snapSizeLimitInKb", ZK_DECODE | ZK_LONG, LLONG_MIN, 0, 0},
    {"preAllocSize", ZK_LONG, LLONG_MIN, 0, 0},
    {"jute.maxbuffer", ZK_DECODE, LLONG_MIN, 0, 0},
    {"admin.serverPort", ZK_DECODE, LLONG_MIN, 0, 0},
    {"admin.idleTimeout", ZK_DECODE, LLONG_MIN, 0, 0},
    {"znode.container.checkIntervalMs", ZK_DECODE, LLONG_MIN, 0, 0},
    {"znode.container.maxPerMinute", ZK_DECODE, LLONG_MIN, 0, 0},
    {"znode.container.maxNeverUsedIntervalMs", ZK_DECODE | ZK_LONG, LLONG_MIN, 0, 0},
    {NULL, 0, 0, 0, 0},
};

static const struct zk_int_rule *zk_int_rule(const char *key)
{
    for (const struct zk_int_rule *r = zk_int_rules; r->key; r++)
        if (!strcmp(r->key, key))
            return r;
    return NULL;
}

/*
 * Java's number syntax: Long.parseLong (decimal, optional + or -) or, with
 * decode, Long.decode (also 0x, 0X or # for hex and a leading 0 for octal).
 * 0 and *out set when the whole text is such a number within [lo, hi].
 */
static int java_number(const char *s, int decode, long long lo, long long hi, long long *out)
{
    const char *p = s;
    int neg = 0, base = 10;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (decode) {
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
            base = 16, p += 2;
        else if (p[0] == '#')
            base = 16, p += 1;
        else if (p[0] == '0' && p[1])
            base = 8, p += 1;
    }
    if (!*p)
        return -1;
    unsigned long long mag = 0, limit = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
    for (; *p; p++) {
        int d = isdigit((unsigned char)*p) ? *p - '0'
                : isxdigit((unsigned char)*p) ? tolower((unsigned char)*p) - 'a' + 10 : 99;
        if (d >= base || mag > (limit - (unsigned long long)d) / (unsigned long long)base)
            return -1;
        mag = mag * (unsigned long long)base + (unsigned long long)d;
    }
    long long v = neg ? (mag == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)mag)
                      : (long long)mag;
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int config_get_int(const struct config *cfg, const char *key, long long def,
                   long long min, long long max, long long *out)
{
    struct config_entry *e = find_entry(cfg, key);
    if (!e) {
        *out = def;
        return 0;
    }
    const struct zk_int_rule *r = zk_int_rule(key);
    long long v, tlo = LLONG_MIN, thi = LLONG_MAX;
    if (r && !(r->flags & ZK_LONG))
        tlo = INT32_MIN, thi = INT32_MAX;
    /* Corral's own keys keep C's syntax (strtoll base 0: hex and octal too) */
    if (java_number(e->value, !r || (r->flags & ZK_DECODE), tlo, thi, &v) < 0) {
        if (r && !(r->flags & ZK_STRICT)) {
            /* ZooKeeper falls back to its default without a word; say it */
            if (!e->warned)
                log_warn("%s:%d: key '%s': '%s' is not an integer%s; using the default %lld, "
                         "as ZooKeeper does", cfg->path, e->line, key, e->value,
                         thi == INT32_MAX ? " in ZooKeeper's 32-bit range" : "", def);
            e->warned = 1;
            *out = def;
            return 0;
        }
        log_error("%s:%d: key '%s': '%s' is not an integer%s", cfg->path, e->line, key,
                  e->value, thi == INT32_MAX ? " in ZooKeeper's 32-bit range" : "");
        return -1;
    }
    if (r && (r->lo || r->hi) && (v < r->lo || v > r->hi)) {
        log_error("%s:%d: key '%s': %lld is out of range [%lld, %lld]", cfg->path, e->line,
                  key, v, r->lo, r->hi);
        return -1;
    }
    if (r && v < r->floor) {
        if (!e->warned)
            log_warn("%s:%d: key '%s': %lld is below the minimum %lld; using %lld, as ZooKeeper "
                     "does", cfg->path, e->line, key, v, r->floor, r->floor);
        v = r->floor;
    }
    if (v < min || v > max) {
        if (!r) {
            log_error("%s:%d: key '%s': %lld is out of range [%lld, %lld]", cfg->path, e->line,
                      key, v, min, max);
            return -1;
        }
        /* ZooKeeper starts with it: so does Corral, within what it can do */
        long long c = v < min ? min : max;
        if (!e->warned)
            log_warn("%s:%d: key '%s': %lld is outside what Corral supports [%lld, %lld]; "
                     "using %lld", cfg->path, e->line, key, v, min, max, c);
        v = c;
    }
    e->warned = 1;
    *out = v;
    return 0;
}

/*
 * ZooKeeper's booleans are read with different tests, and none of them
 * refuses a value: skipACL is on only for exactly "yes", forceSync off only
 * for exactly "no", admin.enableServer off only for exactly "false", and
 * Boolean.getBoolean keys (extendedTypesEnabled) on only for "true" in any
 * case.  Corral reads them the same way (so forceSync=false keeps fsync on,
 * skipACL=true keeps ACLs checked, as in ZooKeeper) and warns once when a
 * value is not the one word ZooKeeper looks for.  Corral's own keys take
 * true/false, yes/no or 1/0 and refuse anything else.
 */
enum zk_bool { ZK_ONLY_YES = 1, ZK_UNLESS_NO, ZK_UNLESS_FALSE, ZK_JAVA_TRUE };

static const struct {
    const char *key;
    enum zk_bool how;
} zk_bool_rules[] = {
    {"skipACL", ZK_ONLY_YES},
    {"forceSync", ZK_UNLESS_NO},
    {"admin.enableServer", ZK_UNLESS_FALSE},
    {"extendedTypesEnabled", ZK_JAVA_TRUE},
    {NULL, 0},
};

int config_get_bool(const struct config *cfg, const char *key, int def, int *out)
{
    struct config_entry *e = find_entry(cfg, key);
    if (!e) {
        *out = def;
        return 0;
    }
    for (int i = 0; zk_bool_rules[i].key; i++) {
        if (strcmp(zk_bool_rules[i].key, key))
            continue;
        const char *v = e->value, *word;
        int on;
        switch (zk_bool_rules[i].how) {
        case ZK_ONLY_YES: on = !strcmp(v, "yes"), word = on || !strcmp(v, "no") ? NULL : "yes"; break;
        case ZK_UNLESS_NO: on = !!strcmp(v, "no"), word = !on || !strcmp(v, "yes") ? NULL : "no"; break;
        case ZK_UNLESS_FALSE:
            on = !!strcmp(v, "false"), word = !on || !strcmp(v, "true") ? NULL : "false";
            break;
        default: on = !strcasecmp(v, "true"), word = on || !strcasecmp(v, "false") ? NULL : "true"; break;
        }
        if (word && !e->warned)
            log_warn("%s:%d: key '%s': '%s' reads as %s (ZooKeeper looks only for '%s')",
                     cfg->path, e->line, key, v, on ? "true" : "false", word);
        e->warned = 1;
        *out = on;
        return 0;
    }
    if (!strcasecmp(e->value, "true") || !strcasecmp(e->value, "yes") || !strcmp(e->value, "1"))
        *out = 1;
    else if (!strcasecmp(e->value, "false") || !strcasecmp(e->value, "no") ||
             !strcmp(e->value, "0"))
        *out = 0;
    else {
        log_error("%s:%d: key '%s': '%s' is not true or false", cfg->path, e->line, key,
                  e->value);
        return -1;
    }
    return 0;
}

int config_key_matches(const char *pat, const char *name)
{
    size_t n = strlen(pat);
    if (n && pat[n - 1] == '*')
        return strncmp(pat, name, n - 1) == 0;
    return strcmp(pat, name) == 0;
}

static int in_table(const struct corral_config_key *t, const char *key)
{
    for (; t && t->name; t++)
        if (config_key_matches(t->name, key))
            return 1;
    return 0;
}

int config_check_keys(const struct config *cfg,
                      const struct corral_config_key *const *module_tables, int n_tables)
{
    int unknown = 0;
    for (int i = 0; i < cfg->n_entries; i++) {
        const char *key = cfg->entries[i].key;
        int known = in_table(core_keys, key);
        for (int t = 0; !known && t < n_tables; t++)
            known = in_table(module_tables[t], key);
        if (!known) {
            log_error("%s:%d: unknown key '%s'", cfg->path, cfg->entries[i].line, key);
            unknown++;
        }
    }
    return unknown;
}
