#!/usr/bin/env bash
# Builds the benchmarks (release preset), runs them pinned to one CPU when
# taskset works, and regenerates docs/benchmarks.md from their JSON output.
#   COURIER_JOBS               build parallelism (default 1)
#   COURIER_BENCH_CPU          CPU to pin to (default 1, or 0 on one CPU)
#   COURIER_BENCH_REPETITIONS  repetitions per benchmark (default 5)
#   COURIER_BENCH_FILTER       regex passed as --benchmark_filter (default all)
#   COURIER_BENCH_INSTRUCTIONS 0 skips the instruction counts (callgrind, a few
#                              minutes; on by default when valgrind is there)
#   COURIER_BENCH_HTTP         0 skips the HTTP benchmarks (bench/http.sh, about
#                              three and a half minutes; see it for its options)
#   COURIER_BENCH_BUILD        build directory (default build/release)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

benchmarks=(request_reply pubsub policies)
build="${COURIER_BENCH_BUILD:-build/release}"
results="$build/bench/results"

cmake --preset release -B "$build"
cmake --build "$build" -j "${COURIER_JOBS:-1}" \
  --target "${benchmarks[@]/#/courier_bench_}" contended_bench_spinlock contended_bench_mutex

pin=()
cpu="${COURIER_BENCH_CPU:-$(( $(nproc) > 1 ? 1 : 0 ))}"
if command -v taskset >/dev/null && taskset -c "$cpu" true 2>/dev/null; then
  pin=(taskset -c "$cpu")
else
  cpu=""
  echo "run.sh: taskset unavailable, running unpinned" >&2
fi

mkdir -p "$results"
files=()
# Every repetition goes to the JSON file (the console shows the aggregates):
# report.py fails the run on one that failed (SkipWithError), which
# --benchmark_report_aggregates_only would hide.
common=(
  --benchmark_out_format=json
  --benchmark_repetitions="${COURIER_BENCH_REPETITIONS:-5}"
  --benchmark_enable_random_interleaving=true
  --benchmark_display_aggregates_only=true
  --benchmark_filter="${COURIER_BENCH_FILTER:-.}"
)
for name in "${benchmarks[@]}"; do
  out="$results/$name.json"
  echo "==> courier_bench_$name${cpu:+ (CPU $cpu)}"
  "${pin[@]}" "$build/bench/courier_bench_$name" "${common[@]}" --benchmark_out="$out"
  files+=("$out")
done

# The broker's lock under contention needs every CPU: unpinned.
for lock in spinlock mutex; do
  out="$results/contended_$lock.json"
  echo "==> contended_bench_$lock (unpinned)"
  "$build/bench/contended_bench_$lock" "${common[@]}" --benchmark_out="$out"
  files+=("$out")
done

instructions=()
if [[ ${COURIER_BENCH_INSTRUCTIONS:-1} != 0 ]] && command -v valgrind >/dev/null; then
  echo "==> instruction counts (callgrind)"
  COURIER_INSTRUCTIONS_OUT="$results/instructions.tsv" bench/instructions.sh "${COURIER_BENCH_FILTER:-.}" >/dev/null
  instructions=(--instructions "$results/instructions.tsv")
fi

http=()
if [[ ${COURIER_BENCH_HTTP:-1} != 0 ]]; then
  echo "==> HTTP (bench/http.sh)"
  rm -f "$results/http.json"
  COURIER_BENCH_BUILD="$build" bench/http.sh
  [[ -f $results/http.json ]] && http=(--http "$results/http.json")
fi

revision="$(git describe --always --dirty 2>/dev/null || echo unknown)"
python3 bench/report.py --out docs/benchmarks.md --revision "$revision" ${cpu:+--pinned "$cpu"} "${instructions[@]}" "${http[@]}" "${files[@]}"
