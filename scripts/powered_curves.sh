#!/usr/bin/env bash
# The powered whole-model curves (issue "ProxySPEX that earns its name"): all 270 heads of the embedded SmolLM2
# in one game, keep 10%..90%; 3 seeds; 200 test questions; 400 training masks per seed (about 1.5n); the robust
# rule (proxyspex-robust, the CLI's default for proxyspex) and the verify rule (`proxyspex` here, pinned: the
# default when these results were first stored) beside the proxy's raw optimum (proxyspex-milp), LASSO,
# leave-one-out and the one-pass gradient; 30 random masks per level. A rerun resumes. Extra arguments go to
# every run.
set -euo pipefail
source "$(dirname "$0")/_powered_env.sh"
OUT=${OUT:-results/powered-curves}
for task in ${TASKS:-facts ioi}; do
  timed "$OUT" "$task" "$PY" -m headspex.prune --task "$task" --layers all --seeds 3 --no-progress \
      --budget 400 --n-train 32 --n-test 200 --n-random 30 \
      --methods proxyspex,proxyspex-milp,proxyspex-robust,lasso,single-head,gradient \
      --proxyspex-rule verify --out "$OUT/$task" "$@"
done
