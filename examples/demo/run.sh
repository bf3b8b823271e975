#!/usr/bin/env bash
# `make run`: find or start Redis, then run a worker and a demo producer until Ctrl+C.
#
# The children run in sessions of their own so that Ctrl+C reaches this script alone: it
# then stops the producer and the worker with one SIGTERM each (a warm stop), waits for
# them, and only then stops a Redis it started, which the worker still needs while it stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
STATE=.minirq
mkdir -p "$STATE"
# The demo's jobs live under their own prefix, apart from your own minirq data.
export MINIRQ_PREFIX="${MINIRQ_PREFIX:-minirq-demo}"

redis_answers() {
  "$BIN/python" - "$1" <<'PY' 2>/dev/null
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1, socket_timeout=1).ping()
PY
}

app_pids=()
redis_pid=""
stop_all() {
  trap - INT TERM EXIT
  for pid in "${app_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${app_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "$redis_pid" ]]; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
}
trap stop_all INT TERM EXIT

if [[ -n "${REDIS_URL:-}" ]]; then
  redis_answers "$REDIS_URL" || { echo "REDIS_URL is set but Redis does not answer there"; exit 1; }
  echo "Using Redis from REDIS_URL"
elif redis_answers redis://localhost:6379/0; then
  export REDIS_URL=redis://localhost:6379/0
  echo "Using the Redis on localhost:6379 (demo keys under the prefix $MINIRQ_PREFIX)"
elif command -v redis-server >/dev/null; then
  port=6390
  export REDIS_URL="redis://127.0.0.1:$port/0"
  if ! redis_answers "$REDIS_URL"; then
    setsid redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/$STATE" --appendonly yes \
      --logfile "$PWD/$STATE/redis.log" --daemonize no &
    redis_pid=$!
    for _ in $(seq 50); do redis_answers "$REDIS_URL" && break; sleep 0.1; done
  fi
  echo "Started a private Redis on port $port (data in $STATE/)"
else
  echo "No Redis found: install one (apt-get install redis-server, brew install redis, docker run -p 6379:6379 redis) or set REDIS_URL."
  exit 1
fi

setsid "$BIN/minirq" worker default images &
app_pids+=($!)
setsid "$BIN/python" -m examples.demo.producer &
app_pids+=($!)
shown_url=$("$BIN/python" -c 'import sys; from minirq.connection import redact_url; print(redact_url(sys.argv[1]))' "$REDIS_URL")
echo "Jobs are flowing; watch them with:"
echo "  MINIRQ_PREFIX=$MINIRQ_PREFIX $BIN/minirq info --interval 1 -u '$shown_url'"
echo "Ctrl+C stops everything."
wait -n "${app_pids[@]}" || true
