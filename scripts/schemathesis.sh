#!/usr/bin/env bash
# Property-based conformance of both OpenAPI documents against the real servers (issue 13, 2.11).
#
# Starts redis-server (free port, no persistence), api-service and admin-stats (the debug
# binaries, SQLite in a temp dir, raised rate limits), registers a user, creates an admin with
# `api-service create-admin`, then runs schemathesis over each /openapi.json with a Bearer token
# and the checks
#   not_a_server_error, status_code_conformance, content_type_conformance,
#   response_schema_conformance
# Prints, per document, the operations, test cases and failures per check; exits non-zero on any
# failure (or when a run tested nothing).
#
# schemathesis is pinned and installed on first use into a venv under
# ${CHAT_PLATFORM_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-platform-tools} (as
# scripts/validate-deploy.sh does); later runs reuse it.
#
# Environment: SCHEMATHESIS_MAX_EXAMPLES (default 50: cases per operation in the fuzzing phase),
# SCHEMATHESIS_SEED (default 1: runs are reproducible; set another to explore),
# SCHEMATHESIS_KEEP=1 keeps the temp dir (logs, reports), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
start=$(date +%s)

TOOLS=${CHAT_PLATFORM_TOOLS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/chat-platform-tools}
ST_TOOL="schemathesis==4.32.5"
PYTHON=${PYTHON:-python3}
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-50}
SEED=${SCHEMATHESIS_SEED:-1}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug

# ---- tool -----------------------------------------------------------------------------------------
mkdir -p "$TOOLS"
VENV=$TOOLS/schemathesis-venv
(
  # One installer at a time (CI and a developer may share the cache).
  exec 9>"$TOOLS/.lock"
  flock 9
  if [ ! -f "$VENV/.stamp" ] || [ "$(cat "$VENV/.stamp")" != "$ST_TOOL" ]; then
    echo "   installing $ST_TOOL into $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$ST_TOOL"
    echo "$ST_TOOL" >"$VENV/.stamp"
  fi
)
echo "== schemathesis: $("$VENV/bin/schemathesis" --version) from $VENV"

# ---- system ---------------------------------------------------------------------------------------
bash scripts/ensure-deps.sh
echo "== cargo build -p api-service -p admin-stats --bins"
cargo build -p api-service -p admin-stats --bins

WORK=$(mktemp -d "${TMPDIR:-/tmp}/chat-schemathesis-XXXXXX")
mkdir -p "$WORK/logs" "$WORK/redis" "$WORK/reports"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${SCHEMATHESIS_KEEP:-0}" = "1" ] || [ $rc -ne 0 ]; then
    echo "   logs and reports kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
API_PORT=$(free_port)
ADMIN_PORT=$(free_port)
REDIS_PORT=$(free_port)

# Only what these two services read; provider keys are dropped so nothing leaves the machine.
unset OPENAI_API_KEY ANTHROPIC_API_KEY GEMINI_API_KEY APP__LLM__COMPAT_BASE_URL
export APP_ENV=development
export DATABASE_URL="sqlite://$WORK/chat.db"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export APP__DATA_DIR="$WORK"
export APP__HTTP__API_PORT=$API_PORT
export APP__HTTP__ADMIN_PORT=$ADMIN_PORT
export APP__HTTP__WEB_DIR="$WORK/no-web"
export APP__HTTP__SHUTDOWN_TIMEOUT_SECS=2
export APP__AUTH__BCRYPT_COST=4
export APP__RATE_LIMIT__REGISTER_PER_HOUR=100000
export APP__RATE_LIMIT__LOGIN_PER_MINUTE=100000
export APP__RATE_LIMIT__SENDS_PER_MINUTE=100000
export APP__LOG__FORMAT=pretty
export RUST_LOG=${RUST_LOG:-warn}

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save "" \
  --appendonly no >"$WORK/logs/redis.log" 2>&1 &
pids+=($!)

wait_ready() { # name port
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$2/ready" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "$1 did not become ready; its log:" >&2
  tail -n 40 "$WORK/logs/$1.log" >&2
  return 1
}

# api-service migrates the database; admin-stats starts once the schema exists.
"$BIN/api-service" >"$WORK/logs/api-service.log" 2>&1 &
pids+=($!)
wait_ready api-service "$API_PORT"
"$BIN/admin-stats" >"$WORK/logs/admin-stats.log" 2>&1 &
pids+=($!)
wait_ready admin-stats "$ADMIN_PORT"

API="http://127.0.0.1:$API_PORT"
json_field() { # field: reads JSON on stdin
  "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}
USER_TOKEN=$(curl -fsS -X POST "$API/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"username":"fuzzuser","email":"fuzzuser@example.com","password":"fuzz-pass-123"}' |
  json_field access_token)
ADMIN_PASSWORD=fuzz-admin-123 "$BIN/api-service" create-admin fuzzadmin fuzzadmin@example.com \
  >"$WORK/logs/create-admin.log" 2>&1
ADMIN_TOKEN=$(curl -fsS -X POST "$API/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"fuzzadmin","password":"fuzz-admin-123"}' | json_field access_token)
# Something for the generated requests to find (they mostly use small ids): a character, an AI
# chat with a message, a group, a server with a channel, a story, a friend request to the admin.
auth=(-H "Authorization: Bearer $USER_TOKEN" -H 'Content-Type: application/json')
post() { # path body -> the answer
  curl -fsS -X POST "$API/api/v1$1" "${auth[@]}" -d "$2"
}
character=$(post /characters '{"name":"Fuzz","description":"a test character","greeting":"Hello"}' |
  json_field id)
conversation=$(post /conversations "{\"kind\":\"ai_chat\",\"character_id\":$character}" |
  json_field id)
post "/conversations/$conversation/messages" '{"content":"hello"}' >/dev/null
group=$(post /conversations '{"kind":"group","title":"Fuzz group"}' | json_field id)
post "/conversations/$group/messages" '{"content":"hello, group"}' >/dev/null
server=$(post /servers '{"name":"Fuzz server"}' | json_field id)
post "/servers/$server/channels" '{"name":"general"}' >/dev/null
post /stories "{\"prompt\":\"a short tale\",\"character_ids\":[$character]}" >/dev/null
admin_id=$(curl -fsS "$API/api/v1/auth/me" -H "Authorization: Bearer $ADMIN_TOKEN" | json_field id)
post /friends/requests "{\"user_id\":$admin_id}" >/dev/null
echo "   api-service :$API_PORT, admin-stats :$ADMIN_PORT, redis :$REDIS_PORT, data in $WORK"

# ---- runs -----------------------------------------------------------------------------------------
failed=0
summaries=()
# fuzz NAME PORT TOKEN [FILTER...]
fuzz() {
  local name=$1 port=$2 token=$3 rc=0 t0
  shift 3
  t0=$(date +%s)
  echo "== schemathesis: $name (http://127.0.0.1:$port/openapi.json${*:+ $*})"
  # From the temp dir: schemathesis keeps a cache in ./.schemathesis.
  (cd "$WORK" && "$VENV/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" "$@" \
    --url "http://127.0.0.1:$port" \
    --checks "$CHECKS" \
    --header "Authorization: Bearer $token" \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --generation-database none \
    --workers 2 \
    --request-timeout 30 \
    --no-color \
    --report json --report-json-path "$WORK/reports/$name.json" \
    >"$WORK/logs/schemathesis-$name.log" 2>&1) || rc=$?
  local summary
  summary=$("$PYTHON" "$ROOT/scripts/schemathesis_summary.py" "$name" "$WORK/reports/$name.json" \
    "$CHECKS") || rc=1
  summaries+=("$summary ($(( $(date +%s) - t0 ))s)")
  if [ $rc -ne 0 ]; then
    failed=1
    # The failures, as schemathesis reports them (with curl commands to reproduce).
    awk -v max="${SCHEMATHESIS_SHOW_LINES:-400}" '/^=+ (FAILURES|ERRORS) =+$/ { on = 1 }
      on && shown < max { print; shown++ }' "$WORK/logs/schemathesis-$name.log"
    echo "   schemathesis exited $rc for $name; full log: $WORK/logs/schemathesis-$name.log"
  fi
}
# Logout ends the token's session, so it gets a token of its own and a run of its own.
LOGOUT_TOKEN=$(curl -fsS -X POST "$API/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"fuzzuser","password":"fuzz-pass-123"}' | json_field access_token)
fuzz api-service "$API_PORT" "$USER_TOKEN" --exclude-path /api/v1/auth/logout
fuzz api-service-logout "$API_PORT" "$LOGOUT_TOKEN" --include-path /api/v1/auth/logout
fuzz admin-stats "$ADMIN_PORT" "$ADMIN_TOKEN"

echo "== schemathesis: summary (checks: $CHECKS; seed $SEED, max examples $MAX_EXAMPLES)"
for s in "${summaries[@]}"; do echo "   $s"; done
for svc in api-service admin-stats; do
  if grep -q "panicked" "$WORK/logs/$svc.log"; then
    echo "   $svc panicked; see $WORK/logs/$svc.log"
    failed=1
  fi
done
echo "schemathesis: $([ $failed -eq 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - start ))s"
exit $failed
