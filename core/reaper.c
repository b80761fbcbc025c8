/*
 * reaper.c — the server deletes container and TTL nodes it no longer needs
 * (ZooKeeper's ContainerManager), a duty of the server in charge (duties.c).
 *
 * Every check interval (znode.container.checkIntervalMs, default 60 s) it
 * looks at the nodes apply registered as containers or TTL nodes (the index,
 * containers.c):
 *  - a container that has had children (cversion > 0) and has none now,
 *  - a TTL node without children not modified for longer than its TTL,
 *  - with znode.container.maxNeverUsedIntervalMs set, a container that never
 *    had a child (cversion 0) created longer ago than that,
 * and submits a deleteContainer write for each, through the normal write path
 * as the server's own session (id 0), so the deletion is a logged txn like
 * any other and is re-checked at prep (a child may have appeared meanwhile).
 * At most znode.container.maxPerMinute deletions are submitted per minute:
 * each check earns its share of that rate and unspent shares carry over (up
 * to one check's worth, at least one deletion), so a short interval (Curator's
 * tests use 1 ms) spaces deletions out as ZooKeeper does instead of deleting
 * one per check.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "log.h"

static ev_timer check_timer;
static long long max_per_minute, max_never_used_ms;
static double credit;           /* deletions this check may still submit */

static void submit_delete(const char *path)
{
    struct corral_request *req = calloc(1, sizeof *req);
    if (!req || !(req->path = strdup(path)))
        abort();
    req->op = CORRAL_OP_DELETE_CONTAINER;
    pipeline_submit_internal(&server.system_session, req);
}

static void on_check(struct ev_loop *loop, ev_timer *w, int revents)
{
    int64_t now = now_ms();
    double share = (double)max_per_minute * (w->repeat * 1000.0) / 60000.0;
    credit += share;
    if (credit > (share > 1 ? share : 1))
        credit = share > 1 ? share : 1;
    long long budget = (long long)credit;
    if (budget < 1)
        return;
    /* Collect first: submitting may apply at once and change the sets. */
    int n = 0, cap = 16;
    char **victims = malloc((size_t)cap * sizeof *victims);
    if (!victims)
        abort();
    for (int pass = 0; pass < 2; pass++) {
        for (struct ephemeral_path *p = pass ? server.ttl_nodes : server.containers;
             p && n < budget; p = p->hh.next) {
            struct znode *z = tree_lookup(&server.tree, p->path);
            if (!z || tree_num_children(&server.tree, z))
                continue;
            struct znode_meta m;
            tree_get_meta(&server.tree, z, &m);
            if (pass == 0 && m.cversion <= 0 &&
                (max_never_used_ms <= 0 || now - m.ctime <= max_never_used_ms))
                continue;
            if (pass == 1) {
                int64_t ttl = m.owner & ZNODE_TTL_MASK;
                if (ttl == 0 || now - m.mtime <= ttl)
                    continue;
            }
            if (n == cap) {
                cap *= 2;
                victims = realloc(victims, (size_t)cap * sizeof *victims);
                if (!victims)
                    abort();
            }
            victims[n++] = strdup(p->path);
        }
    }
    credit -= n;
    for (int i = 0; i < n; i++) {
        log_debug("deleting unused %s", victims[i]);
        submit_delete(victims[i]);
        free(victims[i]);
    }
    free(victims);
}

int reaper_start(void)
{
    long long interval;
    if (config_get_int(&server.cfg, "znode.container.checkIntervalMs", 60000, 1, INT32_MAX,
                       &interval) < 0 ||
        config_get_int(&server.cfg, "znode.container.maxPerMinute", 10000, 1, INT32_MAX,
                       &max_per_minute) < 0 ||
        config_get_int(&server.cfg, "znode.container.maxNeverUsedIntervalMs", 0, 0, INT64_MAX,
                       &max_never_used_ms) < 0)
        return -1;
    credit = 0;
    ev_timer_init(&check_timer, on_check, interval / 1000.0, interval / 1000.0);
    ev_timer_start(server.loop, &check_timer);
    return 0;
}

void reaper_stop(void)
{
    ev_timer_stop(server.loop, &check_timer);
}
