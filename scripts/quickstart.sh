#!/usr/bin/env bash
# Sets up what is missing, builds, and runs the quickstart job (the embedded
# default config, configs/quickstart.yaml) on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/common/cli/crescent run "$@"
