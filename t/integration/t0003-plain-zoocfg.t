#!/usr/bin/python3
"""t0003 — a zoo.cfg written for Apache ZooKeeper, with no module.* keys,
starts corrald with what ZooKeeper would give it: file storage in dataDir
(ZooKeeper's version-2 layout; data survives a restart), the ip and digest
schemes (ACLs with them are accepted and enforced) and, because a super
digest is configured, the super identity."""
import base64, hashlib, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from kazoo.exceptions import NoAuthError
from kazoo.security import make_digest_acl, make_acl

super_digest = "super:" + base64.b64encode(hashlib.sha1(b"super:s3cret").digest()).decode()
# No module.* keys at all (the module folder comes from CORRAL_MODULE_PATH).
plain = {"module.path": None, "module.transport": None, "module.storage": None, "module.auth": None,
         "DigestAuthenticationProvider.superDigest": super_digest}
srv = Corrald(plain)
data = os.path.join(srv.dir, "data")

alice = kazoo(srv.hosts, auth_data=[("digest", "alice:pw")])
alice.create("/secret", b"kept", acl=[make_digest_acl("alice", "pw", all=True)])
alice.create("/local", b"ip", acl=[make_acl("ip", "127.0.0.1", all=True)])
ok(os.path.isdir(os.path.join(data, "version-2")) and
   any(f.startswith("log.") for f in os.listdir(os.path.join(data, "version-2"))),
   "the default storage is file: a txn log in dataDir/version-2")
anon = kazoo(srv.hosts)
try:
    anon.get("/secret")
    ok(False, "digest is loaded by default: a digest ACL keeps others out")
except NoAuthError:
    ok(True, "digest is loaded by default: a digest ACL keeps others out")
is_(anon.get("/local")[0], b"ip", "ip is loaded by default: an ip ACL for 127.0.0.1 lets a local client read")
root = kazoo(srv.hosts, auth_data=[("super", "super:s3cret")])
is_(root.get("/secret")[0], b"kept", "super is loaded when a super digest is configured, and passes the ACL")
for z in (alice, anon, root):
    z.stop()

srv.stop()
srv.start()
alice = kazoo(srv.hosts, auth_data=[("digest", "alice:pw")])
is_(alice.get("/secret")[0], b"kept", "after a restart the data is there (file storage)")
alice.stop()
srv.check_clean_exit()
done()
