#!/usr/bin/python3
"""t0252 — reads pipelined behind a write cannot make the server's memory
grow with them.  A raw ZooKeeper client sends a setData and then 300 getData
of a 1 MB node in one go and reads nothing: the reads wait for the write, and
when it completes the server answers only as much as its backlog of output
allows (8 MiB), holding the rest.  The server's peak RSS (VmHWM) stays far
below the 300 MB the answers add up to; another client is served promptly
meanwhile, and a change it makes fires the raw client's watch.  Then the raw
client reads: the setData reply, all 300 replies, each complete, in order,
and the watch event among them where ZooKeeper's order puts it (every reply
before it from before the change, every one after it from after).  Both with
storage.mem.async (writes complete at the end of a loop iteration) and with
file storage (a real fsync)."""
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

small_asan_quarantine()    # VmHWM then shows what corrald itself holds

GETDATA, SETDATA = 4, 5
BIG = 1000000
N = 300


def run(label, extra):
    srv = Corrald(extra)
    zk = kazoo(srv.hosts)
    blob = bytes(range(256)) * (BIG // 256) + b"z" * (BIG % 256)
    zk.create("/big", blob)
    zk.create("/w", b"0")
    zk.create("/ev", b"0")

    raw = Raw(srv.port, timeout=60)
    raw.connect(timeout_ms=60000)
    rep = raw.request(1, GETDATA, jstr("/ev") + b"\1")
    is_(rep[2], 0, "%s: (the raw client watches /ev)" % label)

    before = vmhwm_kb(srv.proc.pid)
    raw.s.sendall(jframe(2, SETDATA, jstr("/w") + jbuf(b"1") + jint(-1)) +
                  b"".join(jframe(3 + i, GETDATA, jstr("/big") + b"\0") for i in range(N)))
    # the write applied means the reads behind it have been dealt with
    ok(wait_for(lambda: zk.get("/w")[1].version == 1, 30),
       "%s: the setData before the reads is applied" % label)
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
    changed = st.mzxid

    frames = []
    while len(frames) < N + 2:
        p = raw.recv_frame()
        if p is None:
            break
        frames.append(p)
    is_(len(frames), N + 2, "%s: the raw client reads %d frames" % (label, N + 2))
    parsed = [(struct.unpack(">iqi", p[:16]), p[16:]) for p in frames]
    events = [i for i, ((xid, _, _), _) in enumerate(parsed) if xid == -1]
    replies = [(h, body) for (h, body) in parsed if h[0] != -1]
    is_([h[0] for h, _ in replies], list(range(2, N + 3)), "%s: the replies come in order" % label)
    ok(all(h[2] == 0 and JuteReader(body).buf() == blob for h, body in replies[1:]),
       "%s: every getData reply carries the whole 1 MB" % label)
    is_(len(events), 1, "%s: the watch on /ev fires once" % label)
    if events:
        at = events[0]
        rd = JuteReader(parsed[at][1])
        is_((rd.int(), rd.int(), rd.str()), (3, 3, "/ev"),
            "%s: NodeDataChanged /ev" % label)
        ok(all(parsed[i][0][1] < changed for i in range(at)) and
           all(parsed[i][0][1] >= changed for i in range(at + 1, len(parsed))),
           "%s: the event sits between the replies from before and from after the change" % label)
        after = len(parsed) - at - 1
        ok(after > N // 2, "%s: %d replies were held back until after the change" % (label, after))
    peak = vmhwm_kb(srv.proc.pid)
    diag("%s: VmHWM %d kB once all was read" % (label, peak))
    ok(peak - before < 64 * 1024, "%s: reading it all kept the peak RSS down (%d kB more)" %
       (label, peak - before))

    rep = raw.request(400, GETDATA, jstr("/w") + b"\0")
    is_((rep[0], rep[2], JuteReader(rep[3]).buf()), (400, 0, b"1"),
        "%s: the connection serves on" % label)
    raw.close()
    zk.stop()
    srv.check_clean_exit("%s: corrald stops cleanly, sanitizers silent" % label)


run("mem async", {"storage.mem.async": "true"})
run("file", {"module.storage": "file"})
done()
