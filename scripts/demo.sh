#!/usr/bin/env bash
# Builds and runs the order_system example (release preset): the end-to-end
# demonstration that courier works.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
cmake --preset release
cmake --build --preset release --target order_system -j "${COURIER_JOBS:-2}"
build/release/examples/order_system/order_system
