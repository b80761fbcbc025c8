#!/usr/bin/python3
"""watchdog — how prove runs every test file: `watchdog.py TEST` runs TEST
with a time limit, so that one test that hangs fails on its own, says where
it hung, and leaves the rest of `make check` its time (CI stops the whole run
after 90 minutes, and then shows nothing of what hung).

The test runs in a process group of its own, with its output going straight
to prove.  Past CORRAL_TEST_TIMEOUT seconds (default 300, eight times the
slowest test here; 0 turns the limit off) the watchdog prints (to stderr)
every process of that group with its state and kernel wait channel, and the
stacks of each corrald's threads (gdb); then it sends the test SIGUSR1 (the
Python harnesses print every thread's stack on it: waiting.py), then SIGINT
to the whole group (Python tests run their finally blocks and stop the
servers they started; corrald and Java shut down), and SIGKILL to whatever
is left 20 s later.  The test then fails: its exit status is non-zero and
its plan is short.  Nothing is retried."""
import os
import shutil
import signal
import subprocess
import sys
import time


def comment(text):
    """To stderr, which prove shows as it comes (it keeps TAP comments to itself)."""
    for line in text.splitlines():
        sys.stderr.write('# %s\n' % line)
    sys.stderr.flush()


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def main():
    if len(sys.argv) != 2:
        sys.stderr.write('usage: watchdog.py TEST\n')
        return 2
    test = sys.argv[1]
    limit = float(os.environ.get('CORRAL_TEST_TIMEOUT', '300'))
    path = test if os.sep in test else os.path.join(os.curdir, test)
    proc = subprocess.Popen([path], start_new_session=True)
    try:
        return proc.wait(limit if limit > 0 else None)
    except subprocess.TimeoutExpired:
        pass
    except KeyboardInterrupt:          # the operator's ^C reaches the test's group too
        signal_group(proc.pid, signal.SIGINT)
        return proc.wait()
    comment('%s: still running after %g s (CORRAL_TEST_TIMEOUT); its processes:' % (test, limit))
    ps = subprocess.run(['ps', '-o', 'pid,ppid,stat,wchan:24,etime,args', '-g', str(proc.pid)],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    comment(ps.stdout)
    corralds = [line.split()[0] for line in ps.stdout.splitlines()[1:] if 'corrald' in line]
    if corralds and shutil.which('gdb'):
        for pid in corralds:
            comment('corrald %s, its threads:' % pid)
            try:
                bt = subprocess.run(['gdb', '-p', pid, '-batch', '-ex', 'thread apply all bt'],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    timeout=60)
                comment('\n'.join(l for l in bt.stdout.splitlines() if l.startswith(('#', 'Thread'))))
            except subprocess.TimeoutExpired:
                comment('(gdb took more than 60 s)')
    comment('asking it for its stacks (SIGUSR1), then to stop (SIGINT to its group)')
    try:
        proc.send_signal(signal.SIGUSR1)
    except ProcessLookupError:
        pass
    time.sleep(3)
    signal_group(proc.pid, signal.SIGINT)
    deadline = time.time() + 20
    while (proc.poll() is None or group_alive(proc.pid)) and time.time() < deadline:
        time.sleep(0.2)
    if group_alive(proc.pid):
        comment('still there 20 s after SIGINT: SIGKILL')
        signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
    return 124


if __name__ == '__main__':
    sys.exit(main())
