#!/usr/bin/env bash
# fuzz_preset.sh SOURCE_DIR
#
# The default build's way to run the fuzzers (CTest fuzz.config.preset):
# configures and builds the `fuzz` preset (clang-14, libFuzzer, ASan+UBSan,
# build/fuzz) and runs its fuzz.config test. Exits 77 (CTest: skipped) with
# the reason when clang++-14 or libFuzzer (libclang-rt-14-dev) is missing.
set -euo pipefail
src=$1

if ! command -v clang++-14 >/dev/null 2>&1; then
  echo "skip: clang++-14 is not installed (Debian: apt-get install clang-14 libclang-rt-14-dev)"
  exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/probe.cpp"
if ! clang++-14 -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" 2>"$probe/err"; then
  echo "skip: clang++-14 cannot link a libFuzzer target (Debian: apt-get install libclang-rt-14-dev):"
  sed 's/^/  /' "$probe/err" | head -5
  exit 77
fi

cd "$src"
# One build of build/fuzz at a time (the default and asan builds may both run this test).
mkdir -p build
exec 9>build/.fuzz-preset.lock
flock 9
t0=$(date +%s)
if ! cmake --preset fuzz >"$probe/configure.log" 2>&1; then
  cat "$probe/configure.log"
  exit 1
fi
t1=$(date +%s)
cmake --build --preset fuzz
t2=$(date +%s)
echo "fuzz_preset: configure $((t1 - t0)) s, build $((t2 - t1)) s"
ctest --test-dir build/fuzz -R '^fuzz\.config$' --output-on-failure --no-tests=error
echo "fuzz_preset: total $(($(date +%s) - t0)) s"
