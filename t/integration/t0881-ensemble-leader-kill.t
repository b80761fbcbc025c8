#!/usr/bin/python3
"""t0881 — kill -9 of the leader under pipelined load loses no acknowledged
write.  Three corrald participants (module.storage=file).  A client on a
follower keeps CREATE_DEPTH creates in flight; once enough are answered the
leader is killed with SIGKILL.  Every create the client saw succeed must be
on every survivor once a new leader serves (a write answered is a write a
quorum fsynced); a new session writes at a survivor; the killed member,
restarted, catches up; all three end with the same tree.  Writes whose
answer was lost with the connection are allowed either way."""
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble
from ensemblecheck import wait_serving, same_trees
from kazoo.exceptions import KazooException

CREATE_DEPTH = 32
e = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3)], extra={"module.storage": "file"})
ok(wait_serving(e.members, 60), "three members serve")
leader = next(m for m in e.members if m.last_decision() and m.last_decision()[1] == "leading")
follower = next(m for m in e.members if m is not leader)
others = [m for m in e.members if m is not leader]

zk = kazoo("127.0.0.1:%d" % follower.client_port)
zk.ensure_path("/load")
acked, inflight, n, killed, t_kill = set(), [], 0, False, None
deadline = time.monotonic() + 60
while time.monotonic() < deadline and len(acked) < 3000:
    while len(inflight) < CREATE_DEPTH:
        path = "/load/n%06d" % n
        n += 1
        inflight.append((path, zk.create_async(path, b"x" * 64)))
    path, res = inflight.pop(0)
    try:
        res.get(timeout=30)
        acked.add(path)
    except KazooException:
        pass        # lost with the connection, or refused: not acknowledged
    except Exception:
        pass
    if not killed and len(acked) >= 500:
        leader.kill()
        killed, t_kill = True, time.monotonic()
ok(killed, "the leader was killed under load (%d creates acknowledged before)" % 500)
ok(len(acked) > 500, "writes went on after the kill (%d acknowledged in all)" % len(acked))
zk.stop()
zk.close()

ok(wait_serving(others, 60), "the two survivors serve again")
w = kazoo(",".join("127.0.0.1:%d" % m.client_port for m in others))
w.create("/after-kill", b"")
diag("first write on a new session %.2f s after the kill" % (time.monotonic() - t_kill))
missing = []
for m in others:
    c = kazoo("127.0.0.1:%d" % m.client_port)
    c.sync("/load")
    have = set("/load/" + k for k in c.get_children("/load"))
    missing += [(m.sid, p) for p in sorted(acked - have)]
    c.stop()
    c.close()
ok(not missing, "every acknowledged create is on both survivors")
if missing:
    diag("missing: %s" % missing[:10])

leader.start()
ok(wait_serving(e.members, 60), "the killed member, restarted, serves again")
good, why = same_trees(e.members)
ok(good, "all three hold the same tree")
if not good:
    diag(why)
w.stop()
w.close()
for m in e.members:
    status = m.stop()
    if not ok(status == 0 and m.sanitizer_report() is None, "member %d stops cleanly" % m.sid):
        diag(m.output()[-3000:])
done()
