#!/usr/bin/env bash
# `npm start`: builds dist/ if a source is newer than the last build, then becomes the service.
# npm runs it as `sh -c "exec bash scripts/start.sh"`, and each shell execs the next program, so
# node is npm's own child: the SIGTERM or SIGINT that npm forwards to its child reaches the
# service, which stops gracefully (a shell in between would die and leave node running).
set -euo pipefail
cd "$(dirname "$0")/.."

# What the build reads: src/ (TypeScript and Lua), the compiler settings, the dependencies.
stamp=dist/.build-stamp
if [[ -f $stamp ]]; then
  changed=$(find src scripts/copy-assets.mjs tsconfig.json tsconfig.build.json package.json package-lock.json -newer "$stamp" -print -quit)
  why=${changed:+$changed changed}
else
  why="no build yet"
fi
if [[ -n $why ]]; then
  echo "npm start: building dist/ ($why)" >&2
  mkdir -p dist
  # Stamped when the build starts, so a file saved during the build is newer and builds again next time.
  touch dist/.build-stamp.next
  npm run --silent build
  mv dist/.build-stamp.next "$stamp"
fi
# One GC thread: V8's parallel collector runs helper threads beside the main thread, and where the
# service shares its cores (with Redis, the balancer, other instances) the main thread waits for them
# and every request in flight waits with it (docs/operations.md, "Garbage collector").
exec node --single-threaded-gc dist/main.js
