#!/usr/bin/env bash
# `make run`: the whole system on one machine — SQLite under ./.data, a local redis-server this
# script starts (unless REDIS_URL is given), the four services, and the mock LLM provider unless
# an API key is configured. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${PROFILE:-dev}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BIN_DIR="$TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"
DATA_DIR="${DATA_DIR:-./.data}"
REDIS_PORT="${REDIS_PORT:-6379}"

[ -f .env ] && { set -a; . ./.env; set +a; }

bash scripts/ensure-deps.sh
echo "building ($PROFILE)…"
cargo build --profile "$PROFILE" --bins

mkdir -p "$DATA_DIR/redis" "$DATA_DIR/logs"
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

if [ -z "${REDIS_URL:-}" ]; then
  if (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; then
    echo "port $REDIS_PORT is taken; set REDIS_PORT to a free port or REDIS_URL to your Redis" >&2
    exit 1
  fi
  # AOF with an fsync every second: a crash loses at most about a second of writes (RDB alone
  # lost up to a minute). The RDB snapshots stay as backups.
  redis_dir="$DATA_DIR/redis"
  redis_args=(--port "$REDIS_PORT" --bind 127.0.0.1 --dir "$redis_dir" --daemonize no
    --save 60 1 --appendfsync everysec --appenddirname appendonlydir)
  if [ -f "$redis_dir/dump.rdb" ] && [ ! -d "$redis_dir/appendonlydir" ]; then
    # A data directory from before AOF: Redis 7 started with appendonly yes would load the
    # (missing) AOF and come up EMPTY, ignoring dump.rdb. So load the RDB without AOF, turn AOF
    # on at runtime (Redis then writes the AOF from memory) and wait for that rewrite to finish;
    # the next start finds appendonlydir and uses it.
    echo "switching $redis_dir from RDB to AOF…"
    redis-server "${redis_args[@]}" --appendonly no >"$DATA_DIR/logs/redis.log" 2>&1 &
    pids+=($!)
    rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
    for _ in $(seq 1 100); do
      [ "$(rcli PING 2>/dev/null)" = PONG ] && break
      sleep 0.1
    done
    rcli CONFIG SET appendonly yes >/dev/null
    switched=
    for _ in $(seq 1 600); do
      info="$(rcli INFO persistence | tr -d '\r')"
      if grep -qx 'aof_enabled:1' <<<"$info" && grep -qx 'aof_rewrite_in_progress:0' <<<"$info" \
        && grep -qx 'aof_rewrite_scheduled:0' <<<"$info"; then
        grep -qx 'aof_last_bgrewrite_status:ok' <<<"$info" && switched=1
        break
      fi
      sleep 0.1
    done
    if [ -z "$switched" ]; then
      echo "could not switch Redis to AOF; see $DATA_DIR/logs/redis.log" >&2
      exit 1
    fi
  else
    redis-server "${redis_args[@]}" --appendonly yes >"$DATA_DIR/logs/redis.log" 2>&1 &
    pids+=($!)
  fi
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
fi
export DATABASE_URL="${DATABASE_URL:-sqlite://$DATA_DIR/chat.db}"
# The generated development JWT secret lives here too (see .env.example).
export APP__DATA_DIR="$DATA_DIR"

wait_ready() { # name port
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$2/ready" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "$1 did not become ready; see $DATA_DIR/logs/$1.log" >&2
  return 1
}

start() { # name port
  "$BIN_DIR/$1" >"$DATA_DIR/logs/$1.log" 2>&1 &
  pids+=($!)
}

# api-service migrates the database first; the others start once the schema exists.
start api-service 8000; wait_ready api-service "${APP__HTTP__API_PORT:-8000}"
start chat-gateway 3001
start llm-worker 8003
start admin-stats 8002
wait_ready chat-gateway "${APP__HTTP__GATEWAY_PORT:-3001}"
wait_ready llm-worker "${APP__HTTP__WORKER_OPS_PORT:-8003}"
wait_ready admin-stats "${APP__HTTP__ADMIN_PORT:-8002}"

if [ -z "${OPENAI_API_KEY:-}${ANTHROPIC_API_KEY:-}${GEMINI_API_KEY:-}" ]; then
  llm="mock provider (no API key configured)"
else
  llm="configured providers"
fi
cat <<MSG

  chat platform is running
    web app       http://localhost:${APP__HTTP__API_PORT:-8000}/   (when Node.js built web/dist)
    REST API      http://localhost:${APP__HTTP__API_PORT:-8000}/api/v1   (docs: /docs)
    WebSocket     ws://localhost:${APP__HTTP__GATEWAY_PORT:-3001}/ws
    admin-stats   http://localhost:${APP__HTTP__ADMIN_PORT:-8002}
    worker ops    http://localhost:${APP__HTTP__WORKER_OPS_PORT:-8003}/ready
    database      $DATABASE_URL
    redis         $REDIS_URL
    LLM           $llm
    logs          $DATA_DIR/logs/

  Ctrl-C stops everything.
MSG
wait -n "${pids[@]}" || true
echo "a process exited; see $DATA_DIR/logs/" >&2
