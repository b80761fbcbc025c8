/*
 * duties.c — switching the duties of the server in charge on and off
 * (duties.h), and the two things they share: closing a session the server
 * decided is over (expired, or an orphan), and the gate on plugin writes.
 */
#include <stdlib.h>
#include "server.h"
#include "duties.h"
#include "session_tracker.h"
#include "log.h"

static int active;

/*
 * Queue the closeSession of a session that may have no local client here
 * (restored by recovery and never resumed, its client gone idle, or an
 * orphan): a detached one is made for it, to carry the request through the
 * write path.  The write stage frees it once the close is done.
 */
static void close_session(int64_t id, int32_t timeout_ms)
{
    struct session *s = session_find(id);
    if (!s && !(s = session_new(id, timeout_ms)))
        return;     /* no memory: the tracker or the next start tries again */
    pipeline_expire(s);
}

static void on_expired(int64_t id)
{
    const struct session_entry *e = session_table_find(id);
    struct session *s = session_find(id);
    if (!e && !s) {
        tracker_forget(id);     /* its close is applied already */
        return;
    }
    close_session(id, s ? s->timeout_ms : e->timeout_ms);
}

/*
 * Ephemerals whose owner is not in the session table (a fuzzy snapshot can
 * hold them) would never go away.  As ZooKeeper does at start, close those
 * sessions: a logged closeSession removes their nodes.
 */
static void reap_orphans(void)
{
    for (struct ephemeral_owner *o = server.ephemerals, *next; o; o = next) {
        next = o->hh.next;
        if (session_table_find(o->session_id) || session_find(o->session_id))
            continue;
        log_info("session 0x%llx owns ephemerals but is not in the session table: closing it",
                 (unsigned long long)o->session_id);
        close_session(o->session_id, server.min_session_timeout);
    }
}

int duties_start(void)
{
    if (active)
        return 0;
    if (reaper_start() < 0)
        return -1;
    tracker_start(on_expired);
    active = 1;
    reap_orphans();
    log_debug("in charge: session expiry, container cleanup and plugin writes on");
    return 0;
}

void duties_stop(void)
{
    if (!active)
        return;
    active = 0;
    tracker_stop();
    reaper_stop();
    log_debug("no longer in charge: session expiry, container cleanup and plugin writes off");
}

int duties_active(void)
{
    return active;
}

void duties_submit_plugin_write(struct corral_request *req)
{
    if (!active) {
        log_warn("a plugin's write (op %d, path %s) dropped: this server is not in charge",
                 req->op, req->path ? req->path : "-");
        request_free(req);
        return;
    }
    pipeline_submit_internal(&server.system_session, req);
}
