/*
 * replysize.h — how many bytes a reply takes on ZooKeeper's wire, so that a
 * reply grown from server state (a multiRead naming one large node many
 * times, getChildren of a node with very many children) can be refused
 * before a transport encodes it.  See replysize.c.
 */
#ifndef CORRAL_REPLYSIZE_H
#define CORRAL_REPLYSIZE_H

#include <stdint.h>
#include "corral/request.h"

/*
 * The frame payload (reply header and body, without the 4-byte length) of
 * rsp as the zk transport encodes it: what a ZooKeeper client compares with
 * its jute.maxbuffer.
 */
int64_t reply_size(const struct corral_response *rsp);

/* One multi/multiRead member's share of its reply's size (header and record). */
int64_t reply_member_size(const struct corral_response *m);

/* The multiRead/multi reply's size around its members: header and end marker. */
int64_t reply_multi_overhead(void);

#endif
