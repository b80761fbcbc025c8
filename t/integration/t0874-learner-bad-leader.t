#!/usr/bin/python3
"""t0874 — bad bytes from a leader: a scripted "leader" (servers 2 and 3 played
by the test) answers corrald's FOLLOWERINFO with garbage, a LEADERINFO cut
short, a LEADERINFO without its version, a huge data length, an epoch older
than the one corrald accepted, silence, a SNAP stream cut short or without
its signature, a COMMIT for a zxid never proposed, a PROPOSAL whose txn does
not decode, an unknown packet type.  Each time corrald drops the leader with
a log line naming why, goes back to the election, and follows again; it
never crashes, and in the end a good sync serves clients and corrald stops
with the sanitizers silent."""
import os, struct, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, ScriptedLeader, FakeBroadcast, qpacket, create_txn, snap_stream

e = Ensemble([("corrald", 1), ("zk", 2), ("zk", 3)], start=False)
c = e[1]
# short limits: initLimit 5 x 300 ms, syncLimit 2 x 300 ms
c.write_config([m.server_line() for m in e.members], {"tickTime": "300"})
L = ScriptedLeader(e)
c.start()
V = struct.pack(">i", 0x10000)
mark = [0]


def conn():
    mark[0] = len(c.output())
    q = L.accept()
    t, zxid, _ = q.read()
    assert t == "FOLLOWERINFO", t
    return q


def dropped(q, desc, log):
    try:
        while True:
            q.read(5)
    except EOFError:
        gone = True
    except (TimeoutError, OSError):
        gone = False
    q.close()
    ok(gone and c.alive(), "corrald drops the leader: " + desc)
    if not ok(wait_for(lambda: log in c.output()[mark[0]:], 5), "  and logs why (%s)" % log):
        diag(c.output()[-2000:])


def to_sync(epoch):
    q = conn()
    q.send("LEADERINFO", epoch << 32, V)
    t, _, _ = q.read()
    assert t == "ACKEPOCH"
    return q


q = conn()
q.send_raw(os.urandom(64) + b"\xff" * 4096)
dropped(q, "garbage instead of LEADERINFO", "learner:")

q = conn()
q.send_raw(qpacket("LEADERINFO", 1 << 32, V)[:10])
q.sock.shutdown(1)
dropped(q, "a LEADERINFO cut short, then EOF", "closed by the peer")

q = conn()
q.send("LEADERINFO", 1 << 32, b"\x00\x01")
dropped(q, "a LEADERINFO with 2 data bytes", "LEADERINFO without its protocol version")

q = conn()
q.send_raw(struct.pack(">iqi", 17, 1 << 32, 0x7fffffff) + b"\x00" * 64)
dropped(q, "a data length of 2^31-1", "malformed")

q = conn()
q.send("NEWLEADER", 1 << 32, b"")
dropped(q, "NEWLEADER instead of LEADERINFO", "expected LEADERINFO")

q = to_sync(3)              # acceptedEpoch is 3 from here on
q.send("LEADERINFO", 3 << 32, V)
dropped(q, "a second LEADERINFO instead of DIFF/TRUNC/SNAP", "expected DIFF, TRUNC or SNAP")

q = conn()
q.send("LEADERINFO", 2 << 32, V)
dropped(q, "an epoch older than the accepted one", "older than the one accepted here")

q = conn()
dropped(q, "a silent leader (initLimit)", "timed out")

q = to_sync(4)
q.send("SNAP", 0x400000000)
q.send_raw(snap_stream(0x400000000, [("", b""), ("/a", b"A")])[:30])
q.sock.shutdown(1)
dropped(q, "a SNAP stream cut short", "did not load")

q = to_sync(5)
q.send("SNAP", 0x400000000)
q.send_raw(snap_stream(0x400000000, [("", b""), ("/a", b"A")]).replace(b"BenWasHere", b"BenWasGone"))
dropped(q, "a SNAP stream without its signature", "did not load")

q = to_sync(6)
q.send("DIFF", 0)
q.send("COMMIT", 0x600000007)
dropped(q, "a COMMIT for a zxid never proposed", "COMMIT for the wrong zxid")

q = to_sync(7)
q.send("DIFF", 0)
q.send("PROPOSAL", 0x700000001, b"\x00\x01\x02")
dropped(q, "a PROPOSAL whose txn does not decode", "does not decode")

q = to_sync(8)
q.send("DIFF", 0)
q.send("NEWLEADER", 8 << 32, b"")
t, zxid, _ = q.read()
q.send("UPTODATE", -1)
q.read()
q.send_raw(qpacket(99, 0, b"junk"))
dropped(q, "an unknown packet type while broadcasting", "unexpected")

q = to_sync(9)
q.send("DIFF", 0)
q.send("NEWLEADER", 9 << 32, b"")
q.read()
q.send("UPTODATE", -1)
q.read()
dropped(q, "no PING for syncLimit", "timed out")

# a good sync at last
q = to_sync(10)
q.send("SNAP", 0x900000002)
q.send_raw(snap_stream(0x900000002, [("", b""), ("/zookeeper", b""), ("/good", b"G")]))
q.send("NEWLEADER", 10 << 32, b"")
q.read()
q.send("UPTODATE", -1)
b = FakeBroadcast(q, 0x900000002)
k = kazoo("127.0.0.1:%d" % c.client_port)
is_(k.get("/good")[0], b"G", "after all that corrald syncs and serves")
k.stop(); k.close()
b.stop()
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
L.stop()
done()
