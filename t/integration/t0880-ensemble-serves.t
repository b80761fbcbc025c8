#!/usr/bin/python3
"""t0880 — a Corral ensemble serves: three corrald participants and an
observer (module.storage=file, each its own data dir, every member its own
process on loopback).

Every member serves once synced; writes made through each member (the
followers and the observer forward them to the leader) are seen on every
member; a watch set on one member fires for a write made on another; an
ephemeral created through a follower goes when its session closes, on every
member; a session moved from one member to another (same id and password)
keeps its ephemeral; srvr says who leads and who follows; in the end every
member holds the same tree, and SIGTERM stops each member cleanly."""
import os, sys, threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
import corraltest as ct
from ensembletest import Ensemble
from ensemblecheck import wait_serving, leader_of, same_trees

e = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3), ("corrald", 4, "observer")],
             extra={"module.storage": "file"})
members = e.members
up = wait_serving(members, 60)
ok(up, "all four members serve within 60 s")
if not up:
    for m in members:
        diag(m.output()[-3000:])
    sys.exit(1)
is_([m.last_decision() for m in members],
    [(3, "following"), (3, "following"), (3, "leading"), (3, "observing")],
    "3 leads (highest sid), 1 and 2 follow, 4 observes")
is_([m.mode() for m in members], ["follower", "follower", "leader", "observer"],
    "srvr's Mode says the same")

clients = {m.sid: kazoo("127.0.0.1:%d" % m.client_port) for m in members}
clients[3].ensure_path("/t")
for sid, zk in clients.items():
    zk.create("/t/via%d" % sid, b"from %d" % sid)
for sid, zk in clients.items():
    zk.sync("/t")
    is_(sorted(zk.get_children("/t")), ["via1", "via2", "via3", "via4"],
        "member %d sees the writes made through every member" % sid)
is_(clients[4].get("/t/via1")[0], b"from 1", "the observer reads what a follower wrote")

fired = threading.Event()
seen = []
clients[1].get("/t/via2", watch=lambda ev: (seen.append((ev.type, ev.path)), fired.set()))
clients[2].set("/t/via2", b"changed")
ok(fired.wait(10), "a watch on member 1 fires for a write made on member 2")
is_(seen, [("CHANGED", "/t/via2")], "with the data-changed event for that path")

owner = kazoo("127.0.0.1:%d" % e[2].client_port)
owner.create("/t/eph", b"", ephemeral=True)
for sid in (1, 3, 4):
    clients[sid].sync("/t")
ok(all(clients[sid].exists("/t/eph") for sid in (1, 3, 4)), "an ephemeral made via member 2 is on every member")
owner.stop()
owner.close()
for sid in (1, 3, 4):
    clients[sid].sync("/t")
ok(all(clients[sid].exists("/t/eph") is None for sid in (1, 3, 4)),
   "and gone from every member once its session closed")

# a session moves: same id and password on another member (REVALIDATE)
mover = kazoo("127.0.0.1:%d" % e[1].client_port)
mover.create("/t/moving", b"", ephemeral=True)
sid_pw = mover.client_id
moved = kazoo("127.0.0.1:%d" % e[2].client_port, client_id=sid_pw)
is_(moved.client_id[0], sid_pw[0], "the session resumes on member 2 with its id")
moved.sync("/t")
ok(moved.exists("/t/moving") is not None, "its ephemeral survived the move")
moved.set("/t/via1", b"after the move")
mover.stop()
mover.close()
moved.stop()
moved.close()

good, why = same_trees(members)
ok(good, "every member holds the same tree (data and stats)")
if not good:
    diag(why)
for zk in clients.values():
    zk.stop()
    zk.close()
for m in members:
    status = m.stop()
    if not ok(status == 0 and m.sanitizer_report() is None,
              "member %d stops cleanly, sanitizers silent" % m.sid):
        diag(m.output()[-3000:])
done()
