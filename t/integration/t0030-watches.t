#!/usr/bin/python3
"""t0030 — one-shot watches through kazoo: a data watch fires on set and on
delete, an exists watch on create, a child watch on a child's create and
delete; each fires once; a session gets one event even when two of its watches
match; and on the wire the event comes before the reply to the write that
fired it, on the same connection."""
import os, sys, time, threading, struct
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

srv = server_under_test()
zk = kazoo(srv.hosts)
other = kazoo(srv.hosts)
events = []
lock = threading.Lock()


def record(e):
    with lock:
        events.append((e.type, e.path))


def got(n):
    return wait_for(lambda: len(events) >= n, 5)


zk.create("/w", b"0")
zk.get("/w", watch=record)
other.set("/w", b"1")
got(1)
is_(events, [("CHANGED", "/w")], "data watch fires CHANGED on set")
other.set("/w", b"2")
time.sleep(0.3)
is_(len(events), 1, "a one-shot watch fires only once")

events.clear()
zk.exists("/w-new", watch=record)
other.create("/w-new")
got(1)
is_(events, [("CREATED", "/w-new")], "exists watch on a missing node fires CREATED")

events.clear()
zk.get_children("/w", watch=record)
other.create("/w/c1")
got(1)
is_(events, [("CHILD", "/w")], "child watch fires CHILD on a child's create")
events.clear()
zk.get_children("/w", watch=record)
other.delete("/w/c1")
got(1)
is_(events, [("CHILD", "/w")], "child watch fires CHILD on a child's delete")

# a data and a child watch of one connection on a node that is deleted: one event on the wire
other.create("/w-both")
r = Raw(srv.port)
r.connect()
r.request(1, 4, jstr("/w-both") + b"\1")      # getData, watch
r.request(2, 8, jstr("/w-both") + b"\1")      # getChildren, watch
other.delete("/w-both")
# a ping sent now is answered after every event the delete fired
r.send_frame(jint(-2) + jint(11))
frames = []
while True:
    f = r.reply()
    if f is None or f[0] == -2:
        break
    frames.append(f)
is_([(f[0], struct.unpack(">ii", f[3][:8])) for f in frames], [(-1, (2, 3))],
    "data and child watch on a deleted node: one NodeDeleted event")
r.close()

events.clear()
zk.exists("/w", watch=record)
other.set("/w", b"3")
got(1)
is_(events, [("CHANGED", "/w")], "exists watch on an existing node fires CHANGED on set")

# order on the wire: event before the reply to the write
r = Raw(srv.port)
r.connect()
rep = r.request(1, 4, jstr("/w") + b"\1")          # getData with watch
is_(rep[2], 0, "raw getData with a watch")
rep = r.request(2, 5, jstr("/w") + jbuf(b"4") + jint(-1))   # setData from the same connection
is_(rep[0], -1, "the first frame after the write is the watch event (xid -1)")
etype, state = struct.unpack(">ii", rep[3][:8])
is_((etype, state), (3, 3), "NodeDataChanged, SyncConnected")
rep = r.reply()
is_((rep[0], rep[2]), (2, 0), "then the setData reply")
r.close()

# wchs counts the watches
zk.get("/w", watch=record)
out = four_letter(srv.port, "wchs")
ok("Total watches:1" in out, "wchs counts the registered watch")

zk.stop(); zk.close(); other.stop(); other.close()
srv.check_clean_exit()
done()
