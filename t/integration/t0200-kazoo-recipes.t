#!/usr/bin/python3
"""t0200 — kazoo's recipes, the uses the ZooKeeper docs name (naming,
configuration, membership, locks, queues, barriers, leader election), each
driven by several kazoo sessions in concurrent threads so that mutual
exclusion, ordering and release are really exercised:

  Lock        read-modify-write of a counter under the lock never interleaves
              (no lost update, never two holders); contenders in arrival
              order; a timed acquire fails while it is held; a holder whose
              session closes lets the next one in; ReadLock/WriteLock share
              and exclude as they should.
  Election    exactly one leader at a time, in arrival order; a new leader
              after the leader abdicates and after its session closes.
  Queue       FIFO for one consumer, priorities, and with concurrent
              producers and consumers: no loss, no duplicate, each producer's
              items in order; LockingQueue: no loss or duplicate, an item
              taken by a session that closes without consume() comes back.
  Barrier     waiters block until removed; DoubleBarrier releases no member
              before all entered, and none leaves before all left.
  Counter     concurrent increments are all counted.
  Party       members listed while their sessions live (Party, ShallowParty).
  Semaphore   never more than max_leases holders (and that many are reached).
  DataWatch   configuration: every watcher sees versions in order, data
              matching its version, the last value, then the delete.
  ChildrenWatch membership follows joins and session ends.
  naming      concurrent sequential creates get distinct, gapless numbers.
  TreeCache   a local mirror follows nested creates, sets and deletes.
  SetPartitioner  two members split a set; one leaves, the other takes all.
  NonBlockingLease  one holder at a time, renewed by its holder.

Every check runs against corrald and then against Apache ZooKeeper 3.8, to
prove it describes ZooKeeper (CORRAL_TEST_TARGET=corrald|zookeeper: only that
one)."""
import datetime, os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from recipes_helpers import Workers, Gauge

from kazoo.exceptions import LockTimeout
from kazoo.recipe.cache import TreeCache, TreeEvent
from kazoo.recipe.lease import NonBlockingLease
import corraltest

LABEL = ""


# each check's description names the server it ran against
def ok(cond, desc):
    return corraltest.ok(cond, LABEL + desc)


def is_(got, want, desc):
    return corraltest.is_(got, want, LABEL + desc)


def raises(exc, fn, desc):
    return corraltest.raises(exc, fn, LABEL + desc)



def run(server):
    srv = server
    # quick retries: Counter and the queues retry on version conflicts, which
    # concurrent threads cause on purpose
    RETRY = {"max_tries": -1, "delay": 0.01, "backoff": 1.5, "max_delay": 0.2}


    def client():
        return kazoo(srv.hosts, command_retry=RETRY)


    N = 5
    cl = [client() for _ in range(N)]
    zk = cl[0]
    zk.ensure_path("/recipes")


    def no_errors(w, desc, timeout=40):
        errs = w.join(timeout)
        if not ok(not errs, desc):
            diag("\n".join(errs))


    # ---- Lock ------------------------------------------------------------------

    zk.create("/recipes/lock-counter", b"0")
    inside = Gauge()
    wanting = Gauge()
    ROUNDS = 8


    def locker(i):
        lock = cl[i].Lock("/recipes/lock", "locker-%d" % i)
        for _ in range(ROUNDS):
            with wanting:
                lock.acquire(timeout=30)
            try:
                with inside:
                    data, _ = cl[i].get("/recipes/lock-counter")
                    time.sleep(0.003)           # widen the window a broken lock would show
                    cl[i].set("/recipes/lock-counter", str(int(data) + 1).encode())
            finally:
                lock.release()


    no_errors(Workers(N, locker), "lock: %d threads x %d rounds ran without error" % (N, ROUNDS))
    is_(int(zk.get("/recipes/lock-counter")[0]), N * ROUNDS,
        "lock: no lost update in unversioned read-modify-write under the lock")
    is_(inside.most, 1, "lock: never two holders at once")
    ok(wanting.most >= 2, "lock: threads really contended for it (%d at once)" % wanting.most)

    holder = cl[0].Lock("/recipes/lock2", "holder")
    holder.acquire()
    timed = cl[1].Lock("/recipes/lock2", "timed")
    raises(LockTimeout, lambda: timed.acquire(timeout=0.5), "lock: a timed acquire fails while held")
    waiters = [cl[k].Lock("/recipes/lock2", "waiter-%d" % k) for k in (2, 3)]
    got_it = []
    w = Workers(2, lambda k: (waiters[k].acquire(timeout=20), got_it.append(k), waiters[k].release()),
                start=False)
    w.threads[0].start()
    wait_for(lambda: len(holder.contenders()) == 2, 5)
    w.threads[1].start()
    wait_for(lambda: len(holder.contenders()) == 3, 5)
    is_(holder.contenders(), ["holder", "waiter-2", "waiter-3"], "lock: contenders in arrival order")
    time.sleep(0.3)
    is_(got_it, [], "lock: waiters stay blocked while it is held")
    holder.release()
    no_errors(w, "lock: waiters acquire once it is released")
    is_(got_it, [0, 1], "lock: waiters get it in arrival order")

    # a holder whose session closes releases it
    doomed = client()
    dl = doomed.Lock("/recipes/lock3", "doomed")
    dl.acquire()
    after = cl[1].Lock("/recipes/lock3", "after")
    raises(LockTimeout, lambda: after.acquire(timeout=0.3), "lock: held by a live session")
    doomed.stop(); doomed.close()
    ok(after.acquire(timeout=10), "lock: acquired once the holder's session closed")
    after.release()

    # read/write lock
    r1 = cl[1].ReadLock("/recipes/rw", "r1")
    r2 = cl[2].ReadLock("/recipes/rw", "r2")
    wl = cl[3].WriteLock("/recipes/rw", "w")
    ok(r1.acquire(timeout=5) and r2.acquire(timeout=5), "rwlock: two readers hold it together")
    raises(LockTimeout, lambda: wl.acquire(timeout=0.5), "rwlock: the writer waits while readers hold it")
    r1.release(); r2.release()
    ok(wl.acquire(timeout=5), "rwlock: the writer gets it once the readers are gone")
    raises(LockTimeout, lambda: cl[4].ReadLock("/recipes/rw", "r3").acquire(timeout=0.5),
           "rwlock: a reader waits while the writer holds it")
    wl.release()

    # ---- Election ----------------------------------------------------------------

    ecl = [client() for _ in range(4)]
    state_lock = threading.Lock()
    leaders_now = set()
    deposed = set()
    order = []
    overlaps = []
    abdicate = [threading.Event() for _ in ecl]
    elections = [ecl[i].Election("/recipes/election", "node-%d" % i) for i in range(len(ecl))]


    def lead(i):
        with state_lock:
            live = sorted(leaders_now - deposed)
            if live:
                overlaps.append((i, live))
            leaders_now.add(i)
            order.append(i)
        abdicate[i].wait(30)
        with state_lock:
            leaders_now.discard(i)


    def contend(i):
        try:
            elections[i].run(lead, i)
        except Exception:  # noqa: BLE001 - the deposed leader's client is closed under it
            if i not in deposed:
                raise


    ew = Workers(len(ecl), contend, start=False)
    for i, t in enumerate(ew.threads):
        t.start()
        wait_for(lambda: len(elections[0].contenders()) == i + 1, 5)
    is_(elections[0].contenders(), ["node-0", "node-1", "node-2", "node-3"],
        "election: contenders in arrival order")
    wait_for(lambda: order, 5)
    time.sleep(0.2)
    is_(order, [0], "election: the first contender leads, alone")
    abdicate[0].set()
    wait_for(lambda: len(order) >= 2, 5)
    time.sleep(0.2)
    is_(order, [0, 1], "election: the next contender leads after the leader abdicates")
    with state_lock:
        deposed.add(1)
    ecl[1].stop()               # the leader's session closes while it still leads
    wait_for(lambda: len(order) >= 3, 10)
    time.sleep(0.2)
    is_(order, [0, 1, 2], "election: a new leader after the leader's session closed")
    is_(elections[3].contenders(), ["node-2", "node-3"], "election: the closed session is no contender")
    abdicate[2].set()
    wait_for(lambda: len(order) >= 4, 5)
    abdicate[3].set()
    abdicate[1].set()
    no_errors(ew, "election: every contender's run() returned")
    is_(order, [0, 1, 2, 3], "election: each contender led once, in order")
    is_(overlaps, [], "election: never two leaders with live sessions at once")
    for c in ecl:
        c.stop(); c.close()

    # ---- Queue -------------------------------------------------------------------

    q = zk.Queue("/recipes/q1")
    for k in range(20):
        q.put(b"%02d" % k)
    is_(len(q), 20, "queue: len counts the items")
    is_([cl[1].Queue("/recipes/q1").get() for _ in range(20)], [b"%02d" % k for k in range(20)],
        "queue: one consumer gets items in FIFO order")
    is_(q.get(), None, "queue: empty after that")
    q.put(b"low", priority=200)
    q.put(b"mid")
    q.put(b"high", priority=10)
    is_([q.get(), q.get(), q.get()], [b"high", b"mid", b"low"], "queue: lower priority values first")

    PRODUCERS, ITEMS = 2, 40
    produced_all = threading.Event()
    consumed = [[] for _ in range(3)]
    total = Gauge()


    def producer(i):
        pq = cl[i].Queue("/recipes/q2")
        for k in range(ITEMS):
            pq.put(b"p%d-%03d" % (i, k))


    def consumer(i):
        cq = cl[2 + i].Queue("/recipes/q2")
        end = time.time() + 30
        while time.time() < end:
            v = cq.get()
            if v is not None:
                consumed[i].append(v)
                time.sleep(0.005)           # some work, so that the others get items too
            elif produced_all.is_set() and sum(map(len, consumed)) >= PRODUCERS * ITEMS:
                return
            else:
                time.sleep(0.005)


    cw = Workers(3, consumer)
    pw = Workers(PRODUCERS, producer)
    no_errors(pw, "queue: producers ran without error")
    produced_all.set()
    no_errors(cw, "queue: consumers ran without error")
    got = [v for c in consumed for v in c]
    is_(sorted(got), sorted(b"p%d-%03d" % (i, k) for i in range(PRODUCERS) for k in range(ITEMS)),
        "queue: concurrent consumers got every item exactly once")
    ok(sum(1 for c in consumed if c) >= 2, "queue: the work was really shared (%s)" % [len(c) for c in consumed])
    in_order = all([v for v in c if v.startswith(b"p%d-" % p)] == sorted(v for v in c if v.startswith(b"p%d-" % p))
                   for c in consumed for p in range(PRODUCERS))
    ok(in_order, "queue: each consumer sees each producer's items in order")

    lq = zk.LockingQueue("/recipes/lq")
    lq.put_all([b"%02d" % k for k in range(30)])
    is_(len(lq), 30, "locking queue: put_all queued every item")
    lconsumed = [[] for _ in range(3)]


    def lconsumer(i):
        cq = cl[2 + i].LockingQueue("/recipes/lq")
        while True:
            v = cq.get(timeout=1)
            if v is None:
                return
            lconsumed[i].append(v)
            if not cq.consume():
                raise RuntimeError("consume() failed for %r" % v)


    no_errors(Workers(3, lconsumer), "locking queue: consumers ran without error")
    lgot = [v for c in lconsumed for v in c]
    is_(sorted(lgot), [b"%02d" % k for k in range(30)], "locking queue: every item consumed exactly once")
    ok(all(c == sorted(c) for c in lconsumed), "locking queue: each consumer in FIFO order")
    is_(len(lq), 0, "locking queue: empty after consume()")

    lq.put(b"precious")
    taker = client()
    tq = taker.LockingQueue("/recipes/lq")
    is_(tq.get(timeout=5), b"precious", "locking queue: an item is taken")
    ok(tq.holds_lock(), "locking queue: its taker holds it")
    is_(cl[1].LockingQueue("/recipes/lq").get(timeout=0.5), None,
        "locking queue: a taken item is not handed to another consumer")
    taker.stop(); taker.close()
    other = cl[1].LockingQueue("/recipes/lq")
    is_(other.get(timeout=5), b"precious", "locking queue: it comes back when its taker's session closes")
    ok(other.consume(), "locking queue: and is consumed by another")

    # ---- Barrier / DoubleBarrier --------------------------------------------------

    b = zk.Barrier("/recipes/barrier")
    b.create()
    is_(cl[1].Barrier("/recipes/barrier").wait(0.3), False, "barrier: wait times out while it stands")
    passed = []
    bw = Workers(3, lambda i: passed.append(cl[1 + i].Barrier("/recipes/barrier").wait(10)))
    time.sleep(0.5)
    is_(passed, [], "barrier: waiters block while it stands")
    b.remove()
    no_errors(bw, "barrier: waiters return once it is removed")
    is_(passed, [True, True, True], "barrier: every waiter passes")

    entered, left = Gauge(), Gauge()
    arrived, leaving = [], []
    db_lock = threading.Lock()
    dbs = [cl[1 + i].DoubleBarrier("/recipes/dbarrier", 3, "member-%d" % i) for i in range(3)]
    ready_to_leave = [threading.Event() for _ in range(3)]
    release_log = []


    def member(i):
        with db_lock:
            arrived.append(i)
        dbs[i].enter()
        with db_lock:
            release_log.append(("entered", i, len(arrived)))
        ready_to_leave[i].wait(20)
        with db_lock:
            leaving.append(i)
        dbs[i].leave()
        with db_lock:
            release_log.append(("left", i, len(leaving)))


    dw = Workers(3, member, start=False)
    dw.threads[0].start(); dw.threads[1].start()
    time.sleep(0.5)
    is_(release_log, [], "double barrier: two of three members wait to enter")
    dw.threads[2].start()
    wait_for(lambda: len(release_log) == 3, 10)
    is_(sorted((e[0], e[2]) for e in release_log), [("entered", 3)] * 3,
        "double barrier: all three enter, none before the third arrived")
    ok(all(d.participating for d in dbs), "double barrier: each member is participating")
    ready_to_leave[0].set(); ready_to_leave[1].set()
    time.sleep(0.5)
    is_([e for e in release_log if e[0] == "left"], [], "double barrier: two of three wait to leave")
    ready_to_leave[2].set()
    no_errors(dw, "double barrier: every member left")
    is_(sorted((e[0], e[2]) for e in release_log if e[0] == "left"), [("left", 3)] * 3,
        "double barrier: none left before the third began leaving")
    is_(zk.get_children("/recipes/dbarrier"), [], "double barrier: no member node remains")

    # ---- Counter -----------------------------------------------------------------


    def counting(i):
        c = cl[i].Counter("/recipes/counter")
        for _ in range(10):
            c += 1


    no_errors(Workers(N, counting), "counter: concurrent increments ran without error")
    is_(zk.Counter("/recipes/counter").value, N * 10, "counter: every concurrent increment counted")
    fc = cl[1].Counter("/recipes/fcounter", default=1.5)
    fc += 2.0
    fc -= 0.5
    is_((fc.pre_value, fc.post_value, zk.Counter("/recipes/fcounter", default=0.0).value), (3.5, 3.0, 3.0),
        "counter: float counter, pre/post values")

    # ---- Party -------------------------------------------------------------------

    pcl = [client() for _ in range(3)]
    parties = [c.Party("/recipes/party", "member-%d" % i) for i, c in enumerate(pcl)]
    for p in parties:
        p.join()
    watcher = zk.Party("/recipes/party")
    is_(sorted(watcher), ["member-0", "member-1", "member-2"], "party: every member listed")
    is_(len(watcher), 3, "party: len counts members")
    parties[0].leave()
    is_(sorted(watcher), ["member-1", "member-2"], "party: a member that leaves is gone")
    pcl[1].stop(); pcl[1].close()
    ok(wait_for(lambda: sorted(watcher) == ["member-2"], 5), "party: a member whose session closed is gone")
    sp = pcl[2].ShallowParty("/recipes/shallow", "solo")
    sp.join()
    is_(list(zk.ShallowParty("/recipes/shallow")), ["solo"], "shallow party: the member is listed")
    pcl[2].stop(); pcl[2].close()
    pcl[0].stop(); pcl[0].close()
    ok(wait_for(lambda: list(zk.ShallowParty("/recipes/shallow")) == [], 5),
       "shallow party: gone with its session")

    # ---- Semaphore -----------------------------------------------------------------

    holding = Gauge()
    seen_holders = []


    def sem_user(i):
        sem = cl[i].Semaphore("/recipes/sem", "user-%d" % i, max_leases=2)
        for _ in range(4):
            if not sem.acquire(timeout=20):
                raise RuntimeError("semaphore not acquired")
            try:
                with holding:
                    seen_holders.append(len(sem.lease_holders()))
                    time.sleep(0.02)
            finally:
                sem.release()


    no_errors(Workers(N, sem_user), "semaphore: %d threads ran without error" % N)
    is_(holding.most, 2, "semaphore: never more than max_leases=2 holders, and 2 reached")
    ok(seen_holders and max(seen_holders) <= 2, "semaphore: lease_holders never lists more than 2 (%s)"
       % sorted(set(seen_holders)))
    s1 = cl[1].Semaphore("/recipes/sem2", "a", max_leases=1)
    s1.acquire()
    raises(LockTimeout, lambda: cl[2].Semaphore("/recipes/sem2", "b", max_leases=1).acquire(timeout=0.5),
           "semaphore: a second lease is refused while max_leases=1 is held")
    is_(zk.Semaphore("/recipes/sem2", max_leases=1).lease_holders(), ["a"], "semaphore: lease_holders names it")
    s1.release()

    # ---- DataWatch: configuration ----------------------------------------------------

    zk.create("/recipes/config", b"v0")
    config_seen = [[] for _ in range(3)]
    for i in range(3):
        def on_change(data, stat, i=i):
            config_seen[i].append((data, stat.version if stat else None))
        cl[1 + i].DataWatch("/recipes/config", on_change)
    for v in range(1, 11):
        zk.set("/recipes/config", b"v%d" % v)
    ok(wait_for(lambda: all(s and s[-1] == (b"v10", 10) for s in config_seen), 10),
       "datawatch: every watcher ends on the last configuration")
    ok(all(d == b"v%d" % ver for s in config_seen for d, ver in s),
       "datawatch: each call's data matches its version")
    ok(all([ver for _, ver in s] == sorted(set(ver for _, ver in s)) for s in config_seen),
       "datawatch: versions seen strictly increase")
    zk.delete("/recipes/config")
    ok(wait_for(lambda: all(s[-1] == (None, None) for s in config_seen), 5),
       "datawatch: the delete is seen as (None, None)")

    # ---- ChildrenWatch: membership -------------------------------------------------------

    zk.ensure_path("/recipes/members")
    views = []
    zk.ChildrenWatch("/recipes/members", lambda ch: views.append(sorted(ch)))
    mcl = [client() for _ in range(3)]
    for i, c in enumerate(mcl):
        c.create("/recipes/members/m%d" % i, b"", ephemeral=True)
    ok(wait_for(lambda: views and views[-1] == ["m0", "m1", "m2"], 5), "childrenwatch: sees every member join")
    mcl[1].stop(); mcl[1].close()
    ok(wait_for(lambda: views[-1] == ["m0", "m2"], 5), "childrenwatch: a member's session end is seen")
    for c in (mcl[0], mcl[2]):
        c.stop(); c.close()
    ok(wait_for(lambda: views[-1] == [], 5), "childrenwatch: empty when all sessions ended")

    # ---- naming: sequential nodes ------------------------------------------------------------

    zk.ensure_path("/recipes/names")
    names = [[] for _ in range(N)]
    no_errors(Workers(N, lambda i: names[i].extend(cl[i].create("/recipes/names/n-", sequence=True)
                                                   for _ in range(10))),
              "naming: concurrent sequential creates ran without error")
    flat = [n for ns in names for n in ns]
    is_(len(set(flat)), N * 10, "naming: every name distinct")
    is_(sorted(int(n[-10:]) for n in flat), list(range(N * 10)), "naming: sequence numbers 0.. without gap")
    ok(all(ns == sorted(ns) for ns in names), "naming: each thread's names increase")

    # ---- TreeCache: a local mirror of a subtree ------------------------------------------

    zk.ensure_path("/recipes/tree")
    tc = TreeCache(cl[1], "/recipes/tree")
    tev = []
    tc.listen(lambda e: tev.append((e.event_type, e.event_data.path if e.event_data else None)))
    tc.start()
    ok(wait_for(lambda: (TreeEvent.INITIALIZED, None) in tev, 5), "treecache: initialized")
    zk.create("/recipes/tree/a", b"1")
    zk.create("/recipes/tree/a/b", b"2")
    wait_for(lambda: tc.get_data("/recipes/tree/a/b") is not None, 5)
    zk.set("/recipes/tree/a", b"3")         # after the cache has it: an update, not part of the add

    def mirrored():
        a, b = tc.get_data("/recipes/tree/a"), tc.get_data("/recipes/tree/a/b")
        return a is not None and a.data == b"3" and b is not None and b.data == b"2"

    ok(wait_for(mirrored, 5), "treecache: mirrors nested creates and a set")
    zk.delete("/recipes/tree/a/b")
    ok(wait_for(lambda: tc.get_data("/recipes/tree/a/b") is None, 5), "treecache: mirrors a delete")
    is_(tc.get_children("/recipes/tree/a"), frozenset(), "treecache: no children left")

    # TreeCache changes its mirror first and hands the listener its event
    # later, on kazoo's callback thread: wait for the events themselves.
    def events_of(path, n):
        got = [t for t, p in list(tev) if p == path]
        return got if len(got) >= n else None

    wait_for(lambda: events_of("/recipes/tree/a/b", 2), 5)
    is_(events_of("/recipes/tree/a/b", 0), [TreeEvent.NODE_ADDED, TreeEvent.NODE_REMOVED],
        "treecache: added then removed events for the child")
    wait_for(lambda: events_of("/recipes/tree/a", 2), 5)
    is_(events_of("/recipes/tree/a", 0)[:2], [TreeEvent.NODE_ADDED, TreeEvent.NODE_UPDATED],
        "treecache: added then updated events for the parent")
    tc.close()

    # ---- SetPartitioner: work split between members ------------------------------------

    items = ["i%d" % k for k in range(6)]
    stop = threading.Event()
    parts = [cl[1 + k].SetPartitioner("/recipes/part", set=items, identifier="p%d" % k,
                                      time_boundary=0.3) for k in range(2)]

    def drive(k):
        """The partitioner's state machine, as its docs drive it."""
        p = parts[k]
        while not stop.is_set() and not p.failed:
            if p.release:
                p.release_set()
            elif p.allocating:
                p.wait_for_acquire(timeout=5)
            else:
                time.sleep(0.02)

    pw = Workers(2, drive)

    def split():
        if not all(p.acquired for p in parts):
            return None
        mine = [sorted(p) for p in parts]
        return mine if sorted(mine[0] + mine[1]) == items else None

    mine = wait_for(split, 20)
    ok(mine and mine[0] and mine[1] and not set(mine[0]) & set(mine[1]),
       "partitioner: two members split the set, disjoint, nothing left out (%s)" % mine)
    parts[0].finish()
    ok(wait_for(lambda: parts[1].acquired and sorted(parts[1]) == items, 20),
       "partitioner: the remaining member takes everything once the other finishes")
    stop.set()
    no_errors(pw, "partitioner: members ran without error")
    parts[1].finish()

    # ---- NonBlockingLease ----------------------------------------------------------------

    hour = datetime.timedelta(hours=1)
    ok(NonBlockingLease(cl[1], "/recipes/lease", hour, identifier="a"), "lease: the first holder obtains it")
    ok(not NonBlockingLease(cl[2], "/recipes/lease", hour, identifier="b"), "lease: no one else while it runs")
    ok(NonBlockingLease(cl[1], "/recipes/lease", hour, identifier="a"), "lease: its holder renews it")

    for c in cl:
        c.stop(); c.close()
    srv.check_clean_exit()


if os.environ.get("CORRAL_RECIPES_ENSEMBLE"):
    # t0882: the same recipes on a 3-member Corral ensemble, clients spread over the members
    from ensemblecheck import ServingEnsemble
    LABEL = "corrald ensemble: "
    run(ServingEnsemble([("corrald", 1), ("corrald", 2), ("corrald", 3)]))
else:
    for target in ([TARGET] if os.environ.get("CORRAL_TEST_TARGET") else ["corrald", "zookeeper"]):
        LABEL = "%s: " % target
        run(Corrald() if target == "corrald" else ZooKeeper())
done()
