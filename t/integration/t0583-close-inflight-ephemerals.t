#!/usr/bin/python3
"""t0583 — a closeSession names the ephemerals it deletes, creates still in
flight included, and the list is ZooKeeper's CloseSessionTxn both ways.

Prep, not the storage module, decides a closeSession's list (ZooKeeper's
PrepRequestProcessor does the same): the session's applied ephemerals, plus
its creates still in flight, minus the deletes in flight.  Here sessions on
raw connections to corrald (file storage) each hold an applied ephemeral,
then send in one write: create another ephemeral, delete the first,
closeSession.  The logged close must list exactly the new node, which is gone
after the close and after a restart from the log.  Apache ZooKeeper 3.8 then
loads a copy of that data dir with no complaint about the lists (it warns of
"extra paths" a list missed and of listed paths that were no node).  The
other way, closeSession txns ZooKeeper wrote (its lists, one of them naming
an ephemeral created in flight) replay in corrald: their ephemerals gone,
the rest there."""
import glob
import os
import shutil
import signal
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import (OPEN_ACL, Corrald, Raw, ZooKeeper, corrald_only, diag, done, is_,  # noqa: E402
                        jframe, jint, jstr, kazoo, ok, wait_for)

OP_CREATE, OP_DELETE, OP_CLOSE = 1, 2, -11
EPHEMERAL = 1
SESSIONS = 5


def create_body(path):
    return jstr(path) + jint(0) + OPEN_ACL + jint(EPHEMERAL)


def log_closes(data_dir):
    """{session id: its closeSession's path list (None: bodiless)} from a data dir's txn logs."""
    closes = {}
    logs = glob.glob(os.path.join(data_dir, "version-2", "log.*"))
    for log in sorted(logs, key=lambda p: int(p.rsplit(".", 1)[1], 16)):
        b = open(log, "rb").read()
        off = 16
        while off + 12 <= len(b):
            n = struct.unpack_from(">i", b, off + 8)[0]
            if n <= 0 or off + 13 + n > len(b):
                break
            txn = b[off + 12:off + 12 + n]
            off += 13 + n
            sid, _cxid, _zxid, _time, typ = struct.unpack_from(">qiqqi", txn)
            if typ != OP_CLOSE:
                continue
            at, paths = 32, None
            if len(txn) >= at + 4:
                count = struct.unpack_from(">i", txn, at)[0]
                at += 4
                paths = []
                for _ in range(count):
                    ln = struct.unpack_from(">i", txn, at)[0]
                    paths.append(txn[at + 4:at + 4 + ln].decode())
                    at += 4 + ln
            closes[sid] = paths
    return closes


def pipelined_close(port, i):
    """A session holding an applied ephemeral closes right behind a create and a delete."""
    raw = Raw(port)
    sid = raw.connect()["session_id"]
    old, new = "/e/s%d-old" % i, "/e/s%d-new" % i
    first = raw.request(1, OP_CREATE, create_body(old))
    raw.s.sendall(jframe(2, OP_CREATE, create_body(new)) +
                  jframe(3, OP_DELETE, jstr(old) + jint(-1)) + jframe(4, OP_CLOSE))
    replies = [raw.reply() for _ in range(3)]
    raw.close()
    good = first and first[2] == 0 and all(r and r[2] == 0 for r in replies)
    return sid, new, good


if corrald_only("file storage"):
    srv = Corrald({"module.storage": "file", "snapCount": "1000000"})
    zk = kazoo(srv.hosts)
    zk.create("/e", b"")
    expect = {}
    all_good = True
    for i in range(SESSIONS):
        sid, new, good = pipelined_close(srv.port, i)
        expect[sid] = [new]
        all_good = all_good and good
    ok(all_good, "each session: create, then create + delete + closeSession in one write, all OK")
    ok(wait_for(lambda: zk.get_children("/e") == [], 10),
       "after the closes no ephemeral is left, the one created in flight included")
    zk.create("/after", b"a")
    zk.stop()
    zk.close()
    srv.stop(signal.SIGKILL)

    data = os.path.join(srv.dir, "data")
    copy = os.path.join(srv.dir, "zk-data")     # before corrald's restart snapshots it all
    shutil.copytree(data, copy)
    closes = log_closes(data)
    got = {sid: closes.get(sid) for sid in expect}
    is_(got, expect, "each logged closeSession lists exactly the ephemeral created in flight "
        "(the one deleted in flight left out)")

    srv.start()
    zk = kazoo(srv.hosts)
    ok(zk.get_children("/e") == [] and zk.exists("/after") is not None,
       "corrald restarts from its log: the ephemerals gone, later txns there")
    zk.stop()
    zk.close()
    srv.check_clean_exit()

    # --- ZooKeeper reads corrald's closes (replaying them: no snapshot has them) ---
    try:
        zoo = ZooKeeper({"dataDir": copy})
        z = kazoo(zoo.hosts)
        ok(z.get_children("/e") == [] and z.exists("/after") is not None,
           "Apache ZooKeeper loads corrald's data dir: the ephemerals gone, later txns there")
        z.stop()
        z.close()
        zoo.stop()
        text = zoo.output()
        complaints = [l for l in text.splitlines()
                      if "Unexpected extra paths" in l or "Ignoring NoNodeException" in l]
        ok(not complaints, "and finds each list complete: no extra paths, no listed path missing")
        for line in complaints[:4]:
            diag(line)
    except RuntimeError as e:
        ok(False, "Apache ZooKeeper loads corrald's data dir")
        diag(str(e)[-1500:])

    # --- corrald reads ZooKeeper's closes ---
    try:
        zoo = ZooKeeper()
        z = kazoo(zoo.hosts)
        z.create("/z", b"")
        z.create("/z/keep", b"kept")
        z.create("/e", b"")
        owner = kazoo(zoo.hosts)
        for name in ("a", "b", "c"):
            owner.create("/z/" + name, b"", ephemeral=True)
        owner_sid = owner.client_id[0]
        owner.stop()
        owner.close()
        zk_sid, zk_new, good = pipelined_close(zoo.port, 9)
        z.stop()
        z.close()
        zoo.stop()
        zdata = os.path.join(zoo.dir, "data")
        zcloses = log_closes(zdata)
        ok(sorted(zcloses.get(owner_sid) or []) == ["/z/a", "/z/b", "/z/c"],
           "ZooKeeper's log: a closeSession listing the session's ephemerals")
        ok(good and zcloses.get(zk_sid) == [zk_new],
           "and, as corrald's, one listing the ephemeral created in flight, not the one deleted")
    except RuntimeError as e:
        ok(False, "Apache ZooKeeper takes the writes")
        diag(str(e)[-1500:])
        zdata = None
    if zdata:
        srv2 = Corrald({"module.storage": "file", "dataDir": zdata})
        zk = kazoo(srv2.hosts)
        ok(zk.get_children("/z") == ["keep"] and zk.get("/z/keep")[0] == b"kept" and
           zk.get_children("/e") == [],
           "corrald replays ZooKeeper's closes: their ephemerals gone, the rest there")
        zk.stop()
        zk.close()
        srv2.check_clean_exit()

done()
