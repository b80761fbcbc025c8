#!/usr/bin/python3
"""t0630 — reloading scripts under load.  Four kazoo sessions keep pipelined
creates under /load in flight while the trigger script is rewritten and
reloaded 20 times (alternately `rlod` — what `corral reload` sends — and
SIGHUP).  Every create is acknowledged, every acknowledged node exists, and
each create got exactly one trigger bump (from the old or the new script,
never none, never two): the swap is atomic and loses no request.  A reload
of a broken script is refused and the previous scripts keep running."""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import BUILD, corrald_only, diag, done, is_, kazoo, ok, wait_for  # noqa: E402
from luatest import log_count, lua_server, reload  # noqa: E402

TRIGGER = '''
-- version %(version)s
corral.on_write("/load", function(req)
  if req.op == "create" then
    return {op = "set", path = "/counter", data = "%(version)s"}
  end
end)
'''

if corrald_only("Lua reload"):
    folder = tempfile.mkdtemp(prefix="corral-lua-reload-")
    script = os.path.join(folder, "trigger.lua")

    def write_script(version, broken=False):
        text = TRIGGER % {"version": version}
        if broken:
            text += "\nthis is not Lua\n"
        with open(script + ".tmp", "w") as f:
            f.write(text)
        os.rename(script + ".tmp", script)

    write_script("v0")
    srv = lua_server([script], {"plugin.lua.instructionLimit": "100000"})
    zk = kazoo(srv.hosts)
    zk.create("/counter", b"")
    zk.create("/load", b"")

    stop = threading.Event()
    acked, failed = [], []
    lock = threading.Lock()

    def writer(i):
        c = kazoo(srv.hosts)
        n = 0
        while not stop.is_set():
            batch = []
            for _ in range(16):
                path = "/load/w%d-%06d" % (i, n)
                n += 1
                batch.append((path, c.create_async(path, b"x")))
            for path, a in batch:
                try:
                    a.get(timeout=20)
                    with lock:
                        acked.append(path)
                except Exception as e:  # noqa: BLE001 - every failure counts
                    with lock:
                        failed.append((path, repr(e)))
        c.stop()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) > 200)

    def acked_count():
        with lock:
            return len(acked)

    reloads = served_after = 0
    for r in range(1, 21):
        write_script("v%d" % r)
        before = log_count(srv, "scripts reloaded")
        if r % 2:
            reload(srv)
        else:
            srv.proc.send_signal(signal.SIGHUP)
        if wait_for(lambda: log_count(srv, "scripts reloaded") > before):
            reloads += 1
        # the writers go on between reloads: more creates are acknowledged
        # after this swap before the next one comes
        mark = acked_count()
        if wait_for(lambda: acked_count() >= mark + 20, 20):
            served_after += 1
    is_(reloads, 20, "20 reloads (rlod and SIGHUP) under load each swapped the scripts")
    is_(served_after, 20, "the writers kept writing throughout: creates were acknowledged after each swap")

    write_script("v20")
    before = log_count(srv, "scripts reloaded")
    cli = subprocess.run([os.path.join(BUILD, "tools", "corral"), "-s", srv.hosts, "reload"],
                         capture_output=True, text=True, timeout=30)
    ok(cli.returncode == 0 and wait_for(lambda: log_count(srv, "scripts reloaded") > before),
       "`corral reload` reloads the scripts too")

    write_script("broken", broken=True)
    before = log_count(srv, "reload failed")
    reload(srv)
    ok(wait_for(lambda: log_count(srv, "reload failed") > before),
       "a broken script fails the reload, logged")
    mark = acked_count()
    ok(wait_for(lambda: acked_count() >= mark + 20, 20), "and the writes go on under the old scripts")
    stop.set()
    for t in threads:
        t.join(60)

    with lock:
        n_acked, n_failed = len(acked), len(failed)
    diag("%d creates acknowledged during the reloads" % n_acked)
    is_(failed[:3], [], "no create failed during the reloads")
    children = set(zk.get_children("/load"))
    is_(len(children), n_acked, "every acknowledged create is in the tree")
    ok(set(p.rsplit("/", 1)[1] for p in acked) == children, "exactly the acknowledged nodes")
    is_(zk.get("/counter")[1].version, n_acked + 1,     # + the create of /load itself
        "each create got exactly one trigger bump across the swaps (none lost, none doubled)")
    is_(zk.get("/counter")[0], b"v20", "the last writes went through the last good script")
    zk.create("/load/after", b"")
    is_(zk.get("/counter")[0], b"v20", "after the refused reload the previous scripts still run")
    zk.stop()
    srv.check_clean_exit()

done()
