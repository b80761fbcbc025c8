/*
 * quota.c — ZooKeeper 3.8's namespace quotas, behaving as its DataTree and
 * ZooKeeperServer.checkQuota do (zkCli setquota/listquota/delquota only
 * write and read the nodes; the server does the rest).
 *
 * The quota roots.  ZooKeeper keeps a trie of paths; a path becomes a root
 * when a node named zookeeper_limits is created under a parent that starts
 * with "/zookeeper/quota" (a string prefix: "/zookeeper/quotaX/…" counts),
 * the root being the parent minus those 16 characters, and stops being one
 * when a zookeeper_limits node whose parent starts with "/zookeeper" is
 * deleted.  The trie splits paths on '/' and drops blank components (Java's
 * trim().isEmpty()), so we keep the same normalised strings ("/a/b") in a
 * hash set.  The root that governs a path is its longest root prefix by
 * components; "/" never governs anything.
 *
 * The stats.  Creating zookeeper_stats recomputes it from the tree (count
 * and bytes of the root's whole subtree, the root included: nested roots
 * are counted too) and overwrites whatever data the create carried.  Every
 * create, delete and setData of a node then adds its count/bytes difference
 * to its governing root's stats node, parsing the node's current data as a
 * StatsTrack and writing it back in StatsTrack's form (count, bytes, then
 * other keys sorted after a "=;"), even when the difference is zero.  These
 * writes change the data only: no version, mzxid or watch, as ZooKeeper's
 * in-memory update; snapshots store the data as it is then, and loading one
 * recomputes the stats of every root found (quota_rebuild).  ZooKeeper does
 * not count these writes in its approximate data size either.
 *
 * Enforcement (3.7+).  With the system property zookeeper.enforceQuota
 * true, prep refuses a create or setData whose governing root would go past
 * a hard limit (countHardLimit / byteHardLimit in zookeeper_limits) with
 * QuotaExceeded.  The check reads the committed tree (not txns in flight, so
 * the members of one multi each see the same stats), is skipped when the
 * difference is zero or the limits node sets neither limit of that kind, and
 * a soft limit (count / bytes) is only logged.  Unparsable limits or stats
 * make prep fail with MarshallingError, as ZooKeeper's prep exception does.
 *
 * Where ZooKeeper throws from apply (a limits node directly under
 * /zookeeper/quota: the server shuts down; an unparsable or null stats node:
 * NumberFormatException) we log and carry on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "server.h"
#include "path.h"
#include "log.h"
#include "quota.h"

#define QUOTA_ROOT "/zookeeper/quota"
#define QUOTA_ROOT_LEN 16
#define PROC_ROOT "/zookeeper"
#define PROC_ROOT_LEN 10
#define LIMIT_NODE "zookeeper_limits"
#define STAT_NODE "zookeeper_stats"

struct quota_root {
    char *path;                 /* normalised: "/a/b" */
    UT_hash_handle hh;
};

static struct quota_root *roots;

/* ---- StatsTrack: "key=long" pairs separated by runs of ',' or ';' ---- */

struct stats_kv {
    const char *key;            /* not NUL-terminated; points into the parsed data or static */
    size_t klen;
    int64_t val;
};

struct stats {
    struct stats_kv *kv;
    int n, cap;
};

static void stats_free(struct stats *st)
{
    free(st->kv);
    memset(st, 0, sizeof *st);
}

static void stats_put(struct stats *st, const char *key, size_t klen, int64_t val)
{
    for (int i = 0; i < st->n; i++)
        if (st->kv[i].klen == klen && !memcmp(st->kv[i].key, key, klen)) {
            st->kv[i].val = val;        /* a HashMap: the last one wins */
            return;
        }
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 4;
        st->kv = realloc(st->kv, (size_t)st->cap * sizeof *st->kv);
        if (!st->kv)
            abort();
    }
    st->kv[st->n++] = (struct stats_kv){key, klen, val};
}

static int64_t stats_get(const struct stats *st, const char *key)
{
    size_t klen = strlen(key);
    for (int i = 0; i < st->n; i++)
        if (st->kv[i].klen == klen && !memcmp(st->kv[i].key, key, klen))
            return st->kv[i].val;
    return -1;                  /* StatsTrack's "not set" */
}

/* Java's Long.parseLong: an optional sign, then decimal digits, in range. */
static int parse_long(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/*
 * StatsTrack(String): split on the regex "[,;]+" (Java drops trailing empty
 * pieces, keeps a leading one), each piece on "=" (same rule); the value is
 * the second field, "" meaning -1.  Where Java would throw (a null buffer, a
 * piece without a second field, a bad number) return -1.
 */
static int stats_parse(const uint8_t *data, int32_t len, struct stats *st)
{
    memset(st, 0, sizeof *st);
    if (len < 0)
        return -1;              /* new String(null): NullPointerException */
    const char *s = (const char *)data, *end = s + len;
    /* Trailing separators make only trailing empty pieces: drop them. */
    while (end > s && (end[-1] == ',' || end[-1] == ';'))
        end--;
    const char *p = s;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != ',' && *q != ';')
            q++;
        /* the piece [p, q): "key=value[=...]" */
        const char *eq = memchr(p, '=', (size_t)(q - p));
        if (!eq)
            goto bad;
        const char *v = eq + 1, *ve = v;
        while (ve < q && *ve != '=')
            ve++;
        /* kv[1] exists after Java's trailing-empty removal iff some field
         * after the first '=' is non-empty. */
        const char *r = v;
        while (r < q && *r == '=')
            r++;
        if (r == q)
            goto bad;
        int64_t val = -1;
        if (ve > v && parse_long(v, (size_t)(ve - v), &val) < 0)
            goto bad;
        stats_put(st, p, (size_t)(eq - p), val);
        p = q;
        while (p < end && (*p == ',' || *p == ';'))
            p++;
    }
    return 0;
bad:
    stats_free(st);
    return -1;
}

static int kv_cmp(const void *a, const void *b)
{
    const struct stats_kv *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/*
 * StatsTrack.toString: "count=C,bytes=B", then, when other keys are set,
 * "=" and ";key=value" for each in sorted order (the extra "=" keeps 3.4's
 * parser happy).  Returns a malloc'd buffer.
 */
static char *stats_format(struct stats *st, size_t *len)
{
    size_t cap = 64;
    for (int i = 0; i < st->n; i++)
        cap += st->kv[i].klen + 24;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    int w = snprintf(buf, cap, "count=%lld,bytes=%lld", (long long)stats_get(st, "count"),
                     (long long)stats_get(st, "bytes"));
    size_t at = (size_t)w;
    struct stats_kv *extra = malloc((st->n ? (size_t)st->n : 1) * sizeof *extra);
    if (!extra)
        abort();
    int n = 0;
    for (int i = 0; i < st->n; i++)
        if (!(st->kv[i].klen == 5 && !memcmp(st->kv[i].key, "count", 5)) &&
            !(st->kv[i].klen == 5 && !memcmp(st->kv[i].key, "bytes", 5)))
            extra[n++] = st->kv[i];
    if (n) {
        qsort(extra, (size_t)n, sizeof *extra, kv_cmp);
        buf[at++] = '=';
        for (int i = 0; i < n; i++) {
            buf[at++] = ';';
            memcpy(buf + at, extra[i].key, extra[i].klen);
            at += extra[i].klen;
            at += (size_t)snprintf(buf + at, cap - at, "=%lld", (long long)extra[i].val);
        }
    }
    free(extra);
    *len = at;
    return buf;
}

/* ---- the set of quota roots ---- */

/* Java's t.trim().isEmpty(): every char is <= ' '. */
static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] > ' ')
            return 0;
    return 1;
}

/*
 * PathTrie's view of s[0..n): its non-blank components joined as "/c1/c2".
 * Returns a malloc'd string, or NULL when there are no components (the
 * trie's root, which never governs).
 */
static char *normalise(const char *s, size_t n)
{
    char *out = malloc(n + 2);
    if (!out)
        abort();
    size_t at = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != '/')
            j++;
        if (j > i && !blank(s + i, j - i)) {
            out[at++] = '/';
            memcpy(out + at, s + i, j - i);
            at += j - i;
        }
        i = j + 1;
    }
    out[at] = 0;
    if (!at) {
        free(out);
        return NULL;
    }
    return out;
}

static void root_add(const char *s, size_t n)
{
    if (!n) {
        /* PathTrie.addPath("") throws: ZooKeeper shuts down.  We ignore it. */
        log_warn("quota: a %s directly under %s names no path; ignored", LIMIT_NODE, QUOTA_ROOT);
        return;
    }
    char *p = normalise(s, n);
    if (!p)
        return;
    struct quota_root *r;
    HASH_FIND_STR(roots, p, r);
    if (r) {
        free(p);
        return;
    }
    r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->path = p;
    HASH_ADD_KEYPTR(hh, roots, r->path, strlen(r->path), r);
}

static void root_del(const char *s, size_t n)
{
    char *p = normalise(s, n);
    if (!p)
        return;
    struct quota_root *r;
    HASH_FIND_STR(roots, p, r);
    free(p);
    if (r) {
        HASH_DEL(roots, r);
        free(r->path);
        free(r);
    }
}

void quota_reset(void)
{
    struct quota_root *r, *tmp;
    HASH_ITER(hh, roots, r, tmp) {
        HASH_DEL(roots, r);
        free(r->path);
        free(r);
    }
}

/*
 * getMaxPrefixWithQuota: the longest root that is a component prefix of
 * path, normalised, as a malloc'd string; NULL when none.
 */
static char *governing_root(const char *path)
{
    if (!roots)
        return NULL;
    size_t n = strlen(path);
    char *buf = malloc(n + 2);
    if (!buf)
        abort();
    size_t at = 0, best = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        if (j > i && !blank(path + i, j - i)) {
            buf[at++] = '/';
            memcpy(buf + at, path + i, j - i);
            at += j - i;
            struct quota_root *r;
            HASH_FIND(hh, roots, buf, at, r);
            if (r)
                best = at;
        }
        i = j + 1;
    }
    if (!best) {
        free(buf);
        return NULL;
    }
    buf[best] = 0;
    return buf;
}

/* "/zookeeper/quota" + root + "/" + leaf */
static char *quota_node_path(const char *root, size_t rlen, const char *leaf)
{
    size_t n = QUOTA_ROOT_LEN + rlen + 1 + strlen(leaf) + 1;
    char *p = malloc(n);
    if (!p)
        abort();
    snprintf(p, n, "%s%.*s/%s", QUOTA_ROOT, (int)rlen, root, leaf);
    return p;
}

/* ---- keeping the stats ---- */

/* Stats writes are in-memory data updates: no version, zxid, watch, or
 * change to the approximate data size (ZooKeeper's nodeDataSize misses them). */
static void set_stats_data(const char *path, const char *data, size_t len)
{
    int64_t size = server.tree.data_size;
    tree_set_data(&server.tree, path, (const uint8_t *)data, (int32_t)len);
    server.tree.data_size = size;
}

/* Parse a quota node's "key=value,..." data. */
static int node_stats(const struct znode *n, struct stats *st)
{
    int32_t len;
    const uint8_t *data = tree_data(&server.tree, n, &len);
    return stats_parse(data, len, st);
}

/* DataTree.updateQuotaStat */
static void update_stats(const char *root, int64_t bytes_diff, int64_t count_diff)
{
    char *sp = quota_node_path(root, strlen(root), STAT_NODE);
    struct znode *n = path_lookup(sp);
    struct stats st;
    if (!n) {
        log_warn("quota: missing node for stat %s", sp);
    } else if (node_stats(n, &st) < 0) {
        log_warn("quota: %s does not hold count=..,bytes=..; not updated", sp);
    } else {
        /* Java longs wrap */
        stats_put(&st, "count", 5, (int64_t)((uint64_t)stats_get(&st, "count") + (uint64_t)count_diff));
        stats_put(&st, "bytes", 5, (int64_t)((uint64_t)stats_get(&st, "bytes") + (uint64_t)bytes_diff));
        size_t len;
        char *text = stats_format(&st, &len);
        stats_free(&st);
        set_stats_data(sp, text, len);
        free(text);
    }
    free(sp);
}

/*
 * Subtree walks use an explicit stack: a subtree can be deeper than the C
 * stack.  It holds nodes (recompute) or malloc'd paths (quota_rebuild).
 */
struct walk_stack {
    void **v;
    size_t n, cap;
};

static void stack_push(struct walk_stack *st, void *n)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->v = realloc(st->v, st->cap * sizeof *st->v);
        if (!st->v)
            abort();
    }
    st->v[st->n++] = n;
}

static void stack_push_children(struct walk_stack *st, struct znode *n)
{
    TREE_FOREACH_CHILD(&server.tree, n, c)
        stack_push(st, c);
}

/*
 * DataTree.updateQuotaForPath: count the nodes and bytes of the subtree at
 * `path` (an exact node path as ZooKeeper looks it up: "" is the root) and
 * write "count=C,bytes=B" into its stats node.
 */
static void recompute(const char *path, size_t plen)
{
    char *p = strndup(path, plen);
    if (!p)
        abort();
    int64_t count = 0, bytes = 0;
    struct znode *top = path_lookup(p);
    if (top) {
        struct walk_stack st = {0};
        stack_push(&st, top);
        while (st.n) {
            struct znode *n = st.v[--st.n];
            int32_t len;
            tree_data(&server.tree, n, &len);
            count++;
            bytes += len > 0 ? len : 0;
            stack_push_children(&st, n);
        }
        free(st.v);
    }
    char *sp = quota_node_path(p, plen, STAT_NODE);
    struct znode *sn = path_lookup(sp);
    if (!sn) {
        log_warn("quota: missing quota stat node %s", sp);
    } else {
        char text[64];
        int len = snprintf(text, sizeof text, "count=%lld,bytes=%lld", (long long)count,
                           (long long)bytes);
        set_stats_data(sp, text, (size_t)len);
    }
    free(sp);
    free(p);
}

static void account(const char *path, int64_t bytes_diff, int64_t count_diff)
{
    char *root = governing_root(path);
    if (root) {
        update_stats(root, bytes_diff, count_diff);
        free(root);
    }
}

static int is_leaf(const char *path, size_t parent_len, const char *name)
{
    return !strcmp(path + parent_len + 1, name);
}

void quota_node_created(const char *path, int32_t data_len)
{
    size_t plen = (size_t)(strrchr(path, '/') - path);
    if (plen >= QUOTA_ROOT_LEN && !strncmp(path, QUOTA_ROOT, QUOTA_ROOT_LEN)) {
        const char *real = path + QUOTA_ROOT_LEN;
        size_t rlen = plen - QUOTA_ROOT_LEN;
        if (is_leaf(path, plen, LIMIT_NODE))
            root_add(real, rlen);
        if (is_leaf(path, plen, STAT_NODE))
            recompute(real, rlen);
    }
    account(path, data_len > 0 ? data_len : 0, 1);
}

void quota_node_deleted(const char *path, int32_t data_len)
{
    size_t plen = (size_t)(strrchr(path, '/') - path);
    /* ZooKeeper tests "/zookeeper" here, then cuts 16 characters (it throws
     * when there are not more than 16, and we do nothing). */
    if (plen > QUOTA_ROOT_LEN && !strncmp(path, PROC_ROOT, PROC_ROOT_LEN) &&
        is_leaf(path, plen, LIMIT_NODE))
        root_del(path + QUOTA_ROOT_LEN, plen - QUOTA_ROOT_LEN);
    account(path, -(int64_t)(data_len > 0 ? data_len : 0), -1);
}

void quota_data_set(const char *path, int32_t old_len, int32_t new_len)
{
    account(path, (int64_t)(new_len > 0 ? new_len : 0) - (old_len > 0 ? old_len : 0), 0);
}

/*
 * DataTree.setupQuota/traverseNode: every childless node below
 * /zookeeper/quota whose path ends in "/zookeeper_limits" is a quota on the
 * path between "/zookeeper/quota" and the FIRST "/zookeeper_limits" in it;
 * recompute its stats and make it a root.
 */
void quota_rebuild(void)
{
    quota_reset();
    if (!path_lookup(QUOTA_ROOT))
        return;
    /* the walk carries paths (nodes do not know theirs); the subtree is small */
    struct walk_stack st = {0};
    char *top = strdup(QUOTA_ROOT);
    if (!top)
        abort();
    for (char *p = top; p; p = st.n ? st.v[--st.n] : NULL) {
        struct znode *n = path_lookup(p);
        if (!n) {
            free(p);
            continue;
        }
        if (!tree_num_children(&server.tree, n)) {
            if (strcmp(p, QUOTA_ROOT) && !strcmp(n->name, LIMIT_NODE)) {
                const char *cut = strstr(p, "/" LIMIT_NODE);
                size_t rlen = (size_t)(cut - p) - QUOTA_ROOT_LEN;
                recompute(p + QUOTA_ROOT_LEN, rlen);
                root_add(p + QUOTA_ROOT_LEN, rlen);
            }
            free(p);
            continue;
        }
        size_t plen = strlen(p);
        TREE_FOREACH_CHILD(&server.tree, n, c) {
            size_t l = strlen(c->name);
            char *cp = malloc(plen + 1 + l + 1);
            if (!cp)
                abort();
            memcpy(cp, p, plen);
            cp[plen] = '/';
            memcpy(cp + plen + 1, c->name, l + 1);
            stack_push(&st, cp);
        }
        free(p);
    }
    free(st.v);
    log_info("quota: %u quota root(s) after loading the snapshot", HASH_COUNT(roots));
}

/* ---- enforcement ---- */

/*
 * ZooKeeper reads the system property once, with Boolean.parseBoolean
 * (only "true", any case, is true; nothing is an error).  Its zoo.cfg key
 * "enforceQuota" becomes that property, so both names are honoured.
 */
static int enforcing(void)
{
    static int known, on;
    if (!known) {
        const char *v = config_value(&server.cfg, "enforceQuota");
        if (!v)
            v = config_value(&server.cfg, "zookeeper.enforceQuota");
        on = v && !strcasecmp(v, "true");
        known = 1;
        if (on)
            log_info("quota: zookeeper.enforceQuota = true, hard limits are enforced");
    }
    return on;
}

/* ZooKeeper rate-limits these lines; one a second is enough here. */
static void log_exceeded(const char *root, const char *what, long long now_val, int hard,
                         long long limit)
{
    static time_t last;
    time_t t = time(NULL);
    if (t == last)
        return;
    last = t;
    log_warn("Quota exceeded: %s [current %s=%lld, %s%sLimit=%lld]", root, what, now_val,
             hard ? "hard" : "soft", !strcmp(what, "count") ? "Count" : "Byte", limit);
}

/* ZooKeeperServer.checkQuota(lastPrefix, bytesDiff, countDiff) */
static int check(const char *path, int64_t bytes_diff, int64_t count_diff)
{
    if (!enforcing())
        return 0;
    char *root = governing_root(path);
    if (!root)
        return 0;
    int rc = 0;
    struct stats lim = {0}, cur = {0};
    char *lp = quota_node_path(root, strlen(root), LIMIT_NODE);
    char *sp = quota_node_path(root, strlen(root), STAT_NODE);
    struct znode *ln = path_lookup(lp);
    if (!ln) {
        log_warn("quota: missing limit node for quota %s", lp);
        goto out;
    }
    if (node_stats(ln, &lim) < 0) {
        rc = CORRAL_EMARSHALLINGERROR;
        goto out;
    }
    int64_t count = stats_get(&lim, "count"), count_hard = stats_get(&lim, "countHardLimit");
    int64_t bytes = stats_get(&lim, "bytes"), byte_hard = stats_get(&lim, "byteHardLimit");
    int check_count = count_diff != 0 && (count > -1 || count_hard > -1);
    int check_bytes = bytes_diff != 0 && (bytes > -1 || byte_hard > -1);
    if (!check_count && !check_bytes)
        goto out;
    struct znode *sn = path_lookup(sp);
    if (!sn) {
        log_warn("quota: missing node for stat %s", sp);
        goto out;
    }
    if (node_stats(sn, &cur) < 0) {
        rc = CORRAL_EMARSHALLINGERROR;
        goto out;
    }
    if (check_count) {
        int64_t now_count = (int64_t)((uint64_t)stats_get(&cur, "count") + (uint64_t)count_diff);
        int hard = count_hard > -1;
        int64_t limit = hard ? count_hard : count;
        if (now_count > limit) {
            log_exceeded(root, "count", (long long)now_count, hard, (long long)limit);
            if (hard) {
                rc = CORRAL_EQUOTAEXCEEDED;
                goto out;
            }
        }
    }
    if (check_bytes) {
        int64_t now_bytes = (int64_t)((uint64_t)stats_get(&cur, "bytes") + (uint64_t)bytes_diff);
        int hard = byte_hard > -1;
        int64_t limit = hard ? byte_hard : bytes;
        if (now_bytes > limit) {
            log_exceeded(root, "bytes", (long long)now_bytes, hard, (long long)limit);
            if (hard)
                rc = CORRAL_EQUOTAEXCEEDED;
        }
    }
out:
    stats_free(&lim);
    stats_free(&cur);
    free(lp);
    free(sp);
    free(root);
    return rc;
}

int quota_check_create(const char *path, int32_t data_len)
{
    return check(path, data_len > 0 ? data_len : 0, 1);
}

/*
 * ZooKeeper takes the old length from prep's change record (txns in flight
 * included); we take it from the committed node, which differs only while a
 * write to the same node is still in flight.
 */
int quota_check_set(const char *path, int32_t data_len)
{
    if (!enforcing() || !roots)
        return 0;
    struct znode *n = path_lookup(path);
    int32_t old = 0;
    if (n)
        tree_data(&server.tree, n, &old);
    if (old < 0)
        old = 0;
    return check(path, (int64_t)(data_len > 0 ? data_len : 0) - old, 0);
}
