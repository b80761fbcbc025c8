#!/usr/bin/python3
# t0520 — a data directory moves between Apache ZooKeeper 3.8 and Corral, both ways.
#
# ZooKeeper (the Debian package, run by this test on a loopback port) takes
# writes of every kind and is stopped; corrald started on its dataDir must
# show the identical tree: paths, data, ACLs and every Stat field.  Then the
# other way: corrald (file storage, small snapCount so there are snapshots
# and several logs) takes writes and stops; ZooKeeper started on that dataDir
# must show corrald's tree, load without a digest mismatch, and ZooKeeper's
# own TxnLogToolkit must read corrald's logs.
import glob, logging, os, signal, socket, subprocess, sys, tempfile, time, shutil
from kazoo.client import KazooClient, KazooState
from kazoo.security import make_acl, make_digest_acl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import filestore
from filestore import *    # the file-storage tests' shared harness
filestore.AUTH = 'world,digest'

ZK_JAR = '/usr/share/java/zookeeper.jar'

def zk_classpath():
    jars = sorted(glob.glob('/usr/share/java/*.jar'))
    return ':'.join(['/etc/zookeeper/conf', ZK_JAR] + jars)

class ZooKeeper:
    def __init__(self, data):
        self.port = free_port()
        self.cfg = os.path.join(TMP, 'zoo-%d.cfg' % self.port)
        with open(self.cfg, 'w') as f:
            f.write('tickTime=500\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n'
                    'admin.enableServer=false\nsnapCount=40\nminSessionTimeout=1000\n'
                    'maxSessionTimeout=20000\n' % (data, self.port))
        self.logfile = os.path.join(TMP, 'zk-%d.log' % self.port)
    def start(self):
        self.proc = subprocess.Popen(['java', '-cp', zk_classpath(),
                                      'org.apache.zookeeper.server.ZooKeeperServerMain', self.cfg],
                                     stdout=open(self.logfile, 'w'), stderr=subprocess.STDOUT)
        for _ in range(300):
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(('127.0.0.1', self.port), 0.2).close()
                return True
            except OSError:
                time.sleep(0.1)
        return False
    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill(); self.proc.wait()
    def log(self):
        return open(self.logfile).read()
    def client(self):
        zk = KazooClient(hosts='127.0.0.1:%d' % self.port, timeout=10)
        zk.start(timeout=15)
        return zk

def workload(zk, prefix):
    """Writes of every kind a txn log must carry."""
    zk.add_auth('digest', 'user:secret')
    zk.create(prefix, b'top')
    for i in range(70):
        zk.create('%s/n%02d' % (prefix, i), b'value %d' % i)
    for i in range(0, 70, 4):
        zk.set('%s/n%02d' % (prefix, i), b'new value %d' % i)
    for i in range(1, 70, 9):
        zk.delete('%s/n%02d' % (prefix, i))
    zk.create(prefix + '/secret', b'only for user',
              acl=[make_digest_acl('user', 'secret', all=True), make_acl('world', 'anyone', read=True)])
    zk.create(prefix + '/acl', b'a', acl=[make_acl('world', 'anyone', read=True, admin=True)])
    zk.set_acls(prefix + '/acl', [make_acl('world', 'anyone', all=True)])
    tx = zk.transaction()
    tx.create(prefix + '/multi', b'm'); tx.create(prefix + '/multi/child', b'c')
    tx.set_data(prefix, b'top after multi'); tx.commit()
    tx = zk.transaction()
    tx.create(prefix + '/never', b'm'); tx.delete(prefix + '/missing'); tx.commit()
    for _ in range(3):
        zk.create(prefix + '/seq-', b's', sequence=True)
    zk.create(prefix + '/gone', b''); zk.create(prefix + '/gone/x', b''); zk.delete(prefix + '/gone/x')
    zk.create(prefix + '/deep/er/still', b'deep', makepath=True)

def ours(d):
    return {k: v for k, v in d.items()}

if not os.path.exists(ZK_JAR) or not shutil.which('java'):
    print('1..0 # SKIP Apache ZooKeeper (Debian package zookeeper) is not installed')
    sys.exit(0)

try:
    # --- ZooKeeper -> Corral ---
    zdata = os.path.join(TMP, 'from-zk')
    os.makedirs(zdata)
    zks = ZooKeeper(zdata)
    ok(zks.start(), 'Apache ZooKeeper starts on an empty dataDir')
    zk = zks.client()
    workload(zk, '/zk')
    zk.stop(); zk.close()
    zk = zks.client()
    zk.add_auth('digest', 'user:secret')
    zk_tree = dump(zk)
    zk.stop(); zk.close()
    zks.stop()
    ok(len(glob.glob(zdata + '/version-2/snapshot.*')) >= 2 and
       len(glob.glob(zdata + '/version-2/log.*')) >= 2,
       'ZooKeeper left several snapshots and logs')
    srv = Corral()
    with open(srv.cfg) as f:
        cfg = f.read().replace('dataDir=%s/data' % TMP, 'dataDir=%s' % zdata)
    with open(srv.cfg, 'w') as f:
        f.write(cfg)
    ok(srv.start(), "corrald starts on ZooKeeper's dataDir")
    zk = srv.client()
    zk.add_auth('digest', 'user:secret')
    corral_tree = dump(zk)
    zk.stop(); zk.close()
    d = diff(zk_tree, corral_tree)
    ok(not d, "corrald shows ZooKeeper's tree: paths, data, ACLs, stats (%d nodes)" % len(zk_tree))
    for line in d[:8]:
        print('#', line)
    ok(srv.stop() == 0, 'corrald stops cleanly')

    # --- Corral -> ZooKeeper ---
    srv = Corral('snapCount=40\npreAllocSize=256\n')
    ok(srv.start(), 'corrald starts on an empty dataDir')
    zk = srv.client()
    workload(zk, '/corral')
    zk.stop(); zk.close()
    zk = srv.client()
    zk.add_auth('digest', 'user:secret')
    corral_tree = dump(zk)
    zk.stop(); zk.close()
    time.sleep(0.5)
    ok(srv.stop() == 0, 'corrald stops cleanly')
    cdata = os.path.join(TMP, 'data')
    # in zxid order (the names are unpadded hex: a plain sort is not that order)
    logs = sorted(glob.glob(cdata + '/version-2/log.*'), key=lambda p: int(p.rsplit('.', 1)[1], 16))
    ok(len(glob.glob(cdata + '/version-2/snapshot.*')) >= 2 and len(logs) >= 2,
       'corrald left several snapshots and logs')
    # where the logs roll is random (snapCount/2 + random(snapCount/2)): read them all
    tools = [subprocess.run(['java', '-cp', zk_classpath(),
                             'org.apache.zookeeper.server.persistence.TxnLogToolkit', '-d', log],
                            capture_output=True, text=True, timeout=60) for log in logs]
    unread = [(log, t.returncode, (t.stdout + t.stderr)[-300:]) for log, t in zip(logs, tools)
              if t.returncode != 0 or 'EOF reached after' not in t.stdout]
    ok(not unread and any('create' in t.stdout for t in tools),
       "ZooKeeper's TxnLogToolkit reads each of corrald's logs to its end (%d)" % len(logs))
    for line in unread[:3]:
        print('#', line)
    zks = ZooKeeper(cdata)
    ok(zks.start(), "Apache ZooKeeper starts on corrald's dataDir")
    zk = zks.client()
    zk.add_auth('digest', 'user:secret')
    zk_tree = dump(zk)
    zk.stop(); zk.close()
    zks.stop()
    d = diff(corral_tree, zk_tree)
    ok(not d, "ZooKeeper shows corrald's tree: paths, data, ACLs, stats (%d nodes)" % len(corral_tree))
    for line in d[:8]:
        print('#', line)
    text = zks.log()
    ok('Snapshot loaded' in text and 'Digests are not matching' not in text,
       "ZooKeeper loads corrald's snapshot and its digest matches")
except Exception as e:
    ok(False, 'unexpected exception: %r' % (e,))
finally:
    for s in ('srv', 'zks'):
        try:
            globals()[s].stop()
        except Exception:
            pass
    finish()
