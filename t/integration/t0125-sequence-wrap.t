#!/usr/bin/python3
"""t0125 — int32 edge cases, against Apache ZooKeeper 3.8 side by side:
a parent whose child counter (its persisted cversion) stands at 2^31 - 1
gives its next sequential child the suffix 2147483647; the counter's next
value wraps negative, which ZooKeeper's tree never stores (a counter only
moves up), so the next sequential create finds NodeExists; the Stat's
cversion and a data version past 2^31 - 1 wrap as Java's int does; and
nothing crashes (UBSan watches corrald).
The counters are set by editing one field of a snapshot written by
corrald (without a digest), which both servers then load."""
import glob, os, shutil, struct, sys, tempfile, zlib
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from kazoo.exceptions import NodeExistsError

INT_MAX = 2**31 - 1

# 1. corrald writes a snapshot holding /p (empty data) and /v.
src = Corrald({"module.storage": "file", "storage.file.digest": "false"})
zk = kazoo(src.hosts)
zk.create("/p", b"")
zk.create("/v", b"")
zk.stop()
four_letter(src.port, "snap")
ok(wait_for(lambda: len(glob.glob(os.path.join(src.dir, "data", "version-2", "snapshot.*"))) >= 2, 10),
   "the snapshot with /p is written")
src.check_clean_exit()
v2 = os.path.join(src.dir, "data", "version-2")
snap = max(glob.glob(os.path.join(v2, "snapshot.*")), key=lambda f: int(f.rsplit(".", 1)[1], 16))
blob = bytearray(open(snap, "rb").read())


def stat_offset(path):
    """Offset of StatPersisted in the node record of path (its data empty)."""
    key = struct.pack(">i", len(path)) + path.encode() + struct.pack(">i", 0)
    at = blob.find(key)
    assert at >= 0 and blob.find(key, at + 1) < 0, path
    return at + len(key) + 8              # + the ACL reference (long)


# StatPersisted: czxid mzxid ctime mtime (longs), version cversion aversion (ints) ...
struct.pack_into(">i", blob, stat_offset("/p") + 32 + 4, INT_MAX)     # cversion
struct.pack_into(">i", blob, stat_offset("/v") + 32, INT_MAX)         # version
# the file ends with the Adler-32 of all before it (a long) and the string "/"
tail = struct.pack(">i", 1) + b"/"
assert bytes(blob[-5:]) == tail
struct.pack_into(">q", blob, len(blob) - 13, zlib.adler32(bytes(blob[:-13])))
for f in glob.glob(os.path.join(v2, "snapshot.*")):
    if f != snap:
        os.unlink(f)
with open(snap, "wb") as f:
    f.write(blob)


def run(server_cls, **kw):
    d = tempfile.mkdtemp(prefix="t0125-")
    shutil.copytree(os.path.join(src.dir, "data"), os.path.join(d, "data"))
    extra = {"dataDir": os.path.join(d, "data")}
    extra.update(kw)
    srv = server_cls(extra)
    z = kazoo(srv.hosts)
    out = {}
    out["names"] = []
    for _ in range(3):
        try:
            out["names"].append(z.create("/p/s-", b"", sequence=True))
        except NodeExistsError:
            out["names"].append("NodeExists")
    out["p_cversion"] = z.exists("/p").cversion
    out["v_versions"] = [z.set("/v", b"x").version for _ in range(2)]
    z.delete("/p/s-2147483647")
    out["p_cversion_after_delete"] = z.exists("/p").cversion
    out["children"] = sorted(z.get_children("/p"))
    z.stop()
    return srv, out


corral, c = run(Corrald, **{"module.storage": "file"})
zks, z = run(ZooKeeper)
diag("corrald:   %r" % (c,))
diag("ZooKeeper: %r" % (z,))
is_(c["names"], ["/p/s-2147483647", "NodeExists", "NodeExists"],
    "the suffix 2147483647 is given once; then the counter stays and creates find NodeExists")
is_(c["names"], z["names"], "the same names as ZooKeeper")
is_((c["p_cversion"], c["p_cversion_after_delete"]), (z["p_cversion"], z["p_cversion_after_delete"]),
    "the parent's cversion wraps as ZooKeeper's (also after a delete)")
is_(c["v_versions"], z["v_versions"], "a data version past 2^31 - 1 wraps as ZooKeeper's")
is_(c["v_versions"][0], -2**31, "(to -2^31)")
is_(c["children"], z["children"], "the same children")
corral.check_clean_exit("corrald stops cleanly, UBSan silent about the wrapping")
done()
