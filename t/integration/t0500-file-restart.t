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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import filestore
from filestore import *    # the file-storage tests' shared harness

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
    # Every snapshot started has been logged by now (one starts in the loop
    # turn of the append that makes it due, before that txn is acknowledged).
    # Wait until each one has finished and its purge has run.
    def settled():
        text = srv.log()
        snaps = glob.glob(TMP + '/data/version-2/snapshot.*')
        return (text.count('in the background (pid') == text.count(' written in ') and
                not glob.glob(TMP + '/data/version-2/tmp.*') and len(snaps) <= 3)
    wait_for(settled, 30)
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
    finish()
