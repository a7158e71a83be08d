#!/usr/bin/env bash
# Configures and builds benchmaster into build/ (optimised, with debug info).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$here/build}
jobs=${BM_JOBS:-$(nproc)}
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs"
echo "built $build/src/app/benchmaster"
