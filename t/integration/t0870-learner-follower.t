#!/usr/bin/python3
"""t0870 — corrald as a follower of Apache ZooKeeper 3.8: corrald (sid 1, the
lowest) with two ZooKeeper servers (sids 2, 3; ZooKeeper 3 leads a fresh
ensemble).

corrald syncs with the ZooKeeper leader (srvr on the ZooKeeper members shows
the leader and a follower; corrald serves clients only after UPTODATE); a
kazoo client on corrald's port creates, sets and deletes (forwarded to the
leader as REQUEST), reads its own writes, sees writes made on the ZooKeeper
members, gets its watches; sync() is forwarded and answered; an ephemeral
goes when its session closes; a session created on corrald moves to a
ZooKeeper member and back (REVALIDATE both ways) keeping its ephemeral; a
resumed session the leader no longer knows is refused with SessionExpired.
ZooKeeper's leader logs no complaint about corrald's quorum bytes."""
import json, os, subprocess, sys, threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, zk_leader_follower

# one step of a session in a child process that leaves without closing it (the
# session lives on in the ensemble, as when a client's machine goes away)
STEP = r'''
import json, os, sys
sys.path.insert(0, %r)
from corraltest import kazoo
host, cid, action = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
kw = {"timeout": 30}
if cid:
    kw["client_id"] = (cid[0], bytes.fromhex(cid[1]))
k = kazoo(host, **kw)
sid, pw = k.client_id
res = {"cid": [sid, pw.hex()]}
if action == "eph":
    k.create("/moving", b"m", ephemeral=True)
st = k.exists("/moving")
res["owner"] = st.ephemeralOwner if st else None
print(json.dumps(res), flush=True)
os._exit(0)
'''


def step(port, cid, action):
    out = subprocess.run([sys.executable, "-c", STEP % os.path.join(os.path.dirname(__file__), "..", "lib"),
                          "127.0.0.1:%d" % port, json.dumps(cid), action],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        diag(out.stderr[-2000:])
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


e = Ensemble([("corrald", 1), ("zk", 2), ("zk", 3)])
c = e[1]
z3, z2 = zk_leader_follower(e[2], e[3])
agreed = z3 is not None
ok(agreed, "one ZooKeeper member leads, the other follows (srvr Mode)")
ok(wait_for(lambda: ("peer: serving clients as follower (leader %d)" % z3.sid) in c.output(), 30),
   "corrald serves as a follower of the ZooKeeper leader")
out = c.output()
ok(out.find("learner: up to date with leader %d" % z3.sid) > out.find("learner: DIFF sync from leader %d" % z3.sid) > 0,
   "corrald synced (DIFF) then got UPTODATE")
if not agreed:
    diag(c.output()[-3000:])

k = kazoo("127.0.0.1:%d" % c.client_port)
kz2 = kazoo("127.0.0.1:%d" % z2.client_port)
kz3 = kazoo("127.0.0.1:%d" % z3.client_port)

k.create("/t", b"one")
is_(k.get("/t")[0], b"one", "corrald reads its own create")
k.set("/t", b"two")
is_(k.get("/t")[0], b"two", "corrald reads its own setData")
is_(kz3.get("/t")[0], b"two", "the ZooKeeper leader has the write made through corrald")
kz2.sync("/t")
is_(kz2.get("/t")[0], b"two", "the ZooKeeper follower has it too")
k.create("/t/child", b"c")
k.delete("/t/child")
ok(kz3.exists("/t/child") is None, "a delete through corrald reaches the leader")

# writes on the ZooKeeper members, and watches on corrald
fired = threading.Event()
seen = []
def watcher(ev):
    seen.append((ev.type, ev.path))
    fired.set()
k.get("/t", watch=watcher)
kz2.set("/t", b"three")
ok(fired.wait(15), "a data watch set on corrald fires for a write on the ZooKeeper follower")
is_(seen[:1], [("CHANGED", "/t")], "it is a NodeDataChanged for /t")
k.sync("/t")
is_(k.get("/t")[0], b"three", "after sync() corrald reads the write made on the ZooKeeper follower")
kz3.create("/t/z3", b"")
k.sync("/t")
ok(k.exists("/t/z3") is not None, "after sync() corrald sees a create made on the leader")
kids = threading.Event()
k.get_children("/t", watch=lambda ev: kids.set())
kz3.create("/t/z3b", b"")
ok(kids.wait(15), "a child watch on corrald fires for a create on the leader")

# ephemerals go with their session
k4 = kazoo("127.0.0.1:%d" % c.client_port)
k4.create("/t/eph", b"", ephemeral=True)
kz3.sync("/t")
ok(kz3.exists("/t/eph") is not None, "an ephemeral made through corrald is on the leader")
owner = kz3.exists("/t/eph").ephemeralOwner
is_(owner >> 56, 1, "its session id carries corrald's myid in the top byte")
k4.stop()
k4.close()
ok(wait_for(lambda: kz3.exists("/t/eph") is None, 15), "it goes when its session closes")

# a session moves: corrald -> the ZooKeeper follower -> corrald (REVALIDATE on each)
r1 = step(c.client_port, None, "eph")
ok(r1 is not None and r1["owner"] == r1["cid"][0], "a session on corrald makes an ephemeral")
r2 = step(z2.client_port, r1["cid"], "look") if r1 else None
ok(r2 is not None and r2["cid"][0] == r1["cid"][0] and r2["owner"] == r1["cid"][0],
   "the session resumes on the ZooKeeper follower with its ephemeral")
r3 = step(c.client_port, r1["cid"], "look") if r1 else None
ok(r3 is not None and r3["cid"][0] == r1["cid"][0] and r3["owner"] == r1["cid"][0],
   "and resumes back on corrald (REVALIDATE to the ZooKeeper leader) with its ephemeral")
ok(("learner: the leader says session 0x%x is valid" % r1["cid"][0]) in c.output() if r1 else False,
   "corrald asked the leader (REVALIDATE) and held the connect for its answer")
# a session closed meanwhile: the leader says expired, the client gets SessionExpired
r4 = step(c.client_port, None, "look")
closer = kazoo("127.0.0.1:%d" % z2.client_port, client_id=(r4["cid"][0], bytes.fromhex(r4["cid"][1])))
closer.stop()
closer.close()
gone = step(c.client_port, r4["cid"], "look")
ok(gone is not None and gone["cid"][0] != r4["cid"][0],
   "resuming a closed session on corrald is refused (the client starts a new one)")
ok(("learner: the leader says session 0x%x is expired" % r4["cid"][0]) in c.output(),
   "corrald refused it on the leader's REVALIDATE answer")

for z in (z2, z3):
    bad = [l for l in z.output().splitlines()
           if "supposed to be an ACK" in l or "different epoch" in l or
           ("ERROR" in l and "LearnerHandler" in l and "sid:1" in l.replace(" ", ""))]
    ok(not bad, "ZooKeeper %d logs no complaint about corrald's quorum packets" % z.sid)
    if bad:
        diag("\n".join(bad[:10]))

for kk in (k, kz2, kz3):
    kk.stop()
    kk.close()
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
e.stop()
done()
