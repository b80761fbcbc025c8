#!/usr/bin/python3
"""t0400 — ACLs and auth, differential: one scripted sequence of digest, ip,
world, super and "auth"-scheme ACL operations, by several identities, run
against Apache ZooKeeper 3.8 and against corrald (auth modules world, ip,
digest, super); every answer must be the same: results, error classes (NoAuth,
InvalidACL, BadVersion, ...), getACL output (digest ids redacted for readers
without ADMIN) and Stats.  Covers the per-operation permission rules: CREATE
on the parent for create, DELETE on the parent for delete, WRITE for setData,
READ for getData/getChildren, ADMIN for setACL, READ or ADMIN for getACL,
none for exists; aversion checks on setACL; super passes everything."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from kazoo.exceptions import KazooException
from kazoo.security import make_digest_acl, make_acl, ACL, Id, OPEN_ACL_UNSAFE
import base64, hashlib

SUPER = "super:" + base64.b64encode(hashlib.sha1(b"super:secret").digest()).decode()


def acls(lst):
    return None if lst is None else [(a.perms, a.id.scheme, a.id.id) for a in lst]


def stat(st):
    return None if st is None else (st.version, st.cversion, st.aversion, st.numChildren,
                                    st.dataLength)


def attempt(fn):
    try:
        return ("ok", fn())
    except KazooException as e:
        return ("error", type(e).__name__)


def script(hosts):
    out = []
    alice = kazoo(hosts, auth_data=[("digest", "alice:pw")])
    bob = kazoo(hosts, auth_data=[("digest", "bob:pw")])
    anon = kazoo(hosts)
    root = kazoo(hosts, auth_data=[("digest", "super:secret")])
    A = make_digest_acl("alice", "pw", all=True)
    R = make_digest_acl("bob", "pw", read=True)
    C = make_digest_acl("bob", "pw", create=True)
    D = make_digest_acl("bob", "pw", delete=True)
    W = make_digest_acl("bob", "pw", write=True)
    ADM = make_digest_acl("bob", "pw", admin=True)

    def step(name, fn):
        out.append((name, attempt(fn)))

    step("alice creates /acl private", lambda: alice.create("/acl", b"secret", acl=[A]))
    for who, c in (("bob", bob), ("anon", anon)):
        step(who + " getData", lambda: c.get("/acl")[0])
        step(who + " getChildren", lambda: c.get_children("/acl"))
        step(who + " setData", lambda: stat(c.set("/acl", b"x")))
        step(who + " create child", lambda: c.create("/acl/kid"))
        step(who + " setACL", lambda: stat(c.set_acls("/acl", OPEN_ACL_UNSAFE)))
        step(who + " getACL", lambda: acls(c.get_acls("/acl")[0]))
        step(who + " exists (no ACL check)", lambda: stat(c.exists("/acl")))
    step("alice reads", lambda: alice.get("/acl")[0])
    step("alice getACL (admin, unredacted)", lambda: acls(alice.get_acls("/acl")[0]))
    step("super reads anything", lambda: root.get("/acl")[0])
    step("super sets data", lambda: stat(root.set("/acl", b"by-super")))
    # per-permission grants for bob
    for label, acl in (("read", R), ("create", C), ("delete", D), ("write", W), ("admin", ADM)):
        path = "/p-" + label
        step("alice creates " + path, lambda: alice.create(path, b"v", acl=[A, acl]))
        step("alice creates %s/kid" % path, lambda: alice.create(path + "/kid", b"", acl=[A]))
        step("bob get " + path, lambda: bob.get(path)[0])
        step("bob children " + path, lambda: bob.get_children(path))
        step("bob set " + path, lambda: stat(bob.set(path, b"w")))
        step("bob create under " + path, lambda: bob.create(path + "/bobs"))
        step("bob delete kid of " + path, lambda: bob.delete(path + "/kid"))
        step("bob getACL " + path, lambda: acls(bob.get_acls(path)[0]))
        step("bob setACL " + path, lambda: stat(bob.set_acls(path, [A, acl])))
    # aversion
    step("alice creates /av", lambda: alice.create("/av", b"", acl=[A]))
    step("alice setACL /av v0", lambda: stat(alice.set_acls("/av", [A, R], version=0)))
    step("alice setACL /av stale v0", lambda: stat(alice.set_acls("/av", [A], version=0)))
    step("alice setACL /av v1", lambda: stat(alice.set_acls("/av", [A], version=1)))
    # the "auth" scheme expands to the caller's authenticated ids
    step("alice creates with auth scheme",
         lambda: alice.create("/au", b"", acl=[make_acl("auth", "", all=True)]))
    step("getACL of the expanded auth ACL", lambda: acls(alice.get_acls("/au")[0]))
    step("anon creates with auth scheme (no ids)",
         lambda: anon.create("/au2", b"", acl=[make_acl("auth", "", all=True)]))
    # invalid ACLs
    step("unknown scheme", lambda: alice.create("/bad1", b"", acl=[make_acl("nosuch", "x", all=True)]))
    step("malformed ip", lambda: alice.create("/bad2", b"", acl=[make_acl("ip", "300.1.2.3", all=True)]))
    step("malformed digest id", lambda: alice.create("/bad3", b"", acl=[make_acl("digest", "nocolon", all=True)]))
    step("world id other than anyone", lambda: alice.create("/bad4", b"", acl=[make_acl("world", "someone", all=True)]))
    step("empty ACL list", lambda: alice.create("/bad5", b"", acl=[]))
    step("super scheme in an ACL", lambda: alice.create("/bad6", b"", acl=[make_acl("super", "", all=True)]))
    # ip ACLs (clients connect from 127.0.0.1)
    step("ip 127.0.0.1 exact", lambda: anon.create("/ip1", b"", acl=[make_acl("ip", "127.0.0.1", all=True)]))
    step("read via ip exact", lambda: anon.get("/ip1")[0])
    step("ip 127.0.0.0/8", lambda: anon.create("/ip2", b"", acl=[make_acl("ip", "127.0.0.0/8", all=True)]))
    step("read via ip range", lambda: anon.get("/ip2")[0])
    step("ip 10.0.0.0/8", lambda: anon.create("/ip3", b"", acl=[make_acl("ip", "10.0.0.0/8", all=True)]))
    step("read outside the range", lambda: anon.get("/ip3")[0])
    # multi checks each member's ACL
    def multi():
        t = bob.transaction()
        t.create("/m-ok")
        t.set_data("/acl", b"nope")
        return [type(x).__name__ if isinstance(x, Exception) else x for x in t.commit()]
    step("multi with a member bob may not do", multi)
    step("nothing of it applied", lambda: stat(anon.exists("/m-ok")))
    for c in (alice, bob, anon, root):
        c.stop()
        c.close()
    return out


zk_server = ZooKeeper({"DigestAuthenticationProvider.superDigest": SUPER})
want = script(zk_server.hosts)
zk_server.stop()
corral = Corrald({"module.auth": "world,ip,digest,super", "auth.super.digest": SUPER})
got = script(corral.hosts)
is_(len(got), len(want), "the script ran to the end on both servers (%d steps)" % len(want))
for (name, w), (_, g) in zip(want, got):
    if not is_(g, w, name):
        pass
errors = {w[1] for _, w in want if w[0] == "error"}
for kind in ("NoAuthError", "InvalidACLError", "BadVersionError"):
    ok(kind in errors, "the script exercises %s" % kind)
corral.check_clean_exit()
done()
