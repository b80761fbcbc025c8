"""ensembletest — ensembles of corrald and Apache ZooKeeper 3.8 members on loopback.

`Ensemble([("corrald", 1), ("zk", 2), ("corrald", 3, "observer"), ...])` gives every member its own data folder
(under one temporary folder, removed at exit when every check passed), client,
quorum and election ports, one shared list of server.N lines and a myid file, and starts them
(start=False to start them one by one with `member.start()`).  Members are stopped at exit
(they join corraltest's list), whatever happens.

What a test reads back:
  corrald: `member.decisions()` — the (leader, state) of every "election: leader is N" log line;
  ZooKeeper: `member.mode()` — srvr's Mode line (only once it serves, i.e. a quorum formed),
             `member.output()` — its log (INFO), for the election's own lines.
"""
import os
import re
import signal
import subprocess
import tempfile

import corraltest as ct

DECISION = re.compile(r"election: leader is (-?\d+) \(epoch (-?\d+), zxid 0x([0-9a-f]+)\); "
                      r"this server is (\w+)")
# what ZooKeeper logs when it cannot read a peer's election bytes (QuorumCnxManager, FLE)
ZK_PROTOCOL_COMPLAINTS = (
    "Initial message parsing error", "unrecognized protocol version", "Unreasonable buffer length",
    "Badly formed address", "Got a short response", "malformed response message",
    "Invalid configLength", "Received packet with invalid packet", "Something went wrong while "
    "processing config", "restarting leader election", "Backward compatibility mode",
)


class Member:
    def __init__(self, kind, sid, base, role="participant"):
        self.kind, self.sid, self.role = kind, sid, role
        self.dir = tempfile.mkdtemp(prefix="ens-%s%d-" % (kind, sid), dir=base)
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        with open(os.path.join(self.data, "myid"), "w") as f:
            f.write("%d\n" % sid)
        self.client_port = ct.free_port()
        self.quorum_port = ct.free_port()
        self.election_port = ct.free_port()
        self.log = os.path.join(self.dir, "%s.log" % kind)
        self.proc = None
        self.jvm_flags = []         # ZooKeeper: extra -D system properties

    def server_line(self):
        return "server.%d=127.0.0.1:%d:%d%s" % (self.sid, self.quorum_port, self.election_port,
                                               ":observer" if self.role == "observer" else "")

    def write_config(self, server_lines, extra):
        keys = {
            "tickTime": "2000", "initLimit": "5", "syncLimit": "2", "dataDir": self.data,
            "clientPort": str(self.client_port), "clientPortAddress": "127.0.0.1",
            "admin.enableServer": "false", "4lw.commands.whitelist": "*",
        }
        if self.kind == "corrald":
            keys.update({"module.path": ct.MODULES, "module.transport": "zk",
                         "module.storage": "mem", "module.auth": "world"})
        if self.role == "observer":
            keys["peerType"] = "observer"
        keys.update(extra or {})
        self.cfg = os.path.join(self.dir, "zoo.cfg")
        with open(self.cfg, "w") as f:
            for k, v in keys.items():
                f.write("%s=%s\n" % (k, v))
            for line in server_lines:
                f.write(line + "\n")

    def start(self):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self._logf = open(self.log, "a")
        if self.kind == "corrald":
            cmd = [ct.CORRALD, "-c", self.cfg]
        else:
            cp = [self.dir, os.path.join(ct.ZK_JARS, "zookeeper.jar")]
            if os.path.exists(os.path.join(ct.ZK_JARS, "slf4j-simple.jar")):
                cp.append(os.path.join(ct.ZK_JARS, "slf4j-simple.jar"))
            cmd = ["java", "-Xmx256m", "-Dzookeeper.admin.enableServer=false"] + self.jvm_flags + [
                   "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                   "-Dorg.slf4j.simpleLogger.showDateTime=true",
                   "-cp", ":".join(cp), "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg]
        self.proc = subprocess.Popen(cmd, stdout=self._logf, stderr=subprocess.STDOUT, env=env)
        ct._servers.append(self)
        if self.kind == "corrald":
            if not ct.wait_for(lambda: self.proc.poll() is not None or
                               "started as an ensemble member" in self.output(), 15):
                raise RuntimeError("corrald %d did not come up:\n%s" % (self.sid, self.output()))
            if self.proc.poll() is not None:
                raise RuntimeError("corrald %d exited with %s:\n%s" %
                                   (self.sid, self.proc.returncode, self.output()))

    def output(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if not self.proc or self.proc.poll() is not None:
            status = self.proc.returncode if self.proc else None
        else:
            self.proc.send_signal(sig)
            try:
                status = self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                status = None
        if self in ct._servers:
            ct._servers.remove(self)
        return status

    def kill(self):
        return self.stop(signal.SIGKILL)

    # --- corrald ---
    def decisions(self):
        """[(leader, state)] in log order, state one of leading/following/observing."""
        return [(int(m.group(1)), m.group(4)) for m in DECISION.finditer(self.output())]

    def last_decision(self):
        d = self.decisions()
        return d[-1] if d else None

    def sanitizer_report(self):
        out = self.output()
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if mark in out:
                return out
        return None

    # --- ZooKeeper ---
    def mode(self):
        """srvr's Mode ('leader', 'follower', ...) or None while it does not serve."""
        m = re.search(r"^Mode: (\S+)", ct.four_letter(self.client_port, "srvr", timeout=2), re.M)
        return m.group(1) if m else None

    def protocol_complaints(self):
        out = self.output()
        return [line for line in out.splitlines() if any(c in line for c in ZK_PROTOCOL_COMPLAINTS)]


class Ensemble:
    def __init__(self, spec, extra=None, start=True):
        self.base = ct.temp_dir("corral-ens-")
        # (kind, sid) or (kind, sid, "observer")
        self.members = [Member(s[0], s[1], self.base, *s[2:]) for s in spec]
        lines = [m.server_line() for m in self.members]
        for m in self.members:
            m.write_config(lines, extra)
        if start:
            for m in self.members:
                m.start()

    def __getitem__(self, sid):
        for m in self.members:
            if m.sid == sid:
                return m
        raise KeyError(sid)

    def corralds(self):
        return [m for m in self.members if m.kind == "corrald"]

    def stop(self):
        for m in self.members:
            m.stop()


# --- helpers for the quorum-protocol tests (t0870-t0879) ---------------------

def tree(kz, path="/", skip=("/zookeeper",)):
    """{path: data} of every znode under path (kazoo client kz), /zookeeper left out."""
    out = {}
    def walk(p):
        if p in skip:
            return
        data, _ = kz.get(p)
        out[p] = data
        for child in sorted(kz.get_children(p)):
            walk(p.rstrip("/") + "/" + child)
    walk(path)
    return out


def learner_log_lines(member, word):
    """corrald's 'learner: <word> sync from leader' lines (DIFF, TRUNC, SNAP)."""
    return [l for l in member.output().splitlines() if "learner: %s sync from leader" % word in l]


# --- a scripted leader: servers 2 and 3 of a 3-member view played by the test --

import socket as _socket
import struct as _struct
import threading as _threading
import time as _time

QP = {"REQUEST": 1, "PROPOSAL": 2, "ACK": 3, "COMMIT": 4, "PING": 5, "REVALIDATE": 6, "SYNC": 7,
      "INFORM": 8, "NEWLEADER": 10, "FOLLOWERINFO": 11, "UPTODATE": 12, "DIFF": 13, "TRUNC": 14,
      "SNAP": 15, "OBSERVERINFO": 16, "LEADERINFO": 17, "ACKEPOCH": 18}
QP_NAME = {v: k for k, v in QP.items()}


def qpacket(kind, zxid, data=None):
    """A QuorumPacket's bytes (null authinfo)."""
    t = QP[kind] if isinstance(kind, str) else kind
    body = _struct.pack(">i", -1) if data is None else _struct.pack(">i", len(data)) + data
    return _struct.pack(">iq", t, zxid) + body + _struct.pack(">i", -1)


def _jstr(s):
    b = s.encode() if isinstance(s, str) else s
    return _struct.pack(">i", len(b)) + b


OPEN_ACL_VEC = _struct.pack(">i", 1) + _struct.pack(">i", 31) + _jstr("world") + _jstr("anyone")


def create_txn(zxid, path, data=b"", session=0, cxid=0, when=1700000000000):
    """A PROPOSAL's data: TxnHeader + CreateTxn (persistent, open ACL)."""
    hdr = _struct.pack(">qiqqi", session, cxid, zxid, when, 1)
    return hdr + _jstr(path) + _struct.pack(">i", len(data)) + data + OPEN_ACL_VEC + \
        _struct.pack(">?i", False, 0)


def snap_stream(zxid, nodes):
    """A SNAP's raw stream: no sessions, one ACL (id 1 = world:anyone:cdrwa), the nodes
    ({path: data}; "" is the root, parents first), "/" and the signature."""
    out = _struct.pack(">i", 0) + _struct.pack(">i", 1) + _struct.pack(">q", 1) + OPEN_ACL_VEC
    for path, data in nodes:
        stat = _struct.pack(">qqqqiiiqq", zxid, zxid, 1700000000000, 1700000000000, 0, 0, 0, 0, zxid)
        out += _jstr(path) + _struct.pack(">i", len(data)) + data + _struct.pack(">q", 1) + stat
    return out + _jstr("/") + _jstr("BenWasHere")


class QConn:
    """One learner connection on the scripted leader's quorum port."""
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _need(self, n, timeout):
        end = _time.time() + timeout
        while len(self.buf) < n:
            left = end - _time.time()
            if left <= 0:
                raise TimeoutError("no packet from the learner")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the learner closed")
            self.buf += chunk

    def read(self, timeout=10):
        """(type name, zxid, data or None)."""
        self._need(16, timeout)
        t, zxid, n = _struct.unpack(">iqi", self.buf[:16])
        self._need(16 + max(n, 0) + 4, timeout)
        data = self.buf[16:16 + n] if n >= 0 else None
        off = 16 + max(n, 0)
        (na,) = _struct.unpack(">i", self.buf[off:off + 4])
        off += 4
        for _ in range(max(na, 0)):
            for _ in range(2):
                self._need(off + 4, timeout)
                (ln,) = _struct.unpack(">i", self.buf[off:off + 4])
                self._need(off + 4 + ln, timeout)
                off += 4 + ln
        self.buf = self.buf[off:]
        return QP_NAME.get(t, t), zxid, data

    def send(self, kind, zxid, data=None):
        self.sock.sendall(qpacket(kind, zxid, data))

    def send_raw(self, b):
        self.sock.sendall(b)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class ScriptedLeader:
    """Servers 2 and 3 of `ensemble` (a [corrald 1, zk 2, zk 3] Ensemble never starting 2 and 3)
    played by this process: on corrald's election port server 2 says LEADING and server 3
    FOLLOWING 2 (re-sent every 0.3 s, so corrald follows 2 whenever it looks), and 2's quorum
    port accepts corrald's connections: `accept()` returns the next one as a QConn.
    `epoch` and `zxid` are what the votes carry."""
    def __init__(self, ensemble, corrald_sid=1, epoch=1, zxid=0):
        self.c = ensemble[corrald_sid]
        self.leader = ensemble[2]
        self.vote = (epoch, zxid)
        self.stopped = False
        self.listener = _socket.socket()
        self.listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.leader.quorum_port))
        self.listener.listen(8)
        self.text = "\n".join("server.%d=127.0.0.1:%d:%d:participant" %
                              (m.sid, m.quorum_port, m.election_port) for m in ensemble.members) + \
            "\nversion=0"
        self.socks = {}
        self.thread = _threading.Thread(target=self._elect, daemon=True)
        self.thread.start()

    def _note(self, sid):
        state = 2 if sid == 2 else 1
        cfg = self.text.encode()
        body = _struct.pack(">iqqqqii", state, 2, self.vote[1], 1, self.vote[0], 2, len(cfg)) + cfg
        return _struct.pack(">i", len(body)) + body

    def _elect(self):
        while not self.stopped:
            for sid in (2, 3):
                s = self.socks.get(sid)
                try:
                    if s is None:
                        s = _socket.create_connection(("127.0.0.1", self.c.election_port), timeout=1)
                        m = self.leader if sid == 2 else None
                        addr = ("127.0.0.1:%d" % (m.election_port if m else 1)).encode()
                        s.sendall(_struct.pack(">qqi", -65536, sid, len(addr)) + addr)
                        s.setblocking(False)
                        self.socks[sid] = s
                    s.sendall(self._note(sid))
                    try:
                        while s.recv(65536):
                            pass
                    except BlockingIOError:
                        pass
                except OSError:
                    if s is not None:
                        s.close()
                    self.socks.pop(sid, None)
            _time.sleep(0.3)

    def accept(self, timeout=30):
        self.listener.settimeout(timeout)
        sock, _ = self.listener.accept()
        return QConn(sock)

    def handshake(self, epoch):
        """The next learner connection up to its ACKEPOCH: (q, FOLLOWERINFO's zxid and data,
        ACKEPOCH's zxid and data); FOLLOWERINFO is asserted, the rest is the test's to check."""
        q = self.accept()
        t, info_zxid, info = q.read()
        assert t == "FOLLOWERINFO", t
        q.send("LEADERINFO", epoch << 32, _struct.pack(">i", 0x10000))
        t, ack_zxid, ack = q.read()
        assert t == "ACKEPOCH", t
        return q, info_zxid, info, ack_zxid, ack

    @staticmethod
    def newleader(q, epoch):
        """NEWLEADER then UPTODATE (after the sync packets the test sent): True when the learner
        ACKs both, the NEWLEADER ACK first (ACKs of proposals may come between)."""
        q.send("NEWLEADER", epoch << 32, b"")
        acks = []
        for _ in range(64):
            t, zxid, _ = q.read()
            if t == "ACK":
                acks.append(zxid)
            if acks and acks[0] == epoch << 32:
                break
        else:
            return False
        q.send("UPTODATE", -1)
        for _ in range(64):
            t, zxid, _ = q.read()
            if t == "ACK" and zxid == epoch << 32:
                return acks[0] == epoch << 32
        return False

    def stop(self):
        self.stopped = True
        self.thread.join(5)
        for s in self.socks.values():
            s.close()
        self.listener.close()


class FakeBroadcast:
    """The scripted leader's broadcast phase on one QConn, in a thread: every REQUEST
    (createSession, closeSession, create, sync) is turned into PROPOSAL + COMMIT (or SYNC)
    with zxids counting on from `zxid`; PINGs every 0.5 s; what the learner sent is kept
    in `got` as (type, zxid, data)."""
    def __init__(self, q, zxid, ping=True):
        self.q, self.zxid, self.ping = q, zxid, ping
        self.got = []
        self.stopped = False
        self.thread = _threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _propose(self, session, cxid, ttype, record):
        self.zxid += 1
        hdr = _struct.pack(">qiqqi", session, cxid, self.zxid, int(_time.time() * 1000), ttype)
        self.q.send("PROPOSAL", self.zxid, hdr + record)
        self.q.send("COMMIT", self.zxid)

    def _request(self, data):
        session, cxid, op = _struct.unpack(">qii", data[:16])
        body = data[16:]
        if op == -10:
            self._propose(session, cxid, -10, body[:4])
        elif op == -11:
            self._propose(session, cxid, -11, _struct.pack(">i", 0))
        elif op == 9:
            self.q.send("SYNC", 0)
        elif op == 1:
            (n,) = _struct.unpack(">i", body[:4])
            path = body[4:4 + n]
            rest = body[4 + n:]
            (dn,) = _struct.unpack(">i", rest[:4])
            dat = rest[4:4 + dn]
            self._propose(session, cxid, 1, _jstr(path) + _struct.pack(">i", dn) + dat +
                          OPEN_ACL_VEC + _struct.pack(">?i", False, 0))

    def _run(self):
        last_ping = 0
        while not self.stopped:
            try:
                if self.ping and _time.time() - last_ping > 0.5:
                    self.q.send("PING", self.zxid)
                    last_ping = _time.time()
                t, zxid, data = self.q.read(0.2)
            except TimeoutError:
                continue
            except (EOFError, OSError):
                return
            self.got.append((t, zxid, data))
            if t == "REQUEST":
                self._request(data)

    def stop(self):
        self.stopped = True
        self.thread.join(5)


def zk_leader_follower(a, b, timeout=90):
    """(leader, follower) of two ZooKeeper members once srvr shows one of each, else (None, None).
    On a fresh ensemble the higher sid normally leads, but a JVM that starts late lets the other
    form the quorum first: tests take whichever leads."""
    got = {}
    def settled():
        got["modes"] = (a.mode(), b.mode())
        return sorted(m or "" for m in got["modes"]) == ["follower", "leader"]
    if not ct.wait_for(settled, timeout, 0.3):
        return None, None
    return (a, b) if got["modes"][0] == "leader" else (b, a)

# --- the quorum protocol's tests (t0860-t0864): trees, zxids, data dirs ---------------------------

def srvr_zxid(port):
    """srvr's Zxid line as an int, or None while the server does not serve."""
    m = re.search(r"^Zxid: 0x([0-9a-f]+)", ct.four_letter(port, "srvr", timeout=2), re.M)
    return int(m.group(1), 16) if m else None


def data_dir_tree(member):
    """The tree a stopped member's data dir holds (snapshot and txn log, ZooKeeper's format):
    a standalone corrald with file storage reads a copy of it; {path: data} as tree()."""
    import shutil
    copy = tempfile.mkdtemp(prefix="data-of-%d-" % member.sid, dir=os.path.dirname(member.dir))
    shutil.copytree(os.path.join(member.data, "version-2"), os.path.join(copy, "version-2"))
    reader = ct.Corrald({"dataDir": copy, "module.storage": "file"})
    zk = ct.kazoo(reader.hosts)
    try:
        return tree(zk)
    finally:
        zk.stop()
        zk.close()
        reader.stop()


def leader_requests_merged():
    """Does this build forward a learner's client requests (quorum/leader_requests.c)?"""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "core", "quorum",
                       "leader_requests.c")
    return os.path.exists(src)


def skip(desc):
    """A TAP skip counted in corraltest's numbering."""
    ct._count += 1
    print("ok %d # skip %s" % (ct._count, desc), flush=True)
