#!/usr/bin/env bash
# Configures and builds benchmaster into build/ (optimised, with debug info).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$here/build}
jobs=${BM_JOBS:-$(nproc)}
# BM_WERROR=ON (the test command sets it) turns warnings into errors.
# BM_BUILD_BENCH=OFF leaves out the micro-benchmarks of bench/ (the test command does:
# nothing in the suites runs them); given each time, so a folder gets them back.
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBM_WERROR="${BM_WERROR:-OFF}" \
  -DBM_BUILD_BENCH="${BM_BUILD_BENCH:-ON}" >/dev/null
# BM_TARGETS (e.g. "benchmaster"): build only those; the demo needs the executable alone.
targets=()
for t in ${BM_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
echo "built $build/src/app/benchmaster"
