#!/usr/bin/python3
"""t0641 — writes a script queues count against its memory limit.

A hook that calls corral.set() in a loop used to pile up a C copy of the
data per call, unseen by plugin.lua.memoryLimit (RSS went from 257 MB to
2 GB under a 64 MB limit).  Now each queued write holds its bytes against
the limit until the core takes it: past the limit corral.set raises (the
script sees the error; here it catches it and rejects the client's write
with it), the writes queued before that still go through, the bytes are
given back once they have gone (a second flood gets as far as the first),
and an on_write answer with more operations than the limit allows is
refused the same way.  The server's peak RSS (VmHWM) stays bounded and it
keeps serving other clients."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import corrald_only, diag, done, is_, kazoo, ok, wait_for  # noqa: E402
from luatest import log_has, lua_server  # noqa: E402

DATA = 20000
LIMIT = 4 << 20
FLOOD = r'''local d = string.rep("x", %d)
corral.on_write("/flood", function()
  local n = 0
  local ok, err = pcall(function() for _ = 1, 1e6 do corral.set("/sink", d); n = n + 1 end end)
  return "BadArguments", "queued " .. n .. "; " .. tostring(err)
end)
corral.on_write("/flood-ops", function()
  local t = {}
  for i = 1, 10000 do t[i] = {op = "set", path = "/sink", data = d} end
  return t
end)
''' % DATA


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def flood(zk, srv, round_):
    """One /flood call: how many writes it queued before the refusal, or None."""
    from kazoo.exceptions import BadArgumentsError, NoNodeError
    try:
        zk.create("/flood/%d" % round_, b"")
        return None
    except NoNodeError:         # the hook did not answer: it was stopped and skipped
        diag("the /flood hook was skipped: " + " | ".join(
            x[x.index("lua:"):][:200] for x in srv.output().splitlines() if "flood.lua:" in x))
        return None
    except BadArgumentsError:
        pass
    marker = "rejected create /flood/%d " % round_
    if not log_has(srv, marker):
        return None
    line = [x for x in srv.output().splitlines() if marker in x][-1]
    diag(line[line.index("lua:"):][:300])
    m = re.search(r"queued (\d+); .*corral\.set: the writes queued in this call would pass "
                  r"plugin\.lua\.memoryLimit; write refused", line)
    return int(m.group(1)) if m else None


if corrald_only("Lua write memory"):
    srv = lua_server([("flood.lua", FLOOD)],
                     {"plugin.lua.instructionLimit": "200000",
                      "plugin.lua.memoryLimit": str(LIMIT)})
    zk = kazoo(srv.hosts)
    other = kazoo(srv.hosts)
    zk.create("/sink", b"")
    before = vm_hwm_kb(srv.proc.pid)

    first = flood(zk, srv, 1)
    ok(first is not None and 0 < first <= LIMIT // DATA,
       "corral.set past the memory limit raises, after %r writes of %d bytes (limit %d)"
       % (first, DATA, LIMIT))
    ok(first is not None and wait_for(lambda: zk.get("/sink")[1].version == first, 10),
       "the writes queued before the limit still go through (/sink version %d)"
       % zk.get("/sink")[1].version)
    second = flood(zk, srv, 2)
    ok(first is not None and second is not None and second >= first * 0.9,
       "their bytes are given back once submitted: a second flood gets as far (%r vs %r)"
       % (second, first))

    t0 = time.time()
    zk.create("/flood-ops", b"")
    ok(log_has(srv, "on_write: the operations returned would pass plugin.lua.memoryLimit (hook skipped)")
       and zk.exists("/flood-ops") is not None,
       "an on_write answer with too many operations is refused the same way (hook skipped, %.2f s)"
       % (time.time() - t0))

    grew = (vm_hwm_kb(srv.proc.pid) - before) // 1024
    ok(grew < 150, "the server's peak RSS grew by %d MB (limit %d MB)" % (grew, LIMIT >> 20))
    t0 = time.time()
    for i in range(20):
        other.create("/after-%d" % i, b"x")
    is_(len([c for c in other.get_children("/") if c.startswith("after-")]), 20,
        "the server keeps serving (%.2f s for 20 creates)" % (time.time() - t0))
    zk.stop()
    other.stop()
    srv.check_clean_exit()

done()
