/*
 * engine.c — corral-bench's load engine.
 *
 * The sessions are dealt round-robin to `threads` threads; each thread runs
 * its own libev loop over its sessions, so with one thread the generator is
 * a plain single-threaded event loop and with more it spreads over cores
 * without sharing anything on the hot path (per-thread histograms and
 * counters, merged after the phase).
 *
 * Each session keeps up to `depth` requests in flight.  Replies come back in
 * order per session, so the send time of each request sits in a FIFO ring and
 * a reply's latency is "now minus the head's send time".  Every reply that
 * completes lets the session issue one more request; writes are batched per
 * read event.
 *
 * A phase ends when every session has nothing left to send and nothing in
 * flight.  The run phase stops issuing at its deadline (or when --ops
 * completions were counted) and then drains; a drain that does not finish in
 * a few seconds, a lost connection or a reply out of order end the whole run
 * (run->fatal) with a message.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bench.h"
#include "corral/codes.h"

#define DRAIN_SECONDS 10
#define TICK_SECONDS 0.005

void engine_fail(struct bench_run *run, const char *fmt, ...)
{
    pthread_mutex_lock(&run->fatal_lock);
    if (!atomic_load(&run->fatal)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(run->fatal_message, sizeof run->fatal_message, fmt, ap);
        va_end(ap);
        atomic_store(&run->fatal, 1);
    }
    pthread_mutex_unlock(&run->fatal_lock);
    atomic_store(&run->stopping, 1);
}

static uint64_t next_random(struct bench_thread *t)
{
    /* xorshift64* */
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Put the session's next request into its output buffer; returns 0 when the
 * session has nothing more to send in this phase. */
static int issue_one(struct bench_session *s)
{
    struct bench_thread *t = s->thread;
    struct bench_run *run = t->run;
    struct bench_config *cfg = run->cfg;
    int32_t xid = s->next_xid++;
    int32_t op;
    char path[192];

    switch (run->phase) {
    case PHASE_SETUP:
        if (s->key_next >= s->key_end)
            return 0;
        op = CORRAL_OP_CREATE;
        s->protocol->put_create(&s->out, xid, run->key_paths[s->key_next++], run->value, cfg->value_size);
        break;
    case PHASE_CLEANUP:
        op = CORRAL_OP_DELETE;
        if (s->key_next < s->key_end) {
            s->protocol->put_delete(&s->out, xid, run->key_paths[s->key_next++]);
        } else if (s->cleanup_created_next < s->created_issued) {
            snprintf(path, sizeof path, "%s/c/%d-%lld", cfg->prefix, s->index,
                     (long long)s->cleanup_created_next++);
            s->protocol->put_delete(&s->out, xid, path);
        } else {
            return 0;
        }
        break;
    case PHASE_RUN:
    default: {
        enum workload w = cfg->workload;
        if (w == WORKLOAD_MIX)
            w = (int)(next_random(t) % 100) < cfg->read_percent ? WORKLOAD_GET : WORKLOAD_SET;
        if (w == WORKLOAD_CREATE) {
            op = CORRAL_OP_CREATE;
            snprintf(path, sizeof path, "%s/c/%d-%lld", cfg->prefix, s->index, (long long)s->created_issued++);
            s->protocol->put_create(&s->out, xid, path, run->value, cfg->value_size);
        } else {
            const char *key = run->key_paths[next_random(t) % (uint64_t)cfg->keys];
            if (w == WORKLOAD_GET) {
                op = CORRAL_OP_GET_DATA;
                s->protocol->put_get_data(&s->out, xid, key);
            } else {
                op = CORRAL_OP_SET_DATA;
                s->protocol->put_set_data(&s->out, xid, key, run->value, cfg->value_size);
            }
        }
        break;
    }
    }
    unsigned cap = (unsigned)cfg->depth;
    struct inflight *slot = &s->ring[(s->ring_head + s->ring_count) % cap];
    slot->xid = xid;
    slot->op = op;
    slot->sent_ns = now_ns();
    s->ring_count++;
    return 1;
}

static void fill_pipeline(struct bench_session *s)
{
    struct bench_run *run = s->thread->run;
    if (atomic_load_explicit(&run->stopping, memory_order_relaxed))
        return;
    while (s->ring_count < (unsigned)run->cfg->depth)
        if (!issue_one(s))
            break;
}

static void flush_output(struct bench_session *s)
{
    struct bench_thread *t = s->thread;
    if (s->out.oom) {
        engine_fail(t->run, "session %d: out of memory", s->index);
        return;
    }
    while (s->out_sent < s->out.len) {
        ssize_t w = send(s->fd, s->out.data + s->out_sent, s->out.len - s->out_sent, MSG_NOSIGNAL);
        if (w > 0) {
            s->out_sent += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(t->loop, &s->write_watcher);
            return;
        }
        engine_fail(t->run, "session %d (0x%llx): connection lost while sending: %s", s->index,
                    (unsigned long long)s->session_id, w < 0 ? strerror(errno) : "short write");
        ev_break(t->loop, EVBREAK_ALL);
        return;
    }
    jute_buf_reset(&s->out);
    s->out_sent = 0;
    ev_io_stop(t->loop, &s->write_watcher);
}

/* Account one reply that matched the head of the in-flight ring. */
static void complete_one(struct bench_session *s, const struct inflight *req, const struct bench_reply *reply,
                         uint64_t now)
{
    struct bench_thread *t = s->thread;
    struct bench_run *run = t->run;
    t->completed++;
    if (reply->code != 0) {
        if (run->phase == PHASE_CLEANUP && reply->code == CORRAL_ENONODE) {
            t->ignored_errors++;
        } else {
            if (t->errors == 0)
                t->first_error = reply->code;
            t->errors++;
        }
    } else if (req->op == CORRAL_OP_GET_DATA && reply->data_len != run->cfg->value_size) {
        t->bad_replies++;
    }
    if (run->phase != PHASE_RUN || now < run->measure_start_ns)
        return;
    if (run->cfg->ops_target > 0) {
        long long n = atomic_fetch_add(&run->measured, 1) + 1;
        if (n > run->cfg->ops_target)
            return;
        if (n == run->cfg->ops_target) {
            atomic_store(&run->measure_end_ns, now);
            atomic_store(&run->stopping, 1);
        }
    } else if (now >= run->deadline_ns) {
        return;
    }
    histogram_record(&t->hist, now - req->sent_ns);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct bench_session *s = w->data;
    struct bench_thread *t = s->thread;
    struct bench_run *run = t->run;
    char err[160];

    if (s->in_cap - s->in_len < 32768) {
        size_t cap = s->in_cap ? s->in_cap * 2 : 131072;
        uint8_t *p = realloc(s->in, cap);
        if (!p) {
            engine_fail(run, "session %d: out of memory", s->index);
            ev_break(loop, EVBREAK_ALL);
            return;
        }
        s->in = p;
        s->in_cap = cap;
    }
    ssize_t n = recv(s->fd, s->in + s->in_len, s->in_cap - s->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        engine_fail(run, "session %d (0x%llx): connection lost: %s (%u requests in flight)", s->index,
                    (unsigned long long)s->session_id, n == 0 ? "closed by server" : strerror(errno),
                    s->ring_count);
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    s->in_len += (size_t)n;

    uint64_t now = now_ns();
    size_t consumed = 0;
    for (;;) {
        const uint8_t *payload;
        int32_t len;
        int got = wire_take_frame(s, &payload, &len, &consumed, err, sizeof err);
        if (got == 0)
            break;
        if (got < 0) {
            engine_fail(run, "session %d: %s", s->index, err);
            ev_break(loop, EVBREAK_ALL);
            return;
        }
        struct bench_reply reply;
        int want_data = s->ring_count > 0 && s->ring[s->ring_head].op == CORRAL_OP_GET_DATA;
        if (s->protocol->parse_reply(payload, (size_t)len, want_data, &reply) < 0) {
            engine_fail(run, "session %d: malformed reply", s->index);
            ev_break(loop, EVBREAK_ALL);
            return;
        }
        if (reply.pushed)                    /* watch event, ping */
            continue;
        int32_t xid = reply.id;
        if (s->ring_count == 0 || s->ring[s->ring_head].xid != xid) {
            engine_fail(run, "session %d: reply xid %d out of order (expected %d)", s->index, xid,
                        s->ring_count ? s->ring[s->ring_head].xid : -3);
            ev_break(loop, EVBREAK_ALL);
            return;
        }
        struct inflight req = s->ring[s->ring_head];
        s->ring_head = (s->ring_head + 1) % (unsigned)run->cfg->depth;
        s->ring_count--;
        complete_one(s, &req, &reply, now);
    }
    wire_consume(s, consumed);
    fill_pipeline(s);
    if (s->out.len > s->out_sent)
        flush_output(s);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    flush_output(w->data);
}

static int thread_idle(struct bench_thread *t)
{
    for (int i = 0; i < t->n_sessions; i++)
        if (t->sessions[i]->ring_count > 0)
            return 0;
    return 1;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct bench_thread *t = w->data;
    struct bench_run *run = t->run;
    if (atomic_load(&run->fatal)) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    uint64_t now = now_ns();
    if (now >= run->deadline_ns && !atomic_load(&run->stopping)) {
        if (run->phase == PHASE_RUN) {
            unsigned long long expected = 0;
            atomic_compare_exchange_strong(&run->measure_end_ns, &expected, run->deadline_ns);
            atomic_store(&run->stopping, 1);
        } else {
            engine_fail(run, "%s phase did not finish in time", run->phase == PHASE_SETUP ? "setup" : "cleanup");
        }
    }
    if (atomic_load(&run->stopping)) {
        if (thread_idle(t)) {
            ev_break(loop, EVBREAK_ALL);
            return;
        }
        if (now >= run->drain_deadline_ns) {
            unsigned left = 0;
            for (int i = 0; i < t->n_sessions; i++)
                left += t->sessions[i]->ring_count;
            engine_fail(run, "%u requests still unanswered %d s after the end of the run", left, DRAIN_SECONDS);
            ev_break(loop, EVBREAK_ALL);
        }
        return;
    }
    /* Setup/cleanup: done when nothing is left to send or in flight. */
    if (run->phase != PHASE_RUN && thread_idle(t))
        ev_break(loop, EVBREAK_ALL);
}

static void *thread_main(void *arg)
{
    struct bench_thread *t = arg;
    t->loop = ev_loop_new(EVFLAG_AUTO);
    if (!t->loop) {
        engine_fail(t->run, "cannot create an event loop");
        return NULL;
    }
    for (int i = 0; i < t->n_sessions; i++) {
        struct bench_session *s = t->sessions[i];
        ev_io_init(&s->read_watcher, on_readable, s->fd, EV_READ);
        s->read_watcher.data = s;
        ev_io_init(&s->write_watcher, on_writable, s->fd, EV_WRITE);
        s->write_watcher.data = s;
        ev_io_start(t->loop, &s->read_watcher);
    }
    ev_timer_init(&t->tick, on_tick, TICK_SECONDS, TICK_SECONDS);
    t->tick.data = t;
    ev_timer_start(t->loop, &t->tick);

    for (int i = 0; i < t->n_sessions; i++) {
        fill_pipeline(t->sessions[i]);
        flush_output(t->sessions[i]);
    }
    if (!atomic_load(&t->run->fatal))
        ev_run(t->loop, 0);

    for (int i = 0; i < t->n_sessions; i++) {
        ev_io_stop(t->loop, &t->sessions[i]->read_watcher);
        ev_io_stop(t->loop, &t->sessions[i]->write_watcher);
    }
    ev_timer_stop(t->loop, &t->tick);
    ev_loop_destroy(t->loop);
    t->loop = NULL;
    return NULL;
}

/* Run the current phase (run->phase, deadlines set by the caller) on all
 * threads and wait for it; -1 when it ended with run->fatal set.  Requests
 * may still be in flight DRAIN_SECONDS after the deadline, no later. */
int engine_run_phase(struct bench_run *run)
{
    struct bench_config *cfg = run->cfg;
    atomic_store(&run->stopping, 0);
    atomic_store(&run->measured, 0);
    atomic_store(&run->measure_end_ns, 0);
    run->drain_deadline_ns = run->deadline_ns + (uint64_t)DRAIN_SECONDS * 1000000000ull;

    for (int i = 0; i < cfg->threads; i++) {
        struct bench_thread *t = &run->threads[i];
        histogram_reset(&t->hist);
        t->errors = t->ignored_errors = t->bad_replies = t->completed = 0;
        t->first_error = 0;
    }
    int started = 0;
    for (int i = 0; i < cfg->threads; i++) {
        if (pthread_create(&run->threads[i].tid, NULL, thread_main, &run->threads[i]) != 0) {
            engine_fail(run, "cannot start thread %d", i);
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(run->threads[i].tid, NULL);
    return atomic_load(&run->fatal) ? -1 : 0;
}
