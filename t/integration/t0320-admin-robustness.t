#!/usr/bin/python3
"""t0320 — the AdminServer under bad input: malformed requests get 400 and a
close, an oversized head 431, unsupported methods 405; a client that sends
half a request is dropped after admin.idleTimeout; past the cap of 64
connections each new one takes the place of the oldest; random bytes never
crash it; through all of it the server
keeps answering HTTP and ZooKeeper clients, and exits clean under the
sanitizers."""
import os, random, socket, sys, time, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

admin_port = free_port()
srv = Corrald({"admin.serverPort": str(admin_port), "admin.serverAddress": "127.0.0.1",
               "admin.idleTimeout": "1000"})


def raw(data, timeout=5.0, half_close=False):
    """Send bytes (then shut our side if half_close), read until the server
    closes; the whole answer (b'' if none)."""
    s = socket.create_connection(("127.0.0.1", admin_port), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    finally:
        s.close()
    return out


def status_of(answer):
    line = answer.split(b"\r\n", 1)[0].split(b" ")
    return int(line[1]) if len(line) > 1 and line[0] == b"HTTP/1.1" and line[1].isdigit() else None


def healthy():
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/commands/ruok" % admin_port, timeout=5) as r:
            return r.status == 200 and b'"error" : null' in r.read()
    except OSError:
        return False


ok(healthy(), "the AdminServer answers")

MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"GET /commands/ruok\r\n\r\n",                     # no version
    b"GET  /commands/ruok HTTP/1.1\r\n\r\n",            # two spaces
    b"GET /commands/ruok HTTP/9.9\r\n\r\n",
    b"GET /commands/ruok HTTP/1.1\r\nno colon here\r\n\r\n",
    b"GET /commands/ruok HTTP/1.1\r\n folded: x\r\n\r\n",
    b"GET /commands/r%zzok HTTP/1.1\r\n\r\n",           # bad escape
    b"GET /commands/r%00ok HTTP/1.1\r\n\r\n",           # encoded NUL
    b"GET /commands/r\x00ok HTTP/1.1\r\n\r\n",          # raw NUL
    b"GET /commands/\xff\xfe HTTP/1.1\r\n\r\n",         # non-ASCII target
    b"G\x01T /commands/ruok HTTP/1.1\r\n\r\n",
    b"GET commands/ruok HTTP/1.1\r\n\r\n",              # not origin-form
    b"GET /commands/ruok HTTP/1.1\r\nX: a\x01b\r\n\r\n",
]
answers = [(m, status_of(raw(m))) for m in MALFORMED]
is_([m for m, st in answers if st != 400], [], "every malformed request answers 400 (and a close)")
ok(healthy(), "... and the server keeps serving")

big = b"GET /commands/ruok HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
is_(status_of(raw(big)), 431, "a request head over 8 KiB answers 431")
is_(status_of(raw(b"DELETE /commands/ruok HTTP/1.1\r\n\r\n")), 405, "DELETE answers 405")
is_(status_of(raw(b"GET /commands/ruok HTTP/1.0\n\n")), 200, "bare-LF line ends and HTTP/1.0 are accepted")
is_(status_of(raw(b"GET /commands/ruok HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")), 200,
    "a GET with a body is answered (the body is ignored)")
is_(status_of(raw(b"GET /commands/ruok HTTP/1.1\r\n\r\nGET /commands/ruok HTTP/1.1\r\n\r\n")), 200,
    "pipelined requests: the first is answered, then the connection closes")
ans = raw(b"GET /commands/ruok HTTP/1.1\r\n\r\n")
ok(b"\r\nConnection: close\r\n" in ans and b"\r\nContent-Length: 42\r\n" in ans,
   "answers carry Connection: close and an exact Content-Length")

# a client that never finishes its request is dropped after admin.idleTimeout (1 s)
s = socket.create_connection(("127.0.0.1", admin_port), timeout=10)
s.sendall(b"GET /commands/ruok HTTP/1.1\r\nHost: slow\r\n")
t0 = time.time()
got = s.recv(100)
elapsed = time.time() - t0
s.close()
ok(got == b"" and 0.5 < elapsed < 5, "a half-sent request is closed after idleTimeout (%.1fs)" % elapsed)

# trickling bytes does not extend the deadline
s = socket.create_connection(("127.0.0.1", admin_port), timeout=10)
t0 = time.time()
closed = False
try:
    for i in range(40):
        s.sendall(b"X-Trickle: 1\r\n" if i else b"GET /commands/ruok HTTP/1.1\r\n")
        time.sleep(0.1)
except OSError:
    closed = True
if not closed:
    s.settimeout(5)
    try:
        closed = s.recv(100) == b""
    except OSError:
        closed = True
s.close()
ok(closed and time.time() - t0 < 6, "trickling a header line at a time does not keep a connection open")

# more connections than the cap: the oldest make room, the server lives on
idle = []
for i in range(150):
    try:
        idle.append(socket.create_connection(("127.0.0.1", admin_port), timeout=5))
    except OSError:
        break

wait_for(lambda: sum(closed_by_peer(c) for c in idle) >= 150 - 64, timeout=5)
shut = [closed_by_peer(c) for c in idle]
ok(len(idle) == 150 and shut.count(True) >= 150 - 64,
   "of 150 connections all but the cap of 64 are closed (%d)" % shut.count(True))
# (the idle timeout of 1 s closes old ones too, so more may be gone: still the oldest)
is_(shut, sorted(shut, reverse=True), "the oldest ones, to make room for the new")
ok(healthy(), "the AdminServer answers while they are open")
for c in idle:
    c.close()

# random bytes and mutated requests
rng = random.Random(int(os.environ.get("CORRAL_FUZZ_SEED", "320")))
seeds = [b"GET /commands/monitor HTTP/1.1\r\nHost: x\r\n\r\n", b"HEAD /commands HTTP/1.0\r\n\r\n"]
statuses = set()
for i in range(300):
    if rng.random() < 0.3:
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    else:
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            pos = rng.randrange(len(data))
            if op < 0.4:
                data[pos] = rng.randrange(256)
            elif op < 0.7:
                del data[pos]
            else:
                data[pos:pos] = bytes([rng.choice(b"\r\n :%/\x00\xff")])
        data = bytes(data)
    if rng.random() < 0.5:
        data += b"\r\n\r\n"
    ans = raw(data, timeout=3, half_close=rng.random() < 0.9)
    statuses.add(status_of(ans) if ans else None)
ok(healthy(), "after 300 fuzzed requests the AdminServer still answers (statuses seen: %s)"
   % sorted(statuses, key=str))

zk = kazoo(srv.hosts)
zk.create("/after-abuse", b"ok")
is_(zk.get("/after-abuse")[0], b"ok", "ZooKeeper clients are served throughout")
zk.stop(); zk.close()
srv.check_clean_exit()
done()
