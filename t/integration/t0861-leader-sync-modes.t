#!/usr/bin/python3
"""t0861 — how a corrald leader syncs an Apache ZooKeeper 3.8 follower
(ZK-QUORUM-PROTOCOL.md §2.5, §2.6; LearnerHandler.syncFollower's table).

corrald (sid 3, module.storage=mem keeping no log, so only its committed-txn
window can serve a DIFF) leads ZooKeeper 1 and 2.  ZooKeeper 1 is taken
through the three sync modes, and each time ZooKeeper logs the mode it got,
reaches corrald's zxid, and its data dir ends up holding corrald's tree:

  DIFF   stopped, the ensemble writes on, restarted: "Getting a diff from the
         leader" (from corrald's window of committed txns);
  SNAP   stopped and its data dir wiped: "Getting a snapshot from leader"
         (its zxid 0 is older than the window);
  TRUNC  stopped; a standalone corrald on its data dir adds txns the leader
         never had (as an old leader's uncommitted proposals); restarted:
         "Truncating log to get in sync with the leader" to corrald's zxid,
         and the extra node is gone."""
import glob, os, shutil, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import corraltest as ct
from corraltest import *
from ensembletest import Ensemble, srvr_zxid, tree, data_dir_tree

e = Ensemble([("zk", 1), ("zk", 2), ("corrald", 3)], start=False)
z1, z2, c = e[1], e[2], e[3]
for m in (z1, z2, c):
    m.start()
ok(wait_for(lambda: z1.mode() == "follower" and z2.mode() == "follower", 90, 0.3),
   "ZooKeeper 1 and 2 follow corrald")
zk = kazoo("127.0.0.1:%d" % c.client_port)
zk.create("/t0861", b"r")
for i in range(10):
    zk.create("/t0861/a%d" % i, b"a")


def rejoin(mark, desc):
    before = z1.output().count(mark)
    z1.start()
    ok(wait_for(lambda: z1.mode() == "follower", 60, 0.3), "ZooKeeper 1 follows again after " + desc)
    last = srvr_zxid(c.client_port)
    ok(wait_for(lambda: srvr_zxid(z1.client_port) == last, 20, 0.2),
       "... at corrald's zxid 0x%x" % last)
    got = z1.output().count(mark) > before
    ok(got, "... and ZooKeeper logs '%s'" % mark)
    if not got:
        diag("\n".join(l for l in z1.output().splitlines() if "Learner" in l)[-2000:])


# DIFF
z1.stop()
for i in range(10):
    zk.create("/t0861/b%d" % i, b"b")
zk.set("/t0861/a1", b"changed")
rejoin("Getting a diff from the leader", "a restart (DIFF)")
ok("using the committed-txn window for peer sid: 1" in c.output(), "corrald served it from its window")

# SNAP
z1.stop()
v2 = os.path.join(z1.data, "version-2")
shutil.rmtree(v2)
zk.delete("/t0861/b3")
rejoin("Getting a snapshot from leader", "its data dir was wiped (SNAP)")

# TRUNC: ZooKeeper 1 logs txns in corrald's epoch that corrald never had
z1.stop()
leader_last = srvr_zxid(c.client_port)
copy = os.path.join(e.base, "z1-standalone")
shutil.copytree(z1.data, copy)
alone = ct.Corrald({"dataDir": copy, "module.storage": "file"})
za = kazoo(alone.hosts)
za.create("/t0861/never-committed", b"x")
za.stop(); za.close()
alone_last = srvr_zxid(alone.port)
alone.stop()
ok(alone_last >> 32 == leader_last >> 32 and alone_last > leader_last,
   "the standalone server logged txns past corrald's 0x%x in its epoch (to 0x%x)" %
   (leader_last, alone_last))
for f in glob.glob(os.path.join(copy, "version-2", "snapshot.*")):
    if int(f.rsplit(".", 1)[1], 16) > leader_last:
        os.remove(f)        # only the log holds them, as an old leader's proposals
shutil.rmtree(v2)
shutil.copytree(os.path.join(copy, "version-2"), v2)
rejoin("Truncating log to get in sync with the leader 0x%x" % leader_last, "it logged txns corrald "
       "never had (TRUNC)")
ok("sending TRUNC zxid=0x%x for peer sid: 1" % leader_last in c.output(), "corrald sent TRUNC")
zk.create("/t0861/after", b"x")
last = srvr_zxid(c.client_port)
ok(wait_for(lambda: srvr_zxid(z1.client_port) == last, 20, 0.2), "ZooKeeper 1 follows the next write")
leader_tree = tree(zk)
zk.stop(); zk.close()
z1.stop()
got = data_dir_tree(z1)
ok(got == leader_tree and "/t0861/never-committed" not in got,
   "ZooKeeper 1's data dir holds corrald's tree, without the truncated node")
if got != leader_tree:
    diag("missing %r extra %r" % (sorted(set(leader_tree) - set(got)), sorted(set(got) - set(leader_tree))))
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
e.stop()
done()
