#!/usr/bin/python3
"""t0254 — what becomes of reads held for a connection's backlog (t0252)
when the connection or the session goes, and that holding them does not cost
a slow but steady reader its session.  Each case: a raw ZooKeeper client
sends a setData and then 300 getData of a 1 MB node in one go.
- it disconnects without reading: the held requests are released (the
  server's outstanding count returns to 0);
- its session resumes on a new connection: the old connection is closed
  once what it had queued is written, the new one is answered at once and
  gets none of the old one's replies;
- it reads nothing for its whole session timeout: the session expires (its
  ephemeral goes) and the connection is closed; the same when a closeSession
  waits behind the held reads;
- it reads everything slowly, over twice its session timeout: the session
  lives on, and every reply arrives;
- the server stops while it holds reads: a clean exit, no leak.
Throughout, the server's peak RSS stays far below one case's 300 MB."""
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

small_asan_quarantine()    # VmHWM then shows what corrald itself holds
GETDATA, SETDATA, CREATE, CLOSE = 4, 5, 1, -11
BIG = 1000000
N = 300


def mntr(port, key):
    for line in four_letter(port, "mntr").splitlines():
        if line.startswith(key + "\t"):
            return int(line.split("\t")[1])
    return None


srv = Corrald({"storage.mem.async": "true"}, tick=500)     # session timeouts 1 s to 10 s
zk = kazoo(srv.hosts)
blob = b"b" * BIG
zk.create("/big", blob)
zk.create("/w", b"0")
start = vmhwm_kb(srv.proc.pid)
version = [0]


def burst(raw, close=False):
    """setData /w, then N getData /big (then closeSession), sent at once; waits for the write."""
    version[0] += 1
    raw.s.sendall(jframe(2, SETDATA, jstr("/w") + jbuf(b"%d" % version[0]) + jint(-1)) +
                  b"".join(jframe(3 + i, GETDATA, jstr("/big") + b"\0") for i in range(N)) +
                  (jframe(3 + N, CLOSE, b"") if close else b""))
    return wait_for(lambda: zk.get("/w")[1].version == version[0], 30)


def ephemeral(raw, path):
    return raw.request(1, CREATE, jstr(path) + jbuf(b"") + OPEN_ACL + jint(1))[2] == 0


# ---- the client goes away without reading ----
raw = Raw(srv.port, timeout=30)
raw.connect(timeout_ms=10000)
ok(burst(raw), "gone: (the burst's write is applied)")
ok(mntr(srv.port, "zk_outstanding_requests") > 0, "gone: requests are held for the backlog")
raw.close()
ok(wait_for(lambda: mntr(srv.port, "zk_outstanding_requests") == 0, 10),
   "gone: once the connection is gone they are released")

# ---- the session resumes on another connection ----
old = Raw(srv.port, timeout=30)
r = old.connect(timeout_ms=10000)
ok(burst(old), "moved: (the burst's write is applied)")
new = Raw(srv.port, timeout=30)
r2 = new.connect(timeout_ms=10000, session_id=r["session_id"], passwd=r["passwd"])
is_(r2 and r2["session_id"], r["session_id"], "moved: the session resumes on a new connection")
t0 = time.time()
rep = new.request(7777, GETDATA, jstr("/w") + b"\0")
ok(rep and rep[0] == 7777 and rep[2] == 0 and time.time() - t0 < 5,
   "moved: the new connection is answered at once, and nothing of the old one's comes first")
got = 0
while old.recv_frame() is not None:
    got += 1
ok(0 < got < N, "moved: the old connection gets what it had queued (%d replies), then is closed" %
   got)
ok(wait_for(lambda: mntr(srv.port, "zk_outstanding_requests") == 0, 10),
   "moved: nothing is left held")
new.close()

# ---- the client reads nothing for its whole session timeout ----
for close in (False, True):
    label = "closeSession behind held reads" if close else "not reading"
    raw = Raw(srv.port, timeout=30)
    raw.connect(timeout_ms=1500)
    path = "/eph-%d" % close
    ok(ephemeral(raw, path), "%s: (an ephemeral of the session)" % label)
    ok(burst(raw, close), "%s: (the burst's write is applied)" % label)
    ok(wait_for(lambda: zk.exists(path) is None, 15),
       "%s: the session goes once its client has not read for its timeout" % label)
    raw.s.settimeout(30)
    got = 0
    while raw.recv_frame() is not None:
        got += 1
    ok(got < N + 2, "%s: its connection is closed after %d replies, the held ones dropped" %
       (label, got))
    raw.close()
ok(wait_for(lambda: mntr(srv.port, "zk_outstanding_requests") == 0, 10),
   "expired: nothing is left held")
line = [l for l in srv.output().splitlines() if "read none of its replies" in l]
ok(len(line) == 2, "the log says why the connection was closed: %s" % (line[-1] if line else None))

# ---- a slow but steady reader keeps its session ----
raw = Raw(srv.port, timeout=30)
raw.connect(timeout_ms=1500)
ok(ephemeral(raw, "/eph-slow"), "slow: (an ephemeral of the session)")
ok(burst(raw), "slow: (the burst's write is applied)")
t0 = time.time()
xids = []
while len(xids) < N + 1:
    p = raw.recv_frame()
    if p is None:
        break
    xids.append(struct.unpack(">i", p[:4])[0])
    time.sleep(0.012)                   # the reader's pace, not a synchronisation
took = time.time() - t0
is_(xids, list(range(2, N + 3)), "slow: every reply arrives, in order (over %.1f s)" % took)
ok(took > 3.0, "(that took more than twice the session timeout)")
rep = raw.request(8888, GETDATA, jstr("/w") + b"\0")
ok(rep and rep[0] == 8888 and rep[2] == 0, "slow: the session lives on")
ok(zk.exists("/eph-slow") is not None, "slow: its ephemeral too")
raw.close()

peak = vmhwm_kb(srv.proc.pid)
diag("VmHWM %d kB at the start, %d kB at the end (%d cases of %d MB)" % (start, peak, 5, N))
ok(peak - start < 64 * 1024, "the server's peak RSS grew by %d kB in all" % (peak - start))

# ---- the server stops while a session holds reads ----
raw = Raw(srv.port, timeout=30)
raw.connect(timeout_ms=10000)
ok(burst(raw), "shutdown: (the burst's write is applied)")
ok(mntr(srv.port, "zk_outstanding_requests") > 0, "shutdown: (requests are held)")
zk.stop()
srv.check_clean_exit("shutdown with held requests: clean, sanitizers (leaks included) silent")
raw.close()
done()
