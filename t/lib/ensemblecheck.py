"""ensemblecheck — what ensemble tests assert about members that serve:
who serves, who leads, and whether every member holds the same tree.

  wait_serving(members, seconds)  every member answers a ConnectRequest
  leader_of(members)              the one whose srvr says Mode: leader
  tree(zk)                        {path: (data, czxid, mzxid, pzxid, version, cversion,
                                   aversion, ephemeral owner, children)} below "/",
                                  /zookeeper left out (its config node differs by member)
  same_trees(members)             every member's tree after a sync, compared with the
                                  first's: (True, None) or (False, "what differs")
  hosts(members)                  a kazoo connection string over the members
"""
import corraltest as ct


def serving(m):
    return m.alive() and ct._session_opens(m.client_port)


def wait_serving(members, seconds=60):
    """Each member in turn until it serves: one probe session that opens per member
    (each is a createSession and a closeSession txn), so ensembles started alike
    have spent the same zxids after it (t0883 compares zxids)."""
    import time
    end = time.monotonic() + seconds
    for m in members:
        if not ct.wait_for(lambda: serving(m), max(0.1, end - time.monotonic())):
            return False
    return True


def leader_of(members):
    """srvr's Mode: leader; for a corrald, its own last decision says it as well."""
    leaders = [m for m in members if m.alive() and
               (m.mode() == "leader" or
                (m.kind == "corrald" and m.last_decision() and m.last_decision()[1] == "leading"))]
    return leaders[0] if len(leaders) == 1 else None


def hosts(members):
    return ",".join("127.0.0.1:%d" % m.client_port for m in members)


def tree(zk, path="/"):
    out = {}
    stack = [path]
    while stack:
        p = stack.pop()
        if p == "/zookeeper" or p.startswith("/zookeeper/"):
            continue
        data, st = zk.get(p)
        kids = sorted(zk.get_children(p))
        out[p] = (data, st.czxid, st.mzxid, st.pzxid, st.version, st.cversion, st.aversion,
                  st.ephemeralOwner, tuple(kids))
        stack.extend((p.rstrip("/") + "/" + k) for k in kids)
    return out


def same_trees(members):
    trees = []
    for m in members:
        try:
            zk = ct.kazoo("127.0.0.1:%d" % m.client_port)
        except Exception:
            ct.diag("member %d does not take a session:\n%s" % (m.sid, m.output()[-4000:]))
            raise
        try:
            zk.sync("/")
            trees.append((m.sid, tree(zk)))
        finally:
            zk.stop()
            zk.close()
    first_sid, first = trees[0]
    for sid, t in trees[1:]:
        if t != first:
            only_a = sorted(set(first) - set(t))[:5]
            only_b = sorted(set(t) - set(first))[:5]
            differ = sorted(p for p in set(first) & set(t) if first[p] != t[p])[:5]
            return False, ("member %d vs %d: only on %d %s, only on %d %s, differing %s" %
                           (first_sid, sid, first_sid, only_a, sid, only_b, differ))
    return True, None


class ServingEnsemble:
    """A started ensemble in the shape the single-server tests use (hosts,
    check_clean_exit), so a test written for one server runs on an ensemble
    with each client on whichever member kazoo picks: spec as Ensemble's."""

    def __init__(self, spec, extra=None, seconds=60):
        from ensembletest import Ensemble
        self.ensemble = Ensemble(spec, extra=extra)
        self.members = self.ensemble.members
        if not wait_serving(self.members, seconds):
            for m in self.members:
                ct.diag(m.output()[-3000:])
            raise RuntimeError("the ensemble did not serve within %d s" % seconds)
        self.hosts = hosts(self.members)

    def check_clean_exit(self, desc="every member stops cleanly on SIGTERM, sanitizers silent"):
        bad = []
        for m in self.members:
            status = m.stop()
            if m.kind == "corrald" and (status != 0 or m.sanitizer_report() is not None):
                bad.append((m.sid, status, (m.sanitizer_report() or m.output())[-3000:]))
        if not ct.ok(not bad, desc):
            for b in bad:
                ct.diag("member %d: exit %r\n%s" % b)
        return not bad
