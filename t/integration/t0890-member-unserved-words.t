#!/usr/bin/python3
"""t0890 — the four-letter words of an ensemble member that has no quorum,
corrald against Apache ZooKeeper 3.8: each is server 1 of a 3-server view,
started alone (servers 2 and 3 never run), so it looks for a leader for as
long as the test lasts and serves no client.

ZooKeeper then answers ruok (imok), envi and gtmk as ever, isro "null",
and every other word "This ZooKeeper instance is not currently serving
requests"; corrald must give the same bytes, word for word (envi: the same
keys in the same order, but the JVM's own; its values by nature differ).
The whitelist is applied first, on both.  Corral's own word `peer` answers
regardless (what `corral status` reads), and a client connection is refused.
"""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble

NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"
WORDS = ["ruok", "srvr", "stat", "mntr", "conf", "envi", "cons", "isro", "wchs", "wchc", "wchp",
         "dirs", "dump", "crst", "srst", "gtmk"]

co = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3)], start=False)
zk = Ensemble([("zk", 1), ("zk", 2), ("zk", 3)], start=False)
c, z = co[1], zk[1]
c.start()
z.start()
ok(wait_for(lambda: four_letter(z.client_port, "ruok", timeout=2) == "imok", 90, 0.3),
   "ZooKeeper member 1 answers ruok, alone")
ok(wait_for(lambda: "election: looking for a leader" in c.output() or
            "looking" in four_letter(c.client_port, "peer", timeout=2), 15),
   "corrald member 1 is up and looking, alone")

answers = {name: {w: four_letter(m.client_port, w) for w in WORDS}
           for name, m in (("corrald", c), ("zookeeper", z))}
ca, za = answers["corrald"], answers["zookeeper"]

# ---- ZooKeeper's behaviour, as recorded here (what corrald follows) ----
served_by_zk = [w for w in WORDS if za[w] != NOT_SERVING]
is_(served_by_zk, ["ruok", "envi", "isro", "gtmk"],
    "ZooKeeper without quorum answers only ruok, envi, isro and gtmk; the rest: not serving")
is_((za["ruok"], za["isro"], za["gtmk"]), ("imok", "null", "306"),
    "ZooKeeper: ruok imok, isro null, gtmk 306")

# ---- corrald: the same bytes ----
for w in WORDS:
    if w == "envi":
        continue
    is_(ca[w], za[w], "%s: ZooKeeper's answer, byte for byte" % w)

cenv = [l.split("=", 1)[0] for l in ca["envi"].splitlines()]
zenv = [l.split("=", 1)[0] for l in za["envi"].splitlines()
        if not l.startswith(("java.", "os.memory."))]
is_(cenv, zenv, "envi: ZooKeeper's header and keys in its order (but the JVM's own)")
cvals = dict(l.split("=", 1) for l in ca["envi"].splitlines()[1:])
zvals = dict(l.split("=", 1) for l in za["envi"].splitlines()[1:])
is_([cvals.get(k) for k in ("os.name", "os.arch", "user.name", "user.dir")],
    [zvals.get(k) for k in ("os.name", "os.arch", "user.name", "user.dir")],
    "envi: os.name, os.arch, user.name, user.dir as ZooKeeper's")

# ---- Corral's own word, a client ----
peer = four_letter(c.client_port, "peer")
ok(peer.startswith("State: looking\n") and "\nServing: no\n" in peer and "\nServer id: 1\n" in peer
   and "\nQuorum size: 3\n" in peer,
   "peer: looking, not serving, server id 1, quorum size 3")
from kazoo.client import KazooClient
from kazoo.handlers.threading import KazooTimeoutError
kc = KazooClient(hosts="127.0.0.1:%d" % c.client_port, timeout=3)
raises(KazooTimeoutError, lambda: kc.start(timeout=4), "a client gets no session from it")
kc.close()

# ---- the whitelist comes first, on both ----
ww = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3), ("zk", 4), ("zk", 5), ("zk", 6)],
              extra={"4lw.commands.whitelist": "ruok,stat"}, start=False)
ww[1].start()
ww[4].start()
ok(wait_for(lambda: four_letter(ww[4].client_port, "ruok", timeout=2) == "imok", 90, 0.3),
   "ZooKeeper with a short whitelist is up")
for w in ("mntr", "stat", "srvr", "isro"):
    is_(four_letter(ww[1].client_port, w), four_letter(ww[4].client_port, w),
        "whitelist ruok,stat: %s as ZooKeeper answers it" % w)

ok(c.alive() and not c.sanitizer_report(), "corrald ran clean")
done()
