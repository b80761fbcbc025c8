#!/usr/bin/python3
"""t0885 — read-only mode (readonlymode.enabled=true): a member cut off
from its quorum serves read-only clients, as Apache ZooKeeper 3.8's does.

One member of a 3-member view is started alone, next to a ZooKeeper member
alone in its own 3-member view (-Dreadonlymode.enabled=true; with
localSessionsEnabled=true, without which ZooKeeper 3.8's read-only server
cannot open a session at all: it answers the createSession NotReadOnly,
which kazoo reads as an invalid ConnectResponse — Corral's read-only
sessions are always local, so it needs no such setting).  On both:
a read-only kazoo client connects (CONNECTED_RO); reads answer; create,
set, delete and sync answer NotReadOnly; a client that does not accept
read-only gets no session.  Then corrald's quorum forms (a second member
starts): read-only mode ends and the read-only client's connection is
closed; without readonlymode.enabled a member alone serves nobody."""
import os, re, sys, threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
import corraltest as ct
from ensembletest import Ensemble
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException


def probe(port):
    """What a read-only client sees on a member alone, as comparable tuples."""
    zk = KazooClient(hosts="127.0.0.1:%d" % port, read_only=True, timeout=5, connection_retry=None)
    zk.start(timeout=20)
    seen = [("state", zk.client_state)]
    seen.append(("children", sorted(zk.get_children("/"))))
    seen.append(("exists /zookeeper", zk.exists("/zookeeper") is not None))
    for name, fn in (("create", lambda: zk.create("/x")), ("set", lambda: zk.set("/zookeeper", b"")),
                     ("delete", lambda: zk.delete("/nope")), ("sync", lambda: zk.sync("/"))):
        try:
            fn()
            seen.append((name, "ok"))
        except KazooException as e:
            seen.append((name, type(e).__name__))
    return zk, seen


def rw_client_refused(port):
    zk = KazooClient(hosts="127.0.0.1:%d" % port, timeout=3, connection_retry=None)
    try:
        zk.start(timeout=4)
    except Exception:
        return True
    zk.stop()
    zk.close()
    return False


zke = Ensemble([("zk", 1), ("zk", 2), ("zk", 3)], extra={"localSessionsEnabled": "true"}, start=False)
zke[1].jvm_flags = ["-Dreadonlymode.enabled=true"]
zke[1].start()
ce = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3)],
              extra={"readonlymode.enabled": "true"}, start=False)
ce[1].start()
ok(wait_for(lambda: "serving read-only clients" in ce[1].output(), 20),
   "corrald alone (no quorum) starts serving read-only clients")
ok(wait_for(lambda: "Read-only server started" in zke[1].output(), 60), "and so does ZooKeeper")

want_zk, want = probe(zke[1].client_port)
got_zk, got = probe(ce[1].client_port)
is_(got, want, "a read-only client sees the same on both (state, reads, NotReadOnly for writes and sync)")
is_(got[0], ("state", "CONNECTED_RO"), "connected read-only")
ok(rw_client_refused(ce[1].client_port), "a client that does not accept read-only gets no session")
ok(rw_client_refused(zke[1].client_port), "(ZooKeeper: the same)")
ok("not a read-only client" in ce[1].output(), "corrald logs why it refused it")
mode = lambda port: (re.search(r"^Mode: (.*)$", ct.four_letter(port, "srvr"), re.M) or [None, None])[1]
is_((mode(ce[1].client_port), ct.four_letter(ce[1].client_port, "isro")),
    (mode(zke[1].client_port), ct.four_letter(zke[1].client_port, "isro")),
    "srvr's Mode and isro as ZooKeeper's read-only member says them")
want_zk.stop()
want_zk.close()

lost = threading.Event()
got_zk.add_listener(lambda state: lost.set() if state != "CONNECTED" else None)
ce[2].start()
ok(wait_for(lambda: ce[2].last_decision() is not None, 30), "a second member starts: a quorum elects")
ok(lost.wait(20), "read-only mode ends: the read-only client's connection is closed")
ok("read-only mode ends" in ce[1].output(), "and corrald says so")
got_zk.stop()
got_zk.close()
for m in ce.members + zke.members:
    if m.alive():
        status = m.stop()
        if m.kind == "corrald":
            ok(status == 0 and m.sanitizer_report() is None, "corrald %d stops cleanly" % m.sid)

# without readonlymode.enabled a member alone serves no one, read-only or not
plain = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3)], start=False)
plain[1].start()
ok(wait_for(lambda: plain[1].last_decision() is None and "looking" in plain[1].output(), 10), "a lone member looks")
ok(not wait_for(lambda: "serving read-only" in plain[1].output(), 4), "it does not go read-only")
ok(rw_client_refused(plain[1].client_port), "and opens no session")
ok(plain[1].stop() == 0, "it stops cleanly")
done()
