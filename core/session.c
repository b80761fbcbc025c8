/*
 * session.c — the session table and session expiry.
 *
 * Sessions outlive connections: a client that loses its TCP connection can
 * resume its session (id + password) on a new one until the session times out.
 * Expiry runs on tick buckets (expiry.c): every packet from the client moves
 * the session to a later bucket; one timer per tick expires what is due.
 *
 * Passwords are derived, not stored: ZooKeeper seeds java.util.Random with
 * (sessionId ^ 0xB3415C00) and takes 16 bytes, so a session resumed after a
 * restart (or moved between Apache ZooKeeper and Corral with the data dir)
 * checks against the same password.  We reproduce that generator: a 48-bit
 * LCG, documented in the Java platform's API docs.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "log.h"

#define SUPER_SECRET 0xB3415C00LL

struct session *session_find(int64_t id)
{
    struct session *s;
    HASH_FIND(hh, server.sessions, &id, sizeof id, s);
    return s;
}

static void expiry_timer_arm(void);

/*
 * A table entry only: its expiry clock is not started here, because apply
 * creates sessions too (a replayed createSession) and apply runs no clock.
 * Whoever is in charge of expiry starts it with session_touch: the live
 * server when the client connects, session_expiry_start for recovered ones.
 */
struct session *session_new(int64_t id, int32_t timeout_ms)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = id;
    s->timeout_ms = timeout_ms;
    s->min_latency_ms = -1;
    session_make_passwd(id, s->passwd);
    HASH_ADD(hh, server.sessions, id, sizeof s->id, s);
    return s;
}

void session_free(struct session *s)
{
    expiry_remove(&server.expiry, &s->expiry);
    write_queue_remove(s);
    watch_remove_session(s);
    HASH_DEL(server.sessions, s);
    for (struct pending *p = s->head, *next; p; p = next) {
        next = p->next;
        request_free(p->req);
        free(p);
        server.outstanding--;
    }
    for (int i = 0; i < s->n_ids; i++) {
        free(s->ids[i].scheme);
        free(s->ids[i].id);
    }
    free(s->ids);
    free(s->remote_addr);
    free(s);
}

void session_touch(struct session *s)
{
    if (s->closing)
        return;
    expiry_update(&server.expiry, &s->expiry, now_ms(), s->timeout_ms);
}

void session_add_identity(struct session *s, const char *scheme, const char *id, int authenticated)
{
    for (int i = 0; i < s->n_ids; i++)
        if (!strcmp(s->ids[i].scheme, scheme) && !strcmp(s->ids[i].id, id))
            return;
    struct identity *ids = realloc(s->ids, (size_t)(s->n_ids + 1) * sizeof *ids);
    if (!ids)
        return;
    s->ids = ids;
    ids[s->n_ids].scheme = strdup(scheme);
    ids[s->n_ids].id = strdup(id);
    ids[s->n_ids].authenticated = authenticated;
    s->n_ids++;
}

int32_t session_negotiate_timeout(int32_t requested)
{
    if (requested < server.min_session_timeout)
        return server.min_session_timeout;
    if (requested > server.max_session_timeout)
        return server.max_session_timeout;
    return requested;
}

/* java.util.Random: seed scrambling, next(32), nextBytes. */
void session_make_passwd(int64_t id, uint8_t out[CORRAL_PASSWD_LEN])
{
    const uint64_t mult = 0x5DEECE66DULL, mask = (1ULL << 48) - 1;
    uint64_t seed = ((uint64_t)(id ^ SUPER_SECRET) ^ mult) & mask;
    for (int i = 0; i < CORRAL_PASSWD_LEN;) {
        seed = (seed * mult + 0xB) & mask;
        int32_t rnd = (int32_t)(uint32_t)(seed >> 16);
        for (int n = CORRAL_PASSWD_LEN - i < 4 ? CORRAL_PASSWD_LEN - i : 4; n-- > 0; rnd >>= 8)
            out[i++] = (uint8_t)rnd;
    }
}

/* ZooKeeper's layout: server id in the top byte, milliseconds below. */
int64_t session_initial_id(int32_t server_id, int64_t now)
{
    uint64_t sid = ((uint64_t)now << 24) >> 8;
    sid |= (uint64_t)(uint8_t)server_id << 56;
    if ((int64_t)sid == INT64_MIN) /* reserved for container nodes' ephemeralOwner */
        sid++;
    return (int64_t)sid;
}

/*
 * The id session ids carry in their top byte.  ZooKeeper's standalone
 * server has its session tracker use 1 (ZooKeeperServer's
 * createSessionTrackerServerId), whatever dataDir/myid says; a quorum
 * member uses its myid.  Corral serves standalone only, so 1; the quorum
 * code will make this server.my_id.
 */
int32_t session_tracker_id(void)
{
    return 1;
}

static void on_expiry_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    int64_t now = now_ms();
    struct expiry_item *due;
    while ((due = expiry_poll(&server.expiry, now))) {
        while (due) {
            struct expiry_item *next = due->next;
            struct session *s = (struct session *)((char *)due - offsetof(struct session, expiry));
            log_info("session 0x%llx expired (timeout %d ms)", (unsigned long long)s->id,
                     s->timeout_ms);
            pipeline_expire(s);
            due = next;
        }
    }
    expiry_timer_arm();
}

static void expiry_timer_arm(void)
{
    ev_timer_stop(server.loop, &server.expiry_timer);
    double wait = (double)expiry_wait_ms(&server.expiry, now_ms()) / 1000.0;
    ev_timer_set(&server.expiry_timer, wait > 0 ? wait : 0.001, 0.);
    ev_timer_start(server.loop, &server.expiry_timer);
}

/*
 * Called once, as the server starts serving.  Recovery blocks the loop, and
 * libev's time (what now_ms() reads) only moves once per loop iteration: the
 * sessions recovery restored were queued against the moment it began, and a
 * recovery longer than their timeout expired them all (their ephemerals
 * with them) at the first tick, before their clients could come back.
 * ZooKeeper starts its session tracker once the data is loaded, so a
 * restored session has its whole timeout to reconnect; here too: the clock
 * is read afresh and every session's timeout starts now.
 */
void session_expiry_start(void)
{
    ev_now_update(server.loop);
    for (struct session *s = server.sessions; s; s = s->hh.next)
        session_touch(s);
    ev_init(&server.expiry_timer, on_expiry_tick);
    expiry_timer_arm();
}

/*
 * After recovery: ephemerals whose owner is not a known session (a fuzzy
 * snapshot can hold them) would never go away.  As ZooKeeper does at start,
 * close those sessions: a logged closeSession removes their nodes.
 */
void session_reap_orphans(void)
{
    for (struct ephemeral_owner *o = server.ephemerals, *next; o; o = next) {
        next = o->hh.next;
        if (session_find(o->session_id))
            continue;
        struct session *s = session_new(o->session_id, server.min_session_timeout);
        if (!s)
            continue;
        session_touch(s);
        s->created = 1;
        log_info("session 0x%llx owns ephemerals but is not in the session table: closing it",
                 (unsigned long long)s->id);
        pipeline_expire(s);
    }
}
