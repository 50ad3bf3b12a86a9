#!/usr/bin/env bash
# bench/daemon_rss.sh BIN_DIR [--smoke]: callbridged start-up time and resident memory.
# Starts callbridged (loopback, port 0, a fresh temp data dir) REPS times and measures the time
# from exec until /healthz answers; then RSS idle (no PBX) and in demo mode after the simulator has
# been feeding calls for DEMO_SECONDS (speed 20: a busy hour in a few seconds). Prints markdown.
# Bounded: every wait has a deadline; every process started here is killed by pid at the end.
set -euo pipefail
bin_dir=$1
smoke=${2:-}
daemon="$bin_dir/src/app/callbridged"
[[ -x $daemon ]] || { echo "daemon_rss: $daemon not built" >&2; exit 1; }
REPS=${REPS:-5}
DEMO_SECONDS=${DEMO_SECONDS:-10}
[[ $smoke == --smoke ]] && REPS=1 DEMO_SECONDS=1
tmp=$(mktemp -d /tmp/cb-daemon-bench-XXXXXX)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

now_ns() { date +%s%N; }

# start ARGS...: starts callbridged, sets pid and port (from its "listening" log line).
start() {
  : >"$tmp/log"
  "$daemon" --listen 127.0.0.1:0 --data-dir "$tmp/data" "$@" >"$tmp/log" 2>&1 &
  pid=$!
  port=
  local deadline=$(( $(date +%s) + 20 ))
  while [[ -z $port ]]; do
    port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$tmp/log" | head -1 | grep -oE '[0-9]+$' || true)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || { echo "daemon_rss: callbridged exited:" >&2; cat "$tmp/log" >&2; exit 1; }
    (( $(date +%s) < deadline )) || { echo "daemon_rss: no listening line" >&2; exit 1; }
    sleep 0.005
  done
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || { echo "daemon_rss: /healthz never answered" >&2; exit 1; }
    sleep 0.005
  done
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

times=()
for ((i = 0; i < REPS; i++)); do
  rm -rf "$tmp/data"
  t0=$(now_ns)
  start
  t1=$(now_ns)
  times+=($(( (t1 - t0) / 1000 )))
  idle_rss=$(rss_kb)
  stop
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median_us=${sorted[$(( ${#sorted[@]} / 2 ))]}

rm -rf "$tmp/data"
start --demo --demo-speed 20
sleep "$DEMO_SECONDS"  # the measured interval itself, not a synchronization
demo_rss=$(rss_kb)
token=$( (grep 'Open as the admin' "$tmp/log" || true) | grep -oE 'token=cbt_[A-Za-z0-9_]+' | head -1 | cut -d= -f2 || true)
diag=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/diagnostics" || true)
committed=$( (grep -oE '"committed":[0-9]+' <<<"$diag" || true) | head -1 | cut -d: -f2)
stop

echo "| measure | value |"
echo "|---|---:|"
printf '| start-up to first /healthz answer (median of %d, fresh data dir) | %.1f ms |\n' "$REPS" "$(awk "BEGIN{print $median_us/1000}")"
printf '| RSS idle, no PBX | %.1f MiB |\n' "$(awk "BEGIN{print $idle_rss/1024}")"
printf '| RSS in demo mode after %ss at speed 20 (%s journal entries) | %.1f MiB |\n' "$DEMO_SECONDS" "${committed:-?}" \
  "$(awk "BEGIN{print $demo_rss/1024}")"
if [[ $smoke == --smoke && -z ${committed:-} ]]; then
  echo "daemon_rss: no diagnostics from the demo daemon" >&2
  exit 1
fi
