#!/usr/bin/python3
"""t0580 — apply is deterministic: the txn log alone rebuilds the live tree.

Every server of an ensemble builds its tree by applying the same txns, so
apply may depend on nothing but the txn and the tree.  This pins it before
any network code exists: a corrald with file storage (snapCount so large
that everything stays in the log) takes the seeded random workload of the
differential tests (t/lib/diffgen.py: creates plain, ephemeral and
sequential, deletes, sets, ACL changes, multi, a session restart every 80
steps), plus a session that expires with its ephemerals, a container the
reaper removes once its child goes, and a TTL node that expires.  Its two
workload sessions stay open, so their ephemerals are in the tree.  Then
the live tree is read two ways: ZooKeeper's tree digest (DigestCalculator,
which covers every node's path, data and persisted Stat), from the snapshot
`corral snapshot` makes it write, and a dump of every node (data, ACL, full
Stat) through kazoo as the super user.  A second corrald starts on a data
dir holding only the first one's txn logs; it replays them into an empty
tree (and writes its snapshot, digest included, at once).  The digest at
the same zxid and the dump must be identical.

CORRAL_DET_SEEDS (default 3) and CORRAL_DET_OPS (default 250) size the run;
CORRAL_DET_SEED=N replays one seed."""
import base64, glob, hashlib, os, shutil, struct, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from diffgen import Run
import logging
logging.getLogger("kazoo").setLevel(logging.CRITICAL)   # the workload clients outlive the live server

SEEDS = [int(os.environ["CORRAL_DET_SEED"])] if "CORRAL_DET_SEED" in os.environ else \
    list(range(1, 1 + int(os.environ.get("CORRAL_DET_SEEDS", "3"))))
OPS = int(os.environ.get("CORRAL_DET_OPS", "250"))
CLI = os.path.join(BUILD, "tools", "corral")
SUPER = [("digest", "super:s3cret")]
CONFIG = {
    "module.storage": "file",
    "snapCount": "100000000",
    "module.auth": "world,ip,digest,super",
    "DigestAuthenticationProvider.superDigest":
        "super:" + base64.b64encode(hashlib.sha1(b"super:s3cret").digest()).decode(),
    "extendedTypesEnabled": "true",
    "znode.container.checkIntervalMs": "100",
    "minSessionTimeout": "1000",
}
CREATE, CREATECONTAINER, CREATETTL, DELETE = 1, 19, 21, 2
OPEN_ACL = jint(1) + jint(31) + jstr("world") + jstr("anyone")


def raw_call(raw, xid, op, body):
    xid_, _zxid, err, _body = raw.request(xid, op, body)
    return err


def raw_create(raw, xid, path, flags=0, op=CREATE, ttl=None):
    body = jstr(path) + jbuf(b"r") + OPEN_ACL + jint(flags) + (b"" if ttl is None else jlong(ttl))
    return raw_call(raw, xid, op, body)


def snapshot_digest(path):
    """(zxid, digest) from the ZxidDigest record at the end of a snapshot
    (snapshot.c: ... seal, {long zxid, int version, long digest}, seal)."""
    with open(path, "rb") as f:
        b = f.read()
    zxid, _version, digest = struct.unpack(">qiq", b[-13 - 20:-13])
    return zxid, digest


def snapshots(srv):
    return set(glob.glob(os.path.join(srv.dir, "data", "version-2", "snapshot.*")))


def zxid_of(path):
    return int(path.rsplit(".", 1)[1], 16)


def dump(zk):
    """Every node: data, ACL and the whole Stat, ctime/mtime and owner included."""
    out = {}
    todo = ["/"]
    while todo:
        p = todo.pop()
        data, st = zk.get(p)
        acl, _ = zk.get_acls(p)
        out[p] = (data, [(a.perms, a.id.scheme, a.id.id) for a in acl], tuple(st))
        todo.extend(p.rstrip("/") + "/" + c for c in zk.get_children(p))
    return out


def extras(srv, seed):
    """What diffgen does not do: expiry, the container reaper, TTL expiry."""
    admin = kazoo(srv.hosts, auth_data=SUPER)
    base = "/det%d-x" % seed
    admin.ensure_path(base)
    raw = Raw(srv.port)
    raw.connect(timeout_ms=1000)
    errs = [raw_create(raw, 1, base + "/gone-a", flags=1),
            raw_create(raw, 2, base + "/gone-s-", flags=3),
            raw_create(raw, 3, base + "/box", op=CREATECONTAINER, flags=4),
            raw_create(raw, 4, base + "/box/child"),
            raw_create(raw, 5, base + "/ttl", op=CREATETTL, flags=5, ttl=300),
            raw_create(raw, 6, base + "/kept")]
    ok(errs == [0] * 6, "seed %d: the extra creates succeed (%r)" % (seed, errs))
    is_(raw_call(raw, 7, DELETE, jstr(base + "/box/child") + jint(-1)), 0,
        "seed %d: the container's child is deleted" % seed)
    raw.close()      # the session is abandoned: it expires, its ephemerals with it
    ok(wait_for(lambda: admin.get_children(base) == ["kept"], 20),
       "seed %d: the expired session's ephemerals, the emptied container and the TTL node go" % seed)
    admin.stop()
    admin.close()


def corral_snapshot(srv):
    before = snapshots(srv)
    r = subprocess.run([CLI, "-s", srv.hosts, "snapshot"], capture_output=True, text=True,
                       timeout=30)
    ok(r.returncode == 0, "corral snapshot succeeds")
    ok(wait_for(lambda: snapshots(srv) - before, 20), "the live server writes a snapshot")
    return max(snapshots(srv) - before, key=zxid_of, default=None)


for seed in SEEDS:
    live = Corrald(CONFIG)
    log, _events, clients = Run(live.hosts, seed, "/det%d" % seed, OPS).run(keep_open=True)
    extras(live, seed)
    reader = kazoo(live.hosts, auth_data=SUPER)
    want = dump(reader)
    last = max(max(v[2][1], v[2][10]) for v in want.values())     # mzxid, pzxid
    reader.stop()
    reader.close()
    snap = corral_snapshot(live)
    ok(live.stop() == 0, "seed %d: the live server stops" % seed)
    for zk in clients:      # after the server: their sessions stay in the log, open
        zk.stop()
        zk.close()
    owners = {v[2][7] for v in want.values()} - {0}     # ZnodeStat.ephemeralOwner
    ok(len(want) > 20 and len(owners) >= 1 and any(p[-10:].isdigit() for p in want),
       "seed %d: the tree is not trivial (%d nodes, ephemerals of %d open sessions, "
       "sequential names)" % (seed, len(want), len(owners)))
    ok(any(e[3] and e[3][0] == "error" for e in log) and any(e[0] == "multi" for e in log),
       "seed %d: the workload had failed writes and multis" % seed)

    replay = Corrald(CONFIG, start=False)
    vdir = os.path.join(replay.dir, "data", "version-2")
    os.makedirs(vdir)
    logs = glob.glob(os.path.join(live.dir, "data", "version-2", "log.*"))
    for f in logs:
        shutil.copy(f, vdir)
    ok(bool(logs) and not snapshots(replay), "seed %d: the fresh data dir holds only the %d txn log(s)"
       % (seed, len(logs)))
    replay.start()
    rsnap = max(snapshots(replay), key=zxid_of, default=None)
    want_digest = snapshot_digest(snap) if snap else None
    got_digest = snapshot_digest(rsnap) if rsnap else None
    ok(want_digest and want_digest[0] >= last, "seed %d: the live snapshot covers the last write"
       % seed)
    if not is_(got_digest, want_digest,
               "seed %d: the replayed tree has the live tree's digest at the same zxid" % seed):
        diag("replay: CORRAL_DET_SEED=%d" % seed)
    reader = kazoo(replay.hosts, auth_data=SUPER)
    got = dump(reader)
    reader.stop()
    reader.close()
    bad = ["%s: live %r, replayed %r" % (k, want.get(k), got.get(k))
           for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
    if not ok(not bad, "seed %d: all %d nodes replay identically (data, ACL, full Stat)"
              % (seed, len(want))):
        for line in bad[:10]:
            diag(line)
    replay.check_clean_exit("seed %d: the replaying server stops cleanly" % seed)
    live.check_clean_exit("seed %d: the live server stopped cleanly" % seed)
done()
