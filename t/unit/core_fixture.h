/*
 * core_fixture.h — the server a unit test of the core runs against: the
 * settings every such test starts from and a "world" auth scheme as the
 * module has it.  Included by one test program each (static definitions);
 * a test changes what it needs after fixture_server_init.
 */
#ifndef CORRAL_T_CORE_FIXTURE_H
#define CORRAL_T_CORE_FIXTURE_H

#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "server.h"

static char *fixture_world_identify(const char *a) { (void)a; return strdup("anyone"); }
static int fixture_id_matches(const char *id, const char *acl) { return !strcmp(id, acl); }
static int fixture_world_valid(const char *acl) { return !strcmp(acl, "anyone"); }

/* world: every connection is anyone */
static const struct corral_auth_ops fixture_world = {
    .size = sizeof fixture_world,
    .scheme = "world",
    .flags = CORRAL_AUTH_UNIVERSAL,
    .identify_connection = fixture_world_identify,
    .matches = fixture_id_matches,
    .valid_id = fixture_world_valid,
};

/* The ip scheme as its module has it: the connection's address is its id (inline: not every test uses it). */
static inline char *fixture_ip_identify(const char *a) { return a ? strdup(a) : NULL; }
static inline int fixture_ip_valid(const char *acl) { (void)acl; return 1; }
static const struct corral_auth_ops fixture_ip = {
    .size = sizeof fixture_ip, .scheme = "ip", .identify_connection = fixture_ip_identify,
    .matches = fixture_id_matches, .valid_id = fixture_ip_valid};

static inline void fixture_stop_loop(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w, (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

/* Let the loop (and the timers of whatever the test started) run for ms milliseconds. */
static inline void run_for(int ms)
{
    ev_timer t;
    ev_timer_init(&t, fixture_stop_loop, ms / 1000.0, 0.);
    ev_timer_start(server.loop, &t);
    ev_run(server.loop, 0);
    ev_timer_stop(server.loop, &t);
}

/* The default loop, a fresh tree, ZooKeeper-like limits (tick 2 s, sessions 4–40 s, 1000 txns in flight), serving. */
static void fixture_server_init(const struct corral_storage_ops *storage,
                                const struct corral_auth_ops **auth, int n_auth)
{
    server.loop = ev_default_loop(0);
    core_api.loop = server.loop;
    tree_init(&server.tree);
    server.tick_time = 2000;
    server.min_session_timeout = 4000;
    server.max_session_timeout = 40000;
    server.max_txns_in_flight = 1000;
    server.serving = SERVING_YES;          /* a standalone server (main.c), serving from the start */
    server.min_latency_ms = -1;
    server.next_session_id = 0x1000;
    server.storage = storage;
    server.auth = auth;
    server.n_auth = n_auth;
}

#endif
