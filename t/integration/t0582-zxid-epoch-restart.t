#!/usr/bin/python3
"""t0582 — a standalone server's zxids go on in the epoch of its data, as
standalone ZooKeeper 3.8's do.  The data dir holds a txn log written in
epoch 3 (zxids 0x300000001..3, as an ensemble would leave it) and
currentEpoch / acceptedEpoch files saying 5 (ahead of the data, which is
valid).  corrald recovers it and takes the start probe's session (open and
close: 0x300000004, 0x300000005), then a session and a create; ZooKeeper,
started on the same log and the snapshot corrald wrote at recovery, takes
the same: both give the create 0x300000007 (standalone ZooKeeper never
reads currentEpoch; the allocator is epoch << 32 | counter with the epoch
of the recovered data), and corrald keeps the epoch files as they are."""
import glob, os, shutil, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
import filestore   # the txn log writers (its own temporary folder is removed below)
shutil.rmtree(filestore.TMP, ignore_errors=True)
from filestore import txn_create_session, txn_create, write_txn_log

EPOCH = 3


def zxid(counter):
    return EPOCH << 32 | counter


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def next_zxids(hosts):
    zk = kazoo(hosts)
    got = (zk.get("/e3")[0], zk.create("/next") and zk.exists("/next").czxid)
    zk.stop()
    zk.close()
    return got


now = int(time.time() * 1000)
log = [txn_create_session(zxid(1), 0x100000000000077, 30000, now),
       txn_create(zxid(2), "/e3", b"three", 1, now),
       txn_create(zxid(3), "/e3b", b"", 2, now)]
srv = Corrald({"module.storage": "file"}, start=False)
v2 = os.path.join(srv.dir, "data", "version-2")
os.makedirs(v2)
write_txn_log(os.path.join(v2, "log.%x" % zxid(1)), log)
write(os.path.join(v2, "currentEpoch"), "5")
write(os.path.join(v2, "acceptedEpoch"), "5")
srv.start()

# ZooKeeper's copy: the same log, the snapshot corrald wrote at recovery, the epoch files
zkdata = tempfile.mkdtemp(prefix="t0582-")
os.makedirs(os.path.join(zkdata, "version-2"))
snaps = glob.glob(os.path.join(v2, "snapshot.*"))
for f in snaps + [os.path.join(v2, n) for n in ("log.%x" % zxid(1), "currentEpoch", "acceptedEpoch")]:
    shutil.copy(f, os.path.join(zkdata, "version-2"))
is_([os.path.basename(f) for f in snaps], ["snapshot.%x" % zxid(3)],
    "corrald recovers the epoch-3 log and writes its snapshot at zxid 0x%x" % zxid(3))

got = next_zxids(srv.hosts)
is_(got, (b"three", zxid(7)), "corrald: zxids go on in epoch %d, the create after two sessions "
    "takes 0x%x" % (EPOCH, zxid(7)))
srv.check_clean_exit()
is_([open(os.path.join(v2, n)).read() for n in ("currentEpoch", "acceptedEpoch")], ["5", "5"],
    "corrald keeps the epoch files ahead of the data as they are")

zks = ZooKeeper(data_from=zkdata)
shutil.rmtree(zkdata, ignore_errors=True)
is_(next_zxids(zks.hosts), got, "ZooKeeper standalone on the same data hands out the same zxids")
zks.check_clean_exit()
done()
