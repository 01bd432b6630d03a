#!/usr/bin/env bash
# The quickstart's spread (docs/results.md): for each seed (sft.seed =
# run.seed) and each BLAS kernel set, the README's main command (SFT, then
# RL), and the same SFT continued on its own data for as long as the RL took,
# from the same SFT checkpoint, at SFT's final learning rate. Prints one
# Markdown table row per run. Run after scripts/setup.sh; one run at a time,
# so the wall times are this machine's.
#
#   scripts/quickstart-spread.sh OUT_DIR [KERNELS] [SEEDS] [--set key=value]...
#   KERNELS: comma-separated OPENBLAS_CORETYPE values, "native" for
#   OPENBLAS_CORETYPE unset (OpenBLAS's choice, or crescent's where
#   OpenBLAS falls back to Prescott: docs/perf.md); the rows name the
#   kernels the SFT ran (default native,Haswell); SEEDS default 1,2,3.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/quickstart-spread.sh OUT_DIR [KERNELS] [SEEDS] [--set key=value]...}
kernels=${2:-native,Haswell}
seeds=${3:-1,2,3}
shift $(($# < 3 ? $# : 3))
mkdir -p "$out"
# A copy of the program, so that a rebuild meanwhile cannot change it.
cp build/cli/crescent "$out/crescent"
crescent=$out/crescent
# The effective SFT settings, for the continuation's step count and rate.
show=$($crescent config show "$@")
sft_lr=$(awk '/^sft:/{s=1} s&&/^  lr:/{print $2; exit}' <<<"$show")
floor=$(awk '/^sft:/{s=1} s&&/^  min_lr_ratio:/{print $2; exit}' <<<"$show")
schedule=$(awk '/^sft:/{s=1} s&&/^  lr_schedule:/{print $2; exit}' <<<"$show" | tr -d '"')
final_lr=$(python3 -c "print($sft_lr * ($floor if '$schedule' == 'cosine' else 1))")
accuracy() { grep -o 'held-out accuracy [0-9.]*' "$1" | tail -1 | awk '{print $3}'; }
echo "| kernels | seed | SFT | SFT s | RL before -> after | RL s | SFT continued (steps) | RL - continued |"
echo "|---|---|---|---|---|---|---|---|"
for kernel in ${kernels//,/ }; do
  for seed in ${seeds//,/ }; do
    dir="$out/$kernel-$seed"
    rm -rf "$dir"
    sets=(--set "run.dir=$dir" --set "sft.seed=$seed" --set "run.seed=$seed" "$@")
    if [ "$kernel" = native ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$kernel; fi
    t0=$(date +%s.%N)
    $crescent sft "${sets[@]}" >"$out/$kernel-$seed.sft.log" 2>&1
    t1=$(date +%s.%N)
    $crescent run "${sets[@]}" >"$out/$kernel-$seed.run.log" 2>&1
    t2=$(date +%s.%N)
    sft_s=$(python3 -c "print(round($t1 - $t0))")
    rl_s=$(python3 -c "print(round($t2 - $t1))")
    steps=$(grep -o 'after [0-9]* steps in [0-9.]* s' "$out/$kernel-$seed.sft.log" | awk '{print $2, $5}')
    cont_steps=$(python3 -c "n, s = '$steps'.split(); print(max(1, round(($t2 - $t1) * int(n) / float(s))))")
    $crescent sft "${sets[@]}" --set "run.dir=$dir/continued" --set "model.path=$dir/sft" \
      --set "sft.steps=$cont_steps" --set "sft.lr=$final_lr" --set sft.lr_schedule=constant \
      --set sft.warmup_steps=0 >"$out/$kernel-$seed.continued.log" 2>&1
    sft_acc=$(accuracy "$out/$kernel-$seed.sft.log")
    rl=$(grep -o 'held-out accuracy: [0-9.]* before RL, [0-9.]* after' "$out/$kernel-$seed.run.log" | awk '{print $3, $6}')
    cont_acc=$(accuracy "$out/$kernel-$seed.continued.log")
    read -r before after <<<"$rl"
    margin=$(python3 -c "print(f'{$after - $cont_acc:+.3f}')")
    used=$(grep -o -m1 'OpenBLAS kernels [A-Za-z0-9]*' "$out/$kernel-$seed.sft.log" | awk '{print $3}')
    echo "| $kernel ($used) | $seed | $sft_acc | $sft_s | $before -> $after | $rl_s | $cont_acc ($cont_steps) | $margin |"
  done
done
