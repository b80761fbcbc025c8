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
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from diffgen import Run

SEEDS = [int(os.environ["CORRAL_DIFF_SEED"])] if "CORRAL_DIFF_SEED" in os.environ else \
    list(range(1, 1 + int(os.environ.get("CORRAL_DIFF_SEEDS", "8"))))
OPS = int(os.environ.get("CORRAL_DIFF_OPS", "250"))


def transcript(hosts, seed):
    return Run(hosts, seed, "/diff%d" % seed, OPS).run()


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
