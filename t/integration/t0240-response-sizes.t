#!/usr/bin/python3
"""t0240 — mntr's zk_{last,min,max}_client_response_size against Apache
ZooKeeper 3.8: after the same requests on a fresh server (a create, a
getData of 10 bytes, a failed exists, a ping) both report the same sizes
(pings are not counted), and srst sets them back to -1."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from corraltest import *


def sizes(port):
    out = four_letter(port, "mntr")
    return {l.split("\t")[0]: l.split("\t")[1] for l in out.splitlines() if "client_response_size" in l}


seen = {}
for name, cls in (("corrald", Corrald), ("zookeeper", ZooKeeper)):
    srv = cls()
    r = Raw(srv.port)
    r.connect()
    r.request(1, 1, jstr("/a") + jint(10) + b"0123456789" + OPEN_ACL + jint(0))
    r.request(2, 4, jstr("/a") + b"\0")
    r.request(3, 3, jstr("/nope") + b"\0")
    r.request(-2, 11, b"")
    after = sizes(srv.port)
    four_letter(srv.port, "srst")
    seen[name] = (after, sizes(srv.port))
    r.close()
    srv.stop()
diag("corrald %r" % (seen["corrald"],))
diag("zookeeper %r" % (seen["zookeeper"],))
is_(len(seen["corrald"][0]), 3, "mntr has the three client response size keys")
is_(seen["corrald"][0], seen["zookeeper"][0], "the sizes after the same requests are ZooKeeper's")
ok(seen["corrald"][0]["zk_max_client_response_size"] != "-1", "they are measured, not placeholders")
is_(seen["corrald"][1], seen["zookeeper"][1], "srst resets them as ZooKeeper does")
done()
