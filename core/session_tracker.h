/*
 * session_tracker.h — session expiry: which sessions have not been heard
 * from for their timeout (ZooKeeper's SessionTracker).
 *
 * Only the server in charge runs it (duties.c switches it on and off): a
 * standalone server from the moment it serves, in an ensemble the leader.
 * A learner collects instead (tracker_collect_start, quorum/learner.c):
 * tracker_add and tracker_touch note the session as heard from, and the
 * learner's reply to each PING carries what was noted since the last one
 * (ZooKeeper's LearnerSessionTracker touch table); nothing expires there.
 * Otherwise every call below but tracker_start is a no-op, so the pipeline
 * can report a client's signs of life without asking who is in charge.
 *
 * Tracked by id, apart from the session table: a new session's clock runs
 * from its connect, before its createSession is applied (ZooKeeper's tracker
 * adds the session when the connect arrives, too).  Expiry is the tick
 * bucket queue of expiry.c.
 *
 * Layering: the pipeline touches the tracker on every request, so the
 * tracker sits below it and does not call it; what an expiry does (queue the
 * session's closeSession) is the function the caller of tracker_start gives
 * (duties.c).
 */
#ifndef CORRAL_SESSION_TRACKER_H
#define CORRAL_SESSION_TRACKER_H

#include <stdint.h>

/* What to do with a session whose clock ran out. */
typedef void (*tracker_expire_fn)(int64_t session_id);

/*
 * Start tracking: every session in the session table gets its whole timeout
 * from now (the clock is read afresh: a recovery or a sync before this does
 * not count against them), and sessions that run out are handed to expire.
 */
void tracker_start(tracker_expire_fn expire);
/* Stop: no clock runs, nothing expires, every session is forgotten. */
void tracker_stop(void);
int tracker_running(void);
/* Track id with this timeout, its clock starting now (connect, resume). */
void tracker_add(int64_t id, int32_t timeout_ms);
/* The client was heard from: its clock starts again (also after a pause). */
void tracker_touch(int64_t id);
/*
 * A learner heard from the session's client (a touch in its PING, a
 * REVALIDATE): its clock starts again with the timeout the learner
 * negotiated, as ZooKeeper's touchSession(id, timeout) (the timeout kept for
 * later touches is not changed).  0 when id is not tracked: a session the
 * leader does not know is not touched, and not tracked either.
 */
int tracker_touch_timeout(int64_t id, int32_t timeout_ms);
/* The session is closing: its clock stops until touched again. */
void tracker_pause(int64_t id);
/* The session is gone: stop tracking it. */
void tracker_forget(int64_t id);
/* A learner's mode (it stops a running tracker): collect touches, expire nothing. */
void tracker_collect_start(void);
void tracker_collect_stop(void);
/* fn once per session heard from since the last call (its timeout), then forgotten; how many. */
int tracker_take_touches(void (*fn)(void *arg, int64_t id, int32_t timeout_ms), void *arg);
/* When id's clock runs out (its tick bucket, ms), 0 when it has none running. */
int64_t tracker_deadline(int64_t id);

#endif
