#!/usr/bin/python3
"""t0864 — a corrald leader syncs learners that join while it is writing, and
forceSnapshotSync (ZK-QUORUM-PROTOCOL.md §2.3, §2.5: startForwarding).

1. corrald (sid 3, module.storage=file) leads ZooKeeper 1 and 2; a client
   writes without pause through corrald.  Meanwhile ZooKeeper 1 is killed and
   restarted (synced while proposals are in flight: it must get every txn
   after its sync point once, none lost), and observer 4 starts late.  When
   the writer stops, every member reaches corrald's zxid, and each data dir
   holds exactly corrald's tree.
2. forceSnapshotSync=true on corrald (ZooKeeper's zookeeper.forceSnapshotSync
   as a zoo.cfg key): both followers of a fresh ensemble, which would get an
   empty DIFF, get a snapshot ("Getting a snapshot from leader"), and a
   follower restarted after writes too."""
import os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, srvr_zxid, tree, data_dir_tree


def use_file_storage(m, extra=""):
    with open(m.cfg) as f:
        cfg = f.read().replace("module.storage=mem", "module.storage=file")
    with open(m.cfg, "w") as f:
        f.write(cfg + extra)


# --- 1. joining under load ---------------------------------------------------
e = Ensemble([("zk", 1), ("zk", 2), ("corrald", 3), ("zk", 4, "observer")], start=False)
z1, z2, c, z4 = e[1], e[2], e[3], e[4]
use_file_storage(c)
for m in (z1, z2, c):
    m.start()
ok(wait_for(lambda: z1.mode() == "follower" and z2.mode() == "follower", 90, 0.3),
   "ZooKeeper 1 and 2 follow corrald")
zk = kazoo("127.0.0.1:%d" % c.client_port)
zk.create("/t0864", b"r")
stop = threading.Event()
written = [0]
errors = []


def writer():
    try:
        while not stop.is_set():
            batch = [zk.create_async("/t0864/n-", b"%d" % written[0], sequence=True) for _ in range(5)]
            for r in batch:
                r.get(timeout=20)
                written[0] += 1
    except Exception as ex:         # reported below
        errors.append(repr(ex))


t = threading.Thread(target=writer)
t.start()
time.sleep(1)
z1.kill()
time.sleep(1)
z1.start()
z4.start()
joined = wait_for(lambda: z1.mode() == "follower" and z4.mode() == "observer", 60, 0.3)
ok(joined, "ZooKeeper 1 (restarted) and observer 4 (late) join while corrald writes")
time.sleep(1)
stop.set()
t.join(60)
ok(not errors and written[0] > 20, "the writer's %d creates all succeeded" % written[0])
if errors:
    diag(errors[0])
last = srvr_zxid(c.client_port)
for z in (z1, z2, z4):
    ok(wait_for(lambda: srvr_zxid(z.client_port) == last, 20, 0.2),
       "ZooKeeper %d reaches corrald's zxid 0x%x" % (z.sid, last))
bad = [l for z in (z1, z4) for l in z.output().splitlines() if "Exception when following" in l
       or "Exception when observing" in l]
ok(not bad, "neither learner failed its sync (a COMMIT between NEWLEADER and UPTODATE kills a "
   "3.8.0 learner: ZOOKEEPER-4394)")
if bad:
    diag(bad[0])
leader_tree = tree(zk)
zk.stop(); zk.close()
ok(len(leader_tree) == written[0] + 2, "corrald's tree has every node written (%d)" % len(leader_tree))
for z in (z1, z2, z4):
    z.stop()
    got = data_dir_tree(z)
    same = got == leader_tree
    ok(same, "ZooKeeper %d's data dir holds corrald's tree" % z.sid)
    if not same:
        diag("missing %r extra %r" % (sorted(set(leader_tree) - set(got))[:5],
                                      sorted(set(got) - set(leader_tree))[:5]))
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
e.stop()

# --- 2. forceSnapshotSync ----------------------------------------------------
e = Ensemble([("zk", 1), ("zk", 2), ("corrald", 3)], start=False)
z1, z2, c = e[1], e[2], e[3]
with open(c.cfg, "a") as f:
    f.write("forceSnapshotSync=true\n")
for m in (z1, z2, c):
    m.start()
ok(wait_for(lambda: z1.mode() == "follower" and z2.mode() == "follower", 90, 0.3),
   "with forceSnapshotSync, ZooKeeper 1 and 2 follow corrald")
ok(all("Getting a snapshot from leader" in z.output() for z in (z1, z2)),
   "both got a snapshot where an empty DIFF would do")
ok("forcing snapshot sync for peer sid: 1" in c.output(), "corrald logs that it forces it")
zk = kazoo("127.0.0.1:%d" % c.client_port)
zk.create("/t0864b", b"x")
z2.stop()
zk.create("/t0864b/y", b"y")
n = z2.output().count("Getting a snapshot from leader")
z2.start()
ok(wait_for(lambda: z2.mode() == "follower", 60, 0.3) and
   z2.output().count("Getting a snapshot from leader") > n, "a restarted follower gets a snapshot too")
last = srvr_zxid(c.client_port)
ok(wait_for(lambda: srvr_zxid(z2.client_port) == last, 20, 0.2), "... and reaches corrald's zxid")
zk.stop(); zk.close()
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
e.stop()
done()
