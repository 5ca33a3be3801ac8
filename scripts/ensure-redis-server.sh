#!/usr/bin/env bash
# Makes sure redis-server is installed before `npm start` (embedded Redis) and `npm test`
# (tests start their own redis-servers). Installs it with apt-get when running as root on
# Debian/Ubuntu; otherwise says exactly what to do.
#   scripts/ensure-redis-server.sh           # for the service: not needed when REDIS_URL is set
#   scripts/ensure-redis-server.sh --tests   # for the tests: always needed
set -euo pipefail

if [[ "${1:-}" != "--tests" && -n "${REDIS_URL:-}" ]]; then exit 0; fi
if command -v redis-server >/dev/null 2>&1; then exit 0; fi

if [[ "${EUID}" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server is not installed; installing it with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
  command -v redis-server >/dev/null 2>&1 && exit 0
fi

{
  echo "redis-server is not installed. Install it:"
  echo "  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y redis-server"
  echo "  macOS:         brew install redis"
  if [[ "${1:-}" != "--tests" ]]; then echo "or set REDIS_URL=redis://host:6379 to use an existing Redis."; fi
} >&2
exit 1
