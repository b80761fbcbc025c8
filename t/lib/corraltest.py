"""corraltest — what the integration tests share.

TAP output (ok/is_/done), free loopback ports, and real servers:
`Corrald` starts build/core/corrald on a temporary config and data folder;
`ZooKeeper` starts Apache ZooKeeper 3.8 from the Debian package the same way,
for differential tests.  Both are stopped at exit, whatever happens, and a
corrald whose stderr shows a sanitizer report fails the test.

Environment (set by `make check`): CORRAL_BUILDDIR, CORRAL_SRCDIR,
CORRAL_MODULE_PATH.  Run a test by hand with those set, e.g.
  CORRAL_BUILDDIR=$PWD/build CORRAL_SRCDIR=$PWD \
  CORRAL_MODULE_PATH=$PWD/build/modules/.dev prove -v t/integration/t0010-kazoo-crud.t
"""
import atexit
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("CORRAL_BUILDDIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
MODULES = os.environ.get("CORRAL_MODULE_PATH") or os.path.join(BUILD, "modules", ".dev")
CORRALD = os.path.join(BUILD, "core", "corrald")
ZK_JARS = "/usr/share/java"

# ---- TAP -------------------------------------------------------------------

_count = 0
_failed = 0


def diag(msg):
    for line in str(msg).splitlines() or [""]:
        sys.stderr.write("# " + line + "\n")
    sys.stderr.flush()


def ok(cond, desc):
    global _count, _failed
    _count += 1
    print("%sok %d - %s" % ("" if cond else "not ", _count, desc), flush=True)
    if not cond:
        _failed += 1
    return bool(cond)


def is_(got, want, desc):
    good = got == want
    if not ok(good, desc):
        diag("     got: %r\nexpected: %r" % (got, want))
    return good


def raises(exc, fn, desc):
    """ok when fn() raises exc (a class); reports what happened otherwise."""
    try:
        fn()
    except exc:
        return ok(True, desc)
    except Exception as e:  # noqa: BLE001 - report any other outcome
        ok(False, desc)
        diag("raised %r, expected %s" % (e, exc.__name__))
        return False
    ok(False, desc)
    diag("nothing raised, expected %s" % exc.__name__)
    return False


def done():
    print("1..%d" % _count, flush=True)
    _stop_all()
    sys.exit(1 if _failed else 0)


def wait_for(cond, timeout=10.0, step=0.05):
    """Poll cond() until true or timeout; returns its last value."""
    end = time.time() + timeout
    while True:
        v = cond()
        if v or time.time() > end:
            return v
        time.sleep(step)


# ---- servers -----------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def four_letter(port, word, timeout=5.0):
    """Send a four-letter word and return the whole answer as text ('' on failure)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(word.encode())
            chunks = []
            while True:
                d = s.recv(65536)
                if not d:
                    break
                chunks.append(d)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


def _session_opens(port):
    """True once a real ConnectRequest is answered (ZooKeeper says imok earlier)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            req = struct.pack(">iqiq", 0, 0, 30000, 0) + struct.pack(">i", 16) + b"\0" * 16
            s.sendall(struct.pack(">i", len(req)) + req)
            hdr = s.recv(4)
            return len(hdr) == 4
    except OSError:
        return False


_servers = []


def _stop_all():
    while _servers:
        _servers.pop().stop()


atexit.register(_stop_all)
for _sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(_sig, lambda *_: sys.exit(1))


class Corrald:
    """A corrald on a free loopback port, with its own config and data folder."""

    def __init__(self, extra=None, tick=2000, start=True):
        self.dir = tempfile.mkdtemp(prefix="corral-t-")
        self.port = free_port()
        self.cfg = os.path.join(self.dir, "corral.cfg")
        self.log = os.path.join(self.dir, "corrald.log")
        keys = {
            "tickTime": str(tick),
            "dataDir": os.path.join(self.dir, "data"),
            "clientPort": str(self.port),
            "clientPortAddress": "127.0.0.1",
            "maxClientCnxns": "0",
            "4lw.commands.whitelist": "*",
            "module.path": MODULES,
            "module.transport": "zk",
            "module.storage": "mem",
            "module.auth": "world",
        }
        if not any(k.startswith("admin.") for k in (extra or {})):
            keys["admin.enableServer"] = "false"   # else every test server wants port 8080
        keys.update(extra or {})
        with open(self.cfg, "w") as f:
            for k, v in keys.items():
                if v is not None:
                    f.write("%s=%s\n" % (k, v))
        self.proc = None
        if start:
            self.start()

    @property
    def hosts(self):
        return "127.0.0.1:%d" % self.port

    def start(self, timeout=15):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self._logf = open(self.log, "a")
        self.proc = subprocess.Popen([CORRALD, "-c", self.cfg], stdout=self._logf,
                                     stderr=subprocess.STDOUT, env=env)
        _servers.append(self)
        if not wait_for(lambda: self.proc.poll() is not None or _session_opens(self.port), timeout):
            raise RuntimeError("corrald did not come up:\n" + self.output())
        if self.proc.poll() is not None:
            raise RuntimeError("corrald exited with %s:\n%s" % (self.proc.returncode, self.output()))

    def output(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        """Stop the server; returns its exit status (None if it had to be killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            if self in _servers:
                _servers.remove(self)

    def sanitizer_report(self):
        out = self.output()
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if mark in out:
                return out
        return None

    def check_clean_exit(self, desc="corrald stops cleanly on SIGTERM, sanitizers silent"):
        status = self.stop()
        report = self.sanitizer_report()
        good = status == 0 and report is None
        if not ok(good, desc):
            diag("exit status %r\n%s" % (status, (report or self.output())[-4000:]))
        return good


class ZooKeeper:
    """Apache ZooKeeper 3.8 (Debian package) on a free loopback port, standalone."""

    def __init__(self, extra=None):
        self.dir = tempfile.mkdtemp(prefix="zk-t-")
        self.port = free_port()
        cfg = os.path.join(self.dir, "zoo.cfg")
        keys = {
            "tickTime": "2000",
            "dataDir": os.path.join(self.dir, "data"),
            "clientPort": str(self.port),
            "clientPortAddress": "127.0.0.1",
            "maxClientCnxns": "0",
            "admin.enableServer": "false",
            "4lw.commands.whitelist": "*",
        }
        keys.update(extra or {})
        with open(cfg, "w") as f:
            for k, v in keys.items():
                f.write("%s=%s\n" % (k, v))
        cp = [self.dir, os.path.join(ZK_JARS, "zookeeper.jar")]
        if os.path.exists(os.path.join(ZK_JARS, "slf4j-simple.jar")):
            cp.append(os.path.join(ZK_JARS, "slf4j-simple.jar"))
        self.log = os.path.join(self.dir, "zookeeper.log")
        self._logf = open(self.log, "w")
        self.proc = subprocess.Popen(
            ["java", "-Xmx512m", "-Dzookeeper.admin.enableServer=false",
             "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", ":".join(cp),
             "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg],
            stdout=self._logf, stderr=subprocess.STDOUT)
        _servers.append(self)
        if not wait_for(lambda: self.proc.poll() is not None or _session_opens(self.port), 90, 0.2) \
                or self.proc.poll() is not None:
            with open(self.log, errors="replace") as f:
                raise RuntimeError("Apache ZooKeeper did not start:\n" + f.read()[-3000:])

    @property
    def hosts(self):
        return "127.0.0.1:%d" % self.port

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in _servers:
            _servers.remove(self)


def kazoo(hosts, **kw):
    """A started KazooClient (imported late so a missing kazoo is a clear failure)."""
    from kazoo.client import KazooClient
    kw.setdefault("timeout", 10)
    c = KazooClient(hosts=hosts, **kw)
    c.start(timeout=15)
    return c


# ---- raw wire protocol (for what clients never send) --------------------------

def jint(v):
    return struct.pack(">i", v)


def jlong(v):
    return struct.pack(">q", v)


def jbuf(b):
    return jint(-1) if b is None else jint(len(b)) + b


def jstr(s):
    return jbuf(None if s is None else s.encode())


class Raw:
    """A hand-driven ZooKeeper protocol connection."""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send_frame(self, payload):
        self.s.sendall(jint(len(payload)) + payload)

    def recv_frame(self):
        """The next frame's payload, or None when the server closed the connection."""
        while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack(">i", self.buf[:4])[0]:
            try:
                d = self.s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None
            if not d:
                return None
            self.buf += d
        n = struct.unpack(">i", self.buf[:4])[0]
        p = self.buf[4:4 + n]
        self.buf = self.buf[4 + n:]
        return p

    def connect(self, timeout_ms=10000, session_id=0, passwd=b"\0" * 16):
        self.send_frame(jint(0) + jlong(0) + jint(timeout_ms) + jlong(session_id) + jbuf(passwd))
        p = self.recv_frame()
        if p is None:
            return None
        proto, to, sid = struct.unpack(">iiq", p[:16])
        plen = struct.unpack(">i", p[16:20])[0]
        return {"timeout": to, "session_id": sid, "passwd": p[20:20 + plen]}

    def request(self, xid, op, body=b""):
        """Send a request; returns (xid, zxid, err, body) of the next reply frame."""
        self.send_frame(jint(xid) + jint(op) + body)
        return self.reply()

    def reply(self):
        p = self.recv_frame()
        if p is None:
            return None
        xid, zxid, err = struct.unpack(">iqi", p[:16])
        return xid, zxid, err, p[16:]

    def closed(self, timeout=5.0):
        """True when the server closes the connection within timeout."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()
