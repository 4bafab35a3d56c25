"""Loading user functions from .py files and dotted modules, and every way it fails."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from steadyml.adapters.plugins import PluginError, is_file_module, load_function, source_of
from steadyml.errors import ConfigError

FEATURES = """
import polars as pl

SCALE = 10

def transform(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns((pl.col("age") // SCALE).alias("decade"))
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_a_function_from_a_relative_file(tmp_path: Path) -> None:
    _write(tmp_path, "features.py", FEATURES)
    function = load_function("features.py", "transform", tmp_path)
    out = function(pl.DataFrame({"age": [34.0]}))
    assert out["decade"].to_list() == [3.0]
    assert function.__module__ in sys.modules  # registered under a unique name
    assert function.__module__.startswith("steadyml_plugin_features_")


def test_two_files_with_the_same_name_do_not_collide(tmp_path: Path) -> None:
    _write(tmp_path, "a/features.py", "def f():\n    return 'a'\n")
    _write(tmp_path, "b/features.py", "def f():\n    return 'b'\n")
    first = load_function("a/features.py", "f", tmp_path)
    second = load_function("b/features.py", "f", tmp_path)
    assert (first(), second()) == ("a", "b")
    assert first.__module__ != second.__module__


def test_an_absolute_path_ignores_base_dir(tmp_path: Path) -> None:
    path = _write(tmp_path, "rule.py", "def fallback(x):\n    return 0.5\n")
    assert load_function(str(path), "fallback", Path("/nonexistent"))(1) == 0.5


def test_loads_from_a_dotted_module() -> None:
    function = load_function("json", "dumps", Path.cwd())
    assert function({"a": 1}) == '{"a": 1}'


@pytest.mark.parametrize(
    ("files", "module", "function", "words"),
    [
        ({}, "missing.py", "transform", ["no such file", "missing.py"]),
        ({"bad.py": "def transform(:\n"}, "bad.py", "transform", ["syntax error at line 1"]),
        ({"boom.py": "1 / 0\n"}, "boom.py", "transform", ["ZeroDivisionError", "imports cleanly"]),
        (
            {"dep.py": "import not_a_real_package_xyz\n"},
            "dep.py",
            "transform",
            ["ModuleNotFoundError", "not_a_real_package_xyz"],
        ),
        ({"f.py": FEATURES}, "f.py", "transfrom", ["no such function", "did you mean 'transform'"]),
        ({"f.py": FEATURES}, "f.py", "SCALE", ["int", "not a function"]),
        ({}, "not_a_real_package_xyz.features", "transform", ["no module named", "install"]),
        ({}, "bad name!", "transform", ["dotted module name"]),
        ({}, "", "transform", ["name a .py file"]),
        (
            {"pkg/__init__.py": "raise RuntimeError('x')\n"},
            "pkg/__init__.py",
            "f",
            ["RuntimeError"],
        ),
    ],
)
def test_every_failure_names_module_function_and_fix(
    tmp_path: Path, files: dict[str, str], module: str, function: str, words: list[str]
) -> None:
    for name, text in files.items():
        _write(tmp_path, name, text)
    with pytest.raises(PluginError) as caught:
        load_function(module, function, tmp_path)
    error = caught.value
    assert isinstance(error, ConfigError)
    assert error.field in ("module", "function")
    assert error.fix
    line = error.one_line()
    for word in words:
        assert word in line
    assert module in line or module == ""


def test_a_failed_import_leaves_no_half_module(tmp_path: Path) -> None:
    _write(tmp_path, "boom.py", "X = 1\n1 / 0\n")
    before = set(sys.modules)
    with pytest.raises(PluginError):
        load_function("boom.py", "X", tmp_path)
    assert not [m for m in set(sys.modules) - before if m.startswith("steadyml_plugin_boom")]


def test_a_directory_is_not_a_module(tmp_path: Path) -> None:
    (tmp_path / "dir.py").mkdir()
    with pytest.raises(PluginError, match="no such file"):
        load_function("dir.py", "f", tmp_path)


def test_source_of_a_file_and_a_module(tmp_path: Path) -> None:
    _write(tmp_path, "features.py", FEATURES)
    assert source_of("features.py", tmp_path) == FEATURES
    assert source_of("missing.py", tmp_path) is None
    text = source_of("json.decoder", tmp_path)
    assert text is not None
    assert "JSONDecodeError" in text
    assert source_of("not_a_real_package_xyz", tmp_path) is None
    assert source_of("sys", tmp_path) is None  # built in: no source file


@pytest.mark.parametrize(
    ("module", "expected"),
    [("features.py", True), ("sub/features", True), ("pkg.features", False), ("json", False)],
)
def test_file_or_dotted(module: str, expected: bool) -> None:
    assert is_file_module(module) is expected
