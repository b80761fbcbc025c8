"""ensembletest — ensembles of corrald and Apache ZooKeeper 3.8 members on loopback.

`Ensemble([("corrald", 1), ("zk", 2), ("corrald", 3, "observer"), ...])` gives every member its own data folder, client,
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
            cmd = ["java", "-Xmx256m", "-Dzookeeper.admin.enableServer=false",
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
        self.base = tempfile.mkdtemp(prefix="corral-ens-")
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


# --- the quorum protocol's tests (t0860-t0864): trees, zxids, data dirs ---------------------------

def srvr_zxid(port):
    """srvr's Zxid line as an int, or None while the server does not serve."""
    m = re.search(r"^Zxid: 0x([0-9a-f]+)", ct.four_letter(port, "srvr", timeout=2), re.M)
    return int(m.group(1), 16) if m else None


def tree(zk, root="/"):
    """{path: data} of every node a kazoo client sees under root, /zookeeper left out."""
    out = {}

    def walk(path):
        data, _ = zk.get(path)
        out[path] = data
        for child in zk.get_children(path):
            p = (path.rstrip("/") + "/" + child)
            if p != "/zookeeper":
                walk(p)
    walk(root)
    return out


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
