#!/usr/bin/python3
"""t0251 — idle and slow clients cannot lock the operator out of the
AdminServer.  With its default settings, while 70 idle connections (more than
the cap of 64) and a few slowloris ones (a request head sent a byte at a
time) are open, an operator's requests are still answered within a couple of
seconds each: at the cap a new connection takes the place of the oldest one
waiting for its head, with a log line.  Idle and slowloris connections are
closed by the default timeout (5 s from the connect; trickled bytes do not
extend it), and afterwards everything is answered as before."""
import os, socket, sys, threading, time, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

TIMEOUT = 5.0                   # admin.idleTimeout's default (ms 5000)
admin_port = free_port()
srv = Corrald({"admin.serverPort": str(admin_port), "admin.serverAddress": "127.0.0.1"})


def operator():
    """An operator's request: (answered correctly, seconds it took)."""
    t0 = time.time()
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/commands/ruok" % admin_port,
                                    timeout=10) as r:
            good = r.status == 200 and b'"error" : null' in r.read()
    except OSError:
        good = False
    return good, time.time() - t0


good, took = operator()
ok(good, "the AdminServer answers (%.2fs)" % took)

# 70 idle connections, then slowloris clients trickling a head byte by byte
started = time.time()
idle = [socket.create_connection(("127.0.0.1", admin_port), timeout=5) for _ in range(70)]
slow = [socket.create_connection(("127.0.0.1", admin_port), timeout=5) for _ in range(4)]
slow_closed_at = {}
stop = threading.Event()


def trickle(i, s):
    head = b"GET /commands/ruok HTTP/1.1\r\nHost: slow\r\n" + b"X-Pad: y\r\n" * 100 + b"\r\n"
    try:
        for b in head:
            if stop.is_set():
                return
            s.sendall(bytes([b]))
            time.sleep(0.05)
    except OSError:
        slow_closed_at[i] = time.time()


threads = [threading.Thread(target=trickle, args=(i, s), daemon=True) for i, s in enumerate(slow)]
for t in threads:
    t.start()

# every slot is taken: operators still get in, each within a couple of seconds
results = [operator() for _ in range(5)]
diag("operator requests: %s" % ["%s %.2fs" % r for r in results])
ok(all(g for g, _ in results), "all 5 operator requests at the cap are answered")
ok(max(t for _, t in results) < 2.0, "each within 2 s (slowest %.2fs)" %
   max(t for _, t in results))
ok("connections open (the cap)" in srv.output(), "making room at the cap is logged")
ok(time.time() - started < TIMEOUT - 1, "(the operators were served before any timeout)")

# the idle ones are all closed by the timeout; the slowloris ones too
wait_for(lambda: all(closed_by_peer(s) for s in idle), timeout=TIMEOUT + 3)
gone = time.time() - started
ok(all(closed_by_peer(s) for s in idle), "every idle connection is closed (%.1fs)" % gone)
ok(gone < TIMEOUT + 3, "within the %.0f s timeout (and a margin)" % TIMEOUT)
wait_for(lambda: len(slow_closed_at) == len(slow), timeout=TIMEOUT + 3)
is_(len(slow_closed_at), len(slow), "every slowloris connection is closed while still sending")
ok(slow_closed_at and max(slow_closed_at.values()) - started < TIMEOUT + 3,
   "trickled bytes do not extend the deadline")
stop.set()
for s in idle + slow:
    s.close()

good, took = operator()
ok(good and took < 2.0, "afterwards the AdminServer answers as before (%.2fs)" % took)
zk = kazoo(srv.hosts)
is_(zk.get("/")[0], b"", "ZooKeeper clients are served throughout")
zk.stop()
zk.close()
srv.check_clean_exit()
done()
