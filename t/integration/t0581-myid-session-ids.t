#!/usr/bin/python3
"""t0581 — dataDir/myid is the core's, and session ids are standalone
ZooKeeper's: the core reads and logs myid whatever the storage (here mem),
and a myid that is not a number stops the server naming the file.  Apache
ZooKeeper 3.8 standalone does not use myid: its session ids carry 1 in the
top byte (its session tracker's fixed id) and `conf` says serverId=0, with
myid=5 as without one.  So do corrald's, side by side with a ZooKeeper
given the same myid (an ensemble member would put its myid there: that is
the quorum code's to do)."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *


def with_myid(text, extra=None):
    srv = Corrald(extra, start=False)
    os.makedirs(os.path.join(srv.dir, "data"))
    with open(os.path.join(srv.dir, "data", "myid"), "w") as f:
        f.write(text)
    return srv


def top_byte_and_conf(srv):
    zk = kazoo(srv.hosts)
    sid = zk.client_id[0]
    zk.stop()
    zk.close()
    conf = [l for l in four_letter(srv.port, "conf").splitlines() if l.startswith("serverId=")]
    return sid >> 56, conf


zks = ZooKeeper(myid=5)
want = top_byte_and_conf(zks)
zks.check_clean_exit()
is_(want, (1, ["serverId=0"]), "ZooKeeper standalone with myid=5: session ids' top byte 1, serverId=0")

srv = with_myid("5\n")
srv.start()
ok("myid: server id 5" in srv.output(), "the core reads dataDir/myid (with mem storage too)")
is_(top_byte_and_conf(srv), want, "corrald with myid=5: the same top byte and serverId as ZooKeeper")
srv.check_clean_exit()

plain = Corrald()
is_(top_byte_and_conf(plain)[0], 1, "corrald without a myid: the same top byte, 1")
plain.check_clean_exit()

bad = with_myid("five\n")
try:
    bad.start(timeout=10)
    ok(False, "a myid that is not a number stops the server")
    bad.stop()
except RuntimeError:
    ok(bad.proc.returncode == 1 and "myid: 'five' is not a number" in bad.output(),
       "a myid that is not a number stops the server (exit 1), naming the file")
done()
