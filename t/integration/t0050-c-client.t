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

# cli_mt answers asynchronously: feed it one command at a time, each once the
# answer to the one before has been printed
import threading
cli = subprocess.Popen(["/usr/lib/zookeeper/bin/cli_mt", srv.hosts], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
printed = []
reader = threading.Thread(target=lambda: printed.extend(iter(cli.stdout.readline, "")), daemon=True)
reader.start()
for cmd, answer in (("create /cli", "[/cli]: rc = 0"), ("create /cli/child", "[/cli/child]: rc = 0"),
                    ("ls /cli", "\tchild"), ("get /cli", "value_len ="), ("quit", None)):
    cli.stdin.write(cmd + "\n")
    cli.stdin.flush()
    if answer and not wait_for(lambda: any(answer in l for l in list(printed)), 20):
        diag("cli_mt printed no %r after %r" % (answer, cmd))
        break
try:
    cli.wait(timeout=20)
except subprocess.TimeoutExpired:
    cli.kill()
    cli.wait()
reader.join(10)
text = "".join(printed)
zk = kazoo(srv.hosts)
ok(zk.exists("/cli/child") is not None, "cli_mt created /cli and /cli/child")
ok("child" in text and "/cli: rc = 0" in text, "cli_mt listed and read /cli")
if "child" not in text:
    diag(text[-2000:])
zk.stop(); zk.close()
srv.check_clean_exit()
done()
