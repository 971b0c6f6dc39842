#!/usr/bin/env bash
# The whole-model pruning curves committed under results/curves/ (SmolLM2, all 270 heads, keep 10%..90%).
# Each run resumes from its --out when rerun. About 1-2 hours on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
for task in ${TASKS:-facts ioi}; do
  /usr/bin/time -f "%e s elapsed" .venv/bin/python -m headspex.curves --task "$task" --layers all \
    --n-train 32 --n-test 100 --budget 400 --n-random 100 --seeds 2 --no-progress \
    --out "results/curves/$task" "$@"
done
