#!/usr/bin/env bash
# Set everything up, then run the main job on the embedded model (offline).
# Extra arguments go to `python -m headspex.prune` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
exec .venv/bin/python -m headspex.prune "$@"
