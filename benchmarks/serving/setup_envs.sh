#!/usr/bin/env bash
# Create BentoML's own environment under benchmarks/serving/.venv-bentoml/.
#
# BentoML pins its own versions of web and ML libraries, so it never goes into
# steadyml's pyproject.toml or uv.lock. The bare FastAPI endpoint and
# `mlflow models serve` run in the project environment (`uv run`).
#
# Usage: bash benchmarks/serving/setup_envs.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-bentoml"
if [ ! -x "$venv/bin/python" ]; then
  uv venv --quiet --python "${BENCH_PYTHON:-3.11}" "$venv"
fi
uv pip install --quiet --python "$venv/bin/python" "bentoml==1.4.*" lightgbm numpy pandas
"$venv/bin/python" -c "import bentoml; print('bentoml', bentoml.__version__)"
