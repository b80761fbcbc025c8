#!/usr/bin/env bash
# t0002 — corrald refuses bad configurations and bad modules with a clear
# message (file, line and key; or the module file and the reason) and a
# non-zero exit, and never starts half-configured.
set -u
BUILD=${CORRAL_BUILDDIR:?CORRAL_BUILDDIR must point at the build tree}
MODS=${CORRAL_MODULE_PATH:-$BUILD/modules/.dev}
CORRALD=$BUILD/core/corrald
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
# run corrald on a config; it must exit by itself (bounded) with status $1, stderr containing $2
expect_refusal() {
    local want_status=$1 pattern=$2 desc=$3
    timeout 10 env ASAN_OPTIONS=detect_leaks=1 "$CORRALD" -c "$TMP/c.cfg" >"$TMP/out" 2>"$TMP/err"
    local st=$?
    if [ $st -ne "$want_status" ]; then
        echo "# exit status $st, expected $want_status" >&2; sed 's/^/#   /' "$TMP/err" >&2
        ok 1 "$desc"; return
    fi
    if ! grep -qF -- "$pattern" "$TMP/err"; then
        echo "# stderr lacks: $pattern" >&2; sed 's/^/#   /' "$TMP/err" >&2
        ok 1 "$desc"; return
    fi
    ok 0 "$desc"
}
base() {
    cat <<EOF2
tickTime=2000
dataDir=$TMP/data
clientPort=1
clientPortAddress=127.0.0.1
module.path=$1
module.transport=${2:-zk}
module.storage=${3:-mem}
module.auth=${4:-world}
EOF2
}

"$CORRALD" --version | grep -q '^corrald '; ok $? "corrald --version prints the version"
"$CORRALD" --help | grep -q -- '-c, --config FILE'; ok $? "corrald --help prints usage"
"$CORRALD" >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "corrald without -c exits 1"
rm -f "$TMP/c.cfg"; ln -s "$TMP/none.cfg" "$TMP/c.cfg"
expect_refusal 1 "c.cfg: cannot read config" "an unreadable config file is named"
rm -f "$TMP/c.cfg"

{ base "$MODS"; echo "bogusKey=1"; } > "$TMP/c.cfg"
expect_refusal 1 "c.cfg:9: unknown key 'bogusKey'" "an unknown key is named with file and line"

{ base "$MODS"; echo "tickTime=fast"; } > "$TMP/c.cfg"
expect_refusal 1 "c.cfg:9: key 'tickTime': 'fast' is not an integer" "a bad integer is named with file, line and key"

{ base "$MODS"; echo "minSessionTimeout=50000"; echo "maxSessionTimeout=4000"; } > "$TMP/c.cfg"
expect_refusal 1 "key 'minSessionTimeout': 50000 is larger than maxSessionTimeout" "min > max session timeout is refused"

{ base "$MODS"; echo "storage.mem.async=maybe"; } > "$TMP/c.cfg"
expect_refusal 1 "c.cfg:9: key 'storage.mem.async': 'maybe' is not true or false" "a bad boolean of a Corral key is named"
# (ZooKeeper's own booleans refuse nothing: skipACL=maybe starts, see t0800)

{ base "$MODS"; echo "just a line"; } > "$TMP/c.cfg"
expect_refusal 1 "c.cfg:9: expected key=value" "a line without '=' is named"

base "$MODS" zk nosuch > "$TMP/c.cfg"
expect_refusal 1 "module storage 'nosuch': no file storage_nosuch.so" "a missing module is named"

# a module of the wrong kind: the world auth module presented as a storage module
mkdir -p "$TMP/mods"
for f in "$MODS"/*.so; do ln -sf "$(readlink -f "$f")" "$TMP/mods/"; done
ln -sf "$(readlink -f "$MODS/auth_world.so")" "$TMP/mods/storage_fake.so"
base "$TMP/mods" zk fake > "$TMP/c.cfg"
expect_refusal 1 "storage_fake.so refused: it is a auth module, not a storage module" "a module of the wrong kind is refused, naming the file"

# a module built against another ABI version
cat > "$TMP/abi.c" <<'EOF2'
#include "corral/module.h"
static int init(const struct corral_core *c) { (void)c; return 0; }
static const struct corral_storage_ops ops;
const struct corral_module corral_module_entry = {
    CORRAL_ABI_VERSION + 41, CORRAL_MODULE_STORAGE, "old", "0", 0, init, 0, &ops };
EOF2
cc -shared -fPIC -I"${CORRAL_SRCDIR:?}/core/include" -o "$TMP/mods/storage_old.so" "$TMP/abi.c"
base "$TMP/mods" zk old > "$TMP/c.cfg"
expect_refusal 1 "storage_old.so refused: built for module ABI" "a module of another ABI version is refused, naming the file"

# a shared object that is not a module at all
cat > "$TMP/not.c" <<'EOF2'
int not_a_module = 1;
EOF2
cc -shared -fPIC -o "$TMP/mods/storage_plain.so" "$TMP/not.c"
base "$TMP/mods" zk plain > "$TMP/c.cfg"
expect_refusal 1 "storage_plain.so refused: it exports no corral_module_entry" "a .so without the module symbol is refused"

# garbage in place of a .so
echo "not an ELF file" > "$TMP/mods/storage_junk.so"
base "$TMP/mods" zk junk > "$TMP/c.cfg"
expect_refusal 1 "storage_junk.so: cannot load" "a file that is not a shared object is refused"

echo "1..$n"
[ $failed -eq 0 ]
