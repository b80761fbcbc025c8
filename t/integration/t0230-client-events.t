#!/usr/bin/python3
"""t0230 — what a client sees of its connection and session, through kazoo's
state listener and on the wire:

  expiry      a client cut off from the server (a frozen TCP relay) longer
              than its session timeout: the server expires the session (its
              ephemeral goes), kazoo sees SUSPENDED, then LOST when it gets
              through again, then CONNECTED with a new session;
  closed      a session closed by someone else holding its id and password:
              SUSPENDED, LOST, CONNECTED (new session);
  loss        the server killed: SUSPENDED, requests wait; started again on
              the same data: CONNECTED with the same session, its ephemeral
              and the waiting request's answer intact (mem storage, Corral
              only: nothing survives, so the session is LOST);
  chroot      hosts "127.0.0.1:port/app": paths relative to /app in replies,
              sequential names, children, transactions, watch events and
              recipes, and absolute for a client without chroot;
  ordering    a client reading a node in a tight pipeline while another
              changes it receives the watch event before any read that
              returns the new data.

Every check runs against corrald and then against Apache ZooKeeper 3.8, to
prove it describes ZooKeeper (CORRAL_TEST_TARGET=corrald|zookeeper: only that
one)."""
import os, signal, struct, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from recipes_helpers import Proxy, restart

from kazoo.exceptions import NoNodeError
import corraltest

LABEL = ""


# each check's description names the server it ran against
def ok(cond, desc):
    return corraltest.ok(cond, LABEL + desc)


def is_(got, want, desc):
    return corraltest.is_(got, want, LABEL + desc)


def raises(exc, fn, desc):
    return corraltest.raises(exc, fn, LABEL + desc)


class Listener:
    """kazoo connection states, in order."""

    def __init__(self, client):
        self.states = []
        client.add_listener(lambda s: self.states.append(str(s)))

    def saw(self, *want):
        return wait_for(lambda: self.states[:len(want)] == list(want), 15)


def run(target):
    srv = Corrald({"module.storage": "file"}) if target == "corrald" else ZooKeeper()
    plain = kazoo(srv.hosts)

    # ---- expiry: a partition longer than the session timeout ----

    proxy = Proxy(srv.port)
    cut = kazoo(proxy.hosts, timeout=4)             # 4000 ms: the least tickTime=2000 allows
    lis = Listener(cut)
    sid = cut.client_id[0]
    cut.create("/cut-eph", b"", ephemeral=True)
    proxy.freeze()
    ok(lis.saw("SUSPENDED"), "expiry: kazoo suspends when the server goes silent")
    ok(wait_for(lambda: plain.exists("/cut-eph") is None, 15),
       "expiry: the server expires the silent session (its ephemeral goes)")
    proxy.thaw()
    ok(lis.saw("SUSPENDED", "LOST", "CONNECTED"), "expiry: then LOST when it gets through, then CONNECTED")
    diag("states: %s" % lis.states)
    ok(cut.client_id[0] != sid, "expiry: kazoo carries on in a new session")
    is_(cut.exists("/cut-eph"), None, "expiry: the old session's ephemeral is gone for it too")
    cut.stop(); cut.close()
    proxy.close()

    # ---- a session closed by another holder of its credentials ----

    victim = kazoo(srv.hosts, timeout=10)
    lis = Listener(victim)
    victim.create("/victim-eph", b"", ephemeral=True)
    sid, passwd = victim.client_id
    thief = Raw(srv.port)
    # ConnectRequest with the victim's id and password, then closeSession, in one write
    thief.s.sendall(jint(44) + jint(0) + jlong(0) + jint(10000) + jlong(sid) + jbuf(passwd) +
                    jint(8) + jint(1) + jint(-11))
    hs = thief.recv_frame()
    ok(hs is not None and struct.unpack(">q", hs[8:16])[0] == sid, "closed: the session moves to the other connection")
    rep = thief.reply()
    is_(rep and (rep[0], rep[2]), (1, 0), "closed: which closes it")
    thief.close()
    ok(lis.saw("SUSPENDED", "LOST", "CONNECTED"), "closed: kazoo sees SUSPENDED, LOST, CONNECTED")
    diag("states: %s" % lis.states)
    ok(victim.client_id[0] != sid, "closed: kazoo carries on in a new session")
    is_(plain.exists("/victim-eph"), None, "closed: its ephemeral went with it")
    victim.stop(); victim.close()

    # ---- connection loss: the server killed, then started again on the same data ----

    lossy = kazoo(srv.hosts, timeout=20)
    lis = Listener(lossy)
    sid = lossy.client_id[0]
    lossy.create("/lossy-eph", b"", ephemeral=True)
    plain.stop(); plain.close()
    srv.stop(signal.SIGKILL)
    ok(lis.saw("SUSPENDED"), "loss: kazoo suspends when the server dies")
    waiting = lossy.exists_async("/lossy-eph")
    time.sleep(0.5)
    ok(not waiting.ready(), "loss: a request waits while there is no server")
    restart(srv, signal.SIGKILL)
    try:
        st = waiting.get(timeout=15)
    except Exception:
        diag("loss: no answer; client states %s; server log:\n%s" %
             (lis.states, srv.output()[-3000:] if hasattr(srv, "output") else ""))
        raise
    ok(st is not None and st.ephemeralOwner == sid, "loss: answered once the server is back, the ephemeral intact")
    ok(lis.saw("SUSPENDED", "CONNECTED"), "loss: SUSPENDED, then CONNECTED again")
    is_(lossy.client_id[0], sid, "loss: the same session (sessions survive a restart, as in ZooKeeper)")
    lossy.stop(); lossy.close()
    plain = kazoo(srv.hosts)

    if target == "corrald":     # mem storage is Corral's own
        mem = Corrald()
        c = kazoo(mem.hosts, timeout=20)
        lis = Listener(c)
        sid = c.client_id[0]
        restart(mem)
        ok(lis.saw("SUSPENDED", "LOST", "CONNECTED") and c.client_id[0] != sid,
           "mem storage: a restart forgets sessions, the client's session is LOST")
        c.stop(); c.close()
        mem.check_clean_exit("the mem server stops cleanly")

    # ---- chroot ----

    root = "/app"
    ch = kazoo(srv.hosts + root)
    raises(NoNodeError, lambda: ch.create("/x"), "chroot: nothing can be created before the chroot node exists")
    plain.create(root)
    is_(ch.create("/x", b"1"), "/x", "chroot: create answers the path relative to the chroot")
    is_(plain.get(root + "/x")[0], b"1", "chroot: the node is under /app for a client without chroot")
    is_(ch.create("/q/n-", b"", sequence=True, makepath=True), "/q/n-0000000000",
        "chroot: sequential names are relative")
    is_(ch.create("/q/n-", b"", sequence=True), "/q/n-0000000001", "chroot: and numbered per parent")
    is_(sorted(ch.get_children("/")), ["q", "x"], "chroot: the chroot's children as the root's")
    is_(ch.get("/x")[0], b"1", "chroot: get")
    tx = ch.transaction()
    tx.create("/m1", b"")
    tx.create("/q/m-", b"", sequence=True)
    tx.set_data("/x", b"2")
    res = tx.commit()
    is_(res[:2], ["/m1", "/q/m-0000000002"], "chroot: a transaction's created paths are relative")
    events = []
    ev_lock = threading.Lock()


    def record(e):
        with ev_lock:
            events.append((e.type, e.path))


    ch.exists("/y", watch=record)
    ch.get_children("/", watch=record)
    ch.get("/x", watch=record)
    plain.create(root + "/y")
    ok(wait_for(lambda: len(events) >= 2, 5), "chroot: events for a create by a client without chroot")
    plain.set(root + "/x", b"3")
    ok(wait_for(lambda: len(events) >= 3, 5), "chroot: and for its set")
    is_(sorted(events), sorted([("CREATED", "/y"), ("CHILD", "/"), ("CHANGED", "/x")]),
        "chroot: watch events carry paths relative to the chroot")
    seen = []
    ch.DataWatch("/x", lambda data, stat: seen.append(data))
    plain.set(root + "/x", b"4")
    ok(wait_for(lambda: seen[-1:] == [b"4"], 5), "chroot: DataWatch follows the node")
    lock = ch.Lock("/lock", "chrooted")
    lock.acquire(timeout=5)
    is_(plain.Lock(root + "/lock").contenders(), ["chrooted"],
        "chroot: a recipe's nodes are seen at their absolute place by a client without chroot")
    lock.release()
    deep = kazoo(srv.hosts + root + "/q")
    is_(sorted(deep.get_children("/")), ["m-0000000002", "n-0000000000", "n-0000000001"],
        "chroot: a deeper chroot")
    deep.stop(); deep.close()
    ch.stop(); ch.close()

    # ---- ordering: the watch event before the new data ----

    plain.create("/order", b"0")
    reader = Raw(srv.port)
    reader.connect(timeout_ms=30000)
    GETDATA = 4
    late, raced = [], 0
    for rnd in range(1, 6):
        # watch, then a pipeline of reads, while another client changes the node
        reader.send_frame(jint(1000) + jint(GETDATA) + jstr("/order") + b"\1")
        # the watch is set once its reply is back: only then may the set come
        # (a server that takes both sockets in one turn may serve either first)
        is_(reader.reply()[0], 1000, "ordering: round %d: the watch is set" % rnd)
        writer = threading.Thread(target=lambda v=rnd: (time.sleep(0.02), plain.set("/order", b"%d" % v)))
        writer.start()
        for i in range(300):            # spread over ~60 ms, so the set lands among them
            reader.send_frame(jint(1001 + i) + jint(GETDATA) + jstr("/order") + b"\0")
            if i % 5 == 4:
                time.sleep(0.001)
        writer.join()
        frames = [reader.reply() for _ in range(301)]
        kinds = []
        for f in frames:
            if f[0] == -1:
                kinds.append("event")
            elif f[0] > 1000:
                n = struct.unpack(">i", f[3][:4])[0]
                kinds.append("new" if f[3][4:4 + n] == b"%d" % rnd else "old")
        first_new = kinds.index("new") if "new" in kinds else len(kinds)
        raced += "old" in kinds and "new" in kinds
        late.append(kinds.count("event") == 1 and kinds.index("event") < first_new
                    and "old" not in kinds[first_new:])
        if not late[-1]:
            diag("round %d: %s" % (rnd, "".join(k[0] for k in kinds)))
    is_(late, [True] * 5, "ordering: in every round the event comes before the first read of the new data")
    diag("%d of 5 rounds had reads of both the old and the new data" % raced)
    reader.close()

    plain.stop(); plain.close()
    srv.check_clean_exit()


for target in ([TARGET] if os.environ.get("CORRAL_TEST_TARGET") else ["corrald", "zookeeper"]):
    LABEL = "%s: " % target
    run(target)
done()
