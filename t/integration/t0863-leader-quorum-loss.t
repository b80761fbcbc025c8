#!/usr/bin/python3
"""t0863 — a corrald leader that loses its quorum steps down
(ZK-QUORUM-PROTOCOL.md §2.10; Leader.lead's "Not sufficient followers synced").

corrald (sid 3, module.storage=file) leads two Apache ZooKeeper followers.
Both followers are killed with SIGKILL while a write is waiting for its quorum
(proposed, durable on corrald, never ACKed by anyone else).  Checked: corrald
ends its leadership within syncLimit*tickTime and a margin, logs why (the sids
it was still synced with), closes its client connections (the kazoo client
sees its connection drop), abandons the outstanding proposal without answering
it, and looks for a leader again; no crash, sanitizers silent.  Then the
followers come back: the ensemble forms again in a new epoch (corrald, whose
log holds the abandoned txn, leads it, as ZooKeeper's fastForwardDataBase
would have it) and every member reaches the same zxid."""
import os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, srvr_zxid

e = Ensemble([("zk", 1), ("zk", 2), ("corrald", 3)], start=False)
z1, z2, c = e[1], e[2], e[3]
with open(c.cfg) as f:
    cfg = f.read().replace("module.storage=mem", "module.storage=file")
with open(c.cfg, "w") as f:
    f.write(cfg)
for m in (z1, z2, c):
    m.start()
ok(wait_for(lambda: z1.mode() == "follower" and z2.mode() == "follower", 90, 0.3),
   "ZooKeeper 1 and 2 follow corrald")

states = []
zk = kazoo("127.0.0.1:%d" % c.client_port)
zk.add_listener(lambda s: states.append(s))
zk.create("/t0863", b"before")
before = srvr_zxid(c.client_port)

z1.kill()
z2.kill()
killed = time.time()
pending = zk.create_async("/t0863/lost", b"no quorum")
stepped = wait_for(lambda: "not sufficient followers synced" in c.output(), 4 + 6, 0.1)
took = time.time() - killed
ok(stepped, "corrald gives up leading after both followers are killed (%.1f s; syncLimit*tickTime "
   "is 4 s)" % took)
out = c.output()
ok("only synced with sids: [ [3] ]" in out, "it logs the sids it was still synced with")
ok(wait_for(lambda: "peer: leader role ends: not sufficient followers synced" in c.output(), 5),
   "the leader role ends with that reason")
ok(wait_for(lambda: "abandons 1 outstanding proposal" in c.output(), 5),
   "the write that had no quorum is abandoned")
ok(wait_for(lambda: "SUSPENDED" in [str(s) for s in states], 10),
   "the client's connection is closed (kazoo: SUSPENDED)")
ok(not pending.ready() or pending.exception is not None,
   "the abandoned write is not answered as a success")
ok(wait_for(lambda: "election: looking for a leader" in
            c.output()[c.output().index("not sufficient followers synced"):], 10),
   "corrald looks for a leader again")
ok(c.alive() and c.sanitizer_report() is None, "corrald is running, sanitizers silent")
zk.stop(); zk.close()

# the followers return: a new epoch, the abandoned txn kept (it is in corrald's log)
z1.start()
z2.start()
ok(wait_for(lambda: z1.mode() == "follower" and z2.mode() == "follower", 90, 0.3),
   "the ZooKeeper servers follow again")
ok(wait_for(lambda: "epoch 0x2 established" in c.output(), 30), "corrald leads epoch 2")
last = srvr_zxid(c.client_port)
ok(last is not None and last > before, "corrald's zxid moved past the one before the loss (0x%x)" % (last or 0))
for z in (z1, z2):
    ok(wait_for(lambda: srvr_zxid(z.client_port) == last, 20, 0.2),
       "ZooKeeper %d is at corrald's zxid" % z.sid)
zk = kazoo("127.0.0.1:%d" % c.client_port)
ok(zk.exists("/t0863/lost") is not None, "the txn durable on the old leader survived (fast-forwarded)")
zk.create("/t0863/after", b"x")
zk.stop(); zk.close()
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
e.stop()
done()
