#!/usr/bin/python3
"""t0700 — the protobuf transport, driven by a client generated from
corral.proto with python3-protobuf: session open, create (plain, sequential,
ephemeral, with null data), get/set/exists/delete with versions, children
with and without Stat, ACLs, sync, ZooKeeper's error codes, multi (success
and an all-or-nothing failure reporting every member), multi_read,
getAllChildrenNumber, getEphemerals, addauth digest and whoAmI, pipelined
requests matched by id, session resume with the password (and refusal with a
wrong one), close removing ephemerals, and expiry when the client goes quiet."""
import os, struct, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from protobuf_client import PbClient, PbCorrald, pb, ConnectionClosed

srv = PbCorrald({"module.auth": "world,digest"})
c = PbClient(srv.pb_port)
r = c.connect(timeout_ms=6000, rid=77)
is_(r.err, 0, "connect answers err 0")
is_(r.id, 77, "connect's answer echoes its id")
is_(r.WhichOneof("response"), "connected", "connect answers `connected`")
ok(c.session_id and len(c.passwd) == 16, "a session id and a 16-byte password")
ok(4000 <= c.timeout_ms <= 40000, "the timeout is negotiated within the server's bounds")

# ---- create / get / set / exists / delete ----
r = c.create("/p", b"hello")
is_((r.err, r.create.path), (0, "/p"), "create answers the path")
is_(r.create.stat.data_length, 5, "create answers the Stat too")
ok(r.zxid > 0 and r.create.stat.czxid == r.zxid, "create's zxid is the node's czxid")
r = c.get("/p")
is_((r.err, r.data.data, r.data.stat.version), (0, b"hello", 0), "get_data returns data and Stat")
r = c.set("/p", b"world", version=0)
is_((r.err, r.stat.stat.version), (0, 1), "set_data with the right version bumps it")
is_(c.set("/p", b"x", version=0).err, pb.BADVERSION, "set_data with a stale version: BADVERSION (-103)")
is_(c.get("/p").data.data, b"world", "the failed set changed nothing")
is_(c.set("/p", b"again").err, 0, "set_data without a version means any version")
is_(c.create("/p", b"").err, pb.NODEEXISTS, "create of an existing node: NODEEXISTS (-110)")
is_(c.get("/missing").err, pb.NONODE, "get_data of a missing node: NONODE (-101)")
r = c.exists("/missing")
is_((r.err, r.WhichOneof("response")), (pb.NONODE, None), "exists on a missing node: NONODE, no body")
r = c.exists("/p")
is_((r.err, r.stat.stat.data_length), (0, 5), "exists answers the Stat")
is_(c.create("/bad/child", b"").err, pb.NONODE, "create under a missing parent: NONODE")
is_(c.create("no-slash", b"").err, pb.BADARGUMENTS, "create with an invalid path: BADARGUMENTS (-8)")

r = c.create("/nulldata", None)
is_(r.err, 0, "create with absent data (a null buffer)")
r = c.get("/nulldata")
ok(r.err == 0 and not r.data.HasField("data"), "get_data of a null-data node leaves data absent")
c.create("/emptydata", b"")
r = c.get("/emptydata")
ok(r.err == 0 and r.data.HasField("data") and r.data.data == b"", "empty data is present and empty")

c.create("/p/a", b"")
c.create("/p/b", b"")
is_(c.delete("/p").err, pb.NOTEMPTY, "delete of a node with children: NOTEMPTY (-111)")
r = c.children("/p")
is_((r.err, sorted(r.children.children)), (0, ["a", "b"]), "get_children lists the children")
ok(not r.children.HasField("stat"), "get_children without with_stat has no Stat")
r = c.children("/p", with_stat=True)
is_(r.children.stat.num_children, 2, "get_children with_stat answers the parent's Stat")
is_(c.delete("/p/a", version=5).err, pb.BADVERSION, "delete with a wrong version: BADVERSION")
is_(c.delete("/p/a", version=0).err, 0, "delete with the right version")
is_(c.delete("/p/b").err, 0, "delete with any version")
is_(c.exists("/p/a").err, pb.NONODE, "the deleted node is gone")

# ---- sequential and ephemeral ----
r1 = c.create("/p/seq-", b"", mode=pb.PERSISTENT_SEQUENTIAL)
r2 = c.create("/p/seq-", b"", mode=pb.PERSISTENT_SEQUENTIAL)
ok(r1.create.path.startswith("/p/seq-") and len(r1.create.path) == len("/p/seq-") + 10,
   "a sequential create answers the name with a 10-digit counter")
ok(r2.create.path > r1.create.path, "sequence numbers increase")
r = c.create("/eph", b"", mode=pb.EPHEMERAL)
is_(r.create.stat.ephemeral_owner, c.session_id, "an ephemeral's owner is the session")
is_(c.create("/eph/child", b"").err, pb.NOCHILDRENFOREPHEMERALS,
    "no children under an ephemeral (-108)")
is_(c.call(get_ephemerals=pb.PathRequest(path="/")).children.children, ["/eph"],
    "get_ephemerals lists the session's ephemerals")
r = c.call(get_all_children_number=pb.PathRequest(path="/p"))
is_((r.err, r.number.number), (0, 2), "get_all_children_number counts descendants")

# ---- ACLs ----
r = c.call(get_acl=pb.PathRequest(path="/p"))
is_([(a.scheme, a.id, a.perms) for a in r.acl.acl], [("world", "anyone", 31)], "get_acl")
r = c.call(set_acl=pb.SetACLRequest(path="/p", acl=PbClient.acl([("world", "anyone", 1)]),
                                    version=0))
is_((r.err, r.stat.stat.aversion), (0, 1), "set_acl bumps aversion")
is_(c.create("/p/c", b"").err, pb.NOAUTH, "create without CREATE permission: NOAUTH (-102)")
is_(c.call(set_acl=pb.SetACLRequest(path="/p", acl=PbClient.acl(), version=0)).err, pb.NOAUTH,
    "set_acl without ADMIN permission: NOAUTH")
is_(c.create("/acl-bad", b"", acl=[("nosuch", "x", 31)]).err, pb.INVALIDACL,
    "an ACL of an unknown scheme: INVALIDACL (-114)")

# ---- auth ----
is_(c.auth("digest", b"alice:secret").err, 0, "addauth digest")
r = c.call(who_am_i=None)
is_([(x.scheme, x.user) for x in r.who_am_i.clients], [("digest", "alice")], "whoAmI shows the digest user")
r = c.create("/mine", b"s", acl=[("auth", "", 31)])
is_(r.err, 0, "create with the auth scheme ACL")
other = PbClient(srv.pb_port)
other.connect()
is_(other.get("/mine").err, pb.NOAUTH, "another session cannot read it")
other.auth("digest", b"alice:secret")
is_(other.get("/mine").data.data, b"s", "the same credentials can")
bad = PbClient(srv.pb_port)
bad.connect()
is_(bad.auth("nosuch", b"x").err, pb.AUTHFAILED, "addauth of an unknown scheme: AUTHFAILED (-115)")
ok(bad.is_closed(), "and the connection is closed, as ZooKeeper does")
is_(bad.closed_notice.session_closed.reason if bad.closed_notice else None, pb.AUTHFAILED,
    "after a session_closed notice with the reason")

# ---- sync ----
r = c.call(sync=pb.PathRequest(path="/p"))
is_((r.err, r.sync.path), (0, "/p"), "sync answers the path")

# ---- multi ----
ops = [pb.Op(create=pb.CreateRequest(path="/m", data=b"1", acl=PbClient.acl())),
       pb.Op(create=pb.CreateRequest(path="/m/x", acl=PbClient.acl(), mode=pb.PERSISTENT_SEQUENTIAL)),
       pb.Op(set_data=pb.SetDataRequest(path="/m", data=b"2", version=0)),
       pb.Op(check=pb.CheckRequest(path="/m", version=1)),
       pb.Op(delete=pb.DeleteRequest(path="/emptydata"))]
r = c.call(multi=pb.MultiRequest(ops=ops))
is_(r.err, 0, "a good multi succeeds")
is_([x.WhichOneof("result") for x in r.multi.results], ["create", "create", "set_data", "check", "delete"],
    "it reports one result per member, in order")
ok(r.multi.results[1].create.path.startswith("/m/x"), "member results carry created paths")
is_(r.multi.results[2].set_data.stat.version, 1, "and Stats")
is_(c.get("/m").data.data, b"2", "the multi's writes are applied")
ops = [pb.Op(create=pb.CreateRequest(path="/m2", acl=PbClient.acl())),
       pb.Op(check=pb.CheckRequest(path="/m", version=99)),
       pb.Op(delete=pb.DeleteRequest(path="/m"))]
r = c.call(multi=pb.MultiRequest(ops=ops))
is_(r.err, pb.BADVERSION, "a failing multi answers the failing member's code")
is_([x.err for x in r.multi.results], [0, pb.BADVERSION, pb.RUNTIMEINCONSISTENCY],
    "members: 0 before, the failure, RUNTIMEINCONSISTENCY after")
is_(c.exists("/m2").err, pb.NONODE, "nothing of a failed multi is applied")
r = c.call(multi=pb.MultiRequest(ops=[pb.Op(), pb.Op(delete=pb.DeleteRequest(path="/m"))]))
is_(r.multi.results[0].err, pb.BADARGUMENTS, "an empty multi member: BADARGUMENTS")
r = c.call(multi=pb.MultiRequest(ops=[]))
is_((r.err, len(r.multi.results)), (0, 0), "an empty multi succeeds with no results")
r = c.call(multi_read=pb.MultiReadRequest(ops=[
    pb.ReadOp(get_data=pb.PathWatchRequest(path="/m")),
    pb.ReadOp(get_children=pb.PathWatchRequest(path="/m")),
    pb.ReadOp(get_data=pb.PathWatchRequest(path="/nope"))]))
is_(r.multi.results[0].get_data.data, b"2", "multi_read: get_data member")
is_(len(r.multi.results[1].get_children.children), 1, "multi_read: get_children member")
is_(r.multi.results[2].err, pb.NONODE, "multi_read: a failing member has its own code")

# ---- pipelining ----
ids = [c.send(create=pb.CreateRequest(path="/pipe%d" % i, data=b"%d" % i, acl=PbClient.acl()))
       for i in range(50)]
ids += [c.send(get_data=pb.PathWatchRequest(path="/pipe%d" % i)) for i in range(50)]
answers = [c.answer(i) for i in ids]
ok(all(a.err == 0 for a in answers), "100 pipelined requests all succeed")
is_([a.data.data for a in answers[50:]], [b"%d" % i for i in range(50)],
    "pipelined reads see the writes sent before them")
# answers come in request order on the wire
c2 = PbClient(srv.pb_port)
c2.connect()
ids = [c2.send(exists=pb.PathWatchRequest(path="/pipe%d" % i)) for i in range(20)]
got = [c2.recv_message().id for _ in ids]
is_(got, ids, "answers arrive in request order, ids echoed")
# requests may follow connect without waiting for `connected`
c6 = PbClient(srv.pb_port)
burst = pb.ClientMessage(id=1)
burst.connect.timeout_ms = 10000
frames = [burst.SerializeToString(),
          pb.ClientMessage(id=2, create=pb.CreateRequest(path="/burst", data=b"b", acl=PbClient.acl(),
                                                         mode=pb.EPHEMERAL)).SerializeToString(),
          pb.ClientMessage(id=3, get_data=pb.PathWatchRequest(path="/burst")).SerializeToString()]
c6.s.sendall(b"".join(struct.pack(">I", len(f)) + f for f in frames))
got = [c6.recv_message() for _ in range(3)]
is_([(m.id, m.err, m.WhichOneof("response")) for m in got],
    [(1, 0, "connected"), (2, 0, "create"), (3, 0, "data")],
    "connect and requests sent in one go: connected first, then the answers")
is_(got[1].create.stat.ephemeral_owner, got[0].connected.session_id, "they ran in the new session")
c6.close()
ping = c2.call(ping=None)
is_((ping.err, ping.WhichOneof("response")), (0, None), "ping is answered with err 0")
c2.close()

# ---- resume, close, expiry ----
sid, pw = c.session_id, c.passwd
c.close()   # drop the socket without closing the session
time.sleep(0.2)
c3 = PbClient(srv.pb_port)
r = c3.connect(session_id=sid, passwd=pw, timeout_ms=6000)
is_((r.err, r.connected.session_id), (0, sid), "a session resumes on a new connection with its password")
is_(c3.exists("/eph").err, 0, "its ephemeral is still there")
c4 = PbClient(srv.pb_port)
r = c4.connect(session_id=sid, passwd=b"\0" * 16)
is_(r.err, pb.SESSIONEXPIRED, "a wrong password: SESSIONEXPIRED (-112)")
ok(c4.is_closed(), "and the connection closes")
c5 = PbClient(srv.pb_port)
r = c5.connect(session_id=sid, passwd=pw)
is_(r.err, 0, "resuming again moves the session")
ok(c3.is_closed(), "the old connection is closed")
is_(c3.closed_notice.session_closed.reason if c3.closed_notice else None, pb.SESSIONMOVED,
    "with a session_closed notice: SESSIONMOVED (-118)")
is_(c5.close_session().err, 0, "close answers err 0")
ok(c5.is_closed(), "then the server closes the connection")
checker = PbClient(srv.pb_port)
checker.connect()
is_(checker.exists("/eph").err, pb.NONODE, "closing the session removed its ephemeral")

q = PbClient(srv.pb_port)
q.connect(timeout_ms=4000)
q.create("/quiet-eph", b"", mode=pb.EPHEMERAL)
qsid, qpw = q.session_id, q.passwd
q.close()
ok(wait_for(lambda: checker.exists("/quiet-eph").err == pb.NONODE, 15),
   "a session that goes quiet expires and its ephemeral goes")
q2 = PbClient(srv.pb_port)
is_(q2.connect(session_id=qsid, passwd=qpw).err, pb.SESSIONEXPIRED, "an expired session cannot be resumed")

alive = PbClient(srv.pb_port)
alive.connect(timeout_ms=4000)
alive.create("/alive-eph", b"", mode=pb.EPHEMERAL)
for _ in range(8):
    time.sleep(1)
    alive.call(ping=None)
is_(checker.exists("/alive-eph").err, 0, "pings keep a session alive past its timeout")

srv.check_clean_exit()
done()
