#!/usr/bin/python3
"""t0571 — a session with any number of ephemerals can close, be logged and
read back, by corrald and by Apache ZooKeeper 3.8.

ZooKeeper 3.8 writes a closed session's ephemeral paths into its
closeSession txn (CloseSessionTxn) and can then not read its own log past
~2 MB of paths: one client with tens of thousands of long-named ephemerals
leaves a data dir that will not load.  corrald logs such a close without the
path list when the list would pass the txn limit (ZooKeeper's reader takes
that form too: it then deletes the ephemerals its tree says the session
owns, as corrald's replay does).  Here a client creates 40,000 ephemerals
of 200-byte names (8 MB of paths), pipelined, and closes; a second session
with a few ephemerals closes with its list.  corrald restarts from the log
with all of them gone, and so does ZooKeeper on a copy of the data dir."""
import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import (Corrald, ZooKeeper, corrald_only, diag, done, is_, kazoo, ok,  # noqa: E402
                        wait_for)

COUNT = 40000
NAME = "x" * 194

if corrald_only("file storage"):
    srv = Corrald({"module.storage": "file", "snapCount": "1000000"})
    zk = kazoo(srv.hosts)
    zk.create("/e", b"")
    zk.create("/keep", b"kept")
    owner = kazoo(srv.hosts)
    session = owner.client_id[0]
    for start in range(0, COUNT, 2000):
        batch = [owner.create_async("/e/%05d-%s" % (i, NAME), b"", ephemeral=True)
                 for i in range(start, min(start + 2000, COUNT))]
        for a in batch:
            a.get(timeout=60)
    is_(zk.get("/e")[1].numChildren, COUNT, "40,000 ephemerals of 200-byte names")
    few = kazoo(srv.hosts)
    for i in range(3):
        few.create("/e/few-%d" % i, b"", ephemeral=True)
    few.stop()
    few.close()
    owner.stop()
    owner.close()
    ok(wait_for(lambda: zk.get("/e")[1].numChildren == 0, 30), "both sessions close: no ephemeral left")
    ok(("closeSession of 0x%x: its %d ephemeral paths take" % (session, COUNT)) in srv.output(),
       "the big close is logged without its path list, saying so")
    zk.create("/after", b"a")
    zk.stop()
    zk.close()
    srv.stop(signal.SIGKILL)

    srv.start(timeout=120)
    zk = kazoo(srv.hosts)
    is_(zk.get("/e")[1].numChildren, 0, "corrald restarts from its log with the ephemerals gone")
    ok(zk.exists("/after") is not None and zk.get("/keep")[0] == b"kept", "and everything else there")
    zk.stop()
    zk.close()
    srv.check_clean_exit()

    data = os.path.join(srv.dir, "zk-data")
    shutil.copytree(os.path.join(srv.dir, "data"), data)
    try:
        zoo = ZooKeeper({"dataDir": data})
        z = kazoo(zoo.hosts)
        ok(z.get("/e")[1].numChildren == 0 and z.exists("/after") is not None,
           "Apache ZooKeeper loads the same data dir: the ephemerals gone, later txns there")
        z.stop()
        z.close()
        zoo.stop()
    except RuntimeError as e:
        ok(False, "Apache ZooKeeper loads the same data dir")
        diag("\n".join(l for l in str(e).splitlines() if "Exception" in l or "ERROR" in l)[-1500:])

done()
