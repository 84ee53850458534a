#!/bin/sh
# Builds and runs the planner quality benchmark (not part of ctest).
# Usage: bench/balance/run.sh [--quick] [--tmlim SECONDS] [--part 1|2|3]...
# BUILD_DIR overrides the build directory (default build/balance-rel, Release).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build/balance-rel}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPVEKIT_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target bench_planner_quality
exec "$build/bench/balance/bench_planner_quality" "$@"
