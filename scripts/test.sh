#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite
# (unit and integration). This is the command CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default
ctest --preset default "$@"
