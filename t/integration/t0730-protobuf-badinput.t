#!/usr/bin/python3
"""t0730 — bad input on the protobuf port never hurts the server: bytes that
are not a ClientMessage are answered MARSHALLINGERROR (-5) and the connection
closes; a length above protobuf.maxMessageSize closes it with a log line; a
request before `connect` and a second `connect` are answered BADARGUMENTS (-8)
and close; an unknown request is answered UNIMPLEMENTED (-6) and the
connection goes on; a string holding a NUL byte is refused (-5, close) rather
than cut short; a connect whose password is present but empty is served
(resume: SESSIONEXPIRED; new: connected); ids are echoed whatever their
value; a huge multi of empty members is refused member by member; and after
hundreds of connections of random and mutated messages the server still
serves, and stops with the sanitizers silent."""
import os, random, socket, struct, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from protobuf_client import PbClient, PbCorrald, pb, ConnectionClosed

LIMIT = 64 * 1024
srv = PbCorrald({"protobuf.maxMessageSize": str(LIMIT)})
good = PbClient(srv.pb_port)
good.connect()
good.create("/keep", b"k")


def fresh(connect=True):
    c = PbClient(srv.pb_port, timeout=5)
    if connect:
        c.connect()
    return c


def error_then_close(c, want_err, desc):
    try:
        m = c.recv_message(5)
        got = (m.id, m.err)
    except (ConnectionClosed, socket.timeout):
        got = None
    is_(got and got[1], want_err, desc + ": answered %d" % want_err)
    ok(c.is_closed(), desc + ": the connection closes")
    c.close()


# not protobuf at all, before connect
c = fresh(False)
c.send_raw(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")
error_then_close(c, pb.MARSHALLINGERROR, "garbage before connect")

# a truncated message after connect
c = fresh()
msg = pb.ClientMessage(id=7, create=pb.CreateRequest(path="/trunc", data=b"x" * 100,
                                                      acl=PbClient.acl()))
c.send_raw(msg.SerializeToString()[:20])
error_then_close(c, pb.MARSHALLINGERROR, "a truncated message")
is_(good.exists("/trunc").err, pb.NONODE, "the truncated create did nothing")

# a field with the wrong wire type (id as a length-delimited field)
c = fresh()
c.send_raw(b"\x0a\x02ab")
error_then_close(c, pb.MARSHALLINGERROR, "a field with the wrong wire type")

# a nested length running past the end
c = fresh()
c.send_raw(b"\x08\x01\x5a\x7f\x0a\x05/abc")
error_then_close(c, pb.MARSHALLINGERROR, "a nested length past the end")

# a NUL inside a string (C would see "/keep" and act on it)
c = fresh()
c.send_raw(pb.ClientMessage(id=8, set_data=pb.SetDataRequest(path="/keep\0junk", data=b"NUL"))
           .SerializeToString())
error_then_close(c, pb.MARSHALLINGERROR, "a path with a NUL byte")
is_(good.get("/keep").data.data, b"k", "the NUL path did not reach /keep")

# ids are echoed whatever their value
c = fresh()
c.send_raw(pb.ClientMessage(id=0xfffffff0, exists=pb.PathWatchRequest(path="/keep")).SerializeToString())
r = c.recv_message(5)
is_((r.id, r.err), (0xfffffff0, 0), "a large id is echoed as sent")
c.close()

# oversized: over the configured limit, and absurd
c = fresh()
big = pb.ClientMessage(id=9, create=pb.CreateRequest(path="/big", data=b"x" * (LIMIT + 10),
                                                    acl=PbClient.acl()))
c.send_raw(big.SerializeToString())
error_then_close(c, pb.MARSHALLINGERROR, "a message over protobuf.maxMessageSize")
ok("over the limit" in srv.output(), "the oversized message is logged")
is_(good.exists("/big").err, pb.NONODE, "the oversized create did nothing")
c = fresh(False)
c.s.sendall(struct.pack(">I", 0xffffffff) + b"\0" * 16)
error_then_close(c, pb.MARSHALLINGERROR, "a 4 GiB length before connect")
c = fresh()
just = pb.ClientMessage(id=10, create=pb.CreateRequest(path="/just", data=b"y" * (LIMIT - 200),
                                                      acl=PbClient.acl()))
ok(len(just.SerializeToString()) <= LIMIT, "(a message just under the limit)")
r = c.call(create=just.create)
is_(r.err, 0, "a message just under the limit is served")
c.close()

# an empty password (a present bytes field of length 0: protobuf-c gives it no
# buffer at all); the sanitizers stop the server if the codec copies from it
c = fresh(False)
m = pb.ClientMessage(id=11)
m.connect.timeout_ms = 5000
m.connect.session_id = 0x1234
m.connect.passwd = b""
c.send_raw(m.SerializeToString())
error_then_close(c, pb.SESSIONEXPIRED, "resuming with an empty password")
c = fresh(False)
m = pb.ClientMessage(id=12)
m.connect.timeout_ms = 5000
m.connect.passwd = b""
c.send_raw(m.SerializeToString())
r = c.recv_message(5)
is_((r.id, r.err, r.WhichOneof("response")), (12, 0, "connected"),
    "a new session with an empty password field is connected")
is_(c.call(exists=pb.PathWatchRequest(path="/keep")).err, 0, "and served")
c.close()

# protocol order
c = fresh(False)
c.send_raw(pb.ClientMessage(id=3, get_data=pb.PathWatchRequest(path="/keep")).SerializeToString())
error_then_close(c, pb.BADARGUMENTS, "a request before connect")
c = fresh()
m = pb.ClientMessage(id=4)
m.connect.timeout_ms = 5000
c.send_raw(m.SerializeToString())
error_then_close(c, pb.BADARGUMENTS, "a second connect")

# unknown requests: answered, connection goes on
c = fresh()
r = c.answer(c.send())
is_((r.id, r.err), (1, pb.UNIMPLEMENTED), "a message with no request: UNIMPLEMENTED (-6), id echoed")
c.send_raw(pb.ClientMessage(id=50).SerializeToString() + b"\xa2\x06\x02\x08\x01")  # field 100
r = c.answer(50)
is_(r.err, pb.UNIMPLEMENTED, "a request from a newer protocol (unknown field): UNIMPLEMENTED")
is_(c.get("/keep").data.data, b"k", "the connection still serves")
r = c.call(multi=pb.MultiRequest(ops=[pb.Op() for _ in range(20000)]))
is_((r.err, len(r.multi.results)), (pb.BADARGUMENTS, 20000), "a multi of 20000 empty members is refused")
is_(c.call(add_watch=pb.AddWatchRequest(path="/keep", mode=77)).err, pb.BADARGUMENTS,
    "add_watch with an unknown mode: BADARGUMENTS")
is_(c.create("/ttl-wrong", b"", mode=pb.PERSISTENT, ttl=5000).err, pb.BADARGUMENTS,
    "a ttl with a mode that has none: BADARGUMENTS")
is_(c.create("/bad-mode", b"", mode=99).err, pb.BADARGUMENTS, "an unknown create mode: BADARGUMENTS")
c.close()

# half a message, then the peer goes away
c = fresh()
c.s.sendall(struct.pack(">I", 1000) + b"\x08")
c.close()

# random bytes and mutated valid messages
rnd = random.Random(730)
samples = [
    pb.ClientMessage(id=1, create=pb.CreateRequest(path="/fz/a", data=b"abc", acl=PbClient.acl(), mode=1)),
    pb.ClientMessage(id=2, set_data=pb.SetDataRequest(path="/fz", data=b"zz", version=3)),
    pb.ClientMessage(id=3, multi=pb.MultiRequest(ops=[
        pb.Op(create=pb.CreateRequest(path="/fz/m", acl=PbClient.acl())),
        pb.Op(delete=pb.DeleteRequest(path="/fz/m"))])),
    pb.ClientMessage(id=4, set_watches=pb.SetWatchesRequest(relative_zxid=1, data=["/fz"], child=["/"])),
    pb.ClientMessage(id=5, set_acl=pb.SetACLRequest(path="/fz", acl=PbClient.acl())),
    pb.ClientMessage(id=6, get_children=pb.GetChildrenRequest(path="/", watch=True, with_stat=True)),
]
samples = [s.SerializeToString() for s in samples]
good.create("/fz", b"")
survived = True
for round_ in range(300):
    c = fresh()
    try:
        for _ in range(40):
            if rnd.random() < 0.3:
                payload = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 64)))
            else:
                payload = bytearray(rnd.choice(samples))
                for _ in range(rnd.randint(1, 4)):
                    payload[rnd.randrange(len(payload))] = rnd.getrandbits(8)
                payload = bytes(payload)
            c.send_raw(payload)
    except OSError:
        pass
    c.close()
    if srv.proc.poll() is not None:
        survived = False
        break
ok(survived, "the server survives 300 connections of random and mutated messages")
r = good.get("/keep")
is_(r.data.data if r.err == 0 else r.err, b"k", "an old session is still served")
other = PbClient(srv.pb_port)
is_(other.connect().err, 0, "new sessions are still accepted")
zk = kazoo(srv.hosts)
is_(zk.get("/keep")[0], b"k", "the ZooKeeper port still serves")
zk.stop()

srv.check_clean_exit()
done()
