/*
 * bench.h — shared definitions of corral-bench, the pipelined load generator
 * that speaks ZooKeeper's client wire protocol (or Corral's protobuf
 * transport) directly.
 *
 * The program is split by idea:
 *   main.c       options, the sequence of phases, the report
 *   wire.c       framing shared by both protocols, TCP connect, blocking
 *                one-off requests (used outside the timed phases)
 *   proto_zk.c   ZooKeeper's jute protocol (--protocol zk, the default)
 *   proto_pb.c   Corral's protobuf transport (--protocol protobuf)
 *   engine.c     the load itself: N threads, each a libev loop driving its
 *                share of the sessions with up to `depth` requests in flight
 *   histogram.c  latency percentiles
 *
 * A run goes through phases (setup: create the keys; run: the workload;
 * cleanup: delete everything).  Every phase is executed by the engine with
 * the same sessions; only the "what to send next" differs.
 */
#ifndef CORRAL_BENCH_H
#define CORRAL_BENCH_H

#include <stdint.h>
#include <stddef.h>
#include <stdatomic.h>
#include <pthread.h>
#include <ev.h>
#include "corral/jute.h"
#include "histogram.h"

enum workload {
    WORKLOAD_GET,
    WORKLOAD_SET,
    WORKLOAD_CREATE,
    WORKLOAD_MIX,
};

enum phase_kind {
    PHASE_SETUP,     /* create the keys get/set/mix use */
    PHASE_RUN,       /* the measured workload (warmup included) */
    PHASE_CLEANUP,   /* delete the keys and everything the run created */
};

struct bench_protocol;

struct bench_config {
    const struct bench_protocol *protocol;
    const char *host;
    int port;
    int sessions;
    int depth;
    int threads;
    enum workload workload;
    int read_percent;        /* mix: share of gets */
    int value_size;
    double duration_s;       /* measured time (a cap when ops_target is set) */
    double warmup_s;
    int64_t ops_target;      /* 0: run for duration_s */
    int keys;
    int session_timeout_ms;
    char prefix[128];        /* "/bench-<pid>" */
    int keep;                /* --keep: no cleanup, what was created stays */
};

/* One in-flight request: replies come back in order, so a FIFO suffices. */
struct inflight {
    int32_t xid;
    int32_t op;
    uint64_t sent_ns;
};

struct bench_thread;

struct bench_session {
    const struct bench_protocol *protocol;
    int index;
    int fd;
    int64_t session_id;
    struct bench_thread *thread;
    ev_io read_watcher;
    ev_io write_watcher;

    struct jute_buf out;
    size_t out_sent;
    uint8_t *in;
    size_t in_len, in_cap;

    int32_t next_xid;
    struct inflight *ring;   /* capacity: config depth */
    unsigned ring_head, ring_count;

    /* Setup and cleanup walk a range of key indices, then (cleanup) the
     * nodes this session created during the run. */
    int64_t key_next, key_end;
    int64_t created_issued;  /* create workload: names c/<index>-0 .. -n-1 */
    int64_t cleanup_created_next;
};

struct bench_thread {
    pthread_t tid;
    struct bench_run *run;
    struct ev_loop *loop;
    ev_timer tick;
    struct bench_session **sessions;
    int n_sessions;
    uint64_t rng;

    /* Results of the current phase. */
    struct histogram hist;
    uint64_t errors;         /* server answered with err != 0 */
    uint64_t ignored_errors; /* cleanup: ZNONODE and the like */
    uint64_t bad_replies;    /* a getData reply of the wrong size */
    int32_t first_error;
    uint64_t completed;      /* every reply, measured or not */
};

struct bench_run {
    struct bench_config *cfg;
    struct bench_session *sessions;
    struct bench_thread *threads;
    uint8_t *value;          /* value_size bytes */
    char **key_paths;        /* cfg->keys paths */

    /* Current phase. */
    enum phase_kind phase;
    uint64_t phase_start_ns;
    uint64_t measure_start_ns;   /* run: end of warmup */
    uint64_t deadline_ns;        /* run: stop issuing; other phases: give up */
    uint64_t drain_deadline_ns;  /* set when stopping begins */
    atomic_int stopping;         /* no new requests */
    atomic_llong measured;       /* ops mode: completions counted so far */
    atomic_ullong measure_end_ns;/* when the measured window closed */

    /* First fatal problem (lost connection, protocol error); ends every loop. */
    atomic_int fatal;
    pthread_mutex_t fatal_lock;
    char fatal_message[256];
};

uint64_t now_ns(void);

/* What a reply says, whatever the protocol. */
struct bench_reply {
    int pushed;              /* a watch event or ping: no request of ours */
    int32_t id;              /* the request's xid / id */
    int32_t code;            /* ZooKeeper error code, 0: success */
    int32_t data_len;        /* getData replies (when asked for): bytes of data, -1 null */
};

/*
 * A protocol: how to open a session on a connected socket, how to write each
 * request as one whole frame (length prefix included) into a buffer the
 * engine pipelines, and how to read a reply frame's payload.  Both protocols
 * share the framing, so the engine and the blocking helpers are common.
 */
struct bench_protocol {
    const char *name;
    int (*handshake)(struct bench_session *s, const struct bench_config *cfg, char *err, size_t errlen);
    void (*put_get_data)(struct jute_buf *b, int32_t xid, const char *path);
    void (*put_set_data)(struct jute_buf *b, int32_t xid, const char *path, const uint8_t *value, int32_t len);
    void (*put_create)(struct jute_buf *b, int32_t xid, const char *path, const uint8_t *value, int32_t len);
    void (*put_delete)(struct jute_buf *b, int32_t xid, const char *path);
    void (*put_close)(struct jute_buf *b, int32_t xid);
    /* 0, or -1 when the payload is malformed; want_data: the request was a
     * getData whose data length the caller checks. */
    int (*parse_reply)(const uint8_t *payload, size_t len, int want_data, struct bench_reply *out);
};

extern const struct bench_protocol bench_protocol_zk;
extern const struct bench_protocol bench_protocol_pb;

/* wire.c */
int wire_connect(struct bench_session *s, const struct bench_config *cfg, char *err, size_t errlen);
void wire_begin_frame(struct jute_buf *b, size_t *frame_start);
void wire_end_frame(struct jute_buf *b, size_t frame_start);
/* Send one request from `b` and wait (timeout_ms) for its reply; returns the
 * reply's err code, or 1 with a message in err on a transport problem. */
int wire_call(struct bench_session *s, struct jute_buf *b, int32_t xid, int timeout_ms, char *err, size_t errlen);
int wire_write_all(int fd, const uint8_t *p, size_t len, uint64_t deadline_ns, char *err, size_t errlen);
/* Read until a whole frame is buffered (blocking, with a deadline). */
int wire_read_frame(struct bench_session *s, const uint8_t **payload, int32_t *len, size_t *consumed,
                    uint64_t deadline_ns, char *err, size_t errlen);
/* Frame at the start of s->in, if complete: payload and its length. */
int wire_take_frame(struct bench_session *s, const uint8_t **payload, int32_t *len, size_t *consumed, char *err,
                    size_t errlen);
void wire_consume(struct bench_session *s, size_t n);

/* engine.c */
int engine_run_phase(struct bench_run *run);
void engine_fail(struct bench_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
