/*
 * view.c — the ensemble view: zoo.cfg's server.N lines read the way
 * ZooKeeper 3.8's QuorumPeerConfig / QuorumServer read them, the view's
 * string form exactly as QuorumMaj.toString() writes it (it travels in every
 * election notification, and a peer that sees a different version restarts
 * its election), and the majority rule.
 *
 * What ZooKeeper refuses we refuse, naming file, line and key; what Corral
 * cannot do yet (hierarchical quorums, multiple addresses per server, a
 * dynamic config file) is refused as "not supported yet" rather than
 * half-understood.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "quorum/view.h"
#include "log.h"

/* Java's Long.parseLong: optional sign, decimal digits, in range.  0 or -1. */
static int parse_java_long(const char *s, int64_t *out)
{
    if (!*s)
        return -1;
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* A port as Integer.parseInt then InetSocketAddress take it; we also refuse 0
 * (nothing can be dialled there).  0 or -1. */
static int parse_port(const char *s, int *out)
{
    int64_t v;
    if (parse_java_long(s, &v) < 0 || v < 1 || v > 65535)
        return -1;
    *out = (int)v;
    return 0;
}

/*
 * ZooKeeper's ConfigUtils.getHostAndPort: "[v6]:a:b…" keeps the bracketed
 * host whole, anything else splits at every ':'.  Fills parts (pointers into
 * s, which is modified) and returns their count, or -1 on a malformed
 * bracket.
 */
static int split_host_and_port(char *s, char **parts, int max)
{
    int n = 0;
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (!close || (close[1] != ':' && close[1] != 0))
            return -1;
        *close = 0;
        parts[n++] = s + 1;
        s = close[1] ? close + 2 : close + 1;
        if (!close[1])
            return n;
    }
    for (;;) {
        if (n == max)
            return max + 1;
        parts[n++] = s;
        char *c = strchr(s, ':');
        if (!c)
            break;
        *c = 0;
        s = c + 1;
    }
    return n;
}

static void member_free(struct corral_quorum_member *m)
{
    free(m->host);
    free(m->client_host);
}

/*
 * One server.N value.  On a refusal, why gets a sentence for the log line
 * and -1 is returned.
 */
static int parse_member(const char *value, struct corral_quorum_member *m, char *why, size_t cap)
{
    static const char form[] = "does not have the form host:quorumPort:electionPort[:participant|"
                               ":observer][;[clientHost:]clientPort]";
    char *copy = strdup(value);
    if (!copy)
        abort();
    int rc = -1;
    char *client = strchr(copy, ';');
    if (client) {
        *client++ = 0;
        if (strchr(client, ';')) {
            snprintf(why, cap, "'%s' %s", value, form);
            goto out;
        }
    }
    if (strchr(copy, '|')) {
        snprintf(why, cap, "'%s': several addresses per server (multiAddress) are not supported "
                 "yet", value);
        goto out;
    }
    char *parts[5];
    int n = split_host_and_port(copy, parts, 4);
    if (n < 3 || n > 4 || !*parts[0]) {
        snprintf(why, cap, "'%s' %s", value, form);
        goto out;
    }
    if (parse_port(parts[1], &m->quorum_port) < 0 || parse_port(parts[2], &m->election_port) < 0) {
        snprintf(why, cap, "'%s': a port is not a number in 1..65535", value);
        goto out;
    }
    if (m->quorum_port == m->election_port) {
        snprintf(why, cap, "'%s': the quorum port and the election port must be different", value);
        goto out;
    }
    if (n == 4) {
        char *t = parts[3];
        while (isspace((unsigned char)*t))
            t++;
        size_t tl = strlen(t);
        while (tl && isspace((unsigned char)t[tl - 1]))
            t[--tl] = 0;
        if (!strcasecmp(t, "observer"))
            m->observer = 1;
        else if (strcasecmp(t, "participant")) {
            snprintf(why, cap, "'%s': unrecognised peer type '%s' (participant or observer)",
                     value, parts[3]);
            goto out;
        }
    }
    m->host = strdup(parts[0]);
    if (client) {
        char *cparts[3];
        int cn = split_host_and_port(client, cparts, 2);
        if (cn < 1 || cn > 2 || parse_port(cparts[cn - 1], &m->client_port) < 0 ||
            (cn == 2 && !*cparts[0])) {
            snprintf(why, cap, "'%s': the client part must be clientPort or clientHost:clientPort",
                     value);
            goto out;
        }
        m->has_client = 1;
        m->client_host = strdup(cn == 2 ? cparts[0] : "0.0.0.0");
    }
    rc = 0;
out:
    free(copy);
    return rc;
}

static int by_sid(const void *a, const void *b)
{
    const struct corral_quorum_member *x = a, *y = b;
    return x->sid < y->sid ? -1 : x->sid > y->sid;
}

/*
 * The order ZooKeeper lists members in: QuorumMaj keeps them in a
 * java.util.HashMap<Long, …>, whose iteration goes bucket by bucket.  A Long
 * hashes to (int)(v ^ v >>> 32), spread as h ^ h >>> 16, and the bucket is
 * that masked by the table size (16, doubled whenever more than 3/4 full).
 * So small sids come in ascending order, large ones in bucket order.  Within
 * one bucket Java keeps insertion order, which depends on how its Properties
 * table iterated; we use ascending sid there (it only matters for sids that
 * collide, and a peer compares the config text only when its version is
 * newer than its own).
 */
static uint32_t java_bucket(int64_t sid, uint32_t cap)
{
    uint64_t v = (uint64_t)sid;
    uint32_t h = (uint32_t)(v ^ (v >> 32));
    h ^= h >> 16;
    return h & (cap - 1);
}

static uint32_t java_map_capacity(int n)
{
    uint32_t cap = 16;
    while ((uint64_t)n * 4 > (uint64_t)cap * 3)
        cap *= 2;
    return cap;
}

struct ordered {
    const struct corral_quorum_member *m;
    uint32_t bucket;
};

static int by_bucket(const void *a, const void *b)
{
    const struct ordered *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return x->m->sid < y->m->sid ? -1 : x->m->sid > y->m->sid;
}

/* QuorumServer.delimitedHostString: an IPv6 literal goes back in brackets. */
static void append_host(char **buf, size_t *len, size_t *cap, const char *host);

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 256;
        *buf = realloc(*buf, *cap);
        if (!*buf)
            abort();
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

static void append_host(char **buf, size_t *len, size_t *cap, const char *host)
{
    if (strchr(host, ':')) {
        append(buf, len, cap, "[");
        append(buf, len, cap, host);
        append(buf, len, cap, "]");
    } else
        append(buf, len, cap, host);
}

/*
 * QuorumMaj.toString(): "server.N=" + QuorumServer.toString() + "\n" per
 * member, then "version=" + Long.toHexString(version).  A member's client
 * part is written only when its own line had one (ZooKeeper's
 * isClientAddrFromStatic hides the one this server took from clientPort).
 */
static void build_text(struct corral_quorum_view *v)
{
    struct ordered *o = calloc((size_t)v->n_members + 1, sizeof *o);
    if (!o)
        abort();
    uint32_t cap = java_map_capacity(v->n_members);
    for (int i = 0; i < v->n_members; i++) {
        o[i].m = &v->members[i];
        o[i].bucket = java_bucket(v->members[i].sid, cap);
    }
    qsort(o, (size_t)v->n_members, sizeof *o, by_bucket);
    char *buf = NULL, num[64];
    size_t len = 0, bcap = 0;
    append(&buf, &len, &bcap, "");
    for (int i = 0; i < v->n_members; i++) {
        const struct corral_quorum_member *m = o[i].m;
        snprintf(num, sizeof num, "server.%lld=", (long long)m->sid);
        append(&buf, &len, &bcap, num);
        append_host(&buf, &len, &bcap, m->host);
        snprintf(num, sizeof num, ":%d:%d:%s", m->quorum_port, m->election_port,
                 m->observer ? "observer" : "participant");
        append(&buf, &len, &bcap, num);
        if (m->has_client) {
            append(&buf, &len, &bcap, ";");
            append_host(&buf, &len, &bcap, m->client_host);
            snprintf(num, sizeof num, ":%d", m->client_port);
            append(&buf, &len, &bcap, num);
        }
        append(&buf, &len, &bcap, "\n");
    }
    /* Long.toHexString: the two's-complement bits, no sign */
    snprintf(num, sizeof num, "version=%llx", (unsigned long long)v->version);
    append(&buf, &len, &bcap, num);
    free(o);
    v->text = buf;
    v->text_len = (int)len;
}

int quorum_view_parse(const struct config *cfg, int64_t my_id, struct corral_quorum_view *view)
{
    memset(view, 0, sizeof *view);
    view->my_id = my_id;
    int rc = 0;
    for (int i = 0; i < cfg->n_entries; i++) {
        const struct config_entry *e = &cfg->entries[i];
        if (!strncmp(e->key, "group.", 6) || !strncmp(e->key, "weight.", 7)) {
            log_error("%s:%d: key '%s': hierarchical quorums (group.*, weight.*) are not "
                      "supported yet", cfg->path, e->line, e->key);
            rc = -1;
        } else if (!strcmp(e->key, "dynamicConfigFile")) {
            log_error("%s:%d: key '%s': a dynamic config file is not supported yet; put the "
                      "server.N lines in this file", cfg->path, e->line, e->key);
            rc = -1;
        }
    }
    for (int i = 0; i < cfg->n_entries; i++) {
        const struct config_entry *e = &cfg->entries[i];
        if (strncmp(e->key, "server.", 7))
            continue;
        int64_t sid;
        if (parse_java_long(e->key + 7, &sid) < 0) {
            log_error("%s:%d: key '%s': the server id after 'server.' is not a number",
                      cfg->path, e->line, e->key);
            rc = -1;
            continue;
        }
        /* a later line for the same key wins (Java properties); the same id
         * under two spellings (server.1, server.01) is refused */
        int dup = -1;
        for (int j = 0; j < view->n_members; j++)
            if (view->members[j].sid == sid)
                dup = j;
        int later_same_key = 0;
        for (int j = i + 1; j < cfg->n_entries; j++)
            if (!strcmp(cfg->entries[j].key, e->key))
                later_same_key = 1;
        if (later_same_key)
            continue;
        if (dup >= 0) {
            log_error("%s:%d: key '%s': server id %lld is given twice", cfg->path, e->line,
                      e->key, (long long)sid);
            rc = -1;
            continue;
        }
        struct corral_quorum_member m = {.sid = sid};
        char why[512];
        if (parse_member(e->value, &m, why, sizeof why) < 0) {
            log_error("%s:%d: key '%s': %s", cfg->path, e->line, e->key, why);
            member_free(&m);
            rc = -1;
            continue;
        }
        struct corral_quorum_member *grown =
            realloc(view->members, (size_t)(view->n_members + 1) * sizeof *grown);
        if (!grown)
            abort();
        view->members = grown;
        view->members[view->n_members++] = m;
        if (!m.observer)
            view->n_voting++;
    }
    const struct config_entry *pt = config_find(cfg, "peerType");
    int peer_observer = 0;
    if (pt) {
        if (!strcasecmp(pt->value, "observer"))
            peer_observer = 1;
        else if (strcasecmp(pt->value, "participant")) {
            log_error("%s:%d: key 'peerType': unrecognised peer type '%s' (participant or "
                      "observer)", cfg->path, pt->line, pt->value);
            rc = -1;
        }
    }
    if (rc < 0) {
        quorum_view_free(view);
        return -1;
    }
    if (view->n_members)
        qsort(view->members, (size_t)view->n_members, sizeof *view->members, by_sid);
    const struct corral_quorum_member *me = quorum_view_member(view, my_id);
    /* ZooKeeper: the server list decides, with a warning */
    if (pt && me && me->observer != peer_observer)
        log_warn("%s:%d: key 'peerType': says %s but server.%lld says %s; using the server list",
                 cfg->path, pt->line, peer_observer ? "observer" : "participant",
                 (long long)my_id, me->observer ? "observer" : "participant");
    if (view->n_members)
        build_text(view);
    return 0;
}

void quorum_view_free(struct corral_quorum_view *view)
{
    for (int i = 0; i < view->n_members; i++)
        member_free(&view->members[i]);
    free(view->members);
    free(view->text);
    memset(view, 0, sizeof *view);
}

const struct corral_quorum_member *quorum_view_member(const struct corral_quorum_view *view,
                                                     int64_t sid)
{
    for (int i = 0; i < view->n_members; i++)
        if (view->members[i].sid == sid)
            return &view->members[i];
    return NULL;
}

int quorum_view_is_voter(const struct corral_quorum_view *view, int64_t sid)
{
    const struct corral_quorum_member *m = quorum_view_member(view, sid);
    return m && !m->observer;
}

int quorum_view_has_majority(const struct corral_quorum_view *view, const int64_t *sids, int n)
{
    int acks = 0;
    for (int i = 0; i < n; i++) {
        if (!quorum_view_is_voter(view, sids[i]))
            continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = sids[j] == sids[i];
        if (!seen)
            acks++;
    }
    return acks > view->n_voting / 2;
}
