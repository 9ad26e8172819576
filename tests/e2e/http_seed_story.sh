#!/usr/bin/env bash
# The seed story over HTTP, as separate processes: user_service and
# order_service from examples/, driven with curl (an independent client).
# Ports are ephemeral; each service prints "listening on HOST:PORT" when ready.
#   http_seed_story.sh <user_service binary> <order_service binary>
set -euo pipefail
user_bin=$1 order_bin=$2
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; echo "--- order_service log:" >&2; cat "$work/order.log" >&2 || true; exit 1; }

# Prints the port a service announces in its log once it listens (reads its
# output as it comes, no sleeping); fails if it exits or takes 20 s.
port_of() {
  local log=$1 pid=$2 line fd
  exec {fd}< <(tail -n +1 -f "$log" --pid "$pid")
  while IFS= read -r -t 20 line <&$fd; do
    if [[ $line =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]]; then
      exec {fd}<&-
      echo "${BASH_REMATCH[1]}"
      return 0
    fi
  done
  exec {fd}<&-
  return 1
}

: >"$work/user.log"  # exists before tail opens it, whichever process runs first
: >"$work/order.log"
"$user_bin" --http 127.0.0.1:0 >"$work/user.log" 2>&1 &
user_pid=$!
pids+=("$user_pid")
user_port=$(port_of "$work/user.log" "$user_pid") || fail "user_service did not start"
"$order_bin" --http 127.0.0.1:0 --user-service "http://127.0.0.1:$user_port" >"$work/order.log" 2>&1 &
pids+=($!)
order_port=$(port_of "$work/order.log" "$!") || fail "order_service did not start"

request() {  # method url [body] -> "STATUS BODY"
  local out
  out=$(curl -s -o "$work/body" -w '%{http_code}' -X "$1" -H 'content-type: application/json' ${3:+-d "$3"} "$2")
  echo "$out $(cat "$work/body")"
}
expect() {  # what got wanted
  [[ $2 == "$3" ]] || fail "$1: got '$2', wanted '$3'"
}

expect "known user" "$(request GET "http://127.0.0.1:$user_port/users/7")" \
  '200 {"email":"user7@example.com","id":"7","name":"User 7"}'
expect "unknown user" "$(request GET "http://127.0.0.1:$user_port/users/1001")" '404 {"error":"User not found"}'
expect "order" "$(request POST "http://127.0.0.1:$order_port/orders" '{"userId":"1","productId":"p1","amount":10}')" \
  '201 {"amount":10.0,"id":"1","productId":"p1","userId":"1"}'
expect "order for unknown user" \
  "$(request POST "http://127.0.0.1:$order_port/orders" '{"userId":"5000","productId":"p1","amount":10}')" \
  '404 {"error":"User not found"}'
got=$(request POST "http://127.0.0.1:$order_port/orders" '{"userId":')
[[ $got == 400* ]] || fail "malformed JSON: got '$got'"

# The email consumer saw the one order.
grep -q '^Sending email for order: 1$' "$work/order.log" || fail "no email for order 1"

# user-service goes away: 503, and fast once the breaker is open.
kill -INT "$user_pid"
wait "$user_pid" 2>/dev/null || true
for i in 1 2 3; do
  got=$(request POST "http://127.0.0.1:$order_port/orders" '{"userId":"1","productId":"p1","amount":10}')
  [[ $got == 503* ]] || fail "user-service down: got '$got'"
done
[[ $(grep -c . <(grep -o 'circuit breaker is open' "$work/body" || true)) -ge 1 ]] ||
  fail "breaker did not open: $(cat "$work/body")"
echo "http seed story: ok"
