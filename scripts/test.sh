#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite (unit and integration),
# then a bounded run of the fuzz targets (FUZZ_SECONDS each, 20 by default here).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/install-deps.sh"
BM_WERROR=ON bash "$here/scripts/build.sh"
cd "${BM_BUILD_DIR:-$here/build}"
# Integration tests load the machine on purpose: they run one at a time.
ctest --output-on-failure --timeout 900 -L unit -j 2
ctest --output-on-failure --timeout 900 -L integration
# The parsers under libFuzzer, ASan and UBSan (clang, in build-fuzz/): docs/fuzzing.md.
FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash "$here/scripts/fuzz.sh"
