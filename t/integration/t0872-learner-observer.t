#!/usr/bin/python3
"""t0872 — corrald as an observer of Apache ZooKeeper 3.8 (sid 1, observer;
ZooKeeper 2 and 3 participants): it syncs (OBSERVERINFO), the ZooKeeper
leader counts it as a synced observer (mntr zk_synced_observers), it
learns the broadcast from INFORM only (no PROPOSAL reaches it), forwards its
clients' writes and syncs, and a watch set on it fires for a write on a
ZooKeeper member."""
import os, re, sys, threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, zk_leader_follower, tree

e = Ensemble([("corrald", 1, "observer"), ("zk", 2), ("zk", 3)])
c = e[1]
z3, z2 = zk_leader_follower(e[2], e[3])
ok(z3 is not None, "one ZooKeeper member leads, the other follows (srvr Mode)")
ok(wait_for(lambda: ("peer: serving clients as observer (leader %d)" % z3.sid) in c.output(), 30),
   "corrald serves as an observer of the ZooKeeper leader")


def synced_observers():
    m = re.search(r"zk_synced_observers\s+(\d+)", four_letter(z3.client_port, "mntr"))
    return int(m.group(1)) if m else None


ok(wait_for(lambda: synced_observers() == 1, 15), "the ZooKeeper leader counts one synced observer")
k = kazoo("127.0.0.1:%d" % c.client_port)
kz = kazoo("127.0.0.1:%d" % z2.client_port)
k.create("/o", b"1")
is_(k.get("/o")[0], b"1", "a write through the observer is read back on it")
kz.sync("/o")
is_(kz.get("/o")[0], b"1", "and is on the ZooKeeper follower")
fired = threading.Event()
k.get("/o", watch=lambda ev: fired.set())
kz.set("/o", b"2")
ok(fired.wait(15), "a watch on the observer fires for a write on the ZooKeeper follower")
for i in range(20):
    kz.create("/o/n%d" % i, b"%d" % i)
k.sync("/o")
is_(tree(k), tree(kz), "after sync() the observer's tree is the ensemble's")
ok("observer ignores" not in c.output(), "no PROPOSAL or COMMIT reached the observer after its sync")
k.stop(); k.close()
kz.stop(); kz.close()
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
e.stop()
done()
