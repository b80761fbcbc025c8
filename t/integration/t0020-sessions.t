#!/usr/bin/python3
"""t0020 — sessions: timeout negotiation within 2-20 ticks, ephemerals vanish
when their session closes and when it expires (a client that goes silent),
a session resumes on a new connection with its id and password (keeping its
ephemerals) and a new connection takes a session over from an open one
(which is closed), a wrong password or an expired session is refused, and
pings keep an idle session alive."""
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

TICK = 200   # sessions 400..4000 ms
srv = server_under_test(tick=TICK)

# negotiation
r = Raw(srv.port)
is_(r.connect(timeout_ms=100)["timeout"], 2 * TICK, "a too-short timeout is raised to 2 ticks")
r.close()
r = Raw(srv.port)
is_(r.connect(timeout_ms=999999)["timeout"], 20 * TICK, "a too-long timeout is lowered to 20 ticks")
r.close()
r = Raw(srv.port)
is_(r.connect(timeout_ms=1500)["timeout"], 1500, "a timeout within bounds is kept")
r.close()

# ephemerals vanish on close
zk = kazoo(srv.hosts)
watcher = kazoo(srv.hosts)
zk.create("/e-close", b"", ephemeral=True)
ok(watcher.exists("/e-close") is not None, "ephemeral visible to another session")
zk.stop()
zk.close()
ok(wait_for(lambda: watcher.exists("/e-close") is None, 5), "ephemeral gone once its session closes")

# ephemerals vanish on expiry: a raw session that creates one and then goes silent
r = Raw(srv.port)
sess = r.connect(timeout_ms=800)
acl = jint(1) + jint(31) + jstr("world") + jstr("anyone")
rep = r.request(1, 1, jstr("/e-expire") + jbuf(b"x") + acl + jint(1))
is_(rep[2], 0, "raw ephemeral create succeeds")
t0 = time.time()
ok(wait_for(lambda: watcher.exists("/e-expire") is None, 10), "ephemeral gone once its silent session expires")
elapsed = time.time() - t0
ok(0.7 <= elapsed <= 3.0, "expiry came after the timeout, within a tick or so (%.2fs for 800ms)" % elapsed)
ok(r.closed(5), "the expired session's connection is closed by the server")

# an expired session cannot be resumed
r2 = Raw(srv.port)
res = r2.connect(timeout_ms=800, session_id=sess["session_id"], passwd=sess["passwd"])
ok(res is not None and res["session_id"] == 0 and res["timeout"] == 0,
   "resuming an expired session answers session 0, timeout 0")
r2.close()

# resume a live session on a new connection, ephemerals kept
r = Raw(srv.port)
sess = r.connect(timeout_ms=1000)
rep = r.request(1, 1, jstr("/e-resume") + jbuf(b"") + acl + jint(1))
r.close()   # connection gone, session alive
r3 = Raw(srv.port)
res = r3.connect(timeout_ms=1000, session_id=sess["session_id"], passwd=sess["passwd"])
is_(res["session_id"], sess["session_id"], "the session resumes on a new connection")
ok(watcher.exists("/e-resume") is not None, "its ephemeral survived the reconnect")
rep = r3.request(2, 3, jstr("/e-resume") + b"\0")
is_(rep[2], 0, "the resumed session is served")

# a new connection takes a live session over from an open one
r4 = Raw(srv.port)
res = r4.connect(timeout_ms=1000, session_id=sess["session_id"], passwd=sess["passwd"])
is_(res["session_id"], sess["session_id"], "a second connection takes the session over")
ok(r3.closed(5), "the connection it was taken from is closed by the server")
is_(r4.request(3, 3, jstr("/e-resume") + b"\0")[2], 0, "the new connection is served")

bad = Raw(srv.port)
res = bad.connect(timeout_ms=1000, session_id=sess["session_id"], passwd=b"x" * 16)
ok(res is not None and res["session_id"] == 0 and res["timeout"] == 0,
   "a wrong password is refused (session 0, timeout 0)")
ok(bad.closed(5), "and that connection is closed")
# ZooKeeper drops the session's current connection before it checks the
# password; a client then just reconnects.  Corral does the same.
ok(r4.closed(2), "a refused reconnect also closes the session's current connection")
r4.close()
ok(watcher.exists("/e-resume") is not None, "the session outlives a refused reconnect")
r3 = Raw(srv.port)
res = r3.connect(timeout_ms=1000, session_id=sess["session_id"], passwd=sess["passwd"])
is_(res["session_id"], sess["session_id"], "and resumes with the right password")

# pings keep an idle session alive past its timeout
for _ in range(10):
    time.sleep(0.25)
    rep = r3.request(-2, 11)
    if rep is None or rep[0] != -2:
        break
ok(rep is not None and rep[0] == -2, "pings are answered with xid -2")
ok(watcher.exists("/e-resume") is not None, "a pinging session outlives its timeout (2.5 s of pings, 1 s timeout)")

# closeSession: reply, then the server closes the connection
rep = r3.request(3, -11)
is_(rep[2], 0, "closeSession is answered")
ok(r3.closed(5), "and the connection is closed")
ok(wait_for(lambda: watcher.exists("/e-resume") is None, 5), "its ephemeral is gone")

watcher.stop()
watcher.close()
srv.check_clean_exit()
done()
