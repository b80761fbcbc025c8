#!/usr/bin/python3
# t0500 — the file storage module keeps everything across restarts.
#
# A corrald with module.storage=file and a small snapCount takes writes of
# every kind (create/set/delete/setACL/multi, an ephemeral of a live
# session), rolls logs and writes snapshots; autopurge keeps 3 snapshots.
# After kill -TERM and after kill -9 the restarted server has the identical
# tree (paths, data, ACLs, full Stat), the live session resumes with its
# ephemeral, and closing it then removes the ephemeral.
import glob, logging, os, signal, socket, subprocess, sys, tempfile, time, shutil
from kazoo.client import KazooClient, KazooState
from kazoo.security import make_acl

logging.basicConfig(level=logging.CRITICAL)
BUILD = os.environ.get('CORRAL_BUILDDIR')
if not BUILD:
    print('1..0 # SKIP CORRAL_BUILDDIR not set'); sys.exit(0)
MODS = os.environ.get('CORRAL_MODULE_PATH', BUILD + '/modules/.dev')
CORRALD = BUILD + '/core/corrald'
TMP = tempfile.mkdtemp(prefix='t0500-')
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
    srv = Corral('snapCount=40\npreAllocSize=128\nautopurge.snapRetainCount=3\n'
                 'autopurge.purgeInterval=1\n')
    ok(srv.start(), 'corrald starts with module.storage=file on an empty dataDir')
    ok(glob.glob(TMP + '/data/version-2/snapshot.0'), 'a fresh dataDir gets snapshot.0 (as ZooKeeper does)')
    zk = srv.client()
    eph = srv.client()
    zk.create('/t', b'root of the test')
    for i in range(150):
        zk.create('/t/n%03d' % i, b'value %d' % i)
    for i in range(0, 150, 3):
        zk.set('/t/n%03d' % i, b'changed %d' % i)
    for i in range(1, 150, 7):
        zk.delete('/t/n%03d' % i)
    zk.create('/t/locked', b'acl', acl=[make_acl('world', 'anyone', read=True, write=True, admin=True)])
    zk.set_acls('/t/locked', [make_acl('world', 'anyone', all=True)])
    tx = zk.transaction(); tx.create('/t/m1', b'x'); tx.create('/t/m1/c'); tx.set_data('/t', b'multi'); tx.commit()
    tx = zk.transaction(); tx.create('/t/m2', b'y'); tx.delete('/t/missing'); tx.commit()
    zk.create('/t/seq-', b's', sequence=True)
    zk.create('/t/seq-', b's', sequence=True)
    eph.create('/t/eph', b'mine', ephemeral=True)
    eph_session = eph.client_id[0]
    before = dump(zk)
    time.sleep(1.5)   # let the last background snapshot finish and the purge run
    snaps = glob.glob(TMP + '/data/version-2/snapshot.*')
    logs = glob.glob(TMP + '/data/version-2/log.*')
    ok(len(logs) >= 2, 'the txn log rolled at snapshots (%d log files)' % len(logs))
    ok(2 <= len(snaps) <= 3, 'snapshots written every ~snapCount txns, autopurge keeps 3 (%d)' % len(snaps))
    ok(not glob.glob(TMP + '/data/version-2/tmp.*'), 'no temporary snapshot files left behind')

    # --- kill -TERM, restart ---
    zk.stop(); zk.close()
    ok(srv.stop(signal.SIGTERM) == 0, 'corrald stops cleanly on SIGTERM')
    ok(srv.start(), 'corrald restarts on the same dataDir')
    ok('recovered to zxid' in srv.log(), 'the log names the recovered zxid')
    zk = srv.client()
    d = diff(before, dump(zk))
    ok(not d, 'after SIGTERM: identical tree, data, ACLs and stats (%d nodes)' % len(before))
    for line in d[:5]:
        print('#', line)
    # the ephemeral's session was never closed: its client reconnects and keeps it
    for _ in range(100):
        if eph.state == KazooState.CONNECTED and eph.connected:
            break
        time.sleep(0.1)
    ok(eph.connected and eph.client_id[0] == eph_session, 'the live session resumed after the restart')
    st = zk.exists('/t/eph')
    ok(st is not None and st.ephemeralOwner == eph_session, 'its ephemeral is still there, owned by it')

    # --- more writes, kill -9, restart ---
    for i in range(60):
        zk.create('/t/k%02d' % i, b'after restart %d' % i)
    zk.set('/t/k00', b'last write')
    before = dump(zk)
    zk.stop(); zk.close()
    srv.stop(signal.SIGKILL)
    ok(srv.start(), 'corrald restarts after kill -9')
    zk = srv.client()
    after = dump(zk)
    d = diff(before, after)
    ok(not d, 'after kill -9: identical tree, data, ACLs and stats (%d nodes)' % len(before))
    for line in d[:5]:
        print('#', line)
    for _ in range(100):
        if eph.connected:
            break
        time.sleep(0.1)
    eph.stop(); eph.close()
    time.sleep(0.3)
    ok(zk.exists('/t/eph') is None, 'closing the resumed session removes its ephemeral')
    zk.stop(); zk.close()
    ok(srv.stop() == 0, 'corrald stops cleanly at the end')
    ok('ERROR' not in ''.join(open(l).read() for l in srv.logs).replace('[ERROR] core: session', ''),
       'no errors logged in any run')
    ok('Sanitizer' not in ''.join(open(l).read() for l in srv.logs), 'no sanitizer reports')
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
