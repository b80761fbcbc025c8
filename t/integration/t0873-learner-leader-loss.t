#!/usr/bin/python3
"""t0873 — the leader goes: corrald (sid 1) follows the ZooKeeper leader (3 on a
fresh ensemble) with the other ZooKeeper member; kill -9 of the ZooKeeper
leader makes corrald drop it, close its client connections and stop serving,
and take part in the new election with the ZooKeeper survivor.  Whichever
leads (the survivor wins on its higher sid with equal zxids; were corrald to
lead, that is the leader role's), the ensemble serves again, and when
corrald follows the survivor its client's session
resumes on it (REVALIDATE to the new leader) with its ephemeral and data."""
import os, re, signal, sys, threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, zk_leader_follower, tree

e = Ensemble([("corrald", 1), ("zk", 2), ("zk", 3)])
c = e[1]
z3, z2 = zk_leader_follower(e[2], e[3])
ok(z3 is not None, "one ZooKeeper member leads, the other follows (srvr Mode)")
ok(wait_for(lambda: ("peer: serving clients as follower (leader %d)" % z3.sid) in c.output(), 30),
   "corrald follows 3 and serves")
states = []
k = kazoo("127.0.0.1:%d" % c.client_port)
k.add_listener(lambda s: states.append(s))
k.create("/keep", b"data")
k.create("/keep/eph", b"", ephemeral=True)
sid = k.client_id[0]
before = len(c.decisions())

z3.kill()
ok(wait_for(lambda: ("learner: connection to leader %d" % z3.sid) in c.output() or
            ("learner: dropping leader %d" % z3.sid) in c.output(), 15),
   "corrald sees the leader gone")
ok(wait_for(lambda: re.search(r"peer: not serving; closed [1-9]\d* client connection", c.output()), 10),
   "it stops serving and closes its client connections")
ok(wait_for(lambda: "SUSPENDED" in [str(s) for s in states], 10), "the client is disconnected")
ok(wait_for(lambda: len(c.decisions()) > before, 60), "corrald takes part in a new election")
new = c.decisions()[before:] if len(c.decisions()) > before else []
leader = new[-1][0] if new else None
diag("new decisions: %r" % new)
if leader == z2.sid:
    ok(wait_for(lambda: z2.mode() == "leader", 60, 0.3), "the ZooKeeper survivor leads")
    ok(wait_for(lambda: ("peer: serving clients as follower (leader %d)" % z2.sid) in c.output(), 60),
       "corrald follows the ZooKeeper survivor and serves again")
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
