"""Worker processes fetching the same model version at once share one local copy."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from steadyml.adapters.model_files import fetch_version, local_copy
from steadyml.services.bundles import read_bundle_dir
from steadyml.services.workspace import Workspace


def test_concurrent_fetches_of_one_version_share_one_complete_copy(
    workspace: Workspace,
) -> None:
    registry = workspace.registry
    version = registry.alias_version("champion")
    assert version is not None
    folder = workspace.model_cache / registry.model_name
    shutil.rmtree(folder, ignore_errors=True)
    start = threading.Barrier(4)
    paths: list[Path] = []
    errors: list[BaseException] = []

    def fetch() -> None:
        start.wait()
        try:
            path = fetch_version(workspace.model_cache, registry, version)
            read_bundle_dir(path, version)  # loadable while the others finish
            paths.append(path)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert len(paths) == 4 and len(set(paths)) == 1
    assert local_copy(workspace.model_cache, registry.model_name, version) == paths[0]
    leftovers = [p.name for p in folder.iterdir() if p.is_dir() and p.name.startswith(".")]
    assert leftovers == []
