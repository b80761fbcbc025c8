#!/usr/bin/python3
"""t0010 — kazoo CRUD against a real corrald: create/get/set/delete/exists/
get_children with the Stat fields a client relies on (versions, cversion,
numChildren, dataLength, czxid/mzxid/pzxid ordering), the error of each
failing case, and large values up to ZooKeeper's 1 MB limit."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from kazoo.exceptions import (NoNodeError, NodeExistsError, NotEmptyError, BadVersionError,
                              NoChildrenForEphemeralsError, BadArgumentsError)

srv = server_under_test()
zk = kazoo(srv.hosts)

is_(sorted(zk.get_children("/")), ["zookeeper"], "a new server's root holds only /zookeeper")
is_(sorted(zk.get_children("/zookeeper")), ["config", "quota"], "/zookeeper holds config and quota")

path = zk.create("/crud", b"v1")
is_(path, "/crud", "create answers the path")
data, st = zk.get("/crud")
is_(data, b"v1", "get answers the data")
is_((st.version, st.cversion, st.aversion, st.dataLength, st.numChildren, st.ephemeralOwner),
    (0, 0, 0, 2, 0, 0), "a new node's Stat: versions 0, dataLength 2, no children, not ephemeral")
ok(st.czxid == st.mzxid == st.pzxid and st.czxid > 0, "czxid = mzxid = pzxid > 0 on create")
ok(st.ctime == st.mtime and st.ctime > 1600000000000, "ctime = mtime, in milliseconds")

st2 = zk.set("/crud", b"version-two")
is_((st2.version, st2.dataLength), (1, 11), "set bumps version and updates dataLength")
ok(st2.mzxid > st.mzxid and st2.czxid == st.czxid, "set moves mzxid, keeps czxid")
raises(BadVersionError, lambda: zk.set("/crud", b"x", version=0), "set with a stale version: BadVersion")
is_(zk.set("/crud", b"v3", version=1).version, 2, "set with the right version succeeds")

zk.create("/crud/a", b"")
zk.create("/crud/b", b"")
_, pst = zk.get("/crud")
is_((pst.numChildren, pst.cversion), (2, 2), "two children: numChildren 2, cversion 2")
is_(sorted(zk.get_children("/crud")), ["a", "b"], "get_children lists them")
children, cst = zk.get_children("/crud", include_data=True)
is_(cst.numChildren, 2, "getChildren2 answers the parent's Stat")
zk.delete("/crud/a")
_, pst2 = zk.get("/crud")
is_((pst2.numChildren, pst2.cversion), (1, 3), "delete: numChildren 1, cversion 3 (creates + deletes)")
ok(pst2.pzxid > pst.pzxid, "delete moves the parent's pzxid")

is_(zk.exists("/nope"), None, "exists on a missing node is None")
ok(zk.exists("/crud") is not None, "exists on a node answers its Stat")
raises(NoNodeError, lambda: zk.get("/nope"), "get of a missing node: NoNode")
raises(NoNodeError, lambda: zk.set("/nope", b""), "set of a missing node: NoNode")
raises(NoNodeError, lambda: zk.delete("/nope"), "delete of a missing node: NoNode")
raises(NoNodeError, lambda: zk.create("/nope/child"), "create under a missing parent: NoNode")
raises(NodeExistsError, lambda: zk.create("/crud"), "create of an existing node: NodeExists")
raises(NotEmptyError, lambda: zk.delete("/crud"), "delete of a node with children: NotEmpty")
raises(BadVersionError, lambda: zk.delete("/crud/b", version=5), "delete with a wrong version: BadVersion")
zk.create("/eph", b"", ephemeral=True)
raises(NoChildrenForEphemeralsError, lambda: zk.create("/eph/x"),
       "no children under an ephemeral: NoChildrenForEphemerals")
raises(BadArgumentsError, lambda: zk.delete("/zookeeper"), "delete of /zookeeper: BadArguments")

big = os.urandom(1024 * 1024 - 512)
zk.create("/big", big)
is_(zk.get("/big")[0], big, "a value just under 1 MB round-trips")

zk.create("/empty")
is_(zk.get("/empty")[0], b"", "a node created without data answers empty data")
zk.delete("/crud/b")
zk.delete("/crud")
is_(zk.exists("/crud"), None, "deleted node is gone")

zk.stop()
zk.close()
srv.check_clean_exit()
done()
