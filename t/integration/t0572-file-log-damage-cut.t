#!/usr/bin/python3
# t0572 — a damaged length field is not a torn tail; the operator's cut.
#
# One flipped bit in the length field of an entry can make its declared end
# land past the real data, in the preallocated zeros, where it looks like a
# write a crash tore.  Taking it for one would cut every later acknowledged
# txn.  corrald must refuse to start instead, naming the file and offset,
# and leave the log as it is: for a flipped length in the middle of the
# newest log and in its last entry.  Genuine torn tails (the last entry cut
# short with zeros after it, a lone entry header) are still cut with a
# warning.  And the documented way past damage: `corral log-truncate FILE
# OFFSET` refuses an offset inside an entry, says what a cut drops, cuts, and
# corrald then starts with every txn before the cut.
import glob, os, signal, struct, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import filestore
from filestore import *    # the file-storage tests' shared harness

CORRAL = filestore.BUILD + '/tools/corral'

def created(txn):
    """The path a create txn creates, or None."""
    if struct.unpack('>i', txn[28:32])[0] != 1:
        return None
    plen = struct.unpack('>i', txn[32:36])[0]
    return txn[36:36 + plen].decode()

def flip_length(path, off, bit):
    b = open(path, 'rb').read()
    n = struct.unpack('>i', b[off + 8:off + 12])[0]
    patch(path, off + 8, struct.pack('>i', n ^ (1 << bit)))

def refuses(srv, what):
    started = srv.start()
    if started:
        srv.stop(signal.SIGKILL)
    return ok(not started and srv.proc.returncode not in (None, 0), what)

def fill(srv, prefix, count):
    if srv.proc is None or srv.proc.poll() is not None:
        ok(srv.start(), 'corrald starts')
    zk = srv.client()
    zk.ensure_path(prefix)
    for i in range(count):
        zk.create('%s/n%02d' % (prefix, i), b'value %d' % i)
    zk.stop(); zk.close()
    srv.stop(signal.SIGKILL)

def truncate(*args):
    p = subprocess.run([CORRAL, 'log-truncate'] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in p.stdout.splitlines():
        print('#   ' + line)
    return p.returncode, p.stdout

srv = Corral('snapCount=100000\n')        # the default 64 MiB preallocation

def test():
    fill(srv, '/d', 20)

    # 1. a flipped length bit in the middle of the newest log: the declared end
    #    lands in the zeros after every later entry
    log = newest_log()
    ents = entries(log)
    bad_off, bad_len, _ = ents[len(ents) // 2]
    ok(bad_len < 0x10000 and ents[-1][0] + 13 + ents[-1][1] < bad_off + 13 + (bad_len | 0x10000),
       'the flipped length covers every later entry and ends in the preallocated zeros')
    good = open(log, 'rb').read()
    flip_length(log, bad_off, 16)
    damaged = open(log, 'rb').read()
    refuses(srv, 'a flipped length bit in the middle of the log: corrald refuses to start')
    text = srv.log()
    ok(log in text and ('offset %d' % bad_off) in text, 'the message names the file and the offset')
    ok('length field' in text and 'corral log-truncate' in text,
       'it says the length field is damaged and how to cut deliberately')
    ok('never acknowledged' not in text, 'no acknowledged txn is called unacknowledged')
    ok(open(log, 'rb').read() == damaged, 'the log is left exactly as it was')

    # 2. the operator's cut: refused inside an entry, a dry run, then the cut
    rc, out = truncate(log, ents[2][0] + 5)
    ok(rc == 1 and 'inside the entry at %d' % ents[2][0] in out and open(log, 'rb').read() == damaged,
       'log-truncate refuses an offset inside an entry')
    rc, out = truncate(log, ents[-1][0])
    ok(rc == 1 and 'damaged at offset %d' % bad_off in out, 'and one past the damage')
    rc, out = truncate('-n', log, bad_off)
    ok(rc == 0 and 'drops the damage at offset %d' % bad_off in out and open(log, 'rb').read() == damaged,
       'log-truncate -n says what it would drop and cuts nothing')
    later = [created(t) for o, n, t in ents if o > bad_off and created(t)]
    ok(('%d txns look intact' % (len(ents) - len(ents) // 2 - 1)) in out,
       'it counts the intact-looking txns after the damage')
    rc, out = truncate(log, bad_off)
    ok(rc == 0 and os.path.getsize(log) == bad_off, 'log-truncate cuts the log at the damaged entry')
    ok(srv.start(), 'corrald then starts')
    zk = srv.client()
    kept = sorted('/d/' + c for c in zk.get_children('/d'))
    want = sorted(created(t) for o, n, t in ents if o < bad_off and (created(t) or '').startswith('/d/'))
    ok(kept == want and len(want) > 0, 'with every txn before the cut (%d nodes)' % len(kept))
    ok(not any(zk.exists(c) for c in later), 'and none from the cut on')
    zk.create('/after-cut', b'x')
    zk.stop(); zk.close()
    srv.stop(signal.SIGKILL)
    ok(srv.start() and srv.client().exists('/after-cut') is not None, 'it writes and restarts on')
    srv.stop(signal.SIGKILL)

    # 3. a flipped length bit in the last entry of the newest log
    fill(srv, '/e', 10)
    log = newest_log()
    ents = entries(log)
    last_off = ents[-1][0]
    flip_length(log, last_off, 14)
    damaged = open(log, 'rb').read()
    refuses(srv, 'a flipped length bit in the last entry: corrald refuses to start')
    text = srv.log()
    ok(log in text and ('offset %d' % last_off) in text and 'length field' in text,
       'naming the file, the offset and the damaged length')
    ok(open(log, 'rb').read() == damaged, 'nothing cut')
    flip_length(log, last_off, 14)
    ok(srv.start(), 'with the bit restored corrald starts')
    srv.stop(signal.SIGKILL)

    # 4. genuine torn tails are still cut: the last entry half written ...
    log = newest_log()
    ents = entries(log)
    last_off, last_len, _ = ents[-1]
    patch(log, last_off + 12 + last_len // 2, b'\0' * (last_len - last_len // 2 + 1))
    ok(srv.start(), 'the last entry written half way (zeros after): corrald starts')
    text = srv.log()
    ok('torn' in text and ('offset %d' % last_off) in text, 'with a warning naming the torn entry')
    ok(os.path.getsize(log) == last_off, 'the log cut there')
    zk = srv.client()
    ok(zk.exists('/e/n00') is not None, 'the txns before it are there')
    zk.create('/e/more', b'm')
    zk.stop(); zk.close()
    srv.stop(signal.SIGKILL)
    # ... and a lone entry header after the last entry
    log = newest_log()
    ents = entries(log)
    end = ents[-1][0] + 13 + ents[-1][1]
    patch(log, end, struct.pack('>qi', 0x1234567, 300))
    ok(srv.start(), 'an entry header with nothing after it: corrald starts')
    ok('torn' in srv.log() and ('offset %d' % end) in srv.log(), 'the torn header is reported')
    ok(srv.client().exists('/e/more') is not None, 'every acknowledged txn is there')
    ok(srv.stop() == 0, 'stops cleanly')

run(test)
