#!/usr/bin/env bash
# The powered verdict of the layer-range study (issue "ProxySPEX that earns its name"): ioi, induction and facts
# on the embedded SmolLM2; layers 1-11, 10-20, 20-30 (99 heads each); keep 50/66/83%; 3 seeds; 200 test
# questions; budget 200 model evaluations per range and method (about 2n: the budget sweeps in results/sweep
# show no method gaining from 2n to 4n); the verify rule (`proxyspex` here, pinned: the default when these
# results were first stored), the proxy's raw optimum (proxyspex-milp), the margin rule (proxyspex-margin), the
# robust objective (proxyspex-robust, now the CLI's default) and sampling around the gradient's top k
# (proxyspex-anchored) beside it. A rerun resumes from the stored values. Extra arguments go to every run.
set -euo pipefail
source "$(dirname "$0")/_powered_env.sh"
OUT=${OUT:-results/powered-study}
for task in ${TASKS:-ioi induction facts}; do
  timed "$OUT" "$task" "$PY" -m headspex.prune --task "$task" --layers initial,middle,final --seeds 3 --no-progress \
      --budget 200 --n-train 32 --n-test 200 --n-random 30 --n-heldout 15 --energy-boot 4 --milp-time-limit 5 \
      --methods proxyspex,proxyspex-margin,proxyspex-milp,proxyspex-robust,proxyspex-anchored,lasso,best-of-n,\
single-head,random \
      --proxyspex-rule verify --out "$OUT/$task" "$@"
done
