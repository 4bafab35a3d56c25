"""Docs are a contract: every Python example runs, every YAML example parses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from steadyml.spec import parse_spec

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"```(python|yaml)\n(.*?)```", re.DOTALL)


def blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for index, match in enumerate(BLOCK.finditer(page.read_text(encoding="utf-8"))):
            if match.group(1) == language:
                found.append((f"{page.name}#{index}", match.group(2)))
    return found


@pytest.mark.parametrize(("where", "code"), blocks("python"), ids=lambda v: str(v)[:40])
def test_python_examples_run(
    where: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})


def test_the_spec_page_example_is_a_valid_spec() -> None:
    specs = [code for where, code in blocks("yaml") if where.startswith("spec.md")]
    assert specs, "docs/spec.md must show a complete spec"
    spec = parse_spec(yaml.safe_load(specs[0]))
    assert spec.service == "employment"
    assert spec.deployment.latency_budget_ms == 50
