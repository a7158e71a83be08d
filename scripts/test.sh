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
# Without the micro-benchmarks (bench/): about 100 s of a 2-core build that no test runs;
# scripts/build.sh builds them (docs/fuzzing.md, "CI cost").
BM_WERROR=ON BM_BUILD_BENCH=OFF bash "$here/scripts/build.sh"
step "build done"
cd "${BM_BUILD_DIR:-$here/build}"
# Integration tests load the machine on purpose: they run one at a time.
ctest --output-on-failure --timeout 900 -L unit -j 2
step "unit suite done"
ctest --output-on-failure --timeout 900 -L integration
step "integration suite done"
# The whole project again under ASan, LSan and UBSan (clang, in build-asan/), the unit and
# integration suites against it; the same folder holds the fuzz targets, compiled once
# with the rest (-fsanitize=fuzzer-no-link): docs/fuzzing.md.
asan_build=${BM_ASAN_BUILD_DIR:-$here/build-asan}
BM_ASAN_BUILD_DIR=$asan_build BM_SANITIZE_FUZZ=ON bash "$here/scripts/sanitize.sh"
step "sanitizer step done"
# The parsers under libFuzzer, ASan and UBSan.
BM_FUZZ_BUILD_DIR=$asan_build FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash "$here/scripts/fuzz.sh"
step "fuzzing done; the whole test command"
