#!/usr/bin/python3
"""bench-ensemble.py — a 3-member Corral ensemble against a 3-member Apache
ZooKeeper 3.8 ensemble on this machine, side by side (what `make bench`
runs after bench.sh, and `make bench-ensemble` alone).

    tools/bench-ensemble.py [BUILDDIR [MODULEDIR]]

For each kind it starts three members on 127.0.0.1 (each its own ports and
data directory, on tmpfs for both, so that neither pays for a disk the other
does not; Corral with module.storage=file: a txn log with fsync, like
ZooKeeper's), waits until all three serve, and measures:

  set / create through the leader and through a follower, get through a
  follower (corral-bench, the same generator and settings for both);
  restart-to-serving of a follower with ENS_ZNODES znodes (once it has
  caught up with the leader: kill -9, start, until it answers a
  ConnectRequest again: recovery plus sync);
  leader failover: kill -9 of the leader, until a write on a new session at
  a survivor succeeds (the election, the new leader's sync, a session).

Then a table with the Corral/ZooKeeper ratios (throughput: higher is
better; times: ZooKeeper's over Corral's, higher is better).  Six servers
and the generator share the machine's CPUs, so nothing is pinned; run on
a quiet machine and read the ratios, not the absolute figures.  Only
127.0.0.1 is used; every process started is killed on exit.

Knobs (environment): ENS_DURATION measured seconds per run [5]; ENS_ZNODES
znodes for the restart and failover [100000]; ENS_JVM_WARMUP seconds of
JVM warmup load [16]; ENS_KINDS ["corral zookeeper"]; ENS_KEEP=1 keeps the
temporary directory with the logs.
"""
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build-release")
MODULES = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(BUILD, "modules", ".dev"))
CORRALD = os.path.join(BUILD, "core", "corrald")
BENCH = os.path.join(BUILD, "tools", "corral-bench")
ZK_JARS = os.environ.get("ZK_JAR_DIR", "/usr/share/java")
DURATION = float(os.environ.get("ENS_DURATION", "5"))
ZNODES = int(os.environ.get("ENS_ZNODES", "100000"))
JVM_WARMUP = float(os.environ.get("ENS_JVM_WARMUP", "16"))
KINDS = os.environ.get("ENS_KINDS", "corral zookeeper").split()
TMPFS = "/dev/shm" if os.path.isdir("/dev/shm") else None

procs = []
given = set()


def say(msg):
    print("bench-ensemble: " + msg, flush=True)


def free_port():
    """A loopback port below the ephemeral range (members dial each other from ephemeral ports)."""
    for _ in range(2000):
        p = random.randint(10000, 32000)
        if p in given:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        given.add(p)
        return p
    raise RuntimeError("no free port")


def session_opens(port, timeout=2.0):
    """A real ConnectRequest answered with a positive timeout (the member serves)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            body = struct.pack(">iqiqi16s?", 0, 0, 10000, 0, 16, bytes(16), False)
            s.sendall(struct.pack(">i", len(body)) + body)
            reply = b""
            while len(reply) < 24:
                chunk = s.recv(4096)
                if not chunk:
                    return False
                reply += chunk
            if struct.unpack(">i", reply[8:12])[0] <= 0:
                return False
            s.sendall(struct.pack(">iii", 8, 1, -11))
            try:
                s.recv(4096)
            except OSError:
                pass
            return True
    except OSError:
        return False


def four(port, word):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(word.encode())
            out = b""
            while True:
                d = s.recv(65536)
                if not d:
                    return out.decode(errors="replace")
                out += d
    except OSError:
        return ""


class Member:
    def __init__(self, kind, sid, base):
        self.kind, self.sid = kind, sid
        self.dir = os.path.join(base, "%s%d" % (kind, sid))
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        with open(os.path.join(self.data, "myid"), "w") as f:
            f.write("%d\n" % sid)
        self.client, self.quorum, self.election = free_port(), free_port(), free_port()
        self.cfg = os.path.join(self.dir, "zoo.cfg")
        self.log = os.path.join(self.dir, "server.log")
        self.proc = None

    def line(self):
        return "server.%d=127.0.0.1:%d:%d" % (self.sid, self.quorum, self.election)

    def configure(self, lines):
        keys = ["tickTime=2000", "initLimit=10", "syncLimit=5", "dataDir=" + self.data,
                "clientPort=%d" % self.client, "clientPortAddress=127.0.0.1", "maxClientCnxns=0",
                "admin.enableServer=false", "4lw.commands.whitelist=*"]
        if self.kind == "corral":
            keys += ["module.path=" + MODULES, "module.transport=zk", "module.storage=file",
                     "module.auth=world"]
        with open(self.cfg, "w") as f:
            f.write("\n".join(keys + lines) + "\n")

    def start(self):
        logf = open(self.log, "a")
        if self.kind == "corral":
            cmd = [CORRALD, "-c", self.cfg]
        else:
            cp = [self.dir, os.path.join(ZK_JARS, "zookeeper.jar")]
            if os.path.exists(os.path.join(ZK_JARS, "slf4j-simple.jar")):
                cp.append(os.path.join(ZK_JARS, "slf4j-simple.jar"))
            cmd = ["java", "-Xmx1g", "-Xms1g", "-XX:+UseG1GC", "-Dzookeeper.admin.enableServer=false",
                   "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", ":".join(cp),
                   "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg]
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env)
        procs.append(self.proc)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def mode(self):
        m = re.search(r"^Mode: (\w+)", four(self.client, "srvr"), re.M)
        return m.group(1) if m else None

    def zxid(self):
        m = re.search(r"^Zxid: 0x([0-9a-f]+)", four(self.client, "srvr"), re.M)
        return int(m.group(1), 16) if m else None


def wait(cond, seconds, step=0.01):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return False


def ensemble(kind, base):
    members = [Member(kind, sid, base) for sid in (1, 2, 3)]
    lines = [m.line() for m in members]
    for m in members:
        m.configure(lines)
        m.start()
    if not wait(lambda: all(session_opens(m.client) for m in members), 90, 0.1):
        for m in members:
            with open(m.log, errors="replace") as f:
                sys.stderr.write("--- %s %d\n%s\n" % (kind, m.sid, f.read()[-3000:]))
        raise SystemExit("bench-ensemble: the %s ensemble did not come up" % kind)
    return members


def roles(members):
    leader = [m for m in members if m.mode() == "leader"]
    if len(leader) != 1:
        raise SystemExit("bench-ensemble: no single leader: %s" % [m.mode() for m in members])
    return leader[0], [m for m in members if m is not leader[0]]


def corral_bench(port, workload, duration, extra=()):
    out = subprocess.run([BENCH, "--port", str(port), "--workload", workload, "--duration", str(duration),
                          "--warmup", "1", "--sessions", "8", "--depth", "16", *extra],
                         capture_output=True, text=True)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if out.returncode != 0 or not line:
        sys.stderr.write(out.stderr)
        return None
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def populate(port, n):
    """n znodes of 100 bytes (create through the port), for restart and failover."""
    r = subprocess.run([BENCH, "--port", str(port), "--workload", "create", "--ops", str(n),
                        "--warmup", "0", "--sessions", "8", "--depth", "32", "--duration", "600",
                        "--prefix", "/populate"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit("bench-ensemble: populating failed")


def first_write_ms(ports, t0, limit=60.0):
    """Until a create on a new session succeeds at one of ports: ms since t0."""
    from kazoo.client import KazooClient
    from kazoo.handlers.threading import KazooTimeoutError
    end = t0 + limit
    i = 0
    while time.monotonic() < end:
        for p in ports:
            if not session_opens(p, 0.5):
                continue
            zk = KazooClient(hosts="127.0.0.1:%d" % p, timeout=5.0, connection_retry=None)
            try:
                zk.start(timeout=2)
                zk.create("/failover-%d" % i)
                return (time.monotonic() - t0) * 1000
            except Exception:   # not serving yet, or the session moved: try again
                pass
            finally:
                i += 1
                try:
                    zk.stop()
                    zk.close()
                except Exception:
                    pass
        time.sleep(0.01)
    return None


def measure(kind, base):
    say("%s: starting 3 members" % kind)
    members = ensemble(kind, base)
    leader, followers = roles(members)
    say("%s: leader is %d" % (kind, leader.sid))
    res = {}
    if kind == "zookeeper":
        end = time.monotonic() + JVM_WARMUP
        while time.monotonic() < end:   # warm every member's JIT on the paths measured
            for p in (leader.client, followers[0].client):
                for w in ("set", "get", "create"):
                    corral_bench(p, w, max(0.5, JVM_WARMUP / 12))
    for name, port, w in (("set via leader", leader.client, "set"),
                          ("set via follower", followers[0].client, "set"),
                          ("create via leader", leader.client, "create"),
                          ("create via follower", followers[0].client, "create"),
                          ("get via follower", followers[0].client, "get")):
        r = corral_bench(port, w, DURATION)
        res[name] = float(r["ops_per_sec"]) if r else None
        say("%s: %s %s ops/s" % (kind, name, r["ops_per_sec"] if r else "FAILED"))
    say("%s: populating %d znodes" % (kind, ZNODES))
    populate(leader.client, ZNODES)
    f = followers[1]
    # a follower outside the write quorum may lag far behind a fast leader: what is measured is
    # recovery and a short sync, so it is killed once it has caught up
    caught_up = wait(lambda: f.zxid() is not None and f.zxid() == leader.zxid(), 120, 0.1)
    say("%s: follower %d %s the leader before the kill" %
        (kind, f.sid, "caught up with" if caught_up else "did NOT catch up with"))
    f.kill()
    t0 = time.monotonic()
    f.start()
    ok = wait(lambda: session_opens(f.client, 0.5), 120)
    res["follower restart-to-serving"] = (time.monotonic() - t0) * 1000 if ok else None
    say("%s: follower restart-to-serving %s ms" % (kind, "%.0f" % res["follower restart-to-serving"]
                                                  if ok else "FAILED"))
    wait(lambda: f.mode() == "follower", 30)
    leader.kill()
    t0 = time.monotonic()
    ms = first_write_ms([m.client for m in members if m is not leader], t0)
    res["leader failover"] = ms
    say("%s: leader failover %s ms" % (kind, "%.0f" % ms if ms else "FAILED"))
    for m in members:
        m.kill()
    return res


def main():
    for p in (CORRALD, BENCH):
        if not os.access(p, os.X_OK):
            raise SystemExit("bench-ensemble: %s not built" % p)
    base = tempfile.mkdtemp(prefix="corral-bench-ens-", dir=TMPFS)
    try:
        say("3 members each, on 127.0.0.1, data on %s; load average before: %s" %
            (TMPFS or "disk", open("/proc/loadavg").read().split()[:3]))
        results = {kind: measure(kind, os.path.join(base, kind)) for kind in KINDS}
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("ENS_KEEP") == "1":
            say("logs kept in " + base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    rows = ["set via leader", "set via follower", "create via leader", "create via follower",
            "get via follower", "follower restart-to-serving", "leader failover"]
    print()
    print("%-28s %14s %14s %8s" % ("ensemble (3 members)", "corral", "zookeeper", "ratio"))
    failed = False
    for row in rows:
        c = results.get("corral", {}).get(row)
        z = results.get("zookeeper", {}).get(row)
        unit = "ms" if row in ("follower restart-to-serving", "leader failover") else "ops/s"
        fmt = lambda v: ("%.0f %s" % (v, unit)) if v else "FAILED"
        ratio = ""
        if c and z:
            ratio = "%.2fx" % ((z / c) if unit == "ms" else (c / z))
        failed = failed or (("corral" in KINDS and not c) or ("zookeeper" in KINDS and not z))
        print("%-28s %14s %14s %8s" % (row, fmt(c) if "corral" in KINDS else "-",
                                        fmt(z) if "zookeeper" in KINDS else "-", ratio))
    print("ratio: Corral/ZooKeeper for throughput, ZooKeeper/Corral for times (higher is better for Corral)")
    print("Corral: module.storage=file (txn log + fsync) on %s; ZooKeeper: its log on the same." %
          (TMPFS or "disk"))
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
