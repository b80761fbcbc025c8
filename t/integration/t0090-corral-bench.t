#!/usr/bin/env bash
# t0090 — corral-bench against a real corrald: every workload completes
# with no errors and leaves nothing behind, --ops counts exactly, percentiles
# are ordered, bad usage and unreachable servers exit 1, and a server killed
# mid-run ends the run with exit 2 and a clear message (never a hang).
# TAP; run by prove with CORRAL_BUILDDIR set (as `make check` does).
set -u
BUILD=${CORRAL_BUILDDIR:?CORRAL_BUILDDIR must point at the build tree}
MODS=${CORRAL_MODULE_PATH:-$BUILD/modules/.dev}
CORRALD=$BUILD/core/corrald
BENCH=$BUILD/tools/corral-bench
TMP=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
n=0; failed=0
# ok STATUS DESCRIPTION: one TAP line; returns STATUS so "|| diagnostics" works.
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; return "$1"; }
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_corrald() {
    PORT=$(free_port)
    mkdir -p "$TMP/data"
    cat > "$TMP/c.cfg" <<EOF
tickTime=2000
dataDir=$TMP/data
clientPort=$PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
module.path=$MODS
module.transport=zk
module.storage=mem
module.auth=world
EOF
    ASAN_OPTIONS=detect_leaks=0 "$CORRALD" -c "$TMP/c.cfg" > "$TMP/corrald.log" 2>&1 &
    PID=$!
    disown "$PID"     # no "Killed" notice from the shell when the test kills it
    for _ in $(seq 100); do
        /usr/bin/python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$PORT" \
            2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# The root's children, through kazoo (a client independent of corral-bench).
root_children() {
    /usr/bin/python3 - "$PORT" <<'EOF'
import sys
from kazoo.client import KazooClient
z = KazooClient("127.0.0.1:" + sys.argv[1], timeout=5)
z.start(timeout=5)
print(" ".join(sorted(z.get_children("/"))))
z.stop()
EOF
}

[ -x "$BENCH" ] || { echo "1..0 # SKIP corral-bench not built"; exit 0; }

"$BENCH" --help | grep -q -- '--workload'; ok $? "--help prints usage"
timeout 10 "$BENCH" --workload nope >/dev/null 2>"$TMP/err"; [ $? -eq 1 ] && grep -q "not 'nope'" "$TMP/err"
ok $? "an unknown workload exits 1 and names it"
timeout 10 "$BENCH" --port "$(free_port)" --duration 1 >/dev/null 2>"$TMP/err"; [ $? -eq 1 ] && grep -q "refused" "$TMP/err"
ok $? "an unreachable server exits 1 with the reason"

start_corrald; ok $? "corrald started"
COMMON=(--port "$PORT" --sessions 3 --depth 4 --threads 2 --keys 50 --value-size 33 --duration 1 --warmup 0.2)
for w in get set create mix; do
    out=$(timeout 60 "$BENCH" "${COMMON[@]}" --workload "$w" 2>"$TMP/err"); st=$?
    r=$(grep '^RESULT ' <<<"$out")
    [ $st -eq 0 ] && [ "$(field "$r" workload)" = "$w" ] && [ "$(field "$r" errors)" = 0 ] &&
        [ "$(field "$r" bad_replies)" = 0 ] && [ "$(field "$r" ops)" -gt 100 ]
    ok $? "$w: exit 0, operations done, no errors, getData sizes right" ||
        { echo "# exit $st: $out" | sed 's/^/# /'; sed 's/^/#   /' "$TMP/err"; }
    awk -v a="$(field "$r" p50_us)" -v b="$(field "$r" p99_us)" -v c="$(field "$r" p999_us)" \
        -v d="$(field "$r" max_us)" 'BEGIN { exit !(a > 0 && a <= b && b <= c && c <= d) }'
    ok $? "$w: 0 < p50 <= p99 <= p99.9 <= max"
done
[ "$(root_children)" = "zookeeper" ]; ok $? "every run cleaned up after itself"

out=$(timeout 60 "$BENCH" "${COMMON[@]}" --workload mix --read-percent 50 --ops 777 --duration 30 2>/dev/null)
[ "$(field "$(grep '^RESULT ' <<<"$out")" ops)" = 777 ]; ok $? "--ops N measures exactly N operations"

/usr/bin/python3 - "$PORT" <<'EOF'
import sys
from kazoo.client import KazooClient
z = KazooClient("127.0.0.1:" + sys.argv[1], timeout=5); z.start(timeout=5); z.create("/taken"); z.stop()
EOF
timeout 30 "$BENCH" "${COMMON[@]}" --prefix /taken >/dev/null 2>"$TMP/err"; [ $? -eq 1 ] && grep -q "already exists" "$TMP/err"
ok $? "an existing prefix is refused (exit 1), not reused"

# kill the server once the run is under way: its prefix node exists
timeout 60 "$BENCH" "${COMMON[@]}" --prefix /midrun --duration 20 >/dev/null 2>"$TMP/err" &
BPID=$!
for _ in $(seq 200); do
    case " $(root_children) " in *" midrun "*) break ;; esac
    sleep 0.1
done
kill -9 "$PID"
wait "$BPID"; st=$?
[ $st -eq 2 ] && grep -q "connection lost" "$TMP/err"
ok $? "a server killed mid-run ends the run: exit 2, 'connection lost'" || sed 's/^/#   /' "$TMP/err"
PID=""

echo "1..$n"
exit $((failed > 0))
