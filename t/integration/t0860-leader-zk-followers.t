#!/usr/bin/python3
"""t0860 — a corrald leader with Apache ZooKeeper 3.8 followers and an observer
(ZK-QUORUM-PROTOCOL.md §2.3-§2.7, §2.12).

corrald is sid 3, the highest, so a fresh ensemble elects it; ZooKeeper 1 and 2
follow it and ZooKeeper 4 observes.  corrald uses module.storage=file, so its
epochs are files and its txns are fsynced before they count as its ACK.

Checked: the ZooKeeper members reach Mode follower / observer (srvr: they serve
only once UPTODATE came); corrald logs the epoch established and writes
acceptedEpoch/currentEpoch 1; writes through corrald's client port (creates,
setData, delete, an ephemeral, a sequential node, a multi) reach every
member's zxid; the followers' and the observer's data dirs hold exactly
corrald's tree (read back by a standalone corrald on a copy, after they stop).
With quorum/leader_requests merged, writes through the ZooKeeper followers
(forwarded REQUESTs) land on corrald too.  corrald stops cleanly, sanitizers
silent."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, srvr_zxid, tree, data_dir_tree, leader_requests_merged, skip

e = Ensemble([("zk", 1), ("zk", 2), ("corrald", 3), ("zk", 4, "observer")], start=False,
             extra=None)
z1, z2, c, z4 = e[1], e[2], e[3], e[4]
# corrald keeps its data on disk in this test
with open(c.cfg) as f:
    cfg = f.read().replace("module.storage=mem", "module.storage=file")
with open(c.cfg, "w") as f:
    f.write(cfg)
for m in (z1, z2, c, z4):
    m.start()

up = wait_for(lambda: z1.mode() == "follower" and z2.mode() == "follower", 90, 0.3)
ok(up, "ZooKeeper 1 and 2 follow corrald (srvr Mode: follower)")
ok(wait_for(lambda: z4.mode() == "observer", 60, 0.3), "ZooKeeper 4 observes corrald (srvr Mode: observer)")
if not up:
    diag(c.output()[-3000:])
    diag(z1.output()[-3000:])
ok(c.last_decision() == (3, "leading"), "corrald leads")
ok("epoch 0x1 established" in c.output(), "corrald logs the epoch it established with a quorum")
v2 = os.path.join(c.data, "version-2")
def read(name):
    try:
        with open(os.path.join(v2, name)) as f:
            return f.read().strip()
    except OSError:
        return None
is_((read("acceptedEpoch"), read("currentEpoch")), ("1", "1"),
    "corrald wrote acceptedEpoch and currentEpoch 1 (file storage)")

zk = kazoo("127.0.0.1:%d" % c.client_port)
zk.create("/t0860", b"root")
for i in range(20):
    zk.create("/t0860/n%02d" % i, b"v%d" % i)
zk.set("/t0860/n03", b"changed")
zk.delete("/t0860/n07")
zk.create("/t0860/eph", b"e", ephemeral=True)
seq = zk.create("/t0860/seq-", b"s", sequence=True)
t = zk.transaction()
t.create("/t0860/m1", b"a")
t.set_data("/t0860/n04", b"multi")
t.delete("/t0860/n05")
res = t.commit()
ok(len(res) == 3 and not any(isinstance(r, Exception) for r in res), "a multi commits through the leader")
zk.create("/t0860/big", b"x" * 5000)
mntr = dict(l.split("\t", 1) for l in four_letter(c.client_port, "mntr").splitlines() if "\t" in l)
sizes = [int(mntr.get("zk_%s_proposal_size" % k, "-1")) for k in ("last", "min", "max")]
ok(sizes[0] >= 5000 + 32 and sizes[2] == sizes[0] and 0 < sizes[1] < 200,
   "mntr: the proposal sizes of ZooKeeper's leader (last/min/max %s: the 5000-byte create is the "
   "last and largest, a small txn the smallest)" % sizes)
ok(("\nProposal sizes last/min/max: %d/%d/%d\n" % tuple(sizes)) in four_letter(c.client_port, "srvr"),
   "srvr: the same, on ZooKeeper's line")
leader_tree = tree(zk)
last = srvr_zxid(c.client_port)
ok(last is not None and last >> 32 == 1 and last & 0xffffffff >= 25,
   "corrald's zxids are in epoch 1 (last 0x%x)" % (last or 0))
for z in (z1, z2, z4):
    reached = wait_for(lambda: srvr_zxid(z.client_port) == last, 20, 0.2)
    ok(reached, "ZooKeeper %d (%s) reaches corrald's zxid 0x%x" % (z.sid, z.role, last))
    if not reached:
        diag("its zxid: %r" % srvr_zxid(z.client_port))

if leader_requests_merged():
    for z in (z1, z4):
        zf = kazoo("127.0.0.1:%d" % z.client_port)
        is_(zf.get("/t0860/n03")[0], b"changed", "a client of ZooKeeper %d reads corrald's write" % z.sid)
        zf.create("/t0860/via%d" % z.sid, b"fwd")
        zf.stop(); zf.close()
        ok(wait_for(lambda: zk.exists("/t0860/via%d" % z.sid) is not None, 10),
           "a write through ZooKeeper %d is forwarded to corrald and committed" % z.sid)
    leader_tree = tree(zk)
    last = srvr_zxid(c.client_port)
    for z in (z1, z2, z4):
        ok(wait_for(lambda: srvr_zxid(z.client_port) == last, 20, 0.2),
           "ZooKeeper %d reaches zxid 0x%x after the forwarded writes" % (z.sid, last))
else:
    for _ in range(7):
        skip("writes through the ZooKeeper followers need quorum/leader_requests")

zk.stop(); zk.close()
# the ephemeral is gone with its session: every member applied the closeSession
last = srvr_zxid(c.client_port)
for z in (z1, z2, z4):
    ok(wait_for(lambda: srvr_zxid(z.client_port) == last, 20, 0.2),
       "ZooKeeper %d applied the closeSession (zxid 0x%x)" % (z.sid, last))
del leader_tree["/t0860/eph"]

for z in (z1, z2, z4):
    z.stop()
    got = data_dir_tree(z)
    same = got == leader_tree
    ok(same, "ZooKeeper %d's data dir holds corrald's tree (%d nodes)" % (z.sid, len(leader_tree)))
    if not same:
        diag("missing: %r" % sorted(set(leader_tree) - set(got))[:10])
        diag("extra: %r" % sorted(set(got) - set(leader_tree))[:10])
        diag("differ: %r" % [p for p in leader_tree if p in got and got[p] != leader_tree[p]][:10])

status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
e.stop()
done()
