#!/usr/bin/python3
# t0590 — the time recovery takes does not count against restored sessions.
#
# The data directory holds a txn log (written directly, see filestore.py)
# with two sessions (1 s timeouts), an ephemeral of each, and then enough
# creates (600k children) that replaying them takes longer than those
# timeouts.  ZooKeeper gives restored sessions their full timeout once the
# data is loaded (its session tracker starts afterwards); so must corrald:
# right after it serves, a client resumes the first session with its id and
# password and still finds both ephemerals; the second session, which nobody
# resumes, expires one timeout after the server started serving (from the
# log's time stamps: not earlier, and not much later), taking its ephemeral
# with it.  The "recovered ... in N ms" line reports the real recovery time.
import datetime, os, sys, time
from kazoo.client import KazooClient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import filestore
from filestore import *    # the file-storage tests' shared harness

TICK = 100
TIMEOUT = 1000
CHILDREN = 600000
KEPT, LEFT = 0x1000000000001, 0x1000000000002    # the resumed session, the abandoned one


def logged_at(text, needle):
    """The time stamp (seconds) of the first log line containing needle, or None."""
    for line in text.splitlines():
        if needle in line:
            return datetime.datetime.strptime(line[:23], '%Y-%m-%d %H:%M:%S.%f').timestamp()
    return None

def test():
    os.makedirs(TMP + '/data/version-2')
    now = int(time.time() * 1000)
    wide_tree_log(TMP + '/data/version-2/log.1', '/bulk', CHILDREN, before=[
        lambda z: txn_create_session(z, KEPT, TIMEOUT, now),
        lambda z: txn_create_session(z, LEFT, TIMEOUT, now),
        lambda z: txn_create(z, '/kept', b'mine', 0, now, owner=KEPT),
        lambda z: txn_create(z, '/left', b'abandoned', 1, now, owner=LEFT),
    ])
    srv = Corral('tickTime=%d\nminSessionTimeout=%d\n' % (TICK, TIMEOUT))
    started = time.time()
    ok(srv.start(wait=60), 'corrald starts on a log of %d txns' % (CHILDREN + 5))
    zk = KazooClient(hosts='127.0.0.1:%d' % srv.port, timeout=TIMEOUT / 1000.0,
                     client_id=(KEPT, zk_session_passwd(KEPT)))
    zk.start(timeout=10)
    resumed = zk.client_id[0] == KEPT
    kept, left = zk.exists('/kept'), zk.exists('/left')
    log = srv.log()
    first, serving = logged_at(log, 'loaded transport module'), logged_at(log, ' serving (')
    took = (serving - first) * 1000
    reported = recovered_ms(log)
    print('# recovery: %d ms from the first log line to serving, %s ms reported' % (took, reported))
    if took <= TIMEOUT + 2 * TICK:
        # a machine fast enough to replay the log within the timeouts shows nothing here
        skip('recovery took only %d ms here, not longer than the %d ms timeouts' % (took, TIMEOUT))
    else:
        ok(resumed, 'right after recovery (%d ms, longer than the %d ms session timeout), the '
           'restored session resumes with its id and password' % (took, TIMEOUT))
        ok(kept is not None and kept.ephemeralOwner == KEPT, 'its ephemeral is still there')
        ok(left is not None and left.ephemeralOwner == LEFT,
           'so is the ephemeral of the session nobody resumed, right after the start')
        ok(wait_gone(zk, '/left', 10), 'the abandoned session expires after all, and its '
           'ephemeral goes')
        expired = logged_at(srv.log(), 'session 0x%x expired' % LEFT)
        after = (expired - serving) * 1000 if expired else -1
        ok(TIMEOUT - 50 <= after <= TIMEOUT + 2 * TICK + 1000,
           'it expired one session timeout after the server started serving (%d ms; the '
           'recovery did not count against it)' % after)
        ok(reported is not None and reported >= 0.5 * took,
           'the "recovered in N ms" line reports the real recovery time (%s of %d ms)'
           % (reported, took))
    ok(zk.exists('/kept') is not None and zk.client_id[0] == KEPT,
       'the resumed session keeps its ephemeral while it is alive')
    zk.stop(); zk.close()
    ok(srv.stop() == 0, 'corrald stops cleanly')
    no_sanitizer_reports(srv)

run(test)
