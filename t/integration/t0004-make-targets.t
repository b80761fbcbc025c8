#!/usr/bin/python3
"""t0004 — what a newcomer meets: `make run` starts the optimised build, not
the sanitizer build that the tests use (a server under ASan is several times
slower, and it is the first thing a newcomer measures), and `make check`
builds and tests the sanitizer build.  Read from make's own database of the
top-level GNUmakefile (make -p), so nothing is built or started."""
import os, re, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

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
done()
