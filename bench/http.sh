#!/usr/bin/env bash
# The HTTP benchmarks: wrk against courier's server, a bare Boost.Beast server
# (the baseline) and cpp-httplib (a peer), all serving GET /users/{id}; then
# courier's client and a bare Beast client against the Beast server. Writes
# $build/bench/results/http.json; with --report, also regenerates the HTTP
# section of docs/benchmarks.md (bench/run.sh calls it without, and reports
# everything at once). Takes about three and a half minutes.
#   COURIER_BENCH_BUILD        build directory (default build/release)
#   COURIER_JOBS               build parallelism (default 1)
#   COURIER_HTTP_SECONDS       length of one wrk or client run (default 4)
#   COURIER_HTTP_REPETITIONS   runs of each configuration, interleaved (default 3)
#   COURIER_HTTP_NICE          niceness of servers and load generators (default
#                              0; a negative one, as root, keeps other processes
#                              of a shared machine from adding noise)
#   COURIER_HTTP_INSTRUCTIONS  0 skips counting the servers' instructions per
#                              request with callgrind (about 40 s; on by default
#                              when valgrind is there): unlike times, the counts
#                              do not move with the load of a shared machine
#   COURIER_HTTP_BEFORE        a courier server (http_bench_courier_server) built
#                              from an earlier revision, measured beside this
#                              one in the same run (requests/s and instructions)
#   COURIER_HTTP_BEFORE_REVISION  what to call that revision in the report
# Servers run on CPU 0, wrk and the clients on CPU 1 (or also on CPU 0, for the
# same-CPU figures); needs taskset and two CPUs, and wrk.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

report=0
[[ ${1:-} == --report ]] && report=1
build="${COURIER_BENCH_BUILD:-build/release}"
seconds="${COURIER_HTTP_SECONDS:-4}"
repetitions="${COURIER_HTTP_REPETITIONS:-3}"
niceness="${COURIER_HTTP_NICE:-0}"
results="$build/bench/results"
bin="$build/bench"

for tool in wrk taskset python3; do
  command -v "$tool" >/dev/null || { echo "http.sh: $tool not found, skipping the HTTP benchmarks" >&2; exit 0; }
done
if (($(nproc) < 2)) || ! taskset -c 1 true 2>/dev/null; then
  echo "http.sh: needs two CPUs to pin server and load generator apart, skipping" >&2
  exit 0
fi

cmake --preset release -B "$build" >/dev/null
cmake --build "$build" -j "${COURIER_JOBS:-1}" --target courier_bench_http

run() {  # run CPU command...: pinned, at the chosen niceness
  local cpu=$1
  shift
  nice -n "$niceness" taskset -c "$cpu" "$@"
}

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

declare -A port
start_server() {  # start_server NAME COMMAND...: on CPU 0, waits for its port
  local name=$1 out
  shift
  out="$(mktemp)"
  nice -n "$niceness" taskset -c 0 "$@" >"$out" &  # both exec: $! is the server
  pids+=($!)
  for _ in $(seq 100); do
    grep -q '^listening on' "$out" && break
    sleep 0.1
  done
  port[$name]=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out")
  rm -f "$out"
  [[ -n ${port[$name]} ]] || { echo "http.sh: $name did not start" >&2; exit 1; }
}

servers=(beast courier courier_single_threaded)
start_server beast "$bin/http_bench_beast_server"
start_server courier "$bin/http_bench_courier_server"
start_server courier_single_threaded "$bin/http_bench_courier_server" 0 --single-threaded
if [[ -x $bin/http_bench_httplib_server ]]; then
  start_server httplib "$bin/http_bench_httplib_server"
  servers+=(httplib)
fi
before="${COURIER_HTTP_BEFORE:-}"
if [[ -n $before ]]; then
  start_server courier_before "$before"
  servers+=(courier_before)
fi

mkdir -p "$results"
runs="$(mktemp)"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
script=bench/http_users.lua

# wrk: -t1 and 50 or 1 connections; the Lua script prints one JSON line.
# Configurations: name, wrk's CPU, connections.
configs=("c50 1 50" "c1 1 1" "c1_same_cpu 0 1")
for s in "${servers[@]}"; do  # a short warm-up of each server
  run 1 wrk -t1 -c50 -d1s -s "$script" "http://127.0.0.1:${port[$s]}" >/dev/null
done
for rep in $(seq "$repetitions"); do
  for config in "${configs[@]}"; do
    read -r name cpu connections <<<"$config"
    for s in $(printf '%s\n' "${servers[@]}" | shuf); do
      line=$(run "$cpu" wrk -t1 -c"$connections" -d"${seconds}s" -s "$script" "http://127.0.0.1:${port[$s]}" | tail -1)
      echo "==> server $s $name: $line" >&2
      echo "{\"kind\": \"server\", \"impl\": \"$s\", \"config\": \"$name\", \"repetition\": $rep, \"result\": $line}" >>"$runs"
    done
  done
done

# The clients, against the Beast server on the other CPU: one keep-alive
# connection (sequential calls) and 16 (16 calls in flight).
for rep in $(seq "$repetitions"); do
  for connections in 1 16; do
    for impl in $(printf '%s\n' beast courier | shuf); do
      line=$(run 1 "$bin/http_bench_${impl}_client" "${port[beast]}" "$connections" "$seconds")
      echo "==> client $impl c$connections: $line" >&2
      echo "{\"kind\": \"client\", \"impl\": \"$impl\", \"config\": \"c$connections\", \"repetition\": $rep, \"result\": $line}" >>"$runs"
    done
  done
done
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

# Instructions per request of the servers' own process (not the kernel's),
# counted by callgrind over a window of wrk -c10 after a warm-up. cpp-httplib
# is left out: its thread per connection makes another kind of cost.
if [[ ${COURIER_HTTP_INSTRUCTIONS:-1} != 0 ]] && command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
  for s in beast courier courier_single_threaded ${before:+courier_before}; do
    args=()
    [[ $s == courier_single_threaded ]] && args=(0 --single-threaded)
    exe="$bin/http_bench_${s%_single_threaded}_server"
    [[ $s == courier_before ]] && exe="$before"
    out="$(mktemp)" log="$(mktemp)"
    taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \
      "$exe" "${args[@]}" >"$out" 2>"$log" &
    vg=$!
    for _ in $(seq 300); do grep -q '^listening on' "$out" && break; sleep 0.1; done
    p=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out")
    taskset -c 1 wrk -t1 -c10 -d2s -s "$script" "http://127.0.0.1:$p" >/dev/null
    callgrind_control -i on "$vg" >/dev/null 2>&1
    line=$(taskset -c 1 wrk -t1 -c10 -d5s -s "$script" "http://127.0.0.1:$p" | tail -1)
    callgrind_control -i off "$vg" >/dev/null 2>&1
    kill -INT "$vg"
    wait "$vg" || true
    collected=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log")
    requests=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$line")
    echo "==> instructions $s: $collected over $requests requests" >&2
    echo "{\"kind\": \"instructions\", \"impl\": \"$s\", \"config\": \"c10\", \"repetition\": 1, \"result\": {\"instructions\": ${collected:-0}, \"requests\": $requests}}" >>"$runs"
    rm -f "$out" "$log"
  done
fi

python3 - "$runs" "$results/http.json" <<EOF
import datetime, json, subprocess, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
context = {
    "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    "load_avg_start": "$load_start", "load_avg_end": "$load_end",
    "seconds": $seconds, "repetitions": $repetitions, "niceness": $niceness, "wrk": wrk.strip(),
    "revision": "$(git describe --always --dirty 2>/dev/null || echo unknown)",
}
if "$before":
    context["before_revision"] = "${COURIER_HTTP_BEFORE_REVISION:-an earlier revision}"
json.dump({"context": context, "runs": runs}, open(sys.argv[2], "w"), indent=1)
EOF
rm -f "$runs"
echo "http.sh: wrote $results/http.json" >&2

if ((report)); then
  revision="$(git describe --always --dirty 2>/dev/null || echo unknown)"
  python3 bench/report.py --out docs/benchmarks.md --revision "$revision" --http "$results/http.json"
fi
