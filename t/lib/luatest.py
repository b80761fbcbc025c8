"""luatest — what the Lua plugin's tests (t06NN) share.

`lua_server(scripts, extra)` starts a corrald with the lua plugin loaded and
the given scripts (file names under lua/ of the source tree, or absolute
paths, or ("name.lua", "source text") pairs written to a temporary folder).
`log_has(server, text)` waits for a line in its log; `reload(server)` sends
the `rlod` four-letter word (what `corral reload` sends).
"""
import os
import tempfile

from corraltest import Corrald, four_letter, wait_for

SRCDIR = os.environ.get("CORRAL_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
LUA_DIR = os.path.join(SRCDIR, "lua")


def script_files(scripts):
    """Absolute file names for scripts given by name, path or (name, text)."""
    files = []
    tmp = None
    for s in scripts:
        if isinstance(s, tuple):
            if tmp is None:
                tmp = tempfile.mkdtemp(prefix="corral-lua-")
            path = os.path.join(tmp, s[0])
            with open(path, "w") as f:
                f.write(s[1])
            files.append(path)
        elif os.path.isabs(s):
            files.append(s)
        else:
            files.append(os.path.join(LUA_DIR, s))
    return files


def lua_server(scripts, extra=None, **kw):
    keys = {"module.plugins": "lua",
            "plugin.lua.scripts": ",".join(script_files(scripts)),
            "plugin.lua.path": LUA_DIR}
    keys.update(extra or {})
    return Corrald(keys, **kw)


def log_has(server, text, timeout=5.0):
    return wait_for(lambda: text in server.output(), timeout)


def log_count(server, text):
    return server.output().count(text)


def reload(server):
    return four_letter(server.port, "rlod")
