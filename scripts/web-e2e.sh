#!/usr/bin/env bash
# End-to-end tests of the web client: @playwright/test driving Debian's headless Chromium (no
# browser download) against the real system (the built binaries, redis-server, SQLite) on their
# own ports, with axe-core accessibility checks. Installs Debian's chromium when it is missing and
# this runs as root; builds the binaries and the web client first. Report and failure traces:
# web/e2e/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "web-e2e: node/npm not found; skipping the browser tests" >&2
  exit 0
fi

CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    CHROMIUM="$(command -v chromium)"
  else
    echo "web-e2e: chromium is missing; install Debian's chromium package (apt-get install chromium)" >&2
    exit 1
  fi
fi
export CHROMIUM

bash scripts/ensure-deps.sh
echo "== cargo build --bins (the e2e starts the binaries)"
cargo build --bins
bash scripts/web-build.sh
echo "== web: e2e (@playwright/test, headless chromium)"
cd web
npm run e2e --silent
