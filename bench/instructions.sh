#!/usr/bin/env bash
# Instructions per operation of each benchmark, counted by callgrind: unlike
# times, these repeat exactly on a busy or virtual machine, so they show what
# a change costs. Only the measured window is counted (see alloc_counter.hpp).
#   bench/instructions.sh [regex]     e.g. bench/instructions.sh 'policies/'
#   COURIER_INSTRUCTIONS_OUT=file     also write "name<TAB>instructions" lines
# Needs valgrind; builds the release benchmarks first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

filter="${1:-.}"
build="${COURIER_BENCH_BUILD:-build/release}"
cmake --preset release -B "$build" >/dev/null
cmake --build "$build" -j "${COURIER_JOBS:-1}" --target courier_bench >/dev/null

out="${COURIER_INSTRUCTIONS_OUT:-}"
[[ -n $out ]] && : >"$out"
printf '%-60s %14s\n' benchmark instructions/op
for binary in "$build"/bench/courier_bench_*; do
  [[ -x $binary ]] || continue
  while read -r name; do
    log=$(valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=/dev/null \
      "$binary" --benchmark_filter="^${name}\$" --benchmark_min_time=0.05 2>&1 >/dev/null)
    instructions=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$log")
    operations=$(sed -n 's/^courier_bench operations: \([0-9]*\)/\1/p' <<<"$log")
    if [[ -z $instructions || -z $operations || $operations == 0 ]]; then
      printf '%-60s %14s\n' "$name" "failed"
    else
      per_op=$(bc -l <<<"$instructions / $operations")
      printf '%-60s %14.0f\n' "$name" "$per_op"
      [[ -n $out ]] && printf '%s\t%.1f\n' "$name" "$per_op" >>"$out"
    fi
  done < <("$binary" --benchmark_list_tests=true --benchmark_filter="$filter")
done
