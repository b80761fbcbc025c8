#!/usr/bin/python3
"""t0610 — the example scripts of lua/, all loaded in one server, driven end
to end by kazoo:
  json_only.lua        non-JSON data under /json is refused with BadArguments
                       (and logged), JSON and empty data pass, other paths too;
  members_summary.lua  /members-summary mirrors the ephemeral members under
                       /members as they join, leave, and when their session
                       closes or expires;
  threshold_watch.lua  a DataWatch on /metrics/cpu fires only when the value
                       crosses the threshold, its one-shot watch staying armed
                       across the changes held back; a watcher of another path
                       is not affected; /metrics-threshold moves the threshold;
  config_version.lua   keeps counting alongside the others."""
import json
import os
import sys
import subprocess
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import corrald_only, done, is_, kazoo, ok, raises, wait_for  # noqa: E402
from luatest import log_has, lua_server  # noqa: E402
from kazoo.exceptions import BadArgumentsError  # noqa: E402


# a member that dies without closing its session (4 s timeout: it expires)
CRASHING_MEMBER = """
import os, sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=4)
zk.start(timeout=15)
zk.create("/members/omega", b"", ephemeral=True)
os._exit(0)
"""


def summary(zk):
    try:
        return json.loads(zk.get("/members-summary")[0].decode())
    except Exception:  # noqa: BLE001 - not there yet
        return None


if corrald_only("Lua examples"):
    srv = lua_server(["config_version.lua", "json_only.lua", "members_summary.lua",
                      "threshold_watch.lua"])
    ok(log_has(srv, "4 script(s) loaded"), "the four examples load together")
    zk = kazoo(srv.hosts)

    # --- json_only ---
    zk.create("/json", b"")
    zk.create("/json/a", b'{"x": [1, 2.5e3, "\\u00e9", true, null]}')
    is_(zk.get("/json/a")[0], b'{"x": [1, 2.5e3, "\\u00e9", true, null]}', "JSON data is accepted")
    raises(BadArgumentsError, lambda: zk.create("/json/b", b"{x: 1}"),
           "creating a node with non-JSON data under /json fails with BadArguments")
    ok(zk.exists("/json/b") is None, "and the node was not created")
    raises(BadArgumentsError, lambda: zk.set("/json/a", b'[1, 2,]'),
           "setting non-JSON data under /json fails with BadArguments")
    raises(BadArgumentsError, lambda: zk.set("/json/a", b'01'), "a number with a leading zero is not JSON")
    raises(BadArgumentsError, lambda: zk.set("/json/a", b'{"a":1} x'), "trailing characters are not JSON")
    is_(zk.get("/json/a")[1].version, 0, "the refused sets changed nothing")
    zk.set("/json/a", b' [ ] ')
    is_(zk.get("/json/a")[1].version, 1, "a set with JSON data passes")
    ok(log_has(srv, "/json/b: data is not JSON"), "the refusal is logged with the path and the reason")
    zk.create("/notjson", b"{x: 1}")
    ok(zk.exists("/notjson") is not None, "non-JSON data outside /json is not checked")
    t = zk.transaction()
    t.create("/json/c", b"1")
    t.create("/json/d", b"nope")
    raises(BadArgumentsError, t.commit, "a multi with one non-JSON member fails as a whole with BadArguments")
    ok(zk.exists("/json/c") is None, "its JSON member was not created either")

    # --- members_summary ---
    zk.create("/members", b"")
    ok(wait_for(lambda: summary(zk) == {"count": 0, "members": []}),
       "an empty /members gives an empty summary")
    m1, m2, m3 = kazoo(srv.hosts), kazoo(srv.hosts), kazoo(srv.hosts)
    m1.create("/members/alpha", b"", ephemeral=True)
    m2.create("/members/beta", b"", ephemeral=True)
    m3.create("/members/gamma", b"", ephemeral=True)
    ok(wait_for(lambda: summary(zk) == {"count": 3, "members": ["alpha", "beta", "gamma"]}),
       "three ephemeral members join: the summary lists them")
    m1.delete("/members/alpha")
    ok(wait_for(lambda: summary(zk) == {"count": 2, "members": ["beta", "gamma"]}),
       "a member deletes its node: it leaves the summary")
    m2.stop()
    ok(wait_for(lambda: summary(zk) == {"count": 1, "members": ["gamma"]}),
       "a member's session closes: its ephemeral leaves the summary")
    m3.stop()
    ok(wait_for(lambda: summary(zk) == {"count": 0, "members": []}), "the last member leaves")
    # expiry: a member process dies without closing its session
    subprocess.run([sys.executable, "-c", CRASHING_MEMBER, srv.hosts], timeout=30, check=False)
    ok(wait_for(lambda: summary(zk) == {"count": 1, "members": ["omega"]}),
       "a member of a process that dies joins")
    ok(wait_for(lambda: summary(zk) == {"count": 0, "members": []}, timeout=20),
       "its session expires: the summary empties")
    changes = []
    zk.DataWatch("/members-summary", lambda d, s: changes.append(d))
    m4 = kazoo(srv.hosts)
    m4.create("/members/delta", b"", ephemeral=True)
    ok(wait_for(lambda: any(c and b"delta" in c for c in changes)),
       "a watcher of /members-summary alone sees members join")
    m4.stop()
    m1.stop()

    # --- threshold_watch ---
    zk.create("/metrics", b"")
    zk.create("/metrics/cpu", b"10")
    zk.create("/metrics/mem", b"10")
    watcher = kazoo(srv.hosts)
    seen, other = [], []
    lock = threading.Lock()

    def on_cpu(data, stat):
        with lock:
            seen.append(data)

    watcher.DataWatch("/metrics/cpu", on_cpu)
    watcher.DataWatch("/metrics/mem", lambda d, s: other.append(d))
    wait_for(lambda: len(seen) == 1 and len(other) == 1)
    is_(seen, [b"10"], "DataWatch reads the initial value")
    for v in (b"20", b"50", b"99"):
        zk.set("/metrics/cpu", v)
    zk.set("/metrics/cpu", b"150")          # crossing up
    ok(wait_for(lambda: seen[-1] == b"150"), "crossing the threshold upwards fires the watch")
    with lock:
        is_(seen, [b"10", b"150"], "the changes below the threshold fired nothing")
    for v in (b"160", b"500", b"101"):
        zk.set("/metrics/cpu", v)
    zk.set("/metrics/cpu", b"3")            # crossing down
    ok(wait_for(lambda: seen[-1] == b"3"), "crossing downwards fires the watch")
    with lock:
        is_(seen, [b"10", b"150", b"3"], "changes staying above fired nothing")
    zk.set("/metrics/mem", b"11")
    zk.set("/metrics/mem", b"200")
    ok(wait_for(lambda: other[-1] == b"200"), "a watch on another metric fires on its own crossing")
    is_(other, [b"10", b"200"], "and not on its change below the threshold")
    zk.create("/metrics-threshold", b"5")
    zk.set("/metrics/cpu", b"7")
    ok(wait_for(lambda: seen[-1] == b"7"), "/metrics-threshold moves the threshold (3 -> 7 crosses 5)")
    zk.delete("/metrics/cpu")
    ok(wait_for(lambda: seen[-1] is None), "a deletion always passes")
    watcher.stop()

    # --- config_version, still counting ---
    zk.create("/config", b"")
    zk.create("/config/a", b"1")
    is_(zk.get("/config/version")[1].version, 1, "config_version counts alongside the others")
    zk.stop()
    srv.check_clean_exit()

done()
