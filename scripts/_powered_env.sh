# Sourced by scripts/powered_*.sh: from the repository root, offline, one OpenMP thread per job (two torch jobs
# must never fight for this machine's two cores), and `timed OUT TASK COMMAND...`, which runs COMMAND and
# appends its wall time to OUT/times.txt.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}

timed() {
  local out=$1 task=$2 start
  shift 2
  mkdir -p "$out"
  start=$(date +%s)
  "$@"
  echo "$task: $(( $(date +%s) - start )) s ($(date -u +%FT%TZ))" | tee -a "$out/times.txt"
}
