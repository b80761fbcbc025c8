#!/usr/bin/python3
"""t0250 — no reply is larger than jute.maxbuffer.  A reply grown from server
state that would be (a multiRead naming one 1 MB node hundreds of times, a
getChildren/getChildren2 of a node whose child names add up past the limit,
getEphemerals of long paths) is answered MarshallingError (-5) before it is
built: the server's peak RSS (VmHWM) does not jump, a log line names
jute.maxbuffer and the session, no watch the refused request asked for is
set, and the connection goes on serving (kazoo raises MarshallingError and
stays connected).  The same over the protobuf transport.  Replies that fit
are served, up to exactly jute.maxbuffer bytes (checked to the byte with a
small limit)."""
import os, sys, threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from protobuf_client import PbClient, PbCorrald, pb
from kazoo.exceptions import MarshallingError
from kazoo.protocol.states import KazooState

GETDATA, GETCHILDREN, GETCHILDREN2, MULTIREAD, GETEPHEMERALS, CREATE = 4, 8, 12, 22, 103, 1
LIMIT = 0xfffff                        # jute.maxbuffer's default
BIG = 1000000


def multiread(paths, op=GETDATA, watch=False):
    body = b""
    for p in paths:
        body += jint(op) + b"\0" + jint(-1) + jstr(p) + (b"\1" if watch else b"\0")
    return body + jint(-1) + b"\1" + jint(-1)


def watch_count(port):
    for line in four_letter(port, "mntr").splitlines():
        if line.startswith("zk_watch_count"):
            return int(line.split("\t")[1])
    return None


srv = PbCorrald()
zk = kazoo(srv.hosts)
states = []
zk.add_listener(states.append)
zk.create("/big", b"b" * BIG)
zk.create("/small", b"s")

raw = Raw(srv.port, timeout=30)
sid = raw.connect(timeout_ms=30000)["session_id"]

# ---- multiRead of one large node, many times ----
before = vmhwm_kb(srv.proc.pid)
rep = raw.request(1, MULTIREAD, multiread(["/big"] * 300, watch=True)) or (None,) * 4
is_((rep[0], rep[2], rep[3]), (1, -5, b""),
    "a multiRead of 300 x a 1 MB node: MarshallingError, no body")
after = vmhwm_kb(srv.proc.pid)
diag("VmHWM %d kB -> %d kB" % (before, after))
ok(after - before < 64 * 1024, "the server's peak RSS did not grow by the reply (%d kB)" %
   (after - before))
if rep[2] != -5:
    print("Bail out! the server built the oversized reply", flush=True)
    sys.exit(1)
line = [l for l in srv.output().splitlines() if "jute.maxbuffer" in l and "multiRead" in l]
ok(line and ("0x%x" % sid) in line[-1] and str(LIMIT) in line[-1],
   "the log names the session and jute.maxbuffer: %s" % (line[-1] if line else None))
is_(watch_count(srv.port), 0, "the refused multiRead set none of its watches")

# the issue's shape: a 36 KB request asking for 1.9 GB
body = multiread(["/big"] * 1900)
ok(len(body) < 40000, "(the request is %d bytes)" % len(body))
rep = raw.request(2, MULTIREAD, body)
is_(rep[2], -5, "a 36 KB multiRead that would make 1.9 GB: MarshallingError")
ok(vmhwm_kb(srv.proc.pid) - before < 64 * 1024, "the peak RSS still did not grow")

rep = raw.request(3, GETDATA, jstr("/small") + b"\0")
is_((rep[0], rep[2], JuteReader(rep[3]).buf()), (3, 0, b"s"), "the connection still serves")
rep = raw.request(4, MULTIREAD, multiread(["/big", "/small"]))
rd = JuteReader(rep[3])
rd.int(), rd.bool(), rd.int()
is_((rep[2], len(rd.buf())), (0, BIG), "a multiRead that fits (1 MB + a little) is served")

# ---- getChildren of a node with many long child names ----
name = lambda i: "c%04d" % i + "x" * 995          # 1000 bytes each
zk.create("/wide")
for r in [zk.create_async("/wide/" + name(i)) for i in range(1100)]:
    r.get(timeout=30)
want = 16 + 4 + 1100 * 1004
ok(want > LIMIT, "(getChildren /wide would be %d bytes)" % want)
rep = raw.request(5, GETCHILDREN, jstr("/wide") + b"\1")
is_((rep[2], rep[3]), (-5, b""), "getChildren over the limit: MarshallingError")
rep = raw.request(6, GETCHILDREN2, jstr("/wide") + b"\1")
is_((rep[2], rep[3]), (-5, b""), "getChildren2 over the limit: MarshallingError")
rep = raw.request(7, MULTIREAD, multiread(["/wide"], op=GETCHILDREN, watch=True))
is_(rep[2], -5, "a multiRead of that getChildren: MarshallingError")
is_(watch_count(srv.port), 0, "none of the refused reads set its watch")
raises(MarshallingError, lambda: zk.get_children("/wide"),
       "kazoo: get_children raises MarshallingError")
is_(zk.get("/small")[0], b"s", "kazoo's connection still serves")
ok(KazooState.SUSPENDED not in states and KazooState.LOST not in states,
   "kazoo never lost its connection")
line = [l for l in srv.output().splitlines() if "jute.maxbuffer" in l and "getChildren /wide" in l]
ok(line and ("%d bytes" % want) in line[-1], "the log says how large it would have been")

# protobuf: the same refusals, the connection goes on
pc = PbClient(srv.pb_port, timeout=30)
pc.connect()
before = vmhwm_kb(srv.proc.pid)
r = pc.call(multi_read=pb.MultiReadRequest(
    ops=[pb.ReadOp(get_data=pb.PathWatchRequest(path="/big"))] * 300))
is_((r.err, r.WhichOneof("response")), (pb.MARSHALLINGERROR, None),
    "protobuf: multi_read of 300 x 1 MB: MARSHALLINGERROR")
ok(vmhwm_kb(srv.proc.pid) - before < 64 * 1024, "protobuf: the peak RSS did not grow")
is_(pc.children("/wide").err, pb.MARSHALLINGERROR, "protobuf: get_children over the limit too")
is_(pc.get("/small").data.data, b"s", "protobuf: the connection still serves")
is_(len(pc.get("/big").data.data), BIG, "protobuf: a 1 MB get_data still fits")

# just under: 1000 children of 1000 bytes fit
for r in [zk.delete_async("/wide/" + name(i)) for i in range(1000, 1100)]:
    r.get(timeout=30)
rep = raw.request(8, GETCHILDREN, jstr("/wide") + b"\0")
is_((rep[2], len(JuteReader(rep[3]).strings() or [])), (0, 1000),
    "getChildren of 1000 KB of names (under the limit) is served")
is_(len(zk.get_children("/wide")), 1000, "and kazoo reads it")
raw.close()
zk.stop()
pc.close()
srv.check_clean_exit()

# ---- the boundary, to the byte, with a small limit ----
SMALL = 10000
srv = Corrald({"jute.maxbuffer": str(SMALL)})
raw = Raw(srv.port)
raw.connect()
edge = SMALL - 16 - 4 - 68                  # getData reply = header + buffer + Stat
rep = raw.request(1, CREATE, jstr("/edge") + jbuf(b"e" * edge) + OPEN_ACL + jint(0))
is_(rep[2], 0, "(a node whose getData reply is exactly jute.maxbuffer)")
raw.send_frame(jint(2) + jint(GETDATA) + jstr("/edge") + b"\0")
frame = raw.recv_frame()
is_((len(frame), struct.unpack(">i", frame[12:16])[0]), (SMALL, 0),
    "a reply of exactly jute.maxbuffer bytes is served")
rep = raw.request(3, 5, jstr("/edge") + jbuf(b"e" * (edge + 1)) + jint(-1))
is_(rep[2], 0, "(one byte more)")
rep = raw.request(4, GETDATA, jstr("/edge") + b"\0")
is_(rep[2], -5, "a reply one byte over jute.maxbuffer is refused")
# multiRead: header + 25 x (member header + buffer + Stat) + end marker = 10000
rep = raw.request(5, CREATE, jstr("/m") + jbuf(b"m" * 318) + OPEN_ACL + jint(0))
rep = raw.request(6, MULTIREAD, multiread(["/m"] * 25))
is_((rep[2], len(rep[3]) + 16), (0, SMALL), "a multiRead of exactly jute.maxbuffer is served")
rep = raw.request(7, MULTIREAD, multiread(["/m"] * 26))
is_(rep[2], -5, "one member more is refused")
# getEphemerals: one session's ephemeral paths
for i in range(11):
    raw.request(10 + i, CREATE, jstr("/e%02d" % i + "x" * 1000) + jbuf(b"") + OPEN_ACL + jint(1))
rep = raw.request(30, GETEPHEMERALS, jstr("/"))
is_(rep[2], -5, "getEphemerals of 11 KB of paths: refused")
rep = raw.request(31, GETEPHEMERALS, jstr("/e00"))
is_((rep[2], len(JuteReader(rep[3]).strings())), (0, 1), "getEphemerals of one: served")
raw.close()
srv.check_clean_exit()
done()
