"""filestore — the harness the file-storage tests (t0500-t0530) share: a
corrald with module.storage=file on a temporary dataDir that survives its
restarts (start, stop with any signal, its log), TAP output, and a dump of a
whole tree through kazoo to compare two servers or two moments.

AUTH is the module.auth list of the servers a test starts (set it before
starting one).  finish() prints the plan, keeps the temporary folder when a
check failed (its path is printed) and exits with the status; run(body) runs
a test body, counts an exception as a failure, kills the servers it left
running and finishes.  wide_tree_log() and the txn_* makers write txn logs
directly, for trees too big to build through a server within a test.
"""
import glob, logging, os, re, signal, socket, struct, subprocess, sys, tempfile, time, shutil, zlib
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

def skip(desc):
    """A check this machine cannot make: counted, never a failure."""
    global n
    n += 1
    print('ok %d # SKIP %s' % (n, desc))
    sys.stdout.flush()

def wait_gone(zk, path, limit=10.0):
    """True once path does not exist (polled), False after limit seconds."""
    deadline = time.time() + limit
    while zk.exists(path) is not None:
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True

def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p

from waiting import wait_for  # noqa: E402,F401 - re-exported to the tests

_started = []     # every Corral made, for run() to stop

class Corral:
    def __init__(self, extra=''):
        _started.append(self)
        self.port = free_port()
        self.cfg = os.path.join(TMP, 'corral.cfg')
        with open(self.cfg, 'w') as f:
            f.write('tickTime=500\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n'
                    'module.path=%s\nmodule.transport=zk\nmodule.storage=file\nmodule.auth=%s\n'
                    'minSessionTimeout=1000\nmaxSessionTimeout=20000\n'
                    'admin.enableServer=false\n%s'   # else it binds 0.0.0.0:8080
                    % (TMP, self.port, MODS, AUTH, extra))
        self.proc = None
        self.logs = []
    def start(self, wait=10.0):
        """Start corrald; True once it accepts connections (False: it exited, or `wait`
        seconds passed; then it may still be running)."""
        log = os.path.join(TMP, 'corrald-%d.log' % len(self.logs))
        self.logs.append(log)
        env = dict(os.environ)
        self.proc = subprocess.Popen([CORRALD, '-c', self.cfg], stdout=open(log, 'w'),
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + wait
        while time.time() < deadline:
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
        # reconnects at most 0.5 s apart (kazoo's default backoff grows to an hour)
        kw.setdefault('connection_retry', {'max_tries': -1, 'delay': 0.1, 'backoff': 1.5,
                                           'max_delay': 0.5})
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


# --- a txn log written directly, for trees too big to build through a server in a test ---

def _jstr(b):
    return struct.pack('>i', len(b)) + b

OPEN_ACL = struct.pack('>ii', 1, 31) + _jstr(b'world') + _jstr(b'anyone')

def txn_create_session(zxid, session_id, timeout_ms, when_ms):
    """ZooKeeper's createSession txn (TxnHeader type -10, CreateSessionTxn)."""
    return struct.pack('>qiqqi', session_id, 0, zxid, when_ms, -10) + struct.pack('>i', timeout_ms)

def txn_create(zxid, path, data, parent_cversion, when_ms, owner=0):
    """ZooKeeper's create txn (type 1, CreateTxn, world:anyone:cdrwa); owner: an ephemeral's session."""
    return (struct.pack('>qiqqi', owner, 0, zxid, when_ms, 1) + _jstr(path.encode()) + _jstr(data) +
            OPEN_ACL + struct.pack('>?i', owner != 0, parent_cversion))

def write_txn_log(path, txns):
    """A ZooKeeper 3.8 txn log (FileHeader, then {Adler-32, length, txn, 'B'} per txn)."""
    with open(path, 'wb') as f:
        f.write(struct.pack('>iiq', 0x5a4b4c47, 2, 0))
        f.write(b''.join(struct.pack('>qi', zlib.adler32(t), len(t)) + t + b'B' for t in txns))

def wide_tree_log(path, parent, children, first_zxid=1, before=(), after=()):
    """Log a create of `parent` with `children` children (c0000000..), between the txn
    makers `before` and `after` (each called with its zxid).  Returns the last zxid."""
    now = int(time.time() * 1000)
    txns = []
    zxid = first_zxid
    for make in before:
        txns.append(make(zxid)); zxid += 1
    txns.append(txn_create(zxid, parent, b'', 0, now)); zxid += 1
    for i in range(children):
        txns.append(txn_create(zxid, '%s/c%07d' % (parent, i), b'v', i, now)); zxid += 1
    for make in after:
        txns.append(make(zxid)); zxid += 1
    write_txn_log(path, txns)
    return zxid - 1

def zk_session_passwd(session_id):
    """The password ZooKeeper (and corrald) give a session: java.util.Random seeded with
    id ^ 0xB3415C00, 16 bytes of nextBytes."""
    mult, mask = 0x5DEECE66D, (1 << 48) - 1
    seed = ((session_id ^ 0xB3415C00) ^ mult) & mask
    out = b''
    while len(out) < 16:
        seed = (seed * mult + 0xB) & mask
        rnd = seed >> 16
        for _ in range(min(4, 16 - len(out))):
            out += bytes([rnd & 0xff]); rnd >>= 8
    return out

def recovered_ms(log_text):
    """The time the last "recovered to zxid ... in N ms" line of a log reports."""
    found = re.findall(r'recovered to zxid \S+ \(.*\) in (\d+) ms', log_text)
    return int(found[-1]) if found else None


def run(body):
    """Run body() as the test: an exception is a failed check; then every corrald it started
    is killed (if still running) and finish() prints the plan and exits."""
    try:
        body()
    except Exception as e:
        ok(False, 'unexpected exception: %r' % (e,))
    finally:
        for srv in _started:
            try:
                srv.stop(signal.SIGKILL)
            except Exception:
                pass
        finish()

def no_sanitizer_reports(*servers):
    return ok('Sanitizer' not in ''.join(open(l).read() for s in servers for l in s.logs),
              'no sanitizer reports')


def finish():
    print('1..%d' % n)
    if failures:
        print('# logs kept in', TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(1 if failures else 0)
