#!/usr/bin/python3
"""t0892 — the monitoring words in a mixed ensemble: Apache ZooKeeper 3.8
servers 2 and 3 and corrald 1 in one 3-member view.  ZooKeeper 3 leads, 2
follows, and the two serve (a quorum of two); corrald decides to follow 3.

What ZooKeeper's members show, recorded here as the shape corrald must
take once it serves: srvr's Mode (leader, follower), the leader's
"Proposal sizes last/min/max" line, mntr's member keys (zk_peer_state
"leading - broadcast" / "following - broadcast", zk_quorum_size, the
leader's zk_learners, zk_synced_followers, ... in ZooKeeper's order),
conf's quorum lines and "membership:" with the three server.N lines.

corrald follows and serves (ZooKeeper's leader counts it among its two
synced followers); Corral's `peer` word and `corral status` name its role
(follower) and its leader (3), and its words are ZooKeeper follower 2's:
srvr's lines, mntr's keys and order, conf's keys, its quorum lines and the
membership, line for line."""
import os, re, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from ensembletest import Ensemble

NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"
CLI = os.path.join(BUILD, "tools", "corral")

e = Ensemble([("corrald", 1), ("zk", 2), ("zk", 3)])
c, z2, z3 = e[1], e[2], e[3]
ok(wait_for(lambda: z3.mode() == "leader" and z2.mode() == "follower", 90, 0.3),
   "ZooKeeper 3 leads and ZooKeeper 2 follows")
ok(wait_for(lambda: c.last_decision() == (3, "following"), 30), "corrald decides to follow 3")


def words(port):
    return {w: four_letter(port, w) for w in ("srvr", "stat", "mntr", "conf", "ruok", "isro")}


def mntr_keys(text):
    return [l.split("\t", 1)[0] for l in text.splitlines()]


def conf_lines(text):
    """conf without the values that differ by nature (ports, paths, sizes, the id)."""
    out = []
    for l in text.splitlines():
        k, _, v = l.partition("=")
        out.append(k if k in ("clientPort", "dataDir", "dataDirSize", "dataLogDir", "dataLogSize",
                              "serverId", "electionPort", "quorumPort") else l)
    return out


zl, zf = words(z3.client_port), words(z2.client_port)
# ---- ZooKeeper's leader and follower: the shapes ----
ok("\nMode: leader\n" in zl["srvr"] and re.search(r"\nProposal sizes last/min/max: -?\d+/-?\d+/-?\d+\n$",
                                                  zl["srvr"]),
   "ZooKeeper leader srvr: Mode: leader, then the proposal sizes last")
ok(zf["srvr"].endswith("\nMode: follower\nNode count: 5\n"), "ZooKeeper follower srvr: Mode: follower, no proposal sizes")
lk, fk = mntr_keys(zl["mntr"]), mntr_keys(zf["mntr"])
LEADER_ONLY = ["zk_min_proposal_size", "zk_max_proposal_size", "zk_synced_followers",
               "zk_synced_non_voting_followers", "zk_synced_observers", "zk_last_proposal_size",
               "zk_pending_syncs", "zk_leader_uptime", "zk_learners"]
is_([k for k in lk if k in LEADER_ONLY], LEADER_ONLY, "ZooKeeper leader mntr: the leader's keys, in this order")
is_([k for k in fk if k in LEADER_ONLY], [], "ZooKeeper follower mntr: none of them")
zlm = dict(l.split("\t", 1) for l in zl["mntr"].splitlines())
zfm = dict(l.split("\t", 1) for l in zf["mntr"].splitlines())
is_((zlm["zk_server_state"], zlm["zk_peer_state"], zlm["zk_quorum_size"], zlm["zk_synced_followers"]),
    ("leader", "leading - broadcast", "3", "2"),
    "ZooKeeper leader mntr: state, peer state, quorum size, two synced followers (corrald one of them)")
is_((zfm["zk_server_state"], zfm["zk_peer_state"], zfm["zk_quorum_size"]),
    ("follower", "following - broadcast", "3"), "ZooKeeper follower mntr: state, peer state, quorum size")
membership = [l for l in zf["conf"].split("membership: \n", 1)[-1].split("\n")]
is_(membership, [m.server_line() + ":participant" for m in e.members] + ["version=0"],
    "ZooKeeper follower conf: membership: the server.N lines as participants, version=0, no final newline")

# ---- corrald, serving as ZooKeeper 3's follower ----
ok(wait_for(lambda: "Serving: yes" in four_letter(c.client_port, "peer", timeout=2), 30, 0.5),
   "corrald serves as a follower")
peer = four_letter(c.client_port, "peer")
ok(peer.startswith("State: following\nMode: follower\nServing: yes\n") and "\nLeader: 3\n" in peer,
   "peer: following 3, serving")
r = subprocess.run([CLI, "-s", "127.0.0.1:%d" % c.client_port, "status"], capture_output=True, text=True, timeout=30)
ok(r.returncode == 0 and r.stdout.startswith("Mode: follower\nServer id: 1\nLeader: 3\n")
   and "Serving: yes" in r.stdout, "corral status: Mode: follower, its id, leader 3, serving")
r = subprocess.run([CLI, "-s", "127.0.0.1:%d" % z3.client_port, "status"], capture_output=True, text=True, timeout=30)
ok(r.returncode == 0 and r.stdout.startswith("Mode: leader\nVersion: 3.8"),
   "corral status against ZooKeeper's leader: its srvr's Mode (ZooKeeper has no peer word)")
cw = words(c.client_port)
zf = words(z2.client_port)
strip = lambda t: [re.sub(r"\d+", "<n>", l) for l in t.splitlines()[1:]]  # version line aside
is_(strip(cw["srvr"]), strip(zf["srvr"]), "srvr: ZooKeeper follower's lines (numbers aside)")
is_(mntr_keys(cw["mntr"]), mntr_keys(zf["mntr"])[:len(mntr_keys(cw["mntr"]))],
    "mntr: ZooKeeper follower's keys in its order")
is_(conf_lines(cw["conf"]), conf_lines(zf["conf"]), "conf: ZooKeeper follower's lines and membership")
ok("\nMode: follower\n" in cw["stat"], "stat: Mode: follower")
is_((cw["ruok"], cw["isro"]), (zf["ruok"], zf["isro"]), "ruok and isro: as ZooKeeper's follower")

ok(c.alive() and not c.sanitizer_report(), "corrald ran clean")
done()
