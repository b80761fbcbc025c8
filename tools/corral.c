/*
 * corral.c — the operator's command line for a running corrald.
 *
 *   corral [-s HOST:PORT] status      mode, version, zxid, counts (like zkServer.sh status);
 *                                     on an ensemble member also its id, the leader, the
 *                                     epoch and whether it serves (Corral's "peer" word,
 *                                     which answers while the member is not serving too)
 *   corral [-s HOST:PORT] snapshot    ask the storage module for a snapshot now
 *   corral [-s HOST:PORT] reload      reload plugins (Lua scripts), as SIGHUP does
 *   corral [-s HOST:PORT] WORD        any four-letter word: ruok, srvr, mntr, cons, ...
 *   corral [-s HOST:PORT] ls|get|set|create|delete|stat|watch ...   client commands (shell.c)
 *   corral [-s HOST:PORT] shell       those commands from stdin, on one session
 *   corral log-truncate [-n] FILE OFFSET   cut a damaged txn log (server stopped)
 *
 * The operator commands speak the four-letter words of the client port (so
 * the words they use must be in 4lw.commands.whitelist) and print the
 * answer; the client commands open a session.  Exit status: 0, or 1 when the
 * server cannot be reached or refuses, 2 on bad usage.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "shell.h"
#include "log_truncate.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: corral [-s HOST:PORT] status|snapshot|reload|WORD\n"
               "       corral [-s HOST:PORT] COMMAND ARGS...\n"
               "  -s HOST:PORT   the server (default 127.0.0.1:2181)\n"
               "  WORD           a four-letter word (ruok, srvr, stat, mntr, conf, cons, envi, ...)\n"
               "client commands:\n");
    shell_usage(f);
    fprintf(f, "offline (on a data folder, the server stopped):\n");
    log_truncate_usage(f);
}

/* Send a four-letter word; the whole answer in a malloc'd string, or NULL (errno). */
static char *ask(const char *server, const char *word)
{
    char host[256];
    const char *colon = strrchr(server, ':');
    const char *port = colon ? colon + 1 : "2181";
    size_t hlen = colon ? (size_t)(colon - server) : strlen(server);
    if (hlen >= sizeof host)
        hlen = sizeof host - 1;
    memcpy(host, server, hlen);
    host[hlen] = 0;
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai) {
        fprintf(stderr, "corral: %s: %s\n", server, gai_strerror(gai));
        return NULL;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "corral: cannot connect to %s: %s\n", server, strerror(errno));
        return NULL;
    }
    if (write(fd, word, 4) != 4) {
        fprintf(stderr, "corral: %s: %s\n", server, strerror(errno));
        close(fd);
        return NULL;
    }
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 2) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    close(fd);
    if (buf)
        buf[len] = 0;
    return buf;
}

/* The value of "Key: value" in srvr output, or "?" */
static const char *field(const char *text, const char *key, char *out, size_t cap)
{
    const char *p = strstr(text, key);
    if (!p) {
        snprintf(out, cap, "?");
        return out;
    }
    p += strlen(key);
    size_t n = strcspn(p, "\n");
    snprintf(out, cap, "%.*s", (int)n, p);
    return out;
}

/*
 * `corral status`: the peer word first (an ensemble member answers it even
 * while it elects or syncs, when srvr only says it is not serving), then
 * srvr's figures when the server serves.  A server without the peer word
 * (closes on it, or an older corrald) is asked srvr alone.
 */
static int status(const char *server)
{
    char v[256];
    char *peer = ask(server, "peer");
    if (!peer)
        return 1;       /* not reachable (ask said why) */
    int member = peer && strstr(peer, "State: ") && strstr(peer, "Server id: ");
    int serving = !strstr(peer, "State: ") || strstr(peer, "Serving: yes");
    if (member) {
        printf("Mode: %s\n", field(peer, "Mode: ", v, sizeof v));
        printf("Server id: %s\n", field(peer, "Server id: ", v, sizeof v));
        printf("Leader: %s\n", field(peer, "Leader: ", v, sizeof v));
        printf("Epoch: %s\n", field(peer, "Epoch: ", v, sizeof v));
        printf("Serving: %s\n", serving ? "yes" : "no (not synced with a quorum)");
    }
    free(peer);
    if (!serving)
        return 0;
    char *answer = ask(server, "srvr");
    if (!answer)
        return 1;
    if (!strstr(answer, "Mode: ")) {
        fprintf(stderr, "corral: %s did not answer srvr: %s\n", server, answer);
        free(answer);
        return 1;
    }
    if (!member)
        printf("Mode: %s\n", field(answer, "Mode: ", v, sizeof v));
    printf("Version: %s\n", field(answer, "Zookeeper version: ", v, sizeof v));
    printf("Zxid: %s\n", field(answer, "Zxid: ", v, sizeof v));
    printf("Node count: %s\n", field(answer, "Node count: ", v, sizeof v));
    printf("Connections: %s\n", field(answer, "Connections: ", v, sizeof v));
    free(answer);
    return 0;
}

int main(int argc, char **argv)
{
    const char *server = "127.0.0.1:2181";
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "-s")) {
        server = argv[i + 1];
        i += 2;
    }
    if (i < argc && !strcmp(argv[i], "log-truncate"))
        return log_truncate_run(argc - i, argv + i);
    if (i < argc && shell_is_command(argv[i]))
        return shell_run(server, argc - i, argv + i);
    if (i != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[i];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "status"))
        return status(server);
    const char *word = !strcmp(cmd, "snapshot") ? "snap" : !strcmp(cmd, "reload") ? "rlod" : cmd;
    if (strlen(word) != 4) {
        fprintf(stderr, "corral: '%s' is neither a command nor a four-letter word\n", cmd);
        usage(stderr);
        return 2;
    }
    char *answer = ask(server, word);
    if (!answer)
        return 1;
    fputs(answer, stdout);
    if (*answer && answer[strlen(answer) - 1] != '\n')
        putchar('\n');
    int not_executed = strstr(answer, "is not executed because it is not in the whitelist") != NULL;
    free(answer);
    return not_executed ? 1 : 0;
}
