#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite (unit and integration),
# then the same suite against a build under the sanitizers (scripts/sanitize.sh), then a
# bounded run of the fuzz targets (FUZZ_SECONDS each, 20 by default here).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
began=$(date +%s)
step() { echo "test.sh: $1 after $(( $(date +%s) - began )) s"; }
bash "$here/scripts/install-deps.sh"
step "dependencies ready"
BM_WERROR=ON bash "$here/scripts/build.sh"
step "build done"
# The whole project again under ASan, LSan and UBSan (clang, in build-asan/); the same
# folder holds the fuzz targets, compiled once with the rest (-fsanitize=fuzzer-no-link):
# docs/fuzzing.md. It compiles while the g++ suites run, at the lowest priority: those
# suites mostly wait (on benches' windows, on servers), and their processes still get
# the CPU first whenever they want it. It is a process group of its own, stopped if
# this script ends early.
asan_build=${BM_ASAN_BUILD_DIR:-$here/build-asan}
asan_log=$(mktemp "${TMPDIR:-/tmp}/bm-sanitizer-build.XXXXXX")
BM_ASAN_BUILD_DIR=$asan_build BM_SANITIZE_FUZZ=ON setsid nice -n 19 bash "$here/scripts/sanitize.sh" build \
  >"$asan_log" 2>&1 &
asan_pid=$!
trap 'kill -- -"$asan_pid" 2>/dev/null || true' EXIT
cd "${BM_BUILD_DIR:-$here/build}"
# Integration tests load the machine on purpose: they run one at a time.
ctest --output-on-failure --timeout 900 -L unit -j 2
step "unit suite done"
ctest --output-on-failure --timeout 900 -L integration
step "integration suite done"
if ! wait "$asan_pid"; then
  cat "$asan_log" >&2
  echo "test.sh: the sanitizer build failed" >&2
  exit 1
fi
trap - EXIT
tail -n 1 "$asan_log"
rm -f "$asan_log"
step "sanitizer build done"
# The unit and integration suites against it (the build is up to date: nothing to do).
BM_ASAN_BUILD_DIR=$asan_build BM_SANITIZE_FUZZ=ON bash "$here/scripts/sanitize.sh"
step "sanitizer step done"
# The parsers under libFuzzer, ASan and UBSan.
BM_FUZZ_BUILD_DIR=$asan_build FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash "$here/scripts/fuzz.sh"
step "fuzzing done; the whole test command"
