#!/usr/bin/python3
"""t0420 — zkCli.sh's ACL commands against corrald: addauth digest, setAcl with
the auth scheme, getAcl showing the expanded digest id, and a second session
without the credentials refused (Insufficient permission)."""
import base64, hashlib, os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
srv = Corrald({"module.auth": "world,ip,digest"})


def session(script):
    res = subprocess.run([ZKCLI, "-server", srv.hosts], input=script, capture_output=True,
                         text=True, timeout=120)
    return "\n".join(l for l in (res.stdout + res.stderr).splitlines()
                     if not any(w in l for w in ("INFO", "WARN", "log4j", "SLF4J")))


out = session("create /guarded data\naddauth digest alice:pw\nsetAcl /guarded auth::cdrwa\n"
              "getAcl /guarded\nget /guarded\nquit\n")
digest = base64.b64encode(hashlib.sha1(b"alice:pw").digest()).decode()
ok("'digest,'alice:%s" % digest in out, "getAcl shows the auth scheme expanded to alice's digest")
ok(": cdrwa" in out, "with all permissions")
ok("data" in out.splitlines(), "alice reads the node")
out = session("get /guarded\nquit\n")
ok("Insufficient permission" in out or "NoAuth" in out, "a session without alice's credentials is refused")
zk = kazoo(srv.hosts, auth_data=[("digest", "alice:pw")])
acl = zk.get_acls("/guarded")[0]
is_([(a.perms, a.id.scheme, a.id.id) for a in acl], [(31, "digest", "alice:" + digest)],
    "kazoo sees the same ACL")
zk.stop(); zk.close()
srv.check_clean_exit()
done()
