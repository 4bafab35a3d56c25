#!/usr/bin/env bash
# Create one virtual environment per peer tool under benchmarks/detection/.venv-<tool>/.
#
# The peers pin older pandas / numpy than steadyml, so each lives in its own environment
# and is never added to steadyml's pyproject.toml or uv.lock (the same pins as the drift
# benchmark). The window generator, the runner and the report run in the project
# environment (`uv run`).
#
# pandas is held below 3: the peers' releases are developed and tested against pandas 2.
# nannyml 0.13.1 imports statsmodels without declaring it.
#
# Usage: bash benchmarks/detection/setup_envs.sh [evidently|nannyml]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${BENCH_PYTHON:-3.11}"

declare -A pins=(
  [evidently]="evidently==0.7.23 pandas<3 pyarrow"
  [nannyml]="nannyml==0.13.1 pandas<3 pyarrow statsmodels"
)

tools=("$@")
if [ ${#tools[@]} -eq 0 ]; then
  tools=(evidently nannyml)
fi

status=0
for tool in "${tools[@]}"; do
  spec="${pins[$tool]:-}"
  if [ -z "$spec" ]; then
    echo "unknown tool: $tool (use evidently or nannyml)" >&2
    exit 2
  fi
  venv="$here/.venv-$tool"
  echo "== $tool: $spec -> $venv"
  if [ ! -x "$venv/bin/python" ]; then
    uv venv --quiet --python "$python" "$venv"
  fi
  # shellcheck disable=SC2086
  if ! uv pip install --quiet --python "$venv/bin/python" $spec; then
    echo "!! installing $tool failed" >&2
    status=1
  fi
done
exit $status
