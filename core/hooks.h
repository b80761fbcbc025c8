/*
 * hooks.h — the core side of plugin hooks (see corral/module.h): lists of
 * registered callbacks, and the calls the pipeline makes into them.
 */
#ifndef CORRAL_HOOKS_H
#define CORRAL_HOOKS_H

#include "corral/module.h"

struct session;

extern int hooks_any_before_write, hooks_any_after_commit, hooks_any_session, hooks_any_watch;

int hooks_add_before_write(const char *glob, corral_before_write_fn fn, void *arg);
int hooks_add_after_commit(const char *glob, corral_after_commit_fn fn, void *arg);
int hooks_add_session(corral_session_fn fn, void *arg);
int hooks_add_watch(const char *glob, corral_watch_fn fn, void *arg);
void hooks_remove(void *arg);
void hooks_clear(void);

/*
 * Run before-write hooks over req (each member of a multi).  Returns CORRAL_OK
 * or the first rejecting code; extra operations are appended to *extra.
 */
int hooks_before_write(int64_t session_id, const struct corral_request *req,
                       struct corral_request **extra, int32_t *n_extra);
void hooks_after_commit(const struct corral_txn *txn);
void hooks_session(int64_t session_id, int opened);
int hooks_watch(int64_t session_id, const struct corral_watch_event *ev);

#endif
