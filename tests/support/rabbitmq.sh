#!/usr/bin/env bash
# A private RabbitMQ broker for tests and benchmarks: its own node name, ports,
# data directory, Erlang cookie and epmd, listening on 127.0.0.1 only, so it
# neither uses nor disturbs a system broker (or another private one).
#
#   rabbitmq.sh start   DIR PORT [DIST_PORT]  start a broker (waits until ready)
#   rabbitmq.sh stop    DIR                   stop it and its epmd
#   rabbitmq.sh restart DIR [--kill]          stop the broker and start it again
#                                             (same data, same port; epmd stays);
#                                             --kill: SIGKILL instead of an
#                                             orderly shutdown, as in a crash
#   rabbitmq.sh wait    DIR                   wait until it accepts connections
#   rabbitmq.sh ctl     DIR ARGS...           rabbitmqctl against it, e.g.
#                                             `rabbitmq.sh ctl DIR list_queues`
#   rabbitmq.sh url     DIR                   print amqp://guest:guest@127.0.0.1:PORT/
#   rabbitmq.sh status  DIR                   exit 0 when the broker is running
#
# DIR holds everything (config, data, logs, HOME with the cookie) and remembers
# the ports, so the commands after `start` need only DIR. The broker uses PORT
# for AMQP, DIST_PORT (default PORT+1) for Erlang distribution and PORT+2 for
# its own epmd. `start` first stops whatever an earlier run left in DIR (a
# crashed test run, a killed ctest), and fails at once when a port is taken.
# Works as root and as any other user: /usr/lib/rabbitmq/bin/rabbitmq-server
# does not switch users (/usr/sbin/rabbitmq-server would). Needs Debian's
# rabbitmq-server package.
set -euo pipefail

RABBITMQ_BIN=${COURIER_RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
START_TIMEOUT=${COURIER_RABBITMQ_TIMEOUT:-60}  # seconds

die() {
  echo "rabbitmq.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# The environment every rabbitmq-server and rabbitmqctl of DIR runs with;
# reads the node name and ports saved by `start`.
load_env() {
  [[ -f $dir/ports ]] || die "$dir: no broker was started here (no $dir/ports)"
  # shellcheck source=/dev/null
  source "$dir/ports"
  mkdir -p "$dir/log"
  local loopback='-kernel inet_dist_use_interface {127,0,0,1}'
  export HOME="$dir/home"  # the Erlang cookie: server and rabbitmqctl share it
  export RABBITMQ_CONF_ENV_FILE=/dev/null  # not /etc/rabbitmq/rabbitmq-env.conf
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_NODENAME="$node"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$port"
  export RABBITMQ_DIST_PORT="$dist_port"
  export RABBITMQ_MNESIA_BASE="$dir/mnesia"
  export RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export ERL_EPMD_PORT="$epmd_port"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$loopback"
  export RABBITMQ_CTL_ERL_ARGS="$loopback"
}

ctl() {
  "$RABBITMQ_BIN/rabbitmqctl" -n "$node" "$@"
}

alive() {  # alive PIDFILE WORD: the process it names runs, and is WORD
  local pid
  [[ -s $1 ]] && pid=$(<"$1") && [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"  # not a reused pid
}

port_free() {  # nothing listens on 127.0.0.1:PORT (or on every address)
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

kill_pidfile() {  # kill_pidfile FILE WORD: TERM, then KILL after 10 s
  local pid
  if alive "$1" "$2"; then
    pid=$(<"$1")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

wait_ready() {
  if ! ctl wait "$RABBITMQ_PID_FILE" --timeout "$START_TIMEOUT" >>"$dir/log/ctl.log" 2>&1; then
    echo "rabbitmq.sh: $node did not start within ${START_TIMEOUT}s; its logs:" >&2
    tail -n 30 "$dir/log/console.log" "$dir"/log/*.log >&2 2>/dev/null || true
    return 1
  fi
}

start_epmd() {
  alive "$dir/epmd.pid" epmd && return 0
  port_free "$epmd_port" || die "port $epmd_port (epmd) is already in use"
  # Started by us, not by the broker's `epmd -daemon`, so its pid is known
  # and `stop` ends it. setsid and no inherited output: ctest waits for every
  # process holding the test's output to exit.
  setsid epmd -address 127.0.0.1 -port "$epmd_port" </dev/null >>"$dir/log/epmd.log" 2>&1 &
  echo $! >"$dir/epmd.pid"
  for _ in $(seq 50); do
    port_free "$epmd_port" || return 0
    sleep 0.1
  done
  die "epmd did not start on port $epmd_port"
}

start_node() {
  for p in "$port" "$dist_port"; do
    port_free "$p" || die "port $p is already in use (another broker? choose another port)"
  done
  rm -f "$RABBITMQ_PID_FILE"
  setsid "$RABBITMQ_BIN/rabbitmq-server" </dev/null >>"$dir/log/console.log" 2>&1 &
  echo $! >"$dir/server.pid"  # the script's shell, parent of the node
  wait_ready
}

stop_node() {
  if alive "$dir/server.pid" rabbitmq-server || alive "$RABBITMQ_PID_FILE" beam; then
    # An orderly shutdown first: the next start on this data is quicker.
    ctl shutdown >>"$dir/log/ctl.log" 2>&1 || true
  fi
  # What is left: the script's shell (it waits for the node) and, after a
  # crash of that shell, the node itself.
  kill_pidfile "$dir/server.pid" rabbitmq-server
  kill_pidfile "$RABBITMQ_PID_FILE" beam
}

cmd_start() {
  local port=$1 dist_port=${2:-$(($1 + 1))}
  [[ $port =~ ^[0-9]+$ && $dist_port =~ ^[0-9]+$ ]] || usage
  command -v epmd >/dev/null || die "epmd not found (install rabbitmq-server)"
  [[ -x $RABBITMQ_BIN/rabbitmq-server ]] || die "$RABBITMQ_BIN/rabbitmq-server not found (install rabbitmq-server)"
  # A broker an earlier run left behind in DIR, with the ports it was given.
  if [[ -f $dir/ports ]]; then
    (load_env && stop_node && kill_pidfile "$dir/epmd.pid" epmd) || true
  fi
  # Fresh data: a test run starts from an empty broker.
  rm -rf "$dir/mnesia" "$dir/log" "$dir/home"
  mkdir -p "$dir/home" "$dir/log" "$dir/mnesia"
  # The node name is unique per port, so two private brokers never mix, and
  # never clashes with a system broker's rabbit@<host>.
  cat >"$dir/ports" <<EOF
node=courier-test-$port@localhost
port=$port
dist_port=$dist_port
epmd_port=$((port + 2))
EOF
  cat >"$dir/rabbitmq.conf" <<'EOF'
# Written by tests/support/rabbitmq.sh for a private test broker.
# The guest user may connect: it is restricted to loopback, which is all this
# broker listens on.
log.console = false
log.file.level = info
# A test machine's disk or memory must not block publishers by surprise (a test
# of connection.blocked sets the alarm itself with rabbitmqctl).
disk_free_limit.absolute = 1MB
vm_memory_high_watermark.relative = 0.8
EOF
  echo '[].' >"$dir/advanced.config"
  echo '[].' >"$dir/enabled_plugins"
  load_env
  for p in "$port" "$dist_port" "$epmd_port"; do
    port_free "$p" || die "port $p is already in use (by another broker? choose another port)"
  done
  start_epmd
  if ! start_node; then
    stop_node
    kill_pidfile "$dir/epmd.pid" epmd
    exit 1
  fi
  echo "rabbitmq.sh: $node ready on amqp://127.0.0.1:$port/ (data in $dir)"
}

cmd_stop() {
  [[ -f $dir/ports ]] || return 0  # never started: nothing to do
  load_env
  stop_node
  kill_pidfile "$dir/epmd.pid" epmd  # epmd outlives the node
}

cmd_restart() {
  load_env
  if [[ ${1:-} == --kill ]]; then
    # No connection.close to the clients: their sockets just end.
    kill -KILL "$(<"$RABBITMQ_PID_FILE")" 2>/dev/null || true
  elif [[ -n ${1:-} ]]; then
    usage
  fi
  stop_node
  start_epmd
  start_node
  echo "rabbitmq.sh: $node restarted on amqp://127.0.0.1:$port/"
}

(($# >= 2)) || usage
command=$1
dir=$2
shift 2
[[ $command == start ]] && mkdir -p "$dir"
[[ -d $dir ]] && dir=$(cd "$dir" && pwd)  # the broker needs absolute paths
case $command in
  start) (($# >= 1)) || usage; cmd_start "$@" ;;
  stop) cmd_stop ;;
  restart) cmd_restart "$@" ;;
  wait) load_env; wait_ready ;;
  ctl) load_env; ctl "$@" ;;
  url) load_env; echo "amqp://guest:guest@127.0.0.1:$port/" ;;
  status) load_env; alive "$RABBITMQ_PID_FILE" beam && ctl status >/dev/null 2>&1 ;;
  *) usage ;;
esac
