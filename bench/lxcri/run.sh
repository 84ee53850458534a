#!/bin/sh
# lxcri vs runc runtime benchmark (create + start + wait + delete of busybox `true`).
# usage: bench/lxcri/run.sh [LXCRI_BINARY [N [extra runtime_bench.py flags...]]]
#   LXCRI_BINARY  default build/default/apps/lxcri/lxcri (relative to the repo root)
#   N             measured cycles per runtime, default 50
# Needs root; prints "skipped: ..." and exits 0 otherwise.
# The headline measures the binary as the .deb installs it: stripped
# (scripts/package.sh runs `cmake --install --strip`); the build tree's binary,
# with its debug info, runs beside it as "lxcri-built".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
lxcri=${1:-build/default/apps/lxcri/lxcri}
n=${2:-50}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
# A relative path is taken from the caller's directory if it exists there, else from the repo root.
case $lxcri in
  /*) ;;
  *) if [ -e "$PWD/$lxcri" ]; then lxcri=$PWD/$lxcri; else lxcri=$repo/$lxcri; fi ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
strip -o "$work/lxcri" "$lxcri"
echo "lxcri: $(stat -c %s "$lxcri") bytes as built, $(stat -c %s "$work/lxcri") stripped"
/usr/bin/python3 "$here/runtime_bench.py" --lxcri "$work/lxcri" --lxcri-built "$lxcri" -n "$n" "$@"
