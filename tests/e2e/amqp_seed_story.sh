#!/usr/bin/env bash
# The seed story over RabbitMQ, as separate processes: user_service,
# order_service --broker and email_service from examples/, driven with curl.
# The order service publishes order.created (queue mode, as the seed's
# amqplib code); the email service consumes it and prints the order's id.
# Runs in a virtual host of its own on the test broker (the fixture's
# COURIER_AMQP_URL and COURIER_RABBITMQ_CTL), so the queue `order.created`
# of other tests running beside it is not shared.
#   amqp_seed_story.sh <user_service> <order_service> <email_service>
set -euo pipefail
user_bin=$1 order_bin=$2 email_bin=$3
: "${COURIER_AMQP_URL:?needs the rabbitmq fixture}" "${COURIER_RABBITMQ_CTL:?needs the rabbitmq fixture}"
work=$(mktemp -d)
vhost="seed-story-$$"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$COURIER_RABBITMQ_CTL" delete_vhost "$vhost" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for log in order email; do echo "--- ${log}_service log:" >&2; cat "$work/$log.log" >&2 || true; done
  exit 1
}

# Waits (reading the log as it grows, no sleeping) for a line matching the
# regex; prints its first capture group. Fails if the process exits or 20 s pass.
wait_for() {
  local log=$1 pid=$2 pattern=$3 line fd
  exec {fd}< <(tail -n +1 -f "$log" --pid "$pid")
  while IFS= read -r -t 20 line <&$fd; do
    if [[ $line =~ $pattern ]]; then
      exec {fd}<&-
      echo "${BASH_REMATCH[1]:-}"
      return 0
    fi
  done
  exec {fd}<&-
  return 1
}

"$COURIER_RABBITMQ_CTL" add_vhost "$vhost" >/dev/null
"$COURIER_RABBITMQ_CTL" set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
url="${COURIER_AMQP_URL%/}/$vhost"

for log in user order email; do : >"$work/$log.log"; done
"$email_bin" --broker "$url" >"$work/email.log" 2>&1 &
email_pid=$!
pids+=("$email_pid")
wait_for "$work/email.log" "$email_pid" '^consuming order\.created$' >/dev/null || fail "email_service did not start"

"$user_bin" --http 127.0.0.1:0 >"$work/user.log" 2>&1 &
pids+=($!)
user_port=$(wait_for "$work/user.log" "$!" '^listening on 127\.0\.0\.1:([0-9]+)$') || fail "user_service did not start"
"$order_bin" --http 127.0.0.1:0 --user-service "http://127.0.0.1:$user_port" --broker "$url" >"$work/order.log" 2>&1 &
order_pid=$!
pids+=("$order_pid")
order_port=$(wait_for "$work/order.log" "$order_pid" '^listening on 127\.0\.0\.1:([0-9]+)$') || fail "order_service did not start"

status=$(curl -s -o "$work/body" -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d '{"userId":"1","productId":"p1","amount":10}' "http://127.0.0.1:$order_port/orders")
[[ $status == 201 ]] || fail "POST /orders answered $status $(cat "$work/body")"
id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$work/body")
[[ -n $id ]] || fail "no order id in $(cat "$work/body")"
wait_for "$work/email.log" "$email_pid" "^Sending email for order: $id\$" >/dev/null ||
  fail "email_service did not send the email for order $id"

status=$(curl -s -o "$work/body" -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d '{"userId":"5000","productId":"p1","amount":10}' "http://127.0.0.1:$order_port/orders")
[[ $status == 404 ]] || fail "order for an unknown user answered $status"
echo "ok: order $id created, published to RabbitMQ, emailed"
