#!/usr/bin/python3
"""t0871 — how a corrald follower is synced by an Apache ZooKeeper 3.8 leader:
SNAP (a fresh corrald, module.storage=file, joins a ZooKeeper pair that
already has data: the leader sends its snapshot), DIFF (corrald stopped,
writes on ZooKeeper, corrald restarted: the missing txns come as
PROPOSAL/COMMIT), and a restart with the ZooKeeper members down recovers the
synced tree from corrald's own files (the SNAP became its snapshot; no older
log is replayed on top).  After each sync corrald's tree (get_children /
get_data walk) is the leader's.  TRUNC is t0875's (a scripted leader)."""
import os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, tree, learner_log_lines

e = Ensemble([("corrald", 1), ("zk", 2), ("zk", 3)], start=False)
c, z2, z3 = e[1], e[2], e[3]
c.write_config([m.server_line() for m in e.members], {"module.storage": "file"})
z2.start()
z3.start()
ok(wait_for(lambda: z3.mode() == "leader" and z2.mode() == "follower", 90, 0.3),
   "the ZooKeeper pair forms a quorum without corrald (3 leads)")
kz = kazoo("127.0.0.1:%d" % z3.client_port)
kz.create("/data", b"root")
for i in range(40):
    kz.create("/data/n%02d" % i, b"v%d" % i)
    if i % 5 == 0:
        kz.create("/data/n%02d/deep" % i, b"x" * (100 * i))
kz.set("/data/n01", b"changed")
kz.delete("/data/n02")

# --- SNAP ---------------------------------------------------------------
c.start()
ok(wait_for(lambda: "peer: serving clients as follower (leader 3)" in c.output(), 60),
   "a fresh corrald joins and serves as a follower")
ok(len(learner_log_lines(c, "SNAP")) == 1, "it was synced with SNAP")
ok("storage reset to snapshot." in c.output(),
   "its file storage starts afresh from the leader's snapshot")
kc = kazoo("127.0.0.1:%d" % c.client_port)
kc.sync("/")
want = tree(kz)
is_(tree(kc), want, "corrald's tree is the leader's after SNAP")
kc.stop(); kc.close()

# --- DIFF ---------------------------------------------------------------
ok(c.stop() == 0, "corrald stops")
for i in range(40, 50):
    kz.create("/data/n%02d" % i, b"later")
kz.set("/data/n03", b"while away")
kz.delete("/data/n04")
c.start()
ok(wait_for(lambda: c.output().count("peer: serving clients as follower (leader 3)") >= 2, 60),
   "restarted, corrald serves again")
ok(len(learner_log_lines(c, "DIFF")) == 1 and len(learner_log_lines(c, "SNAP")) == 1,
   "it was synced with DIFF this time")
kc = kazoo("127.0.0.1:%d" % c.client_port)
kc.sync("/")
want = tree(kz)
is_(tree(kc), want, "corrald's tree is the leader's after DIFF")
kz.set("/data/n05", b"final")
kc.sync("/data")
is_(kc.get("/data/n05")[0], b"final", "and it follows the broadcast after the DIFF")
want = tree(kz)
kz.stop(); kz.close()
kc.stop(); kc.close()       # answered once corrald applied it: the leader's last txn
srvr = four_letter(z3.client_port, "srvr")
last = int(re.search(r"Zxid: 0x([0-9a-f]+)", srvr).group(1), 16)

# --- restart alone: the files hold the synced tree ----------------------
ok(c.stop() == 0, "corrald stops")
z2.stop()
z3.stop()
c.start()
ok(wait_for(lambda: c.output().count("file: recovered to zxid") >= 3, 15),
   "corrald recovers from its files")
rec = re.findall(r"file: recovered to zxid 0x([0-9a-f]+)", c.output())
is_(int(rec[-1], 16) if rec else None, last, "up to the last zxid it was synced to")
z2.start()
z3.start()
ok(wait_for(lambda: c.output().count("peer: serving clients as follower") >= 3, 90),
   "with the ZooKeeper pair back, corrald follows again")
kc = kazoo("127.0.0.1:%d" % c.client_port)
kc.sync("/")
is_(tree(kc), want, "its tree is the ensemble's")
kc.stop(); kc.close()
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
e.stop()
done()
