#!/usr/bin/env bash
# System packages the test suite needs, installed from Debian only (never a downloaded browser).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v fc-list >/dev/null 2>&1 || need+=(fontconfig)
if [ ${#need[@]} -gt 0 ]; then
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "Need root (or sudo) to apt-get install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" fonts-dejavu-core >/dev/null
fi
command -v chromium >/dev/null

# Scale-out tests (tests/scale, tests/store on PostgreSQL): Debian's PostgreSQL server (the tests
# run initdb into a temporary folder and start their own cluster on a free port) and haproxy
# (the load balancer `atelier serve --workers N` configures). A self-contained block.
scale_need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || scale_need+=(postgresql)
command -v haproxy >/dev/null 2>&1 || scale_need+=(haproxy)
if [ ${#scale_need[@]} -gt 0 ]; then
  scale_sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "Need root (or sudo) to apt-get install: ${scale_need[*]}" >&2; exit 1; }
    scale_sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $scale_sudo apt-get update -qq
  $scale_sudo apt-get install -y -qq --no-install-recommends "${scale_need[@]}" >/dev/null
fi
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null
command -v haproxy >/dev/null
