#!/usr/bin/env bash
# The failover campaign of cluster mode (docs/cluster.md "Failure modes") against the built
# binaries (build/default): a real nats-server -js and PostgreSQL 15, three callbridged nodes,
# callbridge-pbxsim's steady traffic, kill -9 of the link's owner at 20 random moments.
#   bash scripts/cluster_failover.sh              20 kills (about 3 minutes)
#   bash scripts/cluster_failover.sh --kills 3    what CI runs (ctest -R cluster_failover)
# Other arguments go to tests/faults/cluster_kills.py (--seed, --cps, --workdir DIR, --json-out FILE).
# Prints every failover time and one summary row (failover p50/p99/max, lost, duplicated, wrong);
# the exit code is non-zero when anything must-be-zero is not.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build/default}
for b in "$B/src/app/callbridged" "$B/cli/callbridge" "$B/tools/pbxsim/callbridge-pbxsim"; do
  [[ -x $b ]] || { echo "missing $b: cmake --build --preset default --target callbridged callbridge callbridge-pbxsim" >&2; exit 2; }
done
kills=(--kills 20)
for a in "$@"; do [[ $a == --kills ]] && kills=(); done
exec nice python3 tests/faults/cluster_kills.py "${kills[@]}" "$@" --callbridged "$B/src/app/callbridged" \
  --cli "$B/cli/callbridge" --pbxsim "$B/tools/pbxsim/callbridge-pbxsim"
