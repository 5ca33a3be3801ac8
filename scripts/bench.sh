#!/usr/bin/env bash
# Benchmarks the built service against the peer servers with the shared harness
# (../shared/bench/compare.sh): the service is the first row, so every peer is a ratio of it.
#
#   npm run bench                                   # all workloads, service + apollo-naive yoga mercurius
#   npm run bench -- --workloads presence-fanout,idle-conns
#   npm run bench -- --instances 2 --workloads msg-latency,presence-fanout
#   BENCH_PEERS="yoga" npm run bench -- --repeat 3
#
# Options go to compare.sh; flags after `--` go to the harness (see ../shared/bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR="${BENCH_DIR:-../shared/bench}"
[[ -x "$BENCH_DIR/compare.sh" ]] || { echo "bench: $BENCH_DIR/compare.sh not found (set BENCH_DIR)" >&2; exit 1; }
[[ -f dist/main.js ]] || npm run --silent build
read -r -a PEERS <<<"${BENCH_PEERS-apollo-naive yoga mercurius}"
# compare.sh starts targets with NODE_ENV=production; the harness logs in with dev auth, which
# production refuses unless ALLOW_DEV_AUTH=true says this is a load test.
# The harness is one client at 127.0.0.1: it logs in thousands of users (and 100 sessions of one
# user) and opens their sockets within seconds, and one sender sends 1,000 messages/s. The rate
# limits it would hit, and the session and socket caps per user (a workload may give one user
# more than 100), are raised, not turned off, so their cost is measured (docs/operations.md, "Limits").
LIMITS='RATE_LIMIT_LOGIN_PER_ADDRESS=1000000/1m RATE_LIMIT_LOGIN_PER_USER=1000000/1m RATE_LIMIT_WEBSOCKETS_PER_ADDRESS=1000000/1m RATE_LIMIT_SEND_MESSAGE=1000000/1m RATE_LIMIT_SEND_MESSAGE_PER_RECIPIENT=1000000/1m SESSION_MAX_PER_USER=10000 SOCKET_MAX_PER_USER=10000'
SERVICE="sessionhub=project:env AUTH_MODE=dev ALLOW_DEV_AUTH=true LOG_LEVEL=warn $LIMITS node --single-threaded-gc dist/main.js"
OPTIONS=() HARNESS=()
while (($#)); do
  if [[ "$1" == "--" ]]; then shift; HARNESS=(-- "$@"); break; fi
  OPTIONS+=("$1"); shift
done
exec "$BENCH_DIR/compare.sh" "${OPTIONS[@]}" "$SERVICE" "${PEERS[@]}" "${HARNESS[@]}"
