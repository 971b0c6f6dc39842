#!/usr/bin/env bash
# The preregistered confirmation study, exactly as results/confirmation/PLAN.md states it. Each run writes its own
# directory under results/confirmation/ and resumes when rerun. Two runs side by side with one thread each.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
OUT=results/confirmation
SEED=${SEED:-100}
RANGE_METHODS=proxyspex,lasso,lasso-verify,proxyspex-additive,best-of-n,random
WHOLE_METHODS=proxyspex,lasso,lasso-verify,proxyspex-additive,single-head
: > "$OUT/audit.txt"
for task in ioi induction mmlu:miscellaneous; do  # the plan's gate: every test question fresh, or stop here
  # (the study's own runs are skipped, so that a resumed study passes its own gate)
  $PY -m headspex.prune.question_audit --task "$task" --seed "$SEED" --n-train 32 --n-test 200 --exclude "$OUT" | tee -a "$OUT/audit.txt"
done
ranges() {
  local task=$1 dir=$OUT/ranges-${1//:/-}
  /usr/bin/time -f "$task ranges: %e s" -a -o "$OUT/times.txt" $PY -m headspex.prune --task "$task" --seed "$SEED" \
    --seeds 5 --layers initial,middle,final --budget 200 --n-train 32 --n-test 200 --n-random 30 --no-progress \
    --methods "$RANGE_METHODS" --out "$dir" > "$dir.log" 2>&1
}
whole() {
  local task=$1 dir=$OUT/whole-$1
  /usr/bin/time -f "$task whole model: %e s" -a -o "$OUT/times.txt" $PY -m headspex.prune --task "$task" \
    --seed "$SEED" --seeds 3 --layers all --budget 400 --n-train 32 --n-test 200 --n-random 30 --no-progress \
    --methods "$WHOLE_METHODS" --out "$dir" > "$dir.log" 2>&1
}
# Two runs at a time, each the next in this list when a slot frees (no core waits while runs remain; the order
# only schedules, every run is the same command whenever it starts).
RUNS=("ranges ioi" "ranges induction" "ranges mmlu:miscellaneous" "whole ioi" "whole induction")
for run in "${RUNS[@]}"; do
  while (( $(jobs -rp | wc -l) >= 2 )); do wait -n || true; done
  $run &
done
wait
cat "$OUT/times.txt"
