#!/usr/bin/env bash
# The chat-math example end to end on this machine (docs/own-model.md):
# writes the data (scripts/make-chat-math.py) into data/chat-math and a small
# random Qwen3-shaped model with the real Qwen3 tokenizer into
# models/qwen3-tiny (each only if missing), then SFT and RL with
# configs/chat-math.yaml; RL evaluates the held-out set before, during and
# after. Extra arguments (e.g. --set run.dir=/tmp/cm) go to both steps.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -f data/chat-math/train.jsonl ] || python3 scripts/make-chat-math.py --out data/chat-math
[ -f models/qwen3-tiny/config.json ] ||
  build/cli/crescent model init --tokenizer tests/fixtures/tokenizer/qwen3 --out models/qwen3-tiny \
    --arch qwen3 --vocab 151936 --hidden 64 --intermediate 256 --layers 4 --heads 4 \
    --kv-heads 2 --head-dim 16 --max-positions 256
build/cli/crescent sft configs/chat-math.yaml "$@"
exec build/cli/crescent run configs/chat-math.yaml "$@"
