#!/usr/bin/python3
"""t0060 — the Java CLI, zkCli.sh from the Debian zookeeper package:
create, get, ls, set, stat and delete against corrald, checked through the
CLI's own output and through kazoo."""
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
srv = server_under_test()


def cli(*args):
    """Run one zkCli.sh command; returns its output without the JVM's log noise."""
    res = subprocess.run([ZKCLI, "-server", srv.hosts] + list(args), capture_output=True,
                         text=True, timeout=120)
    return "\n".join(l for l in (res.stdout + res.stderr).splitlines()
                     if not any(w in l for w in ("INFO", "WARN", "log4j", "SLF4J", "WATCHER", "WatchedEvent")))


out = cli("create", "/cli", "first")
ok("Created /cli" in out, "zkCli create")
out = cli("get", "/cli")
ok("first" in out.splitlines(), "zkCli get shows the data")
cli("create", "/cli/kid", "x")
out = cli("ls", "/cli")
ok("[kid]" in out, "zkCli ls lists the child")
cli("set", "/cli", "second")
out = cli("stat", "/cli")
ok("dataVersion = 1" in out and "numChildren = 1" in out, "zkCli stat shows the new version and the child")
out = cli("get", "/nope")
ok("Node does not exist: /nope" in out, "zkCli reports a missing node as ZooKeeper does")
cli("delete", "/cli/kid")
zk = kazoo(srv.hosts)
is_(zk.get("/cli")[0], b"second", "kazoo sees zkCli's set")
is_(zk.exists("/cli/kid"), None, "and its delete")
zk.stop(); zk.close()
srv.check_clean_exit()
done()
