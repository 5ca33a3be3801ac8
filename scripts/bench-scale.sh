#!/usr/bin/env bash
# Message throughput behind a load balancer: N instances of the built service behind HAProxy, on
# one private Redis or on a private 3-master Redis Cluster, measured with the shared harness'
# msg-latency workload (sender and receivers both go through the balancer).
#
#   scripts/bench-scale.sh 1 2 3                 # one row per instance count, one Redis
#   REDIS=cluster scripts/bench-scale.sh 1 3     # the same on a 3-master cluster
#   scripts/bench-scale.sh 2 -- --rate 8000      # flags after -- go to the harness
#
# Prints one JSON line per row (the harness' own, with each Redis node's CPU added as redisCpuPct)
# and a table; needs haproxy and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR="${BENCH_DIR:-../shared/bench}"
[[ -f dist/main.js ]] || npm run --silent build
[[ -d "$BENCH_DIR/node_modules" ]] || (cd "$BENCH_DIR" && npm ci --silent)
COUNTS=() HARNESS=(--messages 20000 --rate 20000 --inflight 256)
while (($#)); do
  if [[ "$1" == "--" ]]; then shift; HARNESS+=("$@"); break; fi
  COUNTS+=("$1"); shift
done
((${#COUNTS[@]})) || COUNTS=(1 2 3)

WORK="$(mktemp -d /tmp/sessionhub-bench-scale-XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# CPU ticks (user + system) of each process given, space-separated.
cpu_ticks() { for pid in "$@"; do awk '{ print $14 + $15 }' "/proc/$pid/stat"; done | paste -sd' '; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_http() { for _ in $(seq 1 150); do curl -fs -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "no answer from $1" >&2; return 1; }

start_redis() {
  local ports=() port
  if [[ "${REDIS:-single}" == cluster ]]; then
    for _ in 1 2 3; do
      port="$(free_port)"; ports+=("$port"); mkdir -p "$WORK/redis-$port"
      redis-server --port "$port" --dir "$WORK/redis-$port" --save "" --appendonly no --cluster-enabled yes \
        --cluster-config-file nodes.conf --daemonize no >"$WORK/redis-$port.log" 2>&1 &
      PIDS+=($!) REDIS_PIDS+=($!)
    done
    for port in "${ports[@]}"; do until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done; done
    redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null
    until redis-cli -p "${ports[0]}" cluster info | grep -q cluster_state:ok; do sleep 0.2; done
    REDIS_ENV=(REDIS_CLUSTER=true "REDIS_URL=$(printf 'redis://127.0.0.1:%s,' "${ports[@]}" | sed 's/,$//')")
  else
    port="$(free_port)"
    redis-server --port "$port" --save "" --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
    PIDS+=($!) REDIS_PIDS+=($!)
    until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
    REDIS_ENV=("REDIS_URL=redis://127.0.0.1:$port")
  fi
}

LIMITS=(RATE_LIMIT_LOGIN_PER_ADDRESS=1000000/1m RATE_LIMIT_LOGIN_PER_USER=1000000/1m RATE_LIMIT_WEBSOCKETS_PER_ADDRESS=1000000/1m
  RATE_LIMIT_SEND_MESSAGE=1000000/1m RATE_LIMIT_SEND_MESSAGE_PER_RECIPIENT=1000000/1m SESSION_MAX_PER_USER=10000 SOCKET_MAX_PER_USER=10000)
for n in "${COUNTS[@]}"; do
  PIDS=() REDIS_PIDS=()
  start_redis
  servers="" instance_pids=()
  for i in $(seq 1 "$n"); do
    port="$(free_port)"
    env "${REDIS_ENV[@]}" "${LIMITS[@]}" PORT="$port" NODE_ENV=production AUTH_MODE=dev ALLOW_DEV_AUTH=true LOG_LEVEL=warn \
      TRUST_PROXY=loopback node --single-threaded-gc dist/main.js >"$WORK/instance-$i.log" 2>&1 &
    PIDS+=($!) instance_pids+=($!)
    wait_http "http://127.0.0.1:$port/readyz"
    servers+="  server s$i 127.0.0.1:$port check inter 1s"$'\n'
  done
  lb="$(free_port)"
  cat >"$WORK/haproxy.cfg" <<EOF
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
frontend bench
  bind 127.0.0.1:$lb
  option forwardfor
  default_backend instances
backend instances
  balance leastconn
  option httpchk GET /readyz
  http-check expect status 200
$servers
EOF
  haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$lb/readyz"
  # Each Redis node's CPU over the whole run (logins and warm-up included): what a node carries.
  ticks_before="$(cpu_ticks "${REDIS_PIDS[@]}")" started="$(date +%s%N)"
  line="$(node "$BENCH_DIR/run.mjs" --url "http://127.0.0.1:$lb/graphql" --workload msg-latency --label "instances=$n redis=${REDIS:-single}" \
    --pid "$(IFS=,; echo "${instance_pids[*]}")" "${HARNESS[@]}" 2>>"$WORK/harness.log")"
  node -e '
const [line, before, after, startNs, endNs, hz] = process.argv.slice(1);
const seconds = (Number(endNs) - Number(startNs)) / 1e9;
const a = before.split(" ").map(Number), b = after.split(" ").map(Number);
const row = JSON.parse(line);
row.usage = { ...row.usage, redisCpuPct: b.map((t, i) => Math.round((100 * (t - a[i])) / hz / seconds)) };
console.log(JSON.stringify(row));
' "$line" "$ticks_before" "$(cpu_ticks "${REDIS_PIDS[@]}")" "$started" "$(date +%s%N)" "$(getconf CLK_TCK)" | tee -a "$WORK/results.jsonl"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
console.log("| setup | sent/s | delivered | lost | dup | p50 ms | p99 ms | server CPU % | Redis CPU % per node |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of rows) { const m = r.metrics || {}; console.log(`| ${r.label} | ${m.achievedRate} | ${m.delivered}/${m.sent} | ${m.lost} | ${m.duplicates} | ${m.latency?.p50} | ${m.latency?.p99} | ${r.usage?.serverCpuPct} | ${r.usage?.redisCpuPct?.join(", ")} |`); }
' "$WORK/results.jsonl"
