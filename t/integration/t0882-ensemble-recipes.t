#!/usr/bin/python3
"""t0882 — kazoo's recipes (t0200: lock, election, queue, barrier, counter,
party, semaphore, watches, naming, tree cache, partitioner, lease) on a
3-member Corral ensemble (module.storage=mem), each client on whichever
member kazoo picks from the three, so contenders sit on different members
and every write of a follower's client goes through the leader."""
import os, sys
here = os.path.dirname(os.path.abspath(__file__))
os.environ["CORRAL_RECIPES_ENSEMBLE"] = "1"
os.execv(sys.executable, [sys.executable, os.path.join(here, "t0200-kazoo-recipes.t")])
