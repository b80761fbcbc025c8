#!/usr/bin/python3
# t0592 — a txn log truncated by the file storage's truncate() (an ensemble
# learner's TRUNC) is exactly the state at the zxid it was cut to, for
# corrald and for Apache ZooKeeper 3.8 alike.
#
# corrald (file storage, small snapCount and preAllocSize so there are
# several log files and snapshots) takes writes and stops; the unit test
# program's `truncate` mode (the real storage_file.so under a fake core) cuts
# the log to the zxid of a node created after the newest snapshot; then
# corrald, and ZooKeeper on a copy of the directory, must show exactly the
# nodes created up to that zxid and none after it.
import glob, os, shutil, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from corraltest import *  # noqa: F401,F403

TOOL = os.path.join(BUILD, "t", "unit", "storage-sync.t")
if not os.path.exists("/usr/share/java/zookeeper.jar") or not shutil.which("java"):
    print("1..0 # SKIP Apache ZooKeeper (Debian package zookeeper) is not installed")
    sys.exit(0)

srv = Corrald({"module.storage": "file", "snapCount": "40", "preAllocSize": "4"})
data = os.path.join(srv.dir, "data")
zk = kazoo(srv.hosts)
zk.create("/t", b"top")
czxid = {}
for i in range(100):
    czxid[i] = zk.create("/t/n%03d" % i, b"v%d" % i) and zk.exists("/t/n%03d" % i).czxid
zk.stop(); zk.close()
srv.check_clean_exit()

snaps = sorted(int(p.rsplit(".", 1)[1], 16) for p in glob.glob(data + "/version-2/snapshot.*"))
logs = glob.glob(data + "/version-2/log.*")
ok(len(logs) >= 2 and len(snaps) >= 2, "corrald left several logs (%d) and snapshots (%d)"
   % (len(logs), len(snaps)))
# two creates after the newest snapshot, or the snapshot itself when it is newer
later = [i for i in range(100) if czxid[i] > snaps[-1]]
target = czxid[min(later[0] + 2, 99)] if later else snaps[-1]
keep = len([i for i in range(100) if czxid[i] <= target])
zk_copy = os.path.join(srv.dir, "zkdata")
res = subprocess.run([TOOL, "truncate", data, "0x%x" % target], capture_output=True, text=True,
                     timeout=60)
ok(res.returncode == 0, "truncate to 0x%x (the newest snapshot is 0x%x)" % (target, snaps[-1]))
if res.returncode:
    diag(res.stdout + res.stderr)
shutil.copytree(data, zk_copy)

def check(hosts, who):
    c = kazoo(hosts)
    kids = sorted(c.get_children("/t"))
    want = ["n%03d" % i for i in range(keep)]
    ok(kids == want, "%s shows exactly the %d nodes up to 0x%x (%d shown)"
       % (who, keep, target, len(kids)))
    st = c.exists("/t")
    is_(st.pzxid if st else None, czxid[keep - 1],
        "%s: /t's pzxid is that of its last child kept" % who)
    c.stop(); c.close()

srv.start()
check(srv.hosts, "corrald")
srv.check_clean_exit()

zks = ZooKeeper({"dataDir": zk_copy})
check(zks.hosts, "ZooKeeper 3.8")
zks.stop()
shutil.rmtree(srv.dir, ignore_errors=True)
shutil.rmtree(zks.dir, ignore_errors=True)
done()
