/*
 * session.c — the local client of a session: the part of a session that lives
 * only on the server its client is connected to (struct session, server.h).
 *
 * A session itself is an entry of the replicated session table
 * (session_table.c), and its expiry is the tracker's (session_tracker.c).
 * What is here is what serving its client needs: the connection, the FIFO of
 * its requests, its identities, its watches and its figures.  A local client
 * exists while a client is connected for the session, or while requests the
 * server made for it are queued (its closeSession on expiry); a session
 * restored by recovery, or whose client went away idle, has none until its
 * client comes back or it must be closed.  The name stayed `struct session`
 * because the whole pipeline (prep, reads, watches, ACLs, the write stage)
 * and the modules' opaque corral_session handle say so.
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
#include "session_tracker.h"
#include "log.h"
#include "corral/zk_proto.h"

#define SUPER_SECRET 0xB3415C00LL

struct session *session_find(int64_t id)
{
    struct session *s;
    HASH_FIND(hh, server.clients, &id, sizeof id, s);
    return s;
}

/* The local client only: whether the session exists is the session table's
 * business, and its clock the tracker's. */
struct session *session_new(int64_t id, int32_t timeout_ms)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = id;
    s->timeout_ms = timeout_ms;
    s->min_latency_ms = -1;
    session_make_passwd(id, s->passwd);
    HASH_ADD(hh, server.clients, id, sizeof s->id, s);
    return s;
}

void forwarded_free(struct forwarded *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_ids; i++) {
        free(f->ids[i].scheme);
        free(f->ids[i].id);
    }
    free(f->ids);
    free(f);
}

/* Requests still queued go unanswered (requests are freed as libzk frees them). */
void session_drop_requests(struct session *s)
{
    for (struct pending *p = s->head, *next; p; p = next) {
        next = p->next;
        zk_request_free(p->req);
        forwarded_free(p->fwd);
        free(p);
        server.outstanding--;
    }
    s->head = s->tail = NULL;
}

/*
 * The write stage's queue of sessions whose FIFO head is a write, in
 * arrival order (write_stage.c decides what goes on it and drains it).  The
 * links are the session's, so the queue is kept here, below the write
 * stage: freeing a session takes it off without calling up.
 */
void write_queue_push(struct session *s)
{
    if (s->queued_for_write)
        return;
    s->queued_for_write = 1;
    s->write_next = NULL;
    if (server.write_tail)
        server.write_tail->write_next = s;
    else
        server.write_head = s;
    server.write_tail = s;
}

void write_queue_remove(struct session *s)
{
    if (!s->queued_for_write)
        return;
    struct session **pp = &server.write_head, *prev = NULL;
    while (*pp && *pp != s) {
        prev = *pp;
        pp = &(*pp)->write_next;
    }
    if (*pp) {
        *pp = s->write_next;
        if (server.write_tail == s)
            server.write_tail = prev;
    }
    s->queued_for_write = 0;
    s->write_next = NULL;
}

/*
 * A client is freed when
 * its closeSession is done (nothing can follow it in the FIFO), when it went
 * idle (an empty FIFO), or at shutdown (main.c).  A closing session is gone
 * for the tracker too; an idle one lives on in the table with its clock.
 */
void session_free(struct session *s)
{
    write_queue_remove(s);
    if (s->closing)
        tracker_forget(s->id);
    watch_remove_session(s);
    HASH_DEL(server.clients, s);
    session_drop_requests(s);
    for (int i = 0; i < s->n_ids; i++) {
        free(s->ids[i].scheme);
        free(s->ids[i].id);
    }
    free(s->ids);
    free(s->remote_addr);
    free(s);
}

/*
 * A local client with no connection and nothing queued serves no one: it
 * goes, and the session lives on in the table (its clock in the tracker)
 * until its client comes back or it expires.  A closing one goes when its
 * close is done instead.  Returns whether s was freed.
 */
int session_release_if_idle(struct session *s)
{
    if (s->ops || s->closing || s->head || s->queued_for_write || s == &server.system_session)
        return 0;
    session_free(s);
    return 1;
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
