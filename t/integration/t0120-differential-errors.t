#!/usr/bin/python3
"""t0120 — error paths, differential: the same raw requests against Apache
ZooKeeper 3.8 and corrald, compared by error code and zxid offset (a failed
write still takes a zxid on both).  Paths: empty, relative, trailing '/',
'//', '.' and '..' components, control and other refused characters (a NUL
among them: create, delete and exists refuse it as such, elsewhere it is a
path no node has),
a sequential create whose name only becomes valid with its suffix, reads of
such paths (not validated: NoNode), and the /zookeeper system nodes.  Sizes:
data up to jute.maxbuffer (a frame past it closes the connection; the
session lives on).  Malformed records (MarshallingError; a write's takes a
zxid), an unknown opcode (ZUNIMPLEMENTED, zxid -1, connection closed) and
reconfig in standalone (ReconfigDisabled, as a txn).  A failing check prints
both answers."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

CREATE, DELETE, EXISTS, GETDATA, SETDATA, GETCHILDREN, SYNC, RECONFIG = 1, 2, 3, 4, 5, 8, 9, 16


class Side:
    def __init__(self, server):
        self.port = server.port
        self.raw = Raw(server.port)
        self.raw.connect(timeout_ms=30000)
        self.xid = 0
        self.base = self.call(EXISTS, jstr("/") + b"\0")[0]

    def call(self, op, body):
        self.xid += 1
        try:
            rep = self.raw.request(self.xid, op, body)
        except OSError:         # the server closed while we were still sending
            return None
        if rep is None:
            return None
        xid, zxid, err, rest = rep
        return zxid, err, rest

    def norm(self, rep):
        if rep is None:
            return "closed"
        zxid, err, rest = rep
        return (err, zxid - self.base if zxid > 0 else zxid, rest if err else None)


zk = ZooKeeper()
co = Corrald({"module.auth": "world,ip,digest"})
sides = {"zookeeper": Side(zk), "corrald": Side(co)}


def same(desc, op, body):
    got = {name: s.norm(s.call(op, body)) for name, s in sides.items()}
    if not ok(got["zookeeper"] == got["corrald"], desc):
        diag("zookeeper %r\ncorrald   %r" % (got["zookeeper"], got["corrald"]))
    return got["zookeeper"]


def create(p, data=b"", flags=0):
    return jstr(p) + jbuf(data) + OPEN_ACL + jint(flags)


same("create /e", CREATE, create("/e"))
BAD = ["", "e", "/e/", "//", "/e//x", "/e/.", "/e/..", "/./e", "/e/../x", "/e/x\x01", "/e/\x1f",
       "/e/\x7f", "/e/\u0080", "/e/\ud7ff", "/e/\uf8ff", "/e/\ufff0", "/e/..x",
       "/e/.x", "/e/x.", "/e/ x", "/e/\u00e9t\u00e9", "/e/x\x00", "/e\x00/x", "/\x00"]
for p in BAD:
    for op, body, what in ((CREATE, create(p), "create"), (DELETE, jstr(p) + jint(-1), "delete"),
                           (SETDATA, jstr(p) + jbuf(b"x") + jint(-1), "setData"),
                           (EXISTS, jstr(p) + b"\0", "exists"), (GETDATA, jstr(p) + b"\0", "getData"),
                           (GETCHILDREN, jstr(p) + b"\0", "getChildren"), (SYNC, jstr(p), "sync")):
        same("%s %r" % (what, p), op, body)
# a sequential name ending in '/' is valid once the counter is appended
same("create sequential /e/ (the suffix makes the name)", CREATE, create("/e/", flags=2))
same("create sequential /e/x/ (missing parent)", CREATE, create("/e/x/", flags=2))
for p in ("/zookeeper", "/zookeeper/quota", "/zookeeper/config", "/"):
    same("delete %s" % p, DELETE, jstr(p) + jint(-1))
    same("setData %s" % p, SETDATA, jstr(p) + jbuf(b"x") + jint(-1))
same("create /zookeeper/x", CREATE, create("/zookeeper/x"))
same("delete /zookeeper/x", DELETE, jstr("/zookeeper/x") + jint(-1))

# sizes: ZooKeeper's jute.maxbuffer (1048575) bounds the whole frame
same("create with 1 MB less 1 KB of data", CREATE, create("/big", b"x" * (1048575 - 1024)))
same("setData with a zero-length buffer", SETDATA, jstr("/big") + jbuf(b"") + jint(-1))
same("setData with a null buffer", SETDATA, jstr("/big") + jint(-1) + jint(-1))

# malformed records, unknown ops, reconfig
same("a create record cut short: MarshallingError, a zxid spent", CREATE, jstr("/cut") + jint(5))
same("a getData record cut short: MarshallingError", GETDATA, jstr("/e"))
same("a string length past the frame", SETDATA, jint(1000) + b"/e")
same("reconfig in standalone: ReconfigDisabled", RECONFIG,
     jstr(None) + jstr(None) + jstr("server.1=127.0.0.1:2888:3888") + jlong(-1))
same("a frame past jute.maxbuffer closes the connection", SETDATA,
     jstr("/big") + jbuf(b"x" * 1048576) + jint(-1))
for name, s in sides.items():
    s.raw.close()
    sides[name] = Side(zk if name == "zookeeper" else co)
same("the server serves a new connection after it", EXISTS, jstr("/big") + b"\0")
same("an unknown opcode: ZUNIMPLEMENTED with zxid -1", 999, b"")
closed = {name: s.raw.closed(5) for name, s in sides.items()}
is_(closed, {"zookeeper": True, "corrald": True}, "and the connection is closed")
co.check_clean_exit()
done()
