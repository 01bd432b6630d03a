#!/usr/bin/env bash
# The chat-math example end to end on this machine (docs/own-model.md):
# writes the data (scripts/make-chat-math.py) into data/chat-math and a small
# random Qwen3-shaped model with the real Qwen3 tokenizer into
# models/qwen3-tiny (each only if missing), then SFT and RL with
# configs/chat-math.yaml; RL evaluates the held-out set before, during and
# after. Extra arguments (e.g. --set run.dir=/tmp/cm) go to both steps.
#
#   scripts/chat-math.sh [--set key=value]...
#   scripts/chat-math.sh --prepare MODEL_DIR SEED   only the data (if missing)
#                                                   and a model initialised
#                                                   with SEED in MODEL_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# One-digit sums, differences and products and two-step problems (levels 1, 4
# and 5), 50 held-out problems of each level, and SFT solutions from a
# teacher who leaves 70% of the answers unboxed (docs/own-model.md).
[ -f data/chat-math/train.jsonl ] ||
  python3 scripts/make-chat-math.py --out data/chat-math --levels 1,4,5 --heldout 150 \
    --teacher-error 0.7
init_model() {
  build/cli/crescent model init --tokenizer tests/fixtures/tokenizer/qwen3 --out "$1" --seed "$2" \
    --arch qwen3 --vocab 151936 --hidden 64 --intermediate 256 --layers 4 --heads 4 \
    --kv-heads 2 --head-dim 16 --max-positions 256
}
if [ "${1:-}" = --prepare ]; then
  init_model "${2:?--prepare MODEL_DIR SEED}" "${3:?--prepare MODEL_DIR SEED}"
  exit 0
fi
[ -f models/qwen3-tiny/config.json ] || init_model models/qwen3-tiny 1
build/cli/crescent sft configs/chat-math.yaml "$@"
exec build/cli/crescent run configs/chat-math.yaml "$@"
