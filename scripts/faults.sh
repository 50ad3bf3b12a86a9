#!/usr/bin/env bash
# The fault campaigns of docs/reliability.md against the built binaries (build/default):
#   bash scripts/faults.sh             full: 100 AMI drops (every 10th a PBX restart), 20 kill -9,
#                                      5 x data file system full, then read-only (root: loop-mounted ext4)
#   bash scripts/faults.sh --reduced   what CI runs (ctest -L faults): 10 drops, 3 kills, disk full once
# Each campaign prints its summary row; the exit code is non-zero when one found a problem.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build/default}
bins=(--callbridged "$B/src/app/callbridged" --cli "$B/cli/callbridge" --pbxsim "$B/tools/pbxsim/callbridge-pbxsim")
for b in "$B/src/app/callbridged" "$B/cli/callbridge" "$B/tools/pbxsim/callbridge-pbxsim"; do
  [[ -x $b ]] || { echo "missing $b: cmake --build --preset default --target callbridged callbridge callbridge-pbxsim" >&2; exit 2; }
done
if [[ ${1:-} == --reduced ]]; then
  drops=(--runs 10 --restart-every 5); kills=(--runs 3); disk=(--runs 1 --readonly)
else
  drops=(--runs 100 --restart-every 10); kills=(--runs 20); disk=(--runs 5 --readonly)
fi
rc=0
nice python3 tests/faults/campaign.py drops "${drops[@]}" "${bins[@]}" || rc=1
nice python3 tests/faults/campaign.py kills "${kills[@]}" "${bins[@]}" || rc=1
nice python3 tests/faults/campaign.py disk "${disk[@]}" "${bins[@]}" || rc=1
exit $rc
