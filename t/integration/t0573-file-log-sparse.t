#!/usr/bin/python3
# t0573 — txn log files take the disk their data needs, not their preallocation.
#
# Log files grow in preAllocSize steps (64 MiB by default), as ZooKeeper's
# do; the growth must be a hole, as ZooKeeper's FilePadding makes it (it
# writes one byte at the new end), not blocks reserved with fallocate: those
# made every log take its full 64 MiB on disk (1.8 GB for 20,000 writes where
# ZooKeeper uses 4 MB), enough to fill a disk.  After 2,000 writes and one
# log roll, each log is 64 MiB long but occupies about what was written, and
# the server restarts from those logs with everything, without reading the
# holes (a 4 GiB one is added to the last log: the restart's page faults
# show whether recovery read it).
import glob, os, signal, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from filestore import *    # the file-storage tests' shared harness

MiB = 1 << 20

def written(path):
    """Bytes of a log up to the end of its last entry."""
    ents = entries(path)
    return ents[-1][0] + 13 + ents[-1][1] if ents else 16

srv = Corral('snapCount=100000\n')          # the default preAllocSize: 64 MiB

def test():
    ok(srv.start(), 'corrald starts')
    zk = srv.client()
    zk.create('/s', b'')
    pending = [zk.create_async('/s/n%04d' % i, b'v' * 100) for i in range(1000)]
    for p in pending:
        p.get(timeout=30)
    ok(srv.stop() == 0, 'stops cleanly')
    ok(srv.start(), 'restarts (a new log file)')
    zk = srv.client()
    pending = [zk.set_async('/s/n%04d' % i, b'w' * 100) for i in range(1000)]
    for p in pending:
        p.get(timeout=30)
    zk.stop(); zk.close()
    srv.stop(signal.SIGKILL)
    logs = sorted(glob.glob(TMP + '/data/version-2/log.*'))
    ok(len(logs) >= 2, 'two log files (%d)' % len(logs))
    total_disk = 0
    for log in logs:
        st = os.stat(log)
        disk, data = st.st_blocks * 512, written(log)
        total_disk += disk
        print('# %s: size %d, written %d, on disk %d' % (os.path.basename(log), st.st_size, data, disk))
        ok(st.st_size >= 64 * MiB, '%s keeps its 64 MiB preallocation as length' % os.path.basename(log))
        ok(disk <= 2 * data + 256 * 1024,
           '%s takes %d KiB of disk for %d KiB written, not its length' %
           (os.path.basename(log), disk // 1024, data // 1024))
    ok(total_disk < 2 * MiB, 'all logs together take %d KiB of disk' % (total_disk // 1024))
    # recovery must not read the holes: through a mapping every 4 KiB of one costs a page
    # the kernel allocates and clears (most of a restart's time, with 64 MiB per log file)
    os.truncate(logs[-1], 4 << 30)
    fd = os.open(logs[-1], os.O_RDONLY)
    try:
        holes_known = os.lseek(fd, 0, os.SEEK_DATA) == 0 and os.lseek(fd, 0, os.SEEK_HOLE) < 64 * MiB
    except OSError:
        holes_known = False
    os.close(fd)
    ok(srv.start(), 'corrald restarts from the sparse logs')
    if holes_known:
        faults = int(open('/proc/%d/stat' % srv.proc.pid).read().rsplit(')', 1)[1].split()[7])
        ok(faults < 20000, 'recovery reads no hole: %d page faults with a 4 GiB hole in the last '
           'log (reading it takes at least 65536 more: a fault maps at most 16 pages)' % faults)
    else:
        skip('the file system here does not report holes (SEEK_DATA)')
    zk = srv.client()
    kids = zk.get_children('/s')
    ok(len(kids) == 1000 and zk.get('/s/n0999')[0] == b'w' * 100, 'with every write')
    zk.stop(); zk.close()
    ok(srv.stop() == 0, 'stops cleanly')

run(test)
