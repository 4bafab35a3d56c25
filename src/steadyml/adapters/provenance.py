"""Where a model came from: the code commit and the package versions in use."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["git_commit", "package_versions"]

_PACKAGES = (
    "steadyml", "numpy", "scipy", "polars", "pyarrow", "scikit-learn", "lightgbm", "mlflow",
    "datasketches",
)  # fmt: skip


def git_commit(directory: Path) -> str | None:
    """The commit checked out at ``directory`` (with ``+dirty`` if it has changes), or None."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
            timeout=5, check=False,
        )  # fmt: skip
        if head.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory,
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = head.stdout.strip()
    return f"{commit}+dirty" if status.stdout.strip() else commit


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that decide a model's numbers."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
