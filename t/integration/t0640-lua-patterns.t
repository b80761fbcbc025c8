#!/usr/bin/python3
"""t0640 — Lua patterns are bounded and still Lua's.

The sandbox's string.find/match/gmatch/gsub (plugins/lua/pattern.c) count
matcher steps against the hook's instruction limit.  Pathological patterns
that held the stock matcher for minutes — the trim idiom on 80 KB of spaces
between two letters, ("a"):rep(1e5):find(".-.-.-.-b"), the same through
gsub and gmatch, a loop of smaller ones, one caught by the script's own
pcall — each end with the usual instruction-limit error within the limit:
the write goes on without the hook, and another client is answered at once.
An 80 KB trim of ordinary text still fits the default limit.  Equivalence:
the same Lua chunk (fixed cases, every odd argument, and thousands of
generated subject/pattern pairs, errors included) gives byte-identical
results in corrald's sandbox and in the stock liblua5.4, called here
through ctypes."""
import ctypes
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import corrald_only, diag, done, is_, kazoo, ok  # noqa: E402
from luatest import log_has, lua_server  # noqa: E402

# One chunk, run by both sides; it returns one line per case.
EQUIV = r'''
local out = {}
local function ser(...)
  local t = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    t[i] = type(v) == "string" and string.format("%q", v) or tostring(v)
  end
  return table.concat(t, ",")
end
local function try(f, ...) return ser(pcall(f, ...)) end
local function collect(s, p, init)
  local r = {}
  for a, b, c in string.gmatch(s, p, init) do
    r[#r + 1] = ser(a, b, c)
    if #r > 50 then break end
  end
  return table.concat(r, ";")
end
local function repl(a, b)
  if b then return b .. a end
  return a == "b" and false or "[" .. tostring(a) .. "]"
end
local function case(s, p, init)
  out[#out + 1] = table.concat({try(string.find, s, p, init), try(string.find, s, p, init, true),
    try(string.match, s, p, init), try(collect, s, p, init), try(string.gsub, s, p, "<%0>"),
    try(string.gsub, s, p, "%1-%%", 2), try(string.gsub, s, p, {a = "A", [""] = false, x = 7}),
    try(string.gsub, s, p, repl)}, " | ")
end
local fixed = {
  {"  hello world  ", "^%s*(.-)%s*$"}, {"hello", "l+"}, {"hello", "(h)(e)(l)"}, {"hello", "()ll()"},
  {"THE (quick) fox", "%((%a+)%)"}, {"f(a(b)c)d", "%b()"}, {"THE (quick) fox", "%f[%a]%a+"},
  {"key = value", "(%w+)%s*=%s*(%w+)"}, {"abcabc", "(abc)%1"}, {"a.b.c", "%."}, {"a.b.c", "."},
  {"x", "[]]"}, {"]", "[]]"}, {"a-b", "[a-]"}, {"a-b", "[%a-]+"}, {"hello", "[^l]+"}, {"\0a\0", "%z"},
  {"a\0b", "\0"}, {"a\0b", "[\0]"}, {"abc", ""}, {"", ""}, {"abc", "^"}, {"abc", "$"}, {"a$b", "$b"},
  {"abc", "^(a)"}, {"aaa", "a-"}, {"aaa", "a-$"}, {"aaa", "a?a?a?a?"}, {"12ab", "%d+%a+"}, {"hello", "%"},
  {"hello", "[a"}, {"hello", "%f"}, {"hello", "%fx"}, {"hello", "%b"}, {"hello", "%bx"}, {"hello", "(l"},
  {"hello", "l)"}, {"hello", "(l))"}, {"hello", "%1"}, {"hello", "(l)%2"}, {"hello", "(()"},
  {"hello", "%0"}, {"a,b,,c", "([^,]*)"}, {"one two  three", "%a*"}, {"abc", "[%w_]"}, {"aXb", "%u"},
  {"a b", "%S+"}, {"\t\n ", "%s"}, {"x=1, y=2", "(%w+)=(%w+)"}, {"hello world", "o", 6}, {"hello", "l", -2},
  {"hello", "l", -100}, {"hello", "l", 100}, {"hello", "", 6}, {"hello", "", 7}, {"hello", "h", 0},
  {string.rep("(", 40) .. "a", string.rep("(", 33)}, {"a", string.rep("a?", 300)},
  {string.rep("a", 300), string.rep("a?", 250) .. "b"}, {"[]", "[[]]"}, {"^", "[^^]"}, {"^a", "^^a"},
  {"%", "%%"}, {"a.b", "[.]"}, {"a+b", "a+b"}, {"a+b", "a%+b"}, {"q", "[%]]"}, {"x-y", "[x-]"},
  {"-", "[-x]"}, {"\195\169", "[\128-\255]+"}, {"THE END", "%f[%z]"}, {"abc", "%f[^%z]"}, {"ab", "%f[a]"},
}
for _, c in ipairs(fixed) do case(c[1], c[2], c[3]) end
out[#out + 1] = table.concat({try(string.gsub, "abc", "b"), try(string.gsub, "abc", "b", true),
  try(string.gsub, "abc", "b", "x", "y"), try(string.gsub, "abc", "%w", "%", 2),
  try(string.gsub, "abc", "%w", "%x"), try(string.gsub, "abc", "(b)", "%2"),
  try(string.gsub, "abc", "%w", 5), try(string.gsub, 123, 2, 9), try(string.find, 12345, 3),
  try(string.find, nil, "a"), try(string.find, "abc", {}), try(string.match, "abc", "b", "x"),
  try(string.gmatch, "abc"), try(string.gsub, "abc", "", "-"), try(string.gsub, "abc", "%w", "%0%0", 0),
  try(string.gsub, "abc", "%w", "x", -1), try(string.gsub, "abc", "b", {b = {}}),
  try(string.gsub, "abc", "()b", "%1"), try(string.gsub, "abc", "(b)", function() return 1.5 end),
  try(string.gsub, "hello world", "(o)", "%1%1", 1), try(("x"):rep(5).gsub, ("x"):rep(5), "x*", "-"),
  try(function() return ("abc"):find("b", 1, true) end)}, " | ")
-- generated cases from a fixed LCG: both sides see the same sequence
local seed = 12345
local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n + 1 end
local alphabet = {"a", "b", "c", " ", "(", ")", "%", "-", ".", "[", "]", "^", "$", "1", "\0", "x"}
local pieces = {"a", "b", ".", "%a", "%s", "%d", "%w", "%A", "[ab]", "[^a]", "[a-c]", "[%s%d]", "(", ")",
  "()", "*", "+", "-", "?", "^", "$", "%b()", "%f[%a]", "%f[%A]", "%1", "%2", "%", "[", "]",
  "%%", "%(", "%.", "x", " ", "[]a]", "%bab", "[^%]]", "\0"}
for _ = 1, 3000 do
  local s, p = {}, {}
  for i = 1, rnd(16) - 1 do s[i] = alphabet[rnd(#alphabet)] end
  for i = 1, rnd(9) do p[i] = pieces[rnd(#pieces)] end
  case(table.concat(s), table.concat(p), rnd(4) == 1 and rnd(16) - 8 or nil)
end
return table.concat(out, "\n")
'''

EQUIV_HOOK = "local function run()\n" + EQUIV + "\nend\n" + r'''
corral.on_write("/equiv", function(req)
  local out = run()
  for i = 1, #out, 200000 do
    corral.create(string.format("/equiv/%04d", i // 200000), out:sub(i, i + 199999))
  end
  corral.create("/equiv-done", tostring(#out))
end)
'''

# Each hook's pattern call is on the line named in LINES (file:line of the error).
BOUNDED = r'''local spaced = "a" .. (" "):rep(80000) .. "b"
local as = ("a"):rep(100000)
corral.on_write("/trim", function() return {op = "create", path = "/trim/out", data = spaced:match("^%s*(.-)%s*$")} end)
corral.on_write("/find", function() return {op = "create", path = "/find/out", data = tostring(as:find(".-.-.-.-b"))} end)
corral.on_write("/gsub", function() return {op = "create", path = "/gsub/out", data = (as:gsub(".-.-.-.-b", "x"))} end)
corral.on_write("/gmatch", function() local n = 0; for _ in as:gmatch(".-.-.-b") do n = n + 1 end; return {op = "create", path = "/gmatch/out", data = tostring(n)} end)
corral.on_write("/many", function() local s = ("a"):rep(100); for _ = 1, 1e6 do s:find(".-.-b") end; return {op = "create", path = "/many/out"} end)
corral.on_write("/caught", function() local _, err = pcall(string.find, as, ".-.-.-.-b"); return {op = "create", path = "/caught/out", data = tostring(err)} end)
corral.on_write("/gsub-fn", function() local n = 0; (as .. as:sub(40001)):gsub("a", function() n = n + 1 end); return {op = "create", path = "/gsub-fn/out", data = tostring(n)} end)
corral.on_write("/normal", function()
  local v = "  " .. ("word "):rep(16000) .. " \t "
  local t = v:match("^%s*(.-)%s*$")
  local _, n = v:gsub("word", "w")
  return {op = "create", path = "/normal/out", data = #t .. " " .. n}
end)
'''
LINES = {"/trim": 3, "/find": 4, "/gsub": 5, "/gmatch": 6, "/many": 7, "/caught": 8, "/gsub-fn": 9}
LIMIT_MSG = "instruction limit (1000000) exceeded"


def stock_lua(chunk, name):
    """Run chunk (named @name) in the system's stock liblua5.4, all standard
    libraries open, and return the string it returns."""
    lua = ctypes.CDLL("liblua5.4.so.0")
    vp = ctypes.c_void_p
    lua.luaL_newstate.restype = vp
    lua.luaL_openlibs.argtypes = [vp]
    lua.luaL_loadbufferx.argtypes = [vp, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                     ctypes.c_char_p]
    lua.lua_pcallk.argtypes = [vp, ctypes.c_int, ctypes.c_int, ctypes.c_int, vp, vp]
    lua.lua_tolstring.argtypes = [vp, ctypes.c_int, ctypes.POINTER(ctypes.c_size_t)]
    lua.lua_tolstring.restype = ctypes.POINTER(ctypes.c_char)
    lua.lua_close.argtypes = [vp]
    L = lua.luaL_newstate()
    lua.luaL_openlibs(L)
    text = chunk.encode()
    rc = lua.luaL_loadbufferx(L, text, len(text), b"@" + name.encode(), b"t")
    if rc == 0:
        rc = lua.lua_pcallk(L, 0, 1, 0, None, None)
    n = ctypes.c_size_t()
    p = lua.lua_tolstring(L, -1, ctypes.byref(n))
    out = ctypes.string_at(p, n.value) if p else b""
    lua.lua_close(L)
    if rc != 0:
        raise RuntimeError("stock Lua failed: %r" % out)
    return out


def outcome(pending, what, timeout=15):
    """A kazoo async result's value, or None (and why) after an error or timeout."""
    try:
        return pending.get(timeout=timeout)
    except Exception as e:  # noqa: BLE001 - a stalled server is the failure being tested
        diag("%s: %r" % (what, e))
        return None


def first_difference(a, b):
    la, lb = a.split(b"\n"), b.split(b"\n")
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return "case %d:\n sandbox: %r\n   stock: %r" % (i + 1, x[:300], y[:300])
    return "line counts %d vs %d" % (len(la), len(lb))


if corrald_only("Lua patterns"):
    # --- equivalence with the stock library -------------------------------
    # the sandbox runs EQUIV one line down, inside run(); error positions
    # then agree once the script's folder is dropped
    want = stock_lua("\n" + EQUIV, "equiv.lua")
    srv = lua_server([("equiv.lua", EQUIV_HOOK)], {"plugin.lua.instructionLimit": "2000000000"})
    zk = kazoo(srv.hosts)
    zk.create("/equiv", b"")
    got_len = zk.get("/equiv-done")[0] if zk.exists("/equiv-done") else b"?"
    got = b"".join(zk.get("/equiv/" + c)[0] for c in sorted(zk.get_children("/equiv")))
    got = re.sub(rb'"[^"|]*/equiv\.lua:', b'"equiv.lua:', got)
    diag("%d cases, %d bytes of results (sandbox says %s)" % (want.count(b"\n") + 1, len(want),
                                                              got_len.decode()))
    if not ok(got == want, "find/match/gmatch/gsub give exactly the stock library's results and errors"):
        diag(first_difference(got, want))
    zk.stop()
    srv.check_clean_exit("equivalence server stops cleanly, sanitizers silent")

    # --- pathological patterns are stopped within the limit ------------------
    srv = lua_server([("bounded.lua", BOUNDED)])     # default limits: 1000000 instructions
    zk = kazoo(srv.hosts)
    other = kazoo(srv.hosts)
    other.create("/other", b"here")
    stalled = False
    for path in ("/trim", "/find", "/gsub", "/gmatch", "/many", "/caught", "/gsub-fn"):
        if stalled:     # an earlier hook still holds the loop: nothing more to learn
            ok(False, "%s: not tried, the server is stalled by an earlier pattern" % path)
            continue
        t0 = time.time()
        pending = zk.create_async(path, b"")
        seen = outcome(other.get_async("/other"), path + ": other client")
        other_took = time.time() - t0
        created = outcome(pending, path) is not None
        took = time.time() - t0
        ok(created and took < 3.0, "%s: the hook is stopped and the write goes on (%.2f s)" % (path, took))
        ok(seen is not None and seen[0] == b"here" and other_took < 3.0,
           "%s: another client is answered meanwhile (%.2f s)" % (path, other_took))
        ok(log_has(srv, "bounded.lua:%d: %s (hook skipped)" % (LINES[path], LIMIT_MSG), timeout=2),
           "%s: logged as the instruction limit, at the pattern's line" % path)
        ok(created and zk.exists(path + "/out") is None,
           "%s: nothing after the stopped call ran (not even after the script's own pcall)" % path)
        stalled = not created

    if stalled:
        srv.proc.kill()
        ok(False, "the server could be stopped cleanly (it was stalled and had to be killed)")
    else:
        zk.create("/normal", b"")
        is_(zk.get("/normal/out")[0], b"79999 16000",
            "an 80 KB trim and gsub of ordinary text fit the default limit")
        zk.stop()
        other.stop()
        srv.check_clean_exit()

done()
