#!/bin/bash
# bench.sh — corral-bench against corrald and Apache ZooKeeper, side by side
# (what `make bench` runs).
#
# Usage: tools/bench.sh [BUILDDIR [MODULEDIR]]
#   BUILDDIR   a built tree with core/corrald and tools/corral-bench
#              (default: build-release).  Use an optimised build without
#              sanitizers: ASan makes corrald several times slower and the
#              comparison meaningless (a warning says so).  Nothing is built
#              here.
#   MODULEDIR  where corrald finds its modules (default: BUILDDIR/modules/.dev)
#
# It starts corrald (module.storage=mem, in-memory) and Apache ZooKeeper 3.8
# from the Debian package, each on a free 127.0.0.1 port with a temporary data
# directory, warms the JVM up, runs the same workloads against both, and
# prints a table of ops/s and p50/p99/p99.9 latency with the Corral/ZooKeeper
# ratios.  Both servers are killed on exit.  Only 127.0.0.1 is ever used.
#
# Fairness: Corral's mem storage never writes; ZooKeeper always logs every
# write.  ZooKeeper's dataDir is therefore put on tmpfs (/dev/shm) so its
# fsyncs cost next to nothing — still not the same work, and the output says
# so.  The machine may have only 2 cores, shared by server and generator: by
# default (BENCH_PIN=1, when there are at least 2 CPUs) the server under test
# is pinned to CPU 0 and corral-bench to CPU 1, so each server gets exactly one
# core (ZooKeeper's many threads included) and the generator never steals
# from it.  BENCH_PIN=0 leaves scheduling to the kernel.
#
# Environment knobs (defaults in brackets):
#   BENCH_WORKLOADS   workloads to run ["get set create mix"]
#   BENCH_DURATION    measured seconds per run [5]
#   BENCH_WARMUP      warmup seconds inside each run [1]
#   BENCH_SESSIONS    sessions [8]     BENCH_DEPTH    requests in flight each [16]
#   BENCH_THREADS     generator threads [1]
#   BENCH_VALUE_SIZE  bytes [100]      BENCH_KEYS     znodes for get/set/mix [1000]
#   BENCH_READ_PERCENT  mix: share of gets [90]
#   BENCH_JVM_WARMUP  seconds of JVM warmup load before measuring [16]; measured
#                     here: ZooKeeper needs ~15 s of load to reach steady speed
#   BENCH_PIN         1: pin server/generator to separate CPUs [1]
#   BENCH_REPEAT      runs per server and workload; the best is shown [2]
#   BENCH_NICE        niceness of servers and generator when permitted [-10]
#   BENCH_SERVERS     which servers ["corral corral-pb zookeeper"]; corral-pb is
#                     the same corrald measured through its protobuf transport
#                     (corral-bench --protocol protobuf on protobufClientPort)
#   BENCH_CORRAL_STORAGE  mem (no log) or file (txn log + fsync, its dataDir
#                     on tmpfs like ZooKeeper's: like-for-like writes) [mem]
#   ZK_HEAP           ZooKeeper's -Xmx/-Xms [1g]
#   ZK_JAR_DIR        where zookeeper.jar lives [/usr/share/java]
#   BENCH_KEEP        1: keep the temporary directory with the server logs [0]
set -u

BUILDDIR=${1:-build-release}
WORKLOADS=${BENCH_WORKLOADS:-get set create mix}
DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-1}
SESSIONS=${BENCH_SESSIONS:-8}
DEPTH=${BENCH_DEPTH:-16}
THREADS=${BENCH_THREADS:-1}
VALUE_SIZE=${BENCH_VALUE_SIZE:-100}
KEYS=${BENCH_KEYS:-1000}
READ_PERCENT=${BENCH_READ_PERCENT:-90}
JVM_WARMUP=${BENCH_JVM_WARMUP:-16}
PIN=${BENCH_PIN:-1}
NICE=${BENCH_NICE:--10}
REPEAT=${BENCH_REPEAT:-2}
SERVERS=${BENCH_SERVERS:-corral corral-pb zookeeper}
CORRAL_STORAGE=${BENCH_CORRAL_STORAGE:-mem}
ZK_HEAP=${ZK_HEAP:-1g}
ZK_JAR_DIR=${ZK_JAR_DIR:-/usr/share/java}

NAME=bench.sh
. "$(dirname "$0")/bench-common.sh"
bench_build "$BUILDDIR" "${2:-}"
bench_pinning "$PIN"
# Other work on the machine skews a single-threaded server most (the kernel
# shares a CPU per thread, and ZooKeeper has dozens): when allowed, run the
# servers and the generator at a higher priority than everything else.
if [ "$NICE" != 0 ] && nice -n "$NICE" true 2>/dev/null && [ "$(nice -n "$NICE" nice)" -lt "$(nice)" ]; then
    SERVER_CPU="nice -n $NICE $SERVER_CPU"
    BENCH_CPU="nice -n $NICE $BENCH_CPU"
    PIN_NOTE="$PIN_NOTE, both at nice $NICE"
fi

TMP=$(mktemp -d /tmp/corral-bench.XXXXXX) || die "mktemp failed"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    ZK_DATA=$(mktemp -d /dev/shm/corral-bench-zk.XXXXXX) || die "mktemp failed"
    ZK_DATA_NOTE="ZooKeeper dataDir on tmpfs ($ZK_DATA): its txn log fsyncs hit RAM, not a disk"
else
    ZK_DATA=$TMP/zk-data
    mkdir -p "$ZK_DATA"
    ZK_DATA_NOTE="ZooKeeper dataDir on $ZK_DATA (no /dev/shm): its writes include real fsyncs"
fi
case $CORRAL_STORAGE in
mem) CORRAL_DATA=$TMP/corral-data ;;
file) CORRAL_DATA=$(mktemp -d "${ZK_DATA%/*}/corral-bench-corral.XXXXXX") || die "mktemp failed" ;;
*) die "BENCH_CORRAL_STORAGE: mem or file, not '$CORRAL_STORAGE'" ;;
esac
CORRAL_PID=""
ZK_PID=""

stop_servers() {
    for pid in $CORRAL_PID $ZK_PID; do
        kill "$pid" 2>/dev/null
    done
    sleep 0.3
    for pid in $CORRAL_PID $ZK_PID; do
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    CORRAL_PID=""
    ZK_PID=""
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench.sh: logs kept in $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    rm -rf "$ZK_DATA" "$CORRAL_DATA"
}
trap stop_servers EXIT
trap 'exit 130' INT TERM HUP

# Wait until the server accepts a client session on the port (a real
# ConnectRequest; ZooKeeper answers ruok before its request pipeline is up).
wait_ready() { # port pid seconds
    local i=0
    while [ $i -lt $(($3 * 10)) ]; do
        kill -0 "$2" 2>/dev/null || return 1
        /usr/bin/python3 -c '
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
body = struct.pack(">iqiqi16s?", 0, 0, 10000, 0, 16, bytes(16), False)
s.sendall(struct.pack(">i", len(body)) + body)
reply = b""
while len(reply) < 4 + 20:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit(1)
    reply += chunk
proto, timeout = struct.unpack(">ii", reply[4:12])
if timeout <= 0:
    sys.exit(1)
close = struct.pack(">ii", 1, -11)
s.sendall(struct.pack(">i", len(close)) + close)
s.recv(4096)' "$1" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# One corrald serves both of its transports: ZooKeeper's wire protocol on
# CORRAL_PORT and the protobuf transport on CORRAL_PB_PORT.
start_corral() {
    CORRAL_PORT=$(free_port)
    CORRAL_PB_PORT=$(free_port)
    mkdir -p "$CORRAL_DATA"
    cat > "$TMP/corral.cfg" <<EOF
tickTime=2000
dataDir=$CORRAL_DATA
clientPort=$CORRAL_PORT
clientPortAddress=127.0.0.1
protobufClientPort=$CORRAL_PB_PORT
protobufClientPortAddress=127.0.0.1
maxClientCnxns=0
4lw.commands.whitelist=*
admin.enableServer=false
module.transport=zk,protobuf
module.storage=$CORRAL_STORAGE
module.auth=world
module.path=$MODULES
EOF
    ASAN_OPTIONS=detect_leaks=0 $SERVER_CPU "$CORRALD" -c "$TMP/corral.cfg" > "$TMP/corral.log" 2>&1 &
    CORRAL_PID=$!
    if ! wait_ready "$CORRAL_PORT" "$CORRAL_PID" 15; then
        tail -20 "$TMP/corral.log" >&2
        die "corrald did not start"
    fi
}

start_zookeeper() {
    ZK_PORT=$(free_port)
    mkdir -p "$TMP/zk-conf"
    cat > "$TMP/zk-conf/zoo.cfg" <<EOF
tickTime=2000
dataDir=$ZK_DATA
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
EOF
    # Warnings to zk.log through slf4j-simple when present (else slf4j's no-op).
    ZK_LOGGER=""
    [ -f "$ZK_JAR_DIR/slf4j-simple.jar" ] && ZK_LOGGER=":$ZK_JAR_DIR/slf4j-simple.jar"
    [ -f "$ZK_JAR_DIR/zookeeper.jar" ] || die "no $ZK_JAR_DIR/zookeeper.jar (Debian package zookeeper)"
    command -v java >/dev/null || die "no java"
    # zookeeper.jar's manifest lists its dependencies (Debian paths).
    $SERVER_CPU java -Xmx"$ZK_HEAP" -Xms"$ZK_HEAP" -XX:+UseG1GC \
        -Dzookeeper.admin.enableServer=false -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        -cp "$TMP/zk-conf:$ZK_JAR_DIR/zookeeper.jar$ZK_LOGGER" \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$TMP/zk-conf/zoo.cfg" > "$TMP/zookeeper.log" 2>&1 &
    ZK_PID=$!
    if ! wait_ready "$ZK_PORT" "$ZK_PID" 60; then
        tail -20 "$TMP/zookeeper.log" >&2
        die "ZooKeeper did not start"
    fi
}

# run_bench SERVER PORT PID WORKLOAD PROTOCOL: one corral-bench run; sets RESULT_LINE and SERVER_CPU_PCT.
run_bench() {
    local out c0 c1 t0 t1
    c0=$(cpu_of "$3")
    t0=$(date +%s.%N)
    out=$($BENCH_CPU "$BENCH" --host 127.0.0.1 --port "$2" --protocol "$5" --workload "$4" --sessions "$SESSIONS" \
        --depth "$DEPTH" --threads "$THREADS" --value-size "$VALUE_SIZE" --keys "$KEYS" \
        --read-percent "$READ_PERCENT" --duration "$DURATION" --warmup "$WARMUP" 2> "$TMP/bench.err")
    local rc=$?
    t1=$(date +%s.%N)
    c1=$(cpu_of "$3")
    RESULT_LINE=$(printf '%s\n' "$out" | grep '^RESULT ')
    if [ $rc -ne 0 ] || [ -z "$RESULT_LINE" ]; then
        echo "bench.sh: corral-bench against $1 ($4) failed (exit $rc):" >&2
        cat "$TMP/bench.err" >&2
        echo "bench.sh: last lines of the $1 log:" >&2
        grep -E 'WARN|ERROR|Exception' "$TMP/${1%-pb}.log" | tail -3 >&2
        RESULT_LINE=""
        SERVER_CPU_PCT=0
        return 1
    fi
    SERVER_CPU_PCT=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", 100 * (b - a) / (e - s) }')
    echo "  $1 $4: $RESULT_LINE server_cpu_pct=$SERVER_CPU_PCT" >&2
}

field() { # RESULT_LINE key
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

echo "bench.sh: $PIN_NOTE; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$CORRAL_STORAGE" = mem ]; then
    echo "bench.sh: $ZK_DATA_NOTE; Corral uses module.storage=mem (no log at all)"
else
    echo "bench.sh: $ZK_DATA_NOTE; Corral uses module.storage=file, dataDir $CORRAL_DATA (fsync before every reply)"
fi
echo "bench.sh: each run: ${SESSIONS} sessions x depth ${DEPTH}, ${THREADS} generator thread(s), ${VALUE_SIZE}-byte values, ${KEYS} keys, ${WARMUP}s warmup + ${DURATION}s measured; best of $REPEAT"

declare -A RES CPU PORT_OF PID_OF PROTO_OF
for server in $SERVERS; do
    case $server in
    corral-pb)
        [ -n "$CORRAL_PID" ] || start_corral
        PORT_OF[corral-pb]=$CORRAL_PB_PORT PID_OF[corral-pb]=$CORRAL_PID PROTO_OF[corral-pb]=protobuf
        echo "bench.sh: the same corrald's protobuf transport on 127.0.0.1:$CORRAL_PB_PORT"
        ;;
    corral)
        [ -n "$CORRAL_PID" ] || start_corral
        PROTO_OF[corral]=zk
        echo "bench.sh: corrald $("$CORRALD" --version 2>/dev/null | head -1) on 127.0.0.1:$CORRAL_PORT (pid $CORRAL_PID)"
        PORT_OF[corral]=$CORRAL_PORT PID_OF[corral]=$CORRAL_PID
        # No JIT to warm, but the same short warm load keeps both sides alike.
        $BENCH_CPU "$BENCH" --port "$CORRAL_PORT" --workload mix --read-percent 50 --duration 2 --warmup 0 \
            --sessions "$SESSIONS" --depth "$DEPTH" > /dev/null 2> "$TMP/bench.err" ||
            { echo "bench.sh: warmup run failed:" >&2; cat "$TMP/bench.err" >&2; }
        ;;
    zookeeper)
        start_zookeeper
        echo "bench.sh: Apache ZooKeeper (QuorumPeerMain standalone, -Xmx$ZK_HEAP) on 127.0.0.1:$ZK_PORT (pid $ZK_PID); JVM warmup ${JVM_WARMUP}s"
        PORT_OF[zookeeper]=$ZK_PORT PID_OF[zookeeper]=$ZK_PID PROTO_OF[zookeeper]=zk
        # The JIT needs ~15 s of load before ZooKeeper reaches its steady
        # speed (measured: 11k -> 22k -> 38k ops/s over the first 15 s).
        # Every workload's code path gets its share of the warmup.
        quarter=$(awk -v d="$JVM_WARMUP" 'BEGIN { q = d / 4; if (q < 0.5) q = 0.5; print q }')
        for w in get set create mix; do
            $BENCH_CPU "$BENCH" --port "$ZK_PORT" --workload "$w" --duration "$quarter" --warmup 0 \
                --sessions "$SESSIONS" --depth "$DEPTH" > /dev/null 2> "$TMP/bench.err" ||
                { echo "bench.sh: JVM warmup run ($w) failed:" >&2; cat "$TMP/bench.err" >&2; }
        done
        ;;
    *) die "unknown server '$server' in BENCH_SERVERS" ;;
    esac
done

# Both servers stay up (the idle one costs next to nothing) and their runs
# alternate, so a burst of other load on the machine hits both alike; each
# figure is the best (highest ops/s) of BENCH_REPEAT runs.
for rep in $(seq 1 "$REPEAT"); do
    for w in $WORKLOADS; do
        for server in $SERVERS; do
            run_bench "$server" "${PORT_OF[$server]}" "${PID_OF[$server]}" "$w" "${PROTO_OF[$server]}" || continue
            old=${RES[$server,$w]:-}
            if [ -z "$old" ] || awk -v a="$(field "$RESULT_LINE" ops_per_sec)" -v b="$(field "$old" ops_per_sec)" \
                'BEGIN { exit !(a > b) }'; then
                RES[$server,$w]=$RESULT_LINE
                CPU[$server,$w]=$SERVER_CPU_PCT
            fi
        done
    done
done
echo
echo "bench.sh: load average after: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
printf '%-8s %-10s %10s %9s %9s %10s %7s %7s %7s\n' workload server ops/s p50_us p99_us p99.9_us errors srv_cpu gen_cpu
FAILED=0
for w in $WORKLOADS; do
    label=$w
    [ "$w" = mix ] && label="mix$READ_PERCENT"
    for server in $SERVERS; do
        r=${RES[$server,$w]:-}
        if [ -z "$r" ]; then
            printf '%-8s %-10s %10s\n' "$label" "$server" FAILED
            FAILED=1
            continue
        fi
        printf '%-8s %-10s %10s %9s %9s %10s %7s %6s%% %6s%%\n' "$label" "$server" "$(field "$r" ops_per_sec)" \
            "$(field "$r" p50_us)" "$(field "$r" p99_us)" "$(field "$r" p999_us)" "$(field "$r" errors)" \
            "${CPU[$server,$w]}" "$(field "$r" bench_cpu_pct)"
    done
    rc=${RES[corral,$w]:-}
    rz=${RES[zookeeper,$w]:-}
    if [ -n "$rc" ] && [ -n "$rz" ]; then
        awk -v label="$label" -v oc="$(field "$rc" ops_per_sec)" -v oz="$(field "$rz" ops_per_sec)" \
            -v pc="$(field "$rc" p99_us)" -v pz="$(field "$rz" p99_us)" 'BEGIN {
            printf "%-8s %-10s %9.2fx %9s %8.2fx   (Corral/ZooKeeper: throughput, p99 latency)\n",
                label, "ratio", (oz > 0 ? oc / oz : 0), "", (pz > 0 ? pc / pz : 0) }'
    fi
    rp=${RES[corral-pb,$w]:-}
    if [ -n "$rc" ] && [ -n "$rp" ]; then
        awk -v label="$label" -v op="$(field "$rp" ops_per_sec)" -v oc="$(field "$rc" ops_per_sec)" \
            -v pp="$(field "$rp" p99_us)" -v pc="$(field "$rc" p99_us)" 'BEGIN {
            printf "%-8s %-10s %9.2fx %9s %8.2fx   (Corral protobuf/Corral zk transport)\n",
                label, "pb/zk", (oc > 0 ? op / oc : 0), "", (pc > 0 ? pp / pc : 0) }'
    fi
done
echo
echo "srv_cpu: server CPU (all threads) as % of one core over the run; gen_cpu: corral-bench's own CPU."
echo "gen_cpu near 100% means the generator, not the server, was the limit (raise BENCH_THREADS, without pinning)."
if [ "$CORRAL_STORAGE" = mem ]; then
    echo "Writes are not a like-for-like comparison: Corral (mem storage) keeps no log; ZooKeeper logs to tmpfs."
    echo "BENCH_CORRAL_STORAGE=file measures Corral's file storage, logging to tmpfs as ZooKeeper does."
else
    echo "Both servers log every write and fsync before replying, both to tmpfs."
fi
exit $FAILED
