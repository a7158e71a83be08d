#!/usr/bin/env bash
# The main job: installs the dependencies, builds, starts the bundled demo target on
# loopback, runs a distributed bench of the shop example on local node processes, and
# ends with the path of the merged report. Extra arguments go to bench-master
# (e.g. -c 10:20 -D 30 --nodes 'local*4').
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/install-deps.sh"
BM_TARGETS=benchmaster bash "$here/scripts/build.sh"
bin="${BM_BUILD_DIR:-$here/build}/src/app/benchmaster"
out=${BM_DEMO_OUT:-$here/out}
mkdir -p "$out"

ready="$out/demo-server.url"
rm -f "$ready"
"$bin" demo-server --port 0 --threads 1 --quiet --ready-file "$ready" >/dev/null &
demo_pid=$!
trap 'kill "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
[ -s "$ready" ] || { echo "demo-server did not start" >&2; exit 1; }
url=$(cat "$ready")
echo "demo target: $url"

# Two node processes on this machine (no SSH needed), one event-loop thread each.
"$bin" master "$here/examples/test_Shop.lua" --nodes 'local*2' --workers 1 \
  -u "$url" -c 5:10:20 -D 5 --cycle-time 1 -n shop-demo -w "$out" "$@"
