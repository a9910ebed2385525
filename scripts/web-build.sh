#!/usr/bin/env bash
# Builds the web client (web/ → web/dist, served by api-service at /) from the committed
# package-lock.json, then runs its unit tests. Skips, with a message, when Node.js is missing.
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "web-build: node/npm not found; skipping the web client (install Node.js >= 20.19 to build it)" >&2
  exit 0
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "web-build: Node.js $(node --version) is too old (need >= 20.19); skipping the web client" >&2
  exit 0
fi

echo "== web: npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "== web: unit tests (vitest)"
npm test --silent
echo "== web: build"
npm run build --silent
echo "== web: first-load size (budget: 120 KB gzip)"
npm run size --silent
echo "web-build: web/dist is ready ($(du -sh dist | cut -f1))"
