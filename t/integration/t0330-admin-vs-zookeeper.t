#!/usr/bin/python3
"""t0330 — differential: the same kazoo workload against Apache ZooKeeper 3.8
(AdminServer on) and Corral, then every admin command on both.  Each answer
must have ZooKeeper's keys in ZooKeeper's order with the same JSON types,
and the figures that depend only on the workload (node and ephemeral
counts, watch summaries, watched and ephemeral paths) must be equal.
Known, intended differences: ZooKeeper's monitor has ~500 JVM/processor
metrics (Corral answers the mntr set, each with ZooKeeper's name and type);
environment/system_properties list JVM properties; 3.8 answers an unknown
command with 200, Corral with 404 as ZooKeeper 3.9 does."""
import json, os, sys, urllib.error, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from corraltest import _servers, _session_opens


def get(port, name):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/commands/%s" % (port, name), timeout=15) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def shape(v, key=None):
    """Keys (in order) and JSON types, recursively; map keys that are ids/times are
    wildcarded.  ZooKeeper serializes its ServerStats bean in whatever order the JVM
    lists getters, which changes from run to run: that object's keys are sorted."""
    if isinstance(v, dict):
        items = sorted(v.items()) if key == "server_stats" else v.items()
        return [(k if not k.lstrip("-").isdigit() else "<id>", shape(x, k)) for k, x in items]
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    if isinstance(v, bool) or v is None:
        return repr(v) if v is None else "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


class AdminZooKeeper(ZooKeeper):
    """corraltest's ZooKeeper, but with Jetty on the classpath so its AdminServer runs."""

    def __init__(self, admin_port):
        import glob, subprocess, tempfile
        self.dir = tempfile.mkdtemp(prefix="zk-admin-t-")
        self.port = free_port()
        cfg = os.path.join(self.dir, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
                    "maxClientCnxns=0\n4lw.commands.whitelist=*\nadmin.enableServer=true\n"
                    "admin.serverPort=%d\nadmin.serverAddress=127.0.0.1\n"
                    % (os.path.join(self.dir, "data"), self.port, admin_port))
        cp = [self.dir] + sorted(glob.glob(os.path.join(ZK_JARS, "*.jar")))
        self.log = os.path.join(self.dir, "zookeeper.log")
        self._logf = open(self.log, "w")
        self.proc = subprocess.Popen(["java", "-Xmx512m", "-cp", ":".join(cp),
                                      "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg],
                                     stdout=self._logf, stderr=subprocess.STDOUT)
        _servers.append(self)
        up = lambda: self.proc.poll() is not None or (_session_opens(self.port) and admin_up(admin_port))
        if not wait_for(up, 90, 0.2) or self.proc.poll() is not None:
            with open(self.log, errors="replace") as f:
                raise RuntimeError("Apache ZooKeeper did not start:\n" + f.read()[-3000:])


def admin_up(port):
    try:
        return get(port, "ruok")[0] == 200
    except OSError:
        return False


zk_admin, co_admin = free_port(), free_port()
try:
    apache = AdminZooKeeper(zk_admin)
except Exception as e:  # noqa: BLE001 - no Java: nothing to compare against
    print("1..0 # SKIP Apache ZooKeeper's AdminServer did not start: %s" % str(e).splitlines()[0])
    sys.exit(0)
corral = Corrald({"admin.serverPort": str(co_admin), "admin.serverAddress": "127.0.0.1"})

clients = []
for srv in (apache, corral):
    a, b = kazoo(srv.hosts), kazoo(srv.hosts)
    a.ensure_path("/app/cfg")
    for i in range(4):
        a.create("/app/n%d" % i, b"v" * i)
    a.create("/app/lock", b"", ephemeral=True)
    b.create("/app/b-lock", b"", ephemeral=True)
    a.get("/app/n1", watch=lambda e: None)
    a.exists("/app/n2", watch=lambda e: None)
    b.get("/app/n1", watch=lambda e: None)
    b.get_children("/app", watch=lambda e: None)
    clients += [a, b]

COMMANDS = ["configuration", "connection_stat_reset", "connections", "dirs", "dump", "get_trace_mask",
            "hash", "initial_configuration", "is_read_only", "last_snapshot", "leader",
            "observer_connection_stat_reset", "observers", "ruok", "server_stats", "set_trace_mask",
            "stats", "voting_view", "watch_summary", "watches", "watches_by_path", "zabstate"]
answers = {}
for name in COMMANDS + ["monitor", "environment"]:
    answers[name] = (get(zk_admin, name), get(co_admin, name))

for name in COMMANDS:
    (zs, zj), (cs, cj) = answers[name]
    if name == "dump":  # ZooKeeper keeps emptied expiry buckets around for a while
        zj["expiry_time_to_session_ids"] = {t: s for t, s in zj["expiry_time_to_session_ids"].items() if s}
    if not is_((cs, shape(cj)), (zs, shape(zj)), "%s: same status, keys, order and types" % name):
        diag("zookeeper: %s\ncorral:    %s" % (json.dumps(zj)[:800], json.dumps(cj)[:800]))

(_, zm), (_, cm) = answers["monitor"]
wrong = [k for k in cm if k not in zm or shape(zm[k]) != shape(cm[k])]
is_(wrong, [], "monitor: each Corral key is ZooKeeper's, with ZooKeeper's type")
order = [k for k in zm if k in cm]
is_(list(cm)[:len(order)], order, "monitor: in ZooKeeper's order")
for k in ("znode_count", "ephemerals_count", "watch_count", "global_sessions", "num_alive_connections",
          "server_state"):
    is_(cm[k], zm[k], "monitor: %s equal (%r)" % (k, zm[k]))
(_, ze), (_, ce) = answers["environment"]
is_([k for k in ce if k not in ze], [], "environment: every key is one ZooKeeper answers")

def values(name, f):
    (_, zj), (_, cj) = answers[name]
    return f(zj), f(cj)

for name, f, what in [
    ("server_stats", lambda j: j["node_count"], "node_count"),
    ("watch_summary", lambda j: (j["num_connections"], j["num_paths"], j["num_total_watches"]), "counts"),
    ("watches_by_path", lambda j: {p: len(s) for p, s in j["path_to_session_ids"].items()}, "paths"),
    ("watches", lambda j: sorted(sorted(p) for p in j["session_id_to_watched_paths"].values()), "paths"),
    ("dump", lambda j: sorted(sorted(p) for p in j["session_id_to_ephemeral_paths"].values()),
     "ephemeral paths"),
    ("dump", lambda j: sum(len(s) for s in j["expiry_time_to_session_ids"].values()), "sessions"),
    ("connections", lambda j: len(j["connections"]), "count"),
    ("configuration", lambda j: (j["tick_time"], j["min_session_timeout"], j["max_session_timeout"]),
     "timeouts"),
    ("is_read_only", lambda j: j["read_only"], "read_only"),
    ("leader", lambda j: j.get("error"), "standalone error"),
    ("zabstate", lambda j: (j["voting"], j["zabstate"]), "standalone state"),
]:
    z, c = values(name, f)
    is_(c, z, "%s: %s equal" % (name, what))

for c in clients:
    c.stop(); c.close()
corral.check_clean_exit()
done()
