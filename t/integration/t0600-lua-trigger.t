#!/usr/bin/python3
"""t0600 — Lua plugin: loading and the before-write trigger, end to end with
kazoo.  lua/config_version.lua adds a setData of /config/version to every
write under /config, atomically: its stat.version counts the changes (also
under concurrent pipelined writers and in multis), a write that fails takes
its bump with it, a client setting /config/version gets NoAuth (the script's
chosen code) with a log line naming the script, and nodes outside /config
are untouched.  The module loads under its own name and a missing script
stops the server with a message naming it."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import Corrald, corrald_only, diag, done, is_, kazoo, ok, raises  # noqa: E402
from luatest import log_has, lua_server  # noqa: E402
from kazoo.exceptions import NoAuthError, NodeExistsError  # noqa: E402

if corrald_only("Lua plugin"):
    srv = lua_server(["config_version.lua"])
    ok(log_has(srv, "plugin module 'lua'"), "the plugin loads as plugin_lua.so")
    ok(log_has(srv, "1 script(s) loaded, 1 hook(s)"), "the script registered one hook")
    zk = kazoo(srv.hosts)

    zk.create("/config", b"")
    data, st = zk.get("/config/version")
    is_((data, st.version), (b"created", 0), "creating /config creates /config/version with it")

    zk.create("/config/db", b"a")
    zk.set("/config/db", b"b")
    zk.create("/config/cache", b"")
    zk.delete("/config/cache")
    data, st = zk.get("/config/version")
    is_(st.version, 4, "four changes under /config: /config/version at version 4")
    is_(data, b"delete /config/cache", "its data names the last change")

    # the bump commits in the client's txn: same zxid as the client's write
    zk.set("/config/db", b"c")
    is_(zk.get("/config/version")[1].mzxid, zk.exists("/config/db").mzxid,
        "the bump and the client's write commit in one txn (same zxid)")

    # a failing write takes its bump with it
    raises(NodeExistsError, lambda: zk.create("/config/db", b"again"),
           "a failing create under /config still fails for the client")
    is_(zk.get("/config/version")[1].version, 5, "and /config/version did not move")

    # multi: each member under /config counts
    t = zk.transaction()
    t.create("/config/x", b"1")
    t.create("/config/y", b"2")
    t.create("/elsewhere", b"3")
    res = t.commit()
    ok(all(not isinstance(r, Exception) for r in res), "a multi with two config members commits")
    is_(len(res), 3, "the client's multi reply keeps its own three results")
    is_(zk.get("/config/version")[1].version, 7, "two members: two more changes")

    # outside /config: no bump
    zk.set("/elsewhere", b"4")
    zk.create("/configuration", b"")       # a prefix pattern covers a subtree, not a name prefix
    is_(zk.get("/config/version")[1].version, 7, "writes outside /config are not counted")

    # rejection with the script's chosen code
    raises(NoAuthError, lambda: zk.set("/config/version", b"999"),
           "setting /config/version is rejected with NoAuth, the code the script chose")
    ok(log_has(srv, "config_version.lua:20) rejected set /config/version of session") and
       log_has(srv, "with NoAuth (-102): /config/version is maintained by config_version.lua"),
       "the rejection is logged naming the script and line")
    is_(zk.get("/config/version")[1].version, 7, "the rejected write changed nothing")

    # concurrent pipelined writers: the count is exact
    writers = [kazoo(srv.hosts) for _ in range(4)]
    for i, w in enumerate(writers):
        w.ensure_path("/config/w%d" % i)
    is_(zk.get("/config/version")[1].version, 11, "four more creates counted")
    asyncs = []
    for n in range(50):
        for i, w in enumerate(writers):
            asyncs.append(w.set_async("/config/w%d" % i, b"%d" % n))
    for a in asyncs:
        a.get(timeout=10)
    is_(zk.get("/config/version")[1].version, 211, "200 pipelined sets from 4 sessions: 200 bumps, none lost")
    for w in writers:
        w.stop()
    zk.stop()
    srv.check_clean_exit()

if corrald_only("missing script"):
    bad = Corrald({"module.plugins": "lua", "plugin.lua.scripts": "/nonexistent/x.lua"}, start=False)
    try:
        bad.start(timeout=10)
        ok(False, "corrald refuses to start with a missing script")
    except RuntimeError:
        ok("/nonexistent/x.lua" in bad.output(), "corrald refuses to start with a missing script, naming it")
        diag(bad.output().strip().splitlines()[-1] if bad.output() else "")

done()
