#!/usr/bin/env bash
# What the Redis tier can carry of the message path: the service's own send script (store in the
# recipient's inbox and announce, one EVALSHA per message) driven by redis-benchmark, with no Node
# in the way, on one Redis and on a 3-master Redis Cluster. On the cluster it runs twice: announcing
# with SPUBLISH (what the service does there: the message stays on its shard) and with PUBLISH
# (plain pub/sub, which the cluster bus copies to every node).
#
#   scripts/bench-redis.sh               # 3 interleaved rounds, 300,000 messages each
#   ROUNDS=5 MESSAGES=500000 scripts/bench-redis.sh
#
# Prints one line per run and a table of medians: messages/s and each node's share of a core.
# Each node's messages go to 10,000 inboxes; nothing subscribes (the delivery to subscribers
# costs the same either way, and is not what the cluster bus multiplies).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}" MESSAGES="${MESSAGES:-300000}"
SCRIPT=src/modules/messages/lua/send.lua
# The service prefixes each script with the command it announces with (src/redis/lua.ts); send.lua includes nothing.
if grep -q '^--[[:space:]]*#include' "$SCRIPT"; then echo "bench-redis: $SCRIPT includes a file; compose it as src/redis/lua.ts does" >&2; exit 1; fi

WORK="$(mktemp -d /tmp/sessionhub-bench-redis-XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
cpu_ticks() { for pid in "$@"; do awk '{ print $14 + $15 }' "/proc/$pid/stat"; done | paste -sd' '; }
start_node() { # port [cluster flags...]
  local port=$1; shift
  mkdir -p "$WORK/$port"
  redis-server --port "$port" --dir "$WORK/$port" --save "" --appendonly no --daemonize no "$@" >"$WORK/$port.log" 2>&1 &
  PIDS+=($!) NODE_PIDS+=($!)
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
}

NODE_PIDS=()
single="$(free_port)"
start_node "$single"
SINGLE_PIDS=("${NODE_PIDS[@]}")
NODE_PIDS=() cluster=()
for _ in 1 2 3; do
  port="$(free_port)"; cluster+=("$port")
  start_node "$port" --cluster-enabled yes --cluster-config-file nodes.conf
done
CLUSTER_PIDS=("${NODE_PIDS[@]}")
redis-cli --cluster create "${cluster[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null
until redis-cli -p "${cluster[0]}" cluster info | grep -q cluster_state:ok; do sleep 0.2; done

body="$(printf 'x%.0s' $(seq 100))"
# setup publishCommand: one row of the table
run() {
  local setup=$1 publish=$2 lua sha pids ports placeholder flags=()
  lua="local publishCommand = '$publish'"$'\n'"$(cat "$SCRIPT")"
  if [[ $setup == single ]]; then ports=("$single") pids=("${SINGLE_PIDS[@]}") placeholder='one'
  else ports=("${cluster[@]}") pids=("${CLUSTER_PIDS[@]}") placeholder='tag' flags=(--cluster)
  fi
  for port in "${ports[@]}"; do
    redis-cli -p "$port" flushall >/dev/null
    sha="$(redis-cli -p "$port" script load "$lua")"
  done
  # Keys as the service names them (user:{<to>}:...): on the cluster redis-benchmark puts a tag of
  # each node's slots in place of {tag}; the inbox numbers spread each node's keys over 10,000 inboxes.
  local to="{$placeholder}"
  local before started
  before="$(cpu_ticks "${pids[@]}")" started="$(date +%s%N)"
  redis-benchmark -p "${ports[0]}" "${flags[@]}" -n "$MESSAGES" -c 30 -P 16 -r 10000 -q \
    evalsha "$sha" 3 "sh:user:$to:inbox:__rand_int__" "sh:user:$to:inbox:state:__rand_int__" "sh:user:$to:dedupe:" \
    "sh:messageReceived:$to" __rand_int__ sender Sender "$body" '' 1000 604800000 86400 2>/dev/null | tr '\r' '\n' | grep 'requests per second' |
    sed -E 's/.*: ([0-9.]+) requests per second.*/\1/' >"$WORK/rps"
  node -e '
const [setup, publish, rps, before, after, startNs, endNs, hz] = process.argv.slice(1);
const seconds = (Number(endNs) - Number(startNs)) / 1e9;
const a = before.split(" ").map(Number), b = after.split(" ").map(Number);
console.log(JSON.stringify({ setup, publish, messagesPerSecond: Math.round(Number(rps)), redisCpuPct: b.map((t, i) => Math.round((100 * (t - a[i])) / hz / seconds)) }));
' "$setup" "$publish" "$(cat "$WORK/rps")" "$before" "$(cpu_ticks "${pids[@]}")" "$started" "$(date +%s%N)" "$(getconf CLK_TCK)" | tee -a "$WORK/results.jsonl"
}

for _ in $(seq 1 "$ROUNDS"); do
  run single PUBLISH
  run cluster SPUBLISH
  run cluster PUBLISH
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)]; };
console.log("| Redis | announces with | messages/s (median) | each round | Redis CPU % per node (median) |");
console.log("|---|---|---|---|---|");
for (const [setup, publish] of [["single", "PUBLISH"], ["cluster", "SPUBLISH"], ["cluster", "PUBLISH"]]) {
  const runs = rows.filter((r) => r.setup === setup && r.publish === publish);
  const cpu = runs[0].redisCpuPct.map((_, i) => median(runs.map((r) => r.redisCpuPct[i])));
  console.log(`| ${setup === "single" ? "one node" : "3-master cluster"} | ${publish} | ${median(runs.map((r) => r.messagesPerSecond))} | ${runs.map((r) => r.messagesPerSecond).join(", ")} | ${cpu.join(", ")} |`);
}
' "$WORK/results.jsonl"
