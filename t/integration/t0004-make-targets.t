#!/usr/bin/python3
"""t0004 — what a newcomer meets: `make run` starts the optimised build, not
the sanitizer build that the tests use (a server under ASan is several times
slower, and it is the first thing a newcomer measures), and `make check`
builds and tests the sanitizer build.  Read from make's own database of the
top-level GNUmakefile (make -p), so nothing is built or started.

Then `make run-ensemble` for real, on a copy of conf/ensemble with free
ports and data in a temporary folder (ENSEMBLE=DIR): three corralds run in
the background, each with its myid and corrald.log in its data folder,
they elect one leader, `make status-ensemble` prints each member's role
and leader (through `corral status`), and `make stop-ensemble` leaves none
running."""
import glob, os, re, shutil, signal, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *
import corraltest as ct

SRC = os.environ.get("CORRAL_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
db = subprocess.run(["make", "-pRrq", "-f", "GNUmakefile", ":"], cwd=SRC,
                    capture_output=True, text=True, timeout=60).stdout


def variable(name):
    m = re.search(r"^%s \??= (.*)$" % re.escape(name), db, re.M)
    return m.group(1).strip() if m else None


def rule(target):
    """(prerequisites, recipe lines) of a target in make's database."""
    m = re.search(r"^%s:(.*)\n((?:#.*\n)*)((?:\t.*\n)*)" % re.escape(target), db, re.M)
    if not m:
        return None, []
    return m.group(1).split(), [l[1:] for l in m.group(3).splitlines()]


release, build = variable("RELEASE"), variable("BUILD")
ok(release and build and release != build, "two build trees: %r (tests) and %r (optimised)" % (build, release))


def configure_line(tree):
    return " ".join(rule(tree + "/Makefile")[1])


ok("--enable-sanitizers" in configure_line(build), "the tests' tree is configured with sanitizers")
ok("--enable-sanitizers" not in configure_line(release) and "-O2" in configure_line(release),
   "the optimised tree is configured -O2 without sanitizers")


def builds(target, tree, seen=()):
    """Does making target configure and build `tree` (following prerequisites)?"""
    pre, recipe = rule(target)
    if pre is None or target in seen:
        return False
    text = " ".join(recipe)
    if "$(MAKE) -C $(%s)" % ("RELEASE" if tree == release else "BUILD") in text:
        return True
    return any(builds(p, tree, seen + (target,)) for p in pre)


_, run_recipe = rule("run")
started = [l for l in run_recipe if "corrald" in l]
ok(started and all("$(RELEASE)/core/corrald" in l for l in started),
   "make run starts $(RELEASE)/core/corrald: %r" % started)
ok(all("$(BUILD)" not in l for l in run_recipe), "and nothing from the sanitizer tree")
ok(builds("run", release), "make run builds the optimised tree first")
ok(builds("check", build) and any("$(MAKE) -C $(BUILD) check" in l for l in rule("check")[1]),
   "make check builds and tests the sanitizer tree")
ok(builds("check", release) and not any("$(RELEASE) check" in l for l in rule("check")[1]),
   "and builds the optimised tree (its -O2 warnings fail the check) without testing it")
ok(builds("bench", release), "make bench uses the optimised tree too")

_, ens_recipe = rule("run-ensemble")
ok(builds("run-ensemble", release) and any("tools/ensemble.sh start $(RELEASE)" in l for l in ens_recipe),
   "make run-ensemble builds the optimised tree and starts its corralds (tools/ensemble.sh)")

# ---- make run-ensemble / status-ensemble / stop-ensemble, for real ----
conf = tempfile.mkdtemp(prefix="t0004-ensemble-")
sids = [1, 2, 3]
ports = {sid: {k: free_port() for k in ("client", "quorum", "election", "admin")} for sid in sids}
for sid in sids:
    with open(os.path.join(SRC, "conf", "ensemble", "zoo%d.cfg" % sid)) as f:
        text = f.read()
    text = re.sub(r"^dataDir=.*$", "dataDir=%s/data/%d" % (conf, sid), text, flags=re.M)
    text = re.sub(r"^clientPort=.*$", "clientPort=%d" % ports[sid]["client"], text, flags=re.M)
    text = re.sub(r"^admin.serverPort=.*$", "admin.serverPort=%d" % ports[sid]["admin"], text, flags=re.M)
    for n in sids:
        text = re.sub(r"^server\.%d=.*$" % n, "server.%d=127.0.0.1:%d:%d"
                      % (n, ports[n]["quorum"], ports[n]["election"]), text, flags=re.M)
    with open(os.path.join(conf, "zoo%d.cfg" % sid), "w") as f:
        f.write(text)
env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
env.pop("CORRAL_MODULE_PATH", None)     # the targets' own: the optimised tree's modules


def make(target):
    r = subprocess.run(["make", "--no-print-directory", "-C", SRC, target, "ENSEMBLE=" + conf],
                       capture_output=True, text=True, timeout=600, env=env)
    return r.returncode, r.stdout + r.stderr


def pid(sid):
    try:
        with open(os.path.join(conf, "data", str(sid), "corrald.pid")) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def alive(p):
    try:
        os.kill(p, 0)
        return True
    except (OSError, TypeError):
        return False


class Started:
    """Whatever run-ensemble started goes at exit, whatever happens here."""
    def stop(self):
        for sid in sids:
            if alive(pid(sid)):
                os.kill(pid(sid), signal.SIGKILL)


ct._servers.append(Started())
rc, out = make("run-ensemble")
if not is_(rc, 0, "make run-ensemble exits 0"):
    diag(out)
pids = [pid(sid) for sid in sids]
ok(all(alive(p) for p in pids) and len(set(pids)) == 3, "three corralds run in the background: %r" % pids)
is_([open(os.path.join(conf, "data", str(s), "myid")).read().strip() for s in sids], ["1", "2", "3"],
    "each data folder has its myid")


def decision(sid):
    with open(os.path.join(conf, "data", str(sid), "corrald.log"), errors="replace") as f:
        m = re.findall(r"election: leader is (\d+) .*this server is (\w+)", f.read())
    return m[-1] if m else None


ok(wait_for(lambda: all(decision(s) for s in sids) and len({decision(s)[0] for s in sids}) == 1, 30),
   "the three elect one leader (each corrald.log): %r" % [decision(s) for s in sids])
leader = int(decision(1)[0]) if decision(1) else None
rc, out = make("status-ensemble")
modes = re.findall(r"^Mode: (\w+)$", out, re.M)
is_(sorted(modes), ["follower", "follower", "leader"], "make status-ensemble: one leader, two followers")
is_(re.findall(r"^Leader: (\d+)$", out, re.M), [str(leader)] * 3, "and each member names the leader")
is_(re.findall(r"^Mode: leader$\nServer id: (\d+)$", out, re.M), [str(leader)],
    "the member that says leader is the elected one")
rc, out = make("stop-ensemble")
is_(rc, 0, "make stop-ensemble exits 0")
ok(not any(alive(p) for p in pids), "none of the three runs after it")
ok(not glob.glob(os.path.join(conf, "data", "*", "corrald.pid")), "and their pid files are gone")
shutil.rmtree(conf, ignore_errors=True)
done()
