#!/usr/bin/python3
"""t0750 — output buffering on the protobuf port: a client that pipelines
requests for ~40 MB of answers without reading gets every answer, complete and
in order, once it reads (partial writes, the server pausing its reading of a
connection with a backlog and resuming it); a client that sends such a burst
and vanishes without reading costs the server nothing lasting; other
sessions are served meanwhile; and many connections at once each get their
own answers."""
import os, socket, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from protobuf_client import PbClient, PbCorrald, pb

srv = PbCorrald()
w = PbClient(srv.pb_port)
w.connect(timeout_ms=30000)
blob = bytes(range(256)) * 2048          # 512 KiB
is_(w.create("/big", blob).err, 0, "a 512 KiB node")

slow = PbClient(srv.pb_port, timeout=30)
slow.connect(timeout_ms=30000)
ids = [slow.send(get_data=pb.PathWatchRequest(path="/big")) for _ in range(80)]
time.sleep(1.0)                         # the server fills the socket and its buffer
is_(w.get("/big").err, 0, "another session is served while one connection is backlogged")
answers = [slow.recv_message(30) for _ in ids]
is_([a.id for a in answers], ids, "all 80 answers arrive, in order")
ok(all(a.err == 0 and a.data.data == blob for a in answers), "each carries the whole 512 KiB")
is_(slow.get("/big").err, 0, "the connection serves on afterwards")

gone = PbClient(srv.pb_port)
gone.connect()
for _ in range(80):
    gone.send(get_data=pb.PathWatchRequest(path="/big"))
gone.close()
time.sleep(0.5)
is_(w.get("/big").data.data == blob, True, "a client that vanishes with a backlog hurts no one")

results = {}


def worker(n):
    try:
        c = PbClient(srv.pb_port)
        c.connect()
        c.create("/par%d" % n, b"%d" % n)
        ids = [c.send(get_data=pb.PathWatchRequest(path="/par%d" % n)) for _ in range(50)]
        results[n] = all(c.answer(i).data.data == b"%d" % n for i in ids)
        c.close_session()
    except Exception as e:  # noqa: BLE001 - the test reports it
        results[n] = repr(e)


threads = [threading.Thread(target=worker, args=(n,)) for n in range(30)]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
is_(sorted(k for k, v in results.items() if v is True), list(range(30)),
    "30 concurrent connections each get their own 50 answers")

srv.check_clean_exit()
done()
