/*
 * quorum_view.h — the ensemble as zoo.cfg describes it (ZooKeeper's
 * QuorumVerifier of a static config), as the core hands it to the election
 * module (corral_core.quorum_view).
 *
 * Read-only for modules: the core parses it once, before modules load, and
 * keeps it for the life of the process.  A static config never changes it
 * (reconfig is not supported), which is why its version is always 0.
 */
#ifndef CORRAL_QUORUM_VIEW_H
#define CORRAL_QUORUM_VIEW_H

#include <stdint.h>

/* One server.N line: server.N=host:quorumPort:electionPort[:type][;[clientHost:]clientPort] */
struct corral_quorum_member {
    int64_t sid;                /* N */
    char *host;                 /* as written (an IPv6 literal without its brackets) */
    int quorum_port;
    int election_port;
    int observer;               /* ":observer": a non-voting member */
    int has_client;             /* the line has a ";[clientHost:]clientPort" part */
    char *client_host;          /* "0.0.0.0" when only a port is given; NULL without */
    int client_port;
};

struct corral_quorum_view {
    struct corral_quorum_member *members;   /* ascending sid */
    int n_members;
    int n_voting;               /* members that are not observers */
    int64_t version;            /* the config version (0: a static config) */
    int64_t my_id;              /* dataDir/myid */
    /*
     * ZooKeeper's QuorumVerifier.toString() of this view: one
     * "server.N=host:q:e:participant|observer[;host:port]" line per member,
     * '\n'-separated, then "version=<hex>", no final newline.  This exact
     * text is the config tail of every election notification.
     */
    char *text;
    int text_len;
};

#endif
