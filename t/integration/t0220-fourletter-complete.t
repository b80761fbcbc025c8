#!/usr/bin/python3
"""t0220 — every four-letter word (ruok, stat, srvr, mntr, conf, cons, crst,
dump, envi, srst, wchs, wchc, wchp, isro, dirs, gtmk) against corrald and Apache
ZooKeeper 3.8 after the same workload of two hand-driven sessions (no pings,
so every figure is deterministic): the answers must have the same lines in the
same format once numbers, ids, dates and ports are normalised, and say the
right things: wchc/wchp list the data watches of the right sessions and
paths (child watches are not listed, as in ZooKeeper), dump lists each
session's ephemerals and groups sessions by expiry tick, crst really zeroes
each connection's figures (lop=NA, no lcxid, lzxid=-1) and srst the server's,
dirs and conf report the real sizes of the snapshot and log folders (which
ZooKeeper 3.8.0 swaps: ZOOKEEPER-4730, fixed in 3.8.4/3.9.2; Corral does not).
The AdminServer's JSON commands (Corral's AdminServer on) agree with the
words.  Known, intended differences: envi has no java.* lines (Corral is no JVM);
mntr ends after ZooKeeper's 27 basic keys (ZooKeeper's metrics provider adds
~500); the version and host name lines."""
import json, os, re, sys, tempfile, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from recipes_helpers import normalize, todo_is

CREATE, EXISTS, GETDATA, GETCHILDREN = 1, 3, 4, 8
ADMIN_PORT = free_port()
EPHEMERAL = 1


def server(kind):
    d = tempfile.mkdtemp(prefix="t0220-log-")
    keys = {"dataLogDir": d}
    if kind == "corrald":
        return Corrald(dict(keys, **{"module.storage": "file", "admin.serverPort": str(ADMIN_PORT),
                                     "admin.serverAddress": "127.0.0.1"}))
    return ZooKeeper(keys)


servers = {"corrald": server("corrald"), "zookeeper": server("zookeeper")}


class Session:
    """A raw session: numbered requests, no pings (the timeout is long)."""

    def __init__(self, port):
        self.r = Raw(port)
        self.sid = self.r.connect(timeout_ms=40000)["session_id"]
        self.xid = 0

    def call(self, op, body):
        self.xid += 1
        rep = self.r.request(self.xid, op, body)
        while rep and rep[0] == -1:         # a watch event before the reply
            rep = self.r.reply()
        return rep[2]

    def create(self, path, data=b"", flags=0):
        return self.call(CREATE, jstr(path) + jbuf(data) + OPEN_ACL + jint(flags))


def workload(port):
    a, b = Session(port), Session(port)
    a.create("/w", b"x")
    a.create("/w/c1")
    a.create("/ea1", b"1", EPHEMERAL)
    a.create("/ea2", b"2", EPHEMERAL)
    b.create("/eb1", b"3", EPHEMERAL)
    a.call(GETDATA, jstr("/w") + b"\1")
    a.call(EXISTS, jstr("/missing") + b"\1")
    a.call(GETCHILDREN, jstr("/w") + b"\1")        # a child watch: not listed by wch*
    b.call(GETDATA, jstr("/w") + b"\1")
    b.call(EXISTS, jstr("/ea1") + b"\1")
    return a, b


sessions = {name: workload(s.port) for name, s in servers.items()}
WORDS = ["ruok", "stat", "srvr", "mntr", "conf", "cons", "dump", "envi", "wchs", "wchc",
         "wchp", "isro", "dirs", "gtmk"]
answers = {name: {w: four_letter(s.port, w) for w in WORDS} for name, s in servers.items()}


def norm_lines(text):
    return [normalize(l) for l in text.splitlines()]


def sid_hex(sid):
    return "0x%x" % sid


# ---- the simple ones, line for line ----
for w in ("ruok", "isro", "wchs", "gtmk"):
    is_(answers["corrald"][w], answers["zookeeper"][w], "%s: the same answer as ZooKeeper" % w)
is_(answers["corrald"]["ruok"], "imok", "ruok: imok")
is_(answers["corrald"]["isro"], "rw", "isro: rw")
is_(answers["corrald"]["gtmk"], "306", "gtmk: ZooKeeper's default trace mask, no newline")
is_(answers["corrald"]["wchs"], "2 connections watching 3 paths\nTotal watches:4\n",
    "wchs: two sessions watching /w, /missing and /ea1: four data watches")

# ---- srvr / stat ----
for w in ("srvr", "stat"):
    c, z = (norm_lines(answers[n][w]) for n in ("corrald", "zookeeper"))
    c[0] = z[0] = "version"     # "Zookeeper version: 3.8.0-..., built on ..." differs by design
    if w == "stat":             # the clients list's order is ZooKeeper's hash order
        c, z = sorted(c), sorted(z)
    is_(c, z, "%s: ZooKeeper's lines once numbers are normalised" % w)
    for name in servers:
        text = answers[name][w]
        ok(text.startswith("Zookeeper version: 3.8.") and "\nMode: standalone\n" in text
           and "\nNode count: 10\n" in text,
           "%s %s: version 3.8, standalone, 10 nodes (root twice, 3 system, /w, /w/c1, 3 ephemerals)"
           % (name, w))
clients = [l for l in answers["corrald"]["stat"].splitlines() if l.startswith(" /127.0.0.1:")]
is_(len(clients), 3, "stat: lists both sessions' connections and its own")

# ---- mntr ----
mntr = {n: [l.split("\t", 1) for l in answers[n]["mntr"].splitlines()] for n in servers}
ckeys = [k for k, _ in mntr["corrald"]]
is_(ckeys, [k for k, _ in mntr["zookeeper"]][:len(ckeys)],
    "mntr: ZooKeeper's basic keys, in ZooKeeper's order")
is_(len(ckeys), 27, "mntr: all 27 of them")


def kind(v):
    return "float" if re.fullmatch(r"-?\d+\.\d+", v) else "int" if re.fullmatch(r"-?\d+", v) else "text"


zm = dict(mntr["zookeeper"])
is_([(k, kind(v)) for k, v in mntr["corrald"]], [(k, kind(zm[k])) for k in ckeys],
    "mntr: each value has ZooKeeper's type (int, decimal, text)")
cm = dict(mntr["corrald"])
same = ["zk_server_state", "zk_ephemerals_count", "zk_znode_count", "zk_watch_count",
        "zk_global_sessions", "zk_num_alive_connections", "zk_outstanding_requests"]
is_([cm[k] for k in same], [zm[k] for k in same],
    "mntr: state, ephemerals, znodes, watches, sessions, connections as ZooKeeper's")

# ---- conf ----
conf = {n: [l.split("=", 1) for l in answers[n]["conf"].splitlines()] for n in servers}
is_([k for k, _ in conf["corrald"]], [k for k, _ in conf["zookeeper"]], "conf: ZooKeeper's keys in its order")
for name, s in servers.items():
    cf = dict(conf[name])
    ok(cf["clientPort"] == str(s.port) and cf["dataDir"].endswith("/data/version-2")
       and cf["dataLogDir"].startswith("/tmp/t0220-log-") and cf["tickTime"] == "2000",
       "%s conf: clientPort, dataDir, dataLogDir (absolute, version-2), tickTime" % name)

# ---- dirs: the real sizes ----


def du(folder):
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
               if os.path.isfile(os.path.join(folder, f))) if os.path.isdir(folder) else 0


for name in servers:
    cf = dict(conf[name])
    dirs = dict(l.split(": ", 1) for l in answers[name]["dirs"].splitlines())
    want = {"datadir_size": str(du(cf["dataDir"])), "logdir_size": str(du(cf["dataLogDir"]))}
    if name == "zookeeper":     # 3.8.0 swaps them (ZOOKEEPER-4730, fixed in 3.8.4 and 3.9.2)
        want = {"datadir_size": want["logdir_size"], "logdir_size": want["datadir_size"]}
    is_(dirs, want, "%s dirs: the sizes of the snapshot and log folders%s"
        % (name, " (swapped, ZOOKEEPER-4730)" if name == "zookeeper" else ""))
    ok(int(dirs["logdir_size"]) > 0 and int(dirs["datadir_size"]) > 0,
       "%s dirs: neither the txn log nor the snapshot folder is empty" % name)
    is_((cf["dataDirSize"], cf["dataLogSize"]), (dirs["datadir_size"], dirs["logdir_size"]),
        "%s conf: dataDirSize and dataLogSize as dirs" % name)

# ---- wchc / wchp: who watches what ----


def parse_groups(text):
    """{header: set(items)} from lines "header" followed by tab-indented items."""
    groups, cur = {}, None
    for l in text.splitlines():
        if not l.strip():
            continue
        if l.startswith("\t"):
            groups[cur].add(l.strip())
        else:
            cur = l.strip()
            groups[cur] = set()
    return groups


for name in servers:
    a, b = sessions[name]
    is_(parse_groups(answers[name]["wchc"]),
        {sid_hex(a.sid): {"/w", "/missing"}, sid_hex(b.sid): {"/w", "/ea1"}},
        "%s wchc: each session's data watches (the child watch is not listed)" % name)
    is_(parse_groups(answers[name]["wchp"]),
        {"/w": {sid_hex(a.sid), sid_hex(b.sid)}, "/missing": {sid_hex(a.sid)}, "/ea1": {sid_hex(b.sid)}},
        "%s wchp: each path's watching sessions" % name)
for w in ("wchc", "wchp"):
    shape = {n: sorted(re.sub(r"0x[0-9a-f]+", "<sid>", l) for l in answers[n][w].splitlines()) for n in servers}
    is_(shape["corrald"], shape["zookeeper"], "%s: ZooKeeper's layout" % w)

# ---- dump ----
for name in servers:
    a, b = sessions[name]
    text = answers[name]["dump"]
    eph = text.split("ephemeral nodes dump:\n", 1)[1].split("Connections dump:", 1)[0]
    ok(eph.startswith("Sessions with Ephemerals (2):\n"), "%s dump: two sessions with ephemerals" % name)
    groups = {k.rstrip(":"): v for k, v in parse_groups(eph.split("\n", 1)[1]).items()}
    is_(groups, {sid_hex(a.sid): {"/ea1", "/ea2"}, sid_hex(b.sid): {"/eb1"}},
        "%s dump: each session's ephemeral paths" % name)
    tracker = text.split("ephemeral nodes dump:", 1)[0].splitlines()
    ok(re.fullmatch(r"Session Sets \(\d+\)/\(2\):", tracker[1]) is not None,
       "%s dump: the session tracker counts two sessions (%s)" % (name, tracker[1]))
    buckets = [l for l in tracker[2:] if " expire at " in l]
    listed = [l.strip() for l in tracker[2:] if l.startswith("\t")]
    is_(sorted(listed), sorted([sid_hex(a.sid), sid_hex(b.sid)]),
        "%s dump: both sessions in the expiry buckets" % name)
    ok(all(re.fullmatch(r"\d+ expire at \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \w+ \d{4}:", l) for l in buckets),
       "%s dump: buckets as 'N expire at <Java date>:'" % name)
# ZooKeeper keeps emptied expiry buckets ("0 expire at") for a while: compare without them
dshape = {}
for n in servers:
    lines = [l for l in norm_lines(answers[n]["dump"]) if not l.startswith("<n> expire at")
             and not l.startswith("\t0x")]
    dshape[n] = sorted(l for l in lines if not l.startswith(("Session Sets", "Connections Sets")))
is_(dshape["corrald"], dshape["zookeeper"], "dump: ZooKeeper's sections and line formats")

# ---- envi ----
envs = {n: dict(l.split("=", 1) for l in answers[n]["envi"].splitlines()[1:] if "=" in l) for n in servers}
is_(answers["corrald"]["envi"].splitlines()[0], "Environment:", "envi: the Environment: header")
extra = set(envs["corrald"]) - set(envs["zookeeper"])
is_(extra, set(), "envi: no key ZooKeeper lacks")
missing = sorted(k for k in set(envs["zookeeper"]) - set(envs["corrald"])
                 if not k.startswith(("java.", "os.memory.")))
is_(missing, [], "envi: every key of ZooKeeper's but the JVM's (java.*, os.memory.*)")
for k in ("os.name", "os.arch", "user.name", "user.home", "user.dir"):
    is_(envs["corrald"].get(k), envs["zookeeper"].get(k), "envi: %s as ZooKeeper's" % k)
ok(envs["corrald"]["zookeeper.version"].startswith("3.8."), "envi: zookeeper.version=3.8...")

# ---- cons, crst ----


def cons_line(port, sid):
    for l in four_letter(port, "cons").splitlines():
        if "sid=%s," % sid_hex(sid) in l:
            return l
    return ""


def fields(line):
    m = re.search(r"\((.*)\)", line)
    return dict(kv.split("=", 1) for kv in m.group(1).split(",")) if m else {}


for name, s in servers.items():
    a, b = sessions[name]
    f = fields(cons_line(s.port, a.sid))
    is_((f.get("lop"), f.get("lcxid"), f.get("recved"), f.get("sent")), ("GETC", "0x7", "8", "8"),
        "%s cons: last op getChildren, its xid, 8 requests in, 8 replies out (connect included)" % name)
cshape = {n: sorted(normalize(l) for l in answers[n]["cons"].splitlines()) for n in servers}
for n in servers:      # the last op of each session is ZooKeeper's too
    cshape[n] = [re.sub(r"lop=\w+", "lop=<op>", l) for l in cshape[n]]
is_(cshape["corrald"], cshape["zookeeper"], "cons: ZooKeeper's fields, in its order")

reset = {}
for name, s in servers.items():
    a, b = sessions[name]
    answer = four_letter(s.port, "crst")
    is_(answer, "Connection stats reset.\n", "%s crst: ZooKeeper's answer" % name)
    reset[name] = cons_line(s.port, a.sid)
    f = fields(reset[name])
    is_({k: f.get(k) for k in ("recved", "sent", "lop", "lcxid", "lzxid", "lresp", "llat", "minlat",
                                "avglat", "maxlat")},
        {"recved": "0", "sent": "0", "lop": "NA", "lcxid": None, "lzxid": "0xffffffffffffffff",
         "lresp": "0", "llat": "0", "minlat": "0", "avglat": "0", "maxlat": "0"},
        "%s crst: the connection's figures are zeroed (lop NA, no lcxid, lzxid -1)" % name)
    a.call(GETDATA, jstr("/w") + b"\0")
    f = fields(cons_line(s.port, a.sid))
    is_((f.get("recved"), f.get("sent"), f.get("lop"), f.get("lcxid"), f.get("lresp") != "0"),
        ("1", "1", "GETD", "0x8", True), "%s after crst: one request counted, lop/lcxid/lresp follow it" % name)
is_(normalize(reset["corrald"]), normalize(reset["zookeeper"]), "crst: cons line after it as ZooKeeper's")

# ---- srst ----
for name, s in servers.items():
    before = dict(l.split(": ", 1) for l in four_letter(s.port, "srvr").splitlines() if ": " in l)
    ok(int(before["Received"]) > 10, "%s srst: packets counted before it (%s)" % (name, before["Received"]))
    is_(four_letter(s.port, "srst"), "Server stats reset.\n", "%s srst: ZooKeeper's answer" % name)
    after = dict(l.split(": ", 1) for l in four_letter(s.port, "srvr").splitlines() if ": " in l)
    is_((after["Received"], after["Sent"], after["Latency min/avg/max"]), ("1", "1", "0/0.0/0"),
        "%s srst: packets and latencies counted from zero again" % name)
    is_(after["Node count"], before["Node count"], "%s srst: the tree is untouched" % name)

# ---- the AdminServer answers the same commands as JSON, from the same figures ----


def admin(cmd):
    with urllib.request.urlopen("http://127.0.0.1:%d/commands/%s" % (ADMIN_PORT, cmd), timeout=10) as r:
        return json.loads(r.read())


port = servers["corrald"].port
a, b = sessions["corrald"]
is_({int(k): set(v) for k, v in admin("watches")["session_id_to_watched_paths"].items()},
    {a.sid: {"/w", "/missing"}, b.sid: {"/w", "/ea1"}}, "admin watches (wchc): the same sessions and paths")
is_({k: set(v) for k, v in admin("watches_by_path")["path_to_session_ids"].items()},
    {"/w": {a.sid, b.sid}, "/missing": {a.sid}, "/ea1": {b.sid}}, "admin watches_by_path (wchp): the same")
is_(admin("watch_summary"), {"num_connections": 2, "num_paths": 3, "num_total_watches": 4,
                             "command": "watch_summary", "error": None}, "admin watch_summary (wchs): the same")
dj = admin("dump")
is_({int(k): sorted(v) for k, v in dj["session_id_to_ephemeral_paths"].items()},
    {a.sid: ["/ea1", "/ea2"], b.sid: ["/eb1"]}, "admin dump: the same ephemerals by session")
text = four_letter(port, "dump").split("ephemeral nodes dump:", 1)[0].splitlines()
buckets = [int(l.split()[0]) for l in text if " expire at " in l]
is_(sorted(len(v) for v in dj["expiry_time_to_session_ids"].values()), sorted(buckets),
    "admin dump: the same expiry buckets as the dump word")
dirs = dict(l.split(": ", 1) for l in four_letter(port, "dirs").splitlines())
dj = admin("dirs")
is_((str(dj["datadir_size"]), str(dj["logdir_size"])), (dirs["datadir_size"], dirs["logdir_size"]),
    "admin dirs: the same sizes")
a.call(GETDATA, jstr("/w") + b"\0")
admin("connection_stat_reset")
conn = [c for c in admin("connections")["connections"] if c["session_id"] == a.sid]
is_(conn and {k: conn[0][k] for k in ("packets_received", "packets_sent", "last_operation", "last_cxid",
                                      "last_zxid", "last_response_time", "max_latency")},
    {"packets_received": 0, "packets_sent": 0, "last_operation": "NA", "last_cxid": -1, "last_zxid": -1,
     "last_response_time": 0, "max_latency": 0},
    "admin connection_stat_reset (crst): the connection's figures zeroed, as cons shows them")
ok("lop=NA" in cons_line(port, a.sid) and "lcxid" not in cons_line(port, a.sid),
   "cons agrees after the admin reset")
is_((admin("set_trace_mask?traceMask=511")["tracemask"], four_letter(port, "gtmk")), (511, "511"),
    "admin set_trace_mask: gtmk shows the new mask")
for cmd, word in (("is_read_only", "isro"), ("ruok", "ruok")):
    ok(admin(cmd)["error"] is None and four_letter(port, word) in ("rw", "imok"),
       "admin %s answers as %s does" % (cmd, word))

for name in servers:
    for sess in sessions[name]:
        sess.r.close()
servers["corrald"].check_clean_exit()
servers["zookeeper"].stop()
done()
