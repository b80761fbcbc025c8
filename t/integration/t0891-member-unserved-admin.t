#!/usr/bin/python3
"""t0891 — the AdminServer of an ensemble member that has no quorum, corrald
against Apache ZooKeeper 3.8 (its AdminServer needs Jetty: the test puts the
Debian jars on its classpath): each is server 1 of a 3-server view, started
alone, so it elects forever and serves no client.

ZooKeeper answers every command that needs its server (all but
environment, get_trace_mask, set_trace_mask, system_properties, zabstate)
with {"command": <the name asked for, alias or not>, "error": "This
ZooKeeper instance is not currently serving requests"}; the others answer
as ever (zabstate as a standalone's: voting false, zabstate "").  corrald
must answer each the same: status, keys, their order and values.

One intended difference: ZooKeeper's monitor fails then (HTTP 500, a
NullPointerException with no server to ask); corrald answers it like the
other commands (the not-serving error, as the four-letter mntr does)."""
import glob, json, os, subprocess, sys, urllib.error, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
import corraltest as ct
from ensembletest import Ensemble

NOT_SERVING = "This ZooKeeper instance is not currently serving requests"


def get(port, name):
    """(status, [(key, value)...] in the answer's order) of /commands/name."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/commands/%s" % (port, name), timeout=10) as r:
            return r.status, json.loads(r.read(), object_pairs_hook=list)
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body, object_pairs_hook=list)
        except ValueError:
            return e.code, None


def start_admin_zookeeper(m, lines, admin_port):
    """m (a ZooKeeper Member) with its AdminServer on admin_port."""
    m.write_config(lines, {"admin.enableServer": "true", "admin.serverPort": str(admin_port),
                           "admin.serverAddress": "127.0.0.1"})
    cp = [m.dir] + sorted(glob.glob(os.path.join(ct.ZK_JARS, "*.jar")))
    m._logf = open(m.log, "a")
    m.proc = subprocess.Popen(["java", "-Xmx256m", "-cp", ":".join(cp),
                               "org.apache.zookeeper.server.quorum.QuorumPeerMain", m.cfg],
                              stdout=m._logf, stderr=subprocess.STDOUT)
    ct._servers.append(m)


def up(port):
    try:
        return get(port, "get_trace_mask")[0] == 200
    except OSError:
        return False


zk_admin, co_admin = free_port(), free_port()
zk = Ensemble([("zk", 1), ("zk", 2), ("zk", 3)], start=False)
start_admin_zookeeper(zk[1], [m.server_line() for m in zk.members], zk_admin)
co = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3)], start=False,
              extra={"admin.enableServer": "true", "admin.serverPort": str(co_admin),
                     "admin.serverAddress": "127.0.0.1"})
co[1].start()
if not wait_for(lambda: zk[1].proc.poll() is not None or up(zk_admin), 90, 0.3) or not up(zk_admin):
    print("1..0 # SKIP Apache ZooKeeper's AdminServer did not start:\n# " +
          zk[1].output()[-500:].replace("\n", "\n# "))
    sys.exit(0)
ok(wait_for(lambda: up(co_admin), 15), "corrald's AdminServer is up")

REQUIRED = ["configuration", "connection_stat_reset", "connections", "dirs", "dump", "hash",
            "initial_configuration", "is_read_only", "last_snapshot", "leader",
            "observer_connection_stat_reset", "observers", "ruok", "server_stats", "stat_reset",
            "stats", "voting_view", "watch_summary", "watches", "watches_by_path"]
ALIASES = ["conf", "config", "cons", "crst", "srvr", "stat", "isro", "lead", "wchs", "wchc", "wchp",
           "icfg", "lsnp", "obsr", "orst", "srst"]
for name in REQUIRED + ALIASES:
    z, c = get(zk_admin, name), get(co_admin, name)
    is_(z, (200, [("command", name), ("error", NOT_SERVING)]),
        "ZooKeeper %s: the not-serving error, named as asked" % name)
    is_(c, z, "corrald %s: ZooKeeper's answer" % name)

for name in ("get_trace_mask", "gtmk", "set_trace_mask", "zabstate"):
    z, c = get(zk_admin, name), get(co_admin, name)
    is_(c, z, "%s answers without a quorum, as ZooKeeper's: %r" % (name, z))
is_(dict(get(co_admin, "zabstate")[1]).get("zabstate"), "", "zabstate: no phase while electing")

zs, ze = get(zk_admin, "environment")
cs, ce = get(co_admin, "environment")
is_((cs, [k for k, _ in ce]), (zs, [k for k, _ in ze if not k.startswith(("java.", "os.memory."))]),
    "environment answers: ZooKeeper's keys in its order (but the JVM's own)")
zs, zp = get(zk_admin, "system_properties")
cs, cp = get(co_admin, "system_properties")
ok(cs == zs == 200 and set(k for k, _ in cp) <= set(k for k, _ in zp),
   "system_properties answers: keys ZooKeeper has")

zs, _ = get(zk_admin, "monitor")
is_(zs, 500, "ZooKeeper's monitor fails without a server (the documented difference)")
is_(get(co_admin, "monitor"), (200, [("command", "monitor"), ("error", NOT_SERVING)]),
    "corrald's monitor: the not-serving error")
is_(get(co_admin, "mntr"), (200, [("command", "mntr"), ("error", NOT_SERVING)]),
    "and mntr, named as asked")

ok(co[1].alive() and not co[1].sanitizer_report(), "corrald ran clean")
done()
