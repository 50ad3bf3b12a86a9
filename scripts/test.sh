#!/usr/bin/env bash
# Runs every test: installs the dependencies (Debian 12, as root), configures the default preset,
# builds everything with -j2 and runs ctest (2 jobs, output on failure). Exit code = ctest's.
# Extra arguments go to ctest, e.g. `bash scripts/test.sh -L integration` or `-R journal`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset default
cmake --build --preset default -j2
ctest --preset default "$@"
