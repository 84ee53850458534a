#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SEEDS WORKDIR SECONDS [DICT] [-- extra libFuzzer flags]
#
# Runs a libFuzzer target for SECONDS on a fresh copy of the seed corpus in
# WORKDIR/corpus (the fuzzer adds what it finds there); a crashing, leaking or
# hanging input is written to WORKDIR/artifacts/ and the run fails.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4 dict=${5:-}
shift $(( $# < 5 ? $# : 5 ))
[ "${1:-}" = "--" ] && shift

rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
args=(-max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -error_exitcode=1 -print_final_stats=1
      -artifact_prefix="$work/artifacts/")
[ -n "$dict" ] && args+=(-dict="$dict")
echo "run_fuzzer: $fuzzer ${args[*]} $* $work/corpus"
exec "$fuzzer" "${args[@]}" "$@" "$work/corpus"
