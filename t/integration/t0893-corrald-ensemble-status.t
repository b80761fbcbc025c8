#!/usr/bin/python3
"""t0893 — a corrald-only ensemble, three voters and an observer, serving:
Corral's `peer` word and `corral status` give each one's role — leader,
follower, observer — the leader's id, its own id, the quorum size (the
voters only) and that it serves, with srvr's figures; srvr, mntr and conf
show the role (Mode, zk_server_state, the leader's learner counts, conf's
serverId and membership); srvr's Mode and `corral status` of a standalone
server are as ever."""
import os, re, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble

NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"
CLI = os.path.join(BUILD, "tools", "corral")


def status(port):
    r = subprocess.run([CLI, "-s", "127.0.0.1:%d" % port, "status"], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout


def fields(text):
    return dict(re.findall(r"^([A-Za-z ]+): (.*)$", text, re.M))


e = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3), ("corrald", 4, "observer")])
ok(wait_for(lambda: [m.last_decision() for m in e.members] ==
            [(3, "following"), (3, "following"), (3, "leading"), (3, "observing")], 30),
   "3 leads, 1 and 2 follow, 4 observes")

want_mode = {1: "follower", 2: "follower", 3: "leader", 4: "observer"}
want_state = {1: "following", 2: "following", 3: "leading", 4: "observing"}
for m in e.members:
    ok(wait_for(lambda: fields(four_letter(m.client_port, "peer")).get("Serving") == "yes", 30),
       "member %d serves" % m.sid)
    p = fields(four_letter(m.client_port, "peer"))
    is_((p.get("State"), p.get("Mode"), p.get("Serving"), p.get("Server id"), p.get("Leader"),
         p.get("Quorum size")), (want_state[m.sid], want_mode[m.sid], "yes", str(m.sid), "3", "3"),
        "peer of %d: %s, serving, leader 3, 3 voters" % (m.sid, want_state[m.sid]))
    rc, out = status(m.client_port)
    is_((rc, out.splitlines()[:3]), (0, ["Mode: %s" % want_mode[m.sid], "Server id: %d" % m.sid, "Leader: 3"]),
        "corral status of %d: Mode: %s, its id, leader 3" % (m.sid, want_mode[m.sid]))
    ok(re.search(r"^Serving: yes", out, re.M) and "Zxid: 0x" in out,
       "corral status of %d: serving, with srvr's figures" % m.sid)
    srvr, mntr, conf = (four_letter(m.client_port, w) for w in ("srvr", "mntr", "conf"))
    ok("Mode: %s\n" % want_mode[m.sid] in srvr, "%d: srvr says Mode: %s" % (m.sid, want_mode[m.sid]))
    ok("zk_server_state\t%s\n" % want_mode[m.sid] in mntr, "%d: mntr's zk_server_state" % m.sid)
    ok("serverId=%d\n" % m.sid in conf and "membership: \n" in conf and conf.endswith("version=0"),
       "%d: conf has its serverId and the membership" % m.sid)
    if m.sid == 3:
        ok("zk_synced_followers\t2\n" in mntr and "zk_synced_observers\t1\n" in mntr and
           "zk_learners\t3\n" in mntr and "zk_pending_syncs\t0\n" in mntr,
           "the leader's mntr counts 2 synced followers, 1 observer, 3 learners, no pending sync")

rc, out = status(free_port())
ok(rc == 1, "corral status of a port nobody listens on exits 1")

# ---- standalone: as ever ----
s = Corrald()
rc, out = status(s.port)
is_((rc, out.splitlines()[0]), (0, "Mode: standalone"), "standalone: corral status Mode: standalone")
ok("Server id" not in out and "Zxid: 0x" in out, "standalone: no member lines, srvr's figures")
is_(four_letter(s.port, "peer"), "State: standalone\nMode: standalone\nServing: yes\n",
    "standalone: peer says standalone, serving")

for m in e.corralds():
    if m.alive():
        ok(not m.sanitizer_report(), "corrald %d ran clean" % m.sid)
done()
