#!/usr/bin/python3
"""t0760 — corral-bench drives the protobuf transport (--protocol protobuf):
each workload completes against the protobuf port with no errors and no
bad replies, --ops counts exactly, what it created is gone afterwards (seen
through the ZooKeeper transport of the same server, by kazoo), and an
unknown --protocol is refused with exit status 1."""
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from protobuf_client import PbCorrald

BENCH = os.path.join(BUILD, "tools", "corral-bench")


def bench(*args):
    out = subprocess.run([BENCH, "--host", "127.0.0.1"] + list(args), capture_output=True, text=True,
                         timeout=120)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), "")
    return out.returncode, dict(kv.split("=", 1) for kv in line.split()[1:]), out.stderr


srv = PbCorrald()
zk = kazoo(srv.hosts)
for workload in ("get", "set", "create", "mix"):
    rc, res, err = bench("--port", str(srv.pb_port), "--protocol", "protobuf", "--workload", workload,
                         "--sessions", "4", "--depth", "8", "--keys", "50", "--ops", "3000",
                         "--warmup", "0.2")
    if not ok(rc == 0 and res.get("protocol") == "protobuf", "%s over protobuf: exit 0, RESULT protocol=protobuf"
              % workload):
        diag("exit %d\n%s" % (rc, err[-2000:]))
    is_((res.get("ops"), res.get("errors"), res.get("bad_replies")), ("3000", "0", "0"),
        "%s over protobuf: exactly --ops operations, no errors, no bad replies" % workload)
is_(sorted(zk.get_children("/")), ["zookeeper"],
    "corral-bench over protobuf deleted everything it created (seen by kazoo on the zk port)")

rc, res, err = bench("--port", str(srv.port), "--protocol", "zk", "--workload", "get", "--ops", "500",
                     "--warmup", "0")
ok(rc == 0 and res.get("protocol") == "zk" and res.get("errors") == "0",
   "--protocol zk against the same server's ZooKeeper port")
rc, res, err = bench("--port", str(srv.pb_port), "--protocol", "thrift")
ok(rc == 1 and "--protocol" in err, "an unknown --protocol is refused with exit 1 and a message")
zk.stop()
srv.check_clean_exit()
done()
