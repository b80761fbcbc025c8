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

# a module built for ABI 1 (its layout: a plain version number, no sizes)
cat > "$TMP/abi.c" <<'EOF2'
#include "corral/module.h"
struct abi1_module {
    uint32_t abi_version;
    int kind;
    const char *name, *version;
    const void *config_keys;
    int (*init)(const void *core);
    void (*fini)(void);
    const void *ops;
};
static int init(const void *c) { (void)c; return 0; }
static const void *ops[2];
const struct abi1_module corral_module_entry = {
    1, CORRAL_MODULE_STORAGE, "old", "0", 0, init, 0, ops };
EOF2
cc -shared -fPIC -I"${CORRAL_SRCDIR:?}/core/include" -o "$TMP/mods/storage_old.so" "$TMP/abi.c"
base "$TMP/mods" zk old > "$TMP/c.cfg"
# the server's ABI as module.h says it (major.minor), so a minor bump needs no edit here
ABI="$(sed -n 's/^#define CORRAL_ABI_MAJOR //p' "$CORRAL_SRCDIR/core/include/corral/module.h").$(sed -n 's/^#define CORRAL_ABI_MINOR //p' "$CORRAL_SRCDIR/core/include/corral/module.h")"
expect_refusal 1 "storage_old.so refused: built for module ABI 1, this server has ABI $ABI" "a module built for ABI 1 is refused, naming the file and both versions"

# a module of a newer major
cat > "$TMP/abi4.c" <<'EOF2'
#include "corral/module.h"
static int init(const struct corral_core *c) { (void)c; return 0; }
static const struct corral_storage_ops ops = {.size = sizeof ops};
const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI(CORRAL_ABI_MAJOR + 1, 0), .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_STORAGE, .name = "next", .init = init, .ops = &ops };
EOF2
cc -shared -fPIC -I"$CORRAL_SRCDIR/core/include" -o "$TMP/mods/storage_next.so" "$TMP/abi4.c"
base "$TMP/mods" zk next > "$TMP/c.cfg"
expect_refusal 1 "storage_next.so refused: built for module ABI 4.0, this server has ABI $ABI" "a module of another major is refused"

# A storage module whose table is as an older minor built it (it ends at
# append) but whose snapshot member, past that end, would abort: it loads, the
# core treats snapshot as absent, and the recovery-only calls refuse outside
# recover() (in init) and work inside it.  recover() then fails on purpose so
# that corrald exits with what it logged.
cat > "$TMP/short.c" <<'EOF2'
#include <stdlib.h>
#include "corral/module.h"
static const struct corral_core *core;
static int init_rc;
static int init(const struct corral_core *c)
{
    core = c;
    init_rc = c->load_session(0x55, 5000) + c->set_last_zxid(9) +
              c->load_node("/x", NULL, 0, NULL, 0, NULL);
    return 0;
}
static int snap(void) { abort(); }
static int recover(void)
{
    int in = core->load_session(0x56, 5000);
    core->log(CORRAL_LOG_ERROR, "short", "init calls %d, recover call %d, snapshot_now %s",
              init_rc, in, core->snapshot_now() == CORRAL_EUNIMPLEMENTED ? "absent" : "called");
    return -1;
}
static void append(const struct corral_txn *t, void (*done)(void *, int), void *arg)
{
    (void)t;
    done(arg, 0);
}
static const struct corral_storage_ops ops = {
    .size = CORRAL_SIZE_UPTO(struct corral_storage_ops, append),
    .recover = recover, .append = append, .snapshot = snap};
const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI_VERSION, .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_STORAGE, .name = "short", .init = init, .ops = &ops };
EOF2
cc -shared -fPIC -I"$CORRAL_SRCDIR/core/include" -o "$TMP/mods/storage_short.so" "$TMP/short.c"
base "$TMP/mods" zk short > "$TMP/c.cfg"
expect_refusal 1 "short: init calls -3, recover call 0, snapshot_now absent" "a storage table from an older minor loads; what it lacks is absent; recovery calls work only in recover()"
grep -qF "load_session refused: it is for the storage module's recover() only" "$TMP/err"
ok $? "a recovery call outside recover() is logged"

# the same table cut before append is too short to use
sed 's/CORRAL_SIZE_UPTO(struct corral_storage_ops, append)/CORRAL_SIZE_UPTO(struct corral_storage_ops, recover)/; s/"short"/"cut"/' "$TMP/short.c" > "$TMP/cut.c"
cc -shared -fPIC -I"$CORRAL_SRCDIR/core/include" -o "$TMP/mods/storage_cut.so" "$TMP/cut.c"
base "$TMP/mods" zk cut > "$TMP/c.cfg"
expect_refusal 1 "storage_cut.so refused: its storage ops table is 16 bytes, shorter than the 24 this server needs" "an ops table without a required member is refused, naming the file"

# a plugin (built for a newer minor, which loads) calling the storage-only entry points
cat > "$TMP/probe.c" <<'EOF2'
#include "corral/module.h"
static int init(const struct corral_core *c)
{
    struct corral_stat st = {0};
    int a = c->load_node("/probe", NULL, 0, NULL, 0, &st);
    int b = c->load_session(0x57, 5000);
    c->log(CORRAL_LOG_ERROR, "probe", "load_node %d load_session %d, node %s", a, b,
           c->node_get("/probe", NULL, NULL, NULL) == CORRAL_ENONODE ? "absent" : "present");
    return -1;
}
static int start(void) { return 0; }
static void stop(void) {}
static const struct corral_plugin_ops ops = {.size = sizeof ops, .start = start, .stop = stop};
const struct corral_module corral_module_entry = {
    .abi_version = CORRAL_ABI(CORRAL_ABI_MAJOR, CORRAL_ABI_MINOR + 1),
    .size = sizeof(struct corral_module),
    .kind = CORRAL_MODULE_PLUGIN, .name = "probe", .init = init, .ops = &ops };
EOF2
cc -shared -fPIC -I"$CORRAL_SRCDIR/core/include" -o "$TMP/mods/plugin_probe.so" "$TMP/probe.c"
{ base "$TMP/mods"; echo "module.plugins=probe"; } > "$TMP/c.cfg"
expect_refusal 1 "probe: load_node -1 load_session -1, node absent" "a plugin of a newer minor loads, and its storage-only calls fail cleanly"
grep -qF "load_node refused: only the storage module may call it" "$TMP/err"
ok $? "the refusal names the call and why"

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
