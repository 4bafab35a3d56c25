#!/usr/bin/env bash
# Create one virtual environment per peer tool under benchmarks/drift/.venv-<tool>/.
#
# The peers pin older pandas / numpy than steadyml, so each lives in its own environment
# and is never added to steadyml's pyproject.toml or uv.lock. steadyml and the scipy
# baseline run in the project environment (`uv run`). The pins and the set-up are in
# ../peer_envs.sh, shared with the detection benchmark.
#
# Usage: bash benchmarks/drift/setup_envs.sh [evidently|nannyml|whylogs ...]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../peer_envs.sh" "$here" "evidently nannyml whylogs" "$@"
