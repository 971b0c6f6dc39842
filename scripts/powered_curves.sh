#!/usr/bin/env bash
# The powered whole-model curves (issue "ProxySPEX that earns its name"): all 270 heads of the embedded SmolLM2
# in one game, keep 10%..90%; 3 seeds; 200 test questions; 400 training masks per seed (about 1.5n); the CLI's
# default rule for proxyspex (verify) beside the proxy's raw optimum (proxyspex-milp), LASSO, leave-one-out and
# the one-pass gradient; 30 random masks per level. A rerun resumes. Extra arguments go to every run.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/powered-curves}
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
mkdir -p "$OUT"
for task in ${TASKS:-facts ioi}; do
  start=$(date +%s)
  "$PY" -m headspex.prune --task "$task" --layers all --seeds 3 --no-progress \
      --budget 400 --n-train 32 --n-test 200 --n-random 30 \
      --methods proxyspex,proxyspex-milp,lasso,single-head,gradient \
      --proxyspex-rule verify --out "$OUT/$task" "$@"
  echo "$task: $(( $(date +%s) - start )) s ($(date -u +%FT%TZ))" | tee -a "$OUT/times.txt"
done
