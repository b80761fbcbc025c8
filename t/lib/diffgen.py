"""diffgen — the seeded random workload of the differential tests.

One `Run` is a reproducible sequence of kazoo operations (creates with every
mix of ephemeral and sequential, deletes, sets, reads, watches, ACL changes,
multi) by two digest-authenticated clients, with a session restart every 80
steps; it records what each call answered and the watch events each client
saw.  t0100 runs the same seed against Apache ZooKeeper and corrald and
compares the transcripts; t0580 replays the txn log such a run leaves behind
and compares the trees.  The generator lives here, once, so both draw the
very same sequences from a seed."""
import random
import threading

from corraltest import kazoo, settle
from kazoo.exceptions import KazooException
from kazoo.security import make_digest_acl, make_acl, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE

NAMES = ["a", "b", "c"]

# ACLs the sequences set: open, read-only for all, client 0's digest only, and
# client 0 all + client 1 read (client 0 authenticates as alice, client 1 as bob)
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
    """One seeded sequence of `ops` steps against one server; run() returns the transcript."""

    def __init__(self, hosts, seed, base, ops=250):
        """hosts: one connection string for both clients, or a list of two (an
        ensemble with the clients on different members).  Then a client that
        acts after the other one did first syncs, so that it sees what the
        other was answered (ZooKeeper's guarantee across clients is only
        that): the sequence stays deterministic on any ensemble."""
        self.rng = random.Random(seed)
        self.base = base
        self.hosts = list(hosts) if isinstance(hosts, (list, tuple)) else [hosts, hosts]
        self.spread = self.hosts[0] != self.hosts[1]
        self.last_who = None
        self.ops = ops
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
        if self.spread and self.last_who is not None and who != self.last_who:
            zk.sync(self.base)
        self.last_who = who
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

    def run(self, keep_open=False):
        """The whole sequence.  keep_open=True leaves both clients connected
        (their sessions and ephemerals live on) and returns them third."""
        clients = [kazoo(self.hosts[0], auth_data=AUTH[0]), kazoo(self.hosts[1], auth_data=AUTH[1])]
        clients[0].ensure_path(self.base)
        for i in range(self.ops):
            self.log.append(self.step(clients))
            if i and i % 80 == 0:
                # a session ends: its ephemerals go, watchers see it
                clients[1].stop()
                clients[1].close()
                clients[1] = kazoo(self.hosts[1], auth_data=AUTH[1])
                self.last_who = -1     # whoever acts next syncs: the close is news to both
                self.log.append(("session-restart", 1, None, None))
        for zk in clients:
            settle(zk, self.base)
        # the events up to here: what the clients' own closes set off next (ephemerals going)
        # reaches the other client or not depending on which close gets there first
        with self.lock:
            events = {who: list(seen) for who, seen in self.events.items()}
        if keep_open:
            return self.log, events, clients
        for zk in clients:
            zk.stop()
            zk.close()
        return self.log, events
