"""corraltest — what the integration tests share.

TAP output (ok/is_/done), free loopback ports, and real servers:
`Corrald` starts build/core/corrald on a temporary config and data folder;
`ZooKeeper` starts Apache ZooKeeper 3.8 from the Debian package the same way,
for differential tests.  Both are stopped at exit, whatever happens, and a
corrald whose stderr shows a sanitizer report fails the test.

`server_under_test()` is the server a behaviour test talks to: corrald, or
Apache ZooKeeper itself when CORRAL_TEST_TARGET=zookeeper, which is how the
tests are checked against the behaviour they claim to describe.

Environment (set by `make check`): CORRAL_BUILDDIR, CORRAL_SRCDIR,
CORRAL_MODULE_PATH; optional CORRAL_TEST_TARGET (corrald | zookeeper).  Run a test by hand with those set, e.g.
  CORRAL_BUILDDIR=$PWD/build CORRAL_SRCDIR=$PWD \
  CORRAL_MODULE_PATH=$PWD/build/modules/.dev prove -v t/integration/t0010-kazoo-crud.t
"""
import atexit
import os
import shutil
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
TARGET = os.environ.get("CORRAL_TEST_TARGET", "corrald")
if TARGET not in ("corrald", "zookeeper"):
    sys.exit("CORRAL_TEST_TARGET must be corrald or zookeeper, not %r" % TARGET)

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
    if not cond and "# TODO" not in desc:     # a TAP TODO may fail: prove passes it too
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


def _unexpected(kind, value, tb):
    """An exception nobody caught (a server that did not start, a client call
    that raised): say so as a failed test with the traceback, stop the servers."""
    import traceback
    ok(False, "the test script ran to its end")
    diag("".join(traceback.format_exception(kind, value, tb)))
    print("1..%d" % _count, flush=True)
    _stop_all()


sys.excepthook = _unexpected


from waiting import wait_for  # noqa: E402,F401 - re-exported to the tests


# ---- servers -----------------------------------------------------------------

def closed_by_peer(sock):
    """True when the other end has closed sock (EOF or reset), without waiting
    (sock is left non-blocking)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


_given_ports = set()


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    """A loopback port nothing listens on, outside the kernel's ephemeral range.

    A port the kernel hands out for bind(0) is in the ephemeral range, which
    is also where the source ports of outgoing connections come from: an
    ensemble member dialling its peers could take the very port another
    member is about to listen on.  So ports are drawn below that range (and
    never twice in one test), and checked by binding them.
    """
    import random
    lo, _ = _ephemeral_range()
    top = lo - 1 if lo > 12000 else 32767
    for _ in range(2000):
        port = random.randint(10000, top)
        if port in _given_ports:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _given_ports.add(port)
        return port
    raise RuntimeError("no free loopback port below %d" % lo)


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


def vmhwm_kb(pid):
    """A process's peak resident memory (VmHWM in /proc/PID/status), in kB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def small_asan_quarantine(mb=16):
    """ASan keeps freed blocks resident in its quarantine (256 MB by default),
    so a buffer freed and grown again many times shows in VmHWM as if corrald
    held it.  Servers started after this call keep only mb MB of quarantine."""
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "detect_leaks=1") + \
        ":quarantine_size_mb=%d" % mb


def _session_opens(port):
    """True once a real ConnectRequest is answered (ZooKeeper says imok earlier).
    The probe's session is closed at once, so it does not linger and expire
    later in the middle of a test (an expiry is a txn: it would shift zxids)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            req = struct.pack(">iqiq", 0, 0, 30000, 0) + struct.pack(">i", 16) + b"\0" * 16
            s.sendall(struct.pack(">i", len(req)) + req)
            hdr = s.recv(4)
            if len(hdr) != 4:
                return False
            s.sendall(struct.pack(">iii", 8, 1, -11))      # closeSession
            s.settimeout(5)
            try:
                while s.recv(4096):     # its reply, then the server closes
                    pass
            except OSError:
                pass
            return True
    except OSError:
        return False


_servers = []
_dirs = []      # temporary folders of servers made here: removed at exit when every check passed


def _stop_all():
    while _servers:
        _servers.pop().stop()


def temp_dir(prefix):
    """A temporary folder that goes at exit unless a check failed (then its path is printed)."""
    d = tempfile.mkdtemp(prefix=prefix)
    _dirs.append(d)
    return d


def _at_exit():
    _stop_all()
    if _failed:
        for d in _dirs:
            print("# kept for a look: %s" % d, flush=True)
        return
    for d in _dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_at_exit)
for _sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(_sig, lambda *_: sys.exit(1))


class Corrald:
    """A corrald on a free loopback port, with its own config and data folder."""

    def __init__(self, extra=None, tick=2000, start=True):
        self.dir = temp_dir("corral-t-")
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
        served = self.output().count(" serving (tickTime=")
        self.proc = subprocess.Popen([CORRALD, "-c", self.cfg], stdout=self._logf,
                                     stderr=subprocess.STDOUT, env=env)
        _servers.append(self)
        # up: this process says it serves (so it holds the port: a session that
        # opens could be another process's that took the port while it was free)
        if not wait_for(lambda: self.proc.poll() is not None or
                        (self.output().count(" serving (tickTime=") > served and
                         _session_opens(self.port)), timeout):
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

    def __init__(self, extra=None, tick=2000, myid=None, data_from=None):
        self.dir = temp_dir("zk-t-")
        # there before the server starts: a copy of a data dir, dataDir/myid
        if data_from:
            shutil.copytree(data_from, os.path.join(self.dir, "data"))
        if myid is not None:
            os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
            with open(os.path.join(self.dir, "data", "myid"), "w") as f:
                f.write("%s\n" % myid)
        self.port = free_port()
        cfg = os.path.join(self.dir, "zoo.cfg")
        keys = {
            "tickTime": str(tick),
            "dataDir": os.path.join(self.dir, "data"),
            "clientPort": str(self.port),
            "clientPortAddress": "127.0.0.1",
            "maxClientCnxns": "0",
            "admin.enableServer": "false",
            "4lw.commands.whitelist": "*",
        }
        # Corral's own keys (module.*, storage.*, auth.*) mean nothing to ZooKeeper
        keys.update({k: v for k, v in (extra or {}).items()
                     if not k.startswith(("module.", "storage.", "auth."))})
        with open(cfg, "w") as f:
            for k, v in keys.items():
                if v is not None:
                    f.write("%s=%s\n" % (k, v))
        cp = [self.dir, os.path.join(ZK_JARS, "zookeeper.jar")]
        if os.path.exists(os.path.join(ZK_JARS, "slf4j-simple.jar")):
            cp.append(os.path.join(ZK_JARS, "slf4j-simple.jar"))
        self.log = os.path.join(self.dir, "zookeeper.log")
        self._logf = open(self.log, "w")
        # keys ZooKeeper reads only as Java system properties
        props = ["-D%s=%s" % (k, v) for k, v in keys.items() if k.startswith("znode.")]
        self.proc = subprocess.Popen(
            ["java", "-Xmx512m", "-Dzookeeper.admin.enableServer=false"] + props +
            ["-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", ":".join(cp),
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
        """Stop the JVM; returns its exit status (None if it had to be killed)."""
        status = self.proc.poll()
        if status is None:
            self.proc.send_signal(sig)
            try:
                status = self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                status = None
        if self in _servers:
            _servers.remove(self)
        return status

    def output(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sanitizer_report(self):
        return None

    def check_clean_exit(self, desc="ZooKeeper stops on SIGTERM"):
        """The same check as Corrald's, so a test runs against either; a JVM
        ended by SIGTERM exits 143 after its shutdown hooks."""
        status = self.stop()
        if not ok(status in (0, 143), desc):
            diag("exit status %r\n%s" % (status, self.output()[-4000:]))
        return status in (0, 143)


def server_under_test(extra=None, tick=2000):
    """The server a behaviour test checks: corrald, or Apache ZooKeeper when
    CORRAL_TEST_TARGET=zookeeper (to prove the test describes ZooKeeper)."""
    if TARGET == "zookeeper":
        return ZooKeeper(extra, tick=tick)
    return Corrald(extra, tick=tick)


def corrald_only(desc):
    """For a check about Corral itself, not ZooKeeper: True when it applies;
    otherwise prints a TAP skip so the numbering stays the same."""
    if TARGET == "corrald":
        return True
    global _count
    _count += 1
    print("ok %d # skip %s (Corral only)" % (_count, desc), flush=True)
    return False


# kazoo's own reconnect backoff doubles up to an hour: after a server restart
# that took a few seconds it may sleep far past any wait of a test.  Test
# clients retry at most half a second apart, for ever.
RECONNECT = {"max_tries": -1, "delay": 0.1, "backoff": 1.5, "max_delay": 0.5}


def kazoo(hosts, **kw):
    """A started KazooClient (imported late so a missing kazoo is a clear failure)."""
    from kazoo.client import KazooClient
    kw.setdefault("timeout", 10)
    kw.setdefault("connection_retry", RECONNECT)
    c = KazooClient(hosts=hosts, **kw)
    c.start(timeout=15)
    return c


def settle(zk, path="/", timeout=30):
    """Return once every watch event the server sent zk before now has been
    handed to its callback.  A sync's reply comes after the events of every
    txn committed before it, and kazoo runs callbacks in order on one thread:
    a marker queued behind them runs last.  True unless it timed out."""
    import threading
    from kazoo.protocol.states import Callback
    zk.sync(path)
    done = threading.Event()
    zk.handler.dispatch_callback(Callback("watch", done.set, ()))
    return done.wait(timeout)


# ---- raw wire protocol (for what clients never send) --------------------------

def jint(v):
    return struct.pack(">i", v)


def jlong(v):
    return struct.pack(">q", v)


def jbuf(b):
    return jint(-1) if b is None else jint(len(b)) + b


def jstr(s):
    return jbuf(None if s is None else s.encode())


def jvec(strings):
    """A jute vector<ustring> (None: a null vector)."""
    if strings is None:
        return jint(-1)
    return jint(len(strings)) + b"".join(jstr(x) for x in strings)


OPEN_ACL = jint(1) + jint(31) + jstr("world") + jstr("anyone")


def jframe(xid, op, body=b""):
    """A whole request frame (length, header, body), to send many at once."""
    payload = jint(xid) + jint(op) + body
    return jint(len(payload)) + payload


class JuteReader:
    """Decodes a reply body field by field (ints, longs, buffers, Stats...)."""

    STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
                   "ephemeralOwner", "dataLength", "numChildren", "pzxid")

    def __init__(self, body):
        self.b = body
        self.at = 0

    def _take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.at)
        self.at += struct.calcsize(fmt)
        return v[0]

    def int(self):
        return self._take(">i")

    def long(self):
        return self._take(">q")

    def bool(self):
        return self._take(">b") != 0

    def buf(self):
        n = self.int()
        if n < 0:
            return None
        v = self.b[self.at:self.at + n]
        self.at += n
        return v

    def str(self):
        v = self.buf()
        return None if v is None else v.decode()

    def strings(self):
        n = self.int()
        return None if n < 0 else [self.str() for _ in range(n)]

    def stat(self):
        fields = struct.unpack_from(">qqqqiiiqiiq", self.b, self.at)
        self.at += 68
        return dict(zip(self.STAT_FIELDS, fields))

    def rest(self):
        return self.b[self.at:]


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
