#!/usr/bin/python3
"""t0884 — a 5-member Corral ensemble with an observer, module.storage=mem
(a restarted member comes back empty and must be sent a snapshot).

With two participants killed (-9) the other three are a quorum: they serve,
writes go on.  With a third killed, the two left are no quorum: they stop
serving (no session opens on them, nor on the observer).  One member
restarted makes a quorum again: the ensemble serves, and every member that
runs holds the same tree, the empty-restarted one included."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
import corraltest as ct
from ensembletest import Ensemble
from ensemblecheck import wait_serving, serving, same_trees, hosts

e = Ensemble([("corrald", s) for s in (1, 2, 3, 4, 5)] + [("corrald", 6, "observer")])
ok(wait_serving(e.members, 60), "six members serve")
zk = kazoo(hosts(e.members))
zk.ensure_path("/five")
for i in range(50):
    zk.create("/five/a%02d" % i, b"%d" % i)
zk.stop()
zk.close()

e[5].kill()
e[4].kill()
live = [e[s] for s in (1, 2, 3, 6)]
ok(wait_serving(live, 60), "with 4 and 5 killed, three participants (and the observer) still serve")
zk = kazoo(hosts(live))
for i in range(50):
    zk.create("/five/b%02d" % i, b"%d" % i)
zk.stop()
zk.close()

e[3].kill()
left = [e[s] for s in (1, 2, 6)]
ok(wait_for(lambda: not any(serving(m) for m in left), 30),
   "with a third participant killed, no member serves (two of five are no quorum)")

e[4].start()
back = [e[s] for s in (1, 2, 4, 6)]
ok(wait_serving(back, 60), "member 4 restarted (empty: mem storage): a quorum again, all serve")
zk = kazoo(hosts(back))
zk.sync("/five")
is_(len(zk.get_children("/five")), 100, "no write was lost")
zk.create("/five/c", b"")
zk.stop()
zk.close()
good, why = same_trees(back)
ok(good, "the running members hold the same tree, the restarted one included")
if not good:
    diag(why)
for m in e.members:
    if m.alive():
        status = m.stop()
        if not ok(status == 0 and m.sanitizer_report() is None, "member %d stops cleanly" % m.sid):
            diag(m.output()[-3000:])
done()
