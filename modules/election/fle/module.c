/*
 * module.c — the fle election module: ZooKeeper's FastLeaderElection
 * (fle.c) over its election-port connections (cnx.c), wired to the core.
 *
 * The election's one timer is a libev timer; its sends become frames on
 * cnx; what it decides goes to the core (election_decided); what the core
 * says (set_state, set_vote_epoch) goes back into it.
 *
 * A dead leader is noticed by the core's learner (its quorum connection
 * ends, times out, or cannot be made within initLimit), which tells us
 * LOOKING, as ZooKeeper's Learner does; the election connections say
 * nothing about it (an interim watch that left a leader whose election
 * connection dropped is gone: it could leave a leader the quorum port
 * still heard).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <ev.h>
#include "corral/module.h"
#include "corral/quorum_view.h"
#include "cnx.h"
#include "fle.h"
#include "wire.h"

static const struct corral_core *core;
static struct fle election;
static struct cnx *cnx;
static ev_timer timer;
static int running;

static void vlog_fle(int level, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    core->log(level, "fle", "%s", line);
}

static void env_log(void *arg, int level, const char *fmt, ...)
{
    (void)arg;
    va_list ap;
    va_start(ap, fmt);
    vlog_fle(level, fmt, ap);
    va_end(ap);
}

static int env_has_majority(void *arg, const int64_t *sids, int n)
{
    (void)arg;
    return core->quorum_has_majority(sids, n);
}

static int64_t env_last_logged_zxid(void *arg)
{
    (void)arg;
    return core->last_logged_zxid();
}

static int64_t env_current_epoch(void *arg)
{
    (void)arg;
    return core->current_epoch();
}

static void env_send(void *arg, int64_t sid, const struct fle_notification *n)
{
    (void)arg;
    size_t len = fle_notification_size(n);
    uint8_t *buf = malloc(len);
    if (!buf)
        abort();
    fle_notification_encode(buf, n);
    cnx_send(cnx, sid, buf, len);
    free(buf);
}

static void env_timer(void *arg, int ms)
{
    (void)arg;
    ev_timer_stop(core->loop, &timer);
    if (ms >= 0) {
        ev_timer_set(&timer, ms / 1000.0, 0.);
        ev_timer_start(core->loop, &timer);
    }
}

static int env_have_delivered(void *arg)
{
    (void)arg;
    return cnx_have_delivered(cnx);
}

static void env_connect_all(void *arg)
{
    (void)arg;
    cnx_connect_all(cnx);
}

static void env_decided(void *arg, int state, const struct fle_vote *v)
{
    (void)arg;
    if (state == CORRAL_PEER_LOOKING)
        core->election_decided(state, -1, -1, -1);
    else
        core->election_decided(state, v->leader, v->peer_epoch, v->zxid);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    fle_timer_fired(&election);
}

static void cnx_message(void *arg, int64_t sid, const uint8_t *msg, size_t len)
{
    (void)arg;
    fle_receive(&election, sid, msg, len);
}

static int fle_start(void)
{
    const struct corral_quorum_view *view = core->quorum_view();
    if (!view) {
        core->log(CORRAL_LOG_ERROR, "fle", "not an ensemble member (no server.N lines)");
        return -1;
    }
    int listen_all;
    long long timeout, finalize_wait;
    if (core->config_bool("quorumListenOnAllIPs", 0, &listen_all) < 0 ||
        core->config_int("cnxTimeout", 5000, 1, 3600000, &timeout) < 0 ||
        core->config_int("election.fle.finalizeWait", FLE_FINALIZE_WAIT_LATER_MS, 1, 60000,
                         &finalize_wait) < 0)
        return -1;
    struct fle_env env = {
        .arg = NULL, .my_id = view->my_id, .view = view, .has_majority = env_has_majority,
        .last_logged_zxid = env_last_logged_zxid, .current_epoch = env_current_epoch,
        .send = env_send, .timer = env_timer, .have_delivered = env_have_delivered,
        .connect_all = env_connect_all, .decided = env_decided, .log = env_log,
    };
    if (fle_init(&election, &env) < 0)
        return -1;
    election.finalize_wait_later = (int)finalize_wait;
    struct cnx_callbacks cb = {
        .arg = NULL, .message = cnx_message, .log = env_log,
    };
    ev_timer_init(&timer, on_timer, 0., 0.);
    cnx = cnx_start(core->loop, view->my_id, view, listen_all, (int)timeout, &cb);
    if (!cnx) {
        fle_free(&election);
        return -1;
    }
    running = 1;
    fle_look(&election);
    return 0;
}

static void fle_stop(void)
{
    if (!running)
        return;
    ev_timer_stop(core->loop, &timer);
    cnx_stop(cnx);
    cnx = NULL;
    fle_free(&election);
    running = 0;
}

static void fle_core_set_state(int state)
{
    if (running)
        fle_set_state(&election, state);
}

static void fle_core_set_vote_epoch(int64_t epoch)
{
    if (running)
        fle_set_vote_epoch(&election, epoch);
}

static int fle_module_init(const struct corral_core *c)
{
    if (!CORRAL_HAS(c, election_decided)) {
        c->log(CORRAL_LOG_ERROR, "fle", "this server's module ABI has no election calls");
        return -1;
    }
    core = c;
    return 0;
}

static const struct corral_election_ops ops = {
    .size = sizeof(struct corral_election_ops),
    .start = fle_start,
    .stop = fle_stop,
    .set_state = fle_core_set_state,
    .set_vote_epoch = fle_core_set_vote_epoch,
};

static const struct corral_config_key keys[] = {
    {"election.fle.finalizeWait", "ms a peer whose vote has a quorum waits for a better one "
     "before it decides, from its second election on (default 50; the first waits ZooKeeper's "
     "200; 200 throughout suits ensembles spread over sites)"},
    {NULL, NULL},
};

const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_ELECTION,
    .name = "fle",
    .version = "1",
    .config_keys = keys,
    .init = fle_module_init,
    .fini = NULL,
    .ops = &ops,
};
