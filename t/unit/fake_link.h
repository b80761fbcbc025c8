/*
 * fake_link.h — a fake quorum link for the core's unit tests: every packet
 * the core sends is encoded to bytes, kept, and decoded back for the checks
 * (so a test sees exactly what would go on the wire).  Included by one test
 * program each (static definitions): quorum.c, leader-requests.c.
 */
#ifndef CORRAL_T_FAKE_LINK_H
#define CORRAL_T_FAKE_LINK_H

#include <stdlib.h>
#include <string.h>
#include "corral/jute.h"
#include "corral/zk_quorum.h"
#include "quorum/broadcast.h"

/* What a Java peer accepts in one field (jute.maxbuffer + extra), the decoder's limit. */
#define MAX_DATA (2 * 0xfffff)

struct sent {
    int64_t to;
    uint8_t *bytes;
    size_t len;
    struct zk_quorum_packet qp;     /* decoded back from bytes */
};
static struct sent sent[512];
static int n_sent;

static int link_send(int64_t peer, const struct zk_quorum_packet *qp)
{
    struct jute_buf b;
    jute_buf_init(&b);
    if (zk_quorum_packet_encode(&b, qp) < 0 || n_sent == 512)
        abort();
    struct sent *s = &sent[n_sent++];
    s->to = peer;
    s->bytes = b.data;
    s->len = b.len;
    size_t used;
    if (zk_quorum_packet_decode(s->bytes, s->len, MAX_DATA, &s->qp, &used) != 1 || used != s->len)
        abort();
    return 0;
}
static const struct quorum_link_ops link_ops = {.send = link_send};

static void sent_clear(void)
{
    for (int i = 0; i < n_sent; i++) {
        zk_quorum_packet_free(&sent[i].qp);
        free(sent[i].bytes);
    }
    n_sent = 0;
}

/* How many packets of type went to peer (peer 0: to anyone). */
static int count_sent(int32_t type, int64_t peer)
{
    int n = 0;
    for (int i = 0; i < n_sent; i++)
        if (sent[i].qp.type == type && (!peer || sent[i].to == peer))
            n++;
    return n;
}

static const struct sent *find_sent(int32_t type, int64_t peer, int64_t zxid)
{
    for (int i = 0; i < n_sent; i++)
        if (sent[i].qp.type == type && sent[i].to == peer && (zxid == -2 || sent[i].qp.zxid == zxid))
            return &sent[i];
    return NULL;
}

static int sent_is(const struct sent *s, const uint8_t *want, size_t n)
{
    return s && s->len == n && !memcmp(s->bytes, want, n);
}

#endif
