#!/usr/bin/env bash
# Create one virtual environment per peer tool under DIR/.venv-<tool>/, with the pins
# every benchmark shares (called by drift/setup_envs.sh and detection/setup_envs.sh).
#
# The peers pin older pandas / numpy than steadyml, so each lives in its own environment
# and is never added to steadyml's pyproject.toml or uv.lock.
#
# pandas is held below 3: the peers' releases are developed and tested against pandas 2.
# nannyml 0.13.1 imports statsmodels without declaring it.
#
# Usage: bash benchmarks/peer_envs.sh DIR "TOOL TOOL ..." [TOOL ...]
#   DIR          where the environments go
#   "TOOL ..."   the tools the calling benchmark uses (all of them when none is named)
#   TOOL ...     the tools to set up
# BENCH_PYTHON picks the Python version (default 3.11).
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: bash benchmarks/peer_envs.sh DIR \"TOOL ...\" [TOOL ...]" >&2
  exit 2
fi
here="$1"
read -r -a known <<< "$2"
shift 2
python="${BENCH_PYTHON:-3.11}"

declare -A pins=(
  [evidently]="evidently==0.7.23 pandas<3 pyarrow"
  [nannyml]="nannyml==0.13.1 pandas<3 pyarrow statsmodels"
  [whylogs]="whylogs[viz]==1.6.4 pandas<3 pyarrow"
)

# the known tools as the error message lists them: "a or b", "a, b or c"
choices="${known[0]}"
last=$((${#known[@]} - 1))
for ((i = 1; i <= last; i++)); do
  if [ "$i" -eq "$last" ]; then
    choices="$choices or ${known[$i]}"
  else
    choices="$choices, ${known[$i]}"
  fi
done

tools=("$@")
if [ ${#tools[@]} -eq 0 ]; then
  tools=("${known[@]}")
fi

status=0
for tool in "${tools[@]}"; do
  spec=""
  case " ${known[*]} " in
    *" $tool "*) spec="${pins[$tool]:-}" ;;
  esac
  if [ -z "$spec" ]; then
    echo "unknown tool: $tool (use $choices)" >&2
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
