/*
 * duties.c — unit tests of the duties of the server in charge (core/duties.c):
 * with them stopped, a session whose clock has run out does not expire, an
 * empty container is not reaped, an orphan's ephemeral is not closed and a
 * plugin's write is dropped; started again, each of them happens.  Real
 * timers on a real loop (ticks of 10 ms), a storage that is durable at once.
 */
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "tap.h"
#include "server.h"
#include "core_fixture.h"
#include "duties.h"
#include "session_tracker.h"

static int closed, connected_ok;
static void on_connected(void *conn, const struct corral_connect_result *res)
{
    (void)conn;
    connected_ok += res->err == CORRAL_OK;
}
static void on_reply(void *conn, const struct corral_response *rsp) { (void)conn, (void)rsp; }
static void on_event(void *conn, const struct corral_watch_event *ev) { (void)conn, (void)ev; }
static void on_close(void *conn, int32_t reason)
{
    (void)conn;
    closed += reason == CORRAL_ESESSIONEXPIRED;
}
static const struct corral_conn_ops conn_ops = {.size = sizeof conn_ops, .connected = on_connected,
                                                .reply = on_reply, .event = on_event,
                                                .close = on_close};

static int st_recover(void) { return 0; }
static void st_append(const struct corral_txn *t, void (*done)(void *, int), void *arg)
{
    (void)t;
    done(arg, 0);
}
static const struct corral_storage_ops storage = {.size = sizeof storage, .recover = st_recover,
                                                  .append = st_append};

static const struct corral_auth_ops *auths[] = {&fixture_world};

static struct corral_request *req(int32_t op, const char *path, int32_t flags)
{
    struct corral_request *r = calloc(1, sizeof *r);
    r->op = op;
    r->path = strdup(path);
    r->data_len = -1;
    r->version = -1;
    r->flags = flags;
    if (op != CORRAL_OP_DELETE) {
        r->acl = calloc(1, sizeof *r->acl);
        r->acl->perms = CORRAL_PERM_ALL;
        r->acl->scheme = strdup("world");
        r->acl->id = strdup("anyone");
        r->n_acl = 1;
    }
    return r;
}

static int exists(const char *path) { return tree_lookup(&server.tree, path) != NULL; }

int main(void)
{
    fixture_server_init(&storage, auths, 1);
    server.tick_time = 10;
    server.min_session_timeout = server.max_session_timeout = 60;
    config_parse(&server.cfg, "duties-test", "znode.container.checkIntervalMs=5\n");

    ok(!duties_active() && !core_api.in_charge(), "not in charge before duties_start");
    ok(duties_start() == 0 && duties_active() && core_api.in_charge(),
       "duties_start: in charge (core->in_charge says so too)");

    /* a session, an empty container that had a child: what the duties act on */
    struct corral_connect_params p;
    memset(&p, 0, sizeof p);
    p.timeout_ms = 60;
    struct session *s = pipeline_connect(&p, &conn_ops, NULL);
    int64_t sid = s->id;
    pipeline_submit(s, req(CORRAL_OP_CREATE_CONTAINER, "/c", CORRAL_CREATE_CONTAINER));
    pipeline_submit(s, req(CORRAL_OP_CREATE, "/c/x", 0));
    pipeline_submit(s, req(CORRAL_OP_DELETE, "/c/x", 0));
    ok(connected_ok == 1 && session_table_find(sid) && exists("/c") && !exists("/c/x"),
       "(a session in the table, an empty container)");
    core_api.session_detach((struct corral_session *)s);
    ok(!session_find(sid) && tracker_deadline(sid), "(its client gone, its clock running)");

    /* an orphan: ephemerals of a session not in the table */
    struct corral_txn cs = {.type = CORRAL_OP_CREATE_SESSION, .session_id = 0x999, .timeout = 60,
                            .zxid = ++server.next_zxid, .time = 1};
    struct apply_result ar;
    apply_txn(&cs, &ar, NULL);

    duties_stop();
    ok(!duties_active() && !core_api.in_charge(), "duties_stop: not in charge");
    struct corral_acl acl = {.perms = CORRAL_PERM_ALL, .scheme = "world", .id = "anyone"};
    struct corral_txn eph = {.type = CORRAL_OP_CREATE, .session_id = 0x999, .path = "/orphan",
                             .ephemeral = 1, .acl = &acl, .n_acl = 1,
                             .zxid = ++server.next_zxid, .time = 1};
    apply_txn(&eph, &ar, NULL);
    apply_result_clear(&ar, NULL, 0);
    session_table_remove(0x999);
    core_api.submit_internal(req(CORRAL_OP_CREATE, "/plugin-off", 0));
    run_for(300);
    ok(session_table_find(sid) && closed == 0 && !tracker_deadline(sid),
       "stopped: a session silent for five timeouts does not expire (no clock runs)");
    ok(exists("/c"), "stopped: the empty container is not reaped");
    ok(exists("/orphan"), "stopped: the orphan's ephemeral stays");
    ok(!exists("/plugin-off"), "stopped: a plugin's write is dropped");

    ok(duties_start() == 0 && duties_active(), "duties_start again");
    ok(!exists("/orphan"), "started: the orphan is closed at once, its ephemeral gone");
    ok(tracker_deadline(sid) > 0, "started: the session's clock runs again, from now");
    core_api.submit_internal(req(CORRAL_OP_CREATE, "/plugin-on", 0));
    ok(exists("/plugin-on"), "started: a plugin's write is taken");
    run_for(300);
    ok(!session_table_find(sid) && !session_find(sid), "started: the silent session expires");
    ok(!exists("/c"), "started: the empty container is reaped");

    duties_stop();
    tree_destroy(&server.tree);
    config_free(&server.cfg);
    return done_testing();
}
