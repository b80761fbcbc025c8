"""waiting — the one polling helper both test harnesses (corraltest.py and
filestore.py, which keep their own TAP counters) share: a test waits for the
condition it asserts, bounded in time, never for a fixed time.

A test that waits too long all the same is stopped by t/lib/watchdog.py,
which first sends it SIGUSR1: every thread's stack then goes to stderr."""
import faulthandler
import signal
import time

faulthandler.register(signal.SIGUSR1, all_threads=True)


def wait_for(cond, timeout=10.0, step=0.05):
    """Poll cond() until true or timeout; returns its last value."""
    end = time.time() + timeout
    while True:
        v = cond()
        if v or time.time() > end:
            return v
        time.sleep(step)
