#!/usr/bin/env bash
# Installs what the system and its tests need and a fresh machine may lack: redis-server and
# redis-cli (Debian packages) and the PostgreSQL 15 server binaries. Installs only when running as
# root with apt-get; otherwise says exactly what to install.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# redis-cli: run-local.sh switches an existing RDB-only data directory to AOF with it.
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql-15)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing: ${need[*]}. Install them, e.g.: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
