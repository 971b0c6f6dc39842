#!/usr/bin/env bash
# Issue 35's measurement: the default run (--dtype auto) against the same run with --dtype float32, one after the
# other, alone on the machine; then benchmarks.dtypes (seconds per training mask in each dtype, side by side).
# Writes results/dtype-auto/{times.txt,*.log,config-*.json} and results/benchmarks/dtypes.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
PY=${PY:-.venv/bin/python}
OUT=results/dtype-auto
mkdir -p "$OUT"
{
  echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD); $(nproc) cores"
  $PY -c "import torch; print('cpu capability', torch.backends.cpu.get_cpu_capability(), '| bf16 units', bool(torch.cpu.get_capabilities().get('avx512_bf16') or torch.cpu.get_capabilities().get('amx_bf16')))"
} > "$OUT/times.txt"
for variant in auto float32; do
  dir=$(mktemp -d)/run
  flag=(); [ "$variant" = auto ] || flag=(--dtype "$variant")
  start=$(date +%s.%N)
  $PY -m headspex.prune --no-progress "${flag[@]}" --out "$dir" > "$OUT/$variant.log" 2>&1
  end=$(date +%s.%N)
  echo "python -m headspex.prune --no-progress ${flag[*]} --out DIR: $(echo "$end - $start" | bc) s" >> "$OUT/times.txt"
  cp "$dir/config.json" "$OUT/config-$variant.json"
  cp "$dir/accuracy.csv" "$OUT/accuracy-$variant.csv"
done
$PY -m benchmarks.dtypes > "$OUT/benchmark.log" 2>&1
cat "$OUT/times.txt"
