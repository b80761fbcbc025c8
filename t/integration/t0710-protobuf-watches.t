#!/usr/bin/python3
"""t0710 — watches over the protobuf transport: one-shot data, exists and
child watches (each fires once, with ZooKeeper's event types and
SyncConnected state), the event arriving before the answer to the write that
fired it on the same connection, persistent and persistent-recursive watches
(add_watch) firing repeatedly, check_watches / remove_watches (NOWATCHER when
there is none), watches inside multi_read, and set_watches on a resumed
session firing at once for what changed while away."""
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from protobuf_client import PbClient, PbCorrald, pb

srv = PbCorrald()
w = PbClient(srv.pb_port)       # sets watches
w.connect()
x = PbClient(srv.pb_port)       # writes
x.connect()


def evs(n, timeout=5.0):
    w.wait_events(n, timeout)
    out = [(e.type, e.path) for e in w.events]
    w.events.clear()
    return out


def quiet(timeout=0.3):
    w.wait_events(1, timeout)
    out = [(e.type, e.path) for e in w.events]
    w.events.clear()
    return out


x.create("/w", b"0")
r = w.get("/w", watch=True)
is_(r.err, 0, "get_data with watch")
x.set("/w", b"1")
is_(evs(1), [(pb.NODE_DATA_CHANGED, "/w")], "a data watch fires NODE_DATA_CHANGED on set")
x.set("/w", b"2")
is_(quiet(), [], "a one-shot watch fires only once")

w.exists("/w-new", watch=True)
x.create("/w-new", b"")
is_(evs(1), [(pb.NODE_CREATED, "/w-new")], "an exists watch on a missing node fires NODE_CREATED")
w.exists("/w-new", watch=True)
x.delete("/w-new")
is_(evs(1), [(pb.NODE_DELETED, "/w-new")], "an exists watch fires NODE_DELETED")

w.children("/w", watch=True)
x.create("/w/c", b"")
is_(evs(1), [(pb.NODE_CHILDREN_CHANGED, "/w")], "a child watch fires on a child's create")
w.children("/w", watch=True, with_stat=True)
x.delete("/w/c")
is_(evs(1), [(pb.NODE_CHILDREN_CHANGED, "/w")], "a child watch (with_stat) fires on a child's delete")

w.get("/w", watch=True)
x.set("/w", b"3")
w.wait_events(1)
is_(w.events[0].state if w.events else None, pb.STATE_SYNC_CONNECTED, "events carry SyncConnected (3)")
w.events.clear()

# the event comes before the answer to the write that fired it
w.get("/w", watch=True)
rid = w.send(set_data=pb.SetDataRequest(path="/w", data=b"own"))
first = w.recv_message()
is_(first.WhichOneof("response"), "watch_event", "on the writer's own connection the event comes first")
second = w.recv_message()
is_((second.id, second.err), (rid, 0), "then the write's answer")
is_(first.id, 0, "pushed events carry id 0")

# persistent watch
is_(w.add_watch("/w").err, 0, "add_watch persistent")
x.set("/w", b"a")
x.set("/w", b"b")
x.create("/w/k", b"")
is_(evs(3), [(pb.NODE_DATA_CHANGED, "/w"), (pb.NODE_DATA_CHANGED, "/w"), (pb.NODE_CHILDREN_CHANGED, "/w")],
    "a persistent watch keeps firing, for data and children")
x.create("/w/k/deep", b"")
is_(quiet(), [], "a persistent (non-recursive) watch ignores grandchildren")
is_(w.call(check_watches=pb.WatchesRequest(path="/w", type=pb.WATCHER_ANY)).err, 0,
    "check_watches finds it")
is_(w.call(remove_watches=pb.WatchesRequest(path="/w", type=pb.WATCHER_ANY)).err, 0, "remove_watches")
got = quiet()
ok(all(t in (pb.DATA_WATCH_REMOVED, pb.CHILD_WATCH_REMOVED, pb.PERSISTENT_WATCH_REMOVED)
       for t, _ in got), "removing a watch fires no node event")
x.set("/w", b"c")
is_(quiet(), [], "a removed watch no longer fires")
is_(w.call(check_watches=pb.WatchesRequest(path="/w")).err, pb.NOWATCHER,
    "check_watches without a watch: NOWATCHER (-121)")
is_(w.call(remove_watches=pb.WatchesRequest(path="/nowhere", type=pb.WATCHER_DATA)).err,
    pb.NOWATCHER, "remove_watches without a watch: NOWATCHER")

# recursive watch
is_(w.add_watch("/w", recursive=True).err, 0, "add_watch persistent recursive")
x.create("/w/r1", b"")
x.set("/w/k/deep", b"z")
x.delete("/w/r1")
is_(evs(3), [(pb.NODE_CREATED, "/w/r1"), (pb.NODE_DATA_CHANGED, "/w/k/deep"), (pb.NODE_DELETED, "/w/r1")],
    "a recursive watch fires for every descendant, without child events")
w.call(remove_watches=pb.WatchesRequest(path="/w", type=pb.WATCHER_ANY))
quiet()

# watches through multi_read
x.create("/mr", b"")
w.call(multi_read=pb.MultiReadRequest(ops=[pb.ReadOp(get_data=pb.PathWatchRequest(path="/mr", watch=True))]))
x.set("/mr", b"1")
is_(evs(1), [(pb.NODE_DATA_CHANGED, "/mr")], "a watch left by multi_read fires")

# ephemeral going away with its session fires watches
e = PbClient(srv.pb_port)
e.connect()
e.create("/ephw", b"", mode=pb.EPHEMERAL)
w.exists("/ephw", watch=True)
e.close_session()
is_(evs(1), [(pb.NODE_DELETED, "/ephw")], "an ephemeral removed by close fires NODE_DELETED")

# set_watches after resuming: what changed while away fires at once
x.create("/sw", b"0")
r = w.get("/sw")
seen = r.zxid
sid, pw = w.session_id, w.passwd
w.close()
x.set("/sw", b"changed")
w = PbClient(srv.pb_port)
is_(w.connect(session_id=sid, passwd=pw).err, 0, "the watcher resumes its session")
r = w.call(set_watches=pb.SetWatchesRequest(relative_zxid=seen, data=["/sw"], exist=["/sw-later"]))
is_(r.err, 0, "set_watches answers err 0")
is_(evs(1), [(pb.NODE_DATA_CHANGED, "/sw")], "a data watch on a node changed while away fires at once")
x.create("/sw-later", b"")
is_(evs(1), [(pb.NODE_CREATED, "/sw-later")], "a re-registered exists watch fires later")

srv.check_clean_exit()
done()
