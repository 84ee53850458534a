#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite
# (unit and integration). This is the command CI runs. Extra arguments go to
# ctest (e.g. -L unit, -R proxlb, -LE vm).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/progress.sh

install_and_configure
phase "building everything (2 jobs)" "about 18 minutes from scratch on 2 cores, seconds when up to date"
build_with_progress --preset default
phase "running the tests (ctest)" "about 16 minutes on 2 cores, 7 of them the VM boots (label vm)"
status=0
ctest --preset default "$@" || status=$?
phase_summary "tests $([ "$status" = 0 ] && echo passed || echo FAILED)"
exit "$status"
