#!/usr/bin/python3
"""t0852 — bad bytes on corrald's election port: garbage, an unknown protocol
version, an absurd address length, a huge or zero frame length from an
accepted peer id, a truncated header, a silent connection and malformed
notifications leave corrald running; it still elects a leader afterwards with
its real peers, and stops cleanly with the sanitizers silent."""
import os, socket, struct, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble

e = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3)], start=False)
c1 = e[1]
c1.start()
port = c1.election_port


def send(data, desc, close=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    if close:
        time.sleep(0.05)
        s.close()
    ok(c1.alive(), "corrald survives: " + desc)
    return s


def header(sid, addr=b"127.0.0.1:1"):
    return struct.pack(">qqi", -65536, sid, len(addr)) + addr


send(os.urandom(4096), "4 KiB of random bytes")
send(struct.pack(">q", -7) + b"x" * 100, "an unknown protocol version")
send(struct.pack(">qqi", -65536, 5, 0x7fffffff), "an address length of 2^31-1")
send(struct.pack(">qqi", -65536, 5, 10) + b"127.0", "a header cut short")
send(header(9) + struct.pack(">i", 0x7fffffff), "a frame length of 2^31-1 from a higher sid")
send(header(9) + struct.pack(">i", 0), "a zero frame length")
send(header(9) + struct.pack(">i", 3) + b"abc", "a 3-byte notification")
send(header(9) + struct.pack(">i", 48) + struct.pack(">iqqqqii", 0, 9, 0, 1, 0, 2, 1 << 30),
     "a notification whose config length exceeds it")
send(header(9) + struct.pack(">i", 44) + struct.pack(">iqqqqii", 77, 9, 0, 1, 0, 2, 0),
     "a notification with an unknown state")
silent = send(b"", "a connection that says nothing", close=False)
ok(wait_for(lambda: "said nothing whole" in c1.output(), 15), "the silent connection is closed")
silent.close()
out = c1.output()
ok("unrecognized protocol version" in out and "unreasonable address length" in out and
   "invalid frame length" in out, "each refusal is logged with its reason")

# the real peers arrive: the election still works
e[2].start()
e[3].start()
ok(wait_for(lambda: all(m.last_decision() for m in e.members), 30), "the election still completes")
is_([m.last_decision() for m in e.members], [(3, "following"), (3, "following"), (3, "leading")],
    "and all agree on 3")
for m in e.members:
    status = m.stop()
    if not ok(status == 0 and m.sanitizer_report() is None,
              "member %d stops cleanly, sanitizers silent" % m.sid):
        diag((m.sanitizer_report() or m.output())[-3000:])
done()
