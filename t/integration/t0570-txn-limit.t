#!/usr/bin/python3
"""t0570 — one txn limit for writer and reader: a write whose txn would be
larger is refused before it is logged.

The txn log must always read back, by corrald and by Apache ZooKeeper 3.8,
whose reader refuses entries longer than jute.maxbuffer +
jute.maxbuffer.extrasize (2 * 1048575 by default).  A ZooKeeper client's
frame is bounded by jute.maxbuffer, but a Lua trigger's added operations are
not: before, such a txn was logged whatever its size, and a data dir with one
ZooKeeper cannot read (or past 64 MiB, one corrald cannot start from) was
the result.  Now the write is refused with MarshallingError (ZooKeeper's code
for a request it cannot serialize), a log line names the limit, nothing
changes, and the server restarts; a txn just under the limit is taken, and
the limit follows jute.maxbuffer.extrasize.  The server's own writes (a
script's corral.set) and protobuf messages (which may be larger than
jute.maxbuffer) are held to the same limit."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import corrald_only, done, is_, kazoo, ok, raises, wait_for  # noqa: E402
from luatest import log_has, lua_server  # noqa: E402
from protobuf_client import PbClient, PbCorrald  # noqa: E402
from kazoo.exceptions import MarshallingError  # noqa: E402

SCRIPT = ("big.lua", """
local MB = 1048576
-- Each set is 0.75 MB, so every node stays readable by a client (a reply is
-- bounded by jute.maxbuffer); the txns are what grow past it.
-- /big/three-*: three sets with the client's create (2.25 MB: too big)
-- /big/two-*: two (1.5 MB: more than jute.maxbuffer, within the txn limit)
corral.on_write("/big/*", function(req)
  if req.op ~= "create" then return end
  local chunk = string.rep("x", 3 * MB // 4)
  local sets = {}
  for _, node in ipairs({"a", "b", "c"}) do
    sets[#sets + 1] = {op = "set", path = "/big/" .. node, data = chunk}
  end
  if req.path:find("^/big/three%-") then
    return sets
  end
  if req.path:find("^/big/two%-") then
    return {sets[1], sets[2]}
  end
end)
-- a write the server makes itself: 3 MB through corral.set
corral.on_commit("/trigger", function(txn)
  corral.set("/big/a", string.rep("y", 3 * MB))
end)
""")

LIMIT_LINE = ("more than the txn limit of 2097150 bytes (jute.maxbuffer 1048575 + "
              "jute.maxbuffer.extrasize 1048575)")

if corrald_only("txn limit"):
    srv = lua_server([SCRIPT], {"module.storage": "file", "snapCount": "100000"})
    zk = kazoo(srv.hosts)
    zk.create("/big", b"")
    zk.create("/big/a", b"a0")
    zk.create("/big/b", b"b0")
    zk.create("/big/c", b"c0")

    raises(MarshallingError, lambda: zk.create("/big/three-1", b""),
           "a create whose trigger adds 2.25 MB: MarshallingError")
    ok(log_has(srv, LIMIT_LINE), "a log line names the limit and where it comes from")
    ok(zk.exists("/big/three-1") is None, "the create did not happen")
    is_([zk.get("/big/" + n)[0] for n in "abc"], [b"a0", b"b0", b"c0"], "nor the trigger's sets")

    zk.create("/big/two-1", b"")
    is_([len(zk.get("/big/" + n)[0]) for n in "abc"], [786432, 786432, 2],
        "a create whose trigger adds 1.5 MB (past jute.maxbuffer) is taken")

    zk.create("/trigger", b"")
    ok(log_has(srv, "session 0x0: write (op 5") and zk.get("/big/a")[0][:1] == b"x",
       "a 3 MB write the server makes itself is refused the same way")
    zk.create("/big/after", b"fine")
    zk.stop()
    zk.close()

    ok(srv.stop() == 0, "corrald stops")
    srv.start()
    zk = kazoo(srv.hosts)
    ok(zk.exists("/big/two-1") and zk.exists("/big/after") and not zk.exists("/big/three-1"),
       "it restarts from its log with the taken writes and without the refused one")
    is_([len(zk.get("/big/" + n)[0]) for n in "ab"], [786432, 786432], "the 1.5 MB txn's values read back")
    zk.stop()
    zk.close()
    srv.check_clean_exit()

    # the limit follows the configuration
    srv = lua_server([SCRIPT], {"module.storage": "file", "jute.maxbuffer.extrasize": "2000000"})
    zk = kazoo(srv.hosts)
    zk.create("/big", b"")
    zk.create("/big/a", b"")
    zk.create("/big/b", b"")
    zk.create("/big/c", b"")
    zk.create("/big/three-2", b"")
    ok(zk.exists("/big/three-2") is not None,
       "with jute.maxbuffer.extrasize=2000000 the 2.25 MB txn fits the limit")
    zk.stop()
    zk.close()
    ok(srv.stop() == 0, "corrald stops")
    srv.start()
    zk = kazoo(srv.hosts)
    is_(len(zk.get("/big/c")[0]), 786432, "and reads back on restart")
    zk.stop()
    zk.close()
    srv.check_clean_exit()

    # a protobuf message may be larger than jute.maxbuffer; its txn meets the same limit
    srv = PbCorrald({"module.storage": "file", "protobuf.maxMessageSize": "4000000"})
    c = PbClient(srv.pb_port)
    c.connect()
    c.create("/p", b"")
    is_(c.set("/p", b"z" * 2200000).err, -5, "a 2.2 MB protobuf setData: MarshallingError (-5)")
    is_(c.set("/p", b"z" * 1500000).err, 0, "a 1.5 MB one (past jute.maxbuffer, within the limit) is taken")
    c.close()
    ok(srv.stop() == 0, "corrald stops")
    srv.start()
    c = PbClient(srv.pb_port)
    c.connect()
    is_(len(c.get("/p").data.data), 1500000, "and reads back on restart")
    c.close()
    srv.check_clean_exit()

done()
