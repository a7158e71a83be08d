#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian packages (and the
# npm packages pinned by package-lock.json). Safe to run again; needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  # build
  g++ cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev libboost-url1.81-dev libssl-dev liblua5.4-dev lua5.4
  libhttp-parser-dev libgumbo-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  liburing-dev libcsv-dev libsimdjson-dev
  # tests
  libgtest-dev libgmock-dev libbenchmark-dev nginx-light openssh-server openssh-client
  chromium procps iproute2 iptables curl python3 prometheus-node-exporter
  python3-junitparser libxml2-utils
  clang libclang-rt-14-dev  # libFuzzer, ASan and UBSan for the fuzz targets (scripts/fuzz.sh)
  # benchmarks
  wrk nghttp2-client valgrind util-linux time linux-perf strace
)

missing=()
# npm builds the report's chart bundle; a Node.js that ships its own npm is fine.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Services the packages bring are started by our tests, never by the package.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# uPlot for the HTML report, pinned by package-lock.json.
if [ -f "$here/package-lock.json" ] && [ ! -f "$here/node_modules/uplot/package.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "dependencies ready"
