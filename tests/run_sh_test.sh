#!/bin/sh
# scripts/run.sh's rule (issue 13): without --config/-c/--ami it is the demo, extra arguments
# added to the demo's (its data dir and users kept); with them, the arguments go to callbridged
# alone. Runs the script's decision only (CALLBRIDGE_RUN_DRY=1: no install, no build).
# Usage: run_sh_test.sh REPO_ROOT. Exit 1 naming the case that failed.
set -u
root=${1:?repo root}
bad=0
check() {  # check EXPECTED ARGS...
  expected=$1
  shift
  got=$(CALLBRIDGE_RUN_DRY=1 bash "$root/scripts/run.sh" "$@" 2>&1)
  if [ "$got" != "$expected" ]; then
    echo "run.sh $*:"
    echo "  expected: $expected"
    echo "  got:      $got"
    bad=1
  fi
}
check "run.sh: demo mode (callbridged --demo --data-dir ./demo-data)"
check "run.sh: demo mode (callbridged --demo --data-dir ./demo-data --demo-speed 10)" --demo-speed 10
check "run.sh: demo mode (callbridged --demo --data-dir ./demo-data --listen 0.0.0.0:8080 --log-level debug)" \
  --listen 0.0.0.0:8080 --log-level debug
check "run.sh: demo mode (callbridged --demo --data-dir /tmp/x --demo-speed 5)" --data-dir /tmp/x --demo-speed 5
check "run.sh: demo mode (callbridged --data-dir ./demo-data --demo)" --demo
check "run.sh: --config/--ami given: callbridged with your arguments only (no demo)" --config /etc/cb.toml
check "run.sh: --config/--ami given: callbridged with your arguments only (no demo)" -c cb.toml --log-level debug
check "run.sh: --config/--ami given: callbridged with your arguments only (no demo)" \
  --ami pbx:5038 --ami-user u --ami-secret s
check "run.sh: --config/--ami given: callbridged with your arguments only (no demo)" --ami=pbx:5038
exit $bad
