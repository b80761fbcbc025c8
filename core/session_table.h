/*
 * session_table.h — the replicated session table: which sessions exist, with
 * their timeouts (ZooKeeper's sessionsWithTimeouts).
 *
 * Part of the committed state, like the tree and the ephemeral sets: only
 * apply changes it (a createSession adds its session, a closeSession removes
 * it), and recovery loads it from a snapshot.  So it is the same on every
 * server that applied the same txns, and it is what a snapshot writes and what
 * "is this session alive" asks (a client resuming it, the tracker starting).
 *
 * It holds no clock and allocates no ids: when a session expires is the
 * session tracker's business (session_tracker.c), which only the server in
 * charge runs; ids come from the server the client connected to
 * (session_initial_id).  What belongs to a connected client (its connection,
 * FIFO, identities, watches, figures) is the local client, struct session.
 */
#ifndef CORRAL_SESSION_TABLE_H
#define CORRAL_SESSION_TABLE_H

#include <stdint.h>
#include <uthash.h>

struct session_entry {
    int64_t id;
    int32_t timeout_ms;         /* as the createSession txn (or the snapshot) has it */
    /*
     * The server whose client holds the session (myid), which a leader
     * records when a learner forwards the createSession or revalidates a
     * moved session, so that requests from an old owner get SessionMoved.
     * Not part of any txn or snapshot; 0 (unknown) until the quorum code
     * sets it.
     */
    int64_t owner;
    UT_hash_handle hh;          /* server.session_table, keyed by id */
};

struct session_entry *session_table_find(int64_t id);
/* Add id (createSession applied, or loaded).  An id already there keeps its
 * entry as it is (a txn replayed over a fuzzy snapshot).  NULL: no memory. */
struct session_entry *session_table_add(int64_t id, int32_t timeout_ms);
/* The session's closeSession is applied: it no longer exists. */
void session_table_remove(int64_t id);
int64_t session_table_count(void);
/* Forget every session (shutdown, or a snapshot about to replace the state). */
void session_table_clear(void);

#endif
