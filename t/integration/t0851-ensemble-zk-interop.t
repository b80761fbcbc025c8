#!/usr/bin/python3
"""t0851 — leader election in one ensemble with Apache ZooKeeper 3.8 (Debian
`zookeeper`): two ZooKeeper servers and one corrald in a 3-member view.

corrald as the lowest sid (1): the ZooKeeper servers dial it and it dials
them (its dial is dropped and called back, ZooKeeper's rule); ZooKeeper 3
leads and 2 follows (srvr's Mode, once they serve), corrald follows 3.

corrald as the highest sid (3): corrald dials both; all three elect corrald
(the ZooKeeper servers go FOLLOWING and try to reach corrald's quorum port,
which does not exist yet, so they later give up on it: that part is the
quorum protocol's, not asserted here).

Both ways: ZooKeeper logs corrald's notifications as format version 2 with
config version 0 and logs no complaint about corrald's bytes (initial
message, frame, notification, config)."""
import os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble


def corral_notifications_read(zk, sid):
    """ZooKeeper's own log line for a notification it read from sid."""
    return re.search(r"Notification: my state:\w+; n\.sid:%d, .*message format version:0x2, "
                     r"n\.config version:0x0" % sid, zk.output()) is not None


def no_complaints(zk, desc):
    bad = zk.protocol_complaints()
    if not ok(not bad, desc):
        diag("\n".join(bad[:10]))


# --- corrald lowest ---------------------------------------------------------
e = Ensemble([("corrald", 1), ("zk", 2), ("zk", 3)], start=False)
c, z2, z3 = e[1], e[2], e[3]
# 3 must be in the first round: were 2's JVM up first, 1 and 2 would elect 2, and 3 follow it
c.start()
z3.start()
wait_for(lambda: "LOOKING" in z3.output(), 60, 0.1)
z2.start()
agreed = wait_for(lambda: z3.mode() == "leader" and z2.mode() == "follower", 90, 0.3)
ok(agreed, "ZooKeeper 3 leads and ZooKeeper 2 follows (srvr Mode)")
ok(wait_for(lambda: c.last_decision() == (3, "following"), 30), "corrald follows 3")
if not agreed or c.last_decision() != (3, "following"):
    diag(c.output()[-2000:])
    diag(z2.output()[-3000:])
ok(corral_notifications_read(z2, 1) and corral_notifications_read(z3, 1),
   "both ZooKeeper servers read corrald's notifications (version 2, config version 0)")
no_complaints(z2, "ZooKeeper 2 logs no complaint about corrald's election bytes")
no_complaints(z3, "ZooKeeper 3 logs no complaint about corrald's election bytes")

no_complaints(z2, "ZooKeeper 2 still has no complaint")
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
e.stop()

# --- corrald highest --------------------------------------------------------
e = Ensemble([("zk", 1), ("zk", 2), ("corrald", 3)], start=False)
z1, z2, c = e[1], e[2], e[3]
for m in (z1, z2, c):
    m.start()
ok(wait_for(lambda: c.last_decision() is not None, 60), "corrald decided")
is_(c.decisions()[:1], [(3, "leading")], "corrald leads (highest sid, equal zxids)")
# a ZooKeeper follower dials its leader's quorum port: corrald's, i.e. it follows sid 3
target = "LeaderConnector-/127.0.0.1:%d" % c.quorum_port
for z in (z1, z2):
    followed = wait_for(lambda: target in z.output(), 60)
    first = re.findall(r"QuorumPeer - (FOLLOWING|LEADING|OBSERVING)$", z.output(), re.M)[:1]
    ok(followed and first == ["FOLLOWING"],
       "ZooKeeper %d's first decision is FOLLOWING corrald (it dials corrald's quorum port)" % z.sid)
    if not followed:
        diag(z.output()[-3000:])
    ok(corral_notifications_read(z, 3), "ZooKeeper %d read corrald's notifications" % z.sid)
    no_complaints(z, "ZooKeeper %d logs no complaint about corrald's election bytes" % z.sid)
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
e.stop()
done()
