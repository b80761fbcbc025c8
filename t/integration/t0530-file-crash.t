#!/usr/bin/python3
# t0530 — crash test: kill -9 corrald at random moments under write load.
#
# One client keeps ~200 writes in flight (plain creates and two-node multis,
# so group commit batches them) while a timer kills corrald with SIGKILL at a
# random moment; this happens several times, with snapshots being written
# along the way.  After each restart every write that was acknowledged is
# there with its data, every multi is all-or-nothing, and nothing appears
# that was never written.  The txn log lives in a separate dataLogDir.
import glob, logging, os, random, threading, signal, socket, subprocess, sys, tempfile, time, shutil
from kazoo.client import KazooClient, KazooState
from kazoo.security import make_acl
from kazoo.exceptions import NoNodeError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import filestore
from filestore import *    # the file-storage tests' shared harness

ANSWER_S = 60    # every check's reads are answered within this, or the check fails (no endless wait)

def read_all(zk, paths):
    """{path: data} of each path that exists: all reads pipelined, all answered within ANSWER_S."""
    asked = [(p, zk.get_async(p)) for p in paths]
    deadline = time.time() + ANSWER_S
    out = {}
    for p, r in asked:
        try:
            out[p] = r.get(timeout=max(0.1, deadline - time.time()))[0]
        except NoNodeError:
            pass
    return out

try:
    srv = Corral('snapCount=400\npreAllocSize=256\ndataLogDir=%s/txnlog\n' % TMP)
    ok(srv.start(), 'corrald starts')
    zk = srv.client()
    zk.create('/c', b'')
    zk.stop(); zk.close()
    lock = threading.Lock()
    acked = {}          # path -> data, acknowledged creates
    attempted = set()   # every path ever asked for
    pairs = []          # (a, b) of every multi attempted
    rounds = 5
    for rnd in range(rounds):
        zk = srv.client()
        alive = [True]
        killer = threading.Timer(random.uniform(0.4, 1.8), lambda: srv.stop(signal.SIGKILL))
        killer.start()
        inflight = threading.Semaphore(200)
        i = 0
        while srv.proc.poll() is None and i < 200000:
            inflight.acquire(timeout=2)
            if srv.proc.poll() is not None:
                break
            if i % 5 == 4:
                a, b = '/c/a%d-%d' % (rnd, i), '/c/b%d-%d' % (rnd, i)
                attempted.update((a, b)); pairs.append((a, b))
                tx = zk.transaction(); tx.create(a, b'A'); tx.create(b, b'B')
                res = tx.commit_async()
                def done(r, a=a, b=b):
                    inflight.release()
                    try:
                        if r.successful() and all(isinstance(x, str) for x in r.get()):
                            with lock:
                                acked[a] = b'A'; acked[b] = b'B'
                    except Exception:
                        pass
            else:
                p = '/c/r%d-%d' % (rnd, i)
                data = b'data %d/%d' % (rnd, i)
                attempted.add(p)
                res = zk.create_async(p, data)
                def done(r, p=p, data=data):
                    inflight.release()
                    if r.successful():
                        with lock:
                            acked[p] = data
            res.rawlink(done)
            i += 1
        killer.join()
        srv.proc.wait()
        try:
            zk.stop(); zk.close()
        except Exception:
            pass
        with lock:
            snapshot_of_acked = dict(acked)
        ok(srv.start(), 'round %d: corrald restarts after kill -9 (%d writes sent this round, %d known '
           'durable so far)' % (rnd + 1, i, len(snapshot_of_acked)))
        zk = srv.client()
        present = set('/c/' + c for c in zk.get_children_async('/c').get(timeout=ANSWER_S))
        missing = [p for p in snapshot_of_acked if p not in present]
        ok(not missing, 'round %d: every acknowledged write survived (%d missing)' % (rnd + 1, len(missing)))
        data = read_all(zk, present)
        wrong = [p for p in snapshot_of_acked if p in present and data.get(p) != snapshot_of_acked[p]]
        ok(not wrong, 'round %d: with its data' % (rnd + 1))
        half = [(a, b) for a, b in pairs if (a in present) != (b in present)]
        ok(not half, 'round %d: no multi is half applied (%d)' % (rnd + 1, len(half)))
        stray = present - attempted
        ok(not stray, 'round %d: nothing appeared that was never written' % (rnd + 1))
        # writes that the server made durable but could not acknowledge count as done
        with lock:
            for p in present:
                if p not in acked:
                    acked[p] = data[p]
        zk.stop(); zk.close()
    ok(srv.stop() == 0, 'corrald stops cleanly at the end')
    ok(glob.glob(TMP + '/txnlog/version-2/log.*') and not glob.glob(TMP + '/data/version-2/log.*'),
       'txn logs went to dataLogDir')
    ok(glob.glob(TMP + '/data/version-2/snapshot.*') and not glob.glob(TMP + '/txnlog/version-2/snapshot.*'),
       'snapshots went to dataDir')
    ok('refusing' not in ''.join(open(l).read() for l in srv.logs), 'no run refused to start')
except Exception as e:
    ok(False, 'unexpected exception: %r' % (e,))
    try:
        print('# the last corrald log:\n' + '\n'.join('# ' + l for l in srv.log().splitlines()[-40:]))
    except Exception:
        pass
finally:
    try:
        srv.stop(signal.SIGKILL)
    except Exception:
        pass
    finish()
