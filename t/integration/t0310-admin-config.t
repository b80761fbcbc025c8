#!/usr/bin/python3
"""t0310 — AdminServer configuration: admin.enableServer=false leaves the
port closed; a port already in use is a WARN line and the server still
starts and serves clients (two servers on one host); admin.commandURL moves
the commands; a bad admin.* value is refused at start naming the key."""
import os, socket, subprocess, sys, urllib.error, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *


def http_status(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


# ---- disabled -------------------------------------------------------------------
port = free_port()
off = Corrald({"admin.enableServer": "false", "admin.serverPort": str(port),
               "admin.serverAddress": "127.0.0.1"})
ok(refused(port), "admin.enableServer=false: nothing listens on admin.serverPort")
is_(four_letter(off.port, "ruok"), "imok", "... and the client port still serves")
off.check_clean_exit("disabled AdminServer: clean exit")

# ---- port in use --------------------------------------------------------------------
blocker = socket.socket()
blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
blocker.bind(("127.0.0.1", 0))
blocker.listen(1)
busy = blocker.getsockname()[1]
srv = Corrald({"admin.serverPort": str(busy), "admin.serverAddress": "127.0.0.1"})
ok(srv.proc.poll() is None, "admin.serverPort already in use: corrald still starts")
zk = kazoo(srv.hosts)
zk.create("/still-works", b"1")
is_(zk.get("/still-works")[0], b"1", "... and serves clients")
zk.stop(); zk.close()
log = srv.output()
ok(any("[WARN]" in l and "AdminServer" in l and str(busy) in l for l in log.splitlines()),
   "... with a WARN line naming the port")
srv.check_clean_exit("busy admin port: clean exit")
blocker.close()

# ---- two servers, one admin port: the first answers, the second warns -------------------
shared = free_port()
a = Corrald({"admin.serverPort": str(shared), "admin.serverAddress": "127.0.0.1"})
b = Corrald({"admin.serverPort": str(shared), "admin.serverAddress": "127.0.0.1"})
is_(http_status(shared, "/commands/ruok"), 200, "two servers on one admin port: the first answers")
is_(four_letter(b.port, "ruok"), "imok", "... the second runs anyway")
ok("[WARN]" in b.output() and "AdminServer" in b.output(), "... and logged a WARN")
a.check_clean_exit("first server: clean exit")
b.check_clean_exit("second server: clean exit")

# ---- commandURL ------------------------------------------------------------------------
port = free_port()
moved = Corrald({"admin.serverPort": str(port), "admin.serverAddress": "127.0.0.1",
                 "admin.commandURL": "/zk/cmds/"})
is_(http_status(port, "/zk/cmds/ruok"), 200, "admin.commandURL=/zk/cmds/: commands served there")
is_(http_status(port, "/zk/cmds"), 200, "... with the list at the URL itself")
is_(http_status(port, "/commands/ruok"), 404, "... and not under /commands")
moved.check_clean_exit("moved commandURL: clean exit")

# ---- bad values: ZooKeeper starts with its own keys' (a bad number is the default,
# enableServer is off only for "false"), so corrald does too, with a warning naming the
# key; Corral's own URL check still refuses --------------------------------------------
for key, value in (("admin.serverPort", "http"), ("admin.enableServer", "maybe"),
                   ("admin.idleTimeout", "0")):
    lax = Corrald({key: value, "admin.serverAddress": "127.0.0.1",
                   "admin.serverPort": str(free_port()) if key != "admin.serverPort" else value})
    ok("[WARN]" in lax.output() and "key '%s'" % key in lax.output(),
       "%s=%s starts, as in ZooKeeper, with a warning naming the key" % (key, value))
    lax.check_clean_exit("%s=%s: clean exit" % (key, value))
bad = Corrald({"admin.commandURL": "/a b<"}, start=False)
p = subprocess.run([CORRALD, "-c", bad.cfg], capture_output=True, text=True, timeout=20)
ok(p.returncode != 0 and "admin.commandURL" in p.stderr + p.stdout, "admin.commandURL=/a b< is refused, naming the key")

done()
