#!/bin/bash
# bench-lua.sh — what a Lua hook costs a write, measured with corral-bench.
#
# Usage: tools/bench-lua.sh [BUILDDIR [MODULEDIR]]
#   BUILDDIR   a built tree with core/corrald, tools/corral-bench and the lua
#              plugin (default: build-release; use an optimised build without
#              sanitizers, a warning says so otherwise).  Nothing is built here.
#   MODULEDIR  where corrald finds its modules (default: BUILDDIR/modules/.dev)
#
# Three corrald configurations, same workload (corral-bench --workload set on
# BENCH_KEYS keys under /bench, mem storage), run alternately BENCH_REPEAT
# times each so drift on a shared machine hits all of them alike:
#   none      no plugin at all
#   empty     the lua plugin loaded, its script registering no hook
#   idle      the lua plugin loaded with a script whose hooks match nothing
#             the benchmark writes (the "no scripts for this path" case)
#   inspect   one on_write hook matching every write: reads the request and
#             lets it go (the cost of calling into Lua per write)
#   trigger   one matching on_write trigger that adds an operation committed
#             atomically with each write (like lua/config_version.lua)
# It prints the median ops/s of each, the server's CPU time per write (user +
# system, from /proc, over the whole run) and the overhead per write against
# `none`.  CPU per write is the figure to read on a shared machine: ops/s
# moves with whatever else runs, CPU time per write much less.
#
# Environment: BENCH_DURATION [5] seconds per run, BENCH_REPEAT [3],
# BENCH_SESSIONS [8], BENCH_DEPTH [16], BENCH_KEYS [1000],
# BENCH_VALUE_SIZE [100], BENCH_PIN [1] (server on CPU 0, generator on CPU 1),
# BENCH_MODES ["none empty idle inspect trigger"].  Only 127.0.0.1 is used.
set -u

BUILDDIR=${1:-build-release}
DURATION=${BENCH_DURATION:-5}
REPEAT=${BENCH_REPEAT:-3}
SESSIONS=${BENCH_SESSIONS:-8}
DEPTH=${BENCH_DEPTH:-16}
KEYS=${BENCH_KEYS:-1000}
VALUE_SIZE=${BENCH_VALUE_SIZE:-100}
PIN=${BENCH_PIN:-1}
MODES=${BENCH_MODES:-none empty idle inspect trigger}

NAME=bench-lua.sh
. "$(dirname "$0")/bench-common.sh"
bench_build "$BUILDDIR" "${2:-}"
[ -e "$MODULES/plugin_lua.so" ] || die "$MODULES/plugin_lua.so missing (lua plugin not built)"
bench_pinning "$PIN"

TMP=$(mktemp -d /tmp/corral-bench-lua.XXXXXX) || die "mktemp failed"
CORRAL_PID=""
cleanup() {
    [ -n "$CORRAL_PID" ] && kill "$CORRAL_PID" 2>/dev/null && wait "$CORRAL_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cat > "$TMP/empty.lua" <<'EOF'
-- loaded, registers nothing
local unused = 1
EOF
cat > "$TMP/idle.lua" <<'EOF'
-- hooks on a subtree the benchmark never writes
corral.on_write("/elsewhere", function(req) return "NoAuth" end)
corral.on_commit("/elsewhere", function(txn) end)
EOF
cat > "$TMP/inspect.lua" <<'EOF'
-- one matching hook that looks at each write and lets it go
corral.on_write("/bench", function(req)
  if req.op == "set" and #req.path > 4096 then return "BadArguments" end
end)
EOF
cat > "$TMP/trigger.lua" <<'EOF'
-- one matching trigger: each set also bumps /bench-count in the same txn
if not corral.exists("/bench-count") then corral.create("/bench-count", "") end
corral.on_write("/bench", function(req)
  if req.op == "set" then return {op = "set", path = "/bench-count", data = req.path} end
end)
EOF

wait_ready() { # port
    for _ in $(seq 100); do
        kill -0 "$CORRAL_PID" 2>/dev/null || return 1
        [ "$(printf ruok | timeout 2 nc -q1 127.0.0.1 "$1" 2>/dev/null)" = imok ] && return 0
        sleep 0.1
    done
    return 1
}

start_corral() { # mode
    PORT=$(free_port)
    {
        echo "tickTime=2000"
        echo "dataDir=$TMP/data"
        echo "clientPort=$PORT"
        echo "clientPortAddress=127.0.0.1"
        echo "maxClientCnxns=0"
        echo "4lw.commands.whitelist=*"
        echo "admin.enableServer=false"
        echo "module.storage=mem"
        echo "module.auth=world"
        echo "module.path=$MODULES"
        echo "corral.logLevel=warn"
        if [ "$1" != none ]; then
            echo "module.plugins=lua"
            echo "plugin.lua.scripts=$TMP/$1.lua"
        fi
    } > "$TMP/corral.cfg"
    $SERVER_CPU "$CORRALD" -c "$TMP/corral.cfg" > "$TMP/corrald-$1.log" 2>&1 &
    CORRAL_PID=$!
    wait_ready "$PORT" || die "corrald ($1) did not start: $(tail -5 "$TMP/corrald-$1.log")"
}

stop_corral() {
    kill "$CORRAL_PID" 2>/dev/null
    wait "$CORRAL_PID" 2>/dev/null
    CORRAL_PID=""
}

run_once() { # mode -> "ops/s cpu-us-per-op" on stdout
    start_corral "$1"
    local out cpu0 cpu1
    cpu0=$(cpu_of "$CORRAL_PID")
    out=$($BENCH_CPU "$BENCH" --port "$PORT" --workload set --sessions "$SESSIONS" --depth "$DEPTH" \
        --keys "$KEYS" --value-size "$VALUE_SIZE" --duration "$DURATION" --warmup 0 --prefix /bench 2>&1)
    cpu1=$(cpu_of "$CORRAL_PID")
    stop_corral
    echo "$out" >> "$TMP/bench.log"
    echo "$out" | sed -n "s/.*throughput *\([0-9][0-9.]*\) ops\/s (\([0-9]*\) ops).*/\1 \2/p" | head -1 |
        awk -v c0="$cpu0" -v c1="$cpu1" '{ printf "%s %.3f\n", $1, (c1 - c0) / $2 * 1e6 }'
}

declare -A OPS CPU
for r in $(seq "$REPEAT"); do
    for mode in $MODES; do
        res=$(run_once "$mode")
        [ -n "$res" ] || die "no result from corral-bench ($mode): $(tail -5 "$TMP/bench.log")"
        set -- $res
        OPS[$mode]="${OPS[$mode]:-} $1"
        CPU[$mode]="${CPU[$mode]:-} $2"
        printf 'run %d %-8s %10.0f ops/s %8.2f us server CPU/write\n' "$r" "$mode" "$1" "$2" >&2
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "corral-bench set: $SESSIONS sessions x depth $DEPTH, $KEYS keys, ${VALUE_SIZE} B, ${DURATION} s x $REPEAT runs (medians)"
printf '%-8s %12s %16s %18s\n' mode ops/s "server us/write" "overhead us/write"
base=""
for mode in $MODES; do
    o=$(echo "${OPS[$mode]}" | median)
    c=$(echo "${CPU[$mode]}" | median)
    [ "$mode" = none ] && base=$c
    awk -v m="$mode" -v o="$o" -v c="$c" -v b="$base" 'BEGIN {
        if (b == "" || m == "none") printf "%-8s %12.0f %16.2f %18s\n", m, o, c, "-";
        else printf "%-8s %12.0f %16.2f %+11.2f (%+.0f%%)\n", m, o, c, c - b, (c / b - 1) * 100 }'
done
