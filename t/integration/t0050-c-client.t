#!/usr/bin/python3
"""t0050 — the official ZooKeeper C client: the compiled t/integration/c-client
program (libzookeeper_mt) runs its TAP checks against corrald, and cli_mt, the
C client's shell, creates and reads a node."""
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

srv = server_under_test()
prog = os.path.join(BUILD, "t", "integration", "c-client")
out = subprocess.run([prog, srv.hosts], capture_output=True, text=True, timeout=60)
lines = [l for l in out.stdout.splitlines() if l.startswith(("ok ", "not ok "))]
for l in lines:
    ok(l.startswith("ok "), "C client: " + l.split(" - ", 1)[-1])
ok(out.returncode == 0 and len(lines) >= 27, "the C client program ran every check and exited 0")
if out.returncode != 0:
    diag(out.stderr[-2000:])

# cli_mt answers asynchronously: feed it one command at a time
import time
cli = subprocess.Popen(["/usr/lib/zookeeper/bin/cli_mt", srv.hosts], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
for cmd in ("create /cli", "create /cli/child", "ls /cli", "get /cli", "quit"):
    time.sleep(0.7)
    cli.stdin.write(cmd + "\n")
    cli.stdin.flush()
try:
    text = cli.communicate(timeout=20)[0]
except subprocess.TimeoutExpired:
    cli.kill()
    text = cli.communicate()[0]
zk = kazoo(srv.hosts)
ok(zk.exists("/cli/child") is not None, "cli_mt created /cli and /cli/child")
ok("child" in text and "/cli: rc = 0" in text, "cli_mt listed and read /cli")
if "child" not in text:
    diag(text[-2000:])
zk.stop(); zk.close()
srv.check_clean_exit()
done()
