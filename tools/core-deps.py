#!/usr/bin/python3
"""core-deps.py — which of the core's files call which, read from the
compiled objects (nm), and the cycles among them.

    tools/core-deps.py BUILD/core          # prints "file -> files it calls", then cycles
    tools/core-deps.py --check BUILD/core  # exit 1 when the calls form a cycle

The core's files are meant to depend on each other in one direction (each
calls only files below it; a lower file reports up through callbacks), so
that a part can be understood, tested and replaced from the bottom up.  A
call is an undefined symbol of one object that another object of the core
defines (core/*.o and its subdirectories' objects: quorum/, zk/ — libzk);
main.o is the top and is left out.  Used by t/integration/t0005.
"""
import collections, glob, os, subprocess, sys


def graph(core_dir):
    defs, uses = {}, collections.defaultdict(set)
    objs = glob.glob(os.path.join(core_dir, ".libs", "*.o")) + \
        glob.glob(os.path.join(core_dir, "*", ".libs", "*.o"))
    for obj in sorted(objs):
        name = os.path.basename(obj)[:-2]
        for prefix in ("libcorralcore_la-", "libzk_la-"):
            if name.startswith(prefix):
                name = name[len(prefix):]
        sub = os.path.basename(os.path.dirname(os.path.dirname(obj)))
        if sub != "core":
            name = sub + "/" + name     # quorum/broadcast, zk/txn
        out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBRC":
                defs[parts[2]] = name
            elif len(parts) == 2 and parts[0] == "U":
                uses[name].add(parts[1])
    g = {f: set() for f in set(defs.values()) | set(uses)}
    for f, symbols in uses.items():
        for sym in symbols:
            if sym in defs and defs[sym] != f:
                g[f].add(defs[sym])
    return g


def cycles(g):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def main(argv):
    check = "--check" in argv
    dirs = [a for a in argv if a != "--check"]
    if len(dirs) != 1:
        sys.exit("usage: core-deps.py [--check] BUILD/core")
    g = graph(dirs[0])
    if not g:
        sys.exit("core-deps.py: no objects under %s/.libs (build first)" % dirs[0])
    for f in sorted(g):
        print("%s -> %s" % (f, " ".join(sorted(g[f]))))
    found = cycles(g)
    for c in found:
        print("cycle: " + " ".join(c))
    return 1 if check and found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
