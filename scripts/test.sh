#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite (unit and integration).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/install-deps.sh"
BM_WERROR=ON bash "$here/scripts/build.sh"
cd "${BM_BUILD_DIR:-$here/build}"
# Integration tests load the machine on purpose: they run one at a time.
ctest --output-on-failure --timeout 900 -L unit -j 2
ctest --output-on-failure --timeout 900 -L integration
