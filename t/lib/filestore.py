"""filestore — the harness the file-storage tests (t0500-t0530) share: a
corrald with module.storage=file on a temporary dataDir that survives its
restarts (start, stop with any signal, its log), TAP output, and a dump of a
whole tree through kazoo to compare two servers or two moments.

AUTH is the module.auth list of the servers a test starts (set it before
starting one).  finish() prints the plan, keeps the temporary folder when a
check failed (its path is printed) and exits with the status.
"""
import glob, logging, os, signal, socket, subprocess, sys, tempfile, time, shutil
from kazoo.client import KazooClient

AUTH = 'world'
logging.basicConfig(level=logging.CRITICAL)
BUILD = os.environ.get('CORRAL_BUILDDIR')
if not BUILD:
    print('1..0 # SKIP CORRAL_BUILDDIR not set'); sys.exit(0)
MODS = os.environ.get('CORRAL_MODULE_PATH', BUILD + '/modules/.dev')
CORRALD = BUILD + '/core/corrald'
TMP = tempfile.mkdtemp(prefix=os.path.basename(sys.argv[0]).split('-')[0] + '-')
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
                    'module.path=%s\nmodule.transport=zk\nmodule.storage=file\nmodule.auth=%s\n'
                    'minSessionTimeout=1000\nmaxSessionTimeout=20000\n%s'
                    % (TMP, self.port, MODS, AUTH, extra))
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

def entries(path):
    """(offset, length, txn bytes) of each valid-looking entry of a ZooKeeper txn log,
    up to the first zero or impossible length."""
    b = open(path, 'rb').read()
    off, out = 16, []
    while off + 12 <= len(b):
        n = int.from_bytes(b[off + 8:off + 12], 'big', signed=True)
        if n <= 0 or off + 13 + n > len(b):
            break
        out.append((off, n, b[off + 12:off + 12 + n]))
        off += 13 + n
    return out

def newest_log():
    logs = glob.glob(TMP + '/data/version-2/log.*')
    return max(logs, key=lambda p: int(p.rsplit('.', 1)[1], 16))

def patch(path, off, data):
    with open(path, 'r+b') as f:
        f.seek(off); f.write(data)

def run(body, *servers):
    """Run a test's body: an exception is a failed check; the servers it
    started (Corral instances) are killed whatever happened; then finish()."""
    try:
        body()
    except Exception as e:
        ok(False, 'unexpected exception: %r' % (e,))
    finally:
        for s in servers:
            try:
                s.stop(signal.SIGKILL)
            except Exception:
                pass
    finish()

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


def finish():
    print('1..%d' % n)
    if failures:
        print('# logs kept in', TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(1 if failures else 0)
