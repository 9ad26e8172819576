#!/usr/bin/env bash
# Builds the libFuzzer targets (the fuzz preset: clang, ASan + UBSan) and runs
# each for COURIER_FUZZ_SECONDS (default 40) on a copy of its seed corpus
# (tests/fuzz/corpus/<name>/; what the run discovers is not kept). Exits
# non-zero on the first crash, leak, sanitizer report or timeout; the input
# that caused it is left in build/fuzz/artifacts/ to reproduce with
#   build/fuzz/tests/fuzz/<name>_fuzz build/fuzz/artifacts/<name>-crash-...
# COURIER_JOBS sets the build's parallelism (default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${COURIER_FUZZ_SECONDS:-40}"
jobs="${COURIER_JOBS:-2}"
build=build/fuzz
targets=(amqp_frame http_request http_response)

cmake --preset fuzz
cmake --build --preset fuzz -j "$jobs"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  cp tests/fuzz/corpus/"$target"/* "$work/$target"/
  echo "fuzz: ${target} for ${seconds}s"
  # -max_len: a few frames of a few kilobytes each, enough to cross the
  # 4096-byte pre-tune limit and split bodies.
  "$build/tests/fuzz/${target}_fuzz" \
    -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/${target}-" \
    "$work/$target"
done
