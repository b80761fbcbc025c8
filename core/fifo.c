/*
 * fifo.c — a session's FIFO of submitted requests and what goes out from
 * its head: the reply, its accounting in the session's and the server's
 * figures, and the connection replies go to.
 *
 * The bottom of the request pipeline: reads.c answers through it,
 * commit.c answers committed writes through it, and the parts that decide
 * what runs next (write_stage.c, pipeline.c, connect.c) sit above it.  It
 * decides nothing and calls nothing above it; a request leaves the FIFO
 * only by fifo_dequeue_head.  What makes a request a write (one that goes
 * through prep and takes a zxid) is here too, because every layer asks.
 */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "pipeline_internal.h"
#include "corral/zk_proto.h"

int is_write_op(int32_t op)
{
    switch (op) {
    case CORRAL_OP_CREATE:
    case CORRAL_OP_CREATE2:
    case CORRAL_OP_CREATE_CONTAINER:
    case CORRAL_OP_CREATE_TTL:
    case CORRAL_OP_DELETE:
    case CORRAL_OP_SET_DATA:
    case CORRAL_OP_SET_ACL:
    case CORRAL_OP_CHECK:
    case CORRAL_OP_MULTI:
    case CORRAL_OP_CREATE_SESSION:
    case CORRAL_OP_CLOSE_SESSION:
    case CORRAL_OP_DELETE_CONTAINER:
    case CORRAL_OP_RECONFIG:    /* refused in prep, but as a txn: it takes a zxid */
        return 1;
    default:
        return 0;
    }
}

/*
 * Whether req goes through prep (and takes a zxid).  A malformed record of a
 * write still does, as ZooKeeper logs an error txn once it has read the
 * header; reconfig is the exception: ZooKeeper reads its record first.
 */
int goes_through_prep(const struct corral_request *req)
{
    return is_write_op(req->op) && !(req->malformed && req->op == CORRAL_OP_RECONFIG);
}

/* Requests are freed as libzk frees the ones it decodes: the layout is the same. */
void request_free(struct corral_request *req)
{
    zk_request_free(req);
}

void fifo_enqueue(struct session *s, struct corral_request *req, int internal, int at_head)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->req = req;
    p->conn_gen = s->conn_gen;
    p->received_ms = now_ms();
    p->internal = internal;
    if (at_head) {
        p->next = s->head;
        s->head = p;
        if (!s->tail)
            s->tail = p;
    } else {
        if (s->tail)
            s->tail->next = p;
        else
            s->head = p;
        s->tail = p;
    }
    server.outstanding++;
}

void fifo_dequeue_head(struct session *s)
{
    struct pending *p = s->head;
    s->head = p->next;
    if (!s->head)
        s->tail = NULL;
    request_free(p->req);
    forwarded_free(p->fwd);
    free(p);
    server.outstanding--;
}

void account_reply(struct session *s, const struct pending *p, int64_t zxid)
{
    int64_t lat = now_ms() - p->received_ms;
    s->replies++;
    s->last_zxid = zxid;
    s->last_op = p->req->op;
    s->last_xid = p->req->xid;
    s->last_latency_ms = lat;
    if (s->min_latency_ms < 0 || lat < s->min_latency_ms)
        s->min_latency_ms = lat;
    if (lat > s->max_latency_ms)
        s->max_latency_ms = lat;
    s->total_latency_ms += lat;
    server.requests++;
    if (server.min_latency_ms < 0 || lat < server.min_latency_ms)
        server.min_latency_ms = lat;
    if (lat > server.max_latency_ms)
        server.max_latency_ms = lat;
    server.total_latency_ms += lat;
}

/* Whether p's reply goes out: not internal, and the connection that sent it is still there. */
int fifo_answered_to_conn(const struct session *s, const struct pending *p)
{
    return !p->internal && s->ops && p->conn_gen == s->conn_gen;
}

/* Send rsp for the head request p, if the connection that sent it is still there. */
void send_reply(struct session *s, const struct pending *p, struct corral_response *rsp)
{
    account_reply(s, p, rsp->zxid);
    if (!fifo_answered_to_conn(s, p))
        return;
    rsp->op = p->req->op;
    rsp->xid = p->req->xid;
    s->ops->reply(s->conn, rsp);
}

void reply_error(struct session *s, const struct pending *p, int32_t err)
{
    struct corral_response rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.zxid = server.last_zxid;
    rsp.err = err;
    send_reply(s, p, &rsp);
}

/* The connection went away (or is being closed): replies to it stop, its watches go. */
void fifo_detach_conn(struct session *s)
{
    s->ops = NULL;
    s->conn = NULL;
    watch_remove_session(s);
}
