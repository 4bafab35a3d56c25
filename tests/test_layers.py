"""The package's layers import downward only: faces → services → adapters → core."""

from __future__ import annotations

import ast
from pathlib import Path

import steadyml

PACKAGE = Path(steadyml.__file__).parent
ORDER = ("core", "adapters", "services", "faces")
CORE_FORBIDDEN = (
    "mlflow",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "httpx",
    "starlette",
    "typer",
    "steadyml.settings",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "steadyml" and parts[1] in ORDER:
        return ORDER.index(parts[1])
    return None


def test_layers_import_downward_only() -> None:
    offences: list[str] = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] not in ORDER:
            continue
        own = ORDER.index(rel.parts[0])
        for module in _imports(path):
            layer = _layer(module)
            if layer is not None and layer > own:
                offences.append(f"{rel} imports {module}")
    assert offences == []


def test_core_does_no_io_web_or_mlflow() -> None:
    offences = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in (PACKAGE / "core").rglob("*.py")
        for module in _imports(path)
        if module.startswith(CORE_FORBIDDEN)
    ]
    assert offences == []


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from steadyml.faces.cli import app\n", encoding="utf-8")
    assert _layer(next(iter(_imports(module)))) == ORDER.index("faces")
