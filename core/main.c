/*
 * main.c — corrald: read the config, load the modules, run the loop.
 *
 *   corrald -c FILE     serve with a zoo.cfg-style config
 *   corrald --version   print the version
 *   corrald --help      usage
 *
 * Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 on a bad command
 * line or configuration, 2 on a fatal runtime error (e.g. storage failure).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "build-config.h"
#include "server.h"
#include "db.h"
#include "corral/zk_numfile.h"
#include "epochs.h"
#include "log.h"
#include "hooks.h"
#include "duties.h"
#include "quorum/election.h"
#include "quorum/peer.h"
#include "quorum/broadcast.h"



static void usage(FILE *f)
{
    fprintf(f,
            "usage: corrald -c FILE [-v]\n"
            "  -c, --config FILE   zoo.cfg-style configuration file\n"
            "  -v, --verbose       log debug lines\n"
            "      --version       print the version and exit\n"
            "  -h, --help          this text\n");
}

/*
 * dataDir/myid: this server's id in an ensemble, one decimal number on the
 * first line (ZooKeeper's QuorumPeerConfig reads it so).  None: 0.  A file
 * that is there but holds no number stops the server, naming the file (as
 * the file storage did when it alone read it).  Standalone ZooKeeper does
 * not use the id: `conf` says serverId=0 and session ids carry 1 in their
 * top byte whatever myid says (session_tracker_id), and so do ours; the
 * quorum code is what will use it.
 */
static int read_myid(void)
{
    const char *dir = config_value(&server.cfg, "dataDir");
    server.my_id = 0;
    if (!dir)
        return 0;
    char path[4096], err[4200];
    snprintf(path, sizeof path, "%s/myid", dir);
    long long id = 0;
    int found = zk_read_number_file(path, &id, err, sizeof err);
    if (found < 0) {
        log_error("%s", err);
        return -1;
    }
    if (!found)
        return 0;
    server.my_id = id;
    log_info("%s: server id %lld", path, id);
    return 0;
}

static int read_settings(void)
{
    long long tick, min_to, max_to, sid;
    const char *level = config_value(&server.cfg, "corral.logLevel");
    if (level) {
        if (!strcmp(level, "error")) log_verbosity = CORRAL_LOG_ERROR;
        else if (!strcmp(level, "warn")) log_verbosity = CORRAL_LOG_WARN;
        else if (!strcmp(level, "info")) log_verbosity = CORRAL_LOG_INFO;
        else if (!strcmp(level, "debug")) log_verbosity = CORRAL_LOG_DEBUG;
        else {
            const struct config_entry *e = config_find(&server.cfg, "corral.logLevel");
            log_error("%s:%d: key 'corral.logLevel': '%s' is not error, warn, info or debug",
                      server.cfg.path, e->line, level);
            return -1;
        }
    }
    /*
     * The session bounds as ZooKeeper derives them: -1 (or absent) is 2 and
     * 20 ticks, computed in Java int arithmetic (which wraps: a huge tickTime
     * can make min > max), and min > max refuses to start.  tickTime itself
     * only sets those defaults here; ZooKeeper refuses 0 and nothing else.
     * Bounds below 1 ms, which ZooKeeper takes but no session survives,
     * become 1 ms.
     */
    if (config_get_int(&server.cfg, "tickTime", 3000, INT32_MIN, INT32_MAX, &tick) < 0)
        return -1;
    if (tick == 0) {
        const struct config_entry *e = config_find(&server.cfg, "tickTime");
        log_error("%s:%d: key 'tickTime': must not be 0", server.cfg.path, e ? e->line : 0);
        return -1;
    }
    long long twice = (int32_t)((uint32_t)tick * 2u), twenty = (int32_t)((uint32_t)tick * 20u);
    if (config_get_int(&server.cfg, "minSessionTimeout", -1, INT32_MIN, INT32_MAX, &min_to) < 0 ||
        config_get_int(&server.cfg, "maxSessionTimeout", -1, INT32_MIN, INT32_MAX, &max_to) < 0)
        return -1;
    if (min_to == -1)
        min_to = twice;
    if (max_to == -1)
        max_to = twenty;
    if (min_to > max_to) {
        const struct config_entry *e = config_find(&server.cfg, "minSessionTimeout");
        log_error("%s:%d: key 'minSessionTimeout': %lld is larger than maxSessionTimeout %lld",
                  server.cfg.path, e ? e->line : 0, min_to, max_to);
        return -1;
    }
    if (min_to < 1 || max_to < 1) {
        log_warn("%s: session timeouts %lld..%lld ms: sessions need at least 1 ms; using %lld..%lld",
                 server.cfg.path, min_to, max_to, min_to < 1 ? 1 : min_to, max_to < 1 ? 1 : max_to);
        min_to = min_to < 1 ? 1 : min_to;
        max_to = max_to < 1 ? 1 : max_to;
    }
    if (config_get_bool(&server.cfg, "skipACL", 0, &server.skip_acl) < 0)
        return -1;
    long long outstanding;
    if (config_get_int(&server.cfg, "globalOutstandingLimit", 1000, 1, 1000000, &outstanding) < 0)
        return -1;
    server.max_txns_in_flight = (int)outstanding;
    /*
     * The txn limit (txn_size.h), as Apache ZooKeeper's reader derives it:
     * jute.maxbuffer plus zookeeper.jute.maxbuffer.extrasize (which zoo.cfg
     * sets as jute.maxbuffer.extrasize), the extra defaulting to jute.maxbuffer
     * and never below 1024.
     */
    long long max_buffer, extra;
    if (config_get_int(&server.cfg, "jute.maxbuffer", 0xfffff, 1, INT32_MAX, &max_buffer) < 0 ||
        config_get_int(&server.cfg, "jute.maxbuffer.extrasize", max_buffer, 0, INT32_MAX, &extra) < 0)
        return -1;
    if (extra < 1024)
        extra = 1024;
    server.jute_max_buffer = max_buffer;
    /* a reply no client could read (its jute.maxbuffer is the same) is refused */
    server.max_reply = (int32_t)max_buffer;
    server.jute_extra_size = extra;
    server.max_txn_bytes = max_buffer + extra > INT32_MAX ? INT32_MAX : max_buffer + extra;
    sid = 0;
    server.tick_time = (int32_t)tick;
    server.min_session_timeout = (int32_t)min_to;
    server.max_session_timeout = (int32_t)max_to;
    server.server_id = (int32_t)sid;
    return read_myid();
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    log_info("signal %d: shutting down", w->signum);
    ev_break(loop, EVBREAK_ALL);
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
    log_info("SIGHUP: reloading plugins");
    modules_reload();
}

static void shutdown_server(void)
{
    election_stop();            /* ensemble member: the election port first */
    peer_shutdown();            /* then the role (its sockets, what it holds in flight) */
    duties_stop();
    modules_stop();
    hooks_clear();
    while (server.clients) {
        struct session *s = server.clients;
        s->ops = NULL;
        session_free(s);
    }
    session_drop_requests(&server.system_session);
    session_table_clear();
    containers_clear();
    modules_unload();
    quorum_release_orphans();   /* no storage completion can come any more */
    election_teardown();
    tree_destroy(&server.tree);
    while (server.ephemerals)
        ephemeral_drop_owner(server.ephemerals->session_id);
    acl_cache_clear();
    config_free(&server.cfg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_file = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_file = optarg; break;
        case 'v': log_verbosity = CORRAL_LOG_DEBUG; break;
        case 'V': printf("corrald %s (ZooKeeper protocol 3.8, module ABI %d.%d)\n",
                         PACKAGE_VERSION, CORRAL_ABI_MAJOR, CORRAL_ABI_MINOR);
                  return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (!config_file || optind != argc) {
        usage(stderr);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    server.start_ms = now_ms();
    server.min_latency_ms = -1;
    server.system_session.min_latency_ms = -1;
    if (config_load(&server.cfg, config_file) < 0 || read_settings() < 0) {
        config_free(&server.cfg);
        return 1;
    }
    /* --- ensemble (core/quorum/election.c): server.N lines make this an
     * ensemble member, which loads an election module --- */
    if (election_setup() < 0) {
        election_teardown();
        config_free(&server.cfg);
        return 1;
    }
    if (election_is_ensemble())
        server.server_id = (int32_t)server.my_id;   /* conf's serverId: a member's is its myid */
    server.loop = ev_default_loop(EVFLAG_AUTO);
    core_api.loop = server.loop;
    if (tree_init(&server.tree) < 0) {
        log_error("out of memory building the tree");
        return 2;
    }
    /* an ensemble member's ids carry its myid, so no two members' ids collide (§2.9) */
    server.next_session_id = session_initial_id(
        election_is_ensemble() ? (int32_t)server.my_id : session_tracker_id(), server.start_ms);

    if (modules_load() < 0 || db_recover() < 0 ||
        epochs_check(server.storage, server.last_zxid) < 0) {
        shutdown_server();
        return 1;
    }
    /* standalone: zxids continue after the recovered ones, in their epoch */
    prep_start(ZXID_EPOCH(server.last_zxid));
    /*
     * Standalone, this server is in charge from the moment it serves:
     * restored sessions' clocks start now (not before recovery), orphans
     * are closed, containers reaped, plugin writes taken (duties.h).  An
     * ensemble member listens for clients from the start but serves them,
     * and takes on duties, only once its role is synced with a quorum
     * (quorum/peer.c); until then a connection is closed unanswered, as
     * ZooKeeper's server does, and the four-letter words still answer.
     */
    int member = election_is_ensemble();
    peer_set_roles(&peer_role_leader, &peer_role_follower, &peer_role_observer);
    if (!member) {
        server.serving = SERVING_YES;
        if (duties_start() < 0) {
            shutdown_server();
            return 1;
        }
    }
    if ((member && peer_setup() < 0) || modules_start() < 0 || (member && election_start() < 0)) {
        shutdown_server();
        return 1;
    }
    ev_signal sigterm, sigint, sighup;
    ev_signal_init(&sigterm, on_signal, SIGTERM);
    ev_signal_init(&sigint, on_signal, SIGINT);
    ev_signal_init(&sighup, on_sighup, SIGHUP);
    ev_signal_start(server.loop, &sigterm);
    ev_signal_start(server.loop, &sigint);
    ev_signal_start(server.loop, &sighup);
    log_info("corrald %s %s (tickTime=%d, sessions %d-%d ms, last zxid 0x%llx)",
             PACKAGE_VERSION, member ? "started as an ensemble member" : "serving", server.tick_time, server.min_session_timeout,
             server.max_session_timeout, (unsigned long long)server.last_zxid);

    ev_run(server.loop, 0);

    shutdown_server();
    ev_loop_destroy(server.loop);
    log_info("stopped");
    return 0;
}
