#!/usr/bin/python3
"""core-deps.py BUILD/core — which core file calls which, and the cycles.

The core's files are meant to depend on one another in one direction (issue
14).  This reads the symbol tables of the compiled objects (nm of
BUILD/core/.libs/*.o): a file "calls" another when it uses a symbol the
other defines.  It prints one line per file (file -> the files it calls)
and then `cycles:` with every group of files that call each other in a
circle (strongly connected components, Tarjan), [] when there are none.
Calls through function pointers (callbacks, the module table) are not seen.
"""
import collections, glob, os, subprocess, sys

d = sys.argv[1]
defs, uses = {}, collections.defaultdict(set)
for o in sorted(glob.glob(os.path.join(d, '.libs', '*.o'))):
    f = os.path.basename(o)[:-2]
    f = f[len('libcorralcore_la-'):] if f.startswith('libcorralcore_la-') else f
    for line in subprocess.run(['nm', o], capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in 'TDBRC':
            defs[parts[2]] = f
        elif len(parts) == 2 and parts[0] == 'U':
            uses[f].add(parts[1])
g = collections.defaultdict(set)
for f, us in uses.items():
    g[f] |= {defs[u] for u in us if u in defs and defs[u] != f}
for f in sorted(g):
    print(f, '->', ' '.join(sorted(g[f])))

index, low, stack, on_stack, sccs = {}, {}, [], set(), []
def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in g.get(v, ()):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))
for v in list(g):
    if v not in index:
        visit(v)
print('cycles:', sccs)
