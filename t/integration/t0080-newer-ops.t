#!/usr/bin/python3
"""t0080 — the operations ZooKeeper gained after 3.4, spoken on a raw socket
(kazoo 2.8 lacks most of them): create2 answers a Stat; container nodes are
removed once their last child goes (never-used ones stay); TTL nodes need
extendedTypesEnabled and vanish after their TTL; addWatch persistent and
persistent-recursive watches fire repeatedly (recursive ones on descendants,
without NodeChildrenChanged); removeWatches/checkWatches answer ZNOWATCHER
for a watch that is not there; setWatches on a new connection fires at once
for what changed since the client's zxid; getEphemerals,
getAllChildrenNumber, whoAmI, multiRead and sync answer as ZooKeeper 3.8."""
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

# opcodes (ZooDefs.OpCode)
CREATE, DELETE, EXISTS, GETDATA, SETDATA, GETCHILDREN, SYNC = 1, 2, 3, 4, 5, 8, 9
CREATE2, CHECKWATCHES, REMOVEWATCHES, CREATECONTAINER, CREATETTL, MULTIREAD = 15, 17, 18, 19, 21, 22
SETWATCHES, GETEPHEMERALS, GETALLCHILDRENNUMBER, ADDWATCH, WHOAMI = 101, 103, 104, 106, 107
# event types
CREATED, DELETED, CHANGED, CHILD = 1, 2, 3, 4
ZNOWATCHER, ZUNIMPLEMENTED, ZBADARGUMENTS, ZNONODE = -121, -6, -8, -101


class Session:
    """A raw session: call() answers (err, JuteReader) and keeps the watch
    events that arrived before the reply, in order, in .events."""

    def __init__(self, port, timeout_ms=10000):
        self.raw = Raw(port)
        self.info = self.raw.connect(timeout_ms=timeout_ms)
        self.xid = 0
        self.events = []

    def _event(self, body):
        rd = JuteReader(body)
        etype, _state = rd.int(), rd.int()
        self.events.append((etype, rd.str()))

    def call(self, op, body=b"", xid=None):
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.raw.send_frame(jint(xid) + jint(op) + body)
        while True:
            f = self.raw.reply()
            if f is None:
                return None, None
            if f[0] == -1:
                self._event(f[3])
                continue
            return f[2], JuteReader(f[3])

    def drain(self, wait=0.5):
        """Collect the events that arrive within wait seconds; returns and clears them."""
        self.raw.s.settimeout(wait)
        while True:
            f = self.raw.reply()
            if f is None:
                break
            if f[0] == -1:
                self._event(f[3])
        self.raw.s.settimeout(10)
        got, self.events = self.events, []
        return got

    def create(self, path, data=b"", flags=0, op=CREATE, ttl=None):
        body = jstr(path) + jbuf(data) + OPEN_ACL + jint(flags) + (b"" if ttl is None else jlong(ttl))
        return self.call(op, body)

    def exists(self, path, watch=False):
        err, rd = self.call(EXISTS, jstr(path) + (b"\1" if watch else b"\0"))
        return rd.stat() if err == 0 else err

    def close(self):
        self.raw.close()


srv = server_under_test({"module.auth": "world,ip,digest"})   # ZooKeeper's built-in schemes
a = Session(srv.port)
b = Session(srv.port)

# ---- create2 ------------------------------------------------------------------
err, rd = a.create("/n2", b"abc", op=CREATE2)
is_(err, 0, "create2 succeeds")
path, st = rd.str(), rd.stat()
is_((path, st["version"], st["dataLength"], st["numChildren"]), ("/n2", 0, 3, 0),
    "create2 answers the path and the new node's Stat")
ok(st["czxid"] == st["mzxid"] == st["pzxid"] > 0, "with czxid = mzxid = pzxid")
err, rd = a.create("/n2/s-", b"", flags=3, op=CREATE2)
is_((err, rd.str()), (0, "/n2/s-0000000000"), "create2 of an ephemeral sequential node answers its name")
is_(a.exists("/n2/s-0000000000")["ephemeralOwner"], a.info["session_id"], "owned by the session")

# ---- TTL nodes are off unless extendedTypesEnabled --------------------------------
err, _ = a.create("/ttl-off", flags=5, op=CREATETTL, ttl=1000)
is_(err, ZUNIMPLEMENTED, "createTTL without extendedTypesEnabled: ZUNIMPLEMENTED")
is_(a.exists("/ttl-off"), ZNONODE, "and nothing is created")

# ---- persistent watches --------------------------------------------------------
a.create("/pw")
err, rd = b.call(ADDWATCH, jstr("/pw") + jint(0))
is_(err, 0, "addWatch PERSISTENT is accepted")
a.call(SETDATA, jstr("/pw") + jbuf(b"1") + jint(-1))
a.call(SETDATA, jstr("/pw") + jbuf(b"2") + jint(-1))
a.create("/pw/kid")
a.create("/pw/kid/grandkid")
a.call(DELETE, jstr("/pw/kid/grandkid") + jint(-1))
a.call(DELETE, jstr("/pw/kid") + jint(-1))
a.call(DELETE, jstr("/pw") + jint(-1))
a.create("/pw")
is_(b.drain(), [(CHANGED, "/pw"), (CHANGED, "/pw"), (CHILD, "/pw"), (CHILD, "/pw"),
                (DELETED, "/pw"), (CREATED, "/pw")],
    "a persistent watch fires on every change of the node and its children, "
    "survives the node's delete, and ignores grandchildren")
is_(b.call(CHECKWATCHES, jstr("/pw") + jint(3))[0], 0, "checkWatches finds it")
is_(b.call(REMOVEWATCHES, jstr("/pw") + jint(3))[0], 0, "removeWatches (any) removes it")
a.call(SETDATA, jstr("/pw") + jbuf(b"3") + jint(-1))
is_(b.drain(), [], "no event once removed")

a.create("/rw")
err, _ = b.call(ADDWATCH, jstr("/rw") + jint(1))
is_(err, 0, "addWatch PERSISTENT_RECURSIVE is accepted")
a.create("/rw/x")
a.create("/rw/x/y", b"")
a.call(SETDATA, jstr("/rw/x/y") + jbuf(b"v") + jint(-1))
a.call(SETDATA, jstr("/rw") + jbuf(b"v") + jint(-1))
a.call(DELETE, jstr("/rw/x/y") + jint(-1))
a.create("/rwx")    # a sibling whose name starts the same is not below /rw
is_(b.drain(), [(CREATED, "/rw/x"), (CREATED, "/rw/x/y"), (CHANGED, "/rw/x/y"), (CHANGED, "/rw"),
                (DELETED, "/rw/x/y")],
    "a recursive watch sees creates, changes and deletes below it, no child events, "
    "and not a sibling with the same prefix")
is_(b.call(REMOVEWATCHES, jstr("/rw") + jint(3))[0], 0, "removeWatches removes the recursive watch")

# ---- removeWatches / checkWatches of one-shot watches -------------------------------
a.create("/ow")
b.call(GETDATA, jstr("/ow") + b"\1")
b.call(GETCHILDREN, jstr("/ow") + b"\1")
is_(b.call(CHECKWATCHES, jstr("/ow") + jint(2))[0], 0, "checkWatches finds a data watch")
is_(b.call(REMOVEWATCHES, jstr("/ow") + jint(2))[0], 0, "removeWatches (data) removes it")
is_(b.call(CHECKWATCHES, jstr("/ow") + jint(2))[0], ZNOWATCHER, "then checkWatches (data): ZNOWATCHER")
is_(b.call(CHECKWATCHES, jstr("/ow") + jint(1))[0], 0, "the child watch is still there")
a.call(SETDATA, jstr("/ow") + jbuf(b"x") + jint(-1))
a.create("/ow/k")
is_(b.drain(), [(CHILD, "/ow")], "only the child watch fires")
is_(b.call(REMOVEWATCHES, jstr("/nowhere") + jint(3))[0], ZNOWATCHER,
    "removeWatches where there is none: ZNOWATCHER")
is_(a.call(REMOVEWATCHES, jstr("/ow") + jint(1))[0], ZNOWATCHER,
    "another session cannot remove b's watches (none of its own): ZNOWATCHER")

# ---- setWatches: a reconnecting client re-registers, missed changes fire now -------
a.create("/sw-data", b"0")
a.create("/sw-gone")
a.create("/sw-kids")
a.create("/sw-stay")
err, rd = a.call(SYNC, jstr("/"))
is_((err, rd.str()), (0, "/"), "sync answers the path")
seen = a.exists("/sw-stay")["czxid"]       # the client's last zxid: the newest write before the changes below
a.call(SETDATA, jstr("/sw-data") + jbuf(b"1") + jint(-1))
a.call(DELETE, jstr("/sw-gone") + jint(-1))
a.create("/sw-kids/k")
a.create("/sw-born")
a.create("/sw-new")      # created after the client's zxid: its data watch fires too
c = Session(srv.port)
body = jlong(seen) + jvec(["/sw-data", "/sw-gone", "/sw-new", "/sw-stay"]) \
    + jvec(["/sw-born", "/sw-never"]) + jvec(["/sw-kids", "/sw-stay"])
err, _ = c.call(SETWATCHES, body, xid=-8)
is_(err, 0, "setWatches is answered (xid -8)")
is_(sorted(c.drain()), sorted([(CHANGED, "/sw-data"), (DELETED, "/sw-gone"), (CHANGED, "/sw-new"),
                               (CREATED, "/sw-born"), (CHILD, "/sw-kids")]),
    "setWatches fires at once: changed data, deleted node, newer node, created node, changed children")
a.call(SETDATA, jstr("/sw-stay") + jbuf(b"1") + jint(-1))
a.create("/sw-stay/k")
a.create("/sw-never")
is_(sorted(c.drain()), sorted([(CHANGED, "/sw-stay"), (CHILD, "/sw-stay"), (CREATED, "/sw-never")]),
    "watches that had nothing to report stay registered and fire later")

# ---- getEphemerals, getAllChildrenNumber, whoAmI, multiRead ------------------------
a.create("/eph-a", flags=1)
a.create("/n2/eph-b", flags=1)
err, rd = a.call(GETEPHEMERALS, jstr("/"))
is_((err, sorted(rd.strings())), (0, ["/eph-a", "/n2/eph-b", "/n2/s-0000000000"]),
    "getEphemerals('/') lists the session's ephemerals")
err, rd = a.call(GETEPHEMERALS, jstr("/n2"))
is_(sorted(rd.strings()), ["/n2/eph-b", "/n2/s-0000000000"], "getEphemerals with a prefix")
err, rd = b.call(GETEPHEMERALS, jstr("/"))
is_((err, rd.strings()), (0, []), "another session has none")
a.create("/count")
a.create("/count/x")
a.create("/count/x/y")
a.create("/count/z")
err, rd = a.call(GETALLCHILDRENNUMBER, jstr("/count"))
is_((err, rd.int()), (0, 3), "getAllChildrenNumber counts every descendant")
is_(a.call(GETALLCHILDRENNUMBER, jstr("/missing"))[0], ZNONODE, "getAllChildrenNumber of a missing node: ZNONODE")
err, rd = a.call(WHOAMI)
n = rd.int() if err == 0 else -1
ids = [(rd.str(), rd.str()) for _ in range(max(n, 0))]
is_((err, ids), (0, [("ip", "127.0.0.1")]), "whoAmI: an unauthenticated client is ip:127.0.0.1")


def mheader(op, done=False, err=-1):
    return jint(op) + (b"\1" if done else b"\0") + jint(err)


body = mheader(GETDATA) + jstr("/n2") + b"\0" + mheader(GETCHILDREN) + jstr("/count") + b"\0" \
    + mheader(GETDATA) + jstr("/missing") + b"\0" + mheader(-1, True)
err, rd = a.call(MULTIREAD, body)
is_(err, 0, "multiRead is answered")
answers = []
while True:
    op, last, merr = rd.int(), rd.bool(), rd.int()
    if last:
        break
    if op == GETDATA:
        answers.append(("data", rd.buf(), rd.stat()["version"]))
    elif op == GETCHILDREN:
        answers.append(("children", sorted(rd.strings())))
    else:
        answers.append(("error", rd.int()))
is_(answers, [("data", b"abc", 0), ("children", ["x", "z"]), ("error", ZNONODE)],
    "multiRead answers each read, a failing one with its error, without failing the others")
a.close()
b.close()
c.close()
srv.check_clean_exit()

# ---- containers and TTL nodes (a server with extended types, a fast reaper) ----------
ext = server_under_test({"extendedTypesEnabled": "true", "znode.container.checkIntervalMs": "100"})
a = Session(ext.port)
b = Session(ext.port)
err, _ = a.create("/box", op=CREATECONTAINER, flags=4)
is_(err, 0, "createContainer succeeds")
is_(a.exists("/box")["ephemeralOwner"], 0, "clients see a container's ephemeralOwner as 0")
a.create("/unused", op=CREATECONTAINER, flags=4)
a.create("/box/item")
b.exists("/box", watch=True)
a.call(DELETE, jstr("/box/item") + jint(-1))
ok(wait_for(lambda: a.exists("/box") == ZNONODE, 5), "a container goes once its last child is deleted")
is_(b.drain(), [(DELETED, "/box")], "and its watchers see NodeDeleted")
ok(isinstance(a.exists("/unused"), dict), "a container that never had a child stays")

t0 = time.time()
err, rd = a.create("/ttl", flags=5, op=CREATETTL, ttl=800)
is_(err, 0, "createTTL with extendedTypesEnabled succeeds")
is_(a.exists("/ttl")["ephemeralOwner"], 0, "clients see a TTL node's ephemeralOwner as 0")
a.create("/tp")
err, rd = a.create("/tp/s-", flags=6, op=CREATETTL, ttl=60000)
is_((err, rd.str()), (0, "/tp/s-0000000000"), "a sequential TTL node is named like any sequential")
is_(a.create("/ttl0", flags=5, op=CREATETTL, ttl=0)[0], ZBADARGUMENTS, "a TTL of 0: ZBADARGUMENTS")
is_(a.create("/ttlmode", flags=0, op=CREATETTL, ttl=100)[0], ZBADARGUMENTS,
    "createTTL with a non-TTL mode: ZBADARGUMENTS")
ok(isinstance(a.exists("/ttl"), dict), "a TTL node is there before its TTL")
ok(wait_for(lambda: a.exists("/ttl") == ZNONODE, 6), "and gone after it")
ok(time.time() - t0 >= 0.8, "not before its TTL (%.2fs for 800 ms)" % (time.time() - t0))
ok(isinstance(a.exists("/tp/s-0000000000"), dict), "a TTL node with a long TTL stays")
a.close()
b.close()
ext.check_clean_exit("the extended-types server stops cleanly")
done()
