#!/usr/bin/python3
"""t0620 — the Lua sandbox: what a script cannot reach, and what happens
when a hook misbehaves.  An infinite loop (also one hiding inside pcall) is
stopped by the instruction limit, a memory bomb (local or global) by the
memory limit, a runtime error or a bad call into the corral API is logged
with file:line; in every case the hook is skipped — the client's write goes
through — and the server keeps serving other clients at once.  os, io,
package, debug, load, loadfile, dofile, coroutine, collectgarbage and
string.dump are absent; setmetatable refuses __gc; require() finds only text files of plugin.lua.path
and refuses precompiled bytecode; names cannot climb out of the path."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import corrald_only, diag, done, is_, kazoo, ok  # noqa: E402
from luatest import log_count, log_has, lua_server  # noqa: E402

SANDBOX = r'''
local forbidden = {}
for _, name in ipairs{"os", "io", "package", "debug", "load", "loadfile", "dofile",
                      "coroutine", "collectgarbage"} do
  if _G[name] ~= nil then forbidden[#forbidden + 1] = name end
end
if string.dump ~= nil then forbidden[#forbidden + 1] = "string.dump" end
local function try(f, ...) local ok, err = pcall(f, ...); return ok and "loaded" or tostring(err) end
local report = table.concat(forbidden, ",") .. "|" .. try(require, "bytecode") ..
               "|" .. try(require, "..secret") .. "|" .. try(require, "helper") ..
               "|" .. try(setmetatable, {}, {__gc = function() while true do end end}) ..
               "|" .. try(setmetatable, {}, {__index = {}})

corral.on_write("/probe", function(req)
  return {op = "create", path = "/probe/report", data = report}
end)

corral.on_write("/loop", function(req)
  while true do end
end)

corral.on_write("/pcall-loop", function(req)
  while true do pcall(function() while true do end end) end
end)

corral.on_write("/bomb", function(req)
  local t = {}
  for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end
end)

corral.on_write("/huge", function(req)
  local s = string.rep("x", 1 << 30)
end)

corral.on_write("/error", function(req)
  error("deliberate failure")
end)

corral.on_write("/badcall", function(req)
  corral.create({})
end)

corral.on_write("/badanswer", function(req)
  return "NoSuchError"
end)

-- still works after everything above
corral.on_write("/fine", function(req)
  return {op = "create", path = req.path .. "-mirror", data = req.data}
end)

corral.on_write("/global-bomb", function(req)
  hoard = hoard or {}
  for i = 1, 1e9 do hoard[#hoard + 1] = string.rep("y", 1000) .. i end
end)
'''

HELPER = "return {answer = 42}\n"
# "\27Lua" + version 0x54: the header of precompiled Lua 5.4 bytecode
BYTECODE = b"\x1bLuaT\x00\x19\x93\r\n\x1a\n\x04\x08\x08xV\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00(w@\x01"


def timed(fn):
    t0 = time.time()
    fn()
    return time.time() - t0


if corrald_only("Lua sandbox"):
    import tempfile
    libdir = tempfile.mkdtemp(prefix="corral-lua-lib-")
    with open(os.path.join(libdir, "helper.lua"), "w") as f:
        f.write(HELPER)
    with open(os.path.join(libdir, "bytecode.lua"), "wb") as f:
        f.write(BYTECODE)
    srv = lua_server([("sandbox.lua", SANDBOX)],
                     {"plugin.lua.instructionLimit": "200000",
                      "plugin.lua.memoryLimit": str(8 << 20),
                      "plugin.lua.path": libdir})
    zk = kazoo(srv.hosts)
    other = kazoo(srv.hosts)

    zk.create("/probe", b"")
    report = zk.get("/probe/report")[0].decode()
    diag("probe: " + report)
    forbidden, bytecode, climb, helper, gc, plain_mt = report.split("|")
    is_(forbidden, "", "no os, io, package, debug, load*, dofile, coroutine, collectgarbage, string.dump")
    ok("attempt to load a binary chunk" in bytecode, "require() refuses precompiled bytecode")
    ok("bad module name" in climb, "require() names cannot climb out of plugin.lua.path")
    is_(helper, "loaded", "require() loads a text module from plugin.lua.path")
    ok("__gc metamethods are not allowed" in gc,
       "setmetatable refuses __gc (finalizers run with hooks off: a loop there could not be stopped)")
    is_(plain_mt, "loaded", "setmetatable without __gc works")

    for path, mark in (("/loop", "instruction limit (200000) exceeded"),
                       ("/pcall-loop", "instruction limit (200000) exceeded"),
                       ("/bomb", "not enough memory (plugin.lua.memoryLimit)"),
                       ("/huge", "not enough memory (plugin.lua.memoryLimit)")):
        before = log_count(srv, mark)
        took = timed(lambda: zk.create(path, b"data"))
        ok(zk.exists(path) is not None, "%s: the hook is stopped and skipped; the write goes through" % path)
        ok(took < 3.0, "%s: stopped quickly (%.2f s)" % (path, took))
        ok(log_has(srv, "%s (hook skipped)" % mark) and log_count(srv, mark) > before,
           "%s: logged as '%s'" % (path, mark))
        is_(other.get("/probe")[0], b"", "%s: another client is served right after" % path)

    ok(log_has(srv, "sandbox.lua:18): /"), "a failed hook's log line names where it was registered")
    ok(log_has(srv, "sandbox.lua:19: instruction limit"), "the loop's error names file:line")
    ok(log_has(srv, "sandbox.lua:26): not enough memory"), "a memory error names the hook's file:line")
    ok(log_has(srv, "sandbox.lua:23: instruction limit"), "the pcall-wrapped loop is stopped at its line too")

    zk.create("/error", b"")
    ok(zk.exists("/error") is not None, "a hook raising an error is skipped")
    ok(log_has(srv, "sandbox.lua:36: deliberate failure (hook skipped)"), "its error is logged with file:line")
    zk.create("/badcall", b"")
    ok(log_has(srv, "sandbox.lua:40: bad argument #1 to 'create' (string expected, got table)"),
       "a bad call into the corral API is logged at the script's line")
    zk.create("/badanswer", b"")
    ok(zk.exists("/badanswer") is not None and log_has(srv, "unknown ZooKeeper error 'NoSuchError'"),
       "an answer that is no ZooKeeper error is a script error: logged, skipped")

    zk.create("/fine", b"ok")
    is_(zk.get("/fine-mirror")[0], b"ok", "after all that, a well-behaved hook still runs")

    took = timed(lambda: zk.create("/global-bomb", b""))
    ok(zk.exists("/global-bomb") is not None and took < 3.0,
       "a memory bomb kept in a global is stopped too (%.2f s)" % took)
    for i in range(20):
        other.create("/after-%d" % i, b"x")
    is_(len([c for c in other.get_children("/") if c.startswith("after-")]), 20,
        "the server keeps serving writes while the state sits at its memory limit")
    zk.stop()
    other.stop()
    diag("\n".join(line[24:200] for line in srv.output().splitlines() if "] lua:" in line))
    srv.check_clean_exit()

done()
