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

logging.basicConfig(level=logging.CRITICAL)
BUILD = os.environ.get('CORRAL_BUILDDIR')
if not BUILD:
    print('1..0 # SKIP CORRAL_BUILDDIR not set'); sys.exit(0)
MODS = os.environ.get('CORRAL_MODULE_PATH', BUILD + '/modules/.dev')
CORRALD = BUILD + '/core/corrald'
TMP = tempfile.mkdtemp(prefix='t0530-')
n = 0; failures = 0

def ok(cond, desc):
    global n, failures
    n += 1
    print(('ok %d - %s' if cond else 'not ok %d - %s') % (n, desc))
    if not cond:
        failures += 1
    sys.stdout.flush()
    return cond

def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p

class Corral:
    def __init__(self, extra=''):
        self.port = free_port()
        self.cfg = os.path.join(TMP, 'corral.cfg')
        with open(self.cfg, 'w') as f:
            f.write('tickTime=500\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n'
                    'module.path=%s\nmodule.transport=zk\nmodule.storage=file\nmodule.auth=world\n'
                    'minSessionTimeout=1000\nmaxSessionTimeout=20000\n%s'
                    % (TMP, self.port, MODS, extra))
        self.proc = None
        self.logs = []
    def start(self):
        log = os.path.join(TMP, 'corrald-%d.log' % len(self.logs))
        self.logs.append(log)
        env = dict(os.environ)
        self.proc = subprocess.Popen([CORRALD, '-c', self.cfg], stdout=open(log, 'w'),
                                     stderr=subprocess.STDOUT, env=env)
        for _ in range(200):
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(('127.0.0.1', self.port), 0.2).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False
    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill(); self.proc.wait()
        return self.proc.returncode
    def log(self):
        return open(self.logs[-1]).read()
    def client(self, **kw):
        zk = KazooClient(hosts='127.0.0.1:%d' % self.port, timeout=10, **kw)
        zk.start(timeout=10)
        return zk

def dump(zk):
    out = {}
    def walk(p):
        data, st = zk.get(p)
        acl, _ = zk.get_acls(p)
        out[p] = (data, sorted((a.perms, a.id.scheme, a.id.id) for a in acl), tuple(st))
        for c in zk.get_children(p):
            walk(p.rstrip('/') + '/' + c)
    walk('/')
    return out

def diff(a, b):
    keys = sorted(set(a) | set(b))
    return ['%s: %r != %r' % (k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]


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
        present = set('/c/' + c for c in zk.get_children('/c'))
        missing = [p for p in snapshot_of_acked if p not in present]
        ok(not missing, 'round %d: every acknowledged write survived (%d missing)' % (rnd + 1, len(missing)))
        wrong = [p for p in snapshot_of_acked if p in present and zk.get(p)[0] != snapshot_of_acked[p]]
        ok(not wrong, 'round %d: with its data' % (rnd + 1))
        half = [(a, b) for a, b in pairs if (a in present) != (b in present)]
        ok(not half, 'round %d: no multi is half applied (%d)' % (rnd + 1, len(half)))
        stray = present - attempted
        ok(not stray, 'round %d: nothing appeared that was never written' % (rnd + 1))
        # writes that the server made durable but could not acknowledge count as done
        with lock:
            for p in present:
                if p not in acked:
                    acked[p] = zk.get(p)[0]
        zk.stop(); zk.close()
    ok(srv.stop() == 0, 'corrald stops cleanly at the end')
    ok(glob.glob(TMP + '/txnlog/version-2/log.*') and not glob.glob(TMP + '/data/version-2/log.*'),
       'txn logs went to dataLogDir')
    ok(glob.glob(TMP + '/data/version-2/snapshot.*') and not glob.glob(TMP + '/txnlog/version-2/snapshot.*'),
       'snapshots went to dataDir')
    ok('refusing' not in ''.join(open(l).read() for l in srv.logs), 'no run refused to start')
except Exception as e:
    ok(False, 'unexpected exception: %r' % (e,))
finally:
    try:
        srv.stop(signal.SIGKILL)
    except Exception:
        pass
    print('1..%d' % n)
    if failures:
        print('# logs kept in', TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)
sys.exit(1 if failures else 0)
