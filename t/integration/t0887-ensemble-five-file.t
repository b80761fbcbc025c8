#!/usr/bin/python3
"""t0887 — a 5-member Corral ensemble with an observer, module.storage=file
(each member its own txn log and snapshots), under a steady stream of
writes.  Two followers killed (-9): the other three are a quorum and the
writes go on; the two restarted recover their trees from their own logs and
catch up by DIFF (not SNAP).  Then the leader killed: the four left elect
another, the writes go on; the old leader restarted rejoins as a follower
from its own log.  At the end every write that was acknowledged is on every
member, and all six hold the same tree."""
import os, re, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble
from ensemblecheck import wait_serving, leader_of, same_trees, hosts

e = Ensemble([("corrald", s) for s in (1, 2, 3, 4, 5)] + [("corrald", 6, "observer")],
             extra={"module.storage": "file", "snapCount": "100"})
ok(wait_serving(e.members, 60), "six members serve")

acked, stop = [], threading.Event()


def writer():
    """Creates, one at a time, through a client whose server list is every member; a create
    that raises (connection loss while a member dies) is not acknowledged."""
    zk = kazoo(hosts(e.members), timeout=10)
    i = 0
    while not stop.is_set() and i < 100000:
        p = "/w/n%06d" % i
        try:
            zk.create(p, b"%d" % i, makepath=True)
            acked.append(p)
        except Exception:
            time.sleep(0.05)
        i += 1
    zk.stop()
    zk.close()


def grows(n=20, seconds=30):
    """The writes go on: n more acknowledged within seconds."""
    start = len(acked)
    return wait_for(lambda: len(acked) >= start + n, seconds)


t = threading.Thread(target=writer, daemon=True)
t.start()
ok(grows(300, 60), "writes are acknowledged (300, snapshots along the way)")

leader = leader_of(e.members)
ok(leader is not None, "one leader (%s)" % (leader and leader.sid))
followers = [m for m in e.members if m is not leader and m.role != "observer"]
gone = followers[:2]
for m in gone:
    m.kill()
ok(grows(), "with followers %d and %d killed, three participants go on taking writes" %
   tuple(m.sid for m in gone))
for m in gone:
    m.start()
ok(wait_serving(gone, 60), "the two restarted serve again")
for m in gone:
    rec = re.findall(r"file: recovered to zxid 0x([0-9a-f]+)", m.output())
    ok(len(rec) == 2 and int(rec[-1], 16) > 0,
       "member %d recovered its tree from its own log (to 0x%s)" % (m.sid, rec[-1] if rec else "?"))
    syncs = re.findall(r"learner: (DIFF|SNAP|TRUNC) sync from leader", m.output())
    ok(syncs and syncs[-1] == "DIFF", "member %d caught up by DIFF (syncs: %s)" % (m.sid, syncs))

ok(grows(), "writes go on with all six")
leader.kill()
rest = [m for m in e.members if m is not leader]
ok(wait_serving(rest, 60), "leader %d killed: the other five serve" % leader.sid)
new = leader_of(rest)
ok(new is not None and new is not leader, "a new leader (%s)" % (new and new.sid))
ok(grows(), "writes go on under the new leader")
leader.start()
ok(wait_serving([leader], 60), "the old leader, restarted, serves")
ok(wait_for(lambda: leader.last_decision() == (new.sid, "following"), 30),
   "and follows %d" % new.sid)
ok(grows(), "writes go on with all six again")
stop.set()
t.join(30)
ok(not t.is_alive(), "the writer stopped")

good, why = same_trees(e.members)
ok(good, "all six hold the same tree")
if not good:
    diag(why)
zk = kazoo(hosts([new]))
have = set("/w/" + c for c in zk.get_children("/w"))
zk.stop()
zk.close()
missing = [p for p in acked if p not in have]
ok(not missing, "every one of the %d acknowledged writes is there (%d missing: %s)" %
   (len(acked), len(missing), missing[:5]))
for m in e.members:
    status = m.stop()
    if not ok(status == 0 and m.sanitizer_report() is None, "member %d stops cleanly" % m.sid):
        diag(m.output()[-3000:])
done()
