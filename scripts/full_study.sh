#!/usr/bin/env bash
# The whole layer-range study on the embedded SmolLM2: ioi, induction and facts; three ranges of ~96 heads
# (layers 1-11, 10-20, 20-30: the presets initial, middle, final); keep 50/66/83%; 3 seeds. Outputs in
# results/smollm2-study/<task>/ (a rerun resumes from the stored values). Extra arguments go to every run.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/smollm2-study}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
for task in ${TASKS:-ioi induction facts}; do
  start=$(date +%s)
  "$PY" -m headspex.prune --task "$task" --layers initial,middle,final --seeds 3 --no-progress \
      --budget 160 --n-train 32 --n-test 100 --n-random 30 --n-heldout 15 --energy-boot 4 --milp-time-limit 5 \
      --sampling mixture --no-refine \
      --out "$OUT/$task" "$@"
  echo "$task: $(( $(date +%s) - start )) s" | tee -a "$OUT/times.txt"
done
