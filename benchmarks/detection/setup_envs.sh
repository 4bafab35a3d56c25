#!/usr/bin/env bash
# Create one virtual environment per peer tool under benchmarks/detection/.venv-<tool>/.
#
# The peers pin older pandas / numpy than steadyml, so each lives in its own environment
# and is never added to steadyml's pyproject.toml or uv.lock (the same pins as the drift
# benchmark: both set up through ../peer_envs.sh). The window generator, the runner and
# the report run in the project environment (`uv run`).
#
# Usage: bash benchmarks/detection/setup_envs.sh [evidently|nannyml]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../peer_envs.sh" "$here" "evidently nannyml" "$@"
