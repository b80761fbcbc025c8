#!/usr/bin/python3
"""t0550 — the corral CLI's client commands (ls, get, set, create, delete,
stat, watch, shell) against corrald, checked through kazoo: each does what
it says, a ZooKeeper error is a message and exit 1, bad usage exit 2, watch
prints the event that fired, and shell runs a script of commands on one
session (an ephemeral it creates lives until the script ends).  The same
commands run against Apache ZooKeeper print the same."""
import os, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

CORRAL = os.path.join(BUILD, "tools", "corral")


def cli(srv, *args, stdin=None):
    p = subprocess.run([CORRAL, "-s", srv.hosts] + list(args), input=stdin, capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


srv = Corrald()
zk = kazoo(srv.hosts)

rc, out, err = cli(srv, "create", "/app", "v1")
is_((rc, out), (0, "Created /app\n"), "create PATH DATA creates and says so")
is_(zk.get("/app")[0], b"v1", "the node holds the data (kazoo)")
rc, out, err = cli(srv, "create", "-s", "/app/seq-", "x")
is_((rc, out), (0, "Created /app/seq-0000000000\n"), "create -s prints the sequential name")
cli(srv, "create", "/app/b")
rc, out, err = cli(srv, "ls", "/app")
is_((rc, out), (0, "b\nseq-0000000000\n"), "ls prints the children one per line, sorted")
rc, out, err = cli(srv, "get", "/app")
is_((rc, out), (0, "v1\n"), "get prints the data")
rc, out, err = cli(srv, "set", "/app", "v2", "0")
ok(rc == 0 and zk.get("/app")[0] == b"v2", "set PATH DATA VERSION writes (kazoo sees it)")
rc, out, err = cli(srv, "set", "/app", "v3", "0")
ok(rc == 1 and "bad version" in err.lower(), "a stale version is refused: exit 1, ZooKeeper's message")
diag(err.strip())
rc, out, err = cli(srv, "stat", "/app")
st = zk.exists("/app")
lines = dict(l.split(" = ", 1) for l in out.splitlines())
is_((lines.get("dataVersion"), lines.get("numChildren"), lines.get("cZxid")),
    (str(st.version), str(st.numChildren), hex(st.czxid)), "stat prints the node's Stat as zkCli does")
rc, out, err = cli(srv, "delete", "/app")
ok(rc == 1 and "not empty" in err.lower(), "delete of a node with children: exit 1, 'not empty'")
rc, out, err = cli(srv, "get", "/nowhere")
ok(rc == 1 and "no node" in err.lower() and "/nowhere" in err, "get of a missing node names it: exit 1")
rc, out, err = cli(srv, "get")
is_(rc, 2, "a command without its path is bad usage: exit 2")
rc, out, err = cli(srv, "create", "-x", "/y")
is_(rc, 2, "an unknown create flag is bad usage: exit 2")

# watch: prints the first event on the node, then exits
w = subprocess.Popen([CORRAL, "-s", srv.hosts, "watch", "/app/b"], stdout=subprocess.PIPE, text=True)
# The watch is set some time after the process starts: change the node until
# the process has seen a change and exited (each set fires NodeDataChanged).
for i in range(60):
    zk.set("/app/b", b"changed %d" % i)
    if wait_for(lambda: w.poll() is not None, 0.5):
        break
try:
    out, _ = w.communicate(timeout=15)
except subprocess.TimeoutExpired:
    w.kill()
    out, _ = w.communicate()
is_((w.returncode, out.strip()), (0, "WatchedEvent state:SyncConnected type:NodeDataChanged path:/app/b"),
    "watch PATH prints the event a change fires and exits 0")

# shell: one session for the whole script
script = "\n".join([
    "# a comment",
    'create -e /eph "an ephemeral"',
    "get /eph",
    "stat /eph",
    "delete /app/b",
    "ls /app",
    "get /missing",
    "quit",
    "get /app",
]) + "\n"
rc, out, err = cli(srv, "shell", stdin=script)
outl = out.splitlines()
ok(outl[:2] == ["Created /eph", "an ephemeral"], "shell runs commands in order (create -e, then get)")
owner = [l for l in outl if l.startswith("ephemeralOwner = ")]
ok(owner and owner[0] != "ephemeralOwner = 0x0", "the ephemeral belongs to the shell's session")
ok(outl[-1] == "seq-0000000000", "delete and ls run on (the deleted child is gone)")
is_(rc, 1, "a failed command makes the shell's exit status 1; quit ends it (nothing after it ran)")
ok(wait_for(lambda: zk.exists("/eph") is None, 10), "the shell's ephemeral goes when its session ends")

zk.stop()
srv.check_clean_exit()

# the same client commands against Apache ZooKeeper
zks = ZooKeeper()
cli(zks, "create", "/app", "v1")
cli(zks, "create", "-s", "/app/seq-", "x")
cli(zks, "create", "/app/b")
rc, out, err = cli(zks, "ls", "/app")
is_((rc, out), (0, "b\nseq-0000000000\n"), "against ZooKeeper: ls prints the same")
rc, out, err = cli(zks, "get", "/nowhere")
ok(rc == 1 and "no node" in err.lower(), "against ZooKeeper: the same error message and status")
done()
