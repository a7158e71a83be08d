#!/usr/bin/env bash
# Builds the whole project (executable, unit tests) with clang under AddressSanitizer,
# LeakSanitizer and UndefinedBehaviorSanitizer into build-asan/ (-DBM_SANITIZE=ON) and
# runs the unit and the integration suites against that build. Exits non-zero when a
# test fails or when any process the tests started wrote a sanitizer report (printed at
# the end). docs/fuzzing.md ("The test suites under the sanitizers") has the details.
#
#   scripts/sanitize.sh                  build, unit and integration suites
#   scripts/sanitize.sh unit             one suite (unit or integration)
# Environment: BM_ASAN_BUILD_DIR (build-asan), BM_JOBS (2), BM_SANITIZE_FUZZ=ON (the
# folder also holds the fuzz targets, compiled with -fsanitize=fuzzer-no-link:
# scripts/test.sh does this, so that scripts/fuzz.sh reuses the build).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_ASAN_BUILD_DIR:-$here/build-asan}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit integration)

start=$(date +%s)
# BM_FUZZ is passed only when asked, so that a folder keeps what it was configured with.
fuzz=()
[ -z "${BM_SANITIZE_FUZZ:-}" ] || fuzz=(-DBM_FUZZ="$BM_SANITIZE_FUZZ")
CC=${SANITIZE_CC:-clang} CXX=${SANITIZE_CXX:-clang++} \
  cmake -S "$here" -B "$build" -G Ninja -DBM_SANITIZE=ON "${fuzz[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${BM_JOBS:-2}"
echo "sanitizer build done in $(( $(date +%s) - start )) s"

# The tests' sanitizer options are set by tests/CMakeLists.txt (ctest's ENVIRONMENT):
# every report also lands in sanitizer-logs/, from whichever process made it.
logs=$build/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
failed=()
cd "$build"
for suite in "${suites[@]}"; do
  t0=$(date +%s)
  jobs=1
  # Unit tests run two at a time, integration tests one at a time (as in scripts/test.sh).
  [ "$suite" = unit ] && jobs=2
  ctest --output-on-failure --timeout 900 -L "$suite" -j "$jobs" || failed+=("$suite")
  echo "$suite suite under the sanitizers: $(( $(date +%s) - t0 )) s"
done

reports=("$logs"/*)
if [ -e "${reports[0]}" ]; then
  echo "sanitizer reports (${#reports[@]}):" >&2
  for r in "${reports[@]}"; do
    echo "==== $r" >&2
    cat "$r" >&2
  done
  failed+=(reports)
fi
echo "sanitizer step done in $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "sanitizer step failed: ${failed[*]}" >&2
  exit 1
fi
