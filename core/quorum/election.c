/*
 * election.c — the core's side of leader election.
 *
 * The election protocol (ZooKeeper's FastLeaderElection) is a module
 * (modules/election/fle); the core keeps what an election needs from the
 * server and what comes after it: the ensemble view (it is configuration,
 * and the quorum protocol needs it too), this server's initial vote (its
 * newest logged zxid and currentEpoch, which the storage owns), and the peer
 * state once an election is decided, because the quorum protocol (leader,
 * follower, observer; core/quorum/) runs from it.
 *
 * Once decided, quorum/peer.c runs the role; a member serves clients only
 * while its role is synced with a quorum (serving from a member that is not
 * would hand out state the ensemble may not agree on).
 *
 * Ensemble or standalone is decided as ZooKeeper 3.8 decides it
 * (QuorumPeerConfig.isDistributed and parseDynamicConfig): no server.N lines,
 * or exactly one participant and no observers with standaloneEnabled (the
 * default), is a standalone server — the latter with ZooKeeper's warning.
 */
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include "quorum/election.h"
#include "quorum/view.h"
#include "server.h"
#include "log.h"

static struct corral_quorum_view view;
static int ensemble;
static const struct corral_election_ops *ops;
static int started;

/* ZooKeeper reads standaloneEnabled as exactly true or false (any case). */
static int standalone_enabled(int *out)
{
    const struct config_entry *e = config_find(&server.cfg, "standaloneEnabled");
    *out = 1;
    if (!e)
        return 0;
    if (!strcasecmp(e->value, "true"))
        return 0;
    if (!strcasecmp(e->value, "false")) {
        *out = 0;
        return 0;
    }
    log_error("%s:%d: key 'standaloneEnabled': '%s' is not true or false", server.cfg.path,
              e->line, e->value);
    return -1;
}

/* initLimit / syncLimit have no default in an ensemble: ZooKeeper refuses to start. */
static int limit_set(const char *key)
{
    long long v;
    if (config_get_int(&server.cfg, key, 0, INT32_MIN, INT32_MAX, &v) < 0)
        return -1;
    if (v == 0) {
        log_error("%s: key '%s' is not set (an ensemble member needs it)", server.cfg.path, key);
        return -1;
    }
    return 0;
}

int election_setup(void)
{
    int alone;
    if (quorum_view_parse(&server.cfg, server.my_id, &view) < 0 || standalone_enabled(&alone) < 0)
        return -1;
    if (!view.n_members)
        return 0;
    int observers = view.n_members - view.n_voting;
    if (view.n_voting == 0) {
        log_error("%s: the server.N lines name no participant%s", server.cfg.path,
                  observers ? " (observers without participants are not a valid ensemble)" : "");
        return -1;
    }
    if (view.n_voting == 1 && alone) {
        if (observers) {
            log_error("%s: one participant with observers is not a valid ensemble (observers "
                      "need a quorum)", server.cfg.path);
            return -1;
        }
        log_warn("%s: only one server is specified (server.N); running standalone, as ZooKeeper "
                 "does", server.cfg.path);
        quorum_view_free(&view);
        return 0;
    }
    if (server.my_id == 0 && !quorum_view_member(&view, 0)) {
        const char *dir = config_value(&server.cfg, "dataDir");
        log_error("%s/myid: the myid file is missing (an ensemble member needs it)",
                  dir ? dir : "(no dataDir)");
        return -1;
    }
    if (!quorum_view_member(&view, server.my_id)) {
        log_error("%s: my id %" PRId64 " (dataDir/myid) is not in any server.N line",
                  server.cfg.path, server.my_id);
        return -1;
    }
    if (limit_set("initLimit") < 0 || limit_set("syncLimit") < 0)
        return -1;
    ensemble = 1;
    return 0;
}

int election_is_ensemble(void) { return ensemble; }

const char *election_module_name(void)
{
    const char *name = config_value(&server.cfg, "module.election");
    return name && *name ? name : "fle";
}

void election_set_ops(const struct corral_election_ops *o) { ops = o; }

int election_start(void)
{
    if (!ensemble)
        return 0;
    if (!ops) {
        log_error("ensemble member without an election module");
        return -1;
    }
    const struct corral_quorum_member *me = quorum_view_member(&view, server.my_id);
    log_info("ensemble member %" PRId64 " (%s) of %d participants and %d observers: electing a "
             "leader; clients are served once this server is synced with one",
             server.my_id, me->observer ? "observer" : "participant", view.n_voting,
             view.n_members - view.n_voting);
    if (ops->start() != 0) {
        log_error("election module '%s' failed to start", election_module_name());
        return -1;
    }
    started = 1;
    return 0;
}

void election_stop(void)
{
    if (started && ops)
        ops->stop();
    started = 0;
}

void election_look_again(void)
{
    if (started && ops)
        ops->set_state(CORRAL_PEER_LOOKING);
}

void election_set_vote_epoch(int64_t epoch)
{
    void (*set)(int64_t) = started && ops ? CORRAL_FN(ops, set_vote_epoch) : NULL;
    if (set)
        set(epoch);
}

void election_teardown(void)
{
    quorum_view_free(&view);
    ensemble = 0;
    ops = NULL;
}

const struct corral_quorum_view *election_api_view(void) { return ensemble ? &view : NULL; }

int election_api_has_majority(const int64_t *sids, int n)
{
    return ensemble && quorum_view_has_majority(&view, sids, n);
}

int64_t election_api_last_logged_zxid(void)
{
    int64_t (*last)(void) = server.storage ? CORRAL_FN(server.storage, last_logged_zxid) : NULL;
    return last ? last() : server.last_zxid;
}

/* currentEpoch as ZooKeeper defaults it: the last zxid's epoch when never stored. */
int64_t election_api_current_epoch(void)
{
    int (*get)(int, int64_t *) = server.storage ? CORRAL_FN(server.storage, epoch_get) : NULL;
    int64_t v;
    if (get && get(CORRAL_EPOCH_CURRENT, &v) == 0)
        return v;
    return ZXID_EPOCH(election_api_last_logged_zxid());
}
