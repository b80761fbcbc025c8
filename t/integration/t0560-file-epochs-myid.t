#!/usr/bin/python3
"""t0560 — the files a ZooKeeper server keeps beside its data: a fresh file
storage writes version-2/currentEpoch and acceptedEpoch (the last zxid's
epoch, a bare decimal number as ZooKeeper writes them) and keeps them over
restarts; dataDir/myid is read when present; a myid or epoch file that is not
a number, a currentEpoch older than the data, or an acceptedEpoch below
currentEpoch stops the server with a message naming the file."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

FILE = {"module.storage": "file"}


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def refused(srv, needle, desc):
    try:
        srv.start(timeout=10)
        ok(False, desc)
        diag("corrald started")
        srv.stop()
    except RuntimeError:
        out = srv.output()
        if not ok(srv.proc.returncode not in (None, 0) and needle in out, desc):
            diag(out[-1500:])


srv = Corrald(FILE)
v2 = os.path.join(srv.dir, "data", "version-2")
zk = kazoo(srv.hosts)
zk.create("/n", b"x")
zk.stop()
is_((read(os.path.join(v2, "currentEpoch")), read(os.path.join(v2, "acceptedEpoch"))), ("0", "0"),
    "a fresh data dir gets currentEpoch and acceptedEpoch: the zxid epoch, a bare number")
srv.stop()

write(os.path.join(srv.dir, "data", "myid"), "3\n")
srv.start()
ok("myid: server id 3" in srv.output(), "dataDir/myid is read and logged")
zk = kazoo(srv.hosts)
is_(zk.get("/n")[0], b"x", "a restart with the epoch files keeps the data")
zk.stop()
srv.stop()

write(os.path.join(srv.dir, "data", "myid"), "three\n")
refused(srv, "myid: 'three' is not a number", "a myid that is not a number stops the server, naming the file")
write(os.path.join(srv.dir, "data", "myid"), "3")

write(os.path.join(v2, "currentEpoch"), "zero")
refused(srv, "currentEpoch: 'zero' is not a number", "a currentEpoch that is not a number stops the server")
write(os.path.join(v2, "currentEpoch"), "-1")
refused(srv, "currentEpoch: epoch -1 is older than the last zxid",
        "a currentEpoch older than the data's epoch stops the server")
write(os.path.join(v2, "currentEpoch"), "2")
write(os.path.join(v2, "acceptedEpoch"), "1")
refused(srv, "acceptedEpoch: epoch 1 is less than currentEpoch 2",
        "an acceptedEpoch below currentEpoch stops the server")
write(os.path.join(v2, "acceptedEpoch"), "2")
srv.start()
is_((read(os.path.join(v2, "currentEpoch")), read(os.path.join(v2, "acceptedEpoch"))), ("2", "2"),
    "valid epoch files ahead of the data are kept as they are")
srv.check_clean_exit()
done()
