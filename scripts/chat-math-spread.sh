#!/usr/bin/env bash
# The chat-math recipe's spread (docs/results.md): for each seed (the random
# model's, sft.seed and run.seed) and each BLAS kernel set,
# scripts/chat-math.sh's steps (SFT, then RL) with configs/chat-math.yaml on
# the same data. Prints one Markdown table row per run: held-out accuracy
# before RL (the SFT start) and at each evaluation, and the wall times of SFT
# and RL. One run at a time, so the wall times are this machine's.
#
#   scripts/chat-math-spread.sh OUT_DIR [KERNELS] [SEEDS] [--set key=value]...
#   KERNELS: comma-separated OPENBLAS_CORETYPE values, "native" for
#   OPENBLAS_CORETYPE unset (OpenBLAS's choice, or crescent's where
#   OpenBLAS falls back to Prescott: docs/perf.md); the rows name the
#   kernels the SFT ran (default native,Haswell); SEEDS default 1,2,3.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/chat-math-spread.sh OUT_DIR [KERNELS] [SEEDS] [--set key=value]...}
kernels=${2:-native,Haswell}
seeds=${3:-1,2,3}
shift $(($# < 3 ? $# : 3))
mkdir -p "$out"
# A copy of the program, so that a rebuild meanwhile cannot change it.
cp build/cli/crescent "$out/crescent"
crescent=$out/crescent
accuracies() { grep -o 'eval.data_file accuracy [0-9.]*' "$1" | awk '{printf "%s%.3f", s, $3; s=" "}'; }
echo "| kernels | seed | SFT s | held-out accuracy: before RL, every eval.every iterations | RL s | total s |"
echo "|---|---|---|---|---|---|"
for kernel in ${kernels//,/ }; do
  for seed in ${seeds//,/ }; do
    dir="$out/$kernel-$seed"
    rm -rf "$dir" "$dir-model"
    scripts/chat-math.sh --prepare "$dir-model" "$seed" >/dev/null
    sets=(--set "run.dir=$dir" --set "model.path=$dir-model" --set "sft.seed=$seed"
      --set "run.seed=$seed" "$@")
    if [ "$kernel" = native ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$kernel; fi
    t0=$(date +%s.%N)
    $crescent sft configs/chat-math.yaml "${sets[@]}" >"$out/$kernel-$seed.sft.log" 2>&1
    t1=$(date +%s.%N)
    $crescent run configs/chat-math.yaml "${sets[@]}" >"$out/$kernel-$seed.run.log" 2>&1
    t2=$(date +%s.%N)
    times=$(python3 -c "print(round($t1 - $t0), round($t2 - $t1), round($t2 - $t0))")
    read -r sft_s rl_s total_s <<<"$times"
    used=$(grep -o -m1 'OpenBLAS kernels [A-Za-z0-9]*' "$out/$kernel-$seed.sft.log" | awk '{print $3}')
    echo "| $kernel ($used) | $seed | $sft_s | $(accuracies "$out/$kernel-$seed.run.log") | $rl_s | $total_s |"
  done
done
