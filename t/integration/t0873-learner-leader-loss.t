#!/usr/bin/python3
"""t0873 — the leader goes: corrald (sid 1) follows ZooKeeper 3 with ZooKeeper 2;
kill -9 of ZooKeeper 3 makes corrald drop the leader, close its client
connections and stop serving, and take part in the new election with the
ZooKeeper survivor.  Whichever leads (ZooKeeper 2 wins on its higher sid with
equal zxids; were corrald to lead, that is the leader role's), the ensemble
serves again, and when corrald follows ZooKeeper 2 its client's session
resumes on it (REVALIDATE to the new leader) with its ephemeral and data."""
import os, re, signal, sys, threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, tree

e = Ensemble([("corrald", 1), ("zk", 2), ("zk", 3)])
c, z2, z3 = e[1], e[2], e[3]
ok(wait_for(lambda: z3.mode() == "leader" and z2.mode() == "follower", 90, 0.3),
   "ZooKeeper 3 leads and ZooKeeper 2 follows")
ok(wait_for(lambda: "peer: serving clients as follower (leader 3)" in c.output(), 30),
   "corrald follows 3 and serves")
states = []
k = kazoo("127.0.0.1:%d" % c.client_port)
k.add_listener(lambda s: states.append(s))
k.create("/keep", b"data")
k.create("/keep/eph", b"", ephemeral=True)
sid = k.client_id[0]
before = len(c.decisions())

z3.kill()
ok(wait_for(lambda: "learner: connection to leader 3" in c.output() or
            "learner: dropping leader 3" in c.output(), 15),
   "corrald sees the leader gone")
ok(wait_for(lambda: re.search(r"peer: not serving; closed [1-9]\d* client connection", c.output()), 10),
   "it stops serving and closes its client connections")
ok(wait_for(lambda: "SUSPENDED" in [str(s) for s in states], 10), "the client is disconnected")
ok(wait_for(lambda: len(c.decisions()) > before, 60), "corrald takes part in a new election")
new = c.decisions()[before:] if len(c.decisions()) > before else []
leader = new[-1][0] if new else None
diag("new decisions: %r" % new)
if leader == 2:
    ok(wait_for(lambda: z2.mode() == "leader", 60, 0.3), "ZooKeeper 2 leads")
    ok(wait_for(lambda: "peer: serving clients as follower (leader 2)" in c.output(), 60),
       "corrald follows ZooKeeper 2 and serves again")
    ok(wait_for(lambda: k.connected and k.client_id[0] == sid, 30),
       "the client's session resumes (the same session id)")
    st = k.exists("/keep/eph")
    ok(st is not None and st.ephemeralOwner == sid, "its ephemeral survived the change of leader")
    is_(k.get("/keep")[0], b"data", "and its data")
    k.set("/keep", b"new leader")
    kz = kazoo("127.0.0.1:%d" % z2.client_port)
    is_(kz.get("/keep")[0], b"new leader", "a write through corrald reaches the new leader")
    kz.stop(); kz.close()
else:
    ok(leader == 1, "corrald was elected (the leader role's to go on from here)")
k.stop(); k.close()
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
e.stop()
done()
