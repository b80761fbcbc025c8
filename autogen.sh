#!/bin/sh
# Regenerate configure and the Makefile.in files from configure.ac/Makefile.am.
set -e
cd "$(dirname "$0")"
autoreconf --install --force >/dev/null
echo "autogen.sh: now run ./configure (or use the top-level 'make run' / 'make check')"
