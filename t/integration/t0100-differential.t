#!/usr/bin/python3
"""t0100 — differential test: the same seeded random operation sequences run
through kazoo against Apache ZooKeeper 3.8 (Debian package, started here) and
against corrald, and every answer must match: return values, error classes,
data, sorted children, Stat fields (versions, cversion, aversion, dataLength,
numChildren, whether ephemeral; czxid/mzxid/pzxid compared exactly, since both
servers spend zxids on the same txns, failed writes included), multi results,
ACLs set and read by two digest users (NoAuth included), and the watch events
each client sees, in order.

CORRAL_DIFF_SEEDS (default 8) and CORRAL_DIFF_OPS (default 250) size the run;
CORRAL_DIFF_SEED=N replays one seed.  A mismatch prints the seed, the step and
both answers."""
import os, random, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from kazoo.exceptions import KazooException

SEEDS = [int(os.environ["CORRAL_DIFF_SEED"])] if "CORRAL_DIFF_SEED" in os.environ else \
    list(range(1, 1 + int(os.environ.get("CORRAL_DIFF_SEEDS", "8"))))
OPS = int(os.environ.get("CORRAL_DIFF_OPS", "250"))

NAMES = ["a", "b", "c"]

# ACLs the sequences set: open, read-only for all, client 0's digest only, and
# client 0 all + client 1 read (client 0 authenticates as alice, client 1 as bob)
from kazoo.security import make_digest_acl, make_acl, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE
ACLS = [OPEN_ACL_UNSAFE, READ_ACL_UNSAFE,
        [make_digest_acl("alice", "pw", all=True)],
        [make_digest_acl("alice", "pw", all=True), make_digest_acl("bob", "pw", read=True)],
        [make_acl("ip", "127.0.0.1", read=True, write=True, create=True)]]
AUTH = [[("digest", "alice:pw")], [("digest", "bob:pw")]]


def stat(st):
    if st is None:
        return None
    return (st.czxid, st.mzxid, st.pzxid, st.version, st.cversion, st.aversion,
            st.dataLength, st.numChildren, st.ephemeralOwner != 0)


def outcome(fn):
    try:
        return ("ok", fn())
    except KazooException as e:
        return ("error", type(e).__name__)


class Run:
    """One seeded sequence against one server; returns the transcript."""

    def __init__(self, hosts, seed, base):
        self.rng = random.Random(seed)
        self.base = base
        self.hosts = hosts
        self.log = []
        self.events = {}
        self.lock = threading.Lock()

    def path(self, depth=None):
        depth = depth or self.rng.choice([1, 1, 2, 2, 3])
        return self.base + "".join("/" + self.rng.choice(NAMES) for _ in range(depth))

    def watcher(self, who):
        def record(e):
            if e.type == "NONE":
                return   # kazoo's own, fired at close to pending watchers (timing-dependent)
            with self.lock:
                self.events.setdefault(who, []).append((e.type, e.path))
        return record

    def step(self, clients):
        r = self.rng
        who = r.randrange(len(clients))
        zk = clients[who]
        op = r.choice(["create", "create", "create", "delete", "set", "get", "exists",
                       "children", "multi", "multi", "watch_get", "watch_exists",
                       "watch_children", "setacl", "getacl"])
        p = self.path()
        data = r.choice([b"", b"x", b"value-%d" % r.randrange(100)])
        version = r.choice([-1, -1, 0, 1, 2])
        if op == "create":
            eph, seq = r.random() < 0.25, r.random() < 0.25
            return op, who, p, outcome(lambda: zk.create(p, data, ephemeral=eph, sequence=seq))
        if op == "delete":
            if r.random() < 0.4:
                p = self.path(1)      # parents too: NotEmpty
            return op, who, p, outcome(lambda: zk.delete(p, version=version))
        if op == "set":
            return op, who, p, outcome(lambda: stat(zk.set(p, data, version=version)))
        if op == "get":
            return op, who, p, outcome(lambda: (lambda d: (d[0], stat(d[1])))(zk.get(p)))
        if op == "exists":
            return op, who, p, outcome(lambda: stat(zk.exists(p)))
        if op == "children":
            return op, who, p, outcome(lambda: sorted(zk.get_children(p)))
        if op == "setacl":
            acl = r.choice(ACLS)
            return op, who, p, outcome(lambda: stat(zk.set_acls(p, acl, version=r.choice([-1, -1, 0]))))
        if op == "getacl":
            return op, who, p, outcome(lambda: [(a.perms, a.id.scheme, a.id.id) for a in zk.get_acls(p)[0]])
        if op == "watch_get":
            return op, who, p, outcome(lambda: zk.get(p, watch=self.watcher(who))[0])
        if op == "watch_exists":
            return op, who, p, outcome(lambda: stat(zk.exists(p, watch=self.watcher(who))))
        if op == "watch_children":
            return op, who, p, outcome(lambda: sorted(zk.get_children(p, watch=self.watcher(who))))
        t = zk.transaction()
        members = []
        for _ in range(r.randint(1, 4)):
            kind = r.choice(["create", "delete", "set", "check"])
            q = self.path()
            members.append((kind, q))
            if kind == "create":
                t.create(q, data)
            elif kind == "delete":
                t.delete(q, version=r.choice([-1, 0]))
            elif kind == "set":
                t.set_data(q, data, version=r.choice([-1, 0, 1]))
            else:
                t.check(q, r.choice([0, 1]))

        def commit():
            res = t.commit()
            return [type(x).__name__ if isinstance(x, Exception) else
                    stat(x) if hasattr(x, "czxid") else x for x in res]
        return op, who, members, outcome(commit)

    def run(self):
        clients = [kazoo(self.hosts, auth_data=AUTH[0]), kazoo(self.hosts, auth_data=AUTH[1])]
        clients[0].ensure_path(self.base)
        for i in range(OPS):
            self.log.append(self.step(clients))
            if i and i % 80 == 0:
                # a session ends: its ephemerals go, watchers see it
                clients[1].stop()
                clients[1].close()
                clients[1] = kazoo(self.hosts, auth_data=AUTH[1])
                self.log.append(("session-restart", 1, None, None))
        for zk in clients:
            settle(zk, self.base)
        for zk in clients:
            zk.stop()
            zk.close()
        return self.log, self.events


def transcript(hosts, seed):
    return Run(hosts, seed, "/diff%d" % seed).run()


zk_server = ZooKeeper()
corral = Corrald({"module.auth": "world,ip,digest"})
total = 0
for seed in SEEDS:
    want_log, want_events = transcript(zk_server.hosts, seed)
    got_log, got_events = transcript(corral.hosts, seed)
    total += len(want_log)
    first = next((i for i, (w, g) in enumerate(zip(want_log, got_log)) if w != g), None)
    if first is None and len(want_log) == len(got_log):
        ok(True, "seed %d: %d operations answer identically" % (seed, len(want_log)))
    else:
        ok(False, "seed %d: %d operations answer identically" % (seed, len(want_log)))
        diag("first difference at step %s (replay: CORRAL_DIFF_SEED=%d)" % (first, seed))
        if first is not None:
            for i in range(max(0, first - 3), first):
                diag("  step %d (same): %r" % (i, want_log[i]))
            diag("  ZooKeeper: %r" % (want_log[first],))
            diag("  corrald:   %r" % (got_log[first],))
    if want_events == got_events:
        n = sum(len(v) for v in want_events.values())
        ok(True, "seed %d: the same %d watch events, in the same order" % (seed, n))
    else:
        ok(False, "seed %d: the same watch events, in the same order" % seed)
        for who in sorted(set(want_events) | set(got_events)):
            w, g = want_events.get(who, []), got_events.get(who, [])
            if w != g:
                k = next((i for i, (a, b) in enumerate(zip(w, g)) if a != b), min(len(w), len(g)))
                diag("client %d, event %d: ZooKeeper %r, corrald %r" % (who, k, w[k:k + 3], g[k:k + 3]))

# the failure kinds really happened (the sequence is not trivially all-ok)
kinds = set()
for seed in SEEDS[:1]:
    log, _ = transcript(corral.hosts, seed + 1000)
    for entry in log:
        if entry[3] and entry[3][0] == "error":
            kinds.add(entry[3][1])
for k in ("NoNodeError", "NodeExistsError", "BadVersionError", "NotEmptyError", "NoAuthError"):
    ok(k in kinds, "the random sequences exercise %s" % k)
diag("%d operations compared" % total)
corral.check_clean_exit()
done()
