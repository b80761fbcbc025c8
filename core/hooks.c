/*
 * hooks.c — registered plugin callbacks, by kind (collectd-style).
 *
 * Each kind is a small array; registration order is call order.  The
 * hooks_any_* flags let the hot path skip a call entirely when nothing is
 * registered, so a server without plugins pays nothing measurable.
 * A before-write hook that rejects stops the others; extra operations of all
 * hooks accumulate.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include "hooks.h"
#include "log.h"

enum { BEFORE_WRITE, AFTER_COMMIT, SESSION, WATCH, KINDS };

struct hook {
    char *glob;
    void *fn;
    void *arg;
};

static struct hook *hooks[KINDS];
static int n_hooks[KINDS];
int hooks_any_before_write, hooks_any_after_commit, hooks_any_session, hooks_any_watch;

static void refresh_flags(void)
{
    hooks_any_before_write = n_hooks[BEFORE_WRITE] > 0;
    hooks_any_after_commit = n_hooks[AFTER_COMMIT] > 0;
    hooks_any_session = n_hooks[SESSION] > 0;
    hooks_any_watch = n_hooks[WATCH] > 0;
}

static int add(int kind, const char *glob, void *fn, void *arg)
{
    if (!fn)
        return -1;
    struct hook *h = realloc(hooks[kind], (size_t)(n_hooks[kind] + 1) * sizeof *h);
    if (!h)
        return -1;
    hooks[kind] = h;
    h[n_hooks[kind]].glob = glob ? strdup(glob) : NULL;
    h[n_hooks[kind]].fn = fn;
    h[n_hooks[kind]].arg = arg;
    n_hooks[kind]++;
    refresh_flags();
    return 0;
}

/* Function pointers travel as void * inside this file only (POSIX guarantees the round trip). */
int hooks_add_before_write(const char *glob, corral_before_write_fn fn, void *arg)
{
    return add(BEFORE_WRITE, glob, *(void **)&fn, arg);
}

int hooks_add_after_commit(const char *glob, corral_after_commit_fn fn, void *arg)
{
    return add(AFTER_COMMIT, glob, *(void **)&fn, arg);
}

int hooks_add_session(corral_session_fn fn, void *arg)
{
    return add(SESSION, NULL, *(void **)&fn, arg);
}

int hooks_add_watch(const char *glob, corral_watch_fn fn, void *arg)
{
    return add(WATCH, glob, *(void **)&fn, arg);
}

void hooks_remove(void *arg)
{
    for (int k = 0; k < KINDS; k++) {
        int j = 0;
        for (int i = 0; i < n_hooks[k]; i++) {
            if (hooks[k][i].arg == arg)
                free(hooks[k][i].glob);
            else
                hooks[k][j++] = hooks[k][i];
        }
        n_hooks[k] = j;
    }
    refresh_flags();
}

void hooks_clear(void)
{
    for (int k = 0; k < KINDS; k++) {
        for (int i = 0; i < n_hooks[k]; i++)
            free(hooks[k][i].glob);
        free(hooks[k]);
        hooks[k] = NULL;
        n_hooks[k] = 0;
    }
    refresh_flags();
}

static int matches(const struct hook *h, const char *path)
{
    return !h->glob || (path && fnmatch(h->glob, path, 0) == 0);
}

static int append_extra(struct corral_request **extra, int32_t *n_extra,
                        struct corral_request *more, int32_t n_more)
{
    if (!more || n_more <= 0)
        return 0;
    struct corral_request *all = realloc(*extra, (size_t)(*n_extra + n_more) * sizeof *all);
    if (!all)
        return -1;
    memcpy(all + *n_extra, more, (size_t)n_more * sizeof *more);
    *extra = all;
    *n_extra += n_more;
    free(more);
    return 0;
}

static int run_before_write(int64_t sid, const struct corral_request *op,
                            struct corral_request **extra, int32_t *n_extra)
{
    for (int i = 0; i < n_hooks[BEFORE_WRITE]; i++) {
        const struct hook *h = &hooks[BEFORE_WRITE][i];
        if (!matches(h, op->path))
            continue;
        corral_before_write_fn fn;
        *(void **)&fn = h->fn;
        struct corral_request *more = NULL;
        int32_t n_more = 0;
        int rc = fn(h->arg, sid, op, &more, &n_more);
        if (append_extra(extra, n_extra, more, n_more) < 0)
            return CORRAL_ESYSTEMERROR;
        if (rc != CORRAL_OK)
            return rc;
    }
    return CORRAL_OK;
}

int hooks_before_write(int64_t session_id, const struct corral_request *req,
                       struct corral_request **extra, int32_t *n_extra)
{
    if (req->op != CORRAL_OP_MULTI)
        return run_before_write(session_id, req, extra, n_extra);
    for (int32_t i = 0; i < req->n_ops; i++) {
        int rc = run_before_write(session_id, &req->ops[i], extra, n_extra);
        if (rc != CORRAL_OK)
            return rc;
    }
    return CORRAL_OK;
}

static int txn_matches(const struct hook *h, const struct corral_txn *t)
{
    if (!h->glob)
        return 1;
    if (t->type == CORRAL_OP_MULTI) {
        for (int32_t i = 0; i < t->n_subs; i++)
            if (t->subs[i].path && fnmatch(h->glob, t->subs[i].path, 0) == 0)
                return 1;
        return 0;
    }
    return t->path && fnmatch(h->glob, t->path, 0) == 0;
}

void hooks_after_commit(const struct corral_txn *txn)
{
    for (int i = 0; i < n_hooks[AFTER_COMMIT]; i++) {
        const struct hook *h = &hooks[AFTER_COMMIT][i];
        if (!txn_matches(h, txn))
            continue;
        corral_after_commit_fn fn;
        *(void **)&fn = h->fn;
        fn(h->arg, txn);
    }
}

void hooks_session(int64_t session_id, int opened)
{
    for (int i = 0; i < n_hooks[SESSION]; i++) {
        corral_session_fn fn;
        *(void **)&fn = hooks[SESSION][i].fn;
        fn(hooks[SESSION][i].arg, session_id, opened);
    }
}

int hooks_watch(int64_t session_id, const struct corral_watch_event *ev)
{
    for (int i = 0; i < n_hooks[WATCH]; i++) {
        const struct hook *h = &hooks[WATCH][i];
        if (!matches(h, ev->path))
            continue;
        corral_watch_fn fn;
        *(void **)&fn = h->fn;
        if (!fn(h->arg, session_id, ev))
            return 0;
    }
    return 1;
}
