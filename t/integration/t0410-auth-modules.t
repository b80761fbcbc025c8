#!/usr/bin/python3
"""t0410 — auth schemes are modules a deployment picks: with only `digest`
loaded, ip: and world: ACLs are refused with InvalidACL and world:anyone grants
nothing (super, when loaded, sets things up); a failed addauth (unknown scheme,
malformed credential) answers AUTH_FAILED and ends the connection, as ZooKeeper
does; a digest credential without a colon or of 500 KB authenticates (ZooKeeper
refuses none but a null one), a null one fails; oversized auth packets never
hurt the server; IPv6 ids are valid
ip ACLs; ZooKeeper's own superDigest key works; skipACL=yes skips every check."""
import base64, hashlib, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from kazoo.exceptions import InvalidACLError, NoAuthError, AuthFailedError
from kazoo.security import make_acl, make_digest_acl, OPEN_ACL_UNSAFE

SUPER = "super:" + base64.b64encode(hashlib.sha1(b"super:secret").digest()).decode()

only_digest = Corrald({"module.auth": "digest"})
zk = kazoo(only_digest.hosts, auth_data=[("digest", "u:p")])
raises(InvalidACLError, lambda: zk.create("/ip", acl=[make_acl("ip", "127.0.0.1", all=True)]),
       "digest-only: an ip: ACL is InvalidACL")
raises(InvalidACLError, lambda: zk.create("/w", acl=OPEN_ACL_UNSAFE),
       "digest-only: a world:anyone ACL is InvalidACL")
raises(NoAuthError, lambda: zk.create("/d", acl=[make_digest_acl("u", "p", all=True)]),
       "digest-only: world:anyone on the root grants nothing (NoAuth)")
zk.stop(); zk.close()
only_digest.check_clean_exit("the digest-only server stops cleanly")

with_super = Corrald({"module.auth": "digest,super", "DigestAuthenticationProvider.superDigest": SUPER})
admin = kazoo(with_super.hosts, auth_data=[("digest", "super:secret")])
admin.set_acls("/", [make_digest_acl("u", "p", all=True)])
user = kazoo(with_super.hosts, auth_data=[("digest", "u:p")])
is_(user.create("/mine", b"x", acl=[make_digest_acl("u", "p", all=True)]), "/mine",
    "after super hands the root to u, u creates (ZooKeeper's superDigest key)")
other = kazoo(with_super.hosts, auth_data=[("digest", "v:p")])
raises(NoAuthError, lambda: other.get("/mine"), "another digest user is refused")
for c in (admin, user, other):
    c.stop(); c.close()
with_super.check_clean_exit("the digest+super server stops cleanly")

skip = Corrald({"module.auth": "world,digest", "skipACL": "yes"})
a = kazoo(skip.hosts, auth_data=[("digest", "a:p")])
a.create("/locked", b"x", acl=[make_digest_acl("a", "p", read=True)])
b = kazoo(skip.hosts)
is_(b.get("/locked")[0], b"x", "skipACL=yes: a stranger reads a locked node")
b.set("/locked", b"y")
is_(a.get("/locked")[0], b"y", "skipACL=yes: and writes it")
for c in (a, b):
    c.stop(); c.close()
skip.check_clean_exit("the skipACL server stops cleanly")

srv = Corrald({"module.auth": "world,ip,digest"})
zk = kazoo(srv.hosts)
is_(zk.create("/v6", acl=[make_acl("ip", "::1", all=True), make_acl("ip", "fe80::/10", read=True)]),
    "/v6", "IPv6 addresses and ranges are valid ip ACL ids")
raises(NoAuthError, lambda: zk.get("/v6"), "an IPv4 client does not match IPv6 ids")


def auth_packet(scheme, cred):
    return jint(0) + jstr(scheme) + jbuf(cred)


r = Raw(srv.port)
r.connect()
rep = r.request(-4, 100, auth_packet("digest", b"u:p"))
is_((rep[0], rep[2]), (-4, 0), "addauth digest u:p succeeds (xid -4)")
rep = r.request(-4, 100, auth_packet("nosuch", b"x"))
is_((rep[0], rep[2]), (-4, -115), "addauth with an unknown scheme answers AUTHFAILED (-115)")
ok(r.closed(5), "and the server ends that connection")

r = Raw(srv.port)
r.connect()
rep = r.request(-4, 100, auth_packet("digest", b"no-colon-here"))
is_(rep[2], 0, "a digest credential without a colon authenticates, as in ZooKeeper")
rep = r.request(-4, 100, auth_packet("digest", None))
is_(rep[2], -115, "a null digest credential answers AUTHFAILED")
ok(r.closed(5), "and ends the connection")

r = Raw(srv.port)
r.connect()
rep = r.request(-4, 100, auth_packet("digest", b"u:" + b"p" * 500000))
is_(rep[2], 0, "a 500 KB credential (within jute.maxbuffer) authenticates, as in ZooKeeper")
r = Raw(srv.port)
r.connect()
r.send_frame(jint(-4) + jint(100) + jint(0) + jstr("digest") + jint(5000000) + b"x" * 100)
ok(r.closed(5), "an auth packet larger than jute.maxbuffer closes the connection")

kz = kazoo(srv.hosts)
raises(AuthFailedError, lambda: kz.add_auth("nosuch", "x"), "kazoo sees AuthFailed for an unknown scheme")
kz.stop(); kz.close()
is_(four_letter(srv.port, "ruok"), "imok", "the server keeps serving")
ok(zk.exists("/v6") is not None, "and its other sessions")
zk.stop(); zk.close()
srv.check_clean_exit()
done()
