#!/usr/bin/python3
"""t0253 — t0252 over the protobuf transport: a set_data then 300 get_data of
a 1 MB node sent in one go, nothing read.  The server answers only what its
8 MiB output backlog allows and holds the rest, so its peak RSS (VmHWM)
stays far below the 300 MB asked for; another client (ZooKeeper protocol)
is served meanwhile and fires the protobuf client's watch.  Reading, the
client then gets every answer, complete and in order, and the watch event
between the answers from before and after the change."""
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from protobuf_client import ConnectionClosed, PbClient, PbCorrald, pb

small_asan_quarantine()    # VmHWM then shows what corrald itself holds
BIG = 1000000
N = 300


def run(label, extra):
    srv = PbCorrald(extra)
    zk = kazoo(srv.hosts)
    blob = bytes(range(256)) * (BIG // 256) + b"z" * (BIG % 256)
    zk.create("/big", blob)
    zk.create("/w", b"0")
    zk.create("/ev", b"0")

    c = PbClient(srv.pb_port, timeout=60)
    c.connect(timeout_ms=60000)
    is_(c.get("/ev", watch=True).err, 0, "%s: (the protobuf client watches /ev)" % label)

    before = vmhwm_kb(srv.proc.pid)
    msgs = []
    for i in range(N + 1):
        m = pb.ClientMessage()
        m.id = c.next_id
        c.next_id += 1
        if i == 0:
            m.set_data.CopyFrom(pb.SetDataRequest(path="/w", data=b"1", version=-1))
        else:
            m.get_data.CopyFrom(pb.PathWatchRequest(path="/big"))
        body = m.SerializeToString()
        msgs.append(struct.pack(">I", len(body)) + body)
    first = c.next_id - N - 1
    c.s.sendall(b"".join(msgs))
    ok(wait_for(lambda: zk.get("/w")[1].version == 1, 30),
       "%s: the set_data before the reads is applied" % label)
    held = vmhwm_kb(srv.proc.pid)
    diag("%s: VmHWM %d kB -> %d kB with %d x 1 MB of answers pending" % (label, before, held, N))
    ok(held - before < 64 * 1024,
       "%s: the server's peak RSS grew by %d kB, not by the %d MB asked for" %
       (label, held - before, N))

    t0 = time.time()
    data, _ = zk.get("/big")
    st = zk.set("/ev", b"changed")
    took = time.time() - t0
    ok(data == blob and took < 5, "%s: another client is served meanwhile (%.2f s)" % (label, took))

    got = []
    try:
        while len(got) < N + 2:
            got.append(c.recv_message(60))
    except (ConnectionClosed, OSError) as e:
        diag("%s: %r" % (label, e))
    is_(len(got), N + 2, "%s: the client reads %d messages" % (label, N + 2))
    kinds = [m.WhichOneof("response") for m in got]
    answers = [m for m, k in zip(got, kinds) if k != "watch_event"]
    is_([m.id for m in answers], list(range(first, first + N + 1)),
        "%s: the answers come in order" % label)
    ok(all(m.err == 0 and m.data.data == blob for m in answers[1:]),
       "%s: every get_data answer carries the whole 1 MB" % label)
    events = [i for i, k in enumerate(kinds) if k == "watch_event"]
    is_(len(events), 1, "%s: the watch on /ev fires once" % label)
    if events:
        at = events[0]
        is_((got[at].watch_event.type, got[at].watch_event.path), (3, "/ev"),
            "%s: NodeDataChanged /ev" % label)
        ok(all(got[i].zxid < st.mzxid for i in range(at)) and
           all(got[i].zxid >= st.mzxid for i in range(at + 1, len(got))),
           "%s: the event sits between the answers from before and from after the change" %
           label)
        ok(len(got) - at - 1 > N // 2,
           "%s: %d answers were held back until after the change" % (label, len(got) - at - 1))
    peak = vmhwm_kb(srv.proc.pid)
    diag("%s: VmHWM %d kB once all was read" % (label, peak))
    ok(peak - before < 64 * 1024, "%s: reading it all kept the peak RSS down (%d kB more)" %
       (label, peak - before))

    is_(c.get("/w").data.data, b"1", "%s: the connection serves on" % label)
    c.close()
    zk.stop()
    srv.check_clean_exit("%s: corrald stops cleanly, sanitizers silent" % label)


run("mem async", {"storage.mem.async": "true"})
run("file", {"module.storage": "file"})
done()
