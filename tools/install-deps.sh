#!/bin/sh
# install-deps.sh — install what building and testing Corral needs, on Debian 12.
# Run as root (make run / make check call it automatically when root and
# something is missing).  Idempotent: apt-get skips what is installed.
set -e
PKGS="build-essential autoconf automake libtool pkg-config
      libev-dev libprotobuf-c-dev protobuf-c-compiler liblua5.4-dev libssl-dev zlib1g-dev uthash-dev
      python3 python3-kazoo python3-protobuf protobuf-compiler
      zookeeper zookeeper-bin libzookeeper-mt-dev default-jre-headless default-jdk-headless
      libcurator-recipes-java libcurator-framework-java libcurator-client-java
      perl netcat-openbsd"
if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: not root; install these Debian packages yourself:" >&2
    echo "  $PKGS" | tr '\n' ' ' >&2
    echo >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install-deps.sh: installing:$missing"
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
