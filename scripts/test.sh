#!/usr/bin/env bash
# Sets up what is missing, builds everything, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
exec ctest --output-on-failure --timeout 900 "$@"
