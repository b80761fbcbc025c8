/*
 * duties.h — what only the server in charge does, switched on and off
 * together: session expiry (session_tracker.c), container and TTL node
 * cleanup (reaper.c), closing the sessions that own ephemerals but are not
 * in the session table (once, as the duties start), and the writes plugins
 * submit (core->submit_internal).
 *
 * Each of them makes the server write on its own initiative.  In an
 * ensemble only the leader may (every server applies every txn, so three
 * servers expiring, reaping or running a script's trigger would write
 * everything three times); a standalone server is in charge from the moment
 * it serves (main.c) until it stops.  What these duties read (the session
 * table, the container index, the tree) is committed state every server
 * keeps, so a server taking charge has it ready.
 */
#ifndef CORRAL_DUTIES_H
#define CORRAL_DUTIES_H

#include "corral/request.h"

/* Take charge.  0, or -1 after logging why (a bad znode.container.* key):
 * then nothing was started. */
int duties_start(void);
/* Hand over: nothing expires, nothing is reaped, plugin writes are refused. */
void duties_stop(void);
/* Whether this server is in charge (core->in_charge). */
int duties_active(void);
/* A write a plugin makes (core->submit_internal): submitted as the server's
 * own session while in charge, otherwise dropped with a log line.  Takes req. */
void duties_submit_plugin_write(struct corral_request *req);

#endif
