#!/usr/bin/python3
"""t0740 — the protobuf transport on its own (module.transport=protobuf, no
ZooKeeper port): the server starts, serves sessions, writes, watches and
ephemerals, and stops cleanly; without protobufClientPort it refuses to start
with a log line naming the key; the module's keys are declared (accepted only
when it is loaded), and a misspelt one is an error naming it."""
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from protobuf_client import PbClient, PbCorrald, pb

srv = PbCorrald(only_protobuf=True)
ok("listening for ZooKeeper clients" not in srv.output(), "no ZooKeeper listener is started")
a = PbClient(srv.pb_port)
is_(a.connect().err, 0, "a protobuf session opens")
b = PbClient(srv.pb_port)
b.connect()
is_(a.create("/solo", b"1").err, 0, "create")
b.get("/solo", watch=True)
a.set("/solo", b"2")
b.wait_events(1)
is_([(e.type, e.path) for e in b.events], [(pb.NODE_DATA_CHANGED, "/solo")], "watches fire")
a.create("/solo-eph", b"", mode=pb.EPHEMERAL)
a.close_session()
is_(b.exists("/solo-eph").err, pb.NONODE, "ephemerals go with their session")
srv.check_clean_exit("a protobuf-only server stops cleanly, sanitizers silent")


def start_fails(keys, desc, want):
    s = Corrald(keys, start=False)
    try:
        p = subprocess.run([CORRALD, "-c", s.cfg], capture_output=True, text=True, timeout=30)
        out = p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        ok(False, desc)
        return
    if not ok(p.returncode != 0 and want in out, desc):
        diag("exit %r\n%s" % (p.returncode, out[-2000:]))


start_fails({"module.transport": "protobuf", "clientPort": None, "clientPortAddress": None,
             "maxClientCnxns": None},
            "without protobufClientPort the server refuses to start, naming the key",
            "protobufClientPort")
start_fails({"module.transport": "zk", "protobufClientPort": str(free_port())},
            "protobufClientPort without the protobuf module is an unknown key",
            "unknown key 'protobufClientPort'")
start_fails({"module.transport": "zk,protobuf", "protobufClientPort": str(free_port()),
             "protobuf.maxMesageSize": "10"},
            "a misspelt protobuf key is an error naming it", "protobuf.maxMesageSize")
start_fails({"module.transport": "zk,protobuf", "protobufClientPort": "99999"},
            "an out-of-range protobufClientPort is refused", "protobufClientPort")
done()
