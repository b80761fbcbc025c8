#!/usr/bin/python3
"""bench-ensemble.py — a 3-member Corral ensemble against a 3-member Apache
ZooKeeper 3.8 ensemble on this machine, side by side (what `make bench`
runs after bench.sh, and `make bench-ensemble` alone).

    tools/bench-ensemble.py [BUILDDIR [MODULEDIR]]

Both ensembles run at once: three members of each kind on 127.0.0.1, each
with its own ports and data directory, on tmpfs for both, so that neither
pays for a disk the other does not (Corral with module.storage=file: a txn
log with fsync, like ZooKeeper's).  Each tree is first given ENS_ZNODES
znodes (kept), ZooKeeper's JVMs are warmed up, and then ENS_REPEAT rounds
measure, each kind right after the other, row by row (the order of the
kinds alternating between rounds, so that a noisy moment of this shared
machine hits both alike):

  set / create through the leader and through a follower, get through a
  follower (corral-bench, the same generator and settings for both);
  restart-to-serving of a follower (once it has caught up with the
  leader: kill -9, start, until it answers a ConnectRequest again:
  recovery of the tree plus sync);
  leader failover: kill -9 of the leader, until a write on a new session at
  a survivor succeeds (the election, the new leader's sync, a session);
  the old leader is started again and the round ends once all three serve
  at one zxid.

Then a table of the medians with the Corral/ZooKeeper ratios (throughput:
higher is better; times: ZooKeeper's over Corral's, higher is better), and
the ratio of each round.  Six servers and the generator share the
machine's CPUs, so nothing is pinned; read the ratios, not the absolute
figures.  Only 127.0.0.1 is used; every process started is killed on exit.

Knobs (environment): ENS_DURATION measured seconds per run [3]; ENS_REPEAT
rounds [3]; ENS_ZNODES znodes in each tree [100000]; ENS_JVM_WARMUP seconds
of JVM warmup load [16]; ENS_KINDS ["corral zookeeper"]; ENS_KEEP=1 keeps
the temporary directory with the logs.
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
DURATION = float(os.environ.get("ENS_DURATION", "3"))
REPEAT = int(os.environ.get("ENS_REPEAT", "3"))
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
    """n znodes of 100 bytes under /populate (created through the port), left on the server."""
    r = subprocess.run([BENCH, "--port", str(port), "--workload", "create", "--ops", str(n),
                        "--warmup", "0", "--sessions", "8", "--depth", "32", "--duration", "600",
                        "--prefix", "/populate", "--keep"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit("bench-ensemble: populating failed")


def first_write_ms(ports, t0, limit=60.0):
    """Until a create on a new session succeeds at one of ports: ms since t0."""
    from kazoo.client import KazooClient
    end = t0 + limit
    i = 0
    while time.monotonic() < end:
        for p in ports:
            if not session_opens(p, 0.5):
                continue
            zk = KazooClient(hosts="127.0.0.1:%d" % p, timeout=5.0, connection_retry=None)
            try:
                zk.start(timeout=2)
                zk.create("/failover-%d-%d" % (os.getpid(), first_write_ms.n))
                first_write_ms.n += 1
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


first_write_ms.n = 0
THROUGHPUT = (("set via leader", "leader", "set"), ("set via follower", "follower", "set"),
              ("create via leader", "leader", "create"), ("create via follower", "follower", "create"),
              ("get via follower", "follower", "get"))
TIMES = ("follower restart-to-serving", "leader failover")


def caught_up(members, seconds=120):
    """Every member serves and has the leader's zxid (a member outside the write quorum may lag
    far behind a fast leader: what is measured is recovery and a short sync)."""
    def same():
        z = [m.zxid() for m in members]
        return None not in z and len(set(z)) == 1
    return wait(lambda: all(session_opens(m.client, 0.5) for m in members), seconds, 0.1) and \
        wait(same, seconds, 0.1)


def restart_ms(kind, members):
    """kill -9 of a follower, start, until it answers a ConnectRequest again (ms)."""
    _, followers = roles(members)
    f = followers[-1]
    if not caught_up(members):
        say("%s: follower %d did NOT catch up with the leader before the kill" % (kind, f.sid))
    f.kill()
    t0 = time.monotonic()
    f.start()
    ok = wait(lambda: session_opens(f.client, 0.5), 120)
    ms = (time.monotonic() - t0) * 1000 if ok else None
    wait(lambda: f.mode() == "follower", 30)
    return ms


def failover_ms(kind, members):
    """kill -9 of the leader, until a write on a new session at a survivor succeeds (ms); then the
    old leader is started again and the ensemble is whole before the next round."""
    leader, followers = roles(members)
    caught_up(members)
    leader.kill()
    t0 = time.monotonic()
    ms = first_write_ms([m.client for m in followers], t0)
    leader.start()
    if not caught_up(members):
        raise SystemExit("bench-ensemble: %s: the ensemble is not whole again after the failover" % kind)
    return ms


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def main():
    for p in (CORRALD, BENCH):
        if not os.access(p, os.X_OK):
            raise SystemExit("bench-ensemble: %s not built" % p)
    base = tempfile.mkdtemp(prefix="corral-bench-ens-", dir=TMPFS)
    samples = {k: {row: [] for row in [r[0] for r in THROUGHPUT] + list(TIMES)} for k in KINDS}
    try:
        say("3 members each, on 127.0.0.1, data on %s; %d round(s) of %g s runs; load average "
            "before: %s" % (TMPFS or "disk", REPEAT, DURATION, open("/proc/loadavg").read().split()[:3]))
        ens = {}
        for kind in KINDS:
            say("%s: starting 3 members" % kind)
            ens[kind] = ensemble(kind, os.path.join(base, kind))
            say("%s: leader is %d; populating %d znodes" % (kind, roles(ens[kind])[0].sid, ZNODES))
            populate(roles(ens[kind])[0].client, ZNODES)
        if "zookeeper" in ens:
            leader, followers = roles(ens["zookeeper"])
            end = time.monotonic() + JVM_WARMUP
            while time.monotonic() < end:   # warm every member's JIT on the paths measured
                for p in (leader.client, followers[0].client):
                    for w in ("set", "get", "create"):
                        corral_bench(p, w, max(0.5, JVM_WARMUP / 12))
        for rnd in range(REPEAT):
            order = list(KINDS) if rnd % 2 == 0 else list(reversed(KINDS))
            for name, where, w in THROUGHPUT:
                for kind in order:
                    leader, followers = roles(ens[kind])
                    r = corral_bench((leader if where == "leader" else followers[0]).client, w, DURATION)
                    v = float(r["ops_per_sec"]) if r else None
                    samples[kind][name].append(v)
                    say("round %d: %s: %s %s ops/s" % (rnd + 1, kind, name, "%.0f" % v if v else "FAILED"))
            for kind in order:
                ms = restart_ms(kind, ens[kind])
                samples[kind][TIMES[0]].append(ms)
                say("round %d: %s: %s %s ms" % (rnd + 1, kind, TIMES[0], "%.0f" % ms if ms else "FAILED"))
            for kind in order:
                ms = failover_ms(kind, ens[kind])
                samples[kind][TIMES[1]].append(ms)
                say("round %d: %s: %s %s ms" % (rnd + 1, kind, TIMES[1], "%.0f" % ms if ms else "FAILED"))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("ENS_KEEP") == "1":
            say("logs kept in " + base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    print()
    print("%-28s %14s %14s %8s   %s" % ("ensemble (3 members)", "corral", "zookeeper", "ratio",
                                        "ratio per round"))
    failed = False
    for row in [r[0] for r in THROUGHPUT] + list(TIMES):
        unit = "ms" if row in TIMES else "ops/s"
        c, z = (median(samples[k][row]) if k in samples else None for k in ("corral", "zookeeper"))
        fmt = lambda v: ("%.0f %s" % (v, unit)) if v else "FAILED"
        ratio, per_round = "", ""
        if c and z:
            ratio = "%.2fx" % ((z / c) if unit == "ms" else (c / z))
            pairs = zip(samples["corral"][row], samples["zookeeper"][row])
            per_round = " ".join("%.1f" % ((b / a) if unit == "ms" else (a / b)) if a and b else "-"
                                 for a, b in pairs)
        failed = failed or any(v is None for k in KINDS for v in samples[k][row])
        print("%-28s %14s %14s %8s   %s" % (row, fmt(c) if "corral" in KINDS else "-",
                                             fmt(z) if "zookeeper" in KINDS else "-", ratio, per_round))
    print("medians of %d round(s); ratio: Corral/ZooKeeper for throughput, ZooKeeper/Corral for times "
          "(higher is better for Corral)" % REPEAT)
    print("each round measures both kinds back to back, row by row, the order alternating between rounds;")
    print("Corral: module.storage=file (txn log + fsync) on %s; ZooKeeper: its log on the same; %d znodes "
          "in each tree." % (TMPFS or "disk", ZNODES))
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
