#!/usr/bin/python3
# measure-restart.py — restart time and memory per znode, Corral vs Apache ZooKeeper.
#
#   modules/storage/file/measure-restart.py [ZNODES] [corral|zookeeper|both]
#
# For each server: start it on an empty data dir (file storage for Corral),
# create ZNODES znodes (16-byte data, pipelined), note the server's RSS, stop
# it with SIGTERM, start it again and time how long until it accepts clients
# with the whole tree loaded (a get of the last znode answers), then note RSS
# again.  Corral comes from
# CORRAL_BUILDDIR (default: ./build); build it without --enable-sanitizers
# for numbers that mean anything.  Needs /usr/bin/python3 with kazoo, and the
# Debian zookeeper package for the comparison.  Loopback only; temp dirs are
# removed afterwards.
import glob, logging, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time
from kazoo.client import KazooClient

logging.basicConfig(level=logging.CRITICAL)
ZNODES = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
WHICH = sys.argv[2] if len(sys.argv) > 2 else 'both'
BUILD = os.environ.get('CORRAL_BUILDDIR', os.path.abspath('build'))
MODS = os.environ.get('CORRAL_MODULE_PATH', BUILD + '/modules/.dev')


def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def wait_port(port, proc, limit=600):
    t0 = time.time()
    while time.time() - t0 < limit:
        if proc.poll() is not None:
            raise RuntimeError('server exited with %s' % proc.returncode)
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError('server did not start')


def connect(port, limit=300):
    """A started client; ZooKeeper opens its port before it serves, so retry."""
    t0 = time.time()
    while True:
        zk = KazooClient(hosts='127.0.0.1:%d' % port, timeout=30)
        try:
            zk.start(timeout=10)
            return zk
        except Exception:
            zk.close()
            if time.time() - t0 > limit:
                raise


def load(port):
    zk = connect(port)
    zk.create('/m', b'')
    window = threading.Semaphore(2000)
    for i in range(ZNODES):
        window.acquire()
        zk.create_async('/m/n%08d' % i, b'0123456789abcdef').rawlink(lambda r: window.release())
    for _ in range(2000):
        window.acquire()
    zk.stop(); zk.close()


def check_loaded(port):
    zk = connect(port)
    ok = zk.exists('/m/n%08d' % (ZNODES - 1)) is not None
    zk.stop(); zk.close()
    return ok


def corral_cmd(tmp, port):
    cfg = os.path.join(tmp, 'corral.cfg')
    with open(cfg, 'w') as f:
        f.write('tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n'
                'module.path=%s\nmodule.transport=zk\nmodule.storage=file\nmodule.auth=world\n'
                'globalOutstandingLimit=5000\n' % (tmp, port, MODS))
    return [BUILD + '/core/corrald', '-c', cfg]


def zookeeper_cmd(tmp, port):
    cfg = os.path.join(tmp, 'zoo.cfg')
    with open(cfg, 'w') as f:
        f.write('tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n'
                'admin.enableServer=false\n' % (tmp, port))
    cp = ':'.join(['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar'] +
                  sorted(glob.glob('/usr/share/java/*.jar')))
    return ['java', '-cp', cp, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg]


def measure(name, make_cmd):
    tmp = tempfile.mkdtemp(prefix='measure-%s-' % name)
    port = free_port()
    cmd = make_cmd(tmp, port)
    log = open(os.path.join(tmp, 'server.log'), 'w')
    try:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        wait_port(port, proc)
        base = rss_kib(proc.pid)
        t0 = time.time()
        load(port)
        load_s = time.time() - t0
        loaded = rss_kib(proc.pid)
        proc.send_signal(signal.SIGTERM); proc.wait(120)
        t0 = time.time()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        wait_port(port, proc)
        if not check_loaded(port):
            raise RuntimeError('tree not complete after restart')
        restart_s = time.time() - t0
        after = rss_kib(proc.pid)
        proc.send_signal(signal.SIGTERM); proc.wait(120)
        snaps = glob.glob(tmp + '/data/version-2/snapshot.*')
        du = os.path.getsize(max(snaps, key=lambda p: int(p.rsplit('.', 1)[1], 16)))
        print('%-10s %9d znodes  load %6.1fs  restart %6.2fs  RSS %7.1f MiB (empty %6.1f, after '
              'restart %7.1f)  %5.0f B/znode  newest snapshot %6.1f MiB' %
              (name, ZNODES, load_s, restart_s, loaded / 1024, base / 1024, after / 1024,
               (after - base) * 1024 / ZNODES, du / 1048576))
        sys.stdout.flush()
    except Exception as e:
        log.flush()
        print('%-10s failed: %r; server log:' % (name, e))
        print(open(os.path.join(tmp, 'server.log')).read()[-3000:])
    finally:
        try:
            proc.kill()
        except Exception:
            pass
        shutil.rmtree(tmp, ignore_errors=True)


if WHICH in ('corral', 'both'):
    measure('corral', corral_cmd)
if WHICH in ('zookeeper', 'both'):
    measure('zookeeper', zookeeper_cmd)
