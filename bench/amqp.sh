#!/usr/bin/env bash
# The AMQP benchmarks: publish 100,000 messages of 256 bytes with publisher
# confirms, then consume them with prefetch and an ack per message, against one
# private RabbitMQ (tests/support/rabbitmq.sh) in one run: courier's client
# next to rabbitmq-c (bench/amqp_rabbitmq_c.c) and amqplib
# (bench/amqp_amqplib.js), interleaved in random order. Writes
# $build/bench/results/amqp.json and prints the medians; with --report, also
# regenerates the AMQP section of docs/benchmarks.md. About a minute and a half.
#   COURIER_BENCH_BUILD        build directory (default build/release)
#   COURIER_JOBS               build parallelism (default 1)
#   COURIER_AMQP_MESSAGES      messages per run (default 100000)
#   COURIER_AMQP_SIZE          body size in bytes (default 256)
#   COURIER_AMQP_WINDOW        unconfirmed publishes at most (default 1000)
#   COURIER_AMQP_PREFETCH      basic.qos prefetch count (default 1000)
#   COURIER_AMQP_REPETITIONS   runs of each client, interleaved (default 3)
#   COURIER_AMQP_PORT          the broker's AMQP port (default 24000; the next
#                              two are its distribution and epmd ports)
#   COURIER_AMQP_NICE          niceness of broker and clients (default 0)
# The broker runs on CPU 0 and the clients on CPU 1 when there are two CPUs and
# taskset; unpinned otherwise.
#
# Every client is a program with one command line and one line of output, so
# courier's own, $build/bench/amqp_bench_courier (bench/amqp_courier.cpp; run
# when it was built), takes its place beside the baselines as it is:
#   PROGRAM URL [MESSAGES [SIZE [WINDOW [PREFETCH]]]]
# URL is amqp://guest:guest@127.0.0.1:PORT/ (vhost "/"). The program declares a
# queue of its own (non-durable, named after itself and its pid), then
#   publish: MESSAGES transient messages of SIZE bytes to that queue through
#     the default exchange on a channel in confirm mode, at most WINDOW
#     unconfirmed; timed from the first publish to the last confirm;
#   consume: basic.qos(PREFETCH), basic.consume, one basic.ack per message;
#     timed from basic.qos to the basic.cancel-ok after the last ack;
# deletes the queue, prints one JSON line on stdout and exits 0:
#   {"impl": "courier", "messages": 100000, "size": 256, "window": 1000, "prefetch": 1000,
#    "publish": {"seconds": S, "messages_per_second": R, "cpu_us_per_message": C},
#    "consume": {"seconds": S, "messages_per_second": R, "cpu_us_per_message": C, "redelivered": N}}
# where C is the process's user + system CPU time over the phase
# (getrusage(RUSAGE_SELF)) per message, in µs. A failure, a nack, a message
# of the wrong size or a wrong count: a message on stderr and a non-zero exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

report=0
[[ ${1:-} == --report ]] && report=1
build="${COURIER_BENCH_BUILD:-build/release}"
messages="${COURIER_AMQP_MESSAGES:-100000}"
size="${COURIER_AMQP_SIZE:-256}"
window="${COURIER_AMQP_WINDOW:-1000}"
prefetch="${COURIER_AMQP_PREFETCH:-1000}"
repetitions="${COURIER_AMQP_REPETITIONS:-3}"
port="${COURIER_AMQP_PORT:-24000}"
niceness="${COURIER_AMQP_NICE:-0}"
results="$build/bench/results"
bin="$build/bench"

if [[ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
  echo "amqp.sh: rabbitmq-server not installed, skipping the AMQP benchmarks" >&2
  exit 0
fi
for tool in node python3; do
  command -v "$tool" >/dev/null || { echo "amqp.sh: $tool not found, skipping the AMQP benchmarks" >&2; exit 0; }
done

cmake --preset release -B "$build" >/dev/null
cmake --build "$build" -j "${COURIER_JOBS:-1}" --target courier_bench_amqp

broker_cpu=() client_cpu=()
if [[ ${COURIER_AMQP_PIN:-1} != 0 ]] && (($(nproc) >= 2)) && taskset -c 1 true 2>/dev/null; then
  broker_cpu=(taskset -c 0)
  client_cpu=(taskset -c 1)
else
  echo "amqp.sh: fewer than two CPUs or no taskset: broker and clients unpinned" >&2
fi

broker="$build/bench/rabbitmq"
trap 'tests/support/rabbitmq.sh stop "$broker" >/dev/null 2>&1 || true' EXIT
nice -n "$niceness" "${broker_cpu[@]}" tests/support/rabbitmq.sh start "$broker" "$port" >&2
url="amqp://guest:guest@127.0.0.1:$port/"

declare -A client
clients=()
if [[ -x $bin/amqp_bench_courier ]]; then
  client[courier]="$bin/amqp_bench_courier"
  clients+=(courier)
else
  echo "amqp.sh: no $bin/amqp_bench_courier (bench/amqp_courier.cpp), measuring the baselines only" >&2
fi
if [[ -x $bin/amqp_bench_rabbitmq_c ]]; then
  client[rabbitmq-c]="$bin/amqp_bench_rabbitmq_c"
  clients+=(rabbitmq-c)
fi
client[amqplib]="node bench/amqp_amqplib.js"
clients+=(amqplib)

run() {  # run IMPL MESSAGES: one run of a client, its JSON line on stdout
  # shellcheck disable=SC2086  # client[amqplib] is two words
  nice -n "$niceness" "${client_cpu[@]}" ${client[$1]} "$url" "$2" "$size" "$window" "$prefetch"
}

mkdir -p "$results"
runs="$(mktemp)"
for c in "${clients[@]}"; do  # a warm-up of broker and client
  run "$c" $((messages / 10)) >/dev/null
done
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq "$repetitions"); do
  for c in $(printf '%s\n' "${clients[@]}" | shuf); do
    line=$(run "$c" "$messages")
    echo "==> $c: $line" >&2
    echo "{\"impl\": \"$c\", \"repetition\": $rep, \"result\": $line}" >>"$runs"
  done
done
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
broker_version="$(tests/support/rabbitmq.sh ctl "$broker" version 2>/dev/null | tail -1)"

python3 - "$runs" "$results/amqp.json" <<EOF
import datetime, json, subprocess, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
def version(*command):
    try:
        return subprocess.run(command, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
context = {
    "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    "load_avg_start": "$load_start", "load_avg_end": "$load_end",
    "messages": $messages, "size": $size, "window": $window, "prefetch": $prefetch,
    "repetitions": $repetitions, "niceness": $niceness, "pinned": bool("${broker_cpu[*]}"),
    "rabbitmq": "$broker_version",
    "rabbitmq_c": version("pkg-config", "--modversion", "librabbitmq"),
    "amqplib": version("node", "-p", "require('./tests/peers/node_modules/amqplib/package.json').version"),
    "node": version("node", "--version"),
    "revision": "$(git describe --always --dirty 2>/dev/null || echo unknown)",
}
json.dump({"context": context, "runs": runs}, open(sys.argv[2], "w"), indent=1)
EOF
rm -f "$runs"
echo "amqp.sh: wrote $results/amqp.json" >&2
python3 bench/report.py --print-amqp "$results/amqp.json"

if ((report)); then
  revision="$(git describe --always --dirty 2>/dev/null || echo unknown)"
  python3 bench/report.py --out docs/benchmarks.md --revision "$revision" --amqp "$results/amqp.json"
fi
