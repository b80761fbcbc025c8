#!/usr/bin/python3
"""t0850 — leader election among corrald processes (modules/election/fle):
three participants and an observer on loopback, each with its own ports and
data, agree on one leader, the highest sid when zxids are equal, and the
observer observes it; after kill -9 of the leader the survivors elect the
next (sid 2), and the old leader, restarted, follows it instead of taking
over.  Every member serves once synced (t0880 and on test the serving);
SIGTERM stops every member cleanly.
Config errors of an ensemble stop the server naming file, line and key."""
import os, socket, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
import corraltest as ct
from ensembletest import Ensemble

# A corrald leader gives up after initLimit ticks without a quorum of learners (quorum/leader.c),
# and here no learner connects: initLimit 30 (60 s) keeps every election of this test a single one.
e = Ensemble([("corrald", 1), ("corrald", 2), ("corrald", 3), ("corrald", 4, "observer")],
             extra={"initLimit": "30"})
decided = wait_for(lambda: all(m.last_decision() for m in e.members), 30)
ok(decided, "every member decided within 30 s")
if not decided:
    for m in e.members:
        diag(m.output()[-2000:])
is_([m.last_decision() for m in e.members],
    [(3, "following"), (3, "following"), (3, "leading"), (3, "observing")],
    "all agree on 3 (highest sid, equal zxids); 4 observes")
ok(wait_for(lambda: all(ct._session_opens(m.client_port) for m in e.members), 30),
   "every member serves once synced with the leader")

# kill -9 the leader: 1 and 2 notice (its election connection ends, it cannot be dialled)
e[3].kill()
again = wait_for(lambda: e[1].last_decision() == (2, "following") and
                 e[2].last_decision() == (2, "leading"), 30)
ok(again, "after kill -9 of 3, 2 leads and 1 follows")
if not again:
    diag(e[1].output()[-2000:] + e[2].output()[-2000:])
if not ok(wait_for(lambda: e[4].last_decision() == (2, "observing"), 30), "the observer observes 2"):
    diag(e[4].output()[-3000:])
ok(len(e[1].decisions()) == 2 and len(e[2].decisions()) == 2, "each decided once per election")

# the old leader comes back: the ensemble is settled, it follows 2
e[3].start()
joined = wait_for(lambda: e[3].decisions()[-1:] == [(2, "following")], 30)
ok(joined, "3, restarted, follows 2 (it joins the settled ensemble)")
is_((e[1].last_decision(), e[2].last_decision()), ((2, "following"), (2, "leading")),
    "and 1 and 2 stayed as they were")

for m in e.members:
    status = m.stop()
    report = m.sanitizer_report()
    if not ok(status == 0 and report is None, "member %d stops cleanly, sanitizers silent" % m.sid):
        diag("status %r\n%s" % (status, (report or m.output())[-3000:]))

# --- refusals: file, line and key named ---
def refusal(lines, needle, desc, myid=1):
    d = e.base
    cfg = os.path.join(d, "bad.cfg")
    data = os.path.join(d, "bad-data")
    os.makedirs(data, exist_ok=True)
    if myid is None:
        if os.path.exists(os.path.join(data, "myid")):
            os.remove(os.path.join(data, "myid"))
    else:
        with open(os.path.join(data, "myid"), "w") as f:
            f.write("%d\n" % myid)
    base = ["tickTime=2000", "dataDir=" + data, "clientPort=%d" % free_port(),
            "clientPortAddress=127.0.0.1", "admin.enableServer=false", "module.path=" + MODULES,
            "module.storage=mem", "module.auth=world"]
    with open(cfg, "w") as f:
        f.write("\n".join(base + lines) + "\n")
    p = subprocess.run([CORRALD, "-c", cfg], capture_output=True, text=True, timeout=30)
    good = p.returncode == 1 and needle in p.stderr
    if not ok(good, desc):
        diag("exit %s\n%s" % (p.returncode, p.stderr[-2000:]))

THREE = ["server.1=127.0.0.1:%d:%d" % (free_port(), free_port()),
         "server.2=127.0.0.1:%d:%d" % (free_port(), free_port()),
         "server.3=127.0.0.1:%d:%d" % (free_port(), free_port())]
LIMITS = ["initLimit=5", "syncLimit=2"]
refusal(LIMITS + THREE + ["server.4=127.0.0.1:1:1"],
        "bad.cfg:14: key 'server.4': '127.0.0.1:1:1': the quorum port and the election port must be different",
        "equal quorum and election ports: refused naming file, line and key")
refusal(LIMITS + THREE + ["server.5=127.0.0.1:99"], "bad.cfg:14: key 'server.5': '127.0.0.1:99' does not have the form",
        "a server line without an election port: refused")
refusal(LIMITS + THREE + ["group.1=1:2:3"], "bad.cfg:14: key 'group.1': hierarchical quorums",
        "group.*: not supported yet")
refusal(LIMITS + THREE, "my id 7 (dataDir/myid) is not in any server.N line", "myid not in the view", myid=7)
refusal(LIMITS + THREE, "myid file is missing", "no myid file", myid=None)
refusal(["syncLimit=2"] + THREE, "key 'initLimit' is not set", "initLimit missing in an ensemble")
done()
