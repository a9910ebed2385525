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
# Five ports from E2E_PORT_BASE; when unset, the first free range from 18000 up (other runs on a
# shared machine may hold 18000-18004).
if [ -z "${E2E_PORT_BASE:-}" ]; then
  E2E_PORT_BASE=$(node -e '
    const net = require("node:net");
    const free = (p) => new Promise((r) => { const s = net.createServer(); s.once("error", () => r(false)); s.listen(p, "127.0.0.1", () => s.close(() => r(true))); });
    (async () => { for (let b = 18000; b < 19000; b += 100) { let ok = true; for (let i = 0; i < 5; i++) ok = ok && (await free(b + i)); if (ok) { console.log(b); return; } } process.exit(1); })();
  ') || { echo "web-e2e: no free port range between 18000 and 19000" >&2; exit 1; }
  export E2E_PORT_BASE
fi
echo "web-e2e: ports ${E2E_PORT_BASE}-$((E2E_PORT_BASE + 4))"
npm run e2e --silent
