"""protobuf_client — a test client for Corral's protobuf transport.

The client code is generated at test time from
modules/transport/protobuf/corral.proto with Debian's protoc
(protobuf-compiler) into a temporary folder, and uses python3-protobuf: an
implementation of the format independent of the server's protobuf-c.  When
protoc is missing, the descriptor set written by protoc-c (which the build
needs anyway) is loaded instead, through the same python3-protobuf runtime.

`pb` is the generated module (pb.ClientMessage, pb.ServerMessage, pb.ACL,
the enums ...).  `PbClient` speaks the framing: 4-byte big-endian length +
message.  It numbers requests itself, keeps watch events apart
(client.events) and can pipeline: send() several, then answer(id) each.

Also `PbCorrald`, a corraltest.Corrald that loads the protobuf transport on
a free port (optionally alone, without the ZooKeeper transport).
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corraltest  # noqa: E402

SRCDIR = os.environ.get("CORRAL_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
PROTO_DIR = os.path.join(SRCDIR, "modules", "transport", "protobuf")


def _generate():
    """Import corral_pb2 generated from corral.proto into a temp dir."""
    out = tempfile.mkdtemp(prefix="corral-pb-")
    proto = os.path.join(PROTO_DIR, "corral.proto")
    if shutil.which("protoc"):
        subprocess.check_call(["protoc", "--proto_path=" + PROTO_DIR, "--python_out=" + out, proto])
        sys.path.insert(0, out)
        import corral_pb2  # noqa: E402
        return corral_pb2
    # fallback: the descriptor set from protoc-c, classes built at run time
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    ds = os.path.join(out, "corral.desc")
    subprocess.check_call(["protoc-c", "--proto_path=" + PROTO_DIR, "--descriptor_set_out=" + ds,
                           proto])
    fds = descriptor_pb2.FileDescriptorSet()
    with open(ds, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    factory = message_factory.MessageFactory(pool)
    fdesc = pool.FindFileByName("corral.proto")

    class Module:
        pass

    mod = Module()
    for name, desc in fdesc.message_types_by_name.items():
        setattr(mod, name, factory.GetPrototype(desc))
    for ename, edesc in fdesc.enum_types_by_name.items():
        for v in edesc.values:
            setattr(mod, v.name, v.number)
    return mod


pb = _generate()

OPEN_ACL = [("world", "anyone", 31)]


class ConnectionClosed(Exception):
    pass


class PbClient:
    """One protobuf-protocol connection (and, after connect(), a session)."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.next_id = 1
        self.events = []            # WatchEvent messages, in arrival order
        self.pending = {}           # id -> ServerMessage received ahead of its answer()
        self.closed_notice = None   # the SessionClosed notice, if one came
        self.session_id = None
        self.passwd = None
        self.timeout_ms = None

    # ---- framing ----
    def send_raw(self, payload):
        self.s.sendall(struct.pack(">I", len(payload)) + payload)

    def recv_message(self, timeout=None):
        """The next ServerMessage; raises ConnectionClosed at EOF."""
        if timeout is not None:
            self.s.settimeout(timeout)
        while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack(">I", self.buf[:4])[0]:
            try:
                d = self.s.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                raise ConnectionClosed()
            self.buf += d
        n = struct.unpack(">I", self.buf[:4])[0]
        m = pb.ServerMessage()
        m.ParseFromString(self.buf[4:4 + n])
        self.buf = self.buf[4 + n:]
        return m

    def _dispatch(self, m):
        which = m.WhichOneof("response")
        if which == "watch_event":
            self.events.append(m.watch_event)
            return None
        if which == "session_closed":
            self.closed_notice = m
            return None
        return m

    # ---- requests ----
    def send(self, **kw):
        """Send a ClientMessage with one request field set; returns its id.
        Example: send(get_data=pb.PathWatchRequest(path="/a", watch=True))."""
        msg = pb.ClientMessage()
        msg.id = self.next_id
        self.next_id += 1
        for k, v in kw.items():
            if v is None:
                getattr(msg, k).SetInParent()
            else:
                getattr(msg, k).CopyFrom(v)
        self.send_raw(msg.SerializeToString())
        return msg.id

    def answer(self, rid, timeout=10.0):
        """The answer to request rid (events met on the way go to self.events)."""
        if rid in self.pending:
            return self.pending.pop(rid)
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                raise socket.timeout("no answer to request %d" % rid)
            m = self._dispatch(self.recv_message(left))
            if m is None:
                continue
            if m.id == rid:
                return m
            self.pending[m.id] = m

    def call(self, **kw):
        return self.answer(self.send(**kw))

    def wait_events(self, n, timeout=5.0):
        """Read until at least n events are held (or timeout); returns self.events."""
        end = time.time() + timeout
        while len(self.events) < n and time.time() < end:
            try:
                m = self._dispatch(self.recv_message(max(0.01, end - time.time())))
            except socket.timeout:
                break
            if m is not None:
                self.pending[m.id] = m
        return self.events

    # ---- session ----
    def connect(self, timeout_ms=10000, session_id=0, passwd=b"", rid=0):
        m = pb.ClientMessage()
        m.id = rid
        m.connect.timeout_ms = timeout_ms
        if session_id:
            m.connect.session_id = session_id
            m.connect.passwd = passwd
        self.send_raw(m.SerializeToString())
        while True:
            r = self._dispatch(self.recv_message(10.0))
            if r is not None:
                break
        if r.err == 0 and r.WhichOneof("response") == "connected":
            self.session_id = r.connected.session_id
            self.passwd = r.connected.passwd
            self.timeout_ms = r.connected.timeout_ms
        return r

    def close_session(self):
        return self.call(close=None)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def is_closed(self, timeout=5.0):
        """True when the server ends the connection within timeout."""
        end = time.time() + timeout
        try:
            while time.time() < end:
                self._dispatch(self.recv_message(max(0.01, end - time.time())))
        except ConnectionClosed:
            return True
        except socket.timeout:
            return False
        return False

    # ---- conveniences (each returns the ServerMessage) ----
    @staticmethod
    def acl(entries=None):
        return [pb.ACL(scheme=s, id=i, perms=p) for (s, i, p) in (entries or OPEN_ACL)]

    def create(self, path, data=b"", mode=0, acl=None, ttl=None):
        req = pb.CreateRequest(path=path, mode=mode, acl=self.acl(acl))
        if data is not None:
            req.data = data
        if ttl is not None:
            req.ttl = ttl
        return self.call(create=req)

    def delete(self, path, version=-1):
        return self.call(delete=pb.DeleteRequest(path=path, version=version))

    def exists(self, path, watch=False):
        return self.call(exists=pb.PathWatchRequest(path=path, watch=watch))

    def get(self, path, watch=False):
        return self.call(get_data=pb.PathWatchRequest(path=path, watch=watch))

    def set(self, path, data, version=-1):
        return self.call(set_data=pb.SetDataRequest(path=path, data=data, version=version))

    def children(self, path, watch=False, with_stat=False):
        return self.call(get_children=pb.GetChildrenRequest(path=path, watch=watch,
                                                            with_stat=with_stat))

    def add_watch(self, path, recursive=False):
        return self.call(add_watch=pb.AddWatchRequest(
            path=path, mode=pb.WATCH_PERSISTENT_RECURSIVE if recursive else pb.WATCH_PERSISTENT))

    def auth(self, scheme, cred):
        return self.call(auth=pb.AuthRequest(scheme=scheme, auth=cred))


class PbCorrald(corraltest.Corrald):
    """A corrald with the protobuf transport on a free port (self.pb_port).
    only_protobuf=True loads no ZooKeeper transport at all."""

    def __init__(self, extra=None, only_protobuf=False, **kw):
        self.pb_port = corraltest.free_port()
        keys = {
            "module.transport": "protobuf" if only_protobuf else "zk,protobuf",
            "protobufClientPort": str(self.pb_port),
            "protobufClientPortAddress": "127.0.0.1",
        }
        if only_protobuf:
            keys["clientPort"] = None
            keys["clientPortAddress"] = None
            keys["maxClientCnxns"] = None
        keys.update(extra or {})
        self.only_protobuf = only_protobuf
        super().__init__(keys, **kw)

    def start(self, timeout=15):
        if not self.only_protobuf:
            return super().start(timeout)
        # no ZooKeeper port to probe: wait for a protobuf session instead
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self._logf = open(self.log, "a")
        self.proc = subprocess.Popen([corraltest.CORRALD, "-c", self.cfg], stdout=self._logf,
                                     stderr=subprocess.STDOUT, env=env)
        corraltest._servers.append(self)

        def up():
            if self.proc.poll() is not None:
                return True
            try:
                c = PbClient(self.pb_port, timeout=2)
                try:
                    r = c.connect()
                    return r.err == 0
                finally:
                    c.close()
            except (OSError, ConnectionClosed):
                return False

        if not corraltest.wait_for(up, timeout) or self.proc.poll() is not None:
            raise RuntimeError("corrald did not come up:\n" + self.output())
