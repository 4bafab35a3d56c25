"""The Examples blocks in the performance modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["ranking", "metrics", "bootstrap", "calibration", "slices", "cbpe"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"steadyml.core.performance.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_package_exports_are_documented() -> None:
    package = importlib.import_module("steadyml.core.performance")
    assert package.__doc__
    for name in package.__all__:
        assert getattr(package, name).__doc__, name
