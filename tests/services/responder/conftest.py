"""A census project with two promoted versions (champion v2, previous v1), copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from steadyml.services.promotion import promote
from steadyml.services.training import train
from steadyml.services.workspace import Workspace
from steadyml.spec import ServiceSpec, load_spec
from tests.services.conftest import edit_spec, make_project


@pytest.fixture(scope="session")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained twice, promoted twice; do not modify."""
    root = tmp_path_factory.mktemp("responder") / "base"
    spec = make_project(root)
    with Workspace.open(spec, environ={}) as ws:
        for _ in range(2):
            train(spec, ws, reason="responder tests")
            promote(ws, force=True, reason="responder tests")
    return root


@pytest.fixture
def project(two_versions: Path, tmp_path: Path) -> ServiceSpec:
    """A private copy of the project."""
    target = tmp_path / "project"
    shutil.copytree(two_versions, target, ignore=shutil.ignore_patterns("predlog"))
    return load_spec(target / "steadyml.yaml")


def with_responses(spec: ServiceSpec, *responses: dict[str, object]) -> ServiceSpec:
    """The spec with ``responses:`` set (written to the copy's file)."""
    path = spec.base_dir / "steadyml.yaml"
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["responses"] = list(responses)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_spec(path)


@pytest.fixture
def workspace(project: ServiceSpec) -> Iterator[Workspace]:
    """The copy's workspace."""
    with Workspace.open(project, environ={}) as ws:
        yield ws


__all__ = ["edit_spec", "with_responses"]
