#!/usr/bin/python3
"""t0400 — ACLs and auth, differential: one scripted sequence of digest, ip,
world, super and "auth"-scheme ACL operations, by several identities, run
against Apache ZooKeeper 3.8 and against corrald (auth modules world, ip,
digest, super); every answer must be the same: results, error classes (NoAuth,
InvalidACL, BadVersion, ...), getACL output (digest ids redacted for readers
without ADMIN) and Stats.  Covers the per-operation permission rules: CREATE
on the parent for create, DELETE on the parent for delete, WRITE for setData,
READ for getData/getChildren, ADMIN for setACL, READ or ADMIN for getACL,
none for exists; aversion checks on setACL; super passes everything.

Then every credential form ZooKeeper's digest provider takes (raw bytes on the
wire): the Go client's own tests send "blah" (no colon), and a credential may
be empty, have several colons, an empty user or password, non-UTF-8 bytes
(ZooKeeper repairs them to U+FFFD before hashing), or be null (the only one
ZooKeeper refuses); for each, the addauth answer, the identity an "auth"-scheme
ACL expands to, and whoAmI; the identities of several addauths and after a
reconnect; which digest ACL ids are valid (Java's split(":") has two parts)
and how getACL redacts them for readers without ADMIN.  ZooKeeper runs with
file.encoding=UTF-8 (its decoding of the credential follows the JVM charset;
UTF-8 is Java 18+'s and any UTF-8 locale's)."""
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


CREDENTIALS = [
    # (label, bytes or None, compare the identity too?)
    ("no colon (the Go client's TestIntegration_GetSetACL)", b"blah", True),
    ("user:password", b"user:password", True),
    ("empty", b"", True),
    ("null", None, True),
    ("several colons", b"a:b:c", True),
    ("empty user", b":pw", True),
    ("empty password", b"user:", True),
    ("only a colon", b":", True),
    ("UTF-8 user", "\u00e9t\u00e9:pw".encode(), True),
    ("4-byte UTF-8", b"\xf0\x9f\x98\x80:x", True),
    ("encoded surrogate, cut short", b"u\xed\xa0:pw", True),
    ("encoded surrogate at the end", b"u:pw\xed\xa0", True),
    ("F5 lead byte", b"\xf5\x80\x80\x80:x", True),
    ("invalid bytes", b"\xff\xfe:x", True),
    ("encoded surrogate", b"u\xed\xa0\x80:pw", True),
    ("overlong", b"\xe0\x80\xaf:x", True),
    ("truncated sequence", b"\xe2\x82:x", True),
    ("lone continuation bytes", b"\x80\xbf\x80:x", True),
    ("truncated at the end", b"u:pw\xf0\x9f\x98", True),
    ("NUL in the password", b"u:p\x00w", True),
    ("newline in the user", b"u\nv:pw", True),
    ("NUL in the user (Corral shows U+FFFD for it)", b"u\x00v:pw", False),
    ("super's own credential", b"super:secret", True),
]


def auth_packet(scheme, cred):
    return jint(0) + jstr(scheme) + jbuf(cred)


def acl_ids(body):
    rd = JuteReader(body)
    n = rd.int()
    out = []
    for _ in range(max(n, 0)):
        perms = rd.int()
        out.append((perms, rd.buf(), rd.buf()))
    return out


def utf8(b):
    """ZooKeeper's jute writes a character outside the BMP as two 3-byte
    surrogates (CESU-8) where Corral writes proper UTF-8: the same string."""
    if not isinstance(b, bytes):
        return b
    try:
        return b.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass").decode("utf-16").encode()
    except UnicodeError:
        return b


def ids(lst):
    """ZooKeeper keeps a session's ids in a hash set: compare them as a set."""
    return sorted(tuple(utf8(x) for x in item) for item in lst) if isinstance(lst, list) else lst


def who_am_i(r):
    rep = r.request(9, 107)
    if rep is None or rep[2] != 0:
        return None if rep is None else rep[2]
    rd = JuteReader(rep[3])
    return [(rd.buf(), rd.buf()) for _ in range(rd.int())]


def credential_script(port):
    out = []
    for i, (label, cred, compare) in enumerate(CREDENTIALS):
        r = Raw(port)
        r.connect()
        rep = r.request(-4, 100, auth_packet("digest", cred))
        res = [rep[2] if rep else "closed"]
        if rep and rep[2] == 0:
            path = "/cred%d" % i
            err = r.request(1, 1, jstr(path) + jbuf(b"") + jint(1) + jint(31) + jstr("auth") + jstr("") + jint(0))[2]
            res.append(err)
            got = r.request(2, 6, jstr(path))
            res.append(ids(acl_ids(got[3])) if got[2] == 0 and compare else got[2])
            res.append(ids(who_am_i(r)) if compare else "-")
        else:
            res.append(r.closed(5))
        r.close()
        out.append(("credential: " + label, res))
    # several addauths accumulate, in order, without duplicates; and come back after a reconnect
    r = Raw(port)
    sess = r.connect()
    for cred in (b"blah", b"user:password", b"blah"):
        r.request(-4, 100, auth_packet("digest", cred))
    r.request(1, 1, jstr("/multi-auth") + jbuf(b"x") + jint(1) + jint(31) + jstr("auth") + jstr("") + jint(0))
    out.append(("three addauths: the auth ACL", ids(acl_ids(r.request(2, 6, jstr("/multi-auth"))[3]))))
    out.append(("three addauths: whoAmI", ids(who_am_i(r))))
    r.close()
    r = Raw(port)
    r.connect(session_id=sess["session_id"], passwd=sess["passwd"])
    out.append(("reconnected, before addauth: getData", r.request(3, 4, jstr("/multi-auth") + b"\0")[2]))
    r.request(-4, 100, auth_packet("digest", b"blah"))
    out.append(("reconnected, after addauth blah: getData", r.request(4, 4, jstr("/multi-auth") + b"\0")[2]))
    r.close()
    # the Go client's TestIntegration_GetSetACL, as its bytes go: setAuth with an
    # ordinary xid (not -4), "blah"; delete, create world:anyone, getACL, setACL ip, getACL
    r = Raw(port)
    r.connect()
    go = []
    rep = r.request(1, 100, auth_packet("digest", b"blah"))
    go.append(("setAuth", rep[0], rep[2]) if rep else ("setAuth", "connection closed"))
    if rep is None or rep[2] != 0:
        r.close()
        r = Raw(port)
        r.connect()
    go.append(("delete", r.request(2, 2, jstr("/gozk-test") + jint(-1))[2]))
    rep = r.request(3, 1, jstr("/gozk-test") + jbuf(b"\1\2\3\4") + OPEN_ACL + jint(0))
    go.append(("create", rep[2], JuteReader(rep[3]).str() if rep[2] == 0 else None))
    go.append(("getACL", acl_ids(r.request(4, 6, jstr("/gozk-test"))[3])))
    rep = r.request(5, 7, jstr("/gozk-test") + jint(1) + jint(31) + jstr("ip") + jstr("127.0.0.1") + jint(-1))
    go.append(("setACL", rep[2]))
    go.append(("getACL", acl_ids(r.request(6, 6, jstr("/gozk-test"))[3])))
    out.append(("the Go client's TestIntegration_GetSetACL", go))
    r.close()
    # digest ACL ids: which are valid, and how a reader without ADMIN sees them
    r = Raw(port)
    r.connect()
    for i, acl_id in enumerate([b"u:d", b":d", b"u:d:", b"u:", b"u::", b":", b"::d", b"u:d:e", b"nocolon", b"",
                                b"u:d\nx", b"u:\nx", b"u:d\nx:", b"u:d\r\nx", "u:d\u2028x".encode()]):
        path = "/id%d" % i
        body = jstr(path) + jbuf(b"") + jint(2) + jint(31) + jstr("digest") + jbuf(acl_id) + \
            jint(1) + jstr("world") + jstr("anyone") + jint(0)
        err = r.request(10 + i, 1, body)[2]
        got = r.request(40 + i, 6, jstr(path)) if err == 0 else None
        out.append(("digest ACL id %r" % acl_id, (err, acl_ids(got[3]) if got and got[2] == 0 else None)))
    r.close()
    return out


os.environ["JAVA_TOOL_OPTIONS"] = "-Dfile.encoding=UTF-8"
zk_server = ZooKeeper({"DigestAuthenticationProvider.superDigest": SUPER})
del os.environ["JAVA_TOOL_OPTIONS"]
want = script(zk_server.hosts)
want_cred = credential_script(zk_server.port)
zk_server.stop()
corral = Corrald({"module.auth": "world,ip,digest,super", "auth.super.digest": SUPER})
got = script(corral.hosts)
got_cred = credential_script(corral.port)
is_(len(got), len(want), "the script ran to the end on both servers (%d steps)" % len(want))
for (name, w), (_, g) in zip(want, got):
    if not is_(g, w, name):
        pass
errors = {w[1] for _, w in want if w[0] == "error"}
for kind in ("NoAuthError", "InvalidACLError", "BadVersionError"):
    ok(kind in errors, "the script exercises %s" % kind)
is_(len(got_cred), len(want_cred), "the credential script ran to the end on both (%d steps)" % len(want_cred))
for (name, w), (_, g) in zip(want_cred, got_cred):
    is_(g, w, name)
results = dict(want_cred)
ok(results["credential: null"][0] == -115 and all(
    results["credential: " + label][0] == 0 for label, cred, _ in CREDENTIALS if cred is not None),
   "ZooKeeper refuses only the null credential")
corral.check_clean_exit()
done()
