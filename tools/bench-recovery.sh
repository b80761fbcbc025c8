#!/bin/bash
# bench-recovery.sh — restart time and memory per znode with a big tree,
# corrald against Apache ZooKeeper 3.8 on the same data directory (what
# `make bench-recovery` runs; issue 5's acceptance figures).
#
# Usage: tools/bench-recovery.sh [BUILDDIR [MODULEDIR]]
#   BUILDDIR   a built tree with core/corrald (default: build-release).  Use an
#              optimised build without sanitizers; ASan doubles every
#              allocation and the figures would mean nothing (a warning says
#              so).  Nothing is built here.
#   MODULEDIR  where corrald finds its modules (default: BUILDDIR/modules/.dev)
#
# What it does:
#  1. Writes one ZooKeeper 3.8 data directory (version-2/snapshot.<zxid>, the
#     format both servers read) holding RECOVERY_ZNODES znodes.  The generator
#     writes the snapshot directly (a few seconds; creating a million znodes
#     through a server would take minutes).  Shape, deterministic (seeded):
#       /tenant-TT                      20 of them
#       /tenant-TT/service-SSS          50 per tenant (1000 services)
#       /tenant-TT/service-SSS/member-0000000123   the rest, spread evenly,
#                                       named like sequential znodes
#     (about 21 path characters and a 15-character name per leaf).
#     Every node holds a value of RECOVERY_VALUE_MIN..RECOVERY_VALUE_MAX bytes
#     [10..100], uniformly at random (a JSON-ish string), all nodes carry
#     world:anyone:cdrwa (one ACL list, as most deployments), no ephemerals
#     (their sessions would expire during the test anyway).  Stats are
#     consistent: increasing czxid, pzxid of the last child, cversion = the
#     children created.
#  2. For each server (corrald with file storage; ZooKeeper via QuorumPeerMain,
#     which runs standalone with this zoo.cfg) and each of RECOVERY_REPEAT
#     runs: copies the data directory afresh, starts the server and measures
#     the time from exec to the first successful session + getData of a known
#     leaf (the last one written, so the whole tree is loaded), polling every
#     10 ms with a minimal jute client.  Then it waits RECOVERY_SETTLE seconds
#     and reads VmRSS from /proc/PID/status, and stops the server.
#  3. The same start on an empty data directory gives each server's baseline
#     RSS.  RSS per znode = (RSS loaded - RSS empty) / znodes: what one more
#     znode costs, without the JVM's or the binary's fixed cost (which would
#     flatter the server with the bigger baseline, ZooKeeper).  The raw
#     RSS/znode is printed too.  Restart time and RSS are the best (lowest) of
#     the runs.  Ratios: ZooKeeper/corrald for time ("× faster") and
#     corrald/ZooKeeper for memory.
#
# Fairness choices:
#  - ZooKeeper's heap: -Xmx ZK_HEAP, default sized to the data: 1000 MiB per
#    million znodes (min 256 MiB), about 2.4x the live set this shape needs
#    (~420 B/znode measured with jcmd after a full GC) and zkServer.sh's own
#    default (1000 MB) at the default size: what an operator would set.  -Xms is left at
#    the JVM default: a bigger -Xms only makes RSS bigger.  Default collector
#    (G1).  The script also prints ZooKeeper's live heap after a forced full
#    GC (jcmd GC.run; GC.heap_info), the floor no -Xmx can go under.
#  - ZooKeeper writes a snapshot of the whole tree before it serves (as it
#    does on every start: ZooKeeperServer.loadData); that is part of its
#    restart and counted.  corrald writes none before serving.
#  - No CPU pinning: ZooKeeper's loader and GC threads may use both cores.
#  - Both read the same snapshot from a fresh copy in the same temp folder
#    (page cache warm for both).
#
# Environment knobs (defaults in brackets):
#   RECOVERY_ZNODES     znodes in the tree, system nodes aside [1000000]
#   RECOVERY_VALUE_MIN / RECOVERY_VALUE_MAX  value sizes in bytes [10 / 100]
#   RECOVERY_REPEAT     restarts per server; the best is shown [2]
#   RECOVERY_SETTLE     seconds between first answer and the RSS reading [3]
#   RECOVERY_SERVERS    which servers ["corral zookeeper"]
#   RECOVERY_TMP        where the temp folder goes [/tmp]
#   RECOVERY_KEEP       1: keep the temp folder (data, configs, logs) [0]
#   ZK_HEAP             ZooKeeper's -Xmx [1g per million znodes, min 256m]
#   ZK_JAR_DIR          where zookeeper.jar lives [/usr/share/java]
# Only 127.0.0.1 is used; both servers are killed on exit.
set -u

BUILDDIR=${1:-build-release}
die() { echo "bench-recovery.sh: $*" >&2; exit 1; }
[ -d "$BUILDDIR" ] || die "no build directory '$BUILDDIR' (usage: tools/bench-recovery.sh BUILDDIR)"
BUILDDIR=$(cd "$BUILDDIR" && pwd)
MODULES=${2:-$BUILDDIR/modules/.dev}
[ -x "$BUILDDIR/core/corrald" ] || die "$BUILDDIR/core/corrald not built"
[ -d "$MODULES" ] || die "$MODULES missing (modules not built)"
MODULES=$(cd "$MODULES" && pwd)
if nm -D "$BUILDDIR/core/corrald" 2>/dev/null | grep -q __asan_init; then
    echo "bench-recovery.sh: WARNING: $BUILDDIR/core/corrald is built with sanitizers;" \
         "its memory figures are meaningless" >&2
fi
ZNODES=${RECOVERY_ZNODES:-1000000}
if [ -z "${ZK_HEAP:-}" ]; then
    mib=$(( ZNODES / 1000 ))
    [ "$mib" -lt 256 ] && mib=256
    ZK_HEAP=${mib}m
fi
export CORRALD=$BUILDDIR/core/corrald MODULES ZNODES ZK_HEAP
export VALUE_MIN=${RECOVERY_VALUE_MIN:-10} VALUE_MAX=${RECOVERY_VALUE_MAX:-100}
export REPEAT=${RECOVERY_REPEAT:-2} SETTLE=${RECOVERY_SETTLE:-3}
export SERVERS=${RECOVERY_SERVERS:-corral zookeeper}
export TMPROOT=${RECOVERY_TMP:-/tmp} KEEP=${RECOVERY_KEEP:-0}
export ZK_JAR_DIR=${ZK_JAR_DIR:-/usr/share/java}

exec python3 -u - <<'PY'
import os, random, shutil, signal, socket, struct, subprocess, sys, tempfile, time, zlib

E = os.environ
N = int(E["ZNODES"])
VMIN, VMAX = int(E["VALUE_MIN"]), int(E["VALUE_MAX"])
REPEAT, SETTLE = max(1, int(E["REPEAT"])), float(E["SETTLE"])
SERVERS = E["SERVERS"].split()
procs = []


def die(msg):
    print("bench-recovery.sh: " + msg, file=sys.stderr)
    for p in procs:
        if p.poll() is None:
            p.kill()
    sys.exit(1)


# ---- the data directory -------------------------------------------------

class Snap:
    """A ZooKeeper 3.8 snapshot writer (FileSnap.serialize), sealed with Adler-32."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.buf = []
        self.size = 0
        self.adler = 1

    def put(self, b):
        self.buf.append(b)
        self.size += len(b)
        if self.size > 1 << 20:
            self.flush()

    def flush(self):
        b = b"".join(self.buf)
        self.adler = zlib.adler32(b, self.adler)
        self.f.write(b)
        self.buf, self.size = [], 0

    def string(self, s):
        self.put(struct.pack(">i", len(s)) + s)

    def node(self, path, data, acl, czxid, mzxid, ctime, mtime, version, cversion, aversion,
             owner, pzxid):
        self.put(struct.pack(">i", len(path)) + path + struct.pack(">i", len(data)) + data +
                 struct.pack(">qqqqqiiiqq", acl, czxid, mzxid, ctime, mtime, version, cversion,
                             aversion, owner, pzxid))

    def seal(self):
        self.flush()
        self.f.write(struct.pack(">q", self.adler) + struct.pack(">i", 1) + b"/")
        self.f.close()


def leaf_name(i):
    return b"member-%010d" % i


def make_data(dirpath):
    """Writes dirpath/version-2/snapshot.<zxid>; returns (path, value) of a known leaf."""
    rng = random.Random(5)
    pool = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(4096))

    def value():
        n = rng.randint(VMIN, VMAX)
        off = rng.randrange(0, 4096 - n)
        head = b'{"host":"10.%d.%d.%d","v":"' % (rng.randrange(256), rng.randrange(256),
                                                  rng.randrange(256))
        return (head + pool[off:off + n])[:n]

    tenants, services = 20, 50
    interior = tenants + tenants * services
    leaves = max(0, N - interior)
    n_serv = tenants * services
    os.makedirs(os.path.join(dirpath, "version-2"))
    # zxids: node k (in the order written) has czxid base + k
    epoch = 1 << 32
    t0 = 1700000000000
    # the snapshot is named after the last zxid
    last = epoch + tenants + n_serv + leaves
    path = os.path.join(dirpath, "version-2", "snapshot.%x" % last)
    s = Snap(path)
    s.put(struct.pack(">iiq", 0x5a4b534e, 2, -1))      # "ZKSN", version 2, dbid -1
    s.put(struct.pack(">i", 0))                          # no sessions
    # ACL table: 1 = world:anyone:cdrwa, 2 = world:anyone:r (/zookeeper/config)
    s.put(struct.pack(">i", 2))
    for idx, perms in ((1, 31), (2, 1)):
        s.put(struct.pack(">qii", idx, 1, perms))
        s.string(b"world")
        s.string(b"anyone")
    per = [leaves // n_serv + (1 if k < leaves % n_serv else 0) for k in range(n_serv)]
    # zxids are handed out in the order nodes are written (parents first);
    # a parent's pzxid is its last child's czxid, known from the counts
    tz_of, sz_of = [], []
    z = epoch
    for t in range(tenants):
        z += 1
        tz_of.append(z)
        for j in range(services):
            z += 1
            sz_of.append(z)
            z += per[t * services + j]
    s.node(b"", b"", 1, 0, 0, 0, 0, 0, tenants, 0, 0, tz_of[-1])
    s.node(b"/zookeeper", b"", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    s.node(b"/zookeeper/quota", b"", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    s.node(b"/zookeeper/config", b"", 2, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    known = None
    k = 0
    seq = 0
    for t in range(tenants):
        tp = b"/tenant-%02d" % t
        tz = tz_of[t]
        s.node(tp, value(), 1, tz, tz, t0 + tz % 100000, t0 + tz % 100000, 0, services, 0, 0,
               sz_of[k + services - 1])
        for j in range(services):
            sp = tp + b"/service-%03d" % j
            sz = sz_of[k]
            s.node(sp, value(), 1, sz, sz, t0 + sz % 100000, t0 + sz % 100000, 0, per[k], 0, 0,
                   sz + per[k])
            for i in range(per[k]):
                lz = sz + 1 + i
                lp = sp + b"/" + leaf_name(seq)
                v = value()
                s.node(lp, v, 1, lz, lz, t0 + lz % 100000, t0 + lz % 100000, 0, 0, 0, 0, lz)
                known = (lp, v)
                seq += 1
            k += 1
    s.put(struct.pack(">i", 1) + b"/")                   # end of nodes
    s.seal()
    if known is None:
        known = (tp, None)
    return path, known


# ---- a minimal ZooKeeper client -------------------------------------------

def recv_exact(sock, n):
    b = b""
    while len(b) < n:
        c = sock.recv(n - len(b))
        if not c:
            raise ConnectionError("closed")
        b += c
    return b


def frame(sock):
    (n,) = struct.unpack(">i", recv_exact(sock, 4))
    return recv_exact(sock, n)


def try_get(port, path):
    """One attempt: session + getData(path).  Returns the data or raises."""
    sock = socket.create_connection(("127.0.0.1", port), 1.0)
    try:
        sock.settimeout(5.0)
        req = struct.pack(">iqiqi", 0, 0, 30000, 0, 16) + b"\0" * 16 + b"\0"
        sock.sendall(struct.pack(">i", len(req)) + req)
        rsp = frame(sock)
        (_, timeout, sid) = struct.unpack(">iiq", rsp[:16])
        if timeout <= 0 or sid == 0:
            raise ConnectionError("no session")
        req = struct.pack(">ii", 1, 4) + struct.pack(">i", len(path)) + path + b"\0"
        sock.sendall(struct.pack(">i", len(req)) + req)
        while True:
            rsp = frame(sock)
            xid, _, err = struct.unpack(">iqi", rsp[:16])
            if xid == 1:
                break
        if err != 0:
            raise ConnectionError("getData error %d" % err)
        (dl,) = struct.unpack(">i", rsp[16:20])
        data = rsp[20:20 + dl] if dl > 0 else b""
        req = struct.pack(">ii", 2, -11)                   # closeSession
        sock.sendall(struct.pack(">i", len(req)) + req)
        try:
            frame(sock)
        except OSError:
            pass
        return data
    finally:
        sock.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---- the servers ----------------------------------------------------------

def corral_cmd(d, port):
    cfg = os.path.join(d, "corral.cfg")
    with open(cfg, "w") as f:
        f.write("tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
                "maxClientCnxns=0\nadmin.enableServer=false\nmodule.path=%s\n"
                "module.transport=zk\nmodule.storage=file\nmodule.auth=world\n"
                "corral.logLevel=warn\n4lw.commands.whitelist=mntr\n" % (d, port, E["MODULES"]))
    return [E["CORRALD"], "-c", cfg]


def zk_cmd(d, port):
    cfg = os.path.join(d, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write("tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
                "maxClientCnxns=0\nadmin.enableServer=false\n4lw.commands.whitelist=mntr\n"
                % (d, port))
    jars = E["ZK_JAR_DIR"]
    cp = [d, os.path.join(jars, "zookeeper.jar")]
    if os.path.exists(os.path.join(jars, "slf4j-simple.jar")):
        cp.append(os.path.join(jars, "slf4j-simple.jar"))
    return ["java", "-Xmx" + E["ZK_HEAP"], "-Dzookeeper.admin.enableServer=false",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", ":".join(cp),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]


def znode_count(port):
    """zk_znode_count from the mntr four-letter word, or None."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), 5.0)
        sock.sendall(b"mntr")
        out = b""
        while True:
            c = sock.recv(65536)
            if not c:
                break
            out += c
        sock.close()
    except OSError:
        return None
    for line in out.decode(errors="replace").splitlines():
        w = line.split()
        if len(w) == 2 and w[0] == "zk_znode_count":
            return int(w[1])
    return None


def live_heap_kib(pid):
    """ZooKeeper's heap in use after a full GC (jcmd), or None."""
    try:
        subprocess.run(["jcmd", str(pid), "GC.run"], capture_output=True, timeout=60)
        out = subprocess.run(["jcmd", str(pid), "GC.heap_info"], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        w = line.split()
        # " garbage-first heap   total 262144K, used 123456K [..."
        if "used" in w and "heap" in line:
            try:
                return int(w[w.index("used") + 1].rstrip("K,"))
            except (ValueError, IndexError):
                pass
    return None


def run_once(name, src, known_path, known_value, want_live=False):
    d = tempfile.mkdtemp(prefix="run-%s-" % name, dir=WORK)
    if src:
        shutil.copytree(src, os.path.join(d, "data"))
    else:
        os.makedirs(os.path.join(d, "data"))
    port = free_port()
    cmd = (corral_cmd if name == "corral" else zk_cmd)(d, port)
    log = open(os.path.join(d, "server.log"), "w")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    procs.append(p)
    try:
        while True:
            if p.poll() is not None:
                log.flush()
                die("%s exited with %s; its log:\n%s" % (
                    name, p.returncode, open(os.path.join(d, "server.log")).read()[-3000:]))
            try:
                data = try_get(port, known_path)
                break
            except (OSError, ConnectionError, struct.error):
                pass
            if time.monotonic() - t0 > 600:
                die("%s did not serve within 600 s" % name)
            time.sleep(0.01)
        ready = time.monotonic() - t0
        if known_value is not None and data != known_value:
            die("%s: %s holds %r, expected %r" % (name, known_path.decode(), data[:40],
                                                  known_value[:40]))
        if known_value is not None:
            count = znode_count(port)
            # ZooKeeper counts the root twice ("" and "/"); corrald shows the same
            if count != N + 5:
                die("%s: mntr says %s znodes, expected %d" % (name, count, N + 5))
        time.sleep(SETTLE)
        rss = rss_kib(p.pid)
        live = live_heap_kib(p.pid) if want_live else None
        return ready, rss, live
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
        if E["KEEP"] != "1":
            shutil.rmtree(d, ignore_errors=True)


WORK = tempfile.mkdtemp(prefix="bench-recovery-", dir=E["TMPROOT"])
try:
    src = os.path.join(WORK, "src")
    t = time.monotonic()
    snap, (known_path, known_value) = make_data(src)
    print("data: %d znodes (+4 system), values %d..%d bytes, %.1f MiB snapshot, written in %.1f s"
          % (N, VMIN, VMAX, os.path.getsize(snap) / 1048576, time.monotonic() - t))
    print("known node: %s; ZooKeeper -Xmx%s; %s" % (known_path.decode(), E["ZK_HEAP"],
                                                     E["CORRALD"]))
    res = {}
    for name in SERVERS:
        if name not in ("corral", "zookeeper"):
            die("unknown server %r" % name)
        _, base, _ = run_once(name, None, b"/zookeeper", None)
        runs = []
        live = None
        for r in range(REPEAT):
            ready, rss, lv = run_once(name, src, known_path, known_value,
                                      want_live=(name == "zookeeper" and r == REPEAT - 1))
            live = lv if lv is not None else live
            runs.append((ready, rss))
            print("  %-9s run %d: serving after %6.2f s, RSS %7.1f MiB" %
                  (name, r + 1, ready, rss / 1024))
        best_t = min(x[0] for x in runs)
        best_rss = min(x[1] for x in runs)
        res[name] = (best_t, best_rss, base, live)
    print()
    print("%-10s %10s %11s %11s %11s %11s" % ("server", "restart s", "RSS MiB", "empty MiB",
                                             "B/znode", "raw B/zn"))
    for name, (tt, rss, base, live) in res.items():
        print("%-10s %10.2f %11.1f %11.1f %11.0f %11.0f" %
              (name, tt, rss / 1024, base / 1024, (rss - base) * 1024 / N, rss * 1024 / N))
        if live is not None:
            print("%-10s live heap after a full GC: %.1f MiB (%.0f B/znode), -Xmx%s" %
                  ("", live / 1024, live * 1024 / N, E["ZK_HEAP"]))
    if "corral" in res and "zookeeper" in res:
        c, z = res["corral"], res["zookeeper"]
        cm, zm = (c[1] - c[2]) / N, (z[1] - z[2]) / N
        print()
        print("restart: corrald %.1fx faster than ZooKeeper (target >= 5x)" % (z[0] / c[0]))
        print("memory:  corrald uses 1/%.1f of ZooKeeper's RSS per znode (target <= 1/5); "
              "raw RSS 1/%.1f" % (zm / cm if cm > 0 else float("inf"), z[1] / c[1]))
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
    if E["KEEP"] != "1":
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print("kept", WORK)
PY
