/*
 * shell.c — the `corral` CLI's client commands: ls, get, set, create,
 * delete, stat, watch, and `shell`, which reads them line by line from stdin
 * on one session.
 *
 * They are a client of the ZooKeeper wire protocol, so they work against
 * corrald and Apache ZooKeeper alike.  The protocol is spoken by the official
 * C client (libzookeeper-mt, from Debian's libzookeeper-mt-dev): session
 * handshake, pings and reconnects are its business, not ours to rewrite.
 * Its own log goes quiet (errors only); what a command prints is meant for
 * scripts: ls prints one child per line, sorted; get prints the data
 * followed by a newline; stat prints the Stat the way zkCli.sh does.
 *
 * A failed command prints "corral: CMD PATH: <ZooKeeper's error text>" on
 * stderr; shell_run returns 0, 1 (the server said no / cannot connect) or 2
 * (bad usage).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>
#include "shell.h"

#define CONNECT_TIMEOUT_S 10
#define SESSION_TIMEOUT_MS 30000
#define MAX_DATA (1024 * 1024)

/* The session's state and the events it has seen, filled by the C client's
 * thread and read by ours. */
struct session {
    zhandle_t *zh;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int connected;
    int lost;                /* expired or auth failed: the session is over */
    int events;              /* watch events printed so far */
};

static const char *event_name(int type)
{
    if (type == ZOO_CREATED_EVENT)
        return "NodeCreated";
    if (type == ZOO_DELETED_EVENT)
        return "NodeDeleted";
    if (type == ZOO_CHANGED_EVENT)
        return "NodeDataChanged";
    if (type == ZOO_CHILD_EVENT)
        return "NodeChildrenChanged";
    return "None";
}

/* The C client calls this on its completion thread: session state changes
 * (path "") and the events of watches our commands left. */
static void on_event(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    struct session *s = ctx;
    pthread_mutex_lock(&s->lock);
    if (type == ZOO_SESSION_EVENT) {
        if (state == ZOO_CONNECTED_STATE)
            s->connected = 1;
        else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE)
            s->lost = 1;
    } else {
        printf("WatchedEvent state:SyncConnected type:%s path:%s\n", event_name(type), path);
        fflush(stdout);
        s->events++;
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static int session_open(struct session *s, const char *server)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    s->zh = zookeeper_init(server, on_event, SESSION_TIMEOUT_MS, NULL, s, 0);
    if (!s->zh) {
        fprintf(stderr, "corral: cannot start a session with %s\n", server);
        return -1;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += CONNECT_TIMEOUT_S;
    pthread_mutex_lock(&s->lock);
    while (!s->connected && !s->lost)
        if (pthread_cond_timedwait(&s->changed, &s->lock, &deadline) != 0)
            break;
    int ok = s->connected;
    pthread_mutex_unlock(&s->lock);
    if (!ok)
        fprintf(stderr, "corral: no session with %s within %d s\n", server, CONNECT_TIMEOUT_S);
    return ok ? 0 : -1;
}

static void session_close(struct session *s)
{
    if (s->zh)
        zookeeper_close(s->zh);
    s->zh = NULL;
}

static int failed(const char *cmd, const char *path, int rc)
{
    fprintf(stderr, "corral: %s %s: %s\n", cmd, path, zerror(rc));
    return 1;
}

/* A version argument: a decimal int32, -1 meaning any. */
static int parse_version(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end != 0 || v < -1 || v > 0x7fffffff) {
        fprintf(stderr, "corral: '%s' is not a version\n", s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_ls(struct session *s, int argc, char **argv)
{
    struct String_vector kids = {0, NULL};
    int rc = zoo_get_children(s->zh, argv[1], 0, &kids);
    if (rc != ZOK)
        return failed(argv[0], argv[1], rc);
    qsort(kids.data, (size_t)kids.count, sizeof *kids.data, by_name);
    for (int i = 0; i < kids.count; i++)
        printf("%s\n", kids.data[i]);
    deallocate_String_vector(&kids);
    return 0;
}

static int cmd_get(struct session *s, int argc, char **argv)
{
    char *buf = malloc(MAX_DATA);
    int len = MAX_DATA;
    struct Stat st;
    if (!buf) {
        fprintf(stderr, "corral: out of memory\n");
        return 1;
    }
    int rc = zoo_get(s->zh, argv[1], 0, buf, &len, &st);
    if (rc == ZOK) {
        if (len > 0)
            fwrite(buf, 1, (size_t)len, stdout);
        putchar('\n');
    }
    free(buf);
    return rc == ZOK ? 0 : failed(argv[0], argv[1], rc);
}

static int cmd_set(struct session *s, int argc, char **argv)
{
    int version = -1;
    if (argc > 3 && parse_version(argv[3], &version) < 0)
        return 2;
    int rc = zoo_set(s->zh, argv[1], argv[2], (int)strlen(argv[2]), version);
    return rc == ZOK ? 0 : failed(argv[0], argv[1], rc);
}

static int cmd_create(struct session *s, int argc, char **argv)
{
    int mode = 0, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "-e"))
            mode |= ZOO_EPHEMERAL;
        else if (!strcmp(argv[i], "-s"))
            mode |= ZOO_SEQUENCE;
        else {
            fprintf(stderr, "corral: create: unknown flag %s (-e ephemeral, -s sequential)\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc || argc - i > 2) {
        fprintf(stderr, "usage: create [-e] [-s] PATH [DATA]\n");
        return 2;
    }
    const char *path = argv[i], *data = i + 1 < argc ? argv[i + 1] : NULL;
    char created[1024];
    int rc = zoo_create(s->zh, path, data, data ? (int)strlen(data) : -1, &ZOO_OPEN_ACL_UNSAFE, mode, created,
                        sizeof created);
    if (rc != ZOK)
        return failed(argv[0], path, rc);
    printf("Created %s\n", created);
    return 0;
}

static int cmd_delete(struct session *s, int argc, char **argv)
{
    int version = -1;
    if (argc > 2 && parse_version(argv[2], &version) < 0)
        return 2;
    int rc = zoo_delete(s->zh, argv[1], version);
    return rc == ZOK ? 0 : failed(argv[0], argv[1], rc);
}

static void print_time(const char *label, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char when[64];
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%a %b %d %H:%M:%S %Z %Y", &tm);
    printf("%s = %s\n", label, when);
}

static int cmd_stat(struct session *s, int argc, char **argv)
{
    struct Stat st;
    int rc = zoo_exists(s->zh, argv[1], 0, &st);
    if (rc != ZOK)
        return failed(argv[0], argv[1], rc);
    printf("cZxid = 0x%llx\n", (unsigned long long)st.czxid);
    print_time("ctime", st.ctime);
    printf("mZxid = 0x%llx\n", (unsigned long long)st.mzxid);
    print_time("mtime", st.mtime);
    printf("pZxid = 0x%llx\n", (unsigned long long)st.pzxid);
    printf("cversion = %d\n", st.cversion);
    printf("dataVersion = %d\n", st.version);
    printf("aclVersion = %d\n", st.aversion);
    printf("ephemeralOwner = 0x%llx\n", (unsigned long long)st.ephemeralOwner);
    printf("dataLength = %d\n", st.dataLength);
    printf("numChildren = %d\n", st.numChildren);
    return 0;
}

/* Leave a data/exists watch and (when the node is there) a child watch, then
 * wait for the first event and print it. */
static int cmd_watch(struct session *s, int argc, char **argv)
{
    struct Stat st;
    int rc = zoo_exists(s->zh, argv[1], 1, &st);
    if (rc == ZOK) {
        struct String_vector kids = {0, NULL};
        rc = zoo_get_children(s->zh, argv[1], 1, &kids);
        if (rc == ZOK)
            deallocate_String_vector(&kids);
    }
    if (rc != ZOK && rc != ZNONODE)
        return failed(argv[0], argv[1], rc);
    pthread_mutex_lock(&s->lock);
    int before = s->events;
    while (s->events == before && !s->lost)
        pthread_cond_wait(&s->changed, &s->lock);
    int lost = s->events == before;
    pthread_mutex_unlock(&s->lock);
    if (lost) {
        fprintf(stderr, "corral: watch %s: the session ended\n", argv[1]);
        return 1;
    }
    return 0;
}

struct command {
    const char *name;
    int min_args, max_args;  /* after the command name */
    const char *usage;
    int (*run)(struct session *s, int argc, char **argv);
};

static const struct command commands[] = {
    {"ls", 1, 1, "ls PATH", cmd_ls},
    {"get", 1, 1, "get PATH", cmd_get},
    {"set", 2, 3, "set PATH DATA [VERSION]", cmd_set},
    {"create", 1, 4, "create [-e] [-s] PATH [DATA]", cmd_create},
    {"delete", 1, 2, "delete PATH [VERSION]", cmd_delete},
    {"stat", 1, 1, "stat PATH", cmd_stat},
    {"watch", 1, 1, "watch PATH", cmd_watch},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

int shell_is_command(const char *name)
{
    return find_command(name) != NULL || !strcmp(name, "shell");
}

void shell_usage(FILE *f)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %s\n", commands[i].usage);
    fprintf(f, "  shell   (the commands above, one per line from stdin, on one session)\n");
}

static int dispatch(struct session *s, int argc, char **argv)
{
    const struct command *c = find_command(argv[0]);
    if (!c) {
        fprintf(stderr, "corral: unknown command '%s'\n", argv[0]);
        return 2;
    }
    if (argc - 1 < c->min_args || argc - 1 > c->max_args) {
        fprintf(stderr, "usage: %s\n", c->usage);
        return 2;
    }
    return c->run(s, argc, argv);
}

/* Split a shell line into words: blanks separate, "double quotes" keep
 * blanks inside one word.  Returns the count (at most max), -1 on an
 * unterminated quote.  Words point into line, which is modified. */
static int split_words(char *line, char **words, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            return n;
        if (n == max)
            return n;
        char *w = p, *out = p;
        int quoted = 0;
        while (*p && (quoted || !isspace((unsigned char)*p))) {
            if (*p == '"')
                quoted = !quoted;
            else
                *out++ = *p;
            p++;
        }
        if (quoted)
            return -1;
        if (*p)
            p++;
        *out = 0;
        words[n++] = w;
    }
}

static int run_shell(struct session *s)
{
    char line[8192];
    int interactive = isatty(STDIN_FILENO), status = 0;
    for (;;) {
        if (interactive) {
            fputs("corral> ", stdout);
            fflush(stdout);
        }
        if (!fgets(line, sizeof line, stdin))
            break;
        char *words[8];
        int n = split_words(line, words, 8);
        if (n < 0) {
            fprintf(stderr, "corral: unterminated quote\n");
            status = 2;
            continue;
        }
        if (n == 0 || words[0][0] == '#')
            continue;
        if (!strcmp(words[0], "quit") || !strcmp(words[0], "exit"))
            break;
        int rc = dispatch(s, n, words);
        fflush(stdout);
        if (rc > status)
            status = rc;
    }
    return status;
}

int shell_run(const char *server, int argc, char **argv)
{
    if (strcmp(argv[0], "shell") != 0) {
        const struct command *c = find_command(argv[0]);
        if (c && (argc - 1 < c->min_args || argc - 1 > c->max_args)) {
            fprintf(stderr, "usage: corral [-s HOST:PORT] %s\n", c->usage);
            return 2;
        }
    } else if (argc != 1) {
        fprintf(stderr, "usage: corral [-s HOST:PORT] shell\n");
        return 2;
    }
    struct session s;
    if (session_open(&s, server) < 0) {
        session_close(&s);
        return 1;
    }
    int rc = strcmp(argv[0], "shell") ? dispatch(&s, argc, argv) : run_shell(&s);
    fflush(stdout);
    session_close(&s);
    return rc;
}
