#!/usr/bin/python3
"""t0130 — quotas, differential against Apache ZooKeeper 3.8: zkCli
setquota/listquota/delquota, the stats node the server keeps under
/zookeeper/quota/<path>/zookeeper_stats (count and bytes of the subtree,
updated in place: its version, mzxid and watches do not move), nested and
odd quota roots made by hand, enforcement of hard limits (-N/-B) with
zookeeper.enforceQuota (QuotaExceeded, -125; soft limits only logged), and
the stats after restarts with file storage, recomputed when a snapshot is
loaded, also across the two servers' data dirs."""
import glob, os, shutil, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from recipes_helpers import zkcli_script, zkcli_normalize

QUOTA_EXCEEDED = -125


class Conn:
    """A raw session: replies as (err, ...) without a client library's
    opinion of error codes (kazoo does not know QuotaExceeded)."""

    def __init__(self, port):
        self.r = Raw(port)
        self.r.connect(timeout_ms=30000)
        self.xid = 0

    def req(self, op, body):
        self.xid += 1
        self.r.send_frame(jint(self.xid) + jint(op) + body)
        events = []
        while True:
            xid, zxid, err, b = self.r.reply()
            if xid == -1:          # a watch notification
                rd = JuteReader(b)
                events.append((rd.int(), rd.int(), rd.str()))
                continue
            return err, b, events

    def create(self, path, data=b""):
        return self.req(1, jstr(path) + jbuf(data) + OPEN_ACL + jint(0))[0]

    def set(self, path, data, version=-1):
        return self.req(5, jstr(path) + jbuf(data) + jint(version))[0]

    def delete(self, path):
        return self.req(2, jstr(path) + jint(-1))[0]

    def get(self, path, watch=False):
        err, b, ev = self.req(4, jstr(path) + (b"\1" if watch else b"\0"))
        if err:
            return err, None
        rd = JuteReader(b)
        return rd.buf(), rd.stat()

    def stats(self, path):
        """(data, version, data unchanged since create by zxid) of a stats node."""
        d, st = self.get(path)
        if st is None:
            return d
        return d, st["version"], st["mzxid"] == st["czxid"]

    def multi(self, ops):
        body = b""
        for op, path, data in ops:
            body += jint(op) + b"\0" + jint(-1)
            if op == 1:
                body += jstr(path) + jbuf(data) + OPEN_ACL + jint(0)
            else:
                body += jstr(path) + jbuf(data) + jint(-1)
        err, b, ev = self.req(14, body + jint(-1) + b"\1" + jint(-1))
        rd, res = JuteReader(b), []
        while True:
            t, done, e = rd.int(), rd.bool(), rd.int()
            if done:
                return err, res
            if t == -1:
                res.append(rd.int())
            elif t == 1:
                rd.str()
                res.append(0)
            else:
                rd.stat()
                res.append(0)

    def close(self):
        self.req(-11, b"")
        self.r.close()


def both(make):
    return {"corrald": make("corrald"), "zookeeper": make("zookeeper")}


def same(got, desc):
    is_(got["corrald"], got["zookeeper"], desc + " (as ZooKeeper)")


def scene(servers, title, commands):
    got = {}
    for name, s in servers.items():
        lines, errors, _ = zkcli_script(s.hosts, commands)
        got[name] = zkcli_normalize(lines) + ["stderr: " + l for l in errors]
    same(got, "zkCli: " + title)
    return got


STATS = "/zookeeper/quota/q/zookeeper_stats"

# ---- zkCli setquota/listquota/delquota on servers that do not enforce ----

FILE = {"module.storage": "file"}
plain = {"corrald": Corrald(FILE), "zookeeper": ZooKeeper({})}
got = scene(plain, "setquota -n/-b, listquota follows creates, sets and deletes, delquota", [
    "create /q 1",
    "create /q/a 22",
    "create /q/a/b 333",
    "create /other x",
    "setquota -n 10 /q",
    "setquota -b 100 /q",
    "listquota /q",
    "create /q/c 4444",
    "create /other/y yy",
    "set /q/a 55555",
    "delete /q/a/b",
    "listquota /q",
    "stat /zookeeper/quota/q/zookeeper_stats",
    "get /zookeeper/quota/q/zookeeper_stats",
    "setquota -n 5 /q/a",
    "create /n 1",
    "create /n/m 2",
    "setquota -b 5 /n",
    "setquota -n 2 /n",
    "listquota /n",
    "delquota -b /n",
    "listquota /n",
    "delquota /n",
    "listquota /n",
    "create /n/after x",
])
for name in plain:
    stats = [l for l in got[name] if l.startswith(("Output stat for /q", "stderr: Output stat for /q"))]
    is_(stats, ["Output stat for /q count=3,bytes=6", "Output stat for /q count=3,bytes=10"],
        "%s: listquota counts /q's subtree, then follows create, set and delete" % name)

c = {name: Conn(s.port) for name, s in plain.items()}
same({n: x.stats(STATS) for n, x in c.items()},
     "stats node: data kept in place, version 0, mzxid still its czxid")
same({n: x.get("/zookeeper/quota/n/zookeeper_stats")[0] for n, x in c.items()},
     "a quota's stats node stays after delquota, no longer updated")

# A watch on the stats node: updates do not fire it, a client's setData does.
def watch_scene(x):
    x.get(STATS, watch=True)
    err, _, ev_create = x.req(1, jstr("/q/w") + jbuf(b"ww") + OPEN_ACL + jint(0))
    err2, _, ev_delete = x.req(2, jstr("/q/w") + jint(-1))
    x.req(5, jstr(STATS) + jbuf(b"count=1,bytes=2") + jint(-1))
    err3, b, ev_after = x.req(4, jstr("/q") + b"\0")
    return err, ev_create, err2, ev_delete, ev_after
got = both(lambda n: watch_scene(c[n]))
same(got, "a data watch on zookeeper_stats: no event from updates, NodeDataChanged from setData")
is_(got["corrald"][1] + got["corrald"][3], [], "corrald: no event while the stats change")

# A client's data is parsed as StatsTrack and written back in its form
# (count, bytes, then other keys sorted), even for a change of 0 bytes.
def rewrite_scene(x):
    out = []
    for data in (b"count=7,bytes=9=;zz=1;aa=2", b"count=7", b"", b"bytes=3;count=1,x=5,"):
        x.set(STATS, data)
        x.set("/q/c", b"4444")            # same size: a zero difference
        out.append(x.stats(STATS))
        x.create("/q/t", b"abc")
        x.delete("/q/t")
        out.append(x.stats(STATS))
    x.set(STATS, b"count=3,bytes=12")    # back to the truth for later checks
    return out
same(both(lambda n: rewrite_scene(c[n])), "stats data rewritten as StatsTrack after a client's setData")

# Quota roots made by hand: nested roots (zkCli refuses them), a stats node
# created before its limits, a root of a node that does not exist yet, a
# limits node under "/zookeeper/quotaX" (a string prefix in ZooKeeper).
def nested_scene(x):
    out = []
    for p in ("/zookeeper/quota/q/a", "/zookeeper/quota/late", "/zookeeper/quotaX"):
        x.create(p)
    x.create("/q/a/n", b"nn")
    x.create("/zookeeper/quota/q/a/zookeeper_limits", b"count=10,bytes=-1")
    x.create("/zookeeper/quota/q/a/zookeeper_stats", b"junk that is overwritten")
    out.append((x.stats(STATS), x.stats("/zookeeper/quota/q/a/zookeeper_stats")))
    x.create("/q/a/m", b"mmm")          # counts only in the deepest root
    x.create("/q/z", b"z")
    out.append((x.stats(STATS), x.stats("/zookeeper/quota/q/a/zookeeper_stats")))
    x.delete("/zookeeper/quota/q/a/zookeeper_limits")
    x.create("/q/a/o", b"o")            # back to /q
    out.append((x.stats(STATS), x.stats("/zookeeper/quota/q/a/zookeeper_stats")))
    x.create("/zookeeper/quota/late/zookeeper_stats", b"")
    x.create("/zookeeper/quota/late/zookeeper_limits", b"count=1,bytes=1")
    x.create("/late", b"late")
    x.create("/late/x", b"x")
    out.append(x.stats("/zookeeper/quota/late/zookeeper_stats"))
    x.create("/X")
    x.create("/zookeeper/quotaX/zookeeper_limits", b"count=1")
    x.create("/zookeeper/quotaX/zookeeper_stats", b"")
    x.create("/zookeeper/quota/X")
    x.create("/zookeeper/quota/X/zookeeper_stats", b"")
    x.create("/X/y", b"yy")
    out.append((x.stats("/zookeeper/quotaX/zookeeper_stats"),
                x.stats("/zookeeper/quota/X/zookeeper_stats")))
    return out
got = both(lambda n: nested_scene(c[n]))
same(got, "nested roots, stats before limits, /zookeeper/quotaX")
is_(got["corrald"][0][1], (b"count=2,bytes=7", 0, True),
    "corrald: creating zookeeper_stats counts the subtree, whatever data it carried")

# Hard limits are not enforced without zookeeper.enforceQuota.
def unenforced(x):
    x.create("/h", b"h")
    x.create("/zookeeper/quota/h")
    x.create("/zookeeper/quota/h/zookeeper_limits", b"count=-1,bytes=-1=;byteHardLimit=2;countHardLimit=1")
    x.create("/zookeeper/quota/h/zookeeper_stats", b"")
    return [x.create("/h/1", b"123"), x.set("/h", b"12345"), x.stats("/zookeeper/quota/h/zookeeper_stats")]
same(both(lambda n: unenforced(c[n])), "without enforceQuota hard limits are only counted")

# ---- restarts (file storage): stats replayed from the log, recomputed from a snapshot ----

def snapshots(d):
    return sorted(glob.glob(os.path.join(d, "version-2", "snapshot.*")))


for x in c.values():
    x.set(STATS, b"count=100,bytes=100")    # wrong on purpose: only a snapshot load fixes it
    x.close()
before = {n: len(snapshots(os.path.join(s.dir, "data"))) for n, s in plain.items()}
zk_data = os.path.join(plain["zookeeper"].dir, "data")
plain["zookeeper"].stop()
plain["zookeeper"] = ZooKeeper({"dataDir": zk_data})     # the same data dir, a new port
plain["corrald"].stop()
plain["corrald"].start()
c = {name: Conn(s.port) for name, s in plain.items()}
same({n: x.stats(STATS) for n, x in c.items()}, "after a restart that replays the log")
is_(c["corrald"].stats(STATS), (b"count=100,bytes=100", 7, False),
    "corrald: a replayed client setData of the stats node stays")
# Both write a snapshot after replaying: wait for corrald's (written in the background).
cdata = os.path.join(plain["corrald"].dir, "data")
ok(wait_for(lambda: len(snapshots(cdata)) > before["corrald"] and
            not glob.glob(os.path.join(cdata, "version-2", "tmp.*")), 20),
   "corrald wrote a snapshot after replaying its log")
for x in c.values():
    x.close()
plain["zookeeper"].stop()
plain["zookeeper"] = ZooKeeper({"dataDir": zk_data})
plain["corrald"].stop()
plain["corrald"].start()
c = {name: Conn(s.port) for name, s in plain.items()}
got = {n: [x.stats(p) for p in (STATS, "/zookeeper/quota/q/a/zookeeper_stats",
                                "/zookeeper/quota/late/zookeeper_stats",
                                "/zookeeper/quota/h/zookeeper_stats",
                                "/zookeeper/quota/n/zookeeper_stats")]
       for n, x in c.items()}
same(got, "after a restart from a snapshot: stats of every root recomputed, the rest kept")
is_(got["corrald"][0], (b"count=7,bytes=17", 7, False),
    "corrald: the wrong stats were recomputed from the tree on snapshot load")
same({n: (x.create("/q/after", b"12"), x.stats(STATS)) for n, x in c.items()},
     "updates go on after the reload")
for x in c.values():
    x.close()

# Each server reads the other's data dir to the same stats.
plain["zookeeper"].stop()
plain["corrald"].stop()
cross = {"corrald": os.path.join(plain["zookeeper"].dir, "copy"),
         "zookeeper": os.path.join(plain["corrald"].dir, "copy")}
shutil.copytree(zk_data, cross["corrald"])
shutil.copytree(cdata, cross["zookeeper"])
swapped = {"corrald": Corrald(dict(FILE, dataDir=cross["corrald"])),
           "zookeeper": ZooKeeper({"dataDir": cross["zookeeper"]})}
c = {name: Conn(s.port) for name, s in swapped.items()}
same({n: [x.stats(STATS), x.stats("/zookeeper/quota/late/zookeeper_stats")] for n, x in c.items()},
     "each server loads the other's data dir to the same stats")
for x in c.values():
    x.close()
swapped["corrald"].check_clean_exit()
swapped["zookeeper"].stop()

# ---- enforcement: zookeeper.enforceQuota (ZooKeeper's zoo.cfg key enforceQuota) ----

enf = {"corrald": Corrald({"enforceQuota": "true"}),
       "zookeeper": ZooKeeper({"enforceQuota": "true"})}
scene(enf, "setquota -N/-B hard limits, listquota", [
    "create /e e",
    "create /s s",
    "setquota -N 3 /e",
    "setquota -B 10 /e",
    "setquota -n 1 /s",
    "setquota -b 1 /s",
    "listquota /e",
    "listquota /s",
])
c = {name: Conn(s.port) for name, s in enf.items()}


def enforce_scene(x):
    out = []
    out.append([x.create("/e/1", b"12"), x.create("/e/2", b""), x.create("/e/3", b""),
                x.create("/e/1/deeper", b"")])                   # count 3 = the hard limit
    out.append(x.stats("/zookeeper/quota/e/zookeeper_stats"))
    out.append([x.set("/e/1", b"1234567"), x.set("/e/1", b"12345678"),   # bytes 10 = limit
                x.set("/e/1", b"123456789", 99),                # quota before version
                x.set("/e/2", b"", 99),                          # no difference: BadVersion
                x.set("/e/1", b"1", 99)])                        # shrinking: BadVersion
    out.append(x.delete("/e/2"))
    out.append(x.multi([(1, "/e/m1", b""), (1, "/e/m2", b"")]))  # each checked against the tree
    out.append(x.stats("/zookeeper/quota/e/zookeeper_stats"))
    out.append(x.multi([(1, "/e/m3", b""), (5, "/e", b"e")]))
    out.append([x.create("/s/1", b"123456"), x.set("/s", b"sssss")])   # soft limits: logged only
    out.append(x.stats("/zookeeper/quota/s/zookeeper_stats"))
    # limits written by hand: bytes only, then unparsable limits
    x.set("/zookeeper/quota/e/zookeeper_limits", b"count=-1,bytes=-1=;byteHardLimit=100")
    out.append([x.create("/e/4", b""), x.create("/e/5", b"x" * 200)])
    x.set("/zookeeper/quota/e/zookeeper_limits", b"count=oops")
    out.append([x.create("/e/6", b"")])
    x.set("/zookeeper/quota/e/zookeeper_limits", b"count=-1,bytes=-1")
    out.append([x.create("/e/7", b"")])
    return out
got = both(lambda n: enforce_scene(c[n]))
same(got, "hard limits refuse creates and sets with QuotaExceeded, soft ones do not")
ok(QUOTA_EXCEEDED in got["corrald"][0] or QUOTA_EXCEEDED in got["corrald"][2],
   "corrald: a write past a hard limit is QuotaExceeded (-125)")
for x in c.values():
    x.close()
enf["corrald"].check_clean_exit()
enf["zookeeper"].stop()
done()
