#!/usr/bin/python3
"""t0883 — differential test across ensembles: the t0100 generator's seeded
sequences against a 3-member Apache ZooKeeper 3.8 ensemble and a 3-member
Corral ensemble, the two clients of each run on two different members (a
follower and the leader, then both followers); a client that acts after the
other syncs first, on both ensembles alike.  Every answer must match, Stat
zxids included (both ensembles start at epoch 1 and spend zxids on the same
txns), and the watch events each client saw.

CORRAL_DIFF_SEEDS (default 4) and CORRAL_DIFF_OPS (default 200) size it."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from diffgen import Run
from ensemblecheck import ServingEnsemble, leader_of

SEEDS = list(range(1, 1 + int(os.environ.get("CORRAL_DIFF_SEEDS", "4"))))
OPS = int(os.environ.get("CORRAL_DIFF_OPS", "200"))
AUTH = {"module.auth": "world,ip,digest"}


def placements(ens):
    lead = leader_of(ens.members)
    followers = [m for m in ens.members if m is not lead]
    h = lambda m: "127.0.0.1:%d" % m.client_port
    return [(h(followers[0]), h(lead)), (h(followers[0]), h(followers[1]))]


zk = ServingEnsemble([("zk", 1), ("zk", 2), ("zk", 3)], seconds=120)
corral = ServingEnsemble([("corrald", 1), ("corrald", 2), ("corrald", 3)], extra=AUTH)
zk_places, corral_places = placements(zk), placements(corral)
total = 0
for seed in SEEDS:
    where = seed % len(zk_places)
    want_log, want_events = Run(list(zk_places[where]), seed, "/diff%d" % seed, OPS).run()
    got_log, got_events = Run(list(corral_places[where]), seed, "/diff%d" % seed, OPS).run()
    total += len(want_log)
    first = next((i for i, (w, g) in enumerate(zip(want_log, got_log)) if w != g), None)
    same = first is None and len(want_log) == len(got_log)
    ok(same, "seed %d (%s): %d operations answer identically" %
       (seed, "follower + leader" if where == 0 else "two followers", len(want_log)))
    if not same:
        diag("first difference at step %s" % first)
        if first is not None:
            diag("ZooKeeper: %r" % (want_log[first],))
            diag("corrald:   %r" % (got_log[first],))
    is_(got_events, want_events, "seed %d: the same watch events per client" % seed)
diag("%d operations compared" % total)
corral.check_clean_exit()
zk.check_clean_exit("the ZooKeeper members stop")
done()
