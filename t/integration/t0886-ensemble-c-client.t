#!/usr/bin/python3
"""t0886 — the official ZooKeeper C client (libzookeeper_mt, t/integration/
c-client: CRUD with Stats and error codes, an ephemeral, a sequential node,
a multi, a data watch) with its server list spanning the three members of a
Corral ensemble, run three times: the client picks a member at random each
time, so runs land on followers and on the leader; then the members hold
the same tree."""
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensemblecheck import ServingEnsemble, same_trees

ens = ServingEnsemble([("corrald", 1), ("corrald", 2), ("corrald", 3)])
prog = os.path.join(BUILD, "t", "integration", "c-client")
for run in range(3):
    zk = kazoo(ens.hosts)
    for p in ("/c", "/c-null"):     # what the program creates (it deletes them itself when it passes)
        if zk.exists(p):
            zk.delete(p, recursive=True)
    zk.stop(); zk.close()
    out = subprocess.run([prog, ens.hosts], capture_output=True, text=True, timeout=90)
    lines = [l for l in out.stdout.splitlines() if l.startswith(("ok ", "not ok "))]
    bad = [l for l in lines if not l.startswith("ok ")]
    ok(out.returncode == 0 and len(lines) >= 27 and not bad,
       "run %d: the C client ran its %d checks against the ensemble" % (run + 1, len(lines)))
    if bad or out.returncode != 0:
        diag("\n".join(bad) + out.stderr[-2000:])
good, why = same_trees(ens.members)
ok(good, "the members hold the same tree")
if not good:
    diag(why)
ens.check_clean_exit()
done()
