#!/usr/bin/python3
"""t0810 — Apache Curator's InterProcessMutex, differential (Curator's own
TestInterProcessMutex: reentrant acquire in one thread, nested reentrancy,
ten threads on one lock): t/lib/CuratorMutex.java, compiled here with javac
against Debian's Curator 5.4 jars, runs once against Apache ZooKeeper 3.8 and
once against corrald (Curator's test-server setting checkIntervalMs=1, so
the emptied lock containers go at once); every scenario passes on both and
the transcripts (lock node names, Stats, what is left) are the same."""
import glob, os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib")
JARS = ["curator-framework", "curator-client", "curator-recipes", "zookeeper", "zookeeper-jute",
        "guava", "slf4j-api", "slf4j-nop"]
cp = []
for j in JARS:
    path = os.path.join(ZK_JARS, j + ".jar")
    if not os.path.exists(path):
        ok(False, "Debian jar %s is installed (tools/install-deps.sh: libcurator-recipes-java)" % path)
        done()
    cp.append(path)
classes = tempfile.mkdtemp(prefix="curator-t-")
try:
    javac = subprocess.run(["javac", "-d", classes, "-cp", ":".join(cp),
                            os.path.join(LIB, "CuratorMutex.java")], capture_output=True, text=True, timeout=120)
    if not ok(javac.returncode == 0, "CuratorMutex.java compiles against Debian's Curator jars"):
        diag(javac.stdout + javac.stderr)
        done()
    run_cp = ":".join(cp + [classes])

    def run(server):
        p = subprocess.run(["java", "-Xmx256m", "-cp", run_cp, "CuratorMutex", server.hosts],
                           capture_output=True, text=True, timeout=180)
        lines = [l for l in p.stdout.splitlines() if l.startswith(("STEP ", "PASS ", "FAIL "))]
        return p.returncode, lines, p.stdout + p.stderr

    EXTRA = {"znode.container.checkIntervalMs": "1"}
    zk_server = ZooKeeper(EXTRA)
    zk_rc, want, zk_out = run(zk_server)
    zk_server.stop()
    if not ok(zk_rc == 0, "every scenario passes on Apache ZooKeeper"):
        diag(zk_out[-3000:])
    corral = Corrald(dict(EXTRA, **{"module.storage": "file"}))
    rc, got, out = run(corral)
    if not ok(rc == 0, "every scenario passes on corrald"):
        diag(out[-3000:])
        diag(corral.output()[-3000:])
    is_(len(got), len(want), "the transcripts have the same length (%d lines)" % len(want))
    for w, g in zip(want, got):
        is_(g, w, w.split(":")[0])
    ok(any(l.startswith("STEP lock nodes after two acquires: [_c_UUID-lock-") for l in want),
       "the transcript shows Curator's protected lock nodes")
    corral.check_clean_exit()
finally:
    shutil.rmtree(classes, ignore_errors=True)
done()
