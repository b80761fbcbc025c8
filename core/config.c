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

const struct config_entry *config_find(const struct config *cfg, const char *key)
{
    for (int i = cfg->n_entries - 1; i >= 0; i--)
        if (strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

const char *config_value(const struct config *cfg, const char *key)
{
    const struct config_entry *e = config_find(cfg, key);
    return e ? e->value : NULL;
}

int config_get_int(const struct config *cfg, const char *key, long long def,
                   long long min, long long max, long long *out)
{
    const struct config_entry *e = config_find(cfg, key);
    if (!e) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(e->value, &end, 0);
    if (errno || end == e->value || *end) {
        log_error("%s:%d: key '%s': '%s' is not an integer", cfg->path, e->line, key, e->value);
        return -1;
    }
    if (v < min || v > max) {
        log_error("%s:%d: key '%s': %lld is out of range [%lld, %lld]", cfg->path, e->line,
                  key, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int config_get_bool(const struct config *cfg, const char *key, int def, int *out)
{
    const struct config_entry *e = config_find(cfg, key);
    if (!e) {
        *out = def;
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
