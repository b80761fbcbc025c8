#!/usr/bin/python3
# t0510 — damaged txn logs: a torn tail is cut off, damage stops the server.
#
# A write torn by a crash (an entry cut short at the very end of the newest
# log, followed only by preallocated zeros) was never acknowledged: corrald
# cuts it off with a log line and starts with everything before it.  A bad
# checksum in the middle of a log (valid entries after it), or in a last
# entry whose bytes are all there, means real damage: corrald refuses to
# start, naming the file and the entry's offset, rather than silently
# dropping acknowledged txns.  (t0572 has more kinds of damage and the
# operator's way past it.)
import glob, logging, struct, os, signal, socket, subprocess, sys, tempfile, time, shutil
from kazoo.client import KazooClient, KazooState
from kazoo.security import make_acl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import filestore
from filestore import *    # the file-storage tests' shared harness

try:
    srv = Corral('preAllocSize=64\nsnapCount=100000\n')
    ok(srv.start(), 'corrald starts')
    zk = srv.client()
    zk.create('/d', b'')
    for i in range(20):
        zk.create('/d/n%02d' % i, b'v%d' % i)
    zk.stop(); zk.close()
    srv.stop(signal.SIGKILL)

    # 1. torn tail: half an entry after the last one
    log = newest_log()
    ents = entries(log)
    ok(len(ents) >= 21, 'the log holds one entry per txn (%d)' % len(ents))
    end = ents[-1][0] + 13 + ents[-1][1]
    patch(log, end, struct.pack('>qi', 0x12345678, 200) + b'partial txn bytes')
    ok(srv.start(), 'corrald starts over a log with a torn last entry')
    text = srv.log()
    ok('torn' in text and os.path.basename(log) in text and ('offset %d' % end) in text,
       'the torn entry is reported with file and offset')
    zk = srv.client()
    ok(sorted(zk.get_children('/d')) == ['n%02d' % i for i in range(20)],
       'every txn before the torn entry is there')
    ok(os.path.getsize(log) == end, 'the log was cut at the torn entry')
    zk.create('/d/after-torn', b'x')
    zk.stop(); zk.close()
    srv.stop(signal.SIGKILL)

    # 2. bad checksum at the very end: a byte of the last entry damaged, zeros
    # after it.  Every byte and the end-of-record mark are there: not a torn
    # write but damage, which ZooKeeper refuses too.
    log = newest_log()
    ents = entries(log)
    last_off, last_len = ents[-1][:2]
    intact = open(log, 'rb').read()
    patch(log, last_off + 12 + last_len - 3, b'\xff')
    started = srv.start()
    if started:
        srv.stop(signal.SIGKILL)
    ok(not started, 'corrald refuses to start over a log whose complete last entry has a bad checksum')
    text = srv.log()
    ok('checksum' in text and ('offset %d' % last_off) in text and 'refusing to start' in text,
       'the bad last entry is reported with its offset')
    ok(open(log, 'rb').read()[:last_off + 13 + last_len] != intact[:last_off + 13 + last_len] and
       os.path.getsize(log) == len(intact), 'nothing was cut')
    with open(log, 'wb') as f:
        f.write(intact)
    ok(srv.start(), 'with the byte repaired corrald starts')
    zk = srv.client()
    ok(zk.exists('/d/n19') is not None, 'earlier txns are all there')
    for i in range(30):
        zk.create('/d/m%02d' % i, b'w%d' % i)
    zk.stop(); zk.close()
    ok(srv.stop() == 0, 'stops cleanly')

    # 3. bad checksum in the middle of the newest log: refuse to start
    log = newest_log()
    ents = entries(log)
    ok(len(ents) >= 30, 'the new log holds the 30 new txns')
    bad_off, bad_len = ents[len(ents) // 2][:2]
    good = open(log, 'rb').read()
    patch(log, bad_off + 12 + bad_len // 2, b'\x00\x7f')
    started = srv.start()
    if started:
        time.sleep(0.5)
    rc = srv.proc.poll()
    ok(not started and rc not in (None, 0), 'corrald refuses to start (exit %r)' % rc)
    text = srv.log()
    ok(os.path.basename(log) in text and ('offset %d' % bad_off) in text,
       'the message names the file and the offset of the damaged entry')
    ok('refusing to start' in text, 'and says it refuses to start')
    for line in text.splitlines():
        if 'refusing' in line:
            print('#', line)
    ok(os.path.getsize(log) > bad_off + 13 + bad_len, 'the damaged log is left untouched')

    # 4. the same log repaired: it starts again with everything
    with open(log, 'wb') as f:
        f.write(good)
    ok(srv.start(), 'with the damage repaired corrald starts again')
    zk = srv.client()
    ok(len([c for c in zk.get_children('/d') if c.startswith('m')]) == 30, 'with all 30 later txns')
    for i in range(10):
        zk.create('/d/z%02d' % i, b'z')
    zk.stop(); zk.close()
    ok(srv.stop() == 0, 'stops cleanly')

    # 5. a log file lost between the snapshot used and a later log: a gap in the zxids
    def zx(p):
        return int(p.rsplit('.', 1)[1], 16)
    snaps = sorted(glob.glob(TMP + '/data/version-2/snapshot.*'), key=zx)
    os.unlink(snaps[-1])                 # recovery must start from the older snapshot
    snap = zx(snaps[-2])
    logs = sorted(glob.glob(TMP + '/data/version-2/log.*'), key=zx)
    holder = [p for p in logs if zx(p) <= snap + 1][-1]
    later = [p for p in logs if zx(p) > zx(holder)]
    ok(later, 'there is a log after the one to lose')
    os.unlink(holder)
    started = srv.start()
    if started:
        time.sleep(0.5)
    ok(not started and srv.proc.poll() not in (None, 0),
       'corrald refuses to start when txns between snapshot and a later log are missing')
    ok('missing' in srv.log(), 'and says txns are missing')
except Exception as e:
    ok(False, 'unexpected exception: %r' % (e,))
finally:
    try:
        srv.stop(signal.SIGKILL)
    except Exception:
        pass
    finish()
