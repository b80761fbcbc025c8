#!/usr/bin/python3
"""t0540 — the operator CLI: `corral status` reports mode, zxid and node count,
`corral WORD` passes any four-letter word, `corral snapshot` makes the file
storage write a snapshot at once (a new snapshot.<zxid> appears holding the
latest writes, and the server restarts from it), the mem storage says it keeps
none, an unreachable server exits 1, bad usage exits 2."""
import glob, os, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

CLI = os.path.join(BUILD, "tools", "corral")


def corral(*args):
    r = subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


srv = Corrald({"module.storage": "file", "snapCount": "100000"})
hosts = srv.hosts
zk = kazoo(hosts)
for i in range(20):
    zk.create("/snap-%d" % i, b"v%d" % i)
rc, out = corral("-s", hosts, "status")
is_(rc, 0, "corral status exits 0")
ok("Mode: standalone" in out and "Zxid: 0x" in out and "Node count: " in out,
   "corral status shows mode, zxid and node count")
rc, out = corral("-s", hosts, "ruok")
is_((rc, out.strip()), (0, "imok"), "corral passes a four-letter word")

snapdir = os.path.join(srv.dir, "data", "version-2")
before = set(glob.glob(os.path.join(snapdir, "snapshot.*")))
rc, out = corral("-s", hosts, "snapshot")
ok(rc == 0 and "Snapshot started" in out, "corral snapshot starts one")
ok(wait_for(lambda: set(glob.glob(os.path.join(snapdir, "snapshot.*"))) - before, 20),
   "a new snapshot file appears")
new = sorted(set(glob.glob(os.path.join(snapdir, "snapshot.*"))) - before)
zxid = int(new[-1].rsplit(".", 1)[1], 16) if new else 0
ok(zxid >= zk.exists("/snap-19").mzxid, "it covers the last write (snapshot.%x)" % zxid)
zk.stop(); zk.close()
ok(srv.stop() == 0, "corrald stops")
srv.start()
zk = kazoo(hosts)
is_(zk.get("/snap-19")[0], b"v19", "the restarted server has the data")
zk.stop(); zk.close()
srv.check_clean_exit()

mem = Corrald()
rc, out = corral("-s", mem.hosts, "snapshot")
ok("keeps no snapshots" in out, "with mem storage, corral snapshot says there are none")
mem.check_clean_exit("the mem server stops cleanly")
rc, out = corral("-s", "127.0.0.1:%d" % free_port(), "status")
is_(rc, 1, "an unreachable server exits 1")
rc, out = corral("frobnicate")
is_(rc, 2, "bad usage exits 2")
done()
