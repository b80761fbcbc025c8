"""recipes_helpers — what the t02NN tests (recipes, zkCli, four-letter words,
client events) share beyond corraltest: worker threads whose exceptions are
reported instead of lost, a zkCli.sh runner, and normalisation of output that
carries times, zxids, session ids and ports, so corrald's and Apache
ZooKeeper's answers can be compared line by line."""
import re
import subprocess
import threading
import time

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"


class Workers:
    """Threads running fn(i) for i in range(n); join() returns the exceptions raised."""

    def __init__(self, n, fn, start=True):
        self.errors = []
        self.results = [None] * n
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(fn, i), daemon=True)
                        for i in range(n)]
        if start:
            self.start()

    def _run(self, fn, i):
        try:
            self.results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - every failure is reported by join()
            with self._lock:
                self.errors.append("worker %d: %r" % (i, e))

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout=30):
        end = time.time() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.time()))
        stuck = sum(t.is_alive() for t in self.threads)
        if stuck:
            self.errors.append("%d worker(s) still running after %ss" % (stuck, timeout))
        return self.errors


class Gauge:
    """How many threads are inside a section now, and the most there ever were."""

    def __init__(self):
        self.now = 0
        self.most = 0
        self.entries = 0
        self._lock = threading.Lock()

    def __enter__(self):
        with self._lock:
            self.now += 1
            self.entries += 1
            self.most = max(self.most, self.now)
        return self

    def __exit__(self, *exc):
        with self._lock:
            self.now -= 1


def zkcli(hosts, *args, timeout=120):
    """Run zkCli.sh with one command (args) or, with no args, feed it nothing;
    returns stdout+stderr as text, JVM log noise kept (callers filter)."""
    res = subprocess.run([ZKCLI, "-server", hosts] + list(args), capture_output=True,
                         text=True, timeout=timeout)
    return res.stdout + res.stderr


NOISE = ("INFO", "WARN", "log4j", "SLF4J", "DEBUG")


def quiet(text):
    """Lines of zkCli output without the JVM's and the client library's log lines."""
    return [l for l in text.splitlines() if l.strip() and not any(w in l for w in NOISE)]


_NORMS = [
    (re.compile(r"0x[0-9a-fA-F]+"), "0x<hex>"),
    (re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} [ \d]\d \d\d:\d\d:\d\d \w+ \d{4}\b"), "<date>"),
    (re.compile(r"/127\.0\.0\.1:\d+"), "/127.0.0.1:<port>"),
    (re.compile(r"-?\d+(\.\d+)?"), "<n>"),
]


def normalize(line):
    """A line with its hex ids, dates, ports and numbers replaced by placeholders."""
    for rx, rep in _NORMS:
        line = rx.sub(rep, line)
    return line
