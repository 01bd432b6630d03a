#!/usr/bin/env bash
# Sets up what is missing, builds, and runs the quickstart (the embedded
# default config, configs/quickstart.yaml) on this machine: supervised warm
# start, then RL, printing held-out accuracy before and after.
# Extra arguments (e.g. --set run.dir=/tmp/q) go to both steps.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/cli/crescent sft "$@"
exec build/cli/crescent run "$@"
