#!/usr/bin/python3
"""t0865 — a corrald leader drops a follower that answers PINGs but stops
ACKing proposals (ZooKeeper's SyncLimitCheck: "transaction timeout"), as a
follower with a stalled disk does.

Two corrald members (sids 1 and 2) form the quorum; sid 3 is played by the
test over a raw socket: it syncs with the leader as a follower (FOLLOWERINFO,
ACKEPOCH, the NEWLEADER ACK, the UPTODATE ACK), ACKs the proposals of a first
write, and then answers every PING but ACKs nothing.  Within syncLimit
(2 ticks of 300 ms) of the next write's proposal the leader closes that
connection, logging why, while it goes on leading and serving clients with
the other follower.  A follower that keeps ACKing is never dropped."""
import os, re, socket, struct, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, QConn
from ensemblecheck import wait_serving, leader_of, hosts

e = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3)], start=False,
             extra={"tickTime": "300", "initLimit": "10", "syncLimit": "2"})
e[1].start()
e[2].start()                    # sid 3 never starts: the test plays it
ok(wait_serving([e[1], e[2]], 60), "corrald 1 and 2 serve")
lead = leader_of([e[1], e[2]])
ok(lead is not None, "one of them leads (%s)" % (lead and lead.sid))


def follow(q, ack_proposals):
    """Sync as follower 3 and answer the leader until it closes the connection or 30 s pass:
    PINGs always, PROPOSALs only while ack_proposals() says so.  The packets seen, in order."""
    q.send("FOLLOWERINFO", 0, struct.pack(">qiq", 3, 0x10000, 0))
    seen = []
    end = time.time() + 30
    while time.time() < end:
        try:
            t, zxid, data = q.read(max(0.1, end - time.time()))
        except (EOFError, OSError):
            seen.append(("closed", time.time()))
            return seen
        except TimeoutError:
            break
        seen.append((t, zxid))
        if t == "SNAP":         # the snapshot stream, up to its signature, is not packets
            sig = struct.pack(">i", 10) + b"BenWasHere"
            while sig not in q.buf:
                q._need(len(q.buf) + 1, 10)
            q.buf = q.buf[q.buf.index(sig) + len(sig):]
        elif t == "LEADERINFO":
            q.send("ACKEPOCH", 0, struct.pack(">i", 0))
        elif t in ("NEWLEADER", "UPTODATE"):
            q.send("ACK", zxid if t == "NEWLEADER" else seen_newleader(seen))
        elif t == "PING":
            q.send("PING", zxid, b"")
        elif t == "PROPOSAL" and ack_proposals():
            q.send("ACK", zxid)
    return seen


def seen_newleader(seen):
    return next(z for t, z in seen if t == "NEWLEADER")


results = {}
acking = [True]
q = QConn(socket.create_connection(("127.0.0.1", lead.quorum_port), timeout=10))
th = threading.Thread(target=lambda: results.update(seen=follow(q, lambda: acking[0])), daemon=True)
th.start()
if not ok(wait_for(lambda: re.search(r"server 3 \(.*\) is synced .* and up to date", lead.output()), 15),
          "the scripted follower 3 is synced and up to date"):
    diag(lead.output()[-3000:])
zk = kazoo(hosts([lead]))
zk.create("/acked", b"1")
time.sleep(1.5)         # a negative check: two syncLimits with every proposal ACKed
ok("transaction timeout" not in lead.output(), "a follower that ACKs is kept")
acking[0] = False
t0 = time.time()
zk.create("/not-acked", b"2")
th.join(35)
seen = results.get("seen", [])
closed_after = seen[-1][1] - t0 if seen and seen[-1][0] == "closed" else None
ok(closed_after is not None and closed_after < 5,
   "the leader closed the connection of the follower that stopped ACKing within 5 s (syncLimit is "
   "0.6 s; after %s s)" % ("%.1f" % closed_after if closed_after is not None else "-"))
if not ok(wait_for(lambda: "within syncLimit" in lead.output() and "transaction timeout" in lead.output(), 5),
          "and logged why"):
    diag("\n".join(l for l in lead.output().splitlines() if "server 3" in l)[-2000:])
ok(sum(1 for t, _ in seen if t == "PROPOSAL") >= 2, "it had been sent both proposals")
zk.create("/after", b"3")
is_(zk.get("/after")[0], b"3", "the leader still serves, with the other follower")
ok(lead.last_decision()[1] == "leading", "and still leads")
zk.stop()
zk.close()
q.close()
for m in (e[1], e[2]):
    status = m.stop()
    if not ok(status == 0 and m.sanitizer_report() is None, "member %d stops cleanly" % m.sid):
        diag(m.output()[-3000:])
done()
