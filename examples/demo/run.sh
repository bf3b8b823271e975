#!/usr/bin/env bash
# `make run`: find or start Redis, then run a worker and a demo producer until Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
STATE=.minirq
mkdir -p "$STATE"

redis_answers() {
  "$BIN/python" - "$1" <<'PY' 2>/dev/null
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1, socket_timeout=1).ping()
PY
}

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

if [[ -n "${REDIS_URL:-}" ]]; then
  redis_answers "$REDIS_URL" || { echo "REDIS_URL is set but Redis does not answer there"; exit 1; }
  echo "Using Redis from REDIS_URL"
elif redis_answers redis://localhost:6379/0; then
  export REDIS_URL=redis://localhost:6379/0
  echo "Using the Redis on localhost:6379"
elif command -v redis-server >/dev/null; then
  port=6390
  export REDIS_URL="redis://127.0.0.1:$port/0"
  if ! redis_answers "$REDIS_URL"; then
    redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/$STATE" --appendonly yes \
      --logfile "$PWD/$STATE/redis.log" --daemonize no &
    pids+=($!)
    for _ in $(seq 50); do redis_answers "$REDIS_URL" && break; sleep 0.1; done
  fi
  echo "Started a private Redis on port $port (data in $STATE/)"
else
  echo "No Redis found: install one (apt-get install redis-server, brew install redis, docker run -p 6379:6379 redis) or set REDIS_URL."
  exit 1
fi

"$BIN/minirq" worker default images &
pids+=($!)
"$BIN/python" -m examples.demo.producer &
pids+=($!)
echo "Jobs are flowing; watch them with '$BIN/minirq info --interval 1'. Ctrl+C stops everything."
wait -n "${pids[@]}" || true
