#!/usr/bin/python3
"""t0862 — bad bytes on a corrald leader's quorum port (ZK-QUORUM-PROTOCOL.md
§2.1-§2.3).

corrald (sid 3) leads two Apache ZooKeeper followers; the view also names an
observer, sid 4, that the test itself plays over raw sockets.  Each bad
conversation must end with corrald closing that connection and logging why,
while it keeps leading (no role end, the followers stay, clients are served):
garbage that parses as a packet of the wrong type, a packet cut short by the
peer closing, a data length past jute.maxbuffer, a negative data length,
FOLLOWERINFO with a 4-byte LearnerInfo, FOLLOWERINFO from a sid not in the
view, FOLLOWERINFO from an observer's sid, an ACKEPOCH without its
currentEpoch, a packet other than ACK after NEWLEADER.  The good conversation
as observer 4 gets ZooKeeper's bytes: LEADERINFO(epoch 1 << 32, 0x10000), DIFF,
NEWLEADER(epoch 1 << 32, the view's config text), UPTODATE after the ACK, then
PINGs; then an INFORM for a write.  At the end corrald stops cleanly, sanitizers
silent."""
import os, socket, struct, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble, srvr_zxid

e = Ensemble([("zk", 1), ("zk", 2), ("corrald", 3), ("zk", 4, "observer")], start=False)
z1, z2, c = e[1], e[2], e[3]    # sid 4 is never started: the test plays it
for m in (z1, z2, c):
    m.start()
ok(wait_for(lambda: z1.mode() == "follower" and z2.mode() == "follower", 90, 0.3),
   "ZooKeeper 1 and 2 follow corrald")


def packet(type_, zxid, data=None, raw_len=None):
    b = struct.pack(">iq", type_, zxid)
    if raw_len is not None:
        b += struct.pack(">i", raw_len)
    elif data is None:
        b += struct.pack(">i", -1)
    else:
        b += struct.pack(">i", len(data)) + data
    return b + (struct.pack(">i", -1) if raw_len is None else b"")


def learner_info(sid):
    return struct.pack(">qiq", sid, 0x10000, 0)


def dial():
    s = socket.create_connection(("127.0.0.1", c.quorum_port), timeout=10)
    s.settimeout(10)
    return s


def closed(s, timeout=10):
    """corrald closed the connection (EOF or reset) within timeout."""
    s.settimeout(timeout)
    end = time.time() + timeout
    try:
        while time.time() < end:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def packet(self):
        self.need(16)
        t, z, n = struct.unpack(">iqi", self.buf[:16])
        self.need(16 + max(n, 0) + 4)
        data = self.buf[16:16 + n] if n >= 0 else None
        a = struct.unpack(">i", self.buf[16 + max(n, 0):20 + max(n, 0)])[0]
        assert a == -1, "the leader sends null authinfo"
        self.buf = self.buf[20 + max(n, 0):]
        return t, z, data


def still_leading(desc):
    out = c.output()
    good = c.alive() and "leader role ends" not in out and z1.mode() == "follower" and \
        z2.mode() == "follower"
    ok(good, "corrald keeps leading after " + desc)
    if not good:
        diag(out[-3000:])


def bad(desc, payload, log_mark, shut=False):
    before = c.output()
    s = dial()
    s.sendall(payload)
    if shut:
        s.shutdown(socket.SHUT_WR)
    ok(closed(s) and wait_for(lambda: log_mark in c.output()[len(before):], 5),
       "%s: corrald closes the connection, logging '%s'" % (desc, log_mark))
    s.close()
    still_leading(desc)


bad("garbage that parses as a packet", packet(0x47455420, 0x2f20485454502f31, b"garbage"),
    "is not FOLLOWERINFO or OBSERVERINFO")
bad("a FOLLOWERINFO cut short", packet(11, 1 << 32, learner_info(4))[:21], "closed by the peer",
    shut=True)
bad("a data length past jute.maxbuffer", packet(11, 0, raw_len=0x7ffffff0) + b"x" * 64,
    "malformed packet")
bad("a negative data length", packet(11, 0, raw_len=-7) + b"x" * 8, "malformed packet")
bad("FOLLOWERINFO with a 4-byte LearnerInfo", packet(11, 0, b"\0\0\0\4"),
    "LearnerInfo of 4 byte(s)")
bad("FOLLOWERINFO from sid 9 (not in the view)", packet(11, 0, learner_info(9)),
    "not in the configuration")
bad("FOLLOWERINFO from the observer's sid", packet(11, 0, learner_info(4)), "an observer")

# observer 4, played by the test: the handshake bytes
epoch_zxid = 1 << 32
s = dial()
r = Reader(s)
s.sendall(packet(16, epoch_zxid, learner_info(4)))
is_(r.packet(), (17, epoch_zxid, b"\0\1\0\0"), "OBSERVERINFO is answered LEADERINFO(1 << 32, 0x10000)")
s.sendall(packet(18, 0, b"\1"))
ok(closed(s) and wait_for(lambda: "ACKEPOCH with 1 byte(s)" in c.output(), 5),
   "an ACKEPOCH without its 4-byte currentEpoch is refused")
s.close()
still_leading("a short ACKEPOCH")

zk = kazoo("127.0.0.1:%d" % c.client_port)
zk.create("/t0862", b"x")
last = srvr_zxid(c.client_port)


def handshake():
    s = dial()
    r = Reader(s)
    s.sendall(packet(16, epoch_zxid, learner_info(4)))
    r.packet()
    s.sendall(packet(18, last, struct.pack(">i", 1)))
    first = r.packet()
    newleader = r.packet()
    return s, r, first, newleader


s, r, first, newleader = handshake()
is_(first, (13, last, None), "an observer at the leader's zxid gets an empty DIFF(its zxid)")
ok(newleader[0] == 10 and newleader[1] == epoch_zxid and
   newleader[2].decode().startswith("server.1=") and newleader[2].decode().endswith("version=0"),
   "then NEWLEADER(1 << 32) with the view's config text")
s.sendall(packet(5, 0, b""))
ok(closed(s) and wait_for(lambda: "supposed to be an ACK" in c.output(), 5),
   "a PING instead of NEWLEADER's ACK is refused")
s.close()
still_leading("a packet other than ACK after NEWLEADER")

s, r, first, newleader = handshake()
s.sendall(packet(3, epoch_zxid))
is_(r.packet(), (12, -1, None), "NEWLEADER's ACK is answered UPTODATE(-1)")
s.sendall(packet(3, epoch_zxid))
t, z, d = r.packet()
ok(t == 5 and z == last and d is None, "then PING(last proposed, null data)")
s.sendall(packet(5, z, b""))
zk.set("/t0862", b"changed")
while True:
    t, z, d = r.packet()
    if t != 5:
        break
ok(t == 8 and z == last + 1 and d is not None and b"/t0862" in d and b"changed" in d,
   "a write reaches the observer as INFORM with the txn")
s.close()
zk.stop(); zk.close()
still_leading("the fake observer leaves")
status = c.stop()
ok(status == 0 and c.sanitizer_report() is None, "corrald stops cleanly, sanitizers silent")
if status != 0 or c.sanitizer_report():
    diag(c.output()[-4000:])
e.stop()
done()
