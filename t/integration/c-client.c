/*
 * c-client.c — the official ZooKeeper C client (libzookeeper_mt) against a
 * server given as host:port: synchronous create/get/set/exists/children/
 * delete with their Stats and error codes, an ephemeral, a sequential node, a
 * multi, and a data watch delivered through the client's watcher callback.
 * Prints TAP; run by t0050-c-client.t.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>
#include "tap.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int connected, data_events;
static char event_path[256];

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    pthread_mutex_lock(&mu);
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE)
        connected = 1;
    if (type == ZOO_CHANGED_EVENT) {
        data_events++;
        snprintf(event_path, sizeof event_path, "%s", path);
    }
    pthread_mutex_unlock(&mu);
}

static int wait_flag(int *flag, int want)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&mu);
        int v = *flag;
        pthread_mutex_unlock(&mu);
        if (v >= want)
            return 1;
        usleep(10000);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: c-client HOST:PORT\n");
        return 2;
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(argv[1], watcher, 10000, NULL, NULL, 0);
    ok(zh != NULL, "zookeeper_init");
    ok(wait_flag(&connected, 1), "the C client connects");

    char path[256];
    int rc = zoo_create(zh, "/c", "hello", 5, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path);
    is_int(rc, ZOK, "zoo_create");
    is_str(path, "/c", "zoo_create answers the path");
    is_int(zoo_create(zh, "/c", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path), ZNODEEXISTS,
           "creating it again: ZNODEEXISTS");

    char buf[64];
    int len = sizeof buf;
    struct Stat st;
    rc = zoo_get(zh, "/c", 0, buf, &len, &st);
    is_int(rc, ZOK, "zoo_get");
    ok(len == 5 && memcmp(buf, "hello", 5) == 0, "zoo_get answers the data");
    is_int(st.version, 0, "version 0");
    is_int(st.dataLength, 5, "dataLength 5");

    rc = zoo_wget(zh, "/c", watcher, NULL, buf, &len, &st);
    is_int(rc, ZOK, "zoo_wget sets a watch");
    rc = zoo_set(zh, "/c", "world", 5, 0);
    is_int(rc, ZOK, "zoo_set with the right version");
    ok(wait_flag(&data_events, 1), "the data watch fires");
    is_str(event_path, "/c", "for /c");
    is_int(zoo_set(zh, "/c", "x", 1, 0), ZBADVERSION, "zoo_set with a stale version: ZBADVERSION");

    rc = zoo_create(zh, "/c-null", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, path, sizeof path);
    len = sizeof buf;
    rc = zoo_get(zh, "/c-null", 0, buf, &len, &st);
    ok(rc == ZOK && len == -1, "a node created with null data reads back null (length -1)");
    is_int(zoo_delete(zh, "/c-null", -1), ZOK, "delete it");

    is_int(zoo_exists(zh, "/c", 0, &st), ZOK, "zoo_exists on a node");
    is_int(st.version, 1, "and its Stat shows version 1");
    is_int(zoo_exists(zh, "/none", 0, &st), ZNONODE, "zoo_exists on a missing node: ZNONODE");

    rc = zoo_create(zh, "/c/seq-", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, path, sizeof path);
    is_str(path, "/c/seq-0000000000", "sequential create");
    rc = zoo_create(zh, "/c/eph", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, path, sizeof path);
    is_int(rc, ZOK, "ephemeral create");
    struct String_vector kids;
    rc = zoo_get_children(zh, "/c", 0, &kids);
    is_int(rc, ZOK, "zoo_get_children");
    is_int(kids.count, 2, "two children");
    deallocate_String_vector(&kids);

    zoo_op_t ops[2];
    zoo_op_result_t results[2];
    char p1[64];
    zoo_create_op_init(&ops[0], "/c/m", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, p1, sizeof p1);
    zoo_delete_op_init(&ops[1], "/c/absent", -1);
    rc = zoo_multi(zh, 2, ops, results);
    is_int(rc, ZNONODE, "zoo_multi with a failing member returns its error");
    is_int(zoo_exists(zh, "/c/m", 0, &st), ZNONODE, "nothing of the failed multi exists");

    is_int(zoo_delete(zh, "/c", -1), ZNOTEMPTY, "zoo_delete of a parent: ZNOTEMPTY");
    is_int(zoo_delete(zh, "/c/seq-0000000000", -1), ZOK, "zoo_delete");
    is_int(zoo_delete(zh, "/c/eph", -1), ZOK, "zoo_delete of the ephemeral");
    is_int(zoo_delete(zh, "/c", 1), ZOK, "zoo_delete with the right version");
    is_int(zookeeper_close(zh), ZOK, "zookeeper_close");
    return done_testing();
}
