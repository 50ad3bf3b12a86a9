#!/usr/bin/env bash
# Installs the dependencies (Debian 12, as root), builds callbridged and the callbridge CLI with the
# default CMake preset, and starts callbridged in the foreground.
# Without arguments: demo mode (callbridged --demo): a built-in PBX simulator with live calls, demo
# contacts and an admin token, data in ./demo-data, HTTP on 127.0.0.1:8080; it prints the URL to open.
# With arguments they go to callbridged instead (built-in defaults otherwise: HTTP API on
# 127.0.0.1:8080, data in /var/lib/callbridge as root, else ./data), e.g.
#   bash scripts/run.sh --ami pbx.example.com:5038 --ami-user callbridge --ami-secret s3cret
#   bash scripts/run.sh --config /etc/callbridge/callbridge.toml
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset default >/dev/null
# The web client (served by callbridged) needs node + npm; without them the API still runs.
targets=(callbridged callbridge)
if command -v npm >/dev/null 2>&1; then targets+=(web); fi
cmake --build --preset default --target "${targets[@]}" -j2
if [[ $# -eq 0 ]]; then
  exec ./build/default/src/app/callbridged --demo --data-dir ./demo-data
fi
exec ./build/default/src/app/callbridged "$@"
