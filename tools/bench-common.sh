# bench-common.sh — what the benchmark scripts (bench.sh, bench-lua.sh)
# share: finding the programs of a built tree, pinning server and generator
# to separate CPUs, free loopback ports, and a process's CPU time.  Sourced,
# not run; the script sets NAME (its name in messages) first.

die() { echo "$NAME: $*" >&2; exit 1; }

# bench_build BUILDDIR [MODULEDIR]: sets BUILDDIR, CORRALD, BENCH and MODULES
# (absolute paths), or dies naming what is missing.  Nothing is built here.
# A sanitizer build is used, with a warning: ASan makes corrald several
# times slower and a comparison meaningless.
bench_build() {
    [ -d "$1" ] || die "no build directory '$1' (usage: tools/$NAME BUILDDIR [MODULEDIR])"
    BUILDDIR=$(cd "$1" && pwd)
    CORRALD=$BUILDDIR/core/corrald
    BENCH=$BUILDDIR/tools/corral-bench
    MODULES=${2:-$BUILDDIR/modules/.dev}
    [ -x "$CORRALD" ] || die "$CORRALD not built"
    [ -x "$BENCH" ] || die "$BENCH not built"
    [ -d "$MODULES" ] || die "$MODULES missing (modules not built)"
    MODULES=$(cd "$MODULES" && pwd)
    if grep -q '^SAN_CFLAGS = -f' "$BUILDDIR/Makefile" 2>/dev/null; then
        echo "$NAME: WARNING: $BUILDDIR is a sanitizer build; Corral's figures will be far too low" >&2
    fi
}

# bench_pinning PIN: with PIN=1 and at least 2 CPUs, the server runs on CPU 0
# and the generator on CPU 1 (SERVER_CPU, BENCH_CPU: command prefixes), so
# the generator never steals from the server; PIN_NOTE says what was done.
bench_pinning() {
    local ncpu
    ncpu=$(nproc 2>/dev/null || echo 1)
    if [ "$1" = 1 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
        SERVER_CPU="taskset -c 0"
        BENCH_CPU="taskset -c 1"
        PIN_NOTE="server pinned to CPU 0, corral-bench to CPU 1 ($ncpu CPUs)"
    else
        SERVER_CPU=""
        BENCH_CPU=""
        PIN_NOTE="no CPU pinning ($ncpu CPUs shared by server and generator)"
    fi
}

# A free TCP port on 127.0.0.1 (bound then released).
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# User+system CPU seconds of a process (all its threads); 0 once it is gone.
cpu_of() {
    awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.4f\n", ($12 + $13) / t }' \
        "/proc/$1/stat" 2>/dev/null || echo 0
}
