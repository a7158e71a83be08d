#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) into
# build-fuzz/ and runs each for FUZZ_SECONDS (default 30) on a copy of its seed corpus
# (tests/fuzz/corpus/<target>/), so that nothing new is written into the source tree.
# Exits non-zero when a target crashes, leaks, times out or fails a check, printing the
# path of the input that did it. docs/fuzzing.md has the details.
#
#   scripts/fuzz.sh                    every target, 30 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh url conf     some targets, longer
# Environment: FUZZ_SECONDS, BM_FUZZ_BUILD_DIR (build-fuzz), BM_JOBS (2, for the build),
# BM_FUZZ_JOBS (targets run at once; the number of cores),
# FUZZ_ARTIFACTS (where crashing inputs and logs go; default <build dir>/fuzz-artifacts),
# FUZZ_KEEP_CORPUS=1 (keep the grown corpora, and print where they are).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_FUZZ_BUILD_DIR:-$here/build-fuzz}
seconds=${FUZZ_SECONDS:-30}
artifacts=${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}

# Longest input per target: enough for its seeds and for what it parses in practice.
declare -A max_len=(
  [response_parser]=4096 [url]=512 [cookie_jar]=2048 [conf]=4096 [threshold]=128
  [node_list]=512 [node_protocol]=8192 [results]=16384 [har]=32768
  [funkload]=8192 [prometheus]=8192 [csv]=4096 [credentials]=4096 [merge_plan]=4096
  [services]=4096 [agent_frames]=8192
)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(response_parser url cookie_jar conf threshold node_list node_protocol results har funkload prometheus
                                          csv credentials merge_plan services agent_frames)
for t in "${targets[@]}"; do
  [ -n "${max_len[$t]:-}" ] || { echo "fuzz.sh: unknown target '$t' (known: ${!max_len[*]})" >&2; exit 2; }
done

start=$(date +%s)
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=${FUZZ_CC:-clang} CXX=${FUZZ_CXX:-clang++} \
    cmake -S "$here" -B "$build" -G Ninja -DBM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j "${BM_JOBS:-2}" --target $(printf '%s_fuzz ' "${targets[@]}")
echo "fuzz targets built in $(( $(date +%s) - start )) s"

work=$(mktemp -d "${TMPDIR:-/tmp}/bm-fuzz.XXXXXX")
# On the way out: the fuzzers still running (this script's own jobs) are stopped.
cleanup() {
  local pids
  pids=$(jobs -p)
  [ -z "$pids" ] || kill $pids 2>/dev/null || true
  [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$artifacts"
# One target per core at a time (BM_FUZZ_JOBS, default the number of cores): each still
# gets FUZZ_SECONDS of one core. Results are printed in the order of the targets.
fuzz_one() {
  local t=$1 corpus="$work/$1" log="$artifacts/$1/fuzz.log" rc runs f
  mkdir -p "$corpus" "$artifacts/$t"
  cp -r "$here/tests/fuzz/corpus/$t/." "$corpus/" 2>/dev/null || true
  rm -f "$artifacts/$t"/crash-* "$artifacts/$t"/leak-* "$artifacts/$t"/timeout-* "$artifacts/$t"/oom-* \
        "$artifacts/$t"/slow-unit-*
  set +e
  "$build/tests/fuzz/${t}_fuzz" "$corpus" -max_total_time="$seconds" -max_len="${max_len[$t]}" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  if [ $rc -ne 0 ]; then
    {
      echo "FAIL $t (exit $rc); log: $log"
      grep -E 'ERROR: |SUMMARY: |runtime error|^[a-z_]+: ' "$log" | head -5 | sed 's/^/  /'
      for f in "$artifacts/$t"/crash-* "$artifacts/$t"/leak-* "$artifacts/$t"/timeout-* "$artifacts/$t"/oom-*; do
        [ -e "$f" ] && echo "  input: $f  (reproduce: $build/tests/fuzz/${t}_fuzz $f)"
      done
    } >"$work/$t.result"
  else
    echo "ok   $t: ${runs:-?} inputs in ${seconds} s, corpus $(ls "$corpus" | wc -l) files" >"$work/$t.result"
    # A part a target had to leave out (services without a network namespace: the proxy).
    grep -a ' is not fuzzed' "$log" | head -1 | sed 's/^/     /' >>"$work/$t.result" || true
  fi
  return $rc
}
jobs_max=${BM_FUZZ_JOBS:-$(nproc)}
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs_max" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  fuzz_one "$t" &
  running=$((running + 1))
done
wait || true
failed=()
for t in "${targets[@]}"; do
  [ -s "$work/$t.result" ] || echo "FAIL $t (no result)" >"$work/$t.result"
  cat "$work/$t.result"
  grep -q '^ok ' "$work/$t.result" || failed+=("$t")
done
[ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] && echo "grown corpora kept in $work"
echo "fuzzing done in $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets that failed: ${failed[*]}" >&2
  exit 1
fi
