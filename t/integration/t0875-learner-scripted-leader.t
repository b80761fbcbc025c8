#!/usr/bin/python3
"""t0875 — corrald as a follower of a scripted leader (this test plays servers
2 and 3: the election votes and the leader's quorum port), byte for byte as
ZooKeeper 3.8's Leader/LearnerHandler talk, with module.storage=file:

 1. epoch 1, DIFF: FOLLOWERINFO carries acceptedEpoch<<32 and LearnerInfo
    {1, 0x10000, 0}; ACKEPOCH carries the last logged zxid and currentEpoch;
    no ACK leaves before NEWLEADER; the NEWLEADER ACK is the first ACK and
    the held proposal ACK follows it (ZOOKEEPER-4685); UPTODATE is ACKed;
    clients are served; writes go as REQUEST, sync as REQUEST type 9
    answered by SYNC; PING replies carry the touched sessions;
 2. an uncommitted proposal is logged; the leader goes; epoch 2 TRUNCs it
    away (the tree is reloaded without it);
 3. epoch 3: DIFF with one txn; kill -9 right after the NEWLEADER ACK: the
    restarted corrald reports that txn as logged and currentEpoch 3 (both
    were durable before the ACK);
 4. epoch 4: SNAP of a tree that lacks what corrald holds since epoch 1;
 5. kill -9 and restart: ACKEPOCH reports the SNAP's zxid (the storage was
    reset to the snapshot: no txn of the old log comes back), and the tree
    served is the snapshot's; a DIFF txn, NEWLEADER, UPTODATE and the new
    epoch's first PROPOSAL/COMMIT sent in one burst: the NEWLEADER ACK still
    comes first, the new proposal is taken after it and ACKed."""
import os, signal, struct, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, ScriptedLeader, FakeBroadcast, create_txn, qpacket, snap_stream

e = Ensemble([("corrald", 1), ("zk", 2), ("zk", 3)], start=False)
c = e[1]
c.write_config([m.server_line() for m in e.members], {"module.storage": "file"})
L = ScriptedLeader(e)
c.start()


def handshake(epoch, want_info_zxid, want_last, want_current):
    q, info_zxid, info, last, current = L.handshake(epoch)
    ok(info_zxid == want_info_zxid and info == struct.pack(">qiq", 1, 0x10000, 0),
       "epoch %d: FOLLOWERINFO zxid 0x%x, LearnerInfo {1, 0x10000, 0}" % (epoch, want_info_zxid))
    ok(last == want_last and current == struct.pack(">i", want_current),
       "epoch %d: ACKEPOCH lastLoggedZxid 0x%x, currentEpoch %d (got 0x%x %r)" %
       (epoch, want_last, want_current, last & (2**64 - 1), current))
    return q


def quiet(q, desc):
    try:
        q.read(0.5)
        ok(False, desc)
    except TimeoutError:
        ok(True, desc)


def finish(q, epoch, desc):
    t, zxid, _ = q.read()
    ok(t == "ACK" and zxid == epoch << 32, "epoch %d: the NEWLEADER ACK comes first%s" % (epoch, desc))
    return q


def uptodate(q, epoch):
    q.send("UPTODATE", -1)
    got = []
    while True:
        t, zxid, _ = q.read()
        got.append((t, zxid))
        if zxid == epoch << 32:
            break
    ok(got[-1] == ("ACK", epoch << 32), "epoch %d: UPTODATE is ACKed" % epoch)
    n = uptodate.served = getattr(uptodate, "served", 0) + 1
    if not ok(wait_for(lambda: c.output().count("peer: serving clients as follower") >= n, 10),
              "epoch %d: corrald serves" % epoch):
        diag(c.output()[-3000:])


def client():
    return kazoo("127.0.0.1:%d" % c.client_port, timeout=10)


# --- 1: DIFF ----------------------------------------------------------------
q = handshake(1, 0, 0, 0)
q.send("DIFF", 0)
q.send("PROPOSAL", 0x100000001, create_txn(0x100000001, "/a", b"A"))
q.send("COMMIT", 0x100000001)
q.send("PROPOSAL", 0x100000002, create_txn(0x100000002, "/b", b"B"))
quiet(q, "epoch 1: no ACK before NEWLEADER")
q.send("NEWLEADER", 1 << 32, b"")
finish(q, 1, ", before the proposal's")
t, zxid, _ = q.read()
ok(t == "ACK" and zxid == 0x100000002, "epoch 1: then the held ACK of the uncommitted proposal")
q.send("COMMIT", 0x100000002)
uptodate(q, 1)
b = FakeBroadcast(q, 0x100000002)
k = client()
is_(k.get("/b")[0], b"B", "epoch 1: the DIFF's txns are served")
k.create("/w", b"W")
k.sync("/")
is_(sorted(k.get_children("/")), ["a", "b", "w", "zookeeper"], "epoch 1: a create and a sync through the leader")
sid = k.client_id[0]
ok(wait_for(lambda: any(t == "PING" and struct.pack(">q", sid) in (d or b"") for t, _, d in b.got), 5),
   "epoch 1: a PING reply carries the client's session")
reqs = [d for t, _, d in b.got if t == "REQUEST"]
ok(any(struct.unpack(">i", d[12:16])[0] == 9 and d[16:] == struct.pack(">i", 1) + b"/" for d in reqs),
   "epoch 1: the sync went as REQUEST type 9 with its path")
k.stop(); k.close()
b.stop()
# --- 2: an uncommitted proposal, then TRUNC ------------------------------------
x = b.zxid + 1
q.send("PROPOSAL", x, create_txn(x, "/x", b"X"))
while True:
    t, zxid, _ = q.read()
    if t == "ACK" and zxid == x:
        break
q.close()
ok(wait_for(lambda: "learner: dropping leader" in c.output() or "connection to leader 2" in c.output(), 15),
   "the leader gone, corrald ends the role")
q = handshake(2, 1 << 32, x, 1)
q.send("TRUNC", x - 1)
q.send("NEWLEADER", 2 << 32, b"")
finish(q, 2, "")
uptodate(q, 2)
b = FakeBroadcast(q, x - 1)
k = client()
ok(k.exists("/x") is None and k.exists("/w") is not None, "epoch 2: TRUNC dropped the uncommitted txn, kept the rest")
k.stop(); k.close()
b.stop()
last = b.zxid
q.close()
# --- 3: durable before the NEWLEADER ACK --------------------------------------
q = handshake(3, 2 << 32, last, 2)
q.send("DIFF", last)
q.send("PROPOSAL", 0x300000001, create_txn(0x300000001, "/y", b"Y" * 5000))
q.send("COMMIT", 0x300000001)
q.send("NEWLEADER", 3 << 32, b"")
finish(q, 3, "")
c.proc.send_signal(signal.SIGKILL)
c.proc.wait()
q.close()
c.start()
q = handshake(4, 3 << 32, 0x300000001, 3)
ok(True, "after kill -9 at the NEWLEADER ACK, the DIFF's txn and currentEpoch 3 were durable")
# --- 4: SNAP of a tree without /b, /w, /y ---------------------------------------
snapz = 0x200000005
q.send("SNAP", snapz)
q.send_raw(snap_stream(snapz, [("", b""), ("/zookeeper", b""), ("/zookeeper/quota", b""),
                                ("/a", b"A"), ("/s", b"snap")]))
q.send("NEWLEADER", 4 << 32, b"")
finish(q, 4, " after SNAP")
uptodate(q, 4)
b = FakeBroadcast(q, snapz)
k = client()
is_(sorted(k.get_children("/")), ["a", "s", "zookeeper"], "epoch 4: the tree is the snapshot's")
k.stop(); k.close()
b.stop()
last = b.zxid
# --- 5: restart: nothing of the old log comes back --------------------------------
c.proc.send_signal(signal.SIGKILL)
c.proc.wait()
q.close()
c.start()
q = handshake(5, 4 << 32, last, 4)
# all at once, as a busy leader's queue flushes: a DIFF txn, NEWLEADER, then (the
# others acked NEWLEADER first) UPTODATE and the new epoch's first proposal
big = last + 1
q.send_raw(b"".join([
    qpacket("DIFF", big), qpacket("PROPOSAL", big, create_txn(big, "/big", b"B" * 200000)),
    qpacket("COMMIT", big), qpacket("NEWLEADER", 5 << 32, b""), qpacket("UPTODATE", -1),
    qpacket("PROPOSAL", 0x500000001, create_txn(0x500000001, "/n", b"N")),
    qpacket("COMMIT", 0x500000001)]))
finish(q, 5, " (UPTODATE and a new-epoch proposal already sent)")
acks = []
try:
    while not (("ACK", 0x500000001) in acks and ("ACK", 5 << 32) in acks):
        t, zxid, _ = q.read()
        acks.append((t, zxid))
except EOFError:
    diag(c.output()[-3000:])
ok(("ACK", 0x500000001) in acks and ("ACK", 5 << 32) in acks,
   "epoch 5: then the new proposal and UPTODATE are ACKed (%r)" % acks)
if "came while the NEWLEADER ACK waited" in c.output():
    diag("the new-epoch proposal waited for the NEWLEADER ACK (the stash path)")
b = FakeBroadcast(q, 0x500000001)
k = client()
is_(sorted(k.get_children("/")), ["a", "big", "n", "s", "zookeeper"],
    "epoch 5: after a restart the tree is the snapshot's (no /b, /w, /y) and the new txns")
k.stop(); k.close()
b.stop()
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
L.stop()
done()
