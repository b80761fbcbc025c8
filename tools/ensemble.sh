#!/bin/sh
# ensemble.sh — start, stop or ask the members of a Corral ensemble on one
# host, one corrald per zooN.cfg in a folder (conf/ensemble by default):
# what `make run-ensemble`, `make stop-ensemble` and `make status-ensemble`
# run.
#
#   tools/ensemble.sh start  RELEASE_TREE [CONF_DIR]
#   tools/ensemble.sh stop   RELEASE_TREE [CONF_DIR]
#   tools/ensemble.sh status RELEASE_TREE [CONF_DIR]
#
# Each member's data folder is its cfg's dataDir (relative to where this
# runs, as corrald reads it); start writes myid there (N of zooN.cfg, the
# id its server.N line gives it) unless it is there already, and the
# member's log (corrald.log) and pid (corrald.pid) go there too.  start
# returns once every member runs (their election happens in the
# background); stop sends SIGTERM and waits for each to exit.
set -u

cmd=${1:?usage: ensemble.sh start|stop|status RELEASE_TREE [CONF_DIR]}
tree=${2:?usage: ensemble.sh start|stop|status RELEASE_TREE [CONF_DIR]}
conf=${3:-conf/ensemble}
corrald=$tree/core/corrald
cli=$tree/tools/corral

# The value of key in a cfg file (the last one wins, as in corrald).
value() { sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n 1 | sed 's/[[:space:]]*$//'; }

members() { ls "$conf"/zoo*.cfg 2>/dev/null | sort; }

# A pid file's process, when it still runs.
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

[ -n "$(members)" ] || { echo "ensemble.sh: no zoo*.cfg in $conf" >&2; exit 2; }

status=0
for cfg in $(members); do
    id=$(basename "$cfg" .cfg | sed 's/^zoo//')
    data=$(value "$cfg" dataDir)
    port=$(value "$cfg" clientPort)
    pidf=$data/corrald.pid
    case $cmd in
    start)
        mkdir -p "$data"
        [ -f "$data/myid" ] || echo "$id" > "$data/myid"
        if running "$pidf"; then
            echo "member $id already runs (pid $(cat "$pidf"))"
            continue
        fi
        CORRAL_MODULE_PATH=${CORRAL_MODULE_PATH:-$PWD/$tree/modules/.dev} \
            nohup "$corrald" -c "$cfg" >> "$data/corrald.log" 2>&1 < /dev/null &
        echo $! > "$pidf"
        # up: it logged that it started as a member, or it exited (then say why)
        n=0
        while ! grep -q "started as an ensemble member" "$data/corrald.log" 2>/dev/null; do
            if ! running "$pidf" || [ $n -ge 100 ]; then
                echo "member $id did not start; the end of $data/corrald.log:" >&2
                tail -n 20 "$data/corrald.log" >&2
                status=1
                break
            fi
            n=$((n + 1))
            sleep 0.1
        done
        running "$pidf" && echo "member $id: pid $(cat "$pidf"), client port $port, log $data/corrald.log"
        ;;
    stop)
        if ! running "$pidf"; then
            echo "member $id is not running"
            rm -f "$pidf"
            continue
        fi
        pid=$(cat "$pidf")
        kill "$pid"
        n=0
        while kill -0 "$pid" 2>/dev/null && [ $n -lt 200 ]; do
            n=$((n + 1))
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "member $id (pid $pid) did not stop within 20 s" >&2
            status=1
        else
            echo "member $id stopped"
            rm -f "$pidf"
        fi
        ;;
    status)
        echo "member $id (127.0.0.1:$port):"
        "$cli" -s "127.0.0.1:$port" status || status=1
        ;;
    *)
        echo "ensemble.sh: unknown command $cmd" >&2
        exit 2
        ;;
    esac
done
exit $status
