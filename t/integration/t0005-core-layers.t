#!/usr/bin/python3
"""t0005 — the core's files depend on each other in one direction
(tools/core-deps.py reads the calls from the built objects): no cycle, and
the layers of the request pipeline (core/pipeline_internal.h) call only
downwards.  The checker itself is checked on a graph with a cycle first, so
a checker that finds nothing cannot pass."""
import os, sys, importlib.util
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *

SRC = os.environ.get("CORRAL_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
spec = importlib.util.spec_from_file_location("core_deps", os.path.join(SRC, "tools", "core-deps.py"))
deps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(deps)

ok(deps.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]],
   "the checker finds a cycle of three files and leaves the file outside it out")
ok(deps.cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == [], "and none in a chain")

g = deps.graph(os.path.join(BUILD, "core"))
ok(len(g) > 20, "read the calls of %d core objects" % len(g))
found = deps.cycles(g)
ok(not found, "no cycle among the core's files" + "".join("\n# cycle: " + " ".join(c) for c in found))


def below(f, *others):
    """f calls none of others (they are above it)."""
    bad = sorted(g.get(f, set()) & set(others))
    ok(not bad, "%s calls nothing above it%s" % (f, (": calls " + ", ".join(bad)) if bad else ""))


# the pipeline's layers (pipeline_internal.h), bottom up
below("fifo", "reads", "commit", "write_stage", "pipeline", "connect")
below("reads", "commit", "write_stage", "pipeline", "connect")
below("commit", "reads", "write_stage", "pipeline", "connect")
below("write_stage", "pipeline", "connect")
# apply is the only writer of the tree and runs no part of the pipeline
below("apply", "fifo", "reads", "commit", "write_stage", "pipeline", "connect", "prep")
done()
