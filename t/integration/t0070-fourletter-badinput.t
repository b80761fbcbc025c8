#!/usr/bin/python3
"""t0070 — four-letter words (ruok, srvr, stat, mntr with zk_* keys, conf, cons,
envi with zookeeper.version=, wchs, isro) and the whitelist; and bad input
never hurts the server: an unknown opcode is answered ZUNIMPLEMENTED (-6) and
its connection closed; an oversized frame, a negative length, garbage and a
truncated record each close only that connection; and the server keeps
serving everyone else."""
import os, socket, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

srv = server_under_test()
zk = kazoo(srv.hosts)
zk.create("/fl", b"x")

is_(four_letter(srv.port, "ruok"), "imok", "ruok answers imok")
out = four_letter(srv.port, "srvr")
ok("Zookeeper version: " in out and "Mode: standalone" in out and "Node count: " in out,
   "srvr shows version, mode and node count")
ok("Clients:" in four_letter(srv.port, "stat"), "stat lists clients")
mntr = dict(l.split("\t", 1) for l in four_letter(srv.port, "mntr").splitlines() if "\t" in l)
for key in ("zk_version", "zk_server_state", "zk_znode_count", "zk_watch_count",
            "zk_ephemerals_count", "zk_num_alive_connections", "zk_outstanding_requests",
            "zk_avg_latency", "zk_packets_received"):
    ok(key in mntr, "mntr has %s" % key)
is_(mntr.get("zk_server_state"), "standalone", "mntr: standalone")
is_(mntr.get("zk_znode_count"), "6", "mntr counts nodes as ZooKeeper does (root twice + 3 system + /fl)")
ok("clientPort=%d" % srv.port in four_letter(srv.port, "conf"), "conf shows clientPort")
ok("/127.0.0.1:" in four_letter(srv.port, "cons"), "cons lists the client connection")
ok("zookeeper.version=" in four_letter(srv.port, "envi"), "envi has zookeeper.version=")
ok("connections watching" in four_letter(srv.port, "wchs"), "wchs summarises watches")
is_(four_letter(srv.port, "isro"), "rw", "isro answers rw")

limited = server_under_test({"4lw.commands.whitelist": "ruok"})
is_(four_letter(limited.port, "ruok"), "imok", "a whitelisted word is answered")
ok("is not executed because it is not in the whitelist" in four_letter(limited.port, "mntr"),
   "a word outside the whitelist is refused with ZooKeeper's message")
limited.check_clean_exit("the whitelisted server stops cleanly")

# unknown opcode
r = Raw(srv.port)
r.connect()
rep = r.request(7, 4242, b"whatever")
ok(rep is not None and (rep[0], rep[2]) == (7, -6), "an unknown opcode is answered ZUNIMPLEMENTED (-6)")
if rep:
    diag("reply to the unknown opcode: xid %d zxid %d err %d" % rep[:3])
ok(r.closed(5), "then the server closes that connection, as ZooKeeper does")
r.close()


def broken(desc, payload):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(payload)
    closed = False
    try:
        while True:
            d = s.recv(4096)
            if not d:
                closed = True
                break
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        closed = False      # the server should not sit on a broken connection
    s.close()
    ok(closed, desc)


connect = jint(0) + jlong(0) + jint(10000) + jlong(0) + jbuf(b"\0" * 16)
broken("an oversized frame (> jute.maxbuffer) closes the connection", jint(0x7ffffff0) + b"x" * 100)
broken("a negative frame length closes the connection", jint(-5))
broken("a truncated ConnectRequest closes the connection", jint(8) + b"\0" * 8)
r = Raw(srv.port)
r.connect()
r.send_frame(jint(9) + jint(1) + jint(1000000) + b"ab")     # create with a path longer than the frame
rep = r.reply()
ok(rep is not None and (rep[0], rep[2]) == (9, -5),
   "a request record shorter than its fields is answered ZMARSHALLINGERROR (-5), as ZooKeeper does")
rep = r.request(10, 3, jstr("/fl") + b"\0")
ok(rep is not None and (rep[0], rep[2]) == (10, 0), "and the connection is still served")
r.close()
broken("a ConnectRequest whose password length overruns the frame closes the connection",
       jint(28) + jint(0) + jlong(0) + jint(10000) + jlong(0) + jint(9999))

is_(four_letter(srv.port, "ruok"), "imok", "the server still answers after all that")
is_(zk.get("/fl")[0], b"x", "and the existing session is still served")
zk.stop(); zk.close()
srv.check_clean_exit()
done()
