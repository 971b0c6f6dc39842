#!/usr/bin/env bash
# The checks that need a GPU, for a lent GPU machine (no registry, no internet). First, here:
#     bash scripts/gpu_wheels.sh            # fills the git-ignored .gpu_wheels/ (~13 MiB)
# then, with the device tool, from the repository root, in under 8 minutes:
#     run(command="bash scripts/gpu_check.sh", carry=[".gpu_wheels"], timeout_s=540)
# It installs the missing wheels (pip --no-index --find-links, into .gpu_site/ on PYTHONPATH, nothing
# system-wide), then runs: the CUDA test subset (tests/integration/test_cuda.py and the random-model, HF-peer
# tests), the engine benchmark on random:smollm2 (--device cuda) and the cost model on
# random:llama-3.1-8b. Figures go to results/benchmarks/gpu/ (and a copy to $OUT/results/benchmarks/gpu/ when
# the device tool sets $OUT). Exit status: 0 all passed, 3 no CUDA, 2 setup failed, 1 a step failed.
# --setup-only: install and check the imports only (works without a GPU: a dry run of the setup).
set -uo pipefail
cd "$(dirname "$0")/.."
WHEELS=${HEADSPEX_GPU_WHEELS:-.gpu_wheels}
SITE=$PWD/.gpu_site
RESULTS=results/benchmarks/gpu
PY=${PYTHON:-python}
SETUP_ONLY=0
[ "${1:-}" = "--setup-only" ] && SETUP_ONLY=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error PYTHONDONTWRITEBYTECODE=1
export HEADSPEX_TOKENIZER=$PWD/$WHEELS/smollm2-tokenizer HEADSPEX_CACHE=$PWD/.gpu_site/cache

say() { echo "[gpu_check $(date +%H:%M:%S)] $*"; }

if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "gpu_check: $PY cannot import torch (set PYTHON=/path/to/python)" >&2
  exit 2
fi
if [ "$SETUP_ONLY" = 0 ] && ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: no CUDA device visible to PyTorch $("$PY" -c 'import torch; print(torch.__version__)');" \
       "this script is for a lent GPU machine (bash scripts/gpu_check.sh --setup-only tests the setup anywhere)" >&2
  exit 3
fi
if [ ! -f "$WHEELS/requirements.txt" ]; then
  echo "gpu_check: $WHEELS/requirements.txt missing: run bash scripts/gpu_wheels.sh where PyPI is reachable and" \
       "carry $WHEELS to this machine" >&2
  exit 2
fi

# -- setup: install what is missing, one wheel at a time (pip picks the wheel for this Python) -------------
mkdir -p "$SITE"
export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
while read -r spec; do
  [ -n "$spec" ] || continue
  # skip what is installed at this version or newer; an older copy is shadowed by the wheel in .gpu_site/
  if "$PY" -c "
import importlib.metadata as m, sys
from packaging.version import Version
name, want = sys.argv[1].split('==')
sys.exit(0 if Version(m.version(name)) >= Version(want) else 1)" "$spec" 2>/dev/null; then
    continue
  fi
  "$PY" -m pip install -q --no-index --find-links "$WHEELS" --no-deps --target "$SITE" "$spec" \
    && say "installed $spec" || say "warning: could not install $spec"
done < "$WHEELS/requirements.txt"
if ! "$PY" -c "import datasets" 2>/dev/null; then
  # transformer-lens imports datasets (Dataset, IterableDataset, load_dataset) for helpers the engine never
  # calls; without pyarrow/xxhash here, a stub with those names lets it import. Only under .gpu_site/.
  say "datasets cannot import here ($("$PY" -c 'import datasets' 2>&1 | tail -1)); using a stub"
  rm -rf "$SITE/datasets" "$SITE"/datasets-*.dist-info
  mkdir -p "$SITE/datasets"
  stub='class _Unavailable:\n    def __init__(self, *a, **k):\n        raise ImportError("datasets is a stub on this machine (scripts/gpu_check.sh)")\n'
  printf "%b" "$stub" > "$SITE/datasets/_stub.py"
  printf "from ._stub import _Unavailable as Dataset, _Unavailable as IterableDataset, _Unavailable as load_dataset\n" \
    > "$SITE/datasets/__init__.py"
  printf "from ._stub import _Unavailable as Dataset\n" > "$SITE/datasets/arrow_dataset.py"
  printf "from ._stub import _Unavailable as IterableDataset\n" > "$SITE/datasets/iterable_dataset.py"
  printf "from ._stub import _Unavailable as load_dataset\n" > "$SITE/datasets/load.py"
fi
if ! "$PY" - <<'EOF'
import importlib.metadata as m
import torch, transformers
from packaging.version import Version
from transformer_lens.model_bridge import TransformerBridge  # noqa: F401
import pytest  # noqa: F401
import headspex, tasks, hooks  # noqa: F401
from benchmarks.engine import main  # noqa: F401
if Version(transformers.__version__) < Version("5.9"):
    raise SystemExit(f"transformers {transformers.__version__} is older than 5.9, which transformer-lens 4.3 needs")
print(f"python {__import__('sys').version.split()[0]}, torch {torch.__version__} (CUDA {torch.version.cuda}), "
      f"transformers {transformers.__version__}, transformer-lens {m.version('transformer-lens')}")
EOF
then
  echo "gpu_check: the imports above failed; see the message" >&2
  exit 2
fi
if [ "$SETUP_ONLY" = 1 ]; then say "setup only: done"; exit 0; fi
mkdir -p "$RESULTS"

# -- the checks (each with its own time limit: 90 + 170 + 160 s; with the setup, under 8 minutes) -----------------------------------
status=0
step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  say "$name (limit ${limit}s): $*"
  timeout "$limit" "$@" 2>&1 | tee "$RESULTS/$name.txt"
  local rc=${PIPESTATUS[0]}
  say "$name: exit $rc"
  [ $rc = 0 ] || status=1
}
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1; "$PY" -m pip list 2>/dev/null; } \
  > "$RESULTS/environment.txt"
step tests 90 "$PY" -m pytest -q -p no:cacheprovider -x tests/integration/test_cuda.py \
  tests/integration/test_random_models.py tests/integration/test_hf_peer.py
step bench_smollm2 170 "$PY" -m benchmarks.engine --device cuda --model random:smollm2 --task ioi --masks 256 \
  --naive-masks 4 --hf-masks 128 --repeats 2 --json "$RESULTS/bench_smollm2.json"
step cost_model 160 "$PY" -m benchmarks.engine --cost-model --device cuda --models random:smollm2,random:llama-3.1-8b \
  --lengths 128,256,512 --depths 1,4,16 --masks 4 --questions 16 --repeats 3 --out "$RESULTS"
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT/results/benchmarks" && cp -r "$RESULTS" "$OUT/results/benchmarks/"
fi
say "done: exit $status (figures in $RESULTS)"
exit $status
