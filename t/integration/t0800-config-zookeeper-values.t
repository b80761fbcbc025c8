#!/usr/bin/python3
"""t0800 — every value Apache ZooKeeper 3.8 starts with starts corrald too.

A table of edge values per key (0, 1, negative, huge, malformed, Java number
syntax), with what Debian's ZooKeeper 3.8.0 does with each (measured: started,
or refused to start).  corrald must start where ZooKeeper starts and may
refuse where it refuses; where it starts, the `conf` four-letter word shows
the session bounds ZooKeeper derives (-1 = default, 2 and 20 ticks in Java int
arithmetic).  CORRAL_TEST_TARGET=zookeeper runs the table against ZooKeeper
itself (one JVM per row: slow).  Then Curator's test-server setting
znode.container.checkIntervalMs=1 works: an emptied container goes at once,
and a burst of them goes no faster than znode.container.maxPerMinute."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

START, REFUSE = "starts", "refuses"
# (zoo.cfg keys, what ZooKeeper 3.8 does, conf lines expected when it starts)
TABLE = [
    ({"tickTime": "1"}, START, {"minSessionTimeout": "2", "maxSessionTimeout": "20"}),
    ({"tickTime": "1000000"}, START, {"minSessionTimeout": "2000000", "maxSessionTimeout": "20000000"}),
    ({"tickTime": "010"}, START, {"tickTime": "10"}),
    ({"tickTime": "+5"}, START, {"tickTime": "5"}),
    ({"tickTime": "0"}, REFUSE, None),
    ({"tickTime": "-1"}, REFUSE, None),                 # 2 ticks > 20 ticks
    ({"tickTime": "200000000"}, REFUSE, None),          # 20 ticks wrap negative
    ({"tickTime": "2147483648"}, REFUSE, None),
    ({"tickTime": "0x10"}, REFUSE, None),
    ({"tickTime": "-1", "minSessionTimeout": "1", "maxSessionTimeout": "10"}, START, {"maxSessionTimeout": "10"}),
    ({"minSessionTimeout": "-1"}, START, {"minSessionTimeout": "4000"}),
    ({"minSessionTimeout": "0"}, START, None),
    ({"minSessionTimeout": "-5"}, START, None),
    ({"maxSessionTimeout": "-1"}, START, {"maxSessionTimeout": "40000"}),
    ({"maxSessionTimeout": "0"}, REFUSE, None),
    ({"maxSessionTimeout": "2147483647"}, START, {"maxSessionTimeout": "2147483647"}),
    ({"minSessionTimeout": "0", "maxSessionTimeout": "0"}, START, None),
    ({"clientPort": "-1"}, REFUSE, None),
    ({"clientPort": "65536"}, REFUSE, None),
    ({"maxClientCnxns": "-1"}, START, None),
    ({"maxClientCnxns": "2147483647"}, START, None),
    ({"maxClientCnxns": "abc"}, REFUSE, None),
    ({"globalOutstandingLimit": "0"}, START, None),
    ({"globalOutstandingLimit": "-1"}, START, None),
    ({"globalOutstandingLimit": "abc"}, START, None),
    ({"globalOutstandingLimit": "2147483648"}, START, None),
    ({"snapCount": "0"}, START, None),
    ({"snapCount": "abc"}, START, None),
    ({"snapSizeLimitInKb": "-5"}, START, None),
    ({"preAllocSize": "-1"}, START, None),
    ({"preAllocSize": "9223372036854775807"}, START, None),
    ({"autopurge.snapRetainCount": "0"}, START, None),
    ({"autopurge.snapRetainCount": "abc"}, REFUSE, None),
    ({"autopurge.purgeInterval": "-1"}, START, None),
    ({"autopurge.purgeInterval": "2147483647"}, START, None),
    ({"jute.maxbuffer": "abc"}, START, None),
    ({"skipACL": "maybe"}, START, None),
    ({"forceSync": "maybe"}, START, None),
    ({"extendedTypesEnabled": "maybe"}, START, None),
    ({"znode.container.checkIntervalMs": "1"}, START, None),
    ({"znode.container.checkIntervalMs": "0"}, START, None),
    ({"znode.container.checkIntervalMs": "abc"}, START, None),
    ({"znode.container.maxPerMinute": "0"}, START, None),
    ({"znode.container.maxNeverUsedIntervalMs": "-1"}, START, None),
    ({"admin.idleTimeout": "0"}, START, None),
    ({"admin.enableServer": "maybe", "admin.serverPort": "0", "admin.serverAddress": "127.0.0.1"}, START, None),
    ({"4lw.commands.whitelist": "bogus, stat"}, START, None),
    ({"initLimit": "-1"}, START, None),
    ({"enableEagerACLCheck": "true", "watcherCleanThreshold": "1"}, START, None),
]


def conf_of(port):
    out = {}
    for line in four_letter(port, "conf").splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def try_start(extra):
    """(started?, conf dict or the server's output)"""
    if TARGET == "zookeeper":
        extra = {k: v for k, v in extra.items() if not k.startswith("znode.")}  # sysprops: see t0800 doc
        try:
            z = ZooKeeper(extra)
        except RuntimeError as e:
            return False, str(e)
        got = conf_of(z.port)
        z.stop()
        return True, got
    c = Corrald(dict({"module.storage": "file"}, **extra), start=False)
    try:
        c.start(timeout=10)
    except RuntimeError:
        return False, c.output()
    got = conf_of(c.port) if "4lw.commands.whitelist" not in extra else {}
    report = c.sanitizer_report()
    c.stop()
    return report is None, got if report is None else report


for extra, zk_does, want_conf in TABLE:
    label = " ".join("%s=%s" % kv for kv in extra.items())
    started, got = try_start(extra)
    if zk_does == START:
        if not ok(started, "%s: starts, as ZooKeeper does" % label):
            diag(str(got)[-1500:])
        elif want_conf:
            is_({k: got.get(k) for k in want_conf}, want_conf, "%s: conf shows what ZooKeeper derives" % label)
    else:
        if not ok(not started, "%s: refused, as ZooKeeper refuses" % label):
            diag(str(got)[-800:])
        elif TARGET == "corrald":
            key = next(iter(extra))
            ok(("key '%s'" % key in got or "key 'minSessionTimeout'" in got) and "corral.cfg:" in got,
               "%s: the refusal names file, line and key" % label)

# Curator's test server: checkIntervalMs=1 deletes an emptied container at once
def create(r, path, container=False):
    body = jstr(path) + jbuf(b"") + OPEN_ACL + jint(4 if container else 0)
    return r.request(1, 19 if container else 1, body)[2]


def delete(r, path):
    return r.request(2, 2, jstr(path) + jint(-1))[2]


def exists(r, path):
    return r.request(3, 3, jstr(path) + b"\0")[2] == 0


srv = server_under_test({"znode.container.checkIntervalMs": "1", "znode.container.maxPerMinute": "600",
                         "znode.container.maxNeverUsedIntervalMs": "300"})
r = Raw(srv.port)
r.connect()
is_([create(r, "/box", True), create(r, "/box/kid"), delete(r, "/box/kid")], [0, 0, 0],
    "a container, a child, the child deleted")
ok(wait_for(lambda: not exists(r, "/box"), 5), "checkIntervalMs=1: the emptied container is deleted at once")
is_(create(r, "/never", True), 0, "a container that never gets a child")
ok(wait_for(lambda: not exists(r, "/never"), 5), "goes after maxNeverUsedIntervalMs=300")
for i in range(5):
    create(r, "/c%d" % i, True)
    create(r, "/c%d/kid" % i)
for i in range(5):
    delete(r, "/c%d/kid" % i)
ok(wait_for(lambda: sum(exists(r, "/c%d" % i) for i in range(5)) < 5, 5), "the first of a burst goes at once")
left = sum(exists(r, "/c%d" % i) for i in range(5))
ok(left >= 3, "maxPerMinute=600 (one per 100 ms) holds with a 1 ms interval: %d of 5 still there" % left)
ok(wait_for(lambda: not any(exists(r, "/c%d" % i) for i in range(5)), 10), "and all of them go")
r.close()
srv.check_clean_exit()
done()
