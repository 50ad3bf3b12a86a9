#!/usr/bin/env bash
# Runs the test suite under a sanitizer (docs/reliability.md, "Sanitizers"):
#   scripts/sanitize.sh asan [ctest args]  # the whole suite, g++ ASan+UBSan (preset debug)
#   scripts/sanitize.sh tsan [ctest args]  # the threaded parts, g++ TSan (preset tsan, label threads)
# e.g. `scripts/sanitize.sh asan -LE asterisk` without the Asterisk lab, `scripts/sanitize.sh tsan -R Worker`.
# Configures and builds the preset (-j2 under nice; CB_SANITIZE_NO_BUILD=1 skips it), then runs ctest.
# Every sanitizer report of every process, also of the callbridged and callbridge children a test
# starts and whose stderr it may not show, goes to build/<preset>/sanitizer-logs/: the script prints
# them and fails if there is any, even when every test passed. Exit code: ctest's, or 1 for reports.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
shift || true
case "$kind" in
  asan) preset=debug ;;
  tsan) preset=tsan ;;
  *) echo "usage: scripts/sanitize.sh asan|tsan [ctest args]" >&2; exit 2 ;;
esac
build=build/$preset
if [ "${CB_SANITIZE_NO_BUILD:-0}" != 1 ]; then
  cmake --preset "$preset"
  # tsan: only the test targets labelled `threads` and what they need (its build preset lists them).
  nice -n 10 cmake --build --preset "$preset" -j2
fi

logs=$PWD/$build/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# Appended to the test preset's options ($penv{...} in CMakePresets.json): later options win.
supp=$PWD/tools/sanitizers
if [ "$kind" = asan ]; then
  export ASAN_OPTIONS="log_path=$logs/asan:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="log_path=$logs/ubsan:suppressions=$supp/ubsan.supp:${UBSAN_OPTIONS:-}"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:${LSAN_OPTIONS:-}"
else
  export TSAN_OPTIONS="log_path=$logs/tsan:suppressions=$supp/tsan.supp:${TSAN_OPTIONS:-}"
fi

status=0
started=$(date +%s)
ctest --preset "$preset" "$@" || status=$?
echo "sanitize.sh: ctest took $(($(date +%s) - started)) s, exit $status" >&2

reports=$(find "$logs" -type f -size +0 | sort)
if [ -n "$reports" ]; then
  for f in $reports; do
    echo "===== $f" >&2
    cat "$f" >&2
  done
  echo "sanitize.sh: $(echo "$reports" | wc -l) sanitizer report file(s) in $logs" >&2
  [ "$status" != 0 ] || status=1
else
  echo "sanitize.sh: no sanitizer reports" >&2
fi
exit $status
