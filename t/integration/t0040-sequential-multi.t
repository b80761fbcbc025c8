#!/usr/bin/python3
"""t0040 — sequential names (%010d from the parent's cversion, for persistent
and ephemeral nodes, advancing on every child change) and multi through
kazoo transactions: all members commit together, a failing member commits
nothing and reports per-member results, check-version guards work."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
from kazoo.exceptions import (NoNodeError, RolledBackError, BadVersionError, NodeExistsError,
                              RuntimeInconsistency)

srv = server_under_test()
zk = kazoo(srv.hosts)

zk.create("/q")
is_(zk.create("/q/job-", b"", sequence=True), "/q/job-0000000000", "first sequential child is 0000000000")
is_(zk.create("/q/job-", b"", sequence=True), "/q/job-0000000001", "the next is 0000000001")
zk.create("/q/plain")
zk.delete("/q/plain")
is_(zk.create("/q/job-", b"", sequence=True, ephemeral=True), "/q/job-0000000003",
    "sequence numbers count the children ever created: deletes do not advance them")
zk.create("/q2")
is_(zk.create("/q2/", b"", sequence=True), "/q2/0000000000", "a sequential create may end in '/'")

t = zk.transaction()
t.create("/m")
t.create("/m/a", b"A")
t.set_data("/m", b"M")
t.check("/m", 1)
res = t.commit()
is_(res, ["/m", "/m/a", zk.exists("/m"), True], "a multi commits every member and answers each")
is_(zk.get("/m")[0], b"M", "its setData took effect")

t = zk.transaction()
t.create("/m/b")
t.delete("/m/missing")
t.create("/m/c")
res = t.commit()
ok(isinstance(res[0], RolledBackError) and isinstance(res[1], NoNodeError)
   and isinstance(res[2], RuntimeInconsistency),
   "a failed multi reports Ok (rolled back) before, NoNode at, RuntimeInconsistency after the failure")
is_(zk.exists("/m/b"), None, "nothing of a failed multi is applied")

t = zk.transaction()
t.check("/m", 0)
t.create("/m/d")
res = t.commit()
ok(isinstance(res[0], BadVersionError), "a stale check fails the multi with BadVersion")
is_(zk.exists("/m/d"), None, "and nothing is applied")

t = zk.transaction()
t.create("/m/a")
res = t.commit()
ok(isinstance(res[0], NodeExistsError), "NodeExists inside a multi")

t = zk.transaction()
t.delete("/m/a")
t.delete("/m")
res = t.commit()
is_(res, [True, True], "a multi may delete a child and then its parent")
is_(zk.exists("/m"), None, "both gone")

zk.stop(); zk.close()
srv.check_clean_exit()
done()
