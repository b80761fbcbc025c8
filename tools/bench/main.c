/*
 * main.c — corral-bench: a pipelined load generator for ZooKeeper-protocol
 * servers (Corral, Apache ZooKeeper).
 *
 * It opens --sessions client sessions, keeps --depth requests in flight on
 * each, and measures throughput and latency of one workload (get, set,
 * create, or a get/set mix).  The keys the workload reads and writes are
 * created first under a private prefix (/bench-<pid>) and everything is
 * deleted afterwards (unless --keep).  The run is always bounded in time: phases have
 * deadlines and a watchdog alarm ends the process if anything still hangs.
 *
 * Output: a human-readable report and one machine-readable line
 *   RESULT workload=get ops_per_sec=... p50_us=... p99_us=... p999_us=... errors=0 ...
 * Exit status: 0 success; 1 bad usage, cannot connect or set up; 2 the run
 * broke (lost connection, protocol error, server stopped answering);
 * 3 watchdog.  Errors answered by the server are counted, not fatal.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "bench.h"
#include "corral/codes.h"

#define SETUP_SECONDS 60
#define CLEANUP_SECONDS 90
#define CALL_TIMEOUT_MS 10000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: corral-bench [options]\n"
            "  --host HOST           server address (default 127.0.0.1)\n"
            "  --port PORT           client port (default 2181)\n"
            "  --protocol P          zk (ZooKeeper's wire protocol, default) or protobuf\n"
            "                        (Corral's protobuf transport, on its protobufClientPort)\n"
            "  --sessions N          client sessions (default 8)\n"
            "  --depth D             requests in flight per session (default 16)\n"
            "  --threads T           generator threads, sessions dealt round-robin (default 1)\n"
            "  --workload W          get | set | create | mix (default get)\n"
            "  --read-percent P      mix: percentage of gets, the rest sets (default 90)\n"
            "  --value-size BYTES    data size for set/create and of the keys (default 100)\n"
            "  --keys K              znodes used by get/set/mix (default 1000)\n"
            "  --duration SECONDS    measured time (default 10; a cap when --ops is given)\n"
            "  --ops N               measure N operations instead of a duration\n"
            "  --warmup SECONDS      load before measuring starts (default 1)\n"
            "  --session-timeout MS  requested session timeout (default 30000)\n"
            "  --prefix PATH         parent znode for the run (default /bench-<pid>; must not exist)\n"
            "  --keep                no cleanup: what the run created stays (to populate a tree)\n"
            "  --help\n");
}

static int parse_workload(const char *s, enum workload *w)
{
    static const struct { const char *name; enum workload w; } names[] = {
        {"get", WORKLOAD_GET}, {"set", WORKLOAD_SET}, {"create", WORKLOAD_CREATE}, {"mix", WORKLOAD_MIX},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *w = names[i].w;
            return 0;
        }
    return -1;
}

static const char *workload_name(enum workload w)
{
    switch (w) {
    case WORKLOAD_GET: return "get";
    case WORKLOAD_SET: return "set";
    case WORKLOAD_CREATE: return "create";
    case WORKLOAD_MIX: return "mix";
    }
    return "?";
}

static int parse_number(const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < min || v > max) {
        fprintf(stderr, "corral-bench: --%s: expected a number in [%g, %g], got '%s'\n", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static void on_watchdog(int sig)
{
    static const char msg[] = "corral-bench: watchdog: the run did not end in time, giving up\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(3);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* One blocking request on session 0 (outside the timed phases). */
static int call_on_first(struct bench_run *run, int32_t op, const char *path, char *err, size_t errlen)
{
    struct bench_session *s = &run->sessions[0];
    struct jute_buf b;
    jute_buf_init(&b);
    int32_t xid = s->next_xid++;
    if (op == CORRAL_OP_CREATE)
        s->protocol->put_create(&b, xid, path, NULL, 0);
    else
        s->protocol->put_delete(&b, xid, path);
    int rc = wire_call(s, &b, xid, CALL_TIMEOUT_MS, err, errlen);
    jute_buf_free(&b);
    return rc;
}

static void close_sessions(struct bench_run *run, int n)
{
    char err[160];
    for (int i = 0; i < n; i++) {
        struct bench_session *s = &run->sessions[i];
        if (s->fd < 0)
            continue;
        if (!atomic_load(&run->fatal)) {
            struct jute_buf b;
            jute_buf_init(&b);
            int32_t xid = s->next_xid++;
            s->protocol->put_close(&b, xid);
            (void)wire_call(s, &b, xid, 2000, err, sizeof err);
            jute_buf_free(&b);
        }
        close(s->fd);
        s->fd = -1;
    }
}

static void sum_threads(struct bench_run *run, struct histogram *hist, uint64_t *errors, uint64_t *ignored,
                        uint64_t *bad, int32_t *first_error)
{
    histogram_reset(hist);
    *errors = *ignored = *bad = 0;
    *first_error = 0;
    for (int i = 0; i < run->cfg->threads; i++) {
        struct bench_thread *t = &run->threads[i];
        histogram_merge(hist, &t->hist);
        if (t->errors && !*errors)
            *first_error = t->first_error;
        *errors += t->errors;
        *ignored += t->ignored_errors;
        *bad += t->bad_replies;
    }
}

/* Close every session and free the run; returns rc for main to exit with. */
static int finish(struct bench_run *run, int rc)
{
    struct bench_config *cfg = run->cfg;
    if (run->sessions) {
        close_sessions(run, cfg->sessions);
        for (int i = 0; i < cfg->sessions; i++) {
            free(run->sessions[i].ring);
            free(run->sessions[i].in);
            jute_buf_free(&run->sessions[i].out);
        }
    }
    if (run->threads)
        for (int i = 0; i < cfg->threads; i++)
            free(run->threads[i].sessions);
    if (run->key_paths)
        for (int i = 0; run->key_paths[i]; i++)
            free(run->key_paths[i]);
    free(run->key_paths);
    free(run->sessions);
    free(run->threads);
    free(run->value);
    pthread_mutex_destroy(&run->fatal_lock);
    return rc;
}

/* Give each session its slice of the key indices. */
static void deal_keys(struct bench_run *run)
{
    struct bench_config *cfg = run->cfg;
    int64_t k = cfg->workload == WORKLOAD_CREATE ? 0 : cfg->keys;
    for (int i = 0; i < cfg->sessions; i++) {
        run->sessions[i].key_next = k * i / cfg->sessions;
        run->sessions[i].key_end = k * (i + 1) / cfg->sessions;
    }
}

static int run_cleanup(struct bench_run *run)
{
    char err[160];
    struct bench_config *cfg = run->cfg;
    deal_keys(run);
    for (int i = 0; i < cfg->sessions; i++)
        run->sessions[i].cleanup_created_next = 0;
    run->phase = PHASE_CLEANUP;
    run->phase_start_ns = now_ns();
    run->deadline_ns = run->phase_start_ns + CLEANUP_SECONDS * 1000000000ull;
    uint64_t t0 = now_ns();
    if (engine_run_phase(run) < 0) {
        fprintf(stderr, "corral-bench: cleanup: %s; leaving %s behind\n", run->fatal_message, cfg->prefix);
        return -1;
    }
    struct histogram h;
    uint64_t errors, ignored, bad;
    int32_t first;
    sum_threads(run, &h, &errors, &ignored, &bad, &first);
    if (errors)
        fprintf(stderr, "corral-bench: cleanup: %llu deletes failed (first error %d)\n",
                (unsigned long long)errors, first);
    if (cfg->workload == WORKLOAD_CREATE) {
        char path[192];
        snprintf(path, sizeof path, "%s/c", cfg->prefix);
        call_on_first(run, CORRAL_OP_DELETE, path, err, sizeof err);
    }
    int rc = call_on_first(run, CORRAL_OP_DELETE, cfg->prefix, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "corral-bench: cleanup: deleting %s: %s\n", cfg->prefix,
                rc == 1 ? err : "server error");
        return -1;
    }
    fprintf(stderr, "corral-bench: cleanup done in %.2f s\n", (double)(now_ns() - t0) / 1e9);
    return 0;
}

int main(int argc, char **argv)
{
    struct bench_config cfg = {
        .protocol = &bench_protocol_zk, .host = "127.0.0.1", .port = 2181, .sessions = 8, .depth = 16, .threads = 1,
        .workload = WORKLOAD_GET, .read_percent = 90, .value_size = 100, .duration_s = 10,
        .warmup_s = 1, .ops_target = 0, .keys = 1000, .session_timeout_ms = 30000,
    };
    int duration_given = 0;
    snprintf(cfg.prefix, sizeof cfg.prefix, "/bench-%d", (int)getpid());

    static const struct option options[] = {
        {"host", required_argument, 0, 'h'},          {"port", required_argument, 0, 'p'},
        {"sessions", required_argument, 0, 's'},      {"depth", required_argument, 0, 'd'},
        {"threads", required_argument, 0, 't'},       {"workload", required_argument, 0, 'w'},
        {"read-percent", required_argument, 0, 'r'},  {"value-size", required_argument, 0, 'v'},
        {"keys", required_argument, 0, 'k'},          {"duration", required_argument, 0, 'D'},
        {"ops", required_argument, 0, 'n'},           {"warmup", required_argument, 0, 'W'},
        {"session-timeout", required_argument, 0, 'T'}, {"prefix", required_argument, 0, 'P'},
        {"protocol", required_argument, 0, 'X'},      {"help", no_argument, 0, 'H'},
        {"keep", no_argument, 0, 'K'},
        {0, 0, 0, 0},
    };
    int c;
    double v;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'h': cfg.host = optarg; break;
        case 'p': if (parse_number("port", optarg, 1, 65535, &v)) return 1; cfg.port = (int)v; break;
        case 's': if (parse_number("sessions", optarg, 1, 10000, &v)) return 1; cfg.sessions = (int)v; break;
        case 'd': if (parse_number("depth", optarg, 1, 100000, &v)) return 1; cfg.depth = (int)v; break;
        case 't': if (parse_number("threads", optarg, 1, 256, &v)) return 1; cfg.threads = (int)v; break;
        case 'w':
            if (parse_workload(optarg, &cfg.workload)) {
                fprintf(stderr, "corral-bench: --workload: get, set, create or mix, not '%s'\n", optarg);
                return 1;
            }
            break;
        case 'r': if (parse_number("read-percent", optarg, 0, 100, &v)) return 1; cfg.read_percent = (int)v; break;
        case 'v': if (parse_number("value-size", optarg, 0, 1 << 20, &v)) return 1; cfg.value_size = (int)v; break;
        case 'k': if (parse_number("keys", optarg, 1, 10000000, &v)) return 1; cfg.keys = (int)v; break;
        case 'D': if (parse_number("duration", optarg, 0.1, 3600, &v)) return 1; cfg.duration_s = v;
                  duration_given = 1; break;
        case 'n': if (parse_number("ops", optarg, 1, 1e12, &v)) return 1; cfg.ops_target = (int64_t)v; break;
        case 'W': if (parse_number("warmup", optarg, 0, 600, &v)) return 1; cfg.warmup_s = v; break;
        case 'T': if (parse_number("session-timeout", optarg, 100, 3600000, &v)) return 1;
                  cfg.session_timeout_ms = (int)v; break;
        case 'P':
            if (optarg[0] != '/' || strlen(optarg) < 2 || strlen(optarg) >= 100 || optarg[strlen(optarg) - 1] == '/') {
                fprintf(stderr, "corral-bench: --prefix: an absolute znode path, not '%s'\n", optarg);
                return 1;
            }
            snprintf(cfg.prefix, sizeof cfg.prefix, "%s", optarg);
            break;
        case 'X':
            if (strcmp(optarg, "zk") == 0) {
                cfg.protocol = &bench_protocol_zk;
            } else if (strcmp(optarg, "protobuf") == 0) {
                cfg.protocol = &bench_protocol_pb;
            } else {
                fprintf(stderr, "corral-bench: --protocol: zk or protobuf, not '%s'\n", optarg);
                return 1;
            }
            break;
        case 'K': cfg.keep = 1; break;
        case 'H': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "corral-bench: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 1;
    }
    if (cfg.ops_target > 0 && !duration_given)
        cfg.duration_s = 300;            /* --ops alone: still bounded */
    if (cfg.threads > cfg.sessions)
        cfg.threads = cfg.sessions;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_watchdog);
    alarm((unsigned)(cfg.warmup_s + cfg.duration_s) + SETUP_SECONDS + CLEANUP_SECONDS + 120);

    struct bench_run run;
    memset(&run, 0, sizeof run);
    run.cfg = &cfg;
    pthread_mutex_init(&run.fatal_lock, NULL);
    run.value = malloc((size_t)cfg.value_size + 1);
    run.sessions = calloc((size_t)cfg.sessions, sizeof *run.sessions);
    run.threads = calloc((size_t)cfg.threads, sizeof *run.threads);
    int n_keys = cfg.workload == WORKLOAD_CREATE ? 0 : cfg.keys;
    run.key_paths = calloc((size_t)n_keys + 1, sizeof *run.key_paths);
    for (int i = 0; run.sessions && i < cfg.sessions; i++)
        run.sessions[i].fd = -1;
    if (!run.value || !run.sessions || !run.threads || !run.key_paths) {
        fprintf(stderr, "corral-bench: out of memory\n");
        return finish(&run, 1);
    }
    for (int i = 0; i < cfg.value_size; i++)
        run.value[i] = (uint8_t)('a' + i % 26);
    for (int i = 0; i < n_keys; i++) {
        char path[192];
        snprintf(path, sizeof path, "%s/k%d", cfg.prefix, i);
        run.key_paths[i] = strdup(path);
        if (!run.key_paths[i]) {
            fprintf(stderr, "corral-bench: out of memory\n");
            return finish(&run, 1);
        }
    }

    /* Threads and their sessions. */
    for (int i = 0; i < cfg.threads; i++) {
        struct bench_thread *t = &run.threads[i];
        t->run = &run;
        t->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) ^ (uint64_t)getpid();
        t->sessions = calloc((size_t)cfg.sessions / (size_t)cfg.threads + 1, sizeof *t->sessions);
        if (!t->sessions) {
            fprintf(stderr, "corral-bench: out of memory\n");
            return finish(&run, 1);
        }
    }
    char err[160];
    for (int i = 0; i < cfg.sessions; i++) {
        struct bench_session *s = &run.sessions[i];
        s->protocol = cfg.protocol;
        s->index = i;
        s->next_xid = 1;
        s->ring = calloc((size_t)cfg.depth, sizeof *s->ring);
        jute_buf_init(&s->out);
        struct bench_thread *t = &run.threads[i % cfg.threads];
        s->thread = t;
        t->sessions[t->n_sessions++] = s;
        if (!s->ring) {
            fprintf(stderr, "corral-bench: out of memory\n");
            return finish(&run, 1);
        }
        if (wire_connect(s, &cfg, err, sizeof err) < 0) {
            fprintf(stderr, "corral-bench: session %d: %s\n", i, err);
            return finish(&run, 1);
        }
    }

    /* Setup: the prefix, and the keys (or the parent of created nodes). */
    int rc = call_on_first(&run, CORRAL_OP_CREATE, cfg.prefix, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "corral-bench: creating %s: %s\n", cfg.prefix,
                rc == 1 ? err : rc == CORRAL_ENODEEXISTS ? "it already exists" : "server error");
        return finish(&run, 1);
    }
    if (cfg.workload == WORKLOAD_CREATE) {
        char path[192];
        snprintf(path, sizeof path, "%s/c", cfg.prefix);
        rc = call_on_first(&run, CORRAL_OP_CREATE, path, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "corral-bench: creating %s: %s (error %d)\n", path, rc == 1 ? err : "server error", rc);
            run_cleanup(&run);
            return finish(&run, 1);
        }
    }
    struct histogram hist;
    uint64_t errors, ignored, bad;
    int32_t first_error;
    if (n_keys > 0) {
        uint64_t t0 = now_ns();
        deal_keys(&run);
        run.phase = PHASE_SETUP;
        run.phase_start_ns = t0;
        run.deadline_ns = t0 + SETUP_SECONDS * 1000000000ull;
        if (engine_run_phase(&run) < 0) {
            fprintf(stderr, "corral-bench: setup: %s\n", run.fatal_message);
            return finish(&run, 2);
        }
        sum_threads(&run, &hist, &errors, &ignored, &bad, &first_error);
        if (errors) {
            fprintf(stderr, "corral-bench: setup: %llu of %d creates failed (first error %d)\n",
                    (unsigned long long)errors, n_keys, first_error);
            run_cleanup(&run);
            return finish(&run, 1);
        }
        fprintf(stderr, "corral-bench: setup: %d keys of %d bytes in %.2f s\n", n_keys, cfg.value_size,
                (double)(now_ns() - t0) / 1e9);
    }

    /* The measured run. */
    run.phase = PHASE_RUN;
    run.phase_start_ns = now_ns();
    run.measure_start_ns = run.phase_start_ns + (uint64_t)(cfg.warmup_s * 1e9);
    run.deadline_ns = run.measure_start_ns + (uint64_t)(cfg.duration_s * 1e9);
    double cpu0 = cpu_seconds();
    if (engine_run_phase(&run) < 0) {
        fprintf(stderr, "corral-bench: run aborted: %s\n", run.fatal_message);
        fprintf(stderr, "corral-bench: no cleanup, %s is left on the server\n", cfg.prefix);
        return finish(&run, 2);
    }
    double cpu_used = cpu_seconds() - cpu0;
    double wall = (double)(now_ns() - run.phase_start_ns) / 1e9;
    uint64_t measure_end = atomic_load(&run.measure_end_ns);
    if (measure_end == 0 || measure_end < run.measure_start_ns)
        measure_end = run.deadline_ns;
    double measured_s = (double)(measure_end - run.measure_start_ns) / 1e9;
    sum_threads(&run, &hist, &errors, &ignored, &bad, &first_error);
    double ops_per_sec = measured_s > 0 ? (double)hist.count / measured_s : 0;
    double p50 = histogram_quantile_ns(&hist, 0.50) / 1e3, p90 = histogram_quantile_ns(&hist, 0.90) / 1e3;
    double p99 = histogram_quantile_ns(&hist, 0.99) / 1e3, p999 = histogram_quantile_ns(&hist, 0.999) / 1e3;
    double max = hist.max_ns / 1e3;
    double cpu_pct = wall > 0 ? 100.0 * cpu_used / wall : 0;

    char workload_desc[32];
    if (cfg.workload == WORKLOAD_MIX)
        snprintf(workload_desc, sizeof workload_desc, "mix(%d%% get)", cfg.read_percent);
    else
        snprintf(workload_desc, sizeof workload_desc, "%s", workload_name(cfg.workload));
    printf("corral-bench %s:%d (%s)  workload=%s  sessions=%d depth=%d threads=%d  value=%d B  keys=%d\n", cfg.host,
           cfg.port, cfg.protocol->name, workload_desc, cfg.sessions, cfg.depth, cfg.threads, cfg.value_size, n_keys);
    printf("  measured     %.2f s after %.1f s warmup%s\n", measured_s, cfg.warmup_s,
           cfg.ops_target > 0 && (int64_t)hist.count < cfg.ops_target ? " (--ops not reached: duration cap)" : "");
    printf("  throughput   %.0f ops/s (%llu ops)\n", ops_per_sec, (unsigned long long)hist.count);
    printf("  latency us   p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", p50, p90, p99, p999, max);
    if (errors)
        printf("  errors       %llu (first: server error %d)\n", (unsigned long long)errors, first_error);
    else
        printf("  errors       0\n");
    if (bad)
        printf("  bad replies  %llu (getData data of the wrong size)\n", (unsigned long long)bad);
    printf("  bench cpu    %.0f%% of one core (user+sys, all generator threads)\n", cpu_pct);
    printf("RESULT protocol=%s workload=%s read_percent=%d sessions=%d depth=%d threads=%d value_size=%d ops=%llu "
           "seconds=%.3f ops_per_sec=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
           "errors=%llu bad_replies=%llu bench_cpu_pct=%.0f\n",
           cfg.protocol->name, workload_name(cfg.workload), cfg.workload == WORKLOAD_MIX ? cfg.read_percent :
           cfg.workload == WORKLOAD_GET ? 100 : 0, cfg.sessions, cfg.depth, cfg.threads, cfg.value_size,
           (unsigned long long)hist.count, measured_s, ops_per_sec, p50, p90, p99, p999, max,
           (unsigned long long)errors, (unsigned long long)bad, cpu_pct);
    fflush(stdout);

    if (cfg.keep) {
        fprintf(stderr, "corral-bench: --keep: %s is left on the server\n", cfg.prefix);
        return finish(&run, 0);
    }
    int cleanup_rc = run_cleanup(&run);
    return finish(&run, cleanup_rc < 0 ? 2 : 0);
}
