#!/usr/bin/env bash
# Installs what courier needs to build and test on Debian 12. Idempotent and
# non-interactive: does nothing (not even apt-get update) when every package
# is already installed. Runs as root, or through sudo otherwise.
set -euo pipefail

# One list; a new backend adds its packages here.
COURIER_PACKAGES=(
  build-essential g++ clang libclang-rt-14-dev
  cmake ninja-build git ca-certificates
  libboost1.81-dev nlohmann-json3-dev catch2 libbenchmark-dev
  libboost-url1.81-dev libssl-dev curl
  wrk libcpp-httplib-dev  # the HTTP benchmarks: load generator, peer server
  # The AMQP backend: a real broker for its tests (started privately by
  # tests/support/rabbitmq.sh) and rabbitmq-c, the benchmarks' C baseline.
  rabbitmq-server librabbitmq-dev
)

# Node.js and npm run the seed's own JavaScript peers in the interop tests.
# A machine may already have them from another source (NodeSource's nodejs
# bundles npm and conflicts with Debian's npm package): then they stay.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  COURIER_PACKAGES+=(nodejs npm)
fi

missing=()
for package in "${COURIER_PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#COURIER_PACKAGES[@]} packages already installed"
  exit 0
fi

as_root=()
if ((EUID != 0)); then
  if ! command -v sudo >/dev/null; then
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  as_root=(sudo --non-interactive)
fi

echo "setup: installing ${missing[*]}"
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
