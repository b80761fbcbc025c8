#!/usr/bin/python3
"""t0300 — the AdminServer (HTTP/JSON on admin.serverPort): every ZooKeeper
3.8 command name and alias answers valid JSON with its expected keys,
"command" (the primary name) and "error": null; the values follow the
server's real state (nodes created, ephemerals, watches and sessions of live
kazoo clients); the JSON agrees with the four-letter words; unknown commands
answer 404 with a JSON error; HEAD answers headers only; the layout is
ZooKeeper's (Jackson's pretty printer)."""
import json, os, sys, urllib.error, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

admin_port = free_port()
srv = Corrald({"admin.serverPort": str(admin_port), "admin.serverAddress": "127.0.0.1"})
BASE = "http://127.0.0.1:%d" % admin_port


def http(path, method="GET"):
    """(status, headers, body bytes) of one request; never raises for HTTP errors."""
    req = urllib.request.Request(BASE + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def cmd(name):
    status, headers, body = http("/commands/" + name)
    try:
        doc = json.loads(body)
    except ValueError:
        diag("not JSON: %r" % body[:300])
        doc = {}
    return status, headers, doc


# ---- the list -------------------------------------------------------------------
COMMANDS = {  # primary name: aliases (ZooKeeper 3.8)
    "configuration": ["conf", "config"], "connection_stat_reset": ["crst"],
    "connections": ["cons"], "dirs": [], "dump": [], "environment": ["env", "envi"],
    "get_trace_mask": ["gtmk"], "hash": [], "initial_configuration": ["icfg"],
    "is_read_only": ["isro"], "last_snapshot": ["lsnp"], "leader": ["lead"],
    "monitor": ["mntr"], "observer_connection_stat_reset": ["orst"], "observers": ["obsr"],
    "ruok": [], "server_stats": ["srvr"], "set_trace_mask": ["stmk"], "stat_reset": ["srst"],
    "stats": ["stat"], "system_properties": ["sysp"], "voting_view": [],
    "watch_summary": ["wchs"], "watches": ["wchc"], "watches_by_path": ["wchp"], "zabstate": [],
}
status, headers, body = http("/commands")
is_(status, 200, "GET /commands answers 200")
listed = [l.split('"')[1].rsplit("/", 1)[1] for l in body.decode().splitlines() if l.startswith("<a href=")]
is_(sorted(listed), sorted(COMMANDS), "GET /commands links every primary command name")
is_(http("/commands/")[0], 200, "GET /commands/ lists them too")

# ---- every name and alias answers JSON naming its primary command ------------------
bad = []
for primary, aliases in COMMANDS.items():
    for name in [primary] + aliases:
        status, headers, doc = cmd(name)
        want_error = {"leader": "server is not initialized",
                      "set_trace_mask": "setTraceMask requires long traceMask argument"}.get(primary)
        if status != 200 or doc.get("command") != primary or doc.get("error") != want_error \
                or not headers.get("Content-Type", "").startswith("application/json"):
            bad.append((name, status, doc.get("command"), doc.get("error")))
is_(bad, [], "every command and alias: 200, application/json, its primary name, the expected error")

# exact layout, byte for byte as Apache ZooKeeper prints it
is_(http("/commands/ruok")[2], b'{\n  "command" : "ruok",\n  "error" : null\n}',
    "ruok's body is ZooKeeper's, byte for byte")

# ---- state: nodes, sessions, ephemerals, watches ------------------------------
KEYS = {
    "monitor": ["version", "server_state", "ephemerals_count", "num_alive_connections",
                "avg_latency", "outstanding_requests", "znode_count", "global_sessions",
                "packets_sent", "packets_received", "watch_count", "min_latency", "max_latency",
                "approximate_data_size", "open_file_descriptor_count", "uptime"],
    "server_stats": ["version", "read_only", "server_stats", "client_response", "node_count"],
    "configuration": ["client_port", "data_dir", "data_log_dir", "tick_time", "max_client_cnxns",
                      "min_session_timeout", "max_session_timeout", "server_id",
                      "client_port_listen_backlog"],
    "connections": ["connections", "secure_connections"],
    "stats": ["version", "server_stats", "node_count", "connections", "secure_connections"],
    "dump": ["expiry_time_to_session_ids", "session_id_to_ephemeral_paths"],
    "environment": ["zookeeper.version", "host.name", "os.name", "os.arch", "os.version",
                    "user.name", "user.home", "user.dir"],
    "watch_summary": ["num_connections", "num_paths", "num_total_watches"],
    "watches": ["session_id_to_watched_paths"],
    "watches_by_path": ["path_to_session_ids"],
    "dirs": ["datadir_size", "logdir_size"],
    "is_read_only": ["read_only"],
    "last_snapshot": ["zxid", "timestamp"],
}
missing = {c: [k for k in ks if k not in cmd(c)[2]] for c, ks in KEYS.items()}
missing = {c: ks for c, ks in missing.items() if ks}
is_(missing, {}, "each command answers ZooKeeper's keys")

mon0 = cmd("monitor")[2]
srv0 = cmd("server_stats")[2]
is_(mon0["server_state"], "standalone", "monitor: server_state standalone")
is_(srv0["server_stats"]["server_state"], "standalone", "server_stats: server_state standalone")
is_(srv0["node_count"], mon0["znode_count"], "server_stats and monitor agree on the node count")
is_(cmd("configuration")[2]["client_port"], srv.port, "configuration: client_port is the real port")
is_(cmd("configuration")[2]["tick_time"], 2000, "configuration: tick_time from the config")
ok(cmd("configuration")[2]["data_dir"].endswith("/data/version-2"), "configuration: data_dir/version-2")
is_(cmd("is_read_only")[2]["read_only"], False, "is_read_only: false")
is_(cmd("last_snapshot")[2]["zxid"], "ffffffffffffffff", "last_snapshot with mem storage: none (-1)")

zk = kazoo(srv.hosts)
zk2 = kazoo(srv.hosts)
sid, sid2 = zk.client_id[0], zk2.client_id[0]
for i in range(5):
    zk.create("/n%d" % i, b"x" * 10)
zk.create("/e1", b"", ephemeral=True)
zk.create("/e2", b"", ephemeral=True)
zk.get("/n0", watch=lambda e: None)
zk.exists("/n1", watch=lambda e: None)
zk2.get("/n0", watch=lambda e: None)
zk.get_children("/", watch=lambda e: None)     # a child watch: not in wchs/wchc/wchp

mon = cmd("monitor")[2]
is_(mon["znode_count"] - mon0["znode_count"], 7, "monitor: znode_count grows by the 7 creates")
is_(cmd("server_stats")[2]["node_count"], mon["znode_count"], "server_stats: node_count follows")
is_(mon["ephemerals_count"], 2, "monitor: ephemerals_count 2")
is_(mon["global_sessions"] - mon0["global_sessions"], 2, "monitor: global_sessions grows by the two kazoo clients")
is_(mon["num_alive_connections"], 2, "monitor: num_alive_connections 2")
ok(mon["approximate_data_size"] >= mon0["approximate_data_size"] + 50,
   "monitor: approximate_data_size grows with the data")
ok(mon["packets_received"] > mon0["packets_received"], "monitor: packets_received counts requests")
is_(cmd("server_stats")[2]["server_stats"]["last_processed_zxid"], zk.exists("/e2").czxid,
    "server_stats: last_processed_zxid is the last write's zxid")

# the text four-letter word and the JSON come from the same figures
text = dict(l.split("\t", 1) for l in four_letter(srv.port, "mntr").splitlines() if "\t" in l)
mon = cmd("monitor")[2]
is_((int(text["zk_znode_count"]), int(text["zk_ephemerals_count"]), int(text["zk_watch_count"])),
    (mon["znode_count"], mon["ephemerals_count"], mon["watch_count"]),
    "mntr text and monitor JSON agree (znodes, ephemerals, watches)")

conns = cmd("connections")[2]["connections"]
is_(sorted(c["session_id"] for c in conns), sorted([sid, sid2]), "connections: the kazoo session ids")
c0 = [c for c in conns if c["session_id"] == sid][0]
ok(c0["remote_socket_address"].startswith("127.0.0.1:"), "connections: remote_socket_address ip:port")
is_(c0["session_timeout"], 10000, "connections: session_timeout negotiated")
ok(c0["packets_received"] >= 9 and c0["last_zxid"] > 0, "connections: packets and last_zxid are real")
ok(c0["established"] > 1600000000000, "connections: established in ms since the epoch")
ok(c0["last_operation"] in ("GETC", "EXIS", "GETD", "CREA", "PING"),
   "connections: last_operation a ZooKeeper op code (%s)" % c0["last_operation"])
brief = cmd("stats")[2]["connections"]
is_(sorted(brief[0]), sorted(["remote_socket_address", "interest_ops", "outstanding_requests",
                              "packets_received", "packets_sent"]),
    "stats: connections in brief form")

dump = cmd("dump")[2]
is_(dump["session_id_to_ephemeral_paths"], {str(sid): ["/e1", "/e2"]},
    "dump: the ephemerals by owner session")
listed = [s for ids in dump["expiry_time_to_session_ids"].values() for s in ids]
ok(sid in listed and sid2 in listed and len(listed) == mon["global_sessions"],
   "dump: every live session under its expiry time (%d)" % len(listed))

is_(cmd("watch_summary")[2], {"num_connections": 2, "num_paths": 2, "num_total_watches": 3,
                              "command": "watch_summary", "error": None},
    "watch_summary: 2 sessions watching 2 paths, 3 data watches")
is_(cmd("watches")[2]["session_id_to_watched_paths"], {str(sid): ["/n0", "/n1"], str(sid2): ["/n0"]},
    "watches: paths by session")
is_(cmd("watches_by_path")[2]["path_to_session_ids"], {"/n0": sorted([sid, sid2]), "/n1": [sid]},
    "watches_by_path: sessions by path")

env = cmd("environment")[2]
ok(env["zookeeper.version"].startswith("3.8"), "environment: zookeeper.version=3.8...")
is_(env["os.name"], os.uname().sysname, "environment: os.name")
icfg = cmd("initial_configuration")[2]["initial_configuration"]
ok("clientPort=%d\n" % srv.port in icfg, "initial_configuration: the config's lines")

# ---- resets ---------------------------------------------------------------------
cmd("connection_stat_reset")
conns = cmd("connections")[2]["connections"]
ok(all(c["packets_received"] <= 1 and c["packets_sent"] <= 1 for c in conns),
   "connection_stat_reset: per-connection packet counts back to 0")
zk.get("/n3")
cmd("stat_reset")
ss = cmd("server_stats")[2]["server_stats"]
ok(ss["packets_received"] <= 1 and ss["packets_sent"] <= 1, "stat_reset: server packet counts back to 0")
is_(cmd("stmk?traceMask=12")[2].get("tracemask"), 12, "set_trace_mask?traceMask=12 sets it")
is_(cmd("gtmk")[2]["tracemask"], 12, "get_trace_mask answers it back")

# ---- errors and methods ------------------------------------------------------------
status, headers, doc = cmd("nosuch")
is_(status, 404, "an unknown command answers 404")
is_(doc, {"command": "nosuch", "error": "Unknown command: nosuch"}, "... with a JSON error naming it")
is_(cmd("RUOK")[0], 404, "command names are case-sensitive, as ZooKeeper's")
is_(cmd("r%75ok")[2].get("command"), "ruok", "percent-escapes in the path are decoded")
is_(cmd("ruok?x=1")[0], 200, "a query string is allowed")
is_(http("/")[0], 404, "a path outside admin.commandURL answers 404")
st_get, h_get, b_get = http("/commands/monitor")
st_head, h_head, b_head = http("/commands/monitor", "HEAD")
is_((st_head, b_head), (200, b""), "HEAD: 200 without a body")
is_(http("/commands/ruok", "POST")[0], 405, "POST answers 405 (ZooKeeper 3.8: GET only)")

zk.stop(); zk.close(); zk2.stop(); zk2.close()
srv.check_clean_exit()
done()
