#!/usr/bin/env bash
# Installs the dependencies (Debian 12, as root), builds callbridged and the callbridge CLI with the
# default CMake preset, and starts callbridged in the foreground.
#
# The rule: without --config/-c or --ami, it is the DEMO (callbridged --demo: a built-in PBX
# simulator with live calls, demo contacts, the demo users of team "Sales" and sign-in links for
# Anna and the admin; data in ./demo-data, HTTP on 127.0.0.1:8080). Any other arguments are added
# to the demo's, so the demo keeps its data and users:
#   bash scripts/run.sh                          # the demo
#   bash scripts/run.sh --demo-speed 10          # the demo, ten times faster
#   bash scripts/run.sh --listen 0.0.0.0:8080    # the demo, reachable from other machines
#   bash scripts/run.sh --data-dir /tmp/demo     # the demo with its data elsewhere
# With --config FILE or --ami HOST:PORT the arguments go to callbridged as they are (your PBX;
# built-in defaults otherwise: HTTP API on 127.0.0.1:8080, data in /var/lib/callbridge as root,
# else ./data), e.g.
#   bash scripts/run.sh --ami pbx.example.com:5038 --ami-user callbridge --ami-secret s3cret
#   bash scripts/run.sh --config /etc/callbridge/callbridge.toml
#   (a file with [demo] enabled = true is a demo too, with the data dir the file says)
set -euo pipefail
cd "$(dirname "$0")/.."

# Decides before the (long) build, so a typo shows at once.
demo=1 has_data_dir=0 has_demo=0
for arg in "$@"; do
  case "$arg" in
    -c|--config|--config=*|--ami|--ami=*) demo=0 ;;
    --data-dir|--data-dir=*) has_data_dir=1 ;;
    --demo) has_demo=1 ;;
  esac
done
if [[ $demo -eq 1 ]]; then
  args=()
  [[ $has_demo -eq 1 ]] || args+=(--demo)
  [[ $has_data_dir -eq 1 ]] || args+=(--data-dir ./demo-data)
  args+=("$@")
  echo "run.sh: demo mode (callbridged ${args[*]})"
else
  args=("$@")
  echo "run.sh: --config/--ami given: callbridged with your arguments only (no demo)"
fi
if [[ "${CALLBRIDGE_RUN_DRY:-}" == 1 ]]; then exit 0; fi  # tests: print the decision only

bash scripts/install-deps.sh
cmake --preset default >/dev/null
# The web client (served by callbridged) needs node + npm; without them the API still runs.
targets=(callbridged callbridge)
if command -v npm >/dev/null 2>&1; then targets+=(web); fi
cmake --build --preset default --target "${targets[@]}" -j2
exec ./build/default/src/app/callbridged "${args[@]}"
