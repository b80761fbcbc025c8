/*
 * admin.c — the AdminServer: a tiny HTTP/1.1 server on the core's event loop
 * that answers ZooKeeper's admin commands as JSON (admin_commands.c), like
 * Apache ZooKeeper's Jetty-based AdminServer.
 *
 *   GET <admin.commandURL>          the list of commands (HTML links)
 *   GET <admin.commandURL>/<name>   one command's JSON; 404 + JSON if unknown
 *
 * Configuration, with ZooKeeper's keys: admin.enableServer (true),
 * admin.serverAddress (0.0.0.0), admin.serverPort (8080), admin.commandURL
 * (/commands), admin.idleTimeout (ZooKeeper: 30000 ms; here 5000 ms, see
 * below).  A port that cannot be bound is a WARN line, not a failure: two
 * servers on one host (an ensemble on loopback) still start, only the first
 * answers HTTP.
 *
 * One request per connection (the answer says Connection: close).  It is
 * built to be boring under abuse: the request head is capped at
 * ADMIN_MAX_HEAD bytes (431 beyond), anything that is not a well-formed
 * request line and header block gets 400, methods other than GET and HEAD
 * get 405.  The whole head must arrive within admin.idleTimeout of the
 * connect — bytes trickling in do not extend it, unlike Jetty's idle timer,
 * so a slowloris client cannot hold a connection — and a stalled reader of
 * the answer is dropped after it.  The default is 5 s rather than Jetty's
 * 30 s: no HTTP client waits seconds between connecting and sending its
 * request, and an operator should not wait 30 s behind idle sockets.  At
 * most ADMIN_MAX_CONNS connections are open at once; at the cap a new one
 * does not wait or get shed: it takes the place of the oldest connection
 * still owed nothing or waiting for its head (make_room).  After the answer
 * the socket is half-closed and the rest of the client's input drained for a
 * moment (nginx's lingering close), so the client reads the answer rather
 * than a reset.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "zk.h"

#define ADMIN_WHO "zk.admin"
#define ADMIN_MAX_HEAD 8192
#define ADMIN_MAX_CONNS 64
#define ADMIN_IDLE_TIMEOUT_MS 5000
#define ADMIN_EVICT_LOG_SECONDS 10.0
#define ADMIN_LINGER_SECONDS 2.0
#define ADMIN_LINGER_MAX_BYTES (1 << 20)

enum admin_state { ADMIN_READING, ADMIN_WRITING, ADMIN_LINGERING };

struct admin_conn {
    struct admin_conn *prev, *next;
    int fd;
    enum admin_state state;
    ev_io io;
    ev_timer timer;
    char in[ADMIN_MAX_HEAD + 1];
    size_t in_len;
    size_t drained;
    struct jute_buf out;
    size_t out_off;
};


static struct {
    int enabled;
    char *address;
    int port;
    char *url;                  /* commandURL without a trailing '/' ("" for the root) */
    double idle_timeout;        /* seconds */
    struct listeners *listeners;        /* modules/common/listener.c */
    struct admin_conn *conns;   /* newest first */
    int n_conns;
    long long evicted;          /* connections closed to make room at the cap */
    long long evicted_logged;
    double evict_logged_at;
} admin;

/* ---- configuration ---- */

static int url_char_ok(int c)
{
    return isalnum(c) || strchr("/-._~", c) != NULL;
}

int zk_admin_init(const struct corral_core *core)
{
    long long port, idle;
    memset(&admin, 0, sizeof admin);
    if (core->config_bool("admin.enableServer", 1, &admin.enabled) < 0 ||
        core->config_int("admin.serverPort", 8080, 0, 65535, &port) < 0 ||
        core->config_int("admin.idleTimeout", ADMIN_IDLE_TIMEOUT_MS, 1, 24LL * 3600 * 1000,
                         &idle) < 0)
        return -1;
    admin.port = (int)port;
    admin.idle_timeout = (double)idle / 1000.0;
    const char *addr = core->config_get("admin.serverAddress");
    const char *url = core->config_get("admin.commandURL");
    if (!url || !*url)
        url = "/commands";
    for (const char *p = url; *p; p++) {
        if (!url_char_ok((unsigned char)*p)) {
            core->log(CORRAL_LOG_ERROR, ADMIN_WHO,
                      "admin.commandURL '%s': only letters, digits and / - . _ ~ are allowed", url);
            return -1;
        }
    }
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    admin.url = malloc(len + 2);
    admin.address = strdup(addr && *addr ? addr : "0.0.0.0");
    if (!admin.url || !admin.address) {
        zk_admin_fini();
        return -1;
    }
    /* always absolute: "commands" means "/commands" */
    snprintf(admin.url, len + 2, "%s%.*s", url[0] == '/' || len == 0 ? "" : "/", (int)len, url);
    return 0;
}

void zk_admin_fini(void)
{
    free(admin.address);
    free(admin.url);
    admin.address = admin.url = NULL;
}

/* ---- connections ---- */

static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents);

static void conn_close(struct admin_conn *c)
{
    ev_io_stop(zk.core->loop, &c->io);
    ev_timer_stop(zk.core->loop, &c->timer);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        admin.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    admin.n_conns--;
    jute_buf_free(&c->out);
    free(c);
}

static void set_timer(struct admin_conn *c, double seconds)
{
    ev_timer_stop(zk.core->loop, &c->timer);
    ev_timer_set(&c->timer, seconds, 0.);
    ev_timer_start(zk.core->loop, &c->timer);
}

static void watch(struct admin_conn *c, int events)
{
    ev_io_stop(zk.core->loop, &c->io);
    ev_io_set(&c->io, c->fd, events);
    ev_io_start(zk.core->loop, &c->io);
}

/* The answer is out: half-close and drain what the client still sends. */
static void start_lingering(struct admin_conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->state = ADMIN_LINGERING;
    watch(c, EV_READ);
    set_timer(c, admin.idle_timeout < ADMIN_LINGER_SECONDS ? admin.idle_timeout
                                                            : ADMIN_LINGER_SECONDS);
}

/* Write what the socket takes; returns -1 when the connection was closed. */
static int flush_out(struct admin_conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            set_timer(c, admin.idle_timeout);   /* progress: a fresh idle period */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch(c, EV_WRITE);
            return 0;
        }
        conn_close(c);
        return -1;
    }
    start_lingering(c);
    return 0;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "Error";
    }
}

/* Queue the status line, headers and (unless head_only) body; then write. */
static void respond(struct admin_conn *c, int status, const char *type, struct jute_buf *body,
                    int head_only)
{
    char date[64], head[512];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (body->oom) {
        status = 500;
        type = "text/plain";
        jute_buf_reset(body);
    }
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "%sCache-Control: no-cache\r\nConnection: close\r\nServer: Corral\r\n\r\n",
                     status, reason_phrase(status), date, type, body->len,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "");
    jute_buf_reset(&c->out);
    uint8_t *p = jute_buf_reserve(&c->out, (size_t)n + (head_only ? 0 : body->len));
    if (!p) {
        conn_close(c);
        return;
    }
    memcpy(p, head, (size_t)n);
    if (!head_only && body->len)
        memcpy(p + n, body->data, body->len);
    c->out_off = 0;
    c->state = ADMIN_WRITING;
    set_timer(c, admin.idle_timeout);
    flush_out(c);
}

static void respond_text(struct admin_conn *c, int status, const char *text)
{
    struct jute_buf body;
    jute_buf_init(&body);
    size_t n = strlen(text);
    uint8_t *p = jute_buf_reserve(&body, n);
    if (p)
        memcpy(p, text, n);
    respond(c, status, "text/plain; charset=utf-8", &body, 0);
    jute_buf_free(&body);
}

/* ---- request parsing ---- */

static int is_tchar(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode %XX in place; -1 on a bad escape or an encoded NUL. */
static int percent_decode(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        int hi = hex_value((unsigned char)r[1]);
        int lo = hi < 0 ? -1 : hex_value((unsigned char)r[2]);
        if (lo < 0 || (hi == 0 && lo == 0))
            return -1;
        *w++ = (char)(hi * 16 + lo);
        r += 2;
    }
    *w = 0;
    return 0;
}

/*
 * The head is c->in[0..head_len) (NUL-terminated, ending in an empty line).
 * Lines end in CRLF or a bare LF.  Returns 0 with method/target set, or the
 * HTTP status to answer.
 */
static int parse_head(char *head, char **method, char **target)
{
    char *p = head;
    while (*p == '\r' || *p == '\n')        /* RFC 9112: ignore leading empty lines */
        p++;
    char *line_end = strchr(p, '\n');
    if (!line_end)
        return 400;
    char *next = line_end + 1;
    if (line_end > p && line_end[-1] == '\r')
        line_end--;
    *line_end = 0;

    /* request line: method SP target SP HTTP/1.x */
    char *sp1 = strchr(p, ' ');
    if (!sp1 || sp1 == p)
        return 400;
    for (char *m = p; m < sp1; m++)
        if (!is_tchar((unsigned char)*m))
            return 400;
    char *t = sp1 + 1;
    char *sp2 = strchr(t, ' ');
    if (!sp2 || sp2 == t)
        return 400;
    for (char *q = t; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return 400;
    const char *version = sp2 + 1;
    if (strncmp(version, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)version[7]) || version[8])
        return 400;
    *sp1 = 0;
    *sp2 = 0;
    *method = p;
    *target = t;

    /* header fields: name ":" value, visible ASCII and tabs, no folding */
    for (p = next; *p;) {
        line_end = strchr(p, '\n');
        if (!line_end)
            return 400;
        next = line_end + 1;
        if (line_end > p && line_end[-1] == '\r')
            line_end--;
        if (line_end == p)
            break;                          /* the empty line: end of head */
        char *colon = p;
        while (colon < line_end && is_tchar((unsigned char)*colon))
            colon++;
        if (colon == p || colon == line_end || *colon != ':')
            return 400;                     /* also rejects obs-fold (leading SP/HT) */
        for (char *v = colon + 1; v < line_end; v++)
            if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
                return 400;
        p = next;
    }
    return 0;
}

static void handle_request(struct admin_conn *c)
{
    char *method = NULL, *target = NULL;
    int status = parse_head(c->in, &method, &target);
    if (status) {
        respond_text(c, status, "Bad Request\n");
        return;
    }
    int head_only = !strcmp(method, "HEAD");
    if (strcmp(method, "GET") != 0 && !head_only) {
        respond_text(c, 405, "Method Not Allowed\n");
        return;
    }
    if (target[0] != '/') {
        respond_text(c, 400, "Bad Request\n");
        return;
    }
    char *query = strchr(target, '?');
    if (query)
        *query++ = 0;
    char *hash = strchr(target, '#');
    if (hash)
        *hash = 0;
    if (percent_decode(target) < 0) {
        respond_text(c, 400, "Bad Request\n");
        return;
    }

    struct jute_buf body;
    jute_buf_init(&body);
    size_t ul = strlen(admin.url);
    const char *rest = !strncmp(target, admin.url, ul) ? target + ul : NULL;
    if (rest && (!strcmp(rest, "") || !strcmp(rest, "/"))) {
        zk_admin_list(admin.url, &body);
        respond(c, 200, "text/html; charset=utf-8", &body, head_only);
    } else if (rest && rest[0] == '/') {
        status = zk_admin_run(rest + 1, query ? query : "", &body);
        respond(c, status, "application/json", &body, head_only);
    } else {
        jute_buf_free(&body);
        respond_text(c, 404, "Not Found\n");
        return;
    }
    jute_buf_free(&body);
}

/* End of the head ("\r\n\r\n" or "\n\n", after any leading empty lines), or NULL. */
static char *head_end(char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
        i++;
    for (; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n')
            return buf + i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return buf + i + 3;
    }
    return NULL;
}

static void on_readable(struct admin_conn *c)
{
    if (c->state == ADMIN_LINGERING) {
        char sink[4096];
        for (;;) {
            ssize_t n = recv(c->fd, sink, sizeof sink, 0);
            if (n > 0) {
                c->drained += (size_t)n;
                if (c->drained > ADMIN_LINGER_MAX_BYTES) {
                    conn_close(c);
                    return;
                }
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            conn_close(c);          /* EOF or error: done */
            return;
        }
    }
    for (;;) {
        size_t room = ADMIN_MAX_HEAD - c->in_len;
        if (room == 0) {
            c->in[c->in_len] = 0;
            respond_text(c, 431, "Request Header Fields Too Large\n");
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            conn_close(c);          /* gone before a whole request came */
            return;
        }
        size_t old = c->in_len;
        c->in_len += (size_t)n;
        /* a NUL byte can never be part of a request */
        if (memchr(c->in + old, 0, (size_t)n)) {
            c->in[c->in_len] = 0;
            respond_text(c, 400, "Bad Request\n");
            return;
        }
        char *end = head_end(c->in, c->in_len);
        if (end) {
            *end = 0;               /* the body, if any, is ignored: we close */
            handle_request(c);
            return;
        }
    }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct admin_conn *c = w->data;
    if (c->state == ADMIN_WRITING)
        flush_out(c);
    else
        on_readable(c);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    conn_close(w->data);
}

static void conn_new(int fd)
{
    struct admin_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->state = ADMIN_READING;
    jute_buf_init(&c->out);
    ev_io_init(&c->io, on_io, fd, EV_READ);
    ev_timer_init(&c->timer, on_timeout, admin.idle_timeout, 0.);
    c->io.data = c->timer.data = c;
    c->next = admin.conns;
    if (admin.conns)
        admin.conns->prev = c;
    admin.conns = c;
    admin.n_conns++;
    ev_io_start(zk.core->loop, &c->io);
    ev_timer_start(zk.core->loop, &c->timer);   /* the whole head within idleTimeout */
}

/* ---- listening ---- */

/*
 * At the cap, close one connection so a new one can be served: an operator
 * must get in even while idle or slow clients hold every slot.  The one
 * that costs least to lose goes: the oldest already answered (lingering),
 * else the oldest still waiting for its request head (idle, or trickling it
 * in), else the oldest stalled reader of an answer.  A request that arrives
 * with its connection, as every real client sends it, is read long before
 * it could become the oldest.
 */
static void make_room(void)
{
    struct admin_conn *victim = NULL;
    int victim_rank = -1;
    for (struct admin_conn *c = admin.conns; c; c = c->next) {      /* newest first */
        int rank = c->state == ADMIN_LINGERING ? 2 : c->state == ADMIN_READING ? 1 : 0;
        if (rank >= victim_rank) {
            victim = c;
            victim_rank = rank;
        }
    }
    if (!victim)
        return;
    conn_close(victim);
    admin.evicted++;
    double now = ev_now(zk.core->loop);
    if (admin.evicted_logged == 0 || now - admin.evict_logged_at >= ADMIN_EVICT_LOG_SECONDS) {
        zk.core->log(CORRAL_LOG_WARN, ADMIN_WHO,
                     "%d connections open (the cap): closed the longest-waiting one to serve a new "
                     "one (%lld since the last such line)",
                     ADMIN_MAX_CONNS, admin.evicted - admin.evicted_logged);
        admin.evicted_logged = admin.evicted;
        admin.evict_logged_at = now;
    }
}

/* A new HTTP connection (modules/common/listener.c accepted it). */
static void on_client(int fd, const char *addr, int port, void *arg)
{
    if (admin.n_conns >= ADMIN_MAX_CONNS)
        make_room();
    conn_new(fd);
}

void zk_admin_start(void)
{
    if (!admin.enabled) {
        zk.core->log(CORRAL_LOG_INFO, ADMIN_WHO, "AdminServer disabled (admin.enableServer=false)");
        return;
    }
    char err[160];
    if (listeners_open(zk.core, ADMIN_WHO, admin.address, admin.port, on_client, NULL, &admin.listeners,
                       err, sizeof err) < 0) {
        zk.core->log(CORRAL_LOG_WARN, ADMIN_WHO,
                     "AdminServer not started: cannot listen on %s:%d: %s (the server runs without it)",
                     admin.address, admin.port, err);
        return;
    }
    zk.core->log(CORRAL_LOG_INFO, ADMIN_WHO, "AdminServer on http://%s:%d%s", admin.address,
                 admin.port, admin.url[0] ? admin.url : "/");
}

void zk_admin_stop(void)
{
    listeners_close(admin.listeners);
    admin.listeners = NULL;
    while (admin.conns)
        conn_close(admin.conns);
}
