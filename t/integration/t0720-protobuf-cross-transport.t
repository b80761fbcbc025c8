#!/usr/bin/python3
"""t0720 — one corrald, two transports: kazoo on the ZooKeeper port and the
generated protobuf client on the protobuf port see the same tree, stats,
ACLs and ephemerals, and a write through either fires watches set through
the other (one-shot and persistent-recursive)."""
import os, sys, threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from protobuf_client import PbClient, PbCorrald, pb

srv = PbCorrald({"module.auth": "world,digest"})
zk = kazoo(srv.hosts)
p = PbClient(srv.pb_port)
p.connect()

# the same tree
zk.create("/x", b"from-zk")
r = p.get("/x")
is_(r.data.data, b"from-zk", "protobuf reads what kazoo wrote")
data, st = zk.get("/x")
is_((r.data.stat.czxid, r.data.stat.mzxid, r.data.stat.version, r.data.stat.ctime),
    (st.czxid, st.mzxid, st.version, st.ctime), "both see the same Stat")
p.create("/x/child", b"from-pb")
is_(zk.get("/x/child")[0], b"from-pb", "kazoo reads what protobuf wrote")
is_(sorted(zk.get_children("/")), sorted(p.children("/").children.children),
    "both list the same children of /")

# kazoo write fires a protobuf watch
p.get("/x", watch=True)
zk.set("/x", b"zk-set")
p.wait_events(1)
is_([(e.type, e.path) for e in p.events], [(pb.NODE_DATA_CHANGED, "/x")],
    "a kazoo write fires a data watch set over protobuf")
p.events.clear()
p.children("/x", watch=True)
zk.create("/x/zk-child")
p.wait_events(1)
is_([(e.type, e.path) for e in p.events], [(pb.NODE_CHILDREN_CHANGED, "/x")],
    "a kazoo create fires a child watch set over protobuf")
p.events.clear()

# protobuf write fires a kazoo watch
events = []
cond = threading.Event()


def record(e):
    events.append((e.type, e.path))
    cond.set()


zk.get("/x/child", watch=record)
p.set("/x/child", b"pb-set")
cond.wait(5)
is_(events, [("CHANGED", "/x/child")], "a protobuf write fires a kazoo data watch")
events.clear()
cond.clear()
zk.exists("/made-by-pb", watch=record)
p.create("/made-by-pb", b"")
cond.wait(5)
is_(events, [("CREATED", "/made-by-pb")], "a protobuf create fires a kazoo exists watch")

# persistent recursive over protobuf, writes over kazoo
is_(p.add_watch("/x", recursive=True).err, 0, "add_watch recursive over protobuf")
zk.create("/x/child/deep", b"")
zk.set("/x/child/deep", b"1")
zk.delete("/x/child/deep")
p.wait_events(3)
is_([(e.type, e.path) for e in p.events],
    [(pb.NODE_CREATED, "/x/child/deep"), (pb.NODE_DATA_CHANGED, "/x/child/deep"),
     (pb.NODE_DELETED, "/x/child/deep")], "kazoo writes fire a recursive watch set over protobuf")
p.events.clear()

# ephemerals and ACLs across transports
e = PbClient(srv.pb_port)
e.connect()
e.create("/pb-eph", b"", mode=pb.EPHEMERAL)
owner = zk.exists("/pb-eph").ephemeralOwner
is_(owner, e.session_id, "kazoo sees the protobuf session as the ephemeral's owner")
zk.exists("/pb-eph", watch=record)
events.clear()
cond.clear()
e.close_session()
cond.wait(5)
is_(events, [("DELETED", "/pb-eph")], "closing the protobuf session fires kazoo's watch on its ephemeral")

zk.add_auth("digest", "bob:pw")
from kazoo.security import make_digest_acl
zk.create("/bobs", b"secret", acl=[make_digest_acl("bob", "pw", all=True)])
is_(p.get("/bobs").err, pb.NOAUTH, "an ACL set through kazoo denies the protobuf client")
p.auth("digest", b"bob:pw")
is_(p.get("/bobs").data.data, b"secret", "and admits it with the same digest credentials")

zk.stop()
srv.check_clean_exit()
done()
