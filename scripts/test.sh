#!/usr/bin/env bash
# Configures, builds and runs the tests for each preset in turn (default:
# dev, then asan, then tsan, which builds only the tests that run threads).
# COURIER_TEST_PRESETS overrides the list, e.g.
#   COURIER_TEST_PRESETS="dev" scripts/test.sh
# COURIER_JOBS sets the parallelism (default 2). Exits non-zero on the first
# failure; prints how long each stage took.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

read -r -a presets <<<"${COURIER_TEST_PRESETS:-dev asan tsan}"
jobs="${COURIER_JOBS:-2}"

stage() {
  local name="$1"; shift
  local start=$SECONDS
  echo "==> ${name}: $*"
  if "$@"; then
    echo "==> ${name}: ok ($((SECONDS - start))s)"
  else
    local rc=$?
    echo "==> ${name}: FAILED with status ${rc} ($((SECONDS - start))s)" >&2
    exit "$rc"
  fi
}

stage setup scripts/setup.sh
# The Node.js peers, exactly as locked (tests/peers/package-lock.json).
stage peers npm ci --prefix tests/peers --no-audit --no-fund
for preset in "${presets[@]}"; do
  stage "${preset}/configure" cmake --preset "$preset"
  stage "${preset}/build"     cmake --build --preset "$preset" -j "$jobs"
  stage "${preset}/test"      ctest --preset "$preset" -j "$jobs" --output-on-failure
done
# libFuzzer targets under ASan + UBSan, COURIER_FUZZ_SECONDS each (default 40).
stage fuzz scripts/fuzz.sh
echo "==> all stages passed (${SECONDS}s): ${presets[*]} fuzz"
