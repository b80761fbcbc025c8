#!/usr/bin/python3
"""t0876 — a follower with module.storage=mem (storage.mem.logCount at its
default 0) keeps what it logged and was never told to commit: a scripted
leader (servers 2 and 3 played by the test) proposes two txns, takes the
follower's ACKs and goes away before its COMMITs.  The follower applies the
two from its log when the role ends (as ZooKeeper's fastForwardDataBase),
reports them in its next ACKEPOCH, and serves them after a DIFF that starts
past them.  Before, the in-memory log dropped them at once: the follower
voted and synced with a zxid whose txns it no longer had (a 5-member
ensemble then elected a leader lacking what its followers held, and never
formed: t0884 failed that way)."""
import os, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, ScriptedLeader, FakeBroadcast, create_txn

e = Ensemble([("corrald", 1), ("zk", 2), ("zk", 3)], start=False)
c = e[1]
c.write_config([m.server_line() for m in e.members], {"module.storage": "mem"})
L = ScriptedLeader(e)
c.start()

q, _, _, last, current = L.handshake(1)
ok(last == 0 and current == struct.pack(">i", 0), "epoch 1: ACKEPOCH from an empty member")
q.send("DIFF", 0)
ok(ScriptedLeader.newleader(q, 1), "epoch 1: NEWLEADER and UPTODATE ACKed")
x, y = 0x100000001, 0x100000002
q.send("PROPOSAL", x, create_txn(x, "/x", b"X"))
q.send("PROPOSAL", y, create_txn(y, "/y", b"Y"))
acked = set()
for _ in range(16):
    t, zxid, _ = q.read()
    if t == "ACK":
        acked.add(zxid)
    if {x, y} <= acked:
        break
ok({x, y} <= acked, "both proposals ACKed (logged), no COMMIT sent")
q.close()
if not ok(wait_for(lambda: "applied 2 logged txn(s) the role had not applied" in c.output(), 15),
          "with the leader gone, the follower applies the two from its log"):
    diag(c.output()[-3000:])
ok("cannot be read back" not in c.output(), "the in-memory log still had them")

q, info_zxid, _, last, current = L.handshake(2)
ok(info_zxid == 1 << 32, "epoch 2: FOLLOWERINFO says acceptedEpoch 1")
ok(last == y and current == struct.pack(">i", 1),
   "epoch 2: ACKEPOCH reports 0x%x (got 0x%x), currentEpoch 1" % (y, last))
q.send("DIFF", y)
ok(ScriptedLeader.newleader(q, 2), "epoch 2: a DIFF with nothing past 0x%x, NEWLEADER, UPTODATE" % y)
ok(wait_for(lambda: c.output().count("peer: serving clients as follower") >= 2, 10), "epoch 2: serving")
b = FakeBroadcast(q, y)
k = kazoo("127.0.0.1:%d" % c.client_port, timeout=10)
is_((k.get("/x")[0], k.get("/y")[0]), (b"X", b"Y"), "the two txns are served")
k.stop()
k.close()
b.stop()
q.close()
L.stop()
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly")
done()
